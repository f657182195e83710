//! Delta Lake tables through delta-rs. The log is read at open and on every
//! refresh; a refresh that finds a newer version builds a new provider for it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::catalog::{Session, TableProvider};
use deltalake::{DeltaTable, DeltaTableBuilder};
use url::Url;

use super::TableStatus;
use crate::location::Location;

/// The Delta log behind a [`super::LakeTable`].
#[derive(Debug)]
pub struct DeltaSource {
    table: tokio::sync::Mutex<DeltaTable>,
    /// The version the current provider serves (behind the log's version when
    /// building a provider failed: the next refresh tries again).
    served: std::sync::atomic::AtomicI64,
    /// The latest version refused by the table's schema policy: not rebuilt
    /// at every refresh, only when a newer version arrives.
    refused: std::sync::atomic::AtomicI64,
}

/// A past state of a Delta table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTravel {
    /// The table as of this version.
    Version(i64),
    /// The latest version committed at or before this instant.
    Timestamp(DateTime<Utc>),
}

/// One commit of a Delta table's history.
#[derive(Debug, Clone)]
pub struct Commit {
    /// Version number.
    pub version: i64,
    /// Commit time.
    pub timestamp: Option<DateTime<Utc>>,
    /// WRITE, MERGE, OPTIMIZE, …
    pub operation: Option<String>,
    /// The operation's parameters, as JSON.
    pub parameters: Option<String>,
    /// The writer.
    pub engine: Option<String>,
}

type Fresh = (Arc<dyn TableProvider>, TableStatus);

/// The Delta log store for `s3://` tables: laketap hands delta-rs the
/// bucket's object store (configured by `[[storage]]` or the AWS
/// environment), so the plain log store over that store is all it needs to
/// read. (delta-rs's own S3 support, with its DynamoDB locking for writers,
/// is a large optional dependency that reading does not need.)
#[derive(Debug, Default)]
struct S3LogStores;

impl deltalake::logstore::LogStoreFactory for S3LogStores {
    fn with_options(
        &self,
        prefixed_store: deltalake::logstore::ObjectStoreRef,
        root_store: deltalake::logstore::ObjectStoreRef,
        location: &Url,
        options: &deltalake::logstore::StorageConfig,
    ) -> deltalake::DeltaResult<Arc<dyn deltalake::logstore::LogStore>> {
        Ok(deltalake::logstore::default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Makes delta-rs accept `s3://` and `s3a://` table URLs (once per process).
fn register_s3_log_stores() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let factories = deltalake::logstore::logstore_factories();
        for scheme in ["s3://", "s3a://"] {
            if let Ok(url) = Url::parse(scheme)
                && !factories.contains_key(&url)
            {
                factories.insert(url, Arc::new(S3LogStores));
            }
        }
    });
}

impl DeltaSource {
    pub(super) async fn open(
        session: &dyn Session,
        location: &Location,
        url: Url,
    ) -> Result<(DeltaSource, Arc<dyn TableProvider>, TableStatus), String> {
        let mut builder = DeltaTableBuilder::from_url(url.clone()).map_err(|e| e.to_string())?;
        if let Location::ObjectStore(_) = location {
            register_s3_log_stores();
            let store = session
                .runtime_env()
                .object_store_registry
                .get_store(&url)
                .map_err(|e| e.to_string())?;
            builder = builder.with_storage_backend(store, url);
        }
        let table = builder.load().await.map_err(|e| e.to_string())?;
        let (provider, status) = provider_for(session, &table).await?;
        Ok((
            DeltaSource {
                served: std::sync::atomic::AtomicI64::new(status.version.unwrap_or(-1)),
                refused: std::sync::atomic::AtomicI64::new(-1),
                table: tokio::sync::Mutex::new(table),
            },
            provider,
            status,
        ))
    }

    /// A copy of the table handle (its log store and last-read state).
    pub async fn table(&self) -> DeltaTable {
        self.table.lock().await.clone()
    }

    /// The table's partition columns, in declaration order.
    pub async fn partition_columns(&self) -> Vec<String> {
        let table = self.table.lock().await;
        table
            .snapshot()
            .map(|s| s.metadata().partition_columns().to_vec())
            .unwrap_or_default()
    }

