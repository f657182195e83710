//! End-to-end tests: generate small lakes into temporary directories and read them back
//! with the Parquet reader, deltalake and DataFusion.

use std::path::Path;
use std::sync::Mutex;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use tempfile::TempDir;

use super::*;
use crate::schema::schema_of;

const NOW: &str = "2026-03-01 20:30:00";

fn now() -> NaiveDateTime {
    NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M:%S").expect("valid instant")
}

fn options(dir: &Path, users: u64, days: u32, seed: u64) -> DemoOptions {
    DemoOptions {
        out: dir.to_path_buf(),
        users,
        days,
        seed,
        now: now(),
    }
}

async fn open_delta(path: &Path) -> deltalake::DeltaTable {
    let url = deltalake::ensure_table_uri(path.to_str().expect("utf-8 path")).expect("table url");
    deltalake::open_table(url).await.expect("open delta table")
}

/// A session over the lake at `out`, every table registered under its own name.
async fn context(out: &Path) -> SessionContext {
    let ctx = SessionContext::new();
    let amp = out.join("amp");
    for t in BATCH_TABLES {
        let dir = amp.join(t);
        ctx.register_parquet(
            t,
            dir.to_str().expect("utf-8"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register parquet");
    }
    for t in STREAMING_TABLES {
        let table = open_delta(&amp.join(t)).await;
        table
            .update_datafusion_session(&ctx.state())
            .expect("session");
        let provider = table.table_provider().await.expect("provider");
        ctx.register_table(t, provider).expect("register delta");
    }
    ctx
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The single BIGINT of a one-row, one-column query.
async fn scalar(ctx: &SessionContext, sql: &str) -> i64 {
    let batches = query(ctx, sql).await;
    let col = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("bigint");
    col.value(0)
}

async fn strings(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in query(ctx, sql).await {
        // DataFusion reads TEXT as Utf8View by default; compare as plain strings.
        let col = cast(b.column(0), &DataType::Utf8).expect("cast to utf8");
        let col = col.as_any().downcast_ref::<StringArray>().expect("text");
        out.extend((0..col.len()).map(|i| col.value(i).to_owned()));
    }
    out
}

fn assert_same_fields(table: &str, got: &SchemaRef) {
    let want = schema_of(table).expect("spec schema");
    let got: Vec<_> = got
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let want: Vec<_> = want
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    assert_eq!(got, want, "schema of {table}");
}

#[tokio::test]
async fn tables_have_the_spec_schemas_and_several_versions() {
    let dir = TempDir::new().expect("tempdir");
    let summary = generate(&options(dir.path(), 50, 2, 42), &NoProgress)
        .await
        .expect("generate");
    let names: Vec<&str> = summary.tables.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, [&BATCH_TABLES[..], &STREAMING_TABLES[..]].concat());
    assert_eq!(summary.rows("users"), Some(50));
    assert_eq!(summary.rows("creators"), Some(20));
    assert_eq!(summary.rows("shows"), Some(50));
    assert_eq!(summary.rows("promotions"), Some(10));
    assert!(
        summary.rows("listen_events").expect("listen") > 200,
        "{summary:?}"
    );
    assert!(!dir.path().join(".amp.partial").exists());

    for t in BATCH_TABLES {
        let files: Vec<_> = std::fs::read_dir(dir.path().join("amp").join(t))
            .expect("table dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "{t}: {files:?}");
        assert!(files[0].to_string_lossy().ends_with("part-00000.parquet"));
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&files[0]).expect("open"))
                .expect("parquet");
        assert_same_fields(t, reader.schema());
    }
    for t in STREAMING_TABLES {
        let table = open_delta(&dir.path().join("amp").join(t)).await;
        // Version 0 creates the table; then one commit per UTC date with rows (3 dates).
        let version = table.version().expect("a version");
        assert!(version >= 2, "{t}: version {version}");
        let snapshot = table.snapshot().expect("snapshot");
        assert_same_fields(t, &snapshot.snapshot().arrow_schema());
        assert_eq!(
            snapshot.metadata().partition_columns(),
            &["event_date".to_owned()]
        );
        // The DataFusion provider reads `string` columns as Utf8View (DataFusion's default
        // for Parquet data); everything else is exactly the spec type.
        let provider = table.table_provider().await.expect("provider");
        let read: Vec<_> = provider
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8View => f.as_ref().clone().with_data_type(DataType::Utf8),
                _ => f.as_ref().clone(),
            })
            .collect();
        assert_same_fields(
            t,
            &Arc::new(datafusion::arrow::datatypes::Schema::new(read)),
        );
    }
    let listen = open_delta(&dir.path().join("amp/listen_events")).await;
    assert_eq!(listen.version(), Some(3), "create + one commit per date");
}

