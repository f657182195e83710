//! [`LakeTable`]: the stable table handle that the session (and every view)
//! holds for a declared table. A Delta table's source is swapped underneath
//! when a newer version is committed, without invalidating plans or views
//! that captured the handle (STYLE.md, known trap 2); listing tables list
//! their files at each scan (DataFusion's listing cache expires after one
//! refresh interval), so new files are read without a swap.

mod delta;
mod listing;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;

use crate::decl::{Format, TableDecl};
use crate::location::Location;

pub use delta::DeltaSource;

/// What a declaration says about a table, resolved.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// The catalog file that declares it.
    pub file: PathBuf,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Storage format.
    pub format: Format,
    /// Resolved location.
    pub location: Location,
    /// Table description.
    pub description: Option<String>,
    /// Column descriptions by column name.
    pub column_descriptions: BTreeMap<String, String>,
    /// Hive partition columns (listing tables) or Delta partition columns.
    pub partition_columns: Vec<String>,
}

/// What laketap knows about a table's data right now (`laketap.tables`).
#[derive(Debug, Clone, Default)]
pub struct TableStatus {
    /// Delta version being served.
    pub version: Option<i64>,
    /// Data files in the served version or listing.
    pub files: Option<u64>,
    /// Commit time of the served Delta version.
    pub last_commit_at: Option<DateTime<Utc>>,
    /// Time between that commit and the moment laketap started serving it.
    pub freshness_lag_ms: Option<i64>,
    /// Last time the table's metadata was refreshed.
    pub last_refresh_at: Option<DateTime<Utc>>,
    /// The error of the last refresh, if it failed (the previous version keeps serving).
    pub last_error: Option<String>,
}

/// A declared lake table, as registered in the session.
#[derive(Debug)]
pub struct LakeTable {
    info: TableInfo,
    provider: RwLock<Arc<dyn TableProvider>>,
    status: Mutex<TableStatus>,
    delta: Option<DeltaSource>,
}

impl LakeTable {
    /// Opens the table that `decl` declares: lists or reads its metadata (no
    /// data is read). Errors are the cause in words; the caller adds file and table.
    pub async fn open(
        session: &dyn Session,
        file: PathBuf,
        schema: &str,
        name: &str,
        decl: &TableDecl,
        location: Location,
    ) -> Result<LakeTable, String> {
        location.register_store(session.runtime_env())?;
        let url = location.url()?;
        let mut info = TableInfo {
            file,
            schema: schema.to_string(),
            name: name.to_string(),
            format: decl.format,
            location,
            description: decl.description.clone(),
            column_descriptions: decl.columns.clone(),
            partition_columns: Vec::new(),
        };
        let now = Utc::now();
        let (provider, status, delta) = match decl.format {
            Format::Delta => {
                let (source, provider, mut status) =
                    DeltaSource::open(session, &info.location, url).await?;
                info.partition_columns = source.partition_columns().await;
                status.last_refresh_at = Some(now);
                (provider, status, Some(source))
            }
            format => {
                let opened = listing::open(session, format, &decl.options, &url).await?;
                info.partition_columns = opened.partition_columns;
                let status = TableStatus {
                    files: Some(opened.files),
                    last_refresh_at: Some(now),
                    ..TableStatus::default()
                };
                (opened.provider, status, None)
            }
        };
        Ok(LakeTable {
            info,
            provider: RwLock::new(provider),
            status: Mutex::new(status),
            delta,
        })
    }

    /// The declaration, resolved.
    pub fn info(&self) -> &TableInfo {
        &self.info
    }

    /// A snapshot of the table's status.
    pub fn status(&self) -> TableStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Brings a Delta table to its latest committed version. A failure is
    /// recorded in the status and the served version stays.
    pub async fn refresh(&self, session: &dyn Session) {
        let Some(delta) = &self.delta else {
            return;
        };
        let now = Utc::now();
        let outcome = delta.refresh(session).await;
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        status.last_refresh_at = Some(now);
        match outcome {
            Ok(None) => status.last_error = None,
            Ok(Some((provider, fresh))) => {
                // Views and prepared plans captured this handle's schema: a
                // version with another schema cannot be swapped in under them.
                if provider.schema() != self.current().schema() {
                    let message = format!(
                        "version {} changed the table's schema; laketap keeps serving version {} until restarted",
                        fresh.version.unwrap_or(-1),
                        status.version.unwrap_or(-1)
                    );
                    tracing::warn!(schema = %self.info.schema, table = %self.info.name, "{message}");
                    status.last_error = Some(message);
                    return;
                }
                *self
                    .provider
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = provider;
                delta.mark_served(fresh.version);
                tracing::debug!(table = %self.info.name, version = ?fresh.version, "delta table refreshed");
                *status = TableStatus {
                    last_refresh_at: Some(now),
                    ..fresh
                };
            }
            Err(e) => {
                tracing::warn!(schema = %self.info.schema, table = %self.info.name, error = %e, "refresh failed; serving the previous version");
                status.last_error = Some(e);
            }
        }
    }

    fn current(&self) -> Arc<dyn TableProvider> {
        self.provider
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.current().schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.current().scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> DfResult<ScanResult> {
        self.current().scan_with_args(state, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.current().supports_filters_pushdown(filters)
    }
}
