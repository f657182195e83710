//! The catalog as a crawler: catalog edits applied to a running server
//! (one session stays open throughout), broken declarations and data named
//! in errors, Delta schema changes under `on_schema_change`, time travel, and
//! `laketap crawl` writing and checking declarations.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::binary::BIN;
use crate::{TestServer, answer, fixture_copy, one};

/// Polls until `check` accepts the answer to `sql` (catalog polls run every
/// second; a missing location is retried after 5 s): a loose 20 s bound,
/// for correctness, not timing.
async fn eventually<F>(client: &tokio_postgres::Client, sql: &str, what: &str, check: F)
where
    F: Fn(&Result<Vec<Vec<Option<String>>>, (String, String)>) -> bool,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = answer(client, sql).await;
        if check(&got) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: last answer to {sql}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_edits_apply_to_a_running_server() {
    let dir = fixture_copy();
    let catalog = dir.path().join("catalog");
    let lake = dir.path().join("lake");
    let server = TestServer::start(&catalog).await;
    let client = server.client().await;
    assert_eq!(
        answer(&client, "SELECT count(*) FROM amp.users").await,
        Ok(one("6"))
    );

    // A new catalog file: its schema and table are served.
    let more = catalog.join("more.toml");
    let people = "[tables.people]\nformat = \"parquet\"\nlocation = \"../lake/amp/users\"\ndescription = \"People\"\n";
    std::fs::write(&more, people).expect("write more.toml");
    eventually(
        &client,
        "SELECT count(*) FROM more.people",
        "new file served",
        |a| a == &Ok(one("6")),
    )
    .await;

    // A broken edit is reported with file and line; the table keeps serving.
    std::fs::write(&more, "[tables.people\nformat = \"parquet\"\n").expect("break more.toml");
    eventually(
        &client,
        "SELECT message FROM laketap.catalog_errors WHERE file LIKE '%more.toml'",
        "broken edit reported",
        |a| {
            a.as_ref().is_ok_and(|rows| {
                rows.iter().any(|r| {
                    r[0].as_deref()
                        .is_some_and(|m| m.contains("more.toml:1:") && m.contains("keeps serving"))
                })
            })
        },
    )
    .await;
    assert_eq!(
        answer(&client, "SELECT count(*) FROM more.people").await,
        Ok(one("6"))
    );

    // A table whose location does not exist: listed with its error, and a
    // query naming it says what is wrong and where.
    let with_ghost = format!(
        "{people}\n[tables.ghost]\nformat = \"parquet\"\nlocation = \"../lake/more/ghost\"\n"
    );
    std::fs::write(&more, &with_ghost).expect("write more.toml");
    eventually(
        &client,
        "SELECT last_error FROM laketap.tables WHERE schema_name = 'more' AND table_name = 'ghost'",
        "missing location listed",
        |a| {
            a.as_ref().is_ok_and(|rows| {
                rows.len() == 1
                    && rows[0][0].as_deref().is_some_and(|m| {
                        m.contains("does not exist") && m.contains("lake/more/ghost")
                    })
            })
        },
    )
    .await;
    let (code, message) = answer(&client, "SELECT * FROM more.ghost")
        .await
        .expect_err("ghost cannot be served");
    assert_eq!(code, "58030", "{message}");
    assert!(
        message.contains("more.ghost") && message.contains("lake/more/ghost"),
        "{message}"
    );
    assert!(
        answer(
            &client,
            "SELECT count(*) FROM laketap.catalog_errors WHERE table_name = 'ghost'"
        )
        .await
        .is_ok_and(|rows| rows == one("1"))
    );

    // The folder appears: the table is served without another edit.
    std::fs::create_dir_all(lake.join("more/ghost")).expect("mkdir");
    std::fs::copy(
        lake.join("amp/users/part-0.parquet"),
        lake.join("more/ghost/part-0.parquet"),
    )
    .expect("copy parquet");
    eventually(
        &client,
        "SELECT count(*) FROM more.ghost",
        "location appeared",
        |a| a == &Ok(one("6")),
    )
    .await;
    assert_eq!(
        answer(
            &client,
            "SELECT count(*) FROM laketap.catalog_errors WHERE table_name = 'ghost'"
        )
        .await,
        Ok(one("0"))
    );

    // A new file in a listing table is read, and counted in laketap.tables.
    std::fs::copy(
        lake.join("amp/users/part-0.parquet"),
        lake.join("amp/users/part-1.parquet"),
    )
    .expect("copy parquet");
    eventually(
        &client,
        "SELECT count(*) FROM amp.users",
        "new file read",
        |a| a == &Ok(one("12")),
    )
    .await;
    eventually(
        &client,
        "SELECT files FROM laketap.tables WHERE schema_name = 'amp' AND table_name = 'users'",
        "files recounted",
        |a| a == &Ok(one("2")),
    )
    .await;

    // A table dropped from the file goes; the file removed takes the schema.
    std::fs::write(&more, people).expect("write more.toml");
    eventually(
        &client,
        "SELECT * FROM more.ghost",
        "table dropped",
        |a| matches!(a, Err((code, _)) if code == "42P01"),
    )
    .await;
    std::fs::remove_file(&more).expect("remove more.toml");
    eventually(
        &client,
        "SELECT * FROM more.people",
        "schema dropped",
        |a| matches!(a, Err((code, _)) if code == "42P01"),
    )
    .await;
    assert_eq!(
        answer(&client, "SELECT count(*) FROM laketap.catalog_errors").await,
        Ok(one("0"))
    );
    // The same session served every step.
    assert_eq!(
        answer(&client, "SELECT count(*) FROM amp.listen_events").await,
        Ok(one("20"))
    );
    server.stop().await;
}

