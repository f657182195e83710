//! One table's writer: a log thread that appends writes to the
//! write-ahead log and acknowledges them after `fdatasync` (writes that
//! arrive together share one sync), and a committer task that moves what the
//! log holds into the Delta table, refreshes the table for queries, deletes
//! committed log segments, writes checkpoints and compacts small files.

use std::collections::{BTreeSet, VecDeque};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Date32Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use laketap_catalog::Lake;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use crate::wal::{self, Keys, Wal};
use crate::{APP_ID, Ack, Error, IngestConfig, Result};

/// What a table's writer is doing.
#[derive(Debug, Clone, Default)]
pub struct WriterStatus {
    /// Writes acknowledged since start (duplicates not counted).
    pub acked_writes: u64,
    /// Rows acknowledged since start.
    pub acked_rows: u64,
    /// Writes answered from their idempotency key, not applied again.
    pub duplicate_writes: u64,
    /// Rows acknowledged and not yet committed.
    pub pending_rows: u64,
    /// The last log sequence number committed to the table.
    pub committed_seq: u64,
    /// Delta commits made since start.
    pub commits: u64,
    /// When the last commit finished.
    pub last_commit_at: Option<DateTime<Utc>>,
    /// The last commit's duration, milliseconds.
    pub last_commit_ms: Option<u64>,
    /// Compactions run since start.
    pub compactions: u64,
    /// The last commit or compaction error (cleared by the next success).
    pub last_error: Option<String>,
}

/// A write's answer: its acknowledgement, and whether its key had been seen.
type Answer = Result<(Ack, bool)>;

enum Cmd {
    Append {
        batch: RecordBatch,
        ipc: Vec<u8>,
        key: Option<String>,
        reply: oneshot::Sender<Answer>,
    },
    Truncate {
        through: u64,
    },
}

#[derive(Default)]
struct Pending {
    records: VecDeque<(u64, RecordBatch, usize)>,
    rows: usize,
    bytes: usize,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Notify,
    status: Mutex<WriterStatus>,
}

