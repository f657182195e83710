//! The KPI views: `sql/kpi/<view>.sql`, one `CREATE VIEW kpi.<view>` per
//! file, built into the binary and optionally added to or overridden from a
//! folder (`--views DIR`). Views are created after the catalog is loaded; a
//! view whose tables are not declared is skipped and reported.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::prelude::SessionContext;
use laketap_catalog::CatalogProblem;

include!(concat!(env!("OUT_DIR"), "/kpi_views.rs"));

/// The schema the KPI views live in.
pub const KPI_SCHEMA: &str = "kpi";

/// One view definition and where it came from.
#[derive(Debug, Clone)]
pub struct ViewFile {
    /// The view name (the file stem).
    pub name: String,
    /// The `CREATE VIEW` statement.
    pub sql: String,
    /// `built-in` or the file path.
    pub origin: String,
}

/// The built-in views, overridden and extended by the `*.sql` files of `dir`.
pub fn view_files(dir: Option<&Path>) -> Result<Vec<ViewFile>, String> {
    let mut views: BTreeMap<String, ViewFile> = EMBEDDED_VIEWS
        .iter()
        .map(|(name, sql)| {
            (
                name.to_string(),
                ViewFile {
                    name: name.to_string(),
                    sql: sql.to_string(),
                    origin: format!("built-in sql/kpi/{name}.sql"),
                },
            )
        })
        .collect();
    if let Some(dir) = dir {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("views folder {}: {e}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "sql") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let sql =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            views.insert(
                name.to_string(),
                ViewFile {
                    name: name.to_string(),
                    sql,
                    origin: path.display().to_string(),
                },
            );
        }
    }
    Ok(views.into_values().collect())
}

/// Creates the views in `ctx`, in dependency order (a view that fails is
/// retried while others succeed). Returns the problems of those that could
/// not be created.
pub async fn create_views(ctx: &SessionContext, files: Vec<ViewFile>) -> Vec<CatalogProblem> {
    if files.is_empty() {
        return Vec::new();
    }
    if let Some(catalog) = ctx.catalog(crate::DATABASE)
        && catalog.schema(KPI_SCHEMA).is_none()
    {
        let schema: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
        if let Err(e) = catalog.register_schema(KPI_SCHEMA, schema) {
            tracing::warn!(error = %e, "cannot create the kpi schema");
        }
    }
    let mut pending = files;
    let mut errors: Vec<(ViewFile, String)> = Vec::new();
    loop {
        let mut failed = Vec::new();
        errors.clear();
        let before = pending.len();
        for file in pending {
            match create_one(ctx, &file).await {
                Ok(()) => tracing::debug!(view = %file.name, origin = %file.origin, "view created"),
                Err(e) => {
                    errors.push((file.clone(), e));
                    failed.push(file);
                }
            }
        }
        if failed.is_empty() || failed.len() == before {
            break;
        }
        pending = failed;
    }
    errors
        .into_iter()
        .map(|(file, message)| {
            tracing::warn!(view = %file.name, origin = %file.origin, error = %message, "view not created");
            CatalogProblem {
                file: file.origin.clone(),
                table: Some(format!("{KPI_SCHEMA}.{}", file.name)),
                message: format!(
                    "{}: view `{KPI_SCHEMA}.{}` not created: {message}",
                    file.origin, file.name
                ),
                detected_at: Utc::now(),
            }
        })
        .collect()
}

async fn create_one(ctx: &SessionContext, file: &ViewFile) -> Result<(), String> {
    let df = ctx
        .sql(&file.sql)
        .await
        .map_err(|e| e.message().to_string())?;
    df.collect().await.map_err(|e| e.message().to_string())?;
    let exists = ctx
        .catalog(crate::DATABASE)
        .and_then(|c| c.schema(KPI_SCHEMA))
        .is_some_and(|s| s.table_exist(&file.name));
    if exists {
        Ok(())
    } else {
        Err(format!(
            "the file does not create `{KPI_SCHEMA}.{}` (the file stem is the view name)",
            file.name
        ))
    }
}
