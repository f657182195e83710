//! `current_schema()`, `current_schemas(bool)` and the visibility of a
//! relation (`pg_table_is_visible`) from the session's `search_path`.
//!
//! datafusion-pg-catalog answers `public` and `{public}` whatever the
//! path, so after `SET search_path = clients` a client that asks where
//! unqualified names go was told `public`, and psql's `\d` (no pattern)
//! listed every schema's relations where PostgreSQL lists those on the
//! path. These read the session's setting when they run, and a schema is
//! on the path only if the database has it (as in PostgreSQL, `$user` is
//! the schema named after the user, when there is one).

use std::sync::Arc;

use datafusion::arrow::array::{ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::catalog::CatalogProvider;
use datafusion::config::ConfigOptions;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::scalar::ScalarValue;

/// The schemas of `search_path` that `catalog` has, in order (`$user`
/// dropped: laketap's users own no schemas of their names).
pub fn schemas(options: &ConfigOptions, catalog: &dyn CatalogProvider) -> Vec<String> {
    entries(options)
        .into_iter()
        .filter(|name| name == "pg_catalog" || catalog.schema(name).is_some())
        .collect()
}

/// The schema names of `search_path` in order, as identifiers are read
/// (unquoted ones lower-cased), `$user` and repeats dropped.
pub fn entries(options: &ConfigOptions) -> Vec<String> {
    let path = laketap_engine::pgsettings::current_value(options, "search_path")
        .unwrap_or_else(|| "public".to_string());
    let mut out: Vec<String> = Vec::new();
    for entry in path.split(',') {
        let entry = entry.trim();
        let name = match entry.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            Some(quoted) => quoted.to_string(),
            None => entry.to_ascii_lowercase(),
        };
        if name.is_empty() || name == "$user" || out.contains(&name) {
            continue;
        }
        out.push(name);
    }
    out
}

/// The database's catalog, equal to itself only (a UDF's identity).
#[derive(Debug, Clone)]
struct Database(Arc<dyn CatalogProvider>);

impl PartialEq for Database {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Database {}

impl std::hash::Hash for Database {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0) as *const (), state);
    }
}

/// `current_schema()`: the first schema of the path (NULL if none is).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CurrentSchema {
    catalog: Database,
    signature: Signature,
}

impl CurrentSchema {
    pub fn new(catalog: Arc<dyn CatalogProvider>) -> Self {
        CurrentSchema {
            catalog: Database(catalog),
            signature: Signature::nullary(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for CurrentSchema {
    fn name(&self) -> &str {
        "current_schema"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let first = schemas(&args.config_options, self.catalog.0.as_ref())
            .into_iter()
            .find(|s| s != "pg_catalog");
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(first)))
    }
}

/// `current_schemas(include_implicit)`: the path's schemas, pg_catalog
/// first when implicit ones are asked for and the path does not name it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CurrentSchemas {
    catalog: Database,
    signature: Signature,
}

impl CurrentSchemas {
    pub fn new(catalog: Arc<dyn CatalogProvider>) -> Self {
        CurrentSchemas {
            catalog: Database(catalog),
            signature: Signature::exact(vec![DataType::Boolean], Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for CurrentSchemas {
    fn name(&self) -> &str {
        "current_schemas"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let path = schemas(&args.config_options, self.catalog.0.as_ref());
        let implicit = args
            .args
            .first()
            .map(|a| a.to_array(args.number_rows))
            .transpose()?;
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..args.number_rows {
            use datafusion::arrow::array::{Array, AsArray};
            let include = implicit
                .as_ref()
                .map(|a| a.as_boolean())
                .is_some_and(|a| a.is_valid(row) && a.value(row));
            if include && !path.iter().any(|s| s == "pg_catalog") {
                out.values().append_value("pg_catalog");
            }
            for schema in path.iter().filter(|s| include || *s != "pg_catalog") {
                out.values().append_value(schema);
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn the_path_is_the_sessions_and_only_schemas_that_exist() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE SCHEMA clients").await.expect("schema");
        let catalog = ctx.catalog("datafusion").expect("catalog");
        let mut options = ConfigOptions::new();
        options
            .extensions
            .insert(laketap_engine::pgsettings::PgSettings::default());
        options
            .set("pg.search_path", "\"$user\", nope, clients, public")
            .expect("set");
        assert_eq!(schemas(&options, catalog.as_ref()), ["clients", "public"]);
        options.set("pg.search_path", "nope").expect("set");
        assert!(schemas(&options, catalog.as_ref()).is_empty());
    }
}