/// Appends one promotion event with an extra column `campaign` (schema merge).
async fn append_with_new_column(table_dir: &Path) {
    let url = deltalake::ensure_table_uri(table_dir.to_str().expect("utf8 path")).expect("url");
    let table = deltalake::open_table(url).await.expect("open delta table");
    let schema = Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("event_date", DataType::Date32, false),
        Field::new("user_id", DataType::Int64, false),
        Field::new("promotion_id", DataType::Int64, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("campaign", DataType::Utf8, true),
    ]));
    // 2026-03-03 12:00:00 UTC; 2026-03-03 = day 20515; promotion 99 does not exist.
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["pe8"])),
        Arc::new(TimestampMicrosecondArray::from(vec![1_772_539_200_000_000])),
        Arc::new(Date32Array::from(vec![20_515])),
        Arc::new(Int64Array::from(vec![1])),
        Arc::new(Int64Array::from(vec![99])),
        Arc::new(StringArray::from(vec!["impression"])),
        Arc::new(StringArray::from(vec![Some("spring")])),
    ];
    let batch = RecordBatch::try_new(schema, columns).expect("batch");
    table
        .write(vec![batch])
        .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
        .await
        .expect("commit with a new column");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_schema_changes_follow_the_tables_policy() {
    let dir = fixture_copy();
    let catalog = dir.path().join("catalog");
    let amp = catalog.join("amp.toml");
    let text = std::fs::read_to_string(&amp).expect("amp.toml");
    let strict = text.replace(
        "columns = { action = \"impression or click\" }",
        "columns = { action = \"impression or click\" }\non_schema_change = \"fail\"",
    );
    assert_ne!(strict, text);
    std::fs::write(&amp, &strict).expect("write amp.toml");
    let server = TestServer::start(&catalog).await;
    let client = server.client().await;
    let kpi = "SELECT * FROM kpi.promotion_effectiveness ORDER BY 1";
    let before = answer(&client, kpi).await.expect("kpi view");
    assert!(!before.is_empty());

    // `fail`: the new version is refused, the served one stays.
    append_with_new_column(&dir.path().join("lake/amp/promotion_events")).await;
    eventually(
        &client,
        "SELECT version, last_error FROM laketap.tables WHERE table_name = 'promotion_events'",
        "refused version reported",
        |a| {
            a.as_ref().is_ok_and(|rows| {
                rows[0][0].as_deref() == Some("0")
                    && rows[0][1].as_deref().is_some_and(|m| {
                        m.contains("version 1")
                            && m.contains("`campaign` added")
                            && m.contains("\"fail\"")
                    })
            })
        },
    )
    .await;
    assert_eq!(
        answer(&client, "SELECT count(*) FROM amp.promotion_events").await,
        Ok(one("7"))
    );

    // The policy relaxed in the catalog file: the table reopens at the new
    // version, with the new column, and the KPI view built on it still answers.
    std::fs::write(&amp, &text).expect("write amp.toml");
    eventually(
        &client,
        "SELECT count(*), count(campaign) FROM amp.promotion_events",
        "new column served",
        |a| a == &Ok(vec![vec![Some("8".to_string()), Some("1".to_string())]]),
    )
    .await;
    eventually(&client, kpi, "kpi view re-planned", |a| {
        a == &Ok(before.clone())
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_tables_travel_in_time() {
    // A copy: its files' modification times are now, as after a git checkout
    // (commit times come from the log, not from the file system).
    let dir = fixture_copy();
    let server = TestServer::start(&dir.path().join("catalog")).await;
    let client = server.client().await;
    // Versions 0, 1, 2 hold 6, 13 and 20 rows, committed at
    // 2026-03-03 00:00, 00:01 and 00:02 UTC (tests/fixtures/README.md).
    for (sql, expected) in [
        ("SELECT count(*) FROM table_at('amp.listen_events', 0)", "6"),
        (
            "SELECT count(*) FROM table_at('amp.listen_events', 1)",
            "13",
        ),
        (
            "SELECT count(*) FROM table_at('amp.listen_events', 2)",
            "20",
        ),
        (
            "SELECT count(*) FROM table_at('amp.listen_events', '2026-03-03 00:01:30')",
            "13",
        ),
        (
            "SELECT count(*) FROM table_at('amp.listen_events', '2026-03-03T00:00:00Z')",
            "6",
        ),
        (
            "SELECT count(*) FROM table_at('amp.listen_events', TIMESTAMP '2026-03-03 00:02:00')",
            "20",
        ),
        ("SELECT count(*) FROM amp.listen_events", "20"),
    ] {
        assert_eq!(answer(&client, sql).await, Ok(one(expected)), "{sql}");
    }
    let history = answer(
        &client,
        "SELECT version, CAST(committed_at AS TEXT) FROM table_history('amp.listen_events') ORDER BY version",
    )
    .await
    .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|r| (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default()
            ))
            .collect::<Vec<_>>(),
        vec![
            ("0".to_string(), "2026-03-03 00:00:00+00".to_string()),
            ("1".to_string(), "2026-03-03 00:01:00+00".to_string()),
            ("2".to_string(), "2026-03-03 00:02:00+00".to_string()),
        ]
    );
    // Versions combine like any tables (an audit: what did commit 1 add?).
    assert_eq!(
        answer(
            &client,
            "SELECT count(*) FROM table_at('amp.listen_events', 1) WHERE event_id NOT IN (SELECT event_id FROM table_at('amp.listen_events', 0))",
        )
        .await,
        Ok(one("7"))
    );
    for (sql, fragment) in [
        (
            "SELECT * FROM table_at('amp.listen_events', 7)",
            "version 7",
        ),
        (
            "SELECT * FROM table_at('amp.users', 0)",
            "only Delta tables",
        ),
        (
            "SELECT * FROM table_at('amp.nope', 0)",
            "'amp.nope' not found",
        ),
        (
            "SELECT * FROM table_at('amp.listen_events', 'last tuesday')",
            "'last tuesday'",
        ),
        ("SELECT * FROM table_at('amp.listen_events')", "2 arguments"),
    ] {
        let (_, message) = answer(&client, sql).await.expect_err(sql);
        assert!(message.contains(fragment), "{sql}: {message}");
    }
    // The connection is still usable after the errors.
    assert_eq!(answer(&client, "SELECT 1").await, Ok(one("1")));
    server.stop().await;
}

fn crawl(args: &[&str], dir: &Path) -> (i32, String, String) {
    let output = Command::new(BIN)
        .arg("crawl")
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run laketap crawl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn crawl_writes_declarations_that_serve_and_checks_drift() {
    let dir = fixture_copy();
    let root = dir.path();
    let lake = root.join("lake/amp");
    let lake = lake.to_str().expect("utf8");

    // Printed declarations name every table with its format and columns.
    let (code, out, err) = crawl(&[lake], root);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("schema = \"amp\""), "{out}");
    for table in [
        "users",
        "shows",
        "listen_events",
        "interactions",
        "promotion_events",
    ] {
        assert!(out.contains(&format!("[tables.{table}]")), "{table}: {out}");
    }
    assert!(
        out.contains("{ name = \"listen_seconds\", type = \"Float64\""),
        "{out}"
    );

    // --write updates the hand-written catalog file in place: descriptions stay.
    let (code, out, err) = crawl(&[lake, "--write", "catalog"], root);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("amp.users: schema recorded (4 columns)"),
        "{out}"
    );
    let written = std::fs::read_to_string(root.join("catalog/amp.toml")).expect("amp.toml");
    assert!(
        written.contains("description = \"App users, one row per user"),
        "{written}"
    );
    assert!(
        written.contains("location = \"../lake/amp/users\""),
        "{written}"
    );
    assert!(
        written.contains("{ name = \"user_id\", type = \"Int64\", nullable = false }"),
        "{written}"
    );

    // The written catalog serves, with no drift.
    let output = Command::new(BIN)
        .args([
            "query",
            "SELECT count(*) FROM laketap.tables WHERE schema_drift IS NULL AND last_error IS NULL",
            "--catalog",
            "catalog",
        ])
        .current_dir(root)
        .output()
        .expect("laketap query");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("| 11       |"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (code, out, err) = crawl(&[lake, "--check"], root);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no drift"), "{out}");

    // Drift: a table appears, one vanishes, a column is retyped.
    std::fs::create_dir_all(root.join("lake/amp/extra_users")).expect("mkdir");
    std::fs::copy(
        root.join("lake/amp/users/part-0.parquet"),
        root.join("lake/amp/extra_users/part-0.parquet"),
    )
    .expect("copy");
    std::fs::remove_dir_all(root.join("lake/amp/promotions")).expect("rm promotions");
    let retyped = written.replacen(
        "{ name = \"user_id\", type = \"Int64\", nullable = false }",
        "{ name = \"user_id\", type = \"Int32\", nullable = false }",
        1,
    );
    std::fs::write(root.join("catalog/amp.toml"), retyped).expect("write");
    let (code, out, err) = crawl(&[lake, "--check"], root);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("amp.extra_users: table appeared"), "{out}");
    assert!(out.contains("amp.promotions: table vanished"), "{out}");
    assert!(
        out.contains("amp.users: column `user_id` retyped from Int32 to Int64"),
        "{out}"
    );

    // The retyped declaration is refused by the default policy when served.
    let output = Command::new(BIN)
        .args([
            "query",
            "SELECT last_error FROM laketap.tables WHERE table_name = 'users'",
            "--catalog",
            "catalog",
        ])
        .current_dir(root)
        .output()
        .expect("laketap query");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("`user_id` retyped from Int32 to Int64")
            && stdout.contains("add_columns_only"),
        "{stdout}"
    );

    // A location that does not exist is an error (exit 2), not drift.
    let (code, _, err) = crawl(&["no/such/folder", "--check"], root);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no/such/folder"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_is_named_by_table_and_object() {
    let dir = fixture_copy();
    let lake = dir.path().join("lake/amp");
    // A Delta log that names a data file that is gone.
    let day = lake.join("listen_events/event_date=2026-03-01");
    let gone = std::fs::read_dir(&day)
        .expect("partition folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a data file");
    std::fs::remove_file(&gone).expect("remove data file");
    let gone_name = gone
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .to_string();
    // A corrupt Parquet footer in a listing table, there at startup.
    std::fs::write(lake.join("users/part-9.parquet"), b"not a parquet file").expect("write");

    let server = TestServer::start(&dir.path().join("catalog")).await;
    let client = server.client().await;

    let (code, message) = answer(&client, "SELECT sum(listen_seconds) FROM amp.listen_events")
        .await
        .expect_err("missing data file");
    assert_eq!(code, "58030", "{message}");
    assert!(
        message.contains("table amp.listen_events") && message.contains(&gone_name),
        "{message}"
    );

    let (code, message) = answer(&client, "SELECT * FROM amp.users")
        .await
        .expect_err("corrupt footer");
    assert_eq!(code, "58030", "{message}");
    assert!(
        message.contains("amp.users")
            && message.contains("part-9.parquet")
            && message.contains("Corrupt footer"),
        "{message}"
    );

    // A corrupt file that lands in a served table after startup.
    std::fs::write(lake.join("shows/part-9.parquet"), b"garbage").expect("write");
    eventually(&client, "SELECT count(*) FROM amp.shows", "corrupt file named", |a| {
        matches!(a, Err((code, m)) if code == "58030" && m.contains("table amp.shows") && m.contains("part-9.parquet"))
    })
    .await;

    // Every other table keeps serving, on the same connection.
    assert_eq!(
        answer(&client, "SELECT count(*) FROM amp.creators").await,
        Ok(one("4"))
    );
    assert_eq!(
        answer(&client, "SELECT count(*) FROM amp.interactions").await,
        Ok(one("11"))
    );
    server.stop().await;
}

