//! `SET` / `SHOW` / `RESET laketap.as_of` are per connection: one session's
//! as-of never reaches another; a bad value is refused with 22023 and the
//! previous value stays.

use chrono::NaiveDate;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::SqlState;

use crate::{TestServer, fixture_catalog};

async fn show_as_of(client: &tokio_postgres::Client) -> String {
    let messages = client
        .simple_query("SHOW laketap.as_of")
        .await
        .expect("show");
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .expect("one row")
}

async fn as_of(client: &tokio_postgres::Client) -> chrono::NaiveDateTime {
    client
        .query_one("SELECT as_of()", &[])
        .await
        .expect("as_of()")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_is_per_session() {
    let server = TestServer::start(&fixture_catalog()).await;
    let a = server.client().await;
    let b = server.client().await;
    let noon = NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid");

    a.simple_query("SET laketap.as_of = '2026-03-01 12:00:00'")
        .await
        .expect("set");
    assert_eq!(show_as_of(&a).await, "2026-03-01 12:00:00");
    assert_eq!(as_of(&a).await, noon);

    // The other session still follows the clock.
    assert_eq!(show_as_of(&b).await, "now");
    let now = chrono::Utc::now().naive_utc();
    let t = as_of(&b).await;
    assert!(
        (now - t).num_seconds().abs() < 60,
        "{t} is not the clock ({now})"
    );

    // A bad value is refused and the previous one stays.
    let err = a
        .simple_query("SET laketap.as_of = 'the day after tomorrow'")
        .await
        .expect_err("refused");
    assert_eq!(
        err.code(),
        Some(&SqlState::INVALID_PARAMETER_VALUE),
        "{err}"
    );
    assert_eq!(as_of(&a).await, noon);
    let err = a
        .simple_query("SET laketap.as_off = '2026-03-01'")
        .await
        .expect_err("unknown setting");
    // PostgreSQL's code for an unrecognized configuration parameter.
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_OBJECT), "{err}");

    // SET LOCAL outside a transaction block changes nothing (PostgreSQL
    // warns); inside one it lasts until the block ends.
    a.simple_query("SET LOCAL laketap.as_of = '2026-03-02'")
        .await
        .expect("SET LOCAL");
    assert_eq!(as_of(&a).await, noon);
    a.simple_query("BEGIN").await.expect("begin");
    a.simple_query("SET LOCAL laketap.as_of = '2026-03-02'")
        .await
        .expect("SET LOCAL");
    assert_eq!(show_as_of(&a).await, "2026-03-02 00:00:00");
    a.simple_query("COMMIT").await.expect("commit");
    assert_eq!(as_of(&a).await, noon);

    // RESET returns to the clock.
    a.simple_query("RESET laketap.as_of").await.expect("reset");
    assert_eq!(show_as_of(&a).await, "now");
    let t = as_of(&a).await;
    assert!((chrono::Utc::now().naive_utc() - t).num_seconds().abs() < 60);
    server.stop().await;
}