impl Shared {
    fn status(&self) -> std::sync::MutexGuard<'_, WriterStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer of one table.
pub struct TableWriter {
    name: String,
    schema: SchemaRef,
    tx: mpsc::Sender<Cmd>,
    shared: Arc<Shared>,
    config: IngestConfig,
    stop: watch::Sender<bool>,
    committer: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl TableWriter {
    /// Recovers the table's log and starts its log thread and committer.
    pub async fn start(
        schema_name: &str,
        table_name: &str,
        dir: PathBuf,
        mut delta: DeltaTable,
        lake: Arc<Lake>,
        ctx: SessionContext,
        config: IngestConfig,
    ) -> Result<Arc<TableWriter>> {
        let name = format!("{schema_name}.{table_name}");
        delta
            .update_incremental(None)
            .await
            .map_err(|e| Error::Internal(format!("{name}: reading the Delta log: {e}")))?;
        let schema = delta
            .snapshot()
            .map_err(|e| Error::Internal(format!("{name}: {e}")))?
            .snapshot()
            .arrow_schema();
        let committed = committed_seq(&delta)
            .await
            .map_err(|e| Error::Internal(format!("{name}: reading the txn version: {e}")))?;
        let recover_dir = dir.clone();
        let (lock, recovered) = tokio::task::spawn_blocking(move || {
            let lock = wal::lock(&recover_dir)?;
            wal::recover(&recover_dir).map(|r| (lock, r))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let mut keys = Keys::new(config.idempotency_keys);
        for (key, ack) in recovered.keys {
            keys.insert_saved(key, ack);
        }
        let mut pending = Pending::default();
        let mut last = committed;
        let mut replayed = 0usize;
        for record in recovered.records {
            last = last.max(record.seq);
            let rows = record.batch.num_rows();
            if let Some(key) = record.key {
                keys.insert(
                    key,
                    Ack {
                        seq: record.seq,
                        rows: rows as u64,
                    },
                );
            }
            if record.seq > committed {
                let bytes = record.batch.get_array_memory_size();
                pending.rows += rows;
                pending.bytes += bytes;
                pending.records.push_back((record.seq, record.batch, bytes));
                replayed += 1;
            }
        }
        if replayed > 0 || recovered.torn_bytes > 0 {
            tracing::info!(table = %name, writes = replayed, rows = pending.rows, committed_seq = committed, "replaying acknowledged writes from the log");
        }
        let shared = Arc::new(Shared {
            status: Mutex::new(WriterStatus {
                committed_seq: committed,
                pending_rows: pending.rows as u64,
                ..WriterStatus::default()
            }),
            pending: Mutex::new(pending),
            wake: Notify::new(),
        });
        let (tx, rx) = mpsc::channel(4096);
        let table_dir = dir
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.clone());
        let wal = Wal::new(dir, recovered.segments);
        let thread_shared = shared.clone();
        let commit_rows = config.commit_rows;
        let thread_name = name.clone();
        std::thread::Builder::new()
            .name(format!("wal-{table_name}"))
            .spawn(move || {
                // The folder stays locked while this thread runs.
                let _lock = lock;
                log_thread(
                    rx,
                    wal,
                    keys,
                    last + 1,
                    thread_shared,
                    commit_rows,
                    thread_name,
                )
            })
            .map_err(|e| Error::Internal(format!("cannot start the log thread: {e}")))?;
        let (stop, stopped) = watch::channel(false);
        let writer = Arc::new(TableWriter {
            name: name.clone(),
            schema,
            tx: tx.clone(),
            shared: shared.clone(),
            config: config.clone(),
            stop,
            committer: tokio::sync::Mutex::new(None),
        });
        // Committed segments left by the last run go now.
        let _ = tx.send(Cmd::Truncate { through: committed }).await;
        let committer = Committer {
            table_dir,
            name,
            schema_name: schema_name.to_string(),
            table_name: table_name.to_string(),
            delta,
            lake,
            ctx,
            config,
            shared,
            tx,
            touched: BTreeSet::new(),
            commits_since_compaction: 0,
            commits_since_checkpoint: 0,
            compaction: None,
            committed: Some(committed),
        };
        *writer.committer.lock().await = Some(tokio::spawn(committer.run(stopped)));
        Ok(writer)
    }

    /// The Delta table's schema, which writes must fit.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// A snapshot of the status.
    pub fn status(&self) -> WriterStatus {
        self.shared.status().clone()
    }

    /// Appends `batch` durably. Returns the acknowledgement and whether the
    /// key had been seen (then nothing was applied).
    pub async fn append(&self, batch: RecordBatch, key: Option<String>) -> Result<(Ack, bool)> {
        if *self.stop.borrow() {
            return Err(Error::Stopped);
        }
        let waiting = self.shared.pending().bytes;
        if waiting > self.config.max_pending_bytes {
            let why = self
                .shared
                .status()
                .last_error
                .clone()
                .unwrap_or_else(|| "commits are behind".to_string());
            return Err(Error::Backlog(format!(
                "{}: {} MiB wait to be committed ({why}); retry later",
                self.name,
                waiting / (1024 * 1024)
            )));
        }
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::Internal(format!(
                "{}: rows do not have the table's schema",
                self.name
            )));
        }
        let ipc = wal::encode_batch(&batch)?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Cmd::Append {
                batch,
                ipc,
                key,
                reply,
            })
            .await
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Commits what the log holds, then stops.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        self.shared.wake.notify_one();
        if let Some(task) = self.committer.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn committed_seq(delta: &DeltaTable) -> deltalake::DeltaResult<u64> {
    let version = delta
        .snapshot()?
        .transaction_version(delta.log_store().as_ref(), APP_ID)
        .await?;
    Ok(version.map_or(0, |v| v.max(0) as u64))
}

fn log_thread(
    mut rx: mpsc::Receiver<Cmd>,
    mut wal: Wal,
    mut keys: Keys,
    mut next_seq: u64,
    shared: Arc<Shared>,
    commit_rows: usize,
    name: String,
) {
    let mut broken: Option<String> = None;
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < 1024 {
            match rx.try_recv() {
                Ok(cmd) => group.push(cmd),
                Err(_) => break,
            }
        }
        let mut replies: Vec<(oneshot::Sender<Answer>, Answer)> = Vec::new();
        let mut written: Vec<(u64, RecordBatch)> = Vec::new();
        let mut new_keys: Vec<String> = Vec::new();
        let mut truncate: Option<u64> = None;
        let group_first = next_seq;
        for cmd in group {
            match cmd {
                Cmd::Truncate { through } => {
                    truncate = Some(truncate.map_or(through, |t: u64| t.max(through)));
                }
                Cmd::Append {
                    batch,
                    ipc,
                    key,
                    reply,
                } => {
                    if let Some(why) = &broken {
                        let _ = reply.send(Err(Error::Wal(why.clone())));
                        continue;
                    }
                    if let Some(k) = &key
                        && let Some(ack) = keys.get(k)
                    {
                        replies.push((reply, Ok((*ack, true))));
                        continue;
                    }
                    let seq = next_seq;
                    let rows = batch.num_rows() as u64;
                    match wal.append(seq, rows, key.as_deref(), &ipc) {
                        Ok(()) => {
                            next_seq += 1;
                            let ack = Ack { seq, rows };
                            if let Some(k) = key {
                                keys.insert(k.clone(), ack);
                                new_keys.push(k);
                            }
                            written.push((seq, batch));
                            replies.push((reply, Ok((ack, false))));
                        }
                        Err(e) => {
                            // A failed write leaves the segment in an unknown state.
                            tracing::error!(table = %name, error = %e, "the write-ahead log failed; this table refuses writes until restarted");
                            broken = Some(e.to_string());
                            replies.push((reply, Err(e)));
                        }
                    }
                }
            }
        }
        if !written.is_empty() || broken.is_some() {
            let synced = match &broken {
                Some(why) => Err(Error::Wal(why.clone())),
                None => wal.sync(),
            };
            if let Err(e) = synced {
                if broken.is_none() {
                    tracing::error!(table = %name, error = %e, "syncing the write-ahead log failed; this table refuses writes until restarted");
                    broken = Some(e.to_string());
                }
                // Nothing of this group is acknowledged (it may still be
                // replayed from the log at restart; a retry with the same key
                // is then answered from it).
                for (reply, answer) in replies {
                    let answer = match answer {
                        // Written in this group (itself, or a duplicate of
                        // one of its writes): not durable.
                        Ok((ack, _)) if ack.seq >= group_first => Err(Error::Wal(e.to_string())),
                        other => other,
                    };
                    let _ = reply.send(answer);
                }
                let _ = new_keys;
                continue;
            }
            let (writes, rows) = (
                written.len(),
                written.iter().map(|(_, b)| b.num_rows()).sum::<usize>(),
            );
            let wake = {
                let mut pending = shared.pending();
                for (seq, batch) in written {
                    let bytes = batch.get_array_memory_size();
                    pending.rows += batch.num_rows();
                    pending.bytes += bytes;
                    pending.records.push_back((seq, batch, bytes));
                }
                pending.rows >= commit_rows
            };
            {
                let mut status = shared.status();
                status.acked_writes += writes as u64;
                status.acked_rows += rows as u64;
                status.pending_rows += rows as u64;
            }
            if wake {
                shared.wake.notify_one();
            }
        }
        let duplicates = replies
            .iter()
            .filter(|(_, a)| matches!(a, Ok((_, true))))
            .count();
        if duplicates > 0 {
            shared.status().duplicate_writes += duplicates as u64;
        }
        for (reply, answer) in replies {
            let _ = reply.send(answer);
        }
        if let Some(through) = truncate
            && broken.is_none()
            && let Err(e) = wal.truncate(through, &mut keys)
        {
            tracing::warn!(table = %name, error = %e, "cannot delete committed log segments; they are replayed idempotently at restart");
        }
    }
}

struct Committer {
    /// The Delta table's folder (its commits are synced before the log goes).
    table_dir: PathBuf,
    name: String,
    schema_name: String,
    table_name: String,
    delta: DeltaTable,
    lake: Arc<Lake>,
    ctx: SessionContext,
    config: IngestConfig,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Cmd>,
    /// Partitions (event_date days) written since the last compaction.
    touched: BTreeSet<i32>,
    commits_since_compaction: u64,
    /// The table's txn version when known (None: read it from the log).
    committed: Option<u64>,
    commits_since_checkpoint: u64,
    /// The OPTIMIZE running beside the commits, if any.
    compaction: Option<tokio::task::JoinHandle<Result<(u64, u64), String>>>,
}

impl Committer {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.config.commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = *stopped.borrow();
            if !stopping {
                let gone = tokio::select! {
                    _ = tick.tick() => false,
                    () = self.shared.wake.notified() => false,
                    changed = stopped.changed() => changed.is_err(),
                };
                if gone {
                    break;
                }
            }
            let stopping = *stopped.borrow();
            let taken: Vec<(u64, RecordBatch)> = {
                let pending = self.shared.pending();
                pending
                    .records
                    .iter()
                    .map(|(seq, batch, _)| (*seq, batch.clone()))
                    .collect()
            };
            if taken.is_empty() {
                if stopping {
                    break;
                }
                continue;
            }
            let through = taken.last().map_or(0, |(seq, _)| *seq);
            let started = Instant::now();
            match self.commit(&taken, through).await {
                Ok(()) => {
                    let rows: usize = taken.iter().map(|(_, b)| b.num_rows()).sum();
                    {
                        let mut pending = self.shared.pending();
                        while pending
                            .records
                            .front()
                            .is_some_and(|(seq, _, _)| *seq <= through)
                        {
                            if let Some((_, batch, bytes)) = pending.records.pop_front() {
                                pending.rows -= batch.num_rows();
                                pending.bytes -= bytes;
                            }
                        }
                    }
                    {
                        let mut status = self.shared.status();
                        status.committed_seq = through;
                        status.commits += 1;
                        status.pending_rows = status.pending_rows.saturating_sub(rows as u64);
                        status.last_commit_at = Some(Utc::now());
                        status.last_commit_ms = Some(started.elapsed().as_millis() as u64);
                        status.last_error = None;
                    }
                    // delta-rs does not fsync what it writes: make the commit
                    // durable before the log that could replay it goes.
                    let synced = match self.delta.version() {
                        Some(v) => {
                            let dir = self.table_dir.clone();
                            tokio::task::spawn_blocking(move || sync_commit(&dir, v))
                                .await
                                .map_err(|e| e.to_string())
                                .and_then(|r| r)
                        }
                        None => Err("the table has no version after a commit".to_string()),
                    };
                    match synced {
                        Ok(()) => {
                            let _ = self.tx.send(Cmd::Truncate { through }).await;
                        }
                        Err(e) => {
                            tracing::warn!(table = %self.name, error = %e, "cannot sync the commit; the log keeps its records (replayed idempotently)");
                        }
                    }
                    let state = self.ctx.state();
                    self.lake
                        .refresh_table(&state, &self.schema_name, &self.table_name)
                        .await;
                    self.housekeeping().await;
                }
                Err(e) => {
                    tracing::warn!(table = %self.name, error = %e, "commit failed; the rows stay in the log and the commit is retried");
                    self.shared.status().last_error = Some(e.clone());
                    if stopping {
                        tracing::error!(table = %self.name, "stopping with uncommitted rows in the log; they are committed at the next start");
                        break;
                    }
                    tokio::time::sleep(self.config.commit_interval.max(Duration::from_millis(200)))
                        .await;
                }
            }
        }
        self.collect_compaction(true).await;
    }

    /// One Delta commit holding every write after the table's txn version
    /// through `through`, recording `through` as the new txn version.
    async fn commit(&mut self, taken: &[(u64, RecordBatch)], through: u64) -> Result<(), String> {
        self.delta
            .update_incremental(None)
            .await
            .map_err(|e| format!("reading the Delta log: {e}"))?;
        // The table's txn version: known after our own commit; read from
        // the log at start and after a failure (whose commit may have landed).
        let done = match self.committed.take() {
            Some(done) => done,
            None => committed_seq(&self.delta)
                .await
                .map_err(|e| format!("reading the txn version: {e}"))?,
        };
        let fresh: Vec<RecordBatch> = taken
            .iter()
            .filter(|(seq, _)| *seq > done)
            .map(|(_, b)| b.clone())
            .collect();
        if fresh.is_empty() {
            self.committed = Some(done);
            return Ok(());
        }
        let schema = fresh[0].schema();
        let batch = datafusion::arrow::compute::concat_batches(&schema, &fresh)
            .map_err(|e| format!("combining rows: {e}"))?;
        if let Ok(i) = schema.index_of(crate::convert::EVENT_DATE)
            && let Some(days) = batch.column(i).as_primitive_opt::<Date32Type>()
        {
            for d in days.iter().flatten() {
                self.touched.insert(d);
            }
        }
        let properties = CommitProperties::default()
            .with_application_transaction(Transaction::new(APP_ID, through as i64))
            .with_create_checkpoint(false);
        let table = self.delta.clone();
        self.delta = table
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            .with_commit_properties(properties)
            .await
            .map_err(|e| format!("writing to the Delta table: {e}"))?;
        self.committed = Some(through);
        self.commits_since_checkpoint += 1;
        self.commits_since_compaction += 1;
        Ok(())
    }

    async fn housekeeping(&mut self) {
        if self.config.checkpoint_every > 0
            && self.commits_since_checkpoint >= self.config.checkpoint_every
        {
            match deltalake::checkpoints::create_checkpoint(&self.delta, None).await {
                Ok(()) => {
                    self.commits_since_checkpoint = 0;
                    if let Some(v) = self.delta.version() {
                        let dir = self.table_dir.join("_delta_log");
                        let synced = tokio::task::spawn_blocking(move || {
                            for name in [
                                format!("{v:020}.checkpoint.parquet"),
                                "_last_checkpoint".to_string(),
                            ] {
                                sync_file(&dir.join(name))?;
                            }
                            sync_file(&dir)
                        })
                        .await;
                        if !matches!(synced, Ok(Ok(()))) {
                            tracing::warn!(table = %self.name, "cannot sync the checkpoint");
                        }
                    }
                    tracing::debug!(table = %self.name, version = ?self.delta.version(), "checkpoint written");
                }
                Err(e) => tracing::warn!(table = %self.name, error = %e, "checkpoint failed"),
            }
        }
        self.collect_compaction(false).await;
        if self.config.compact_every > 0
            && self.commits_since_compaction >= self.config.compact_every
            && self.compaction.is_none()
        {
            // OPTIMIZE runs beside the commits (its removes are not data
            // changes, so appends commit on top of it): commits do not wait.
            self.commits_since_compaction = 0;
            let days = self.compaction_days();
            self.touched.clear();
            let delta = self.delta.clone();
            let dir = self.table_dir.clone();
            let target = self.config.compact_target_bytes;
            self.compaction = Some(tokio::spawn(compact(delta, days, target, dir)));
        }
    }

    /// Records the outcome of a finished compaction (or, with `wait`, of
    /// the running one).
    async fn collect_compaction(&mut self, wait: bool) {
        let finished = self.compaction.as_ref().is_some_and(|t| t.is_finished());
        if !(finished || wait) {
            return;
        }
        let Some(task) = self.compaction.take() else {
            return;
        };
        match task.await {
            Ok(Ok((removed, added))) => {
                self.shared.status().compactions += 1;
                tracing::info!(table = %self.name, removed, added, "compacted small files");
            }
            Ok(Err(e)) => {
                // Tried again after another `compact_every` commits.
                tracing::warn!(table = %self.name, error = %e, "compaction failed");
                self.shared.status().last_error = Some(format!("compaction: {e}"));
            }
            Err(e) => tracing::warn!(table = %self.name, error = %e, "compaction task failed"),
        }
    }

    /// The partitions to compact: the `event_date` days written since the
    /// last compaction (None: the whole table, when it has no such partitions).
    fn compaction_days(&self) -> Vec<Option<String>> {
        let partitioned = self
            .delta
            .snapshot()
            .map(|s| {
                s.metadata()
                    .partition_columns()
                    .iter()
                    .any(|c| c == crate::convert::EVENT_DATE)
            })
            .unwrap_or(false);
        if partitioned {
            self.touched
                .iter()
                .map(|d| Some(crate::convert::date_of(*d).to_string()))
                .collect()
        } else {
            vec![None]
        }
    }
}

