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
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use url::Url;

use crate::decl::{Format, TableDecl};
use crate::drift;
use crate::location::{Location, StorageConfig};

pub use delta::{Commit, DeltaSource, TimeTravel};

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
    /// The declaration as written (a reload compares it to the new one).
    pub decl: TableDecl,
}

impl TableInfo {
    /// `schema.name` as a DataFusion table reference.
    pub fn reference(&self) -> datafusion::common::TableReference {
        datafusion::common::TableReference::partial(self.schema.as_str(), self.name.as_str())
    }
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
    /// How the served schema differs from the declared `schema`, when the
    /// table's `on_schema_change` policy let a difference through.
    pub schema_drift: Option<String>,
}

/// What a refresh did.
#[derive(Debug)]
pub enum Refreshed {
    /// Nothing to swap (no new version, a listing table, or a failure recorded in the status).
    Same,
    /// A new version with the same schema now serves through this handle.
    InPlace,
    /// A new version with another schema: plans and views hold this handle's
    /// schema, so the new version is served by a new handle that replaces it.
    Replaced(Arc<LakeTable>),
}

/// Plans `INSERT INTO` a lake table (laketap-ingest provides it: the
/// catalog only reads).
pub trait InsertHandler: Send + Sync + std::fmt::Debug {
    /// The plan that writes `input` into `table`.
    fn insert_into(
        &self,
        table: &TableInfo,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>>;
}

/// Where writes go, shared by every table of a lake; empty until ingest starts.
pub type WriteSlot = Arc<std::sync::OnceLock<Arc<dyn InsertHandler>>>;

/// A declared lake table, as registered in the session.
#[derive(Debug)]
pub struct LakeTable {
    info: TableInfo,
    provider: RwLock<Arc<dyn TableProvider>>,
    status: Mutex<TableStatus>,
    delta: Option<Arc<DeltaSource>>,
    /// Listing tables: the folder, file extension and format, to count files
    /// at refresh and to find an unreadable file when a scan fails.
    listing: Option<ListingSource>,
    writes: WriteSlot,
}

#[derive(Debug)]
struct ListingSource {
    url: Url,
    extension: String,
    format: Arc<dyn datafusion::datasource::file_format::FileFormat>,
}

impl LakeTable {
    /// Opens the table that `decl` declares: lists or reads its metadata (no
    /// data is read) and checks its schema against the declared one. Errors
    /// are the cause in words; the caller adds file and table.
    pub async fn open(
        session: &dyn Session,
        file: PathBuf,
        schema: &str,
        name: &str,
        decl: &TableDecl,
        location: Location,
        storages: &[StorageConfig],
    ) -> Result<LakeTable, String> {
        let recorded = match &decl.schema {
            Some(columns) => Some(drift::parse_recorded(columns)?),
            None => None,
        };
        location.register_store(session.runtime_env(), storages)?;
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
            decl: decl.clone(),
        };
        let now = Utc::now();
        let (provider, mut status, delta, listing) = match decl.format {
            Format::Delta => {
                let (source, provider, mut status) =
                    DeltaSource::open(session, &info.location, url).await?;
                info.partition_columns = source.partition_columns().await;
                status.last_refresh_at = Some(now);
                (provider, status, Some(Arc::new(source)), None)
            }
            format => {
                let opened =
                    listing::open(session, format, &decl.options, &url, &info.reference()).await?;
                info.partition_columns = opened.partition_columns;
                let status = TableStatus {
                    files: Some(opened.files),
                    last_refresh_at: Some(now),
                    ..TableStatus::default()
                };
                let source = ListingSource {
                    url,
                    extension: opened.extension,
                    format: opened.format,
                };
                (opened.provider, status, None, Some(source))
            }
        };
        if let Some(recorded) = &recorded {
            let drifts = drift::compare(recorded, &provider.schema());
            drift::allows(decl.on_schema_change, &drifts)?;
            if !drifts.is_empty() {
                let described = drift::describe(&drifts);
                tracing::warn!(schema, table = name, drift = %described, policy = decl.on_schema_change.as_str(), "serving a schema that drifted from the declared one");
                status.schema_drift = Some(described);
            }
        }
        Ok(LakeTable {
            info,
            provider: RwLock::new(provider),
            status: Mutex::new(status),
            delta,
            listing,
            writes: WriteSlot::default(),
        })
    }

    /// Sends `INSERT INTO` this table to `writes`.
    pub fn with_writes(mut self, writes: WriteSlot) -> Self {
        self.writes = writes;
        self
    }

