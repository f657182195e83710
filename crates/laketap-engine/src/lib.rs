//! laketap's engine: the DataFusion [`SessionContext`] that every front end
//! (the Postgres server, `laketap query`, tests) runs SQL against — the lake
//! schemas of the catalog, the `laketap` system schema, and the background
//! refresh that keeps Delta tables at their latest version.
//!
//! # Layout
//! - [`Engine`] / [`EngineConfig`] (this file): building and owning the context.
//! - [`asof`]: the `laketap.as_of` session setting and the `as_of()` function.
//! - [`stats`]: `erfc` and `normal_cdf` for the experiment statistics.
//! - [`views`]: the KPI views of `sql/kpi/` (built in, or from `--views DIR`).
//! - [`system`]: the `laketap.tables`, `laketap.catalog_errors` and `laketap.query_log` views.
//! - [`query_log`]: the bounded log of recent statements.

pub mod analysis;
pub mod asof;
pub mod numerics;
pub mod pgsettings;
pub mod query_log;
pub mod stats;
pub mod system;
pub mod timetravel;
pub mod views;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datafusion::catalog::Session;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use laketap_catalog::{CatalogProblem, Lake, LakeOptions, StorageConfig};

pub use query_log::{QueryLog, QueryRecord};

/// The name of the database (the DataFusion catalog) that clients connect to.
pub const DATABASE: &str = "laketap";
/// The schema of the system views.
pub const SYSTEM_SCHEMA: &str = "laketap";
/// Schema names a catalog file may not take.
const RESERVED_SCHEMAS: &[&str] = &[
    "public",
    "pg_catalog",
    "information_schema",
    SYSTEM_SCHEMA,
    views::KPI_SCHEMA,
];

/// Errors of building the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog folder cannot be read.
    #[error(transparent)]
    Catalog(#[from] laketap_catalog::Error),
    /// The views folder cannot be read.
    #[error("{0}")]
    Views(String),
    /// DataFusion refused a configuration or a registration.
    #[error("cannot set up the SQL engine: {0}")]
    DataFusion(#[from] DataFusionError),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to build the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The catalog folder (`*.toml`, one file per schema).
    pub catalog_dir: PathBuf,
    /// How often Delta tables are checked for new commits; None: never
    /// (one-shot use such as `laketap query`).
    pub refresh_interval: Option<Duration>,
    /// Memory for query execution, in bytes (None: unbounded).
    pub memory_limit: Option<usize>,
    /// Partitions per scan (None: the number of cores).
    pub target_partitions: Option<usize>,
    /// How many finished statements `laketap.query_log` keeps.
    pub query_log_capacity: usize,
    /// A folder of `*.sql` view files that add to or override the built-in KPI views.
    pub views_dir: Option<PathBuf>,
    /// The default `laketap.as_of` of every session (None: the clock).
    pub as_of: Option<chrono::NaiveDateTime>,
    /// How to reach S3 buckets (`[[storage]]` of laketap.toml).
    pub storage: Vec<StorageConfig>,
    /// The catalog folder is checked for edits every this many refresh
    /// intervals (and listing tables recount their files).
    pub catalog_poll_every: u32,
    /// Keep file listings (for one refresh interval), Parquet footers and
    /// file statistics in memory between queries (default true). Off, every
    /// query lists and reads footers again: for measuring, or for lakes whose
    /// files are rewritten in place.
    pub metadata_cache: bool,
}

impl EngineConfig {
    /// Defaults for a catalog folder: refresh every 500 ms, no memory limit.
    pub fn new(catalog_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            catalog_dir: catalog_dir.into(),
            refresh_interval: Some(Duration::from_millis(500)),
            memory_limit: None,
            target_partitions: None,
            query_log_capacity: 1000,
            views_dir: None,
            as_of: None,
            storage: Vec::new(),
            catalog_poll_every: 2,
            metadata_cache: true,
        }
    }
}