/// Rewrites the small files of `days` (None: the whole table) with
/// OPTIMIZE, syncing each of its commits. Returns files removed and added.
async fn compact(
    mut delta: DeltaTable,
    days: Vec<Option<String>>,
    target_bytes: u64,
    table_dir: PathBuf,
) -> Result<(u64, u64), String> {
    let target =
        NonZeroU64::new(target_bytes.max(1024 * 1024)).ok_or("compact_target_bytes is zero")?;
    let (mut removed, mut added) = (0, 0);
    for day in days {
        let filters: Vec<deltalake::FilterLiteral<'_>> = match &day {
            Some(d) => vec![(
                crate::convert::EVENT_DATE,
                deltalake::FilterOp::Eq,
                deltalake::FilterValue::Scalar(d.as_str()),
            )],
            None => Vec::new(),
        };
        let before = delta.version();
        let (table, metrics) = delta
            .clone()
            .optimize()
            .with_filters(&filters)
            .with_target_size(target)
            .await
            .map_err(|e| e.to_string())?;
        delta = table;
        if let Some(v) = delta.version()
            && delta.version() != before
        {
            let dir = table_dir.clone();
            tokio::task::spawn_blocking(move || sync_commit(&dir, v))
                .await
                .map_err(|e| e.to_string())??;
        }
        removed += metrics.num_files_removed;
        added += metrics.num_files_added;
    }
    Ok((removed, added))
}

