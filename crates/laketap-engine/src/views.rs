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

/// The KPI views of `sql/kpi/`, built into the binary: (view name, SQL).
/// A test checks that this list and the folder agree.
pub const EMBEDDED_VIEWS: &[(&str, &str)] = &[
    (
        "creator_daily",
        include_str!("../../../sql/kpi/creator_daily.sql"),
    ),
    (
        "daily_flash_report",
        include_str!("../../../sql/kpi/daily_flash_report.sql"),
    ),
    (
        "engagement_daily",
        include_str!("../../../sql/kpi/engagement_daily.sql"),
    ),
    (
        "experiment_results",
        include_str!("../../../sql/kpi/experiment_results.sql"),
    ),
    ("live_now", include_str!("../../../sql/kpi/live_now.sql")),
    (
        "promotion_effectiveness",
        include_str!("../../../sql/kpi/promotion_effectiveness.sql"),
    ),
    (
        "retention_weekly",
        include_str!("../../../sql/kpi/retention_weekly.sql"),
    ),
    (
        "show_daily",
        include_str!("../../../sql/kpi/show_daily.sql"),
    ),
    (
        "trending_shows",
        include_str!("../../../sql/kpi/trending_shows.sql"),
    ),
    (
        "user_profile",
        include_str!("../../../sql/kpi/user_profile.sql"),
    ),
];

/// The schema the KPI views live in.
pub const KPI_SCHEMA: &str = "kpi";

/// A view's description and its columns' descriptions, read from the
/// comment header of its file: the first paragraph describes the view (a
/// leading `kpi.<name>:` is dropped); a bullet `-- * col: text`,
/// `-- * col = text` or `-- * col_a, col_b: text` (continued on lines
/// indented under it) describes those columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewDocs {
    /// The view's description.
    pub description: Option<String>,
    /// Column descriptions by column name (names that are not columns are ignored by readers).
    pub columns: BTreeMap<String, String>,
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Reads the comment header of a view file.
pub fn view_docs(name: &str, sql: &str) -> ViewDocs {
    let header: Vec<&str> = sql
        .lines()
        .map(str::trim_end)
        .take_while(|l| l.starts_with("--"))
        .map(|l| l.trim_start_matches('-'))
        .collect();
    let mut docs = ViewDocs::default();
    let first: Vec<&str> = header
        .iter()
        .map(|l| l.trim())
        .take_while(|l| !l.is_empty())
        .collect();
    if !first.is_empty() {
        let text = first.join(" ");
        let prefix = format!("{KPI_SCHEMA}.{name}:");
        let text = text.strip_prefix(&prefix).unwrap_or(&text).trim();
        docs.description = Some(text.to_string());
    }
    let mut current: Option<(Vec<String>, String)> = None;
    let flush = |current: &mut Option<(Vec<String>, String)>, docs: &mut ViewDocs| {
        if let Some((names, text)) = current.take() {
            for n in names {
                docs.columns
                    .entry(n)
                    .or_insert_with(|| text.trim().to_string());
            }
        }
    };
    for line in &header {
        let body = line.trim_start();
        if let Some(bullet) = body.strip_prefix("* ") {
            flush(&mut current, &mut docs);
            let split = [": ", " = "]
                .iter()
                .filter_map(|sep| bullet.find(sep))
                .min();
            if let Some(at) = split {
                let names: Vec<String> = bullet[..at]
                    .split(',')
                    .map(|n| n.trim().to_string())
                    .collect();
                if names.iter().all(|n| is_identifier(n)) {
                    current = Some((names, bullet.trim().to_string()));
                }
            }
        } else if line.starts_with("   ") && !body.is_empty() {
            if let Some((_, text)) = current.as_mut() {
                text.push(' ');
                text.push_str(body);
            }
        } else {
            flush(&mut current, &mut docs);
        }
    }
    flush(&mut current, &mut docs);
    docs
}

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