/// The SQL engine over the lake.
pub struct Engine {
    ctx: SessionContext,
    lake: Arc<Lake>,
    query_log: Arc<QueryLog>,
    view_docs: std::collections::BTreeMap<String, views::ViewDocs>,
    view_sql: std::collections::BTreeMap<String, String>,
    stop: tokio::sync::watch::Sender<bool>,
    refresher: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    replanner: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The problems of the KPI views, replaced each time they are re-planned.
pub type ViewProblems = Arc<std::sync::RwLock<Vec<CatalogProblem>>>;

impl Engine {
    /// Loads the catalog and builds the session. Broken declarations do not
    /// fail this: they are listed in `laketap.catalog_errors`.
    pub async fn start(config: &EngineConfig) -> Result<Engine> {
        let mut session_config = SessionConfig::new()
            .with_default_catalog_and_schema(DATABASE, "public")
            .with_create_default_catalog_and_schema(true)
            .with_information_schema(true)
            .with_option_extension(asof::LaketapOptions::with_default(config.as_of))
            .with_option_extension(pgsettings::PgSettings::default());
        if let Some(n) = config.target_partitions {
            session_config = session_config.with_target_partitions(n.max(1));
        }
        session_config.options_mut().sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        // A number with a point or an exponent (`0.1`, `1e3`) is a numeric in
        // PostgreSQL, not a float8: `0.1 + 0.2` is 0.3, not 0.30000000000000004.
        session_config
            .options_mut()
            .sql_parser
            .parse_float_as_decimal = true;
        // PostgreSQL's `timestamptz` is an instant shown in the session's
        // TimeZone: DataFusion types it Timestamp(_, Some(zone)) only when the
        // session has a zone, and plain timestamp (without its zone on the
        // wire) otherwise. `SET TimeZone` changes it per connection.
        session_config.options_mut().execution.time_zone =
            Some(pgsettings::DEFAULT_TIME_ZONE.to_string());
        // DataFusion caches file listings with no expiry by default: new or
        // replaced Parquet/CSV/NDJSON files would never be seen. Keep listings
        // at most one refresh interval old (or never cache them).
        let mut runtime = RuntimeEnvBuilder::new().with_object_list_cache_ttl(Some(
            config
                .refresh_interval
                .unwrap_or(Duration::from_millis(500)),
        ));
        if !config.metadata_cache {
            runtime = runtime
                .with_object_list_cache_limit(0)
                .with_metadata_cache_limit(0)
                .with_file_statistics_cache_limit(0);
        }
        if let Some(limit) = config.memory_limit {
            runtime = runtime.with_memory_limit(limit, 1.0);
        }
        let ctx = SessionContext::new_with_config_rt(session_config, runtime.build_arc()?);
        asof::register(&ctx);
        numerics::install(&ctx);
        stats::register(&ctx);
        pgsettings::register(&ctx);

        let state = ctx.state();
        let catalog = ctx.catalog(DATABASE).ok_or_else(|| {
            DataFusionError::Internal(format!("catalog `{DATABASE}` was not created"))
        })?;
        let options = LakeOptions {
            storage: config.storage.clone(),
            reserved_schemas: RESERVED_SCHEMAS.iter().map(|s| s.to_string()).collect(),
            writes: Default::default(),
        };
        let lake =
            Arc::new(Lake::load(&state, &config.catalog_dir, catalog.clone(), options).await?);
        timetravel::register(&ctx, lake.clone());
        let query_log = Arc::new(QueryLog::new(config.query_log_capacity));
        let view_files = views::view_files(config.views_dir.as_deref()).map_err(Error::Views)?;
        let view_docs = view_files
            .iter()
            .map(|f| (f.name.clone(), f.docs()))
            .collect();
        let view_sql = view_files
            .iter()
            .map(|f| (f.name.clone(), f.sql.clone()))
            .collect();
        let (created, problems) = views::create_views(&ctx, view_files.clone(), false).await;
        let view_problems: ViewProblems = Arc::new(std::sync::RwLock::new(problems));
        catalog.register_schema(
            SYSTEM_SCHEMA,
            system::schema(lake.clone(), view_problems.clone(), query_log.clone())?,
        )?;
        let session: Arc<dyn Session> = Arc::new(state);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let refresher = config.refresh_interval.map(|interval| {
            lake.spawn_refresher(
                session,
                interval,
                config.catalog_poll_every,
                stopped.clone(),
            )
        });
        let replanner = config.refresh_interval.map(|_| {
            spawn_replanner(
                ctx.clone(),
                lake.clone(),
                ordered_views(created, view_files),
                view_problems,
                stopped,
            )
        });
        tracing::info!(
            catalog = %config.catalog_dir.display(),
            schemas = lake.schemas().len(),
            tables = lake.tables().len(),
            problems = lake.problems().len(),
            "catalog loaded"
        );
        Ok(Engine {
            ctx,
            lake,
            query_log,
            view_docs,
            view_sql,
            stop,
            refresher: tokio::sync::Mutex::new(refresher),
            replanner: tokio::sync::Mutex::new(replanner),
        })
    }