    /// A copy of the Delta table's handle, at the version read last (for
    /// writers, which keep their own).
    pub async fn delta_table(&self) -> Option<deltalake::DeltaTable> {
        match &self.delta {
            Some(d) => Some(d.table().await),
            None => None,
        }
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

    /// Brings a Delta table to its latest committed version, or recounts a
    /// listing table's files. A failure is recorded in the status and the
    /// served version stays.
    pub async fn refresh(&self, session: &dyn Session) -> Refreshed {
        if let Some(source) = &self.listing {
            let counted = listing::count_files(
                session,
                &source.url,
                &self.info.reference(),
                &source.extension,
            )
            .await;
            let mut status = self.lock_status();
            status.last_refresh_at = Some(Utc::now());
            match counted {
                Ok(files) => {
                    status.files = Some(files);
                    status.last_error = None;
                }
                Err(e) => status.last_error = Some(e),
            }
            return Refreshed::Same;
        }
        let Some(delta) = &self.delta else {
            return Refreshed::Same;
        };
        let now = Utc::now();
        let outcome = delta.refresh(session).await;
        let mut status = self.lock_status();
        status.last_refresh_at = Some(now);
        match outcome {
            Ok(None) => {
                status.last_error = None;
                Refreshed::Same
            }
            Ok(Some((provider, fresh))) => {
                let new_schema = provider.schema();
                let served = self.current().schema();
                if new_schema == served {
                    *self
                        .provider
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = provider;
                    delta.mark_served(fresh.version);
                    tracing::debug!(table = %self.info.name, version = ?fresh.version, "delta table refreshed");
                    *status = TableStatus {
                        last_refresh_at: Some(now),
                        schema_drift: status.schema_drift.take(),
                        ..fresh
                    };
                    return Refreshed::InPlace;
                }
                // Another schema: check it against the declared one (or, with
                // none declared, against the served one) under the table's policy.
                let (drifts, policy) = match &self.info.decl.schema {
                    Some(columns) => match drift::parse_recorded(columns) {
                        Ok(recorded) => (
                            drift::compare(&recorded, &new_schema),
                            self.info.decl.on_schema_change,
                        ),
                        Err(e) => {
                            status.last_error = Some(e);
                            return Refreshed::Same;
                        }
                    },
                    None => (
                        drift::compare(
                            &served
                                .fields()
                                .iter()
                                .map(|f| (f.name().clone(), f.data_type().clone()))
                                .collect::<Vec<_>>(),
                            &new_schema,
                        ),
                        self.info.decl.on_schema_change,
                    ),
                };
                if let Err(refused) = drift::allows(policy, &drifts) {
                    let message = format!(
                        "version {}: {refused}; version {} keeps serving",
                        fresh.version.unwrap_or(-1),
                        status.version.unwrap_or(-1)
                    );
                    tracing::warn!(schema = %self.info.schema, table = %self.info.name, "{message}");
                    delta.refuse(fresh.version);
                    status.last_error = Some(message);
                    return Refreshed::Same;
                }
                delta.mark_served(fresh.version);
                let described = drift::describe(&drifts);
                tracing::info!(schema = %self.info.schema, table = %self.info.name, version = ?fresh.version, drift = %described, "the table's schema changed; serving the new schema");
                let replacement = LakeTable {
                    info: self.info.clone(),
                    provider: RwLock::new(provider),
                    status: Mutex::new(TableStatus {
                        last_refresh_at: Some(now),
                        schema_drift: (self.info.decl.schema.is_some() && !drifts.is_empty())
                            .then_some(described),
                        ..fresh
                    }),
                    delta: Some(delta.clone()),
                    listing: None,
                    writes: self.writes.clone(),
                };
                Refreshed::Replaced(Arc::new(replacement))
            }
            Err(e) => {
                tracing::warn!(schema = %self.info.schema, table = %self.info.name, error = %e, "refresh failed; serving the previous version");
                status.last_error = Some(e);
                Refreshed::Same
            }
        }
    }

    /// The table read at a past version or instant (Delta tables only).
    pub async fn travel(
        &self,
        session: &dyn Session,
        to: TimeTravel,
    ) -> Result<Arc<dyn TableProvider>, String> {
        let Some(delta) = &self.delta else {
            return Err(format!(
                "{}.{} is a {} table; only Delta tables keep versions",
                self.info.schema,
                self.info.name,
                self.info.format.as_str()
            ));
        };
        delta.travel(session, to).await
    }

    /// The Delta log's commits, newest first (Delta tables only).
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<Commit>, String> {
        let Some(delta) = &self.delta else {
            return Err(format!(
                "{}.{} is a {} table; only Delta tables have a history",
                self.info.schema,
                self.info.name,
                self.info.format.as_str()
            ));
        };
        delta.history(limit).await
    }

    /// A scan failed: say which table, and for a listing table which object
    /// cannot be read (DataFusion reads footers while planning and does not
    /// always name the file).
    async fn explain(&self, session: &dyn Session, error: DataFusionError) -> DataFusionError {
        let mut context = format!("table {}.{}", self.info.schema, self.info.name);
        if let Some(source) = &self.listing
            && let Some((object, _)) = listing::find_unreadable_in(
                session,
                &source.format,
                &source.url,
                &self.info.reference(),
                &source.extension,
            )
            .await
        {
            context.push_str(&format!(": object {object}"));
        }
        error.context(context)
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, TableStatus> {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        match self.current().scan(state, projection, filters, limit).await {
            Ok(plan) => Ok(plan),
            Err(e) => Err(self.explain(state, e).await),
        }
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> DfResult<ScanResult> {
        match self.current().scan_with_args(state, args).await {
            Ok(result) => Ok(result),
            Err(e) => Err(self.explain(state, e).await),
        }
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.current().supports_filters_pushdown(filters)
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match self.writes.get() {
            Some(handler) => handler.insert_into(&self.info, state, input, op),
            None => Err(DataFusionError::Plan(format!(
                "table {}.{} is not writable: this server does not take writes",
                self.info.schema, self.info.name
            ))),
        }
    }
}
