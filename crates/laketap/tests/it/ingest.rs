//! Writes into Delta tables through the real `laketap serve`: HTTP NDJSON,
//! INSERT and COPY FROM STDIN; idempotency keys; visibility through the KPI
//! views; bad input refused whole; compaction and checkpoints; a second
//! writer (delta-rs) on the same table; and SIGKILL at random moments during
//! a stream of acknowledged writes, after which every write is there once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::SinkExt;

use crate::binary::{Served, spawn_serve};
use crate::{answer, connect, fixture_copy};

/// POSTs `body` to the server's HTTP endpoint; the status and body, or the
/// connection error (the server may be gone).
pub(crate) fn post(
    port: u16,
    path: &str,
    key: Option<&str>,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let key = key.map_or_else(String::new, |k| format!("Idempotency-Key: {k}\r\n"));
    post_with_headers(port, path, &key, body)
}

/// POSTs `body` with extra `headers` (each ending in CRLF).
pub(crate) fn post_with_headers(
    port: u16,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-ndjson\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    // A server refusing a large body may close early: keep what it said.
    let _ = stream.write_all(body);
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP status in {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    Ok((status, body))
}

/// One listen event as NDJSON (nested `user`, to exercise flattening).
fn listen(id: &str, time: &str, user: i64) -> String {
    format!(
        r#"{{"event_id":"{id}","event_time":"{time}","user":{{"id":{user}}},"show_id":101,"session_id":"s-{id}","event_type":"heartbeat","listen_seconds":30.0}}"#
    )
}

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("laketap.toml");
    std::fs::write(&path, format!("catalog = \"catalog\"\n{extra}")).expect("write config");
    path
}

fn serve(config: &Path) -> Served {
    spawn_serve(|command| {
        command.arg("--config").arg(config);
    })
}

/// Stops a served child with SIGTERM; its log.
pub(crate) fn kill_served(served: Served) -> String {
    kill(served, "-TERM")
}