impl ViewFile {
    /// The descriptions in the file's header.
    pub fn docs(&self) -> ViewDocs {
        view_docs(&self.name, &self.sql)
    }
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

/// Creates (or, with `replace`, re-plans) the views in `ctx`, in dependency
/// order: `files` are tried in their order, and a view that fails is retried
/// while others succeed. Returns the views in the order they were created
/// (the order to re-plan them in), and the problems of those that were not.
///
/// Re-planning a view binds it to the tables' current handles; giving the
/// files in creation order makes every view bind to its re-planned inputs.
pub async fn create_views(
    ctx: &SessionContext,
    files: Vec<ViewFile>,
    replace: bool,
) -> (Vec<ViewFile>, Vec<CatalogProblem>) {
    if files.is_empty() {
        return (Vec::new(), Vec::new());
    }
    if let Some(catalog) = ctx.catalog(crate::DATABASE)
        && catalog.schema(KPI_SCHEMA).is_none()
    {
        let schema: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
        if let Err(e) = catalog.register_schema(KPI_SCHEMA, schema) {
            tracing::warn!(error = %e, "cannot create the kpi schema");
        }
    }
    let mut created = Vec::new();
    let mut pending = files;
    let mut errors: Vec<(ViewFile, String)> = Vec::new();
    loop {
        let mut failed = Vec::new();
        errors.clear();
        let before = pending.len();
        for file in pending {
            match create_one(ctx, &file, replace).await {
                Ok(()) => {
                    tracing::debug!(view = %file.name, origin = %file.origin, "view created");
                    created.push(file);
                }
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
    let problems = errors
        .into_iter()
        .map(|(file, message)| {
            if replace {
                // The table it reads is gone or broken: the view must not
                // keep serving a handle the catalog dropped.
                if let Some(schema) = ctx
                    .catalog(crate::DATABASE)
                    .and_then(|c| c.schema(KPI_SCHEMA))
                {
                    let _ = schema.deregister_table(&file.name);
                }
            }
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
        .collect();
    (created, problems)
}

/// `CREATE VIEW` turned into `CREATE OR REPLACE VIEW` (first occurrence).
fn or_replace(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    match upper.find("CREATE VIEW") {
        Some(at) => format!(
            "{}CREATE OR REPLACE VIEW{}",
            &sql[..at],
            &sql[at + "CREATE VIEW".len()..]
        ),
        None => sql.to_string(),
    }
}

async fn create_one(ctx: &SessionContext, file: &ViewFile, replace: bool) -> Result<(), String> {
    let sql = if replace {
        or_replace(&file.sql)
    } else {
        file.sql.clone()
    };
    let df = ctx.sql(&sql).await.map_err(|e| e.message().to_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_sql_kpi_is_built_in() {
        let dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../sql/kpi");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("sql/kpi")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
            .collect();
        on_disk.sort();
        let built_in: Vec<&str> = EMBEDDED_VIEWS.iter().map(|(n, _)| *n).collect();
        assert_eq!(built_in, on_disk, "add new view files to EMBEDDED_VIEWS");
        for (name, sql) in EMBEDDED_VIEWS {
            let first = sql
                .lines()
                .find(|l| {
                    l.trim_start()
                        .to_ascii_uppercase()
                        .starts_with("CREATE VIEW")
                })
                .unwrap_or_default();
            assert!(first.contains(&format!("kpi.{name} ")), "{name}: {first}");
        }
    }

    #[test]
    fn header_comments_describe_the_view_and_its_columns() {
        let sql = "-- kpi.engagement_daily: daily engagement, one row per day\n\
                   -- with any event.\n\
                   --\n\
                   -- Rules:\n\
                   -- * dau: users with at least one event that day.\n\
                   -- * listen_hours = sum(listen_seconds) / 3600, 0 when nobody\n\
                   --   listened.\n\
                   -- * likes, follows: interaction rows of that kind.\n\
                   -- * A day d holds the rows with event_date = d.\n\
                   CREATE VIEW kpi.engagement_daily AS SELECT 1";
        let docs = view_docs("engagement_daily", sql);
        assert_eq!(
            docs.description.as_deref(),
            Some("daily engagement, one row per day with any event.")
        );
        assert_eq!(
            docs.columns["dau"],
            "dau: users with at least one event that day."
        );
        assert_eq!(
            docs.columns["listen_hours"],
            "listen_hours = sum(listen_seconds) / 3600, 0 when nobody listened."
        );
        assert_eq!(
            docs.columns["follows"],
            "likes, follows: interaction rows of that kind."
        );
        assert_eq!(docs.columns.len(), 4, "{:?}", docs.columns);
    }
}
