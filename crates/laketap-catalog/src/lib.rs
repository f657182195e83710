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
pub mod error;
pub mod location;
pub mod schema;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use datafusion::catalog::Session;
use futures::StreamExt;

pub use decl::{Format, SchemaDecl, TableDecl, parse_catalog};
pub use error::{Error, Result};
pub use location::Location;
pub use schema::LakeSchema;
pub use table::{LakeTable, TableInfo, TableStatus};

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

/// The loaded catalog: schemas of lake tables, and the problems found.
#[derive(Debug)]
pub struct Lake {
    dir: PathBuf,
    schemas: BTreeMap<String, Arc<LakeSchema>>,
    problems: Vec<CatalogProblem>,
}

/// How many tables are opened at once while loading.
const OPEN_CONCURRENCY: usize = 8;

impl Lake {
    /// Reads every `*.toml` file of `dir` and opens the tables they declare.
    /// Only an unreadable folder is an error; everything else becomes a
    /// [`CatalogProblem`] and the rest loads.
    pub async fn load(session: &dyn Session, dir: &Path) -> Result<Lake> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| Error::ReadDir {
                dir: dir.to_path_buf(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();

        let mut errors = Vec::new();
        let mut decls: Vec<SchemaDecl> = Vec::new();
        for file in files {
            match read_file(&file) {
                Ok((decl, problems)) => {
                    errors.extend(problems);
                    if let Some(first) = decls.iter().find(|d| d.name == decl.name) {
                        errors.push(Error::DuplicateSchema {
                            file: file.clone(),
                            schema: decl.name.clone(),
                            other: first.file.clone(),
                        });
                    } else {
                        decls.push(decl);
                    }
                }
                Err(e) => errors.push(e),
            }
        }

        let mut schemas = BTreeMap::new();
        let mut pending = Vec::new();
        for decl in &decls {
            let schema = Arc::new(LakeSchema::new(
                decl.name.clone(),
                decl.description.clone(),
                decl.file.clone(),
            ));
            schemas.insert(decl.name.clone(), schema.clone());
            for (name, table) in &decl.tables {
                pending.push((schema.clone(), decl.file.clone(), name.clone(), table));
            }
        }
        let opened: Vec<_> = futures::stream::iter(pending)
            .map(|(schema, file, name, decl)| async move {
                let result = open_table(session, &file, schema.name(), &name, decl).await;
                (schema, result)
            })
            .buffer_unordered(OPEN_CONCURRENCY)
            .collect()
            .await;
        for (schema, result) in opened {
            match result {
                Ok(table) => schema.insert(Arc::new(table)),
                Err(e) => errors.push(e),
            }
        }
        for e in &errors {
            tracing::warn!(file = %e.file().display(), table = e.table().unwrap_or(""), "{e}");
        }
        Ok(Lake {
            dir: dir.to_path_buf(),
            schemas,
            problems: errors.iter().map(CatalogProblem::from).collect(),
        })
    }

    /// The catalog folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schemas, by name.
    pub fn schemas(&self) -> &BTreeMap<String, Arc<LakeSchema>> {
        &self.schemas
    }

    /// Every table of every schema.
    pub fn tables(&self) -> Vec<Arc<LakeTable>> {
        self.schemas
            .values()
            .flat_map(|s| s.lake_tables())
            .collect()
    }

    /// The problems found while loading.
    pub fn problems(&self) -> &[CatalogProblem] {
        &self.problems
    }

    /// Refreshes every Delta table once.
    pub async fn refresh(&self, session: &dyn Session) {
        for table in self.tables() {
            table.refresh(session).await;
        }
    }

    /// Refreshes the Delta tables every `interval` until `stop` turns true;
    /// a refresh under way is finished first (dropping one midway upsets
    /// the Delta kernel's executor).
    pub fn spawn_refresher(
        self: &Arc<Self>,
        session: Arc<dyn Session>,
        interval: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let lake = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if *stop.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tick.tick() => lake.refresh(session.as_ref()).await,
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
        })
    }
}

fn read_file(file: &Path) -> Result<(SchemaDecl, Vec<Error>)> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::ReadFile {
        file: file.to_path_buf(),
        source,
    })?;
    parse_catalog(file, &text)
}

async fn open_table(
    session: &dyn Session,
    file: &Path,
    schema: &str,
    name: &str,
    decl: &TableDecl,
) -> Result<LakeTable> {
    let location =
        Location::resolve(file, &decl.location).map_err(|resolved| Error::MissingLocation {
            file: file.to_path_buf(),
            table: name.to_string(),
            location: decl.location.clone(),
            resolved,
        })?;
    let shown = location.to_string();
    LakeTable::open(session, file.to_path_buf(), schema, name, decl, location)
        .await
        .map_err(|message| Error::Open {
            file: file.to_path_buf(),
            table: name.to_string(),
            format: decl.format.as_str().to_string(),
            location: shown,
            message,
        })
}