fn kill(served: Served, signal: &str) -> String {
    let Served { mut child, log, .. } = served;
    let _ = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
    log.join().unwrap_or_default()
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Polls until `sql` counts `expected`: correctness with a loose bound (15 s).
pub(crate) async fn wait_count(client: &tokio_postgres::Client, sql: &str, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n = count(client, sql).await;
        if n == expected || Instant::now() > deadline {
            assert_eq!(n, expected, "{sql}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_ingest_is_durable_idempotent_and_reaches_the_kpi_views() {
    let dir = fixture_copy();
    let config = write_config(dir.path(), "");
    let served = serve(&config);
    let client = connect(served.pg_port).await;
    let before = count(&client, "SELECT count(*) FROM amp.listen_events").await;
    let version_before = count(
        &client,
        "SELECT version FROM laketap.tables WHERE table_name = 'listen_events'",
    )
    .await;

    // User 3's last activity becomes a minute ago (the clock is T).
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let body = format!("{}\n\n{}\n", listen("h1", &at, 3), listen("h2", &at, 3));
    let (status, reply) = post(
        served.http_port,
        "/v1/ingest/amp/listen_events",
        Some("batch-1"),
        body.as_bytes(),
    )
    .expect("post");
    assert_eq!(status, 200, "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("json");
    assert_eq!(reply["rows"], 2);
    assert_eq!(reply["duplicate"], false);
    let seq = reply["seq"].clone();

    // Visible through a KPI view (a loose bound: correctness, not timing).
    // As PostgreSQL prints a timestamp: the fraction without trailing zeros
    // (`at` always has six digits, so trimming stops at the point at most).
    let expected = at
        .replace('T', " ")
        .trim_end_matches('Z')
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let rows = answer(
            &client,
            "SELECT last_active_at FROM kpi.user_profile WHERE user_id = 3",
        )
        .await
        .expect("user_profile");
        if rows[0][0].as_deref() == Some(expected.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not visible in kpi.user_profile within 5 s: {rows:?}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = answer(
        &client,
        "SELECT event_id, event_date::text, user_id::text FROM amp.listen_events WHERE event_id IN ('h1', 'h2') ORDER BY 1",
    )
    .await
    .expect("rows");
    let today = at[..10].to_string();
    assert_eq!(
        rows,
        vec![
            vec![Some("h1".into()), Some(today.clone()), Some("3".into())],
            vec![Some("h2".into()), Some(today), Some("3".into())],
        ]
    );

    // The same key again: answered as the first time, applied once.
    let (status, reply) = post(
        served.http_port,
        "/v1/ingest/amp/listen_events",
        Some("batch-1"),
        body.as_bytes(),
    )
    .expect("post");
    assert_eq!(status, 200, "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("json");
    assert_eq!(reply["duplicate"], true);
    assert_eq!(reply["rows"], 2);
    assert_eq!(reply["seq"], seq);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM amp.listen_events").await,
        before + 2
    );
    let status = answer(
        &client,
        "SELECT version, last_commit_at IS NOT NULL, freshness_lag_ms >= 0 FROM laketap.tables WHERE table_name = 'listen_events'",
    )
    .await
    .expect("tables");
    assert_eq!(
        status,
        vec![vec![
            Some((version_before + 1).to_string()),
            Some("t".into()),
            Some("t".into())
        ]]
    );

    // /metrics counts what happened.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", served.http_port)).expect("http");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut metrics = String::new();
    stream.read_to_string(&mut metrics).expect("metrics");
    let labels = "{schema=\"amp\",table=\"listen_events\"}";
    for line in [
        format!("laketap_ingest_acked_writes_total{labels} 1"),
        format!("laketap_ingest_acked_rows_total{labels} 2"),
        format!("laketap_ingest_duplicate_writes_total{labels} 1"),
        format!("laketap_ingest_pending_rows{labels} 0"),
        format!("laketap_table_version{labels} {}", version_before + 1),
        "laketap_tables 11".to_string(),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }

    // The key survives a restart (it lives in the write-ahead log).
    let log = kill(served, "-TERM");
    assert!(log.contains("laketap stopped"), "{log}");
    let served = serve(&config);
    let (status, reply) = post(
        served.http_port,
        "/v1/ingest/amp/listen_events",
        Some("batch-1"),
        body.as_bytes(),
    )
    .expect("post");
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("\"duplicate\":true"), "{reply}");
    let client = connect(served.pg_port).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM amp.listen_events").await,
        before + 2
    );
    kill(served, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_whole_with_line_and_column() {
    let dir = fixture_copy();
    let config = write_config(dir.path(), "[ingest]\nmax_request_mb = 1\n");
    let served = serve(&config);
    let client = connect(served.pg_port).await;
    let before = count(&client, "SELECT count(*) FROM amp.listen_events").await;
    let good = listen("ok1", "2026-03-02T10:00:00Z", 1);
    let cases: Vec<(String, u16, &str, serde_json::Value, serde_json::Value)> = vec![
        (
            format!("{good}\n{{\"event_id\": \"x\",\n"),
            400,
            "malformed JSON",
            2.into(),
            serde_json::Value::Null,
        ),
        (
            format!(
                "{good}\n{}\n",
                good.replace("\"show_id\":101", "\"show_id\":\"abc\"")
            ),
            400,
            "expected an integer, got \"abc\"",
            2.into(),
            "show_id".into(),
        ),
        (
            format!("{}\n", good.replace(",\"show_id\":101", "")),
            400,
            "show_id is NOT NULL",
            1.into(),
            "show_id".into(),
        ),
        (
            format!("{}\n", good.replace("\"show_id\"", "\"shw_id\"")),
            400,
            "no such column",
            1.into(),
            "shw_id".into(),
        ),
        (
            format!(
                "{}\n",
                good.replace("\"event_id\"", "\"event_date\":\"2026-03-05\",\"event_id\"")
            ),
            400,
            "is not the UTC date of event_time (2026-03-02)",
            1.into(),
            "event_date".into(),
        ),
        (
            format!("{}\n", good.replace("30.0", "true")),
            400,
            "expected a number",
            1.into(),
            "listen_seconds".into(),
        ),
        (
            "[1, 2]\n".to_string(),
            400,
            "expected a JSON object",
            1.into(),
            serde_json::Value::Null,
        ),
    ];
    for (body, status, message, line, column) in cases {
        let (got, reply) = post(
            served.http_port,
            "/v1/ingest/amp/listen_events",
            None,
            body.as_bytes(),
        )
        .expect("post");
        assert_eq!(got, status, "{body}: {reply}");
        let reply: serde_json::Value = serde_json::from_str(&reply).expect("json");
        let error = reply["error"].as_str().expect("error");
        assert!(error.contains(message), "{body}: {error}");
        assert_eq!(reply["line"], line, "{body}: {reply}");
        assert_eq!(reply["column"], column, "{body}: {reply}");
    }
    // Over the limit: 413.
    let big = format!("{good}\n").repeat(1024 * 1024 / good.len() + 10);
    let (status, _) = post(
        served.http_port,
        "/v1/ingest/amp/listen_events",
        None,
        big.as_bytes(),
    )
    .expect("post");
    assert_eq!(status, 413);
    // Not declared, not writable.
    let (status, reply) =
        post(served.http_port, "/v1/ingest/amp/nope", None, b"{}\n").expect("post");
    assert_eq!(status, 404, "{reply}");
    assert!(reply.contains("amp.nope is not declared"), "{reply}");
    let (status, reply) =
        post(served.http_port, "/v1/ingest/amp/users", None, b"{}\n").expect("post");
    assert_eq!(status, 409, "{reply}");
    assert!(reply.contains("parquet table"), "{reply}");
    // Nothing of any refused request was committed.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM amp.listen_events").await,
        before
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM amp.listen_events WHERE event_id = 'ok1'"
        )
        .await,
        0
    );
    kill(served, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_and_copy_from_stdin_over_pgwire() {
    let dir = fixture_copy();
    let config = write_config(dir.path(), "");
    let served = serve(&config);
    let client = connect(served.pg_port).await;
    let before = count(&client, "SELECT count(*) FROM amp.interactions").await;
    let columns = "event_id, event_time, user_id, show_id, creator_id, kind";

    // INSERT … VALUES (extended protocol, typed parameters) and INSERT … SELECT.
    let n = client
        .execute(
            &format!(
                "INSERT INTO amp.interactions ({columns}) VALUES ($1, $2, $3, $4, NULL, 'like')"
            ),
            &[
                &"p1",
                &chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                    .and_then(|d| d.and_hms_micro_opt(9, 30, 0, 123_456))
                    .expect("time"),
                &4i64,
                &101i64,
            ],
        )
        .await
        .expect("insert");
    assert_eq!(n, 1);
    let n = client
        .execute(
            &format!(
                "INSERT INTO amp.interactions ({columns}) \
                 SELECT 'sel-' || event_id, event_time, user_id, show_id, NULL, 'share' FROM amp.listen_events WHERE event_type = 'start'"
            ),
            &[],
        )
        .await
        .expect("insert select");
    let starts = count(
        &client,
        "SELECT count(*) FROM amp.listen_events WHERE event_type = 'start'",
    )
    .await;
    assert_eq!(n as i64, starts);
    assert!(starts > 0);

    // COPY FROM STDIN, text format (\N is NULL; event_date derived).
    let sink = client
        .copy_in(&format!("COPY amp.interactions ({columns}) FROM STDIN"))
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"t1\t2026-03-02 10:00:00\t5\t\\N\t7\tfollow\nt2\t2026-03-02 10:00:01\t5\t101\t\\N\tchat \\\\o/\n",
    ))
    .await
    .expect("send");
    assert_eq!(sink.finish().await.expect("copy"), 2);
    // CSV with a header and a quoted delimiter.
    let sink = client
        .copy_in(&format!(
            "COPY amp.interactions ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        ))
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"event_id,event_time,user_id,show_id,creator_id,kind\nc1,2026-03-02 11:00:00,6,,,\"po,ll\"\n",
    ))
    .await
    .expect("send");
    assert_eq!(sink.finish().await.expect("copy"), 1);
    // A bad row refuses the whole COPY, naming line and column.
    let sink = client
        .copy_in(&format!("COPY amp.interactions ({columns}) FROM STDIN"))
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"b1\t2026-03-02 10:00:00\t5\t\\N\t7\tfollow\nb2\tyesterday\t5\t\\N\t7\tfollow\n",
    ))
    .await
    .expect("send");
    let err = sink.finish().await.expect_err("bad timestamp");
    let db = err.as_db_error().expect("db error");
    assert_eq!(db.code().code(), "22P02");
    assert!(
        db.message().contains("line 2, column event_time"),
        "{}",
        db.message()
    );
    // The connection keeps serving.
    let expected = before + 1 + starts + 3;
    wait_count(&client, "SELECT count(*) FROM amp.interactions", expected).await;
    let rows = answer(
        &client,
        "SELECT event_id, to_char(event_time, '%Y-%m-%d %H:%M:%S%.6f'), event_date::text, show_id::text, creator_id::text, kind \
         FROM amp.interactions WHERE event_id IN ('p1', 't1', 't2', 'c1', 'b1') ORDER BY 1",
    )
    .await
    .expect("rows");
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        rows,
        vec![
            vec![
                s("c1"),
                s("2026-03-02 11:00:00.000000"),
                s("2026-03-02"),
                None,
                None,
                s("po,ll")
            ],
            vec![
                s("p1"),
                s("2026-03-02 09:30:00.123456"),
                s("2026-03-02"),
                s("101"),
                None,
                s("like")
            ],
            vec![
                s("t1"),
                s("2026-03-02 10:00:00.000000"),
                s("2026-03-02"),
                None,
                s("7"),
                s("follow")
            ],
            vec![
                s("t2"),
                s("2026-03-02 10:00:01.000000"),
                s("2026-03-02"),
                s("101"),
                None,
                s("chat \\o/")
            ],
        ]
    );

    // SET laketap.idempotency_key keys the next write only.
    let insert = format!(
        "INSERT INTO amp.interactions ({columns}) VALUES ('k1', '2026-03-02 12:00:00', 1, NULL, NULL, 'like')"
    );
    for _ in 0..2 {
        let replies = client
            .simple_query(&format!("SET laketap.idempotency_key = 'pg-1'; {insert}"))
            .await
            .expect("keyed insert");
        let rows = replies.iter().rev().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        });
        assert_eq!(rows, Some(1), "answered as the first time");
    }
    assert_eq!(
        answer(&client, "SHOW laketap.idempotency_key")
            .await
            .expect("show"),
        vec![vec![Some(String::new())]],
        "the key is forgotten after the write"
    );
    client.execute(&insert, &[]).await.expect("unkeyed insert");
    wait_count(
        &client,
        "SELECT count(*) FROM amp.interactions WHERE event_id = 'k1'",
        2,
    )
    .await;

    // Refusals: a NULL in a NOT NULL column, a Parquet table, a server file.
    let refused = [
        (
            format!(
                "INSERT INTO amp.interactions ({columns}) VALUES ('n1', '2026-03-02 12:00:00', NULL, NULL, NULL, 'like')"
            ),
            "23502",
        ),
        (
            "INSERT INTO amp.users VALUES (99, '2026-03-01 00:00:00', 'NL', 'web')".to_string(),
            "42809",
        ),
        (
            "COPY amp.interactions FROM '/etc/passwd'".to_string(),
            "42501",
        ),
        ("COPY amp.nope FROM STDIN".to_string(), "42P01"),
    ];
    for (sql, code) in refused {
        let err = answer(&client, &sql).await.expect_err(&sql);
        assert_eq!(err.0, code, "{sql}: {err:?}");
    }
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM amp.interactions WHERE event_id = 'n1'"
        )
        .await,
        0
    );
    kill(served, "-TERM");
}