/// Every relation's pg_class OID, schema and name, as one run of the
/// server over `catalog` numbers them.
async fn relation_oids(catalog: &Path) -> Vec<Vec<Option<String>>> {
    let server = TestServer::start(catalog).await;
    let client = server.client().await;
    let oids = answer(
        &client,
        "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY c.oid",
    )
    .await
    .expect("pg_class");
    drop(client);
    server.stop().await;
    oids
}

/// pgjdbc and BI tools keep table OIDs across reconnects: a restart over
/// the same catalog must number the relations as before (the in-memory
/// schemas list their tables in hash order, which changes per run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relation_oids_are_the_same_in_every_run() {
    let dir = fixture_copy();
    let catalog = dir.path().join("catalog");
    let first = relation_oids(&catalog).await;
    assert!(
        first.len() > 10,
        "the lake tables and the kpi views are listed: {first:?}"
    );
    assert!(
        first
            .iter()
            .any(|row| row[1].as_deref() == Some("kpi")
                && row[2].as_deref() == Some("trending_shows")),
        "{first:?}"
    );
    for _ in 0..3 {
        assert_eq!(relation_oids(&catalog).await, first);
    }
}

/// Metabase's sync reads `pg_stat_user_tables.n_live_tup` as each table's
/// row estimate: a row per lake table, with the count its metadata states
/// (Parquet footers, the Delta log) and NULL where the format states none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_stat_user_tables_lists_each_table_with_its_row_count() {
    let dir = fixture_copy();
    let server = TestServer::start(&dir.path().join("catalog")).await;
    let client = server.client().await;
    let stats = answer(
        &client,
        "SELECT s.schemaname, s.relname, s.n_live_tup, s.seq_scan, c.relkind \
         FROM pg_stat_user_tables s JOIN pg_catalog.pg_class c ON c.oid = s.relid \
         ORDER BY 1, 2",
    )
    .await
    .expect("pg_stat_user_tables");
    let listed = |schema: &str, name: &str| {
        stats
            .iter()
            .find(|r| r[0].as_deref() == Some(schema) && r[1].as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{schema}.{name} in {stats:?}"))
    };
    for (table, format) in [("users", "parquet"), ("listen_events", "delta")] {
        let count = answer(&client, &format!("SELECT count(*) FROM amp.{table}"))
            .await
            .expect("count");
        let row = listed("amp", table);
        assert_eq!(row[2], count[0][0], "{format} table amp.{table}: {row:?}");
        assert_eq!(row[3].as_deref(), Some("0"));
        assert_eq!(row[4].as_deref(), Some("r"), "relid is its pg_class row");
    }
    assert_eq!(
        listed("extra", "csv_scores")[2],
        None,
        "CSV states no row count"
    );
    assert!(
        stats.iter().all(|r| r[0].as_deref() != Some("kpi")),
        "views are not user tables: {stats:?}"
    );
    // Without n_live_tup (no row counts read), the same tables.
    let listed_only = answer(
        &client,
        "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'amp'",
    )
    .await
    .expect("names only");
    let tables = answer(
        &client,
        "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
         ON c.relnamespace = n.oid WHERE n.nspname = 'amp' AND c.relkind = 'r'",
    )
    .await
    .expect("pg_class");
    assert_eq!(listed_only, tables);
    assert_ne!(tables, one("0"));
    drop(client);
    server.stop().await;
}
