//! laketap's ingest: durable appends into the lake's Delta tables.
//!
//! A write (an HTTP NDJSON request, an INSERT, a COPY FROM STDIN) is checked
//! against the table's schema, appended to the table's write-ahead log and
//! acknowledged once the log is on disk (`fdatasync`). A committer per table
//! writes what the log holds to the Delta table at a cadence (every
//! `commit_interval`, or sooner once `commit_rows` rows wait), as one Delta
//! commit that also records the last sequence number it holds as a Delta
//! application transaction (`txn`, app id [`APP_ID`]). After a crash, the
//! log is replayed from the sequence number after the table's `txn` version:
//! nothing acknowledged is lost and nothing is committed twice. Once
//! committed, the table is refreshed at once, so queries (and the KPI views)
//! see the rows without waiting for the next poll.
//!
//! # Layout
//! - [`Ingest`] (this file): the service, its settings and errors.
//! - [`wal`]: the log's segment files, records, recovery and idempotency keys.
//! - [`writer`]: one table's log thread and committer (commits, compaction, checkpoints).
//! - [`convert`]: NDJSON and COPY text/CSV to Arrow, with line and column in errors.
//! - [`sink`]: `INSERT INTO` a Delta table through the log.

pub mod convert;
pub mod sink;
pub mod wal;
pub mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use laketap_catalog::{Format, Lake, LakeTable, Location};
use serde::{Deserialize, Serialize};

pub use writer::WriterStatus;

/// The Delta application id under which laketap records the last log
/// sequence number a commit holds.
pub const APP_ID: &str = "laketap-ingest";
/// The folder, inside a Delta table's folder, that holds its log.
pub const WAL_DIR: &str = "_laketap_wal";

/// Errors of ingest; each says whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such table in the catalog.
    #[error("table {schema}.{table} is not declared in the catalog")]
    NotDeclared {
        /// Schema asked for.
        schema: String,
        /// Table asked for.
        table: String,
    },
    /// The table exists but does not take writes.
    #[error("table {table} is not writable: {reason}")]
    NotWritable {
        /// `schema.table`.
        table: String,
        /// Why.
        reason: String,
    },
    /// The input does not fit the table.
    #[error("{}", bad_input(.line, .column, .message))]
    BadInput {
        /// 1-based line of the request body or COPY data.
        line: Option<usize>,
        /// The column.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A NOT NULL column without a value.
    #[error("{}", bad_input(.line, &Some(.column.clone()), .message))]
    NotNull {
        /// 1-based line of the request body or COPY data.
        line: Option<usize>,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The request is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// Commits are behind: too many rows wait in the log.
    #[error("{0}")]
    Backlog(String),
    /// The write-ahead log cannot be written or read.
    #[error("write-ahead log: {0}")]
    Wal(String),
    /// The server is stopping.
    #[error("the server is shutting down; the write was not applied")]
    Stopped,
    /// A bug of ours.
    #[error("internal error: {0}")]
    Internal(String),
}

fn bad_input(line: &Option<usize>, column: &Option<String>, message: &str) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: {message}"),
        (Some(l), None) => format!("line {l}: {message}"),
        (None, Some(c)) if !message.contains(c.as_str()) => format!("column {c}: {message}"),
        _ => message.to_string(),
    }
}

impl Error {
    /// The SQLSTATE of this error over the wire.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::NotDeclared { .. } => "42P01",
            Error::NotWritable { .. } => "42809",
            Error::NotNull { .. } => "23502",
            Error::BadInput { .. } => "22P02",
            Error::TooLarge(_) => "54000",
            Error::Backlog(_) => "53000",
            Error::Wal(_) => "58030",
            Error::Stopped => "57P01",
            Error::Internal(_) => "XX000",
        }
    }

    /// The HTTP status of this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::NotDeclared { .. } => 404,
            Error::NotWritable { .. } => 409,
            Error::BadInput { .. } | Error::NotNull { .. } => 400,
            Error::TooLarge(_) => 413,
            Error::Backlog(_) | Error::Stopped => 503,
            Error::Wal(_) | Error::Internal(_) => 500,
        }
    }
}

/// Ingest's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a durable write answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The write's sequence number in its table's log.
    pub seq: u64,
    /// Rows written.
    pub rows: u64,
}

/// Ingest settings (`[ingest]` of laketap.toml).
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The log is committed at least this often while it holds rows.
    pub commit_interval: Duration,
    /// ... and as soon as this many rows wait.
    pub commit_rows: usize,
    /// Largest HTTP request body, in bytes (413 beyond).
    pub max_request_bytes: usize,
    /// Writes are refused (53000 / 503) while this many bytes of rows wait
    /// for a commit that keeps failing.
    pub max_pending_bytes: usize,
    /// Compact a table's small files every this many commits (0: never).
    pub compact_every: u64,
    /// Target size of compacted files, in bytes.
    pub compact_target_bytes: u64,
    /// Write a Delta checkpoint every this many commits (0: never).
    pub checkpoint_every: u64,
    /// Idempotency keys remembered per table.
    pub idempotency_keys: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            commit_interval: Duration::from_millis(250),
            commit_rows: 100_000,
            max_request_bytes: 64 * 1024 * 1024,
            max_pending_bytes: 512 * 1024 * 1024,
            compact_every: 100,
            compact_target_bytes: 128 * 1024 * 1024,
            checkpoint_every: 20,
            idempotency_keys: 100_000,
        }
    }
}

/// A table writes go to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `schema.table`.
    pub name: String,
    /// The Delta table's schema: what a write must fit.
    pub schema: SchemaRef,
}