/// A tiny deterministic generator (the seed is printed on failure).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

#[derive(Default)]
struct Ledger {
    /// Every request sent, by idempotency key: its event ids.
    sent: BTreeMap<String, Vec<String>>,
    /// Keys acknowledged with 200.
    acked: BTreeSet<String>,
}

impl Ledger {
    /// The requests sent and never acknowledged, with their event ids.
    fn unacked(&self) -> Vec<(String, Vec<String>)> {
        self.sent
            .iter()
            .filter(|(k, _)| !self.acked.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn batch_body(ids: &[String], round: usize) -> String {
    let mut body = String::new();
    for (i, id) in ids.iter().enumerate() {
        let at = format!(
            "2026-03-02T{:02}:{:02}:{:02}Z",
            round % 24,
            i % 60,
            (i * 7) % 60
        );
        body.push_str(&listen(id, &at, 1 + (i as i64 % 5)));
        body.push('\n');
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let dir = fixture_copy();
    // Short commits, frequent checkpoints and compactions: a kill lands in
    // every phase (log append, commit, checkpoint, compaction, replay).
    let config = write_config(
        dir.path(),
        "[ingest]\ncommit_interval_ms = 40\ncheckpoint_every = 2\ncompact_every = 5\n",
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    let mut rng = Lcg(seed);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let rounds = 20;
    let mut next_id = 0u64;
    let started = Instant::now();
    for round in 0..rounds {
        let served = serve(&config);
        let port = served.http_port;
        // Retry what was never acknowledged, with its key.
        let unacked = ledger.lock().expect("ledger").unacked();
        for (key, ids) in unacked {
            if let Ok((200, _)) = post(
                port,
                "/v1/ingest/amp/listen_events",
                Some(&key),
                batch_body(&ids, round).as_bytes(),
            ) {
                ledger.lock().expect("ledger").acked.insert(key);
            }
        }
        // Two producers stream batches until the kill.
        let stop = Arc::new(AtomicBool::new(false));
        let mut producers = Vec::new();
        for p in 0..2 {
            let stop = stop.clone();
            let ledger = ledger.clone();
            let first = next_id + p * 1_000_000;
            let sizes: Vec<u64> = (0..1000).map(|_| 1 + rng.next(40)).collect();
            producers.push(std::thread::spawn(move || {
                let mut id = first;
                for (n, size) in sizes.into_iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("r{round}-p{p}-{n}");
                    let ids: Vec<String> = (0..size)
                        .map(|_| {
                            id += 1;
                            format!("e{id}")
                        })
                        .collect();
                    let body = batch_body(&ids, round);
                    ledger.lock().expect("ledger").sent.insert(key.clone(), ids);
                    match post(
                        port,
                        "/v1/ingest/amp/listen_events",
                        Some(&key),
                        body.as_bytes(),
                    ) {
                        Ok((200, _)) => {
                            ledger.lock().expect("ledger").acked.insert(key);
                        }
                        Ok((status, reply)) => panic!("round {round}: {status} {reply}"),
                        Err(_) => break,
                    }
                }
            }));
        }
        next_id += 2_000_000;
        std::thread::sleep(Duration::from_millis(30 + rng.next(500)));
        kill(served, "-KILL");
        stop.store(true, Ordering::Relaxed);
        for p in producers {
            p.join().expect("producer");
        }
    }
    // A last start: retry the rest, then check every event is there once.
    let served = serve(&config);
    let unacked = ledger.lock().expect("ledger").unacked();
    for (key, ids) in unacked {
        let (status, reply) = post(
            served.http_port,
            "/v1/ingest/amp/listen_events",
            Some(&key),
            batch_body(&ids, 0).as_bytes(),
        )
        .expect("post");
        assert_eq!(status, 200, "{reply}");
    }
    let (expected, writes, acked) = {
        let l = ledger.lock().expect("ledger");
        (
            l.sent.values().map(|v| v.len() as i64).sum::<i64>(),
            l.sent.len(),
            l.acked.len(),
        )
    };
    assert!(
        expected > 100,
        "the stream was too short to test anything: {expected}"
    );
    let client = connect(served.pg_port).await;
    wait_count(
        &client,
        "SELECT count(*) FROM amp.listen_events WHERE event_id LIKE 'e%'",
        expected,
    )
    .await;
    let duplicated = count(
        &client,
        "SELECT count(*) FROM (SELECT event_id FROM amp.listen_events GROUP BY event_id HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(duplicated, 0, "seed {seed}");
    let distinct = count(
        &client,
        "SELECT count(DISTINCT event_id) FROM amp.listen_events WHERE event_id LIKE 'e%'",
    )
    .await;
    assert_eq!(distinct, expected, "seed {seed}");
    eprintln!(
        "crash test: {rounds} SIGKILLs, {writes} writes ({acked} acknowledged before a kill), {expected} events, {:.1} s, seed {seed}",
        started.elapsed().as_secs_f64()
    );
    // Compaction and checkpoints ran along the way.
    let checkpoints = std::fs::read_dir(dir.path().join("lake/amp/listen_events/_delta_log"))
        .expect("log")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains(".checkpoint.parquet")
        })
        .count();
    assert!(checkpoints > 0, "no checkpoint was written");
    kill(served, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_and_compaction_keep_every_row() {
    let dir = fixture_copy();
    let config = write_config(
        dir.path(),
        "[ingest]\ncommit_interval_ms = 30\ncompact_every = 4\ncheckpoint_every = 2\n",
    );
    let served = serve(&config);
    let client = connect(served.pg_port).await;
    let before = count(&client, "SELECT count(*) FROM amp.listen_events").await;
    let files_before = count(
        &client,
        "SELECT files FROM laketap.tables WHERE table_name = 'listen_events'",
    )
    .await;
    let table_dir = dir.path().join("lake/amp/listen_events");
    // delta-rs appends beside laketap's commits, on its own.
    let other = {
        let table_dir = table_dir.clone();
        tokio::spawn(async move {
            for _ in 0..6 {
                crate::freshness::append_listen_event_at(&table_dir).await;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    for n in 0..12 {
        let ids: Vec<String> = (0..5).map(|i| format!("w{n}-{i}")).collect();
        let (status, reply) = post(
            served.http_port,
            "/v1/ingest/amp/listen_events",
            None,
            batch_body(&ids, 1).as_bytes(),
        )
        .expect("post");
        assert_eq!(status, 200, "{reply}");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    other.await.expect("delta-rs writer");
    wait_count(
        &client,
        "SELECT count(*) FROM amp.listen_events",
        before + 60 + 6,
    )
    .await;
    // Compaction rewrote laketap's small files of 2026-03-02 into fewer.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files = count(
            &client,
            "SELECT files FROM laketap.tables WHERE table_name = 'listen_events'",
        )
        .await;
        // 12 ingest commits + 6 delta-rs commits would add 18 files without compaction.
        if files < files_before + 18 {
            break;
        }
        assert!(Instant::now() < deadline, "no compaction: {files} files");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        count(&client, "SELECT count(*) FROM amp.listen_events").await,
        before + 66
    );
    let history = answer(
        &client,
        "SELECT count(*) FROM table_history('amp.listen_events') WHERE operation = 'OPTIMIZE'",
    )
    .await
    .expect("history");
    assert_ne!(
        history,
        vec![vec![Some("0".to_string())]],
        "no OPTIMIZE commit"
    );
    kill(served, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_in_a_transaction_block_apply_at_commit_only() {
    let dir = fixture_copy();
    let config = write_config(dir.path(), "[ingest]\ncommit_interval_ms = 50\n");
    let served = serve(&config);
    let mut client = connect(served.pg_port).await;
    let columns = "event_id, event_time, user_id, show_id, creator_id, kind";
    let insert = |id: &str| {
        format!(
            "INSERT INTO amp.interactions ({columns}) VALUES ('{id}', '2026-03-02 12:00:00', 1, NULL, NULL, 'like')"
        )
    };
    let mine = "SELECT count(*) FROM amp.interactions WHERE event_id LIKE 'tx-%'";

    // ROLLBACK drops the INSERT and the COPY of the block.
    let tx = client.transaction().await.expect("begin");
    assert_eq!(tx.execute(&insert("tx-r1"), &[]).await.expect("insert"), 1);
    let sink = tx
        .copy_in(&format!("COPY amp.interactions ({columns}) FROM STDIN"))
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"tx-r2\t2026-03-02 10:00:00\t5\t\\N\t7\tfollow\n",
    ))
    .await
    .expect("send");
    assert_eq!(sink.finish().await.expect("copy"), 1);
    tx.rollback().await.expect("rollback");

    // A failed block applies nothing either (COMMIT answers ROLLBACK).
    client.batch_execute("BEGIN").await.expect("begin");
    client
        .batch_execute(&insert("tx-f1"))
        .await
        .expect("insert");
    assert!(client.batch_execute("SELECT 1/0").await.is_err());
    client.batch_execute("COMMIT").await.expect("commit");

    // COMMIT applies both, durably, before it answers.
    let tx = client.transaction().await.expect("begin");
    tx.execute(&insert("tx-c1"), &[]).await.expect("insert");
    tx.execute(&insert("tx-c2"), &[]).await.expect("insert");
    tx.commit().await.expect("commit");
    wait_count(&client, mine, 2).await;
    let ids = answer(
        &client,
        "SELECT event_id FROM amp.interactions WHERE event_id LIKE 'tx-%' ORDER BY 1",
    )
    .await
    .expect("ids");
    assert_eq!(
        ids,
        vec![
            vec![Some("tx-c1".to_string())],
            vec![Some("tx-c2".to_string())]
        ]
    );
    // The block's two INSERTs were one write: one Delta commit.
    let commits = answer(
        &client,
        "SELECT count(*) FROM table_history('amp.interactions') WHERE operation = 'WRITE'",
    )
    .await
    .expect("history");
    assert_eq!(
        commits,
        vec![vec![Some("3".to_string())]],
        "the fixture's two commits and one"
    );
    kill(served, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_stdout_in_text_and_csv() {
    use futures::TryStreamExt;
    let dir = fixture_copy();
    let config = write_config(dir.path(), "");
    let served = serve(&config);
    let client = connect(served.pg_port).await;
    let rows = answer(
        &client,
        "SELECT user_id, country FROM amp.users ORDER BY user_id LIMIT 4",
    )
    .await
    .expect("users");
    assert_eq!(rows.len(), 4);
    let copy = |sql: String| {
        let client = &client;
        async move {
            let stream = client.copy_out(&sql).await.expect(&sql);
            let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("copy data");
            String::from_utf8(chunks.concat()).expect("utf8")
        }
    };
    let text = copy(
        "COPY (SELECT user_id, country FROM amp.users ORDER BY user_id LIMIT 4) TO STDOUT"
            .to_string(),
    )
    .await;
    let expected: String = rows
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\n",
                r[0].as_deref().unwrap_or_default(),
                r[1].as_deref().unwrap_or("\\N")
            )
        })
        .collect();
    assert_eq!(text, expected);
    let csv = copy(
        "COPY (SELECT user_id, country FROM amp.users ORDER BY user_id LIMIT 4) TO STDOUT WITH (FORMAT csv, HEADER true)"
            .to_string(),
    )
    .await;
    let expected: String = std::iter::once("user_id,country\n".to_string())
        .chain(rows.iter().map(|r| {
            format!(
                "{},{}\n",
                r[0].as_deref().unwrap_or_default(),
                r[1].as_deref().unwrap_or("")
            )
        }))
        .collect();
    assert_eq!(csv, expected);
    // A whole table, and a server-side file refused.
    let all = copy("COPY amp.creators TO STDOUT".to_string()).await;
    let creators = count(&client, "SELECT count(*) FROM amp.creators").await;
    assert_eq!(all.lines().count() as i64, creators);
    let err = answer(&client, "COPY amp.users TO '/tmp/laketap-users.txt'")
        .await
        .expect_err("server file");
    assert_eq!(err.0, "42501");
    assert!(!Path::new("/tmp/laketap-users.txt").exists());

    // Binary: PostgreSQL's signature, flags and extension length, then per
    // row a field count and each field's length and binary value, then -1.
    let binary = |sql: &'static str| {
        let client = &client;
        async move {
            let stream = client.copy_out(sql).await.expect(sql);
            let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("copy data");
            chunks.concat()
        }
    };
    let header: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
    let mut expected = header.to_vec();
    for (id, text) in [(7i32, "ab"), (8, "")] {
        expected.extend_from_slice(&2i16.to_be_bytes());
        expected.extend_from_slice(&4i32.to_be_bytes());
        expected.extend_from_slice(&id.to_be_bytes());
        expected.extend_from_slice(&(text.len() as i32).to_be_bytes());
        expected.extend_from_slice(text.as_bytes());
    }
    expected.extend_from_slice(&[0xff, 0xff]);
    assert_eq!(
        binary(
            "COPY (SELECT * FROM (VALUES (CAST(7 AS INT), 'ab'), (CAST(8 AS INT), '')) AS t(i, s) \
             ORDER BY i) TO STDOUT WITH (FORMAT binary)"
        )
        .await,
        expected
    );
    let mut none = header.to_vec();
    none.extend_from_slice(&[0xff, 0xff]);
    assert_eq!(
        binary("COPY (SELECT CAST(1 AS INT) AS i WHERE false) TO STDOUT (FORMAT binary)").await,
        none
    );
    let err = answer(
        &client,
        "COPY (SELECT 1) TO STDOUT (FORMAT binary, DELIMITER ',')",
    )
    .await
    .expect_err("delimiter in binary");
    assert_eq!(err.0, "42601");
    kill(served, "-TERM");
}