    /// Reads new commits; `Some` when there is a newer version to serve.
    pub(super) async fn refresh(&self, session: &dyn Session) -> Result<Option<Fresh>, String> {
        use std::sync::atomic::Ordering;
        let mut table = self.table.lock().await;
        table
            .update_incremental(None)
            .await
            .map_err(|e| e.to_string())?;
        let latest = table.version().map_or(-1, |v| v as i64);
        if latest == self.served.load(Ordering::Acquire)
            || latest == self.refused.load(Ordering::Acquire)
        {
            return Ok(None);
        }
        let fresh = provider_for(session, &table).await?;
        Ok(Some(fresh))
    }

    /// Records that `version` was refused (its schema), so that it is not
    /// rebuilt until a newer version arrives.
    pub(super) fn refuse(&self, version: Option<i64>) {
        self.refused
            .store(version.unwrap_or(-1), std::sync::atomic::Ordering::Release);
    }

    /// A provider for the table at a past version or instant.
    pub(super) async fn travel(
        &self,
        session: &dyn Session,
        to: TimeTravel,
    ) -> Result<Arc<dyn TableProvider>, String> {
        let mut past = self.table.lock().await.clone();
        match to {
            TimeTravel::Version(v) => {
                let version = u64::try_from(v)
                    .map_err(|_| format!("version {v} does not exist: versions start at 0"))?;
                past.load_version(version as _)
                    .await
                    .map_err(|e| format!("cannot read version {v}: {e}"))?;
            }
            TimeTravel::Timestamp(at) => {
                // The commit times that table_history shows (commitInfo.timestamp):
                // file modification times, which delta-rs would use, change when a
                // lake is copied or checked out of git.
                let commits = self.history(None).await?;
                if commits.iter().all(|c| c.timestamp.is_some()) {
                    let version = commits
                        .iter()
                        .filter(|c| c.timestamp.is_some_and(|t| t <= at))
                        .map(|c| c.version)
                        .max()
                        .ok_or_else(|| {
                            let first = commits
                                .iter()
                                .filter_map(|c| c.timestamp)
                                .min()
                                .map_or_else(String::new, |t| {
                                    format!(" (the first commit is at {t})")
                                });
                            format!("no version was committed at or before {at}{first}")
                        })?;
                    let version = u64::try_from(version)
                        .map_err(|_| format!("version {version} is not a valid version"))?;
                    past.load_version(version as _)
                        .await
                        .map_err(|e| format!("cannot read version {version}: {e}"))?;
                } else {
                    past.load_with_datetime(at)
                        .await
                        .map_err(|e| format!("cannot read the version as of {at}: {e}"))?;
                }
            }
        }
        Ok(provider_for(session, &past).await?.0)
    }

    /// The commits, newest first.
    pub(super) async fn history(&self, limit: Option<usize>) -> Result<Vec<Commit>, String> {
        use futures::TryStreamExt;
        let table = self.table.lock().await.clone();
        let latest = table.version().map_or(-1, |v| v as i64);
        let infos: Vec<_> = table
            .history(limit)
            .try_collect()
            .await
            .map_err(|e| format!("cannot read the history: {e}"))?;
        Ok(infos
            .into_iter()
            .enumerate()
            .map(|(i, info)| Commit {
                version: latest - i as i64,
                timestamp: info
                    .timestamp
                    .and_then(DateTime::<Utc>::from_timestamp_millis),
                operation: info.operation,
                parameters: info
                    .operation_parameters
                    .and_then(|p| serde_json::to_string(&p).ok()),
                engine: info.engine_info,
            })
            .collect())
    }

    /// Records that `version` is now served.
    pub(super) fn mark_served(&self, version: Option<i64>) {
        self.served
            .store(version.unwrap_or(-1), std::sync::atomic::Ordering::Release);
    }
}

async fn provider_for(
    session: &dyn Session,
    table: &DeltaTable,
) -> Result<(Arc<dyn TableProvider>, TableStatus), String> {
    table
        .update_datafusion_session(session)
        .map_err(|e| e.to_string())?;
    let provider = table.table_provider().await.map_err(|e| e.to_string())?;
    let snapshot = table.snapshot().map_err(|e| e.to_string())?;
    let version = snapshot.version();
    let last_commit_at = snapshot
        .version_timestamp(version)
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let now = Utc::now();
    Ok((
        provider,
        TableStatus {
            version: Some(version as i64),
            files: Some(snapshot.log_data().num_files() as u64),
            last_commit_at,
            freshness_lag_ms: last_commit_at.map(|t| (now - t).num_milliseconds().max(0)),
            last_refresh_at: Some(now),
            last_error: None,
            schema_drift: None,
        },
    ))
}
