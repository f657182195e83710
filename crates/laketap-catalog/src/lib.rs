//! laketap's catalog: catalog files (`catalog/*.toml`, one per schema) turned
//! into DataFusion schemas of lake tables — Parquet, CSV and NDJSON folders
//! with Hive partitions, and Delta tables — on local disk or S3.
//!
//! Tables are scanned in place: opening a table reads metadata only (file
//! listings, Parquet footers for the schema, the Delta log). A broken
//! declaration is reported as a [`CatalogProblem`] and leaves every other
//! table serving.
//!
//! # Layout
//! - [`decl`]: the catalog file format and its parser.
//! - [`location`]: resolving locations; object store registration for S3.
//! - [`table`]: [`LakeTable`], the stable table handle (listing or Delta inside).
//! - [`schema`]: [`LakeSchema`], a schema provider over lake tables.
//! - [`error`]: the error type, naming file and table.

pub mod decl;
pub mod drift;
pub mod error;
pub mod location;
pub mod schema;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use datafusion::catalog::{CatalogProvider, Session};
use futures::{FutureExt, StreamExt};

pub use decl::{ColumnDecl, Format, SchemaChangePolicy, SchemaDecl, TableDecl, parse_catalog};
pub use error::{Error, Result};
pub use location::{Location, StorageConfig};
pub use schema::{BrokenTable, LakeSchema};
pub use table::{
    Commit, InsertHandler, LakeTable, Refreshed, TableInfo, TableStatus, TimeTravel, WriteSlot,
};

/// A problem found in the catalog, as shown by `laketap.catalog_errors`.
#[derive(Debug, Clone)]
pub struct CatalogProblem {
    /// The catalog file.
    pub file: String,
    /// The table, when the problem is one table's.
    pub table: Option<String>,
    /// The full message (file, table, what to do).
    pub message: String,
    /// When it was found.
    pub detected_at: DateTime<Utc>,
}

impl From<&Error> for CatalogProblem {
    fn from(e: &Error) -> Self {
        CatalogProblem {
            file: e.file().display().to_string(),
            table: e.table().map(str::to_string),
            message: e.to_string(),
            detected_at: Utc::now(),
        }
    }
}

/// How to load a catalog.
#[derive(Debug, Clone, Default)]
pub struct LakeOptions {
    /// The `[[storage]]` entries of `laketap.toml`: how to reach S3 buckets.
    pub storage: Vec<StorageConfig>,
    /// Schema names a catalog file may not take, with who reserves them.
    pub reserved_schemas: Vec<String>,
    /// Where `INSERT INTO` a lake table goes, once ingest installs a handler.
    pub writes: WriteSlot,
}

/// What the lake knows of one catalog file.
#[derive(Debug, Default)]
struct LoadedFile {
    /// The text last applied (None: apply it again at the next reload).
    text: Option<String>,
    /// The schema this file registered, if any.
    schema: Option<String>,
}

/// The catalog, live: schemas of lake tables registered into a DataFusion
/// catalog, kept in step with the catalog folder (files added, edited,
/// removed) and with the data (Delta commits, listing files).
pub struct Lake {
    dir: PathBuf,
    options: LakeOptions,
    catalog: Arc<dyn CatalogProvider>,
    schemas: RwLock<BTreeMap<String, Arc<LakeSchema>>>,
    problems: RwLock<BTreeMap<PathBuf, Vec<CatalogProblem>>>,
    /// The files applied; the lock also keeps reloads one at a time.
    files: tokio::sync::Mutex<BTreeMap<PathBuf, LoadedFile>>,
    changes: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("dir", &self.dir)
            .field("schemas", &self.schemas().keys().collect::<Vec<_>>())
            .finish()
    }
}

/// How many tables are opened at once while loading.
const OPEN_CONCURRENCY: usize = 8;
/// How many Delta tables are refreshed at once.
const REFRESH_CONCURRENCY: usize = 8;
/// How long a table that could not be opened waits before it is tried again.
const RETRY_BROKEN_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

impl Lake {
    /// Reads every `*.toml` file of `dir`, opens the tables they declare and
    /// registers their schemas into `catalog`. Only an unreadable folder is
    /// an error; everything else becomes a [`CatalogProblem`] and the rest loads.
    pub async fn load(
        session: &dyn Session,
        dir: &Path,
        catalog: Arc<dyn CatalogProvider>,
        options: LakeOptions,
    ) -> Result<Lake> {
        list_catalog_files(dir)?;
        let lake = Lake {
            dir: dir.to_path_buf(),
            options,
            catalog,
            schemas: RwLock::new(BTreeMap::new()),
            problems: RwLock::new(BTreeMap::new()),
            files: tokio::sync::Mutex::new(BTreeMap::new()),
            changes: tokio::sync::watch::channel(0).0,
        };
        lake.reload(session).await?;
        Ok(lake)
    }

