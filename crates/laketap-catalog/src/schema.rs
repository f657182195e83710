//! [`LakeSchema`]: one catalog file's tables as a DataFusion schema.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};

use chrono::{DateTime, Utc};

use crate::decl::TableDecl;
use crate::table::LakeTable;

/// A declared table that cannot be served: its location is missing, its data
/// cannot be opened, or its schema drifted against its policy. A query that
/// names it gets this message instead of "table not found".
#[derive(Debug, Clone)]
pub struct BrokenTable {
    /// The declaration, when it parsed.
    pub decl: TableDecl,
    /// What is wrong, naming file and table.
    pub message: String,
    /// When it was last tried.
    pub detected_at: DateTime<Utc>,
}

/// The tables of one schema. Lookups never do I/O: tables are opened and
/// refreshed elsewhere and swapped in here.
#[derive(Debug)]
pub struct LakeSchema {
    name: String,
    description: RwLock<Option<String>>,
    file: PathBuf,
    tables: RwLock<BTreeMap<String, Arc<LakeTable>>>,
    broken: RwLock<BTreeMap<String, BrokenTable>>,
}

impl LakeSchema {
    /// An empty schema declared by `file`.
    pub fn new(name: String, description: Option<String>, file: PathBuf) -> Self {
        LakeSchema {
            name,
            description: RwLock::new(description),
            file,
            tables: RwLock::new(BTreeMap::new()),
            broken: RwLock::new(BTreeMap::new()),
        }
    }

    /// The schema name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema's description.
    pub fn description(&self) -> Option<String> {
        self.description
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the description (a reloaded catalog file).
    pub fn set_description(&self, description: Option<String>) {
        *self.description.write().unwrap_or_else(|p| p.into_inner()) = description;
    }

    /// The catalog file that declares it.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// Adds or replaces a table (a broken entry of that name goes).
    pub fn insert(&self, table: Arc<LakeTable>) {
        let name = table.info().name.clone();
        self.broken
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name);
        self.tables
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, table);
    }

    /// Records a table that cannot be served (a served table of that name goes).
    pub fn insert_broken(&self, name: &str, broken: BrokenTable) {
        self.tables
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.broken
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), broken);
    }

    /// Removes a table, served or broken; true if there was one.
    pub fn remove(&self, name: &str) -> bool {
        let served = self
            .tables
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some();
        let broken = self
            .broken
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some();
        served || broken
    }

    /// The served table of this name.
    pub fn get(&self, name: &str) -> Option<Arc<LakeTable>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The broken table of this name.
    pub fn get_broken(&self, name: &str) -> Option<BrokenTable> {
        self.broken
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Every declared table name, served or broken.
    pub fn declared_names(&self) -> Vec<String> {
        let mut names = self.table_names();
        names.extend(
            self.broken
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .keys()
                .cloned(),
        );
        names.sort();
        names
    }

    /// The broken tables, by name.
    pub fn broken_tables(&self) -> Vec<(String, BrokenTable)> {
        self.broken
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect()
    }

    /// The lake tables, by name.
    pub fn lake_tables(&self) -> Vec<Arc<LakeTable>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl SchemaProvider for LakeSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(broken) = self.get_broken(name) {
            return Err(DataFusionError::External(Box::new(std::io::Error::other(
                format!(
                    "table {}.{name} is declared but cannot be served: {}",
                    self.name, broken.message
                ),
            ))));
        }
        Ok(self
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(|t| t.clone() as Arc<dyn TableProvider>))
    }

    fn register_table(
        &self,
        name: String,
        _table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Err(DataFusionError::Plan(format!(
            "schema `{}` is declared by {}: declare `{name}` there instead of creating it in SQL",
            self.name,
            self.file.display()
        )))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(name)
    }
}