#[tokio::test]
async fn same_seed_gives_the_same_rows() {
    let (a, b, c) = (
        TempDir::new().expect("a"),
        TempDir::new().expect("b"),
        TempDir::new().expect("c"),
    );
    let sa = generate(&options(a.path(), 60, 2, 7), &NoProgress)
        .await
        .expect("a");
    let sb = generate(&options(b.path(), 60, 2, 7), &NoProgress)
        .await
        .expect("b");
    let sc = generate(&options(c.path(), 60, 2, 8), &NoProgress)
        .await
        .expect("c");
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
    let (ca, cb, cc) = (
        context(a.path()).await,
        context(b.path()).await,
        context(c.path()).await,
    );
    for sql in [
        "SELECT event_id || '|' || CAST(event_time AS VARCHAR) || '|' || CAST(show_id AS VARCHAR) \
         || '|' || CAST(listen_seconds AS VARCHAR) FROM listen_events ORDER BY 1",
        "SELECT impression_id || '|' || variant || '|' || CAST(show_id AS VARCHAR) FROM rec_impressions ORDER BY 1",
        "SELECT event_id || '|' || kind FROM interactions ORDER BY 1",
        "SELECT CAST(user_id AS VARCHAR) || '|' || CAST(signup_at AS VARCHAR) || '|' || platform FROM users ORDER BY 1",
        "SELECT title FROM shows ORDER BY show_id",
    ] {
        let (ra, rb, rc) = (
            strings(&ca, sql).await,
            strings(&cb, sql).await,
            strings(&cc, sql).await,
        );
        assert!(!ra.is_empty(), "{sql}");
        assert_eq!(ra, rb, "{sql}");
        assert_ne!(ra, rc, "{sql}");
    }
}