    /// The catalog folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schemas, by name (a snapshot).
    pub fn schemas(&self) -> BTreeMap<String, Arc<LakeSchema>> {
        self.schemas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every served table of every schema.
    pub fn tables(&self) -> Vec<Arc<LakeTable>> {
        self.schemas()
            .values()
            .flat_map(|s| s.lake_tables())
            .collect()
    }

    /// The served table `schema.name`.
    pub fn table(&self, schema: &str, name: &str) -> Option<Arc<LakeTable>> {
        self.schemas().get(schema).and_then(|s| s.get(name))
    }

    /// The served table whose location holds an object named in `message`
    /// (an error about a data file), as `schema.table`; the longest matching
    /// location wins. None when the message names no object of the lake, or
    /// already names the table.
    pub fn table_holding(&self, message: &str) -> Option<String> {
        let mut best: Option<(usize, String)> = None;
        for table in self.tables() {
            let info = table.info();
            let name = format!("{}.{}", info.schema, info.name);
            if message.contains(&name) {
                return None;
            }
            for key in info.location.object_prefixes() {
                if message.contains(&key) && best.as_ref().is_none_or(|(len, _)| key.len() > *len) {
                    best = Some((key.len(), name.clone()));
                }
            }
        }
        best.map(|(_, name)| name)
    }

    /// The problems of the catalog as it is now.
    pub fn problems(&self) -> Vec<CatalogProblem> {
        self.problems
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flatten()
            .cloned()
            .collect()
    }

    /// A receiver that changes whenever tables appear, vanish or are
    /// replaced by handles with another schema (views must be re-planned).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn announce_change(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Applies what changed in the catalog folder since the last reload:
    /// new, edited and removed files; tables that could not be opened are
    /// tried again after a while. An edit that breaks a table leaves its
    /// previous definition serving. Returns whether tables changed.
    pub async fn reload(&self, session: &dyn Session) -> Result<bool> {
        let listed = list_catalog_files(&self.dir)?;
        let mut files = self.files.lock().await;
        let mut changed = false;
        let removed: Vec<PathBuf> = files
            .keys()
            .filter(|f| !listed.contains(f))
            .cloned()
            .collect();
        for file in removed {
            if let Some(loaded) = files.remove(&file) {
                if let Some(name) = loaded.schema {
                    tracing::info!(file = %file.display(), schema = %name, "catalog file removed; schema dropped");
                    self.drop_schema(&name);
                    changed = true;
                }
                self.set_problems(&file, Vec::new());
                // A file that lost a duplicate-schema contest may win now.
                for other in files.values_mut().filter(|f| f.schema.is_none()) {
                    other.text = None;
                }
            }
        }
        for file in listed {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(source) => {
                    let e = Error::ReadFile {
                        file: file.clone(),
                        source,
                    };
                    self.set_problems(&file, vec![CatalogProblem::from(&e)]);
                    continue;
                }
            };
            let entry = files.entry(file.clone()).or_default();
            if entry.text.as_deref() == Some(text.as_str()) {
                continue;
            }
            changed |= self.apply_file(session, &file, &text, entry).await;
        }
        drop(files);
        changed |= self.retry_broken(session).await;
        if changed {
            self.announce_change();
        }
        Ok(changed)
    }