async fn show(client: &tokio_postgres::Client, sql: &str) -> String {
    let rows = client.simple_query(sql).await.expect(sql);
    rows.into_iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .expect("a row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_parameters_are_per_session_and_checked() {
    let server = TestServer::start(&fixture_catalog()).await;
    let a = server.client().await;
    let b = server.client().await;

    // What drivers parse at connect.
    assert!(
        show(&a, "SELECT version()")
            .await
            .starts_with("PostgreSQL 16.6 on ")
    );
    assert_eq!(show(&a, "SHOW server_version").await, "16.6");
    assert_eq!(
        show(&a, "SELECT current_setting('server_version_num')").await,
        "160006"
    );
    assert_eq!(show(&a, "SHOW DateStyle").await, "ISO, MDY");

    // SET is the session's own; values are normalized as PostgreSQL shows them.
    a.simple_query("SET DateStyle = 'iso, dmy'")
        .await
        .expect("set");
    a.simple_query("SET statement_timeout = 5000")
        .await
        .expect("set");
    a.simple_query("SET application_name = 'notebook'")
        .await
        .expect("set");
    assert_eq!(show(&a, "SHOW datestyle").await, "ISO, DMY");
    assert_eq!(show(&a, "SHOW statement_timeout").await, "5s");
    assert_eq!(
        show(&a, "SELECT current_setting('application_name')").await,
        "notebook"
    );
    assert_eq!(show(&b, "SHOW DateStyle").await, "ISO, MDY");
    assert_eq!(show(&b, "SHOW statement_timeout").await, "0");
    assert_eq!(
        show(&b, "SELECT current_setting('application_name')").await,
        ""
    );

    // search_path picks the schema of unqualified names.
    a.simple_query("SET search_path = extra, public")
        .await
        .expect("set");
    assert_eq!(show(&a, "SELECT count(*) FROM csv_scores").await, "6");
    assert!(
        b.simple_query("SELECT count(*) FROM csv_scores")
            .await
            .is_err()
    );

    // Errors with PostgreSQL's codes; the old value stays.
    for (sql, code) in [
        ("SET no_such_parameter = 1", SqlState::UNDEFINED_OBJECT),
        ("SHOW no_such_parameter", SqlState::UNDEFINED_OBJECT),
        (
            "SET server_version = '17'",
            SqlState::CANT_CHANGE_RUNTIME_PARAM,
        ),
        (
            "SET extra_float_digits = 9",
            SqlState::INVALID_PARAMETER_VALUE,
        ),
        (
            "SET client_encoding = 'LATIN1'",
            SqlState::FEATURE_NOT_SUPPORTED,
        ),
        (
            "SET datafusion.runtime.memory_limit = '1G'",
            SqlState::INSUFFICIENT_PRIVILEGE,
        ),
        (
            "SELECT current_setting('no_such_parameter')",
            SqlState::UNDEFINED_OBJECT,
        ),
    ] {
        let err = a.simple_query(sql).await.expect_err(sql);
        assert_eq!(err.code(), Some(&code), "{sql}: {err}");
    }
    assert_eq!(show(&a, "SHOW extra_float_digits").await, "1");
    assert_eq!(
        show(
            &a,
            "SELECT coalesce(current_setting('no_such_parameter', true), 'missing')"
        )
        .await,
        "missing"
    );

    // RESET ALL returns every parameter to its default.
    a.simple_query("RESET ALL").await.expect("reset all");
    assert_eq!(show(&a, "SHOW DateStyle").await, "ISO, MDY");
    assert_eq!(show(&a, "SHOW statement_timeout").await, "0");
    server.stop().await;
}

/// One row's values as text.
async fn texts(client: &tokio_postgres::Client) -> Vec<String> {
    let query = "SELECT DATE '2026-03-01' AS a, TIMESTAMPTZ '2026-03-01 10:00:00+00' AS b, \
                 INTERVAL '1 day 2 hours' AS c, CAST(DATE '2026-03-01' AS TEXT) AS d, \
                 CAST(INTERVAL '-1 year -2 months 3 days' AS TEXT) AS e";
    let rows = client.simple_query(query).await.expect(query);
    rows.into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .expect("a row")
}

/// DateStyle and IntervalStyle shape a session's text results and casts to
/// text (PostgreSQL 15's texts); SET LOCAL lasts until its block ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_styles_are_the_sessions_and_set_local_ends_with_the_block() {
    let server = TestServer::start(&fixture_catalog()).await;
    let a = server.client().await;
    let b = server.client().await;
    for sql in [
        "SET TimeZone = 'Europe/Paris'",
        "SET DateStyle = 'Postgres, DMY'",
        "SET IntervalStyle = 'sql_standard'",
    ] {
        a.simple_query(sql).await.expect(sql);
    }
    assert_eq!(
        texts(&a).await,
        [
            "01-03-2026",
            "Sun 01 Mar 11:00:00 2026 CET",
            "1 2:00:00",
            "01-03-2026",
            "-1-2 +3 +0:00:00"
        ]
    );
    b.simple_query("SET TimeZone = 'Asia/Kolkata'")
        .await
        .expect("set");
    assert_eq!(
        texts(&b).await,
        [
            "2026-03-01",
            "2026-03-01 15:30:00+05:30",
            "1 day 02:00:00",
            "2026-03-01",
            "-1 years -2 mons +3 days"
        ]
    );

    // SET LOCAL: the block's own value, the session's again after it.
    for sql in ["BEGIN", "SET LOCAL TimeZone = 'Asia/Tokyo'"] {
        b.simple_query(sql).await.expect(sql);
    }
    assert_eq!(show(&b, "SHOW TimeZone").await, "Asia/Tokyo");
    b.simple_query("ROLLBACK").await.expect("rollback");
    assert_eq!(show(&b, "SHOW TimeZone").await, "Asia/Kolkata");
    // A session SET in the block outlasts it, as in PostgreSQL.
    for sql in [
        "BEGIN",
        "SET LOCAL IntervalStyle = 'iso_8601'",
        "SET IntervalStyle = 'postgres_verbose'",
        "COMMIT",
    ] {
        b.simple_query(sql).await.expect(sql);
    }
    assert_eq!(show(&b, "SHOW IntervalStyle").await, "postgres_verbose");
    // Outside a block it warns and changes nothing.
    b.simple_query("SET LOCAL TimeZone = 'UTC'")
        .await
        .expect("set local");
    assert_eq!(show(&b, "SHOW TimeZone").await, "Asia/Kolkata");
    server.stop().await;
}