#[tokio::test]
async fn events_respect_the_spec_rules() {
    let dir = TempDir::new().expect("tempdir");
    let summary = generate(&options(dir.path(), 400, 3, 42), &NoProgress)
        .await
        .expect("generate");
    let ctx = context(dir.path()).await;
    let now = format!("TIMESTAMP '{NOW}'");
    for t in STREAMING_TABLES {
        let bad = scalar(
            &ctx,
            &format!("SELECT count(*) FROM {t} WHERE event_date <> CAST(event_time AS DATE)"),
        )
        .await;
        assert_eq!(
            bad, 0,
            "{t}: event_date differs from the date of event_time"
        );
        let late = scalar(
            &ctx,
            &format!("SELECT count(*) FROM {t} WHERE event_time > {now}"),
        )
        .await;
        assert_eq!(late, 0, "{t}: events after now");
        let early = scalar(
            &ctx,
            &format!("SELECT count(*) FROM {t} WHERE event_time < {now} - INTERVAL '3' DAY"),
        )
        .await;
        assert_eq!(early, 0, "{t}: events before the period");
        let rows = scalar(&ctx, &format!("SELECT count(*) FROM {t}")).await;
        assert_eq!(Some(rows as u64), summary.rows(t), "{t}");
    }
    // Unique ids.
    for (t, id) in [
        ("listen_events", "event_id"),
        ("interactions", "event_id"),
        ("promotion_events", "event_id"),
        ("rec_impressions", "impression_id"),
        ("rec_engagements", "event_id"),
    ] {
        let dup = scalar(
            &ctx,
            &format!("SELECT count(*) - count(DISTINCT {id}) FROM {t}"),
        )
        .await;
        assert_eq!(dup, 0, "{t}.{id} not unique");
    }
    // Sessions: start with 0 seconds, heartbeats near 60, nothing negative.
    assert_eq!(
        scalar(
            &ctx,
            "SELECT count(*) FROM listen_events WHERE listen_seconds < 0"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &ctx,
            "SELECT count(*) FROM listen_events WHERE event_type = 'start' AND listen_seconds <> 0"
        )
        .await,
        0
    );
    let types = strings(
        &ctx,
        "SELECT DISTINCT event_type FROM listen_events ORDER BY 1",
    )
    .await;
    assert_eq!(types, ["heartbeat", "start", "stop"]);
    let near_60 = scalar(&ctx, "SELECT count(*) FROM listen_events WHERE event_type = 'heartbeat' AND listen_seconds BETWEEN 59 AND 61").await;
    let heartbeats = scalar(
        &ctx,
        "SELECT count(*) FROM listen_events WHERE event_type = 'heartbeat'",
    )
    .await;
    assert!(near_60 * 100 > heartbeats * 90, "{near_60} of {heartbeats}");
    let sessions = scalar(&ctx, "SELECT count(DISTINCT session_id) FROM listen_events").await;
    let starts = scalar(
        &ctx,
        "SELECT count(*) FROM listen_events WHERE event_type = 'start'",
    )
    .await;
    assert_eq!(sessions, starts);
    // Evening (18-23 UTC) beats the early morning (03-08 UTC).
    let evening = scalar(
        &ctx,
        "SELECT count(*) FROM listen_events WHERE date_part('hour', event_time) BETWEEN 18 AND 23",
    )
    .await;
    let morning = scalar(
        &ctx,
        "SELECT count(*) FROM listen_events WHERE date_part('hour', event_time) BETWEEN 3 AND 8",
    )
    .await;
    assert!(
        evening > 2 * morning,
        "evening {evening}, morning {morning}"
    );
    // Some listen events name shows that amp.shows does not know; some users have no events.
    let unknown = scalar(
        &ctx,
        "SELECT count(*) FROM listen_events WHERE show_id NOT IN (SELECT show_id FROM shows)",
    )
    .await;
    assert!(unknown > 0);
    let silent = scalar(&ctx, "SELECT count(*) FROM users WHERE user_id NOT IN (SELECT user_id FROM listen_events UNION SELECT user_id FROM interactions)").await;
    assert!(silent > 20, "{silent}");
    assert!(scalar(&ctx, "SELECT count(*) FROM users WHERE country IS NULL").await > 0);
    let platforms = strings(&ctx, "SELECT DISTINCT platform FROM users ORDER BY 1").await;
    assert_eq!(platforms, ["android", "ios", "web"]);

    // Interactions: every kind; a follow always names its creator, sometimes no show.
    let kinds = strings(&ctx, "SELECT DISTINCT kind FROM interactions ORDER BY 1").await;
    assert_eq!(
        kinds,
        [
            "call_in",
            "chat",
            "follow",
            "like",
            "notify_enable",
            "poll_vote",
            "share"
        ]
    );
    assert_eq!(
        scalar(
            &ctx,
            "SELECT count(*) FROM interactions WHERE kind = 'follow' AND creator_id IS NULL"
        )
        .await,
        0
    );
    assert!(
        scalar(
            &ctx,
            "SELECT count(*) FROM interactions WHERE kind = 'follow' AND show_id IS NULL"
        )
        .await
            > 0
    );
    assert_eq!(
        scalar(
            &ctx,
            "SELECT count(*) FROM interactions WHERE kind <> 'follow' AND show_id IS NULL"
        )
        .await,
        0
    );
    let wrong_creator = scalar(&ctx, "SELECT count(*) FROM interactions i JOIN shows s ON i.show_id = s.show_id WHERE i.creator_id IS NOT NULL AND i.creator_id <> s.creator_id").await;
    assert_eq!(wrong_creator, 0);
    let with_creator = scalar(
        &ctx,
        "SELECT count(*) FROM interactions WHERE kind = 'like' AND creator_id IS NOT NULL",
    )
    .await;
    let likes = scalar(
        &ctx,
        "SELECT count(*) FROM interactions WHERE kind = 'like'",
    )
    .await;
    assert!(
        with_creator * 3 < likes,
        "{with_creator} of {likes} likes name a creator"
    );

    // Promotions: clicks are a fraction of impressions; someone converts.
    let impressions = scalar(
        &ctx,
        "SELECT count(*) FROM promotion_events WHERE action = 'impression'",
    )
    .await;
    let clicks = scalar(
        &ctx,
        "SELECT count(*) FROM promotion_events WHERE action = 'click'",
    )
    .await;
    assert!(
        clicks > 0 && clicks * 5 < impressions,
        "{clicks} clicks, {impressions} impressions"
    );
    let converted = scalar(&ctx, "SELECT count(DISTINCT e.user_id) FROM promotion_events e JOIN promotions p ON e.promotion_id = p.promotion_id \
         JOIN listen_events l ON l.user_id = e.user_id AND l.show_id = p.target_show_id AND l.event_time >= e.event_time \
         WHERE e.action = 'impression'").await;
    assert!(converted > 0);

    // Recommendations: two experiments, slots 1..=10, engagements point at impressions.
    let arms = strings(
        &ctx,
        "SELECT DISTINCT experiment_id || '/' || variant FROM rec_impressions ORDER BY 1",
    )
    .await;
    assert_eq!(
        arms,
        [
            "home_ranker_v2/control",
            "home_ranker_v2/treatment",
            "search_boost/control",
            "search_boost/treat_a",
            "search_boost/treat_b"
        ]
    );
    assert_eq!(
        scalar(
            &ctx,
            "SELECT count(*) FROM rec_impressions WHERE slot < 1 OR slot > 10"
        )
        .await,
        0
    );
    let dangling = scalar(&ctx, "SELECT count(*) FROM rec_engagements WHERE impression_id NOT IN (SELECT impression_id FROM rec_impressions)").await;
    assert_eq!(dangling, 0);
    let engaged_before = scalar(&ctx, "SELECT count(*) FROM rec_engagements g JOIN rec_impressions i ON g.impression_id = i.impression_id WHERE g.event_time < i.event_time").await;
    assert_eq!(engaged_before, 0);
}