    /// The session context; clone it (cheap) to run SQL.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The loaded catalog.
    pub fn lake(&self) -> &Arc<Lake> {
        &self.lake
    }

    /// The descriptions of the KPI views (schema `kpi`), by view name.
    pub fn view_docs(&self) -> &std::collections::BTreeMap<String, views::ViewDocs> {
        &self.view_docs
    }

    /// The query of a KPI view (its file without the comment header and
    /// the `CREATE VIEW … AS` line), as `pg_get_viewdef` returns it.
    pub fn view_definition(&self, name: &str) -> Option<String> {
        let sql = self.view_sql.get(name)?;
        let upper = sql.to_ascii_uppercase();
        let start = upper.find("CREATE VIEW")?;
        let after = upper[start..].find(" AS")? + start + 3;
        Some(
            sql[after..]
                .trim()
                .trim_end_matches(';')
                .trim_end()
                .to_string(),
        )
    }

    /// Turns true when the engine stops (or is dropped): background tasks
    /// that follow the engine end on it.
    pub fn stopped(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// The recent-statement log.
    pub fn query_log(&self) -> &Arc<QueryLog> {
        &self.query_log
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("session", &self.ctx.session_id())
            .field("lake", &self.lake)
            .finish()
    }
}

impl Engine {
    /// Stops following Delta commits and catalog edits, after the refresh
    /// under way (if any).
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        for task in [&self.refresher, &self.replanner] {
            if let Some(task) = task.lock().await.take()
                && let Err(e) = task.await
            {
                tracing::warn!(error = %e, "a background task ended abnormally");
            }
        }
    }
}

/// The view files, those created at startup first and in their creation
/// order (their dependency order), then the others.
fn ordered_views(created: Vec<views::ViewFile>, all: Vec<views::ViewFile>) -> Vec<views::ViewFile> {
    let mut ordered = created;
    for file in all {
        if !ordered.iter().any(|f| f.name == file.name) {
            ordered.push(file);
        }
    }
    ordered
}

/// Re-plans the KPI views whenever tables appear, vanish or change schema,
/// so that they read the tables' current handles.
fn spawn_replanner(
    ctx: SessionContext,
    lake: Arc<Lake>,
    mut files: Vec<views::ViewFile>,
    problems: ViewProblems,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut changes = lake.changes();
    changes.mark_unchanged();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    changes.mark_unchanged();
                    let (created, found) = views::create_views(&ctx, files.clone(), true).await;
                    tracing::info!(views = created.len(), problems = found.len(), "KPI views re-planned after a catalog change");
                    files = ordered_views(created, files);
                    *problems.write().unwrap_or_else(|p| p.into_inner()) = found;
                }
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { break },
            }
        }
    })
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Lets the refresh loop end on its own; see `stop` to wait for it.
        let _ = self.stop.send(true);
    }
}
