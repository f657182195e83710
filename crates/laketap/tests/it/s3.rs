//! The lake on S3: a real S3-compatible server (s3s-fs, from crates.io,
//! installed by `.ci/run`) on loopback holds a copy of the fixture lake; the
//! `laketap` binary serves it through `s3://` locations with a `[[storage]]`
//! entry whose credentials come from environment variables. Every answer is
//! compared with the same query over the local fixture lake (differential),
//! and a few are checked against known values.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary::{BIN, Killed, spawn_serve};
use crate::{TestServer, answer, connect, copy_dir, fixture_catalog, repo};

const ACCESS_KEY: &str = "laketap-test-key";
const SECRET_KEY: &str = "laketap-test-secret";

/// The s3s-fs binary: $LAKETAP_S3S_FS, the copy `.ci/run` installs, or PATH.
fn s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("LAKETAP_S3S_FS") {
        return PathBuf::from(path);
    }
    let installed = PathBuf::from("/var/tmp/laketap-tools/bin/s3s-fs");
    if installed.exists() {
        return installed;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("s3s-fs"))
            .find(|p| p.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "s3s-fs is needed for the S3 tests: `cargo install s3s-fs@0.14.1 --features binary --locked --root /var/tmp/laketap-tools` (bash .ci/run does this), or set LAKETAP_S3S_FS"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// s3s-fs serving `root` (each folder a bucket) on a loopback port.
fn start_s3(root: &Path) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(s3s_fs())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn s3s-fs");
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

/// The fixture catalog with every location moved to `s3://lake/`, plus a
/// table in a bucket whose credentials are wrong.
fn s3_catalog(dir: &Path) {
    std::fs::create_dir_all(dir).expect("catalog dir");
    for file in ["amp.toml", "extra.toml"] {
        let text = std::fs::read_to_string(fixture_catalog().join(file)).expect("fixture catalog");
        let moved = text.replace("location = \"../lake/", "location = \"s3://lake/");
        assert_ne!(moved, text);
        std::fs::write(dir.join(file), moved).expect("write catalog");
    }
    std::fs::write(
        dir.join("locked.toml"),
        "[tables.users]\nformat = \"parquet\"\nlocation = \"s3://locked/amp/users\"\n",
    )
    .expect("write catalog");
}

fn config(dir: &Path, endpoint: &str) -> PathBuf {
    let path = dir.join("laketap.toml");
    let text = format!(
        r#"catalog = "catalog"
[[storage]]
url = "s3://lake"
endpoint = "{endpoint}"
region = "us-east-1"
allow_http = true
access_key_id_env = "LAKETAP_TEST_S3_KEY"
secret_access_key_env = "LAKETAP_TEST_S3_SECRET"

[[storage]]
url = "s3://locked"
endpoint = "{endpoint}"
region = "us-east-1"
allow_http = true
access_key_id_env = "LAKETAP_TEST_S3_KEY"
secret_access_key_env = "LAKETAP_TEST_S3_WRONG_SECRET"
"#
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs `sql` and returns its rows as text (simple protocol); an error fails the test.
async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    answer(client, sql)
        .await
        .unwrap_or_else(|(code, message)| panic!("{sql}: {code} {message}"))
}

/// Queries whose answers must be the same on S3 and on local disk.
const SAME_ANSWERS: &[&str] = &[
    "SELECT count(*), min(user_id), max(user_id), count(country) FROM amp.users",
    "SELECT creator_id, display_name FROM amp.creators ORDER BY creator_id",
    "SELECT show_id, title, genre FROM amp.shows ORDER BY show_id",
    "SELECT count(*), sum(listen_seconds), min(event_time), max(event_time) FROM amp.listen_events",
    "SELECT event_date, count(*) FROM amp.listen_events GROUP BY event_date ORDER BY event_date",
    "SELECT kind, count(*) FROM amp.interactions GROUP BY kind ORDER BY kind",
    "SELECT id, name, score, day FROM extra.ndjson_events WHERE day = '2026-03-02' ORDER BY id",
    "SELECT region, count(*), sum(score) FROM extra.csv_scores GROUP BY region ORDER BY region",
    "SELECT count(*) FROM table_at('amp.listen_events', 0)",
    "SELECT version, operation FROM table_history('amp.listen_events') ORDER BY version",
    "SELECT * FROM kpi.show_daily ORDER BY 1, 2",
    "SELECT * FROM kpi.engagement_daily ORDER BY 1",
    "SELECT table_name, format, version, files FROM laketap.tables WHERE schema_name <> 'locked' ORDER BY 1",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lake_on_s3_answers_like_the_lake_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("s3");
    copy_dir(&repo().join("tests/fixtures/lake"), &root.join("lake"));
    copy_dir(&repo().join("tests/fixtures/lake"), &root.join("locked"));
    let (_s3, endpoint) = start_s3(&root);
    s3_catalog(&dir.path().join("catalog"));
    let config = config(dir.path(), &endpoint);

    let served = spawn_serve(|command| {
        command
            .arg("--config")
            .arg(&config)
            .env("LAKETAP_TEST_S3_KEY", ACCESS_KEY)
            .env("LAKETAP_TEST_S3_SECRET", SECRET_KEY)
            .env("LAKETAP_TEST_S3_WRONG_SECRET", "not-the-secret")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_ENDPOINT_URL");
    });
    let pg_port = served.pg_port;
    let server = served.child;
    let s3 = connect(pg_port).await;

    let local = TestServer::start(&fixture_catalog()).await;
    let disk = local.client().await;
    // Known values first, then everything against the local lake.
    assert_eq!(
        rows(&s3, "SELECT count(*) FROM amp.users").await,
        vec![vec![Some("6".to_string())]]
    );
    assert_eq!(
        rows(&s3, "SELECT count(*) FROM amp.listen_events").await,
        vec![vec![Some("20".to_string())]]
    );
    for sql in SAME_ANSWERS {
        let on_s3 = rows(&s3, sql).await;
        assert!(!on_s3.is_empty(), "{sql}: no rows");
        assert_eq!(on_s3, rows(&disk, sql).await, "{sql}");
    }
    let located = rows(
        &s3,
        "SELECT location FROM laketap.tables WHERE table_name = 'listen_events'",
    )
    .await;
    assert_eq!(
        located,
        vec![vec![Some("s3://lake/amp/listen_events/".to_string())]]
    );

    // A bucket whose credentials are refused: that table's queries say so,
    // naming the table and the object store's answer; the rest keeps serving.
    let err = s3
        .simple_query("SELECT count(*) FROM locked.users")
        .await
        .expect_err("wrong credentials");
    let db = err.as_db_error().expect("a server error");
    assert!(
        db.message().contains("locked.users") && db.message().contains("s3://locked/amp/users"),
        "{}",
        db.message()
    );
    assert_eq!(db.code().code(), "58030", "{}", db.message());
    let listed = rows(
        &s3,
        "SELECT last_error FROM laketap.tables WHERE schema_name = 'locked'",
    )
    .await;
    let last_error = listed[0][0].clone().expect("last_error");
    assert!(last_error.contains("s3://locked/amp/users"), "{last_error}");
    assert_eq!(
        rows(&s3, "SELECT count(*) FROM amp.users").await,
        vec![vec![Some("6".to_string())]]
    );

    // A Delta commit landing in the bucket is served without a restart.
    crate::freshness::append_listen_event(&root.join("lake/amp/listen_events")).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n = rows(&s3, "SELECT count(*) FROM amp.listen_events").await;
        if n == vec![vec![Some("21".to_string())]] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the commit on S3 was not served: {n:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rows(
            &s3,
            "SELECT version FROM laketap.tables WHERE table_name = 'listen_events'"
        )
        .await,
        vec![vec![Some("3".to_string())]]
    );
    // The past stays readable.
    assert_eq!(
        rows(&s3, "SELECT count(*) FROM table_at('amp.listen_events', 2)").await,
        vec![vec![Some("20".to_string())]]
    );

    // `laketap crawl` finds the same tables on S3, through the same [[storage]].
    let crawled = Command::new(BIN)
        .args(["crawl", "s3://lake/amp", "--config"])
        .arg(&config)
        .env("LAKETAP_TEST_S3_KEY", ACCESS_KEY)
        .env("LAKETAP_TEST_S3_SECRET", SECRET_KEY)
        .env("LAKETAP_TEST_S3_WRONG_SECRET", "not-the-secret")
        .env_remove("RUST_LOG")
        .output()
        .expect("laketap crawl");
    let out = String::from_utf8_lossy(&crawled.stdout);
    assert!(
        crawled.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&crawled.stderr)
    );
    assert!(out.starts_with("schema = \"amp\""), "{out}");
    assert_eq!(out.matches("[tables.").count(), 9, "{out}");
    assert!(
        out.contains("location = \"s3://lake/amp/listen_events\""),
        "{out}"
    );
    assert!(
        out.contains("{ name = \"listen_seconds\", type = \"Float64\""),
        "{out}"
    );

    local.stop().await;
    drop(server);
}