    /// Applies one catalog file's text; true if tables changed.
    async fn apply_file(
        &self,
        session: &dyn Session,
        file: &Path,
        text: &str,
        loaded: &mut LoadedFile,
    ) -> bool {
        let first_time = loaded.text.is_none() && loaded.schema.is_none();
        loaded.text = Some(text.to_string());
        let (decl, table_errors) = match parse_catalog(file, text) {
            Ok(parsed) => parsed,
            Err(e) => {
                let keeps = loaded.schema.is_some();
                tracing::warn!(file = %file.display(), "{e}");
                self.set_problems(file, vec![problem(&e, keeps)]);
                return false;
            }
        };
        if !first_time {
            tracing::info!(file = %file.display(), schema = %decl.name, "catalog file changed; applying it");
        }
        let mut changed = false;
        let mut problems = Vec::new();
        let previous = loaded.schema.clone();
        let blocked = if self
            .options
            .reserved_schemas
            .iter()
            .any(|r| r == &decl.name)
        {
            Some(format!(
                "{}: schema `{}` is reserved by laketap ({}); its tables are not served: set another `schema`",
                file.display(),
                decl.name,
                self.options.reserved_schemas.join(", ")
            ))
        } else {
            self.schemas()
                .get(&decl.name)
                .filter(|s| s.file() != file)
                .map(|owner| {
                    Error::DuplicateSchema {
                        file: file.to_path_buf(),
                        schema: decl.name.clone(),
                        other: owner.file().to_path_buf(),
                    }
                    .to_string()
                })
        };
        if previous
            .as_ref()
            .is_some_and(|p| p != &decl.name || blocked.is_some())
        {
            if let Some(old) = previous {
                self.drop_schema(&old);
                changed = true;
            }
            loaded.schema = None;
        }
        if let Some(message) = blocked {
            tracing::warn!("{message}");
            problems.push(CatalogProblem {
                file: file.display().to_string(),
                table: None,
                message,
                detected_at: Utc::now(),
            });
            self.set_problems(file, problems);
            return changed;
        }

        let existing = self.schemas().get(&decl.name).cloned();
        let schema = existing.clone().unwrap_or_else(|| {
            Arc::new(LakeSchema::new(
                decl.name.clone(),
                decl.description.clone(),
                file.to_path_buf(),
            ))
        });
        schema.set_description(decl.description.clone());

        let failed: Vec<String> = table_errors
            .iter()
            .filter_map(|e| e.table().map(str::to_string))
            .collect();
        for e in &table_errors {
            let keeps = e.table().is_some_and(|t| schema.get(t).is_some());
            tracing::warn!(file = %file.display(), table = e.table().unwrap_or(""), "{e}");
            problems.push(problem(e, keeps));
        }
        for name in schema.declared_names() {
            let kept = decl.tables.contains_key(&name) || failed.contains(&name);
            let served = schema.get(&name).is_some();
            if !kept || (failed.contains(&name) && !served) {
                schema.remove(&name);
                changed |= served;
                if !kept {
                    tracing::info!(schema = %decl.name, table = %name, "table no longer declared; dropped");
                }
            }
        }
        let to_open: Vec<(&String, &TableDecl)> = decl
            .tables
            .iter()
            .filter(|(name, table)| {
                schema
                    .get(name)
                    .is_none_or(|served| &served.info().decl != *table)
            })
            .collect();
        let options = &self.options;
        let opening: Vec<futures::future::BoxFuture<'_, _>> = to_open
            .into_iter()
            .map(|(name, table)| {
                let schema_name = decl.name.clone();
                async move {
                    let result =
                        open_table(session, file, &schema_name, name, table, options).await;
                    (name, table, result)
                }
                .boxed()
            })
            .collect();
        let opened: Vec<_> = futures::stream::iter(opening)
            .buffer_unordered(OPEN_CONCURRENCY)
            .collect()
            .await;
        for (name, table, result) in opened {
            match result {
                Ok(opened) => {
                    if !first_time {
                        tracing::info!(schema = %decl.name, table = %name, "table (re)declared; serving it");
                    }
                    schema.insert(Arc::new(opened));
                    changed = true;
                }
                Err(e) => {
                    let keeps = schema.get(name).is_some();
                    tracing::warn!(file = %file.display(), table = %name, "{e}");
                    problems.push(problem(&e, keeps));
                    if !keeps {
                        schema.insert_broken(
                            name,
                            BrokenTable {
                                decl: table.clone(),
                                message: e.to_string(),
                                detected_at: Utc::now(),
                            },
                        );
                    }
                }
            }
        }
        if existing.is_none() {
            if let Err(e) = self.catalog.register_schema(&decl.name, schema.clone()) {
                problems.push(CatalogProblem {
                    file: file.display().to_string(),
                    table: None,
                    message: format!(
                        "{}: schema `{}` cannot be registered: {e}",
                        file.display(),
                        decl.name
                    ),
                    detected_at: Utc::now(),
                });
            } else {
                self.schemas
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(decl.name.clone(), schema);
                changed = true;
            }
        }
        loaded.schema = Some(decl.name.clone());
        self.set_problems(file, problems);
        changed
    }

    /// Tries again the tables that could not be opened a while ago.
    async fn retry_broken(&self, session: &dyn Session) -> bool {
        let now = Utc::now();
        let mut changed = false;
        for schema in self.schemas().into_values() {
            for (name, broken) in schema.broken_tables() {
                if now - broken.detected_at < RETRY_BROKEN_AFTER {
                    continue;
                }
                let file = schema.file().to_path_buf();
                match open_table(
                    session,
                    &file,
                    schema.name(),
                    &name,
                    &broken.decl,
                    &self.options,
                )
                .await
                {
                    Ok(table) => {
                        tracing::info!(schema = %schema.name(), table = %name, "table can be opened now; serving it");
                        schema.insert(Arc::new(table));
                        self.clear_table_problem(&file, &name);
                        changed = true;
                    }
                    Err(e) => schema.insert_broken(
                        &name,
                        BrokenTable {
                            message: e.to_string(),
                            detected_at: now,
                            ..broken
                        },
                    ),
                }
            }
        }
        changed
    }