#[tokio::test]
async fn several_shows_are_on_air_at_now_with_listeners() {
    let dir = TempDir::new().expect("tempdir");
    generate(&options(dir.path(), 50, 2, 42), &NoProgress)
        .await
        .expect("generate");
    let ctx = context(dir.path()).await;
    let now = format!("TIMESTAMP '{NOW}'");
    let on_air = scalar(
        &ctx,
        &format!(
            "SELECT count(*) FROM shows WHERE scheduled_start <= {now} AND {now} < scheduled_end"
        ),
    )
    .await;
    assert!(on_air >= 4, "{on_air} shows on air");
    let with_listeners = scalar(&ctx, &format!(
        "SELECT count(DISTINCT s.show_id) FROM shows s JOIN listen_events l ON l.show_id = s.show_id \
         WHERE s.scheduled_start <= {now} AND {now} < s.scheduled_end \
         AND l.event_time > {now} - INTERVAL '5' MINUTE AND l.event_time <= {now}")).await;
    assert_eq!(
        with_listeners, on_air,
        "every show on air has listeners in the last 5 minutes"
    );
    let bad_windows = scalar(&ctx, "SELECT count(*) FROM shows WHERE scheduled_end - scheduled_start < INTERVAL '30' MINUTE OR scheduled_end - scheduled_start > INTERVAL '180' MINUTE").await;
    assert_eq!(bad_windows, 0);
    assert!(scalar(&ctx, "SELECT count(*) FROM shows WHERE genre IS NULL").await > 0);
}

#[tokio::test]
async fn refuses_to_overwrite_and_validates_options() {
    let dir = TempDir::new().expect("tempdir");
    let opts = options(dir.path(), 20, 1, 1);
    generate(&opts, &NoProgress).await.expect("first run");
    match generate(&opts, &NoProgress).await {
        Err(Error::AlreadyExists { table, path }) => {
            assert_eq!(table, "users");
            assert_eq!(path, dir.path().join("amp").join("users"));
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let zero = options(dir.path(), 0, 1, 1);
    assert!(matches!(
        generate(&zero, &NoProgress).await,
        Err(Error::InvalidOptions(_))
    ));
    let defaults = DemoOptions::new("lake".into());
    assert_eq!(
        (defaults.users, defaults.days, defaults.seed),
        (2_000, 14, 42)
    );
    assert_eq!(defaults.now.and_utc().timestamp() % 60, 0);
    assert_eq!(defaults.now.and_utc().timestamp_subsec_nanos(), 0);
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, u64, u64)>>);

impl Progress for Recorder {
    fn start(&self, stage: &str, total: u64) {
        self.0
            .lock()
            .expect("lock")
            .push((stage.to_owned(), total, 0));
    }
    fn inc(&self, n: u64) {
        if let Some(last) = self.0.lock().expect("lock").last_mut() {
            last.2 += n;
        }
    }
    fn finish(&self) {}
}

#[tokio::test]
async fn progress_covers_every_stage() {
    let dir = TempDir::new().expect("tempdir");
    let rec = Recorder::default();
    generate(&options(dir.path(), 30, 2, 3), &rec)
        .await
        .expect("generate");
    let stages = rec.0.into_inner().expect("lock");
    let start = NaiveDate::from_ymd_opt(2026, 2, 27).expect("date");
    let dates = (NaiveDate::from_ymd_opt(2026, 3, 1).expect("date") - start).num_days() as u64 + 1;
    assert_eq!(
        stages,
        [
            ("users".to_owned(), 30, 30),
            ("creators".to_owned(), 20, 20),
            ("shows".to_owned(), 50, 50),
            ("promotions".to_owned(), 10, 10),
            ("events".to_owned(), 30 * dates, 30 * dates),
        ]
    );
}
