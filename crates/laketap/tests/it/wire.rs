//! Queries through tokio-postgres: simple protocol (text) and extended
//! protocol (binary results), checked against the fixture rows.

use chrono::NaiveDate;
use tokio_postgres::SimpleQueryMessage;

use crate::{TestServer, fixture_catalog};

fn text_rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_results_of_filters_joins_and_aggregates() {
    let server = TestServer::start(&fixture_catalog()).await;
    let client = server.client().await;

    // 20 listen events in 3 Delta commits.
    let row = client
        .query_one("SELECT count(*) FROM amp.listen_events", &[])
        .await
        .expect("count");
    assert_eq!(row.get::<_, i64>(0), 20);

    // Partition pruning on event_date: l11..l20 are on 2026-03-02.
    let row = client
        .query_one(
            "SELECT count(*), sum(listen_seconds) FROM amp.listen_events WHERE event_date = DATE '2026-03-02'",
            &[],
        )
        .await
        .expect("partition filter");
    assert_eq!(row.get::<_, i64>(0), 10);
    assert_eq!(row.get::<_, f64>(1), 300.0); // 30+30+90+60+60+30

    // Join and aggregate: seconds listened per known show (show 999 is unknown).
    let rows = client
        .query(
            "SELECT s.title, sum(l.listen_seconds) AS secs \
             FROM amp.listen_events l JOIN amp.shows s ON s.show_id = l.show_id \
             GROUP BY s.title ORDER BY secs DESC",
            &[],
        )
        .await
        .expect("join");
    let got: Vec<(String, f64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            ("Live Session".to_string(), 240.0),
            ("Morning Mix".to_string(), 210.0),
            ("Tech Talk".to_string(), 150.0),
            ("Open Mic".to_string(), 60.0),
        ]
    );

    // Timestamps keep their seconds; dates come back as dates; NULL stays NULL.
    let row = client
        .query_one(
            "SELECT event_time, event_date FROM amp.listen_events WHERE event_id = 'l12'",
            &[],
        )
        .await
        .expect("timestamp");
    let expected = NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(9, 0, 30))
        .expect("valid");
    assert_eq!(row.get::<_, chrono::NaiveDateTime>(0), expected);
    assert_eq!(
        row.get::<_, NaiveDate>(1),
        NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid")
    );
    let row = client
        .query_one(
            "SELECT user_id, country FROM amp.users WHERE country IS NULL",
            &[],
        )
        .await
        .expect("null");
    assert_eq!(row.get::<_, i64>(0), 3);
    assert_eq!(row.get::<_, Option<String>>(1), None);

    // A typed parameter.
    let row = client
        .query_one("SELECT title FROM amp.shows WHERE show_id = $1", &[&101i64])
        .await
        .expect("parameter");
    assert_eq!(row.get::<_, String>(0), "Night Set");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_results_and_listing_tables() {
    let server = TestServer::start(&fixture_catalog()).await;
    let client = server.client().await;
    let messages = client
        .simple_query("SELECT title, genre FROM amp.shows WHERE show_id = 104")
        .await
        .expect("simple query");
    assert_eq!(
        text_rows(&messages),
        vec![vec![Some("Open Mic".to_string()), None]]
    );

    // Hive partitions of NDJSON and CSV folders come back as columns.
    let messages = client
        .simple_query("SELECT day, count(*) FROM extra.ndjson_events GROUP BY day ORDER BY day")
        .await
        .expect("ndjson");
    assert_eq!(
        text_rows(&messages),
        vec![
            vec![Some("2026-03-01".to_string()), Some("3".to_string())],
            vec![Some("2026-03-02".to_string()), Some("3".to_string())],
        ]
    );
    let messages = client
        .simple_query(
            "SELECT region, count(*) FROM extra.csv_scores GROUP BY region ORDER BY region",
        )
        .await
        .expect("csv");
    assert_eq!(
        text_rows(&messages),
        vec![
            vec![Some("eu".to_string()), Some("3".to_string())],
            vec![Some("us".to_string()), Some("3".to_string())],
        ]
    );

    // The system view lists each table with its Delta version.
    let messages = client
        .simple_query(
            "SELECT table_name, format, version, files FROM laketap.tables \
             WHERE schema_name = 'amp' AND table_name = 'listen_events'",
        )
        .await
        .expect("laketap.tables");
    let rows = text_rows(&messages);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0].as_deref(), Some("listen_events"));
    assert_eq!(rows[0][1].as_deref(), Some("delta"));
    assert_eq!(rows[0][2].as_deref(), Some("2"));

    // The statements above are in the query log, with their row counts.
    let messages = client
        .simple_query(
            "SELECT rows, error FROM laketap.query_log WHERE sql LIKE '%extra.csv_scores%' \
             AND sql NOT LIKE '%query_log%'",
        )
        .await
        .expect("query_log");
    assert_eq!(
        text_rows(&messages),
        vec![vec![Some("2".to_string()), None]]
    );
    server.stop().await;
}