/// The ingest service of a server.
pub struct Ingest {
    ctx: SessionContext,
    lake: Arc<Lake>,
    config: IngestConfig,
    writers: tokio::sync::Mutex<HashMap<(String, String), Arc<writer::TableWriter>>>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("config", &self.config)
            .finish()
    }
}

impl Ingest {
    /// Starts ingest over the lake: replays the log of every Delta table that
    /// has one (what a crash left uncommitted is committed now).
    pub async fn start(
        ctx: SessionContext,
        lake: Arc<Lake>,
        config: IngestConfig,
    ) -> Result<Arc<Ingest>> {
        let ingest = Arc::new(Ingest {
            ctx,
            lake,
            config,
            writers: tokio::sync::Mutex::new(HashMap::new()),
        });
        for table in ingest.lake.tables() {
            let info = table.info();
            if let Ok(dir) = wal_dir(&table)
                && dir.is_dir()
                && let Err(e) = ingest.writer(&info.schema, &info.name).await
            {
                // That table refuses writes (each one says why); the others serve.
                tracing::error!(schema = %info.schema, table = %info.name, error = %e, "cannot recover the table's write-ahead log");
            }
        }
        Ok(ingest)
    }

    /// The settings.
    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    /// The table `schema.table` as a write target, or why it is not one.
    pub async fn target(&self, schema: &str, table: &str) -> Result<Target> {
        let writer = self.writer(schema, table).await?;
        Ok(Target {
            name: format!("{schema}.{table}"),
            schema: writer.schema(),
        })
    }

    /// Appends `batch` (in the target's schema, checked) durably; with a
    /// key, a write already acknowledged under that key is answered as it
    /// was and not applied again.
    pub async fn append(
        &self,
        schema: &str,
        table: &str,
        batch: RecordBatch,
        key: Option<String>,
    ) -> Result<(Ack, bool)> {
        let writer = self.writer(schema, table).await?;
        writer.append(batch, key).await
    }

    /// What each table's writer is doing (`laketap.tables` and `/metrics`).
    pub async fn status(&self) -> Vec<(String, String, WriterStatus)> {
        let writers = self.writers.lock().await;
        writers
            .iter()
            .map(|((s, t), w)| (s.clone(), t.clone(), w.status()))
            .collect()
    }

    /// Commits what the logs hold and stops every writer.
    pub async fn stop(&self) {
        let writers: Vec<Arc<writer::TableWriter>> =
            self.writers.lock().await.values().cloned().collect();
        for w in writers {
            w.stop().await;
        }
    }

    async fn writer(&self, schema: &str, table: &str) -> Result<Arc<writer::TableWriter>> {
        let key = (schema.to_string(), table.to_string());
        let mut writers = self.writers.lock().await;
        if let Some(w) = writers.get(&key) {
            return Ok(w.clone());
        }
        let lake_table = self
            .lake
            .table(schema, table)
            .ok_or_else(|| Error::NotDeclared {
                schema: schema.to_string(),
                table: table.to_string(),
            })?;
        let dir = wal_dir(&lake_table)?;
        let delta = lake_table
            .delta_table()
            .await
            .ok_or_else(|| Error::Internal("a Delta table without a log".to_string()))?;
        let w = writer::TableWriter::start(
            schema,
            table,
            dir,
            delta,
            self.lake.clone(),
            self.ctx.clone(),
            self.config.clone(),
        )
        .await?;
        writers.insert(key, w.clone());
        Ok(w)
    }
}

/// The log folder of a writable table, or why the table is not writable.
fn wal_dir(table: &LakeTable) -> Result<PathBuf> {
    let info = table.info();
    let name = format!("{}.{}", info.schema, info.name);
    if info.format != Format::Delta {
        return Err(Error::NotWritable {
            table: name,
            reason: format!(
                "it is a {} table; laketap writes only to Delta tables",
                info.format.as_str()
            ),
        });
    }
    if info.decl.read_only {
        return Err(Error::NotWritable {
            table: name,
            reason: format!("{} declares it read_only = true", info.file.display()),
        });
    }
    match &info.location {
        Location::Local(path) => Ok(path.join(WAL_DIR)),
        Location::ObjectStore(url) => Err(Error::NotWritable {
            table: name,
            reason: format!(
                "it is stored at {url}; this version writes only to Delta tables on local disk"
            ),
        }),
    }
}

/// A transaction's writes to one table: (schema, table), rows, first key.
type TableWrites = ((String, String), Vec<RecordBatch>, Option<String>);

impl Ingest {
    /// Applies the writes a transaction block held, at its COMMIT: the
    /// writes to one table become one write (one log record, so one Delta
    /// commit), keyed by the first key among them. Every target is checked
    /// before anything is applied; tables are then written one after the
    /// other, so a failure can leave an earlier table written.
    pub async fn apply_transaction(
        &self,
        writes: Vec<laketap_engine::asof::BufferedWrite>,
    ) -> Result<u64> {
        let mut by_table: Vec<TableWrites> = Vec::new();
        for w in writes {
            let name = (w.schema, w.table);
            match by_table.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, batches, key)) => {
                    batches.push(w.batch);
                    if key.is_none() {
                        *key = w.key;
                    }
                }
                None => by_table.push((name, vec![w.batch], w.key)),
            }
        }
        for ((schema, table), _, _) in &by_table {
            self.target(schema, table).await?;
        }
        let mut rows = 0;
        for ((schema, table), batches, key) in by_table {
            let batch = datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches)
                .map_err(|e| Error::Internal(format!("combining the transaction's rows: {e}")))?;
            let (ack, _) = self.append(&schema, &table, batch, key).await?;
            rows += ack.rows;
        }
        Ok(rows)
    }
}