/// A client connecting with settings in its startup packet: pgjdbc sends
/// TimeZone, DateStyle and extra_float_digits, libpq its PGOPTIONS
/// (`-c name=value`), asyncpg its server_settings, psycopg `options=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_settings_apply_to_the_session() {
    let server = TestServer::start(&fixture_catalog()).await;
    let connect = |config: &mut tokio_postgres::Config| {
        let config = config.clone();
        async move {
            match config.connect(tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    Ok(client)
                }
                Err(e) => Err(e),
            }
        }
    };
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(server.port)
        .user("laketap")
        .dbname("laketap")
        .application_name("dashboards")
        .options(r"-c search_path=amp -c TimeZone=Europe/Paris --statement-timeout=5s -c DateStyle=SQL,\ DMY");
    let client = connect(&mut config).await.expect("connects");
    assert_eq!(show(&client, "SHOW application_name").await, "dashboards");
    assert_eq!(show(&client, "SHOW search_path").await, "amp");
    assert_eq!(show(&client, "SHOW TimeZone").await, "Europe/Paris");
    assert_eq!(show(&client, "SHOW statement_timeout").await, "5s");
    assert_eq!(show(&client, "SHOW DateStyle").await, "SQL, DMY");
    // They take effect: an unqualified name is found in amp, and a
    // timestamptz is written in Paris time, day first.
    assert_eq!(
        show(&client, "SELECT count(*) FROM users").await,
        show(&client, "SELECT count(*) FROM amp.users").await
    );
    assert_eq!(
        show(&client, "SELECT TIMESTAMPTZ '2026-03-01 12:00:00+00'").await,
        "01/03/2026 13:00:00 CET"
    );
    // They are the session's defaults: RESET returns to them, as in
    // PostgreSQL (a pool's RESET ALL keeps the client's TimeZone).
    client
        .batch_execute("SET TimeZone = 'UTC'; SET search_path = extra")
        .await
        .expect("set");
    assert_eq!(show(&client, "SHOW TimeZone").await, "UTC");
    client.batch_execute("RESET ALL").await.expect("reset");
    assert_eq!(show(&client, "SHOW TimeZone").await, "Europe/Paris");
    assert_eq!(show(&client, "SHOW search_path").await, "amp");
    // Another connection starts with the defaults.
    let plain = server.client().await;
    assert_eq!(show(&plain, "SHOW TimeZone").await, "Etc/UTC");
    // An invalid value refuses the connection, as PostgreSQL does.
    config.options("-c TimeZone=Nowhere/Bogus");
    let refused = connect(&mut config).await.expect_err("refused");
    let db = refused.as_db_error().expect("a server error");
    assert_eq!(db.code(), &SqlState::INVALID_PARAMETER_VALUE);
    assert!(
        db.message()
            .contains("invalid value for parameter \"TimeZone\": \"Nowhere/Bogus\""),
        "{db:?}"
    );
    server.stop().await;
}
