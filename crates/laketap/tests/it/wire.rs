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

/// json, jsonb and uuid over tokio-postgres (its binary results and typed
/// parameters), and a catalog lookup in a select list giving its value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_uuid_and_catalog_lookups() {
    let server = TestServer::start(&fixture_catalog()).await;
    let client = server.client().await;
    // Binary results with their PostgreSQL types (tokio-postgres asks for binary).
    let row = client
        .query_one(
            "SELECT '{\"b\": [1, 2.50], \"a\": null}'::jsonb AS j, \
             'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid AS u, '[1,2]'::json AS t",
            &[],
        )
        .await
        .expect("json query");
    let types: Vec<_> = row.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![
            tokio_postgres::types::Type::JSONB,
            tokio_postgres::types::Type::UUID,
            tokio_postgres::types::Type::JSON
        ]
    );
    // tokio-postgres decodes jsonb by its version byte and uuid from 16 bytes.
    let raw = |i: usize| -> Vec<u8> {
        struct Raw(Vec<u8>);
        impl<'a> tokio_postgres::types::FromSql<'a> for Raw {
            fn from_sql(
                _: &tokio_postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Ok(Raw(raw.to_vec()))
            }
            fn accepts(_: &tokio_postgres::types::Type) -> bool {
                true
            }
        }
        row.get::<_, Raw>(i).0
    };
    assert_eq!(raw(0), b"\x01{\"a\": null, \"b\": [1, 2.50]}".to_vec());
    assert_eq!(
        raw(1),
        vec![
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11
        ]
    );
    assert_eq!(raw(2), b"[1,2]".to_vec());
    // A typed uuid parameter in binary comes back as text of the value.
    let statement = client
        .prepare_typed(
            "SELECT CAST($1::uuid AS TEXT)",
            &[tokio_postgres::types::Type::UUID],
        )
        .await
        .expect("prepare");
    #[derive(Debug)]
    struct Uuid([u8; 16]);
    impl tokio_postgres::types::ToSql for Uuid {
        fn to_sql(
            &self,
            _: &tokio_postgres::types::Type,
            out: &mut bytes::BytesMut,
        ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
        {
            out.extend_from_slice(&self.0);
            Ok(tokio_postgres::types::IsNull::No)
        }
        fn accepts(ty: &tokio_postgres::types::Type) -> bool {
            *ty == tokio_postgres::types::Type::UUID
        }
        tokio_postgres::types::to_sql_checked!();
    }
    let text: String = client
        .query_one(&statement, &[&Uuid([0x11; 16])])
        .await
        .expect("uuid parameter")
        .get(0);
    assert_eq!(text, "11111111-1111-1111-1111-111111111111");
    // Bad input is 22P02, and the connection goes on.
    let error = client
        .simple_query("SELECT '{\"a\":}'::jsonb")
        .await
        .expect_err("bad jsonb");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_TEXT_REPRESENTATION)
    );
    // A catalog lookup in a select list has its value and its name.
    let rows = client
        .simple_query(
            "SELECT c.relname, (SELECT a.attname FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = c.oid AND a.attnum = 1) FROM pg_catalog.pg_class c \
             WHERE c.relname = 'pg_namespace'",
        )
        .await
        .expect("lookup");
    let values: Vec<(String, Option<String>, String)> = rows
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some((
                row.get(0).unwrap_or_default().to_string(),
                row.get(1).map(str::to_string),
                row.columns()[1].name().to_string(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        vec![(
            "pg_namespace".to_string(),
            Some("oid".to_string()),
            "attname".to_string()
        )]
    );
    server.stop().await;
}
