//! [`LakeSchema`]: one catalog file's tables as a DataFusion schema.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};

use crate::table::LakeTable;

/// The tables of one schema. Lookups never do I/O: tables are opened and
/// refreshed elsewhere and swapped in here.
#[derive(Debug)]
pub struct LakeSchema {
    name: String,
    description: Option<String>,
    file: PathBuf,
    tables: RwLock<BTreeMap<String, Arc<LakeTable>>>,
}

impl LakeSchema {
    /// An empty schema declared by `file`.
    pub fn new(name: String, description: Option<String>, file: PathBuf) -> Self {
        LakeSchema {
            name,
            description,
            file,
            tables: RwLock::new(BTreeMap::new()),
        }
    }

    /// The schema name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema's description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The catalog file that declares it.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// Adds or replaces a table.
    pub fn insert(&self, table: Arc<LakeTable>) {
        let name = table.info().name.clone();
        self.tables
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, table);
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