fn sync_file(path: &std::path::Path) -> Result<(), String> {
    wal::sync_path(path).map_err(|e| e.to_string())
}

/// Makes commit `version` durable: its log entry, the data files it adds and
/// their folders (delta-rs and object_store write without fsync).
fn sync_commit(table_dir: &std::path::Path, version: u64) -> Result<(), String> {
    let log_dir = table_dir.join("_delta_log");
    let entry = log_dir.join(format!("{version:020}.json"));
    let text = std::fs::read_to_string(&entry)
        .map_err(|e| format!("{}: cannot read: {e}", entry.display()))?;
    let mut dirs = BTreeSet::new();
    for line in text.lines() {
        let Ok(action) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(path) = action
            .get("add")
            .and_then(|a| a.get("path"))
            .and_then(|p| p.as_str())
        {
            // Log paths are URL-encoded, as object_store's paths.
            let decoded = deltalake::Path::from_url_path(path)
                .map_err(|e| format!("{}: add path {path}: {e}", entry.display()))?;
            let file = table_dir.join(decoded.as_ref());
            sync_file(&file)?;
            if let Some(parent) = file.parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
    }
    sync_file(&entry)?;
    dirs.insert(log_dir);
    for dir in dirs {
        sync_file(&dir)?;
    }
    Ok(())
}
