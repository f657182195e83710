//! End-to-end tests: the real server on 127.0.0.1:0, queried through
//! tokio-postgres (text and binary), the `psql` binary, and the `laketap`
//! binary itself.

mod binary;
mod cancel;
mod catalog;
mod errors;
mod freshness;
mod ingest;
mod psql;
mod s3;
mod security;
mod settings;
mod transactions;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use laketap_engine::{Engine, EngineConfig};
use laketap_server::{PgConfig, PgServer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The repository root.
pub fn repo() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
}

/// The fixture catalog.
pub fn fixture_catalog() -> PathBuf {
    repo().join("tests/fixtures/catalog")
}

/// Copies `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of the fixture lake and catalog in a temporary folder.
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &repo().join("tests/fixtures/catalog"),
        &dir.path().join("catalog"),
    );
    copy_dir(
        &repo().join("tests/fixtures/lake"),
        &dir.path().join("lake"),
    );
    dir
}

/// The server, running in this process on an ephemeral port.
pub struct TestServer {
    pub port: u16,
    pub engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(catalog: &Path) -> TestServer {
        TestServer::start_with(catalog, PgConfig::default()).await
    }

    /// The server over `catalog` with front-end settings `config`.
    pub async fn start_with(catalog: &Path, config: PgConfig) -> TestServer {
        let engine = Arc::new(
            Engine::start(&EngineConfig::new(catalog))
                .await
                .expect("engine starts"),
        );
        let server = PgServer::new(&engine, config).await.expect("front end");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
        });
        TestServer {
            port,
            engine,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=laketap dbname=laketap",
            self.port
        )
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        connect(self.port).await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        self.engine.stop().await;
    }
}

/// The rows of `sql` as text, or the server's error (code, message).
pub async fn answer(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, (String, String)> {
    match client.simple_query(sql).await {
        Ok(messages) => Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect()),
        Err(e) => {
            let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
            Err((db.code().code().to_string(), db.message().to_string()))
        }
    }
}

pub fn one(value: &str) -> Vec<Vec<Option<String>>> {
    vec![vec![Some(value.to_string())]]
}

/// A client of the server on `port` (user `laketap`, no TLS), its connection driven on a task.
pub async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=laketap dbname=laketap"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
