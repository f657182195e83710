//! Delta tables are followed as they are committed to: a new version is
//! served without a restart, through plain queries and through a view that
//! was created before the commit (a view captures its table handles).

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use deltalake::writer::{DeltaWriter as _, RecordBatchWriter};

use crate::{TestServer, fixture_copy};

/// One listen event for 2026-03-03 12:00:00, written by delta-rs as version 3.
pub(crate) async fn append_listen_event(table_dir: &std::path::Path) {
    let version = append_one(table_dir, "l21").await;
    assert_eq!(version, 3);
}

/// One listen event with a fresh id, written by delta-rs as the next version.
pub(crate) async fn append_listen_event_at(table_dir: &std::path::Path) {
    let id = format!(
        "d{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    append_one(table_dir, &id).await;
}

async fn append_one(table_dir: &std::path::Path, id: &str) -> u64 {
    let url = deltalake::ensure_table_uri(table_dir.to_str().expect("utf8 path")).expect("url");
    let mut table = deltalake::open_table(url).await.expect("open delta table");
    let schema = Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("event_date", DataType::Date32, false),
        Field::new("user_id", DataType::Int64, false),
        Field::new("show_id", DataType::Int64, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("listen_seconds", DataType::Float64, false),
    ]));
    // 2026-03-03 12:00:00 UTC = 1772539200 s; 2026-03-03 = day 20515.
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![id])),
        Arc::new(TimestampMicrosecondArray::from(vec![1_772_539_200_000_000])),
        Arc::new(Date32Array::from(vec![20_515])),
        Arc::new(Int64Array::from(vec![6])),
        Arc::new(Int64Array::from(vec![105])),
        Arc::new(StringArray::from(vec!["s9"])),
        Arc::new(StringArray::from(vec!["start"])),
        Arc::new(Float64Array::from(vec![0.0])),
    ];
    let batch = RecordBatch::try_new(schema, columns).expect("batch");
    let mut writer = RecordBatchWriter::for_table(&table).expect("writer");
    writer.write(batch).await.expect("write");
    writer.flush_and_commit(&mut table).await.expect("commit")
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Polls `sql` until it counts `expected` — correctness with a loose bound
/// (10 s), not a timing test: the refresher runs every 500 ms.
async fn wait_for_count(client: &tokio_postgres::Client, sql: &str, expected: i64, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let total = count(client, sql).await;
        if total == expected || tokio::time::Instant::now() > deadline {
            assert_eq!(total, expected, "{what}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_delta_commit_is_served_without_restart() {
    let dir = fixture_copy();
    let server = TestServer::start(&dir.path().join("catalog")).await;
    let client = server.client().await;
    client
        .simple_query(
            "CREATE VIEW public.listens_per_day AS \
             SELECT event_date, count(*) AS n FROM amp.listen_events GROUP BY event_date",
        )
        .await
        .expect("create view");
    assert_eq!(
        count(&client, "SELECT count(*) FROM amp.listen_events").await,
        20
    );

    append_listen_event(&dir.path().join("lake/amp/listen_events")).await;

    wait_for_count(
        &client,
        "SELECT count(*) FROM amp.listen_events",
        21,
        "the new commit was not served",
    )
    .await;
    let rows = client
        .query(
            "SELECT CAST(event_date AS VARCHAR), n FROM public.listens_per_day ORDER BY 1",
            &[],
        )
        .await
        .expect("view");
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            ("2026-03-01".to_string(), 10),
            ("2026-03-02".to_string(), 10),
            ("2026-03-03".to_string(), 1),
        ]
    );
    // A KPI view (built in, created at startup) sees the new commit too:
    // user 6 listened on 2026-03-03, a day that had no events before.
    let row = client
        .query_one(
            "SELECT dau, listeners FROM kpi.engagement_daily WHERE day = DATE '2026-03-03'",
            &[],
        )
        .await
        .expect("kpi view");
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (1, 1));
    let version: i64 = client
        .query_one(
            "SELECT version FROM laketap.tables WHERE table_name = 'listen_events'",
            &[],
        )
        .await
        .expect("laketap.tables")
        .get(0);
    assert_eq!(version, 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_prune_partitions_and_project_columns() {
    let dir = fixture_copy();
    let server = TestServer::start(&dir.path().join("catalog")).await;
    let client = server.client().await;
    let plan_text = |messages: Vec<tokio_postgres::SimpleQueryMessage>| -> String {
        messages
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(1).map(str::to_string),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let plan = plan_text(
        client
            .simple_query(
                "EXPLAIN SELECT user_id FROM amp.listen_events \
                 WHERE event_date = DATE '2026-03-02' AND user_id = 4",
            )
            .await
            .expect("explain delta"),
    );
    assert!(plan.contains("event_date=2026-03-02/"), "{plan}");
    assert!(!plan.contains("event_date=2026-03-01/"), "{plan}");
    assert!(plan.contains("projection=[user_id"), "{plan}");
    assert!(plan.contains("predicate=user_id@0 = 4"), "{plan}");

    let plan = plan_text(
        client
            .simple_query("EXPLAIN SELECT id FROM extra.csv_scores WHERE region = 'eu'")
            .await
            .expect("explain csv"),
    );
    assert!(plan.contains("region=eu/part-0.csv"), "{plan}");
    assert!(!plan.contains("region=us"), "{plan}");
    assert!(plan.contains("projection=[id]"), "{plan}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_in_a_listing_table_is_read_without_restart() {
    let dir = fixture_copy();
    let server = TestServer::start(&dir.path().join("catalog")).await;
    let client = server.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM extra.csv_scores").await,
        6
    );
    let partition = dir.path().join("lake/extra/csv_scores/region=asia");
    std::fs::create_dir_all(&partition).expect("mkdir");
    // Written aside and renamed, as batch jobs publish files.
    std::fs::write(
        partition.join(".part-0.csv.tmp"),
        "id,score\n101,1.5\n102,2.5\n",
    )
    .expect("write");
    std::fs::rename(
        partition.join(".part-0.csv.tmp"),
        partition.join("part-0.csv"),
    )
    .expect("rename");
    wait_for_count(
        &client,
        "SELECT count(*) FROM extra.csv_scores",
        8,
        "the new file was not read",
    )
    .await;
    let row = client
        .query_one(
            "SELECT CAST(sum(score) AS DOUBLE) FROM extra.csv_scores WHERE region = 'asia'",
            &[],
        )
        .await
        .expect("new partition");
    assert_eq!(row.get::<_, f64>(0), 4.0);
    server.stop().await;
}