    fn drop_schema(&self, name: &str) {
        if let Err(e) = self.catalog.deregister_schema(name, true) {
            tracing::warn!(schema = %name, error = %e, "cannot deregister the schema");
        }
        self.schemas
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    fn set_problems(&self, file: &Path, problems: Vec<CatalogProblem>) {
        let mut all = self.problems.write().unwrap_or_else(|p| p.into_inner());
        if problems.is_empty() {
            all.remove(file);
        } else {
            all.insert(file.to_path_buf(), problems);
        }
    }

    fn clear_table_problem(&self, file: &Path, table: &str) {
        let mut all = self.problems.write().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = all.get_mut(file) {
            list.retain(|p| p.table.as_deref() != Some(table));
        }
    }

    /// Refreshes every table once: Delta tables follow new commits (a
    /// version with another schema replaces the table's handle, under its
    /// policy); listing tables recount their files when `listings` is set.
    /// Returns whether a table was replaced.
    pub async fn refresh(&self, session: &dyn Session, listings: bool) -> bool {
        let tables: Vec<Arc<LakeTable>> = self
            .tables()
            .into_iter()
            .filter(|t| listings || t.info().format == Format::Delta)
            .collect();
        let refreshing: Vec<futures::future::BoxFuture<'_, Refreshed>> = tables
            .into_iter()
            .map(|table| async move { table.refresh(session).await }.boxed())
            .collect();
        let outcomes: Vec<Refreshed> = futures::stream::iter(refreshing)
            .buffer_unordered(REFRESH_CONCURRENCY)
            .collect()
            .await;
        let replaced: Vec<Arc<LakeTable>> = outcomes
            .into_iter()
            .filter_map(|outcome| match outcome {
                Refreshed::Replaced(new) => Some(new),
                Refreshed::Same | Refreshed::InPlace => None,
            })
            .collect();
        let changed = !replaced.is_empty();
        for table in replaced {
            if let Some(schema) = self.schemas().get(&table.info().schema) {
                schema.insert(table);
            }
        }
        if changed {
            self.announce_change();
        }
        changed
    }

    /// Refreshes one table now (after ingest committed to it), so queries
    /// see the commit without waiting for the next poll.
    pub async fn refresh_table(&self, session: &dyn Session, schema: &str, name: &str) {
        let Some(table) = self.table(schema, name) else {
            return;
        };
        if let Refreshed::Replaced(new) = table.refresh(session).await {
            if let Some(s) = self.schemas().get(schema) {
                s.insert(new);
            }
            self.announce_change();
        }
    }

    /// Where `INSERT INTO` a lake table goes.
    pub fn writes(&self) -> &WriteSlot {
        &self.options.writes
    }

    /// Keeps the lake in step until `stop` turns true: Delta tables every
    /// `interval`, the catalog folder and the listing tables' files every
    /// `catalog_every` intervals. A step under way is finished first
    /// (dropping a Delta refresh midway upsets the Delta kernel's executor).
    pub fn spawn_refresher(
        self: &Arc<Self>,
        session: Arc<dyn Session>,
        interval: Duration,
        catalog_every: u32,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let lake = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut n: u32 = 0;
            loop {
                if *stop.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tick.tick() => {
                        n = n.wrapping_add(1);
                        let catalog_turn = n.is_multiple_of(catalog_every.max(1));
                        if catalog_turn && let Err(e) = lake.reload(session.as_ref()).await {
                            tracing::warn!("catalog reload failed, the loaded catalog keeps serving: {e}");
                        }
                        lake.refresh(session.as_ref(), catalog_turn).await;
                    }
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
        })
    }
}

/// A problem as listed, saying when the previous definition keeps serving.
fn problem(e: &Error, keeps_serving: bool) -> CatalogProblem {
    let mut p = CatalogProblem::from(e);
    if keeps_serving {
        p.message
            .push_str("; the previous definition keeps serving");
    }
    p
}

/// The `*.toml` files of the catalog folder, sorted.
fn list_catalog_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::ReadDir {
            dir: dir.to_path_buf(),
            source,
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

async fn open_table(
    session: &dyn Session,
    file: &Path,
    schema: &str,
    name: &str,
    decl: &TableDecl,
    options: &LakeOptions,
) -> Result<LakeTable> {
    let location =
        Location::resolve(file, &decl.location).map_err(|resolved| Error::MissingLocation {
            file: file.to_path_buf(),
            table: name.to_string(),
            location: decl.location.clone(),
            resolved,
        })?;
    let shown = location.to_string();
    LakeTable::open(
        session,
        file.to_path_buf(),
        schema,
        name,
        decl,
        location,
        &options.storage,
    )
    .await
    .map(|table| table.with_writes(options.writes.clone()))
    .map_err(|message| Error::Open {
        file: file.to_path_buf(),
        table: name.to_string(),
        format: decl.format.as_str().to_string(),
        location: shown,
        message,
    })
}
