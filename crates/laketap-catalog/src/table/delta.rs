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
}

type Fresh = (Arc<dyn TableProvider>, TableStatus);

impl DeltaSource {
    pub(super) async fn open(
        session: &dyn Session,
        location: &Location,
        url: Url,
    ) -> Result<(DeltaSource, Arc<dyn TableProvider>, TableStatus), String> {
        let mut builder = DeltaTableBuilder::from_url(url.clone()).map_err(|e| e.to_string())?;
        if let Location::ObjectStore(_) = location {
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
                table: tokio::sync::Mutex::new(table),
            },
            provider,
            status,
        ))
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
        if latest == self.served.load(Ordering::Acquire) {
            return Ok(None);
        }
        let fresh = provider_for(session, &table).await?;
        Ok(Some(fresh))
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
        },
    ))
}
