//! Table and column descriptions from the catalog files, served the way
//! PostgreSQL serves comments: `obj_description(oid, 'pg_class')`,
//! `obj_description(oid, 'pg_namespace')` and `col_description(oid, attnum)`,
//! which psql's `\d+`, `\dt+`, `\dn+` and BI tools call — and the query of
//! each KPI view, `pg_get_viewdef(oid)`.
//!
//! datafusion-pg-catalog assigns relation OIDs as `pg_class` is scanned and
//! keeps them stable; [`Descriptions::refresh`] reads that mapping through
//! SQL and rebuilds the lookup. It runs when the server starts and after
//! each catalog change (a reloaded catalog file), never inside a function
//! call; views created later by SQL have no description.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use laketap_catalog::Lake;
use laketap_engine::Engine;
use laketap_engine::views::{KPI_SCHEMA, ViewDocs};

/// What the descriptions are built from (a cheap clone of the engine's parts).
#[derive(Clone)]
pub struct DescribeInputs {
    ctx: SessionContext,
    lake: Arc<Lake>,
    view_docs: std::collections::BTreeMap<String, ViewDocs>,
    view_definitions: std::collections::BTreeMap<String, String>,
}

impl DescribeInputs {
    /// The parts of `engine` that descriptions come from.
    pub fn of(engine: &Engine) -> Self {
        DescribeInputs {
            ctx: engine.context().clone(),
            lake: engine.lake().clone(),
            view_docs: engine.view_docs().clone(),
            view_definitions: engine
                .view_docs()
                .keys()
                .filter_map(|n| engine.view_definition(n).map(|d| (n.clone(), d)))
                .collect(),
        }
    }
}

#[derive(Debug, Default)]
struct Described {
    /// The schema the relation is in (descriptions follow its read grant).
    schema: String,
    description: Option<String>,
    columns: HashMap<i64, String>,
    /// A view's query (`pg_get_viewdef`).
    definition: Option<String>,
}

/// The description of the `kpi` schema.
const KPI_DESCRIPTION: &str =
    "KPI views of the live-audio app (KPI_SPEC.md), computed from schema amp";

/// Column descriptions keyed by attnum (the 1-based column position).
fn describe(
    description: Option<String>,
    columns: &std::collections::BTreeMap<String, String>,
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Described {
    Described {
        schema: String::new(),
        description,
        columns: schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, f)| columns.get(f.name()).map(|d| (i as i64 + 1, d.clone())))
            .collect(),
        definition: None,
    }
}

/// Descriptions by OID.
#[derive(Debug, Default)]
pub struct Descriptions {
    relations: RwLock<HashMap<i64, Described>>,
    /// oid → (schema name, description).
    namespaces: RwLock<HashMap<i64, (String, String)>>,
}

impl Descriptions {
    /// Rebuilds the lookup from the catalog, the KPI view files and the
    /// current OIDs.
    pub async fn refresh(&self, engine: &DescribeInputs) -> DfResult<()> {
        let ctx = &engine.ctx;
        let lake = &engine.lake;
        let sql = "SELECT CAST(c.oid AS BIGINT), n.nspname, c.relname, CAST(n.oid AS BIGINT) \
                   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid";
        let batches = ctx.sql(sql).await?.collect().await?;
        let mut relations = HashMap::new();
        let mut namespaces = HashMap::new();
        for batch in &batches {
            let oids = batch.column(0).as_primitive::<Int64Type>();
            let schemas = cast(batch.column(1), &DataType::Utf8)?;
            let schemas = schemas.as_string::<i32>();
            let tables = cast(batch.column(2), &DataType::Utf8)?;
            let tables = tables.as_string::<i32>();
            let ns_oids = batch.column(3).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                let (schema, table) = (schemas.value(row), tables.value(row));
                let described = if schema == KPI_SCHEMA {
                    namespaces.insert(
                        ns_oids.value(row),
                        (schema.to_string(), KPI_DESCRIPTION.to_string()),
                    );
                    match engine.view_docs.get(table) {
                        Some(docs) => {
                            let fields =
                                match ctx.table_provider(format!("{KPI_SCHEMA}.{table}")).await {
                                    Ok(provider) => provider.schema(),
                                    Err(_) => continue,
                                };
                            let mut described =
                                describe(docs.description.clone(), &docs.columns, &fields);
                            described.definition = engine.view_definitions.get(table).cloned();
                            described
                        }
                        None => continue,
                    }
                } else {
                    let Some(lake_schema) = lake.schemas().get(schema).cloned() else {
                        continue;
                    };
                    if let Some(d) = lake_schema.description() {
                        namespaces.insert(ns_oids.value(row), (schema.to_string(), d.to_string()));
                    }
                    let Some(lake_table) = lake_schema
                        .lake_tables()
                        .into_iter()
                        .find(|t| t.info().name == table)
                    else {
                        continue;
                    };
                    let info = lake_table.info();
                    let fields = datafusion::catalog::TableProvider::schema(lake_table.as_ref());
                    describe(info.description.clone(), &info.column_descriptions, &fields)
                };
                let mut described = described;
                described.schema = schema.to_string();
                relations.insert(oids.value(row), described);
            }
        }
        *self.relations.write().unwrap_or_else(|p| p.into_inner()) = relations;
        *self.namespaces.write().unwrap_or_else(|p| p.into_inner()) = namespaces;
        Ok(())
    }

    fn object(&self, oid: i64, catalog: &str, readable: &dyn Fn(&str) -> bool) -> Option<String> {
        match catalog {
            "pg_namespace" => self
                .namespaces
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&oid)
                .filter(|(schema, _)| readable(schema))
                .map(|(_, d)| d.clone()),
            "pg_class" => self
                .relations
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&oid)
                .filter(|d| readable(&d.schema))
                .and_then(|d| d.description.clone()),
            _ => None,
        }
    }

    fn view_definition(&self, oid: i64, readable: &dyn Fn(&str) -> bool) -> Option<String> {
        self.relations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&oid)
            .filter(|d| readable(&d.schema))
            .and_then(|d| d.definition.clone())
    }

    fn column(&self, oid: i64, attnum: i64, readable: &dyn Fn(&str) -> bool) -> Option<String> {
        self.relations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&oid)
            .filter(|d| readable(&d.schema))
            .and_then(|d| d.columns.get(&attnum).cloned())
    }

    /// The description functions as `who` sees them: nothing about
    /// relations or schemas it may not read.
    pub fn functions_for(self: &Arc<Self>, who: &crate::access::Who) -> Vec<Arc<ScalarUDF>> {
        [Kind::Object, Kind::Column, Kind::ViewDef]
            .into_iter()
            .map(|kind| {
                Arc::new(ScalarUDF::from(DescriptionUdf {
                    kind,
                    descriptions: self.clone(),
                    signature: Signature::variadic_any(Volatility::Stable),
                    reader: Some(who.clone()),
                }))
            })
            .collect()
    }

    /// Registers `obj_description` and `col_description` in `ctx`.
    pub fn register(self: &Arc<Self>, ctx: &SessionContext) {
        for kind in [Kind::Object, Kind::Column, Kind::ViewDef] {
            ctx.register_udf(ScalarUDF::from(DescriptionUdf {
                kind,
                descriptions: self.clone(),
                signature: Signature::variadic_any(Volatility::Stable),
                reader: None,
            }));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Object,
    Column,
    ViewDef,
}

#[derive(Debug)]
struct DescriptionUdf {
    kind: Kind,
    descriptions: Arc<Descriptions>,
    signature: Signature,
    /// The session's user (None: the server's own session, which reads all).
    reader: Option<crate::access::Who>,
}

impl PartialEq for DescriptionUdf {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && Arc::ptr_eq(&self.descriptions, &other.descriptions)
            && self.reader.as_ref().map(|w| w.user()) == other.reader.as_ref().map(|w| w.user())
    }
}

impl Eq for DescriptionUdf {}

impl std::hash::Hash for DescriptionUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
    }
}

impl ScalarUDFImpl for DescriptionUdf {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Object => "obj_description",
            Kind::Column => "col_description",
            Kind::ViewDef => "pg_get_viewdef",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<DfResult<Vec<_>>>()?;
        let (min_args, max_args) = match self.kind {
            Kind::Object => (1, 2),
            Kind::Column => (2, 2),
            Kind::ViewDef => (1, 2),
        };
        if arrays.len() < min_args || arrays.len() > max_args {
            return Err(DataFusionError::Plan(format!(
                "No function matches: {} takes {} arguments, not {}",
                self.name(),
                max_args,
                arrays.len()
            )));
        }
        let oids = cast(&arrays[0], &DataType::Int64)?;
        let oids = oids.as_primitive::<Int64Type>();
        let second: Option<ArrayRef> = match (self.kind, arrays.get(1)) {
            (Kind::Object, Some(a)) => Some(cast(a, &DataType::Utf8)?),
            (Kind::Column, Some(a)) => Some(cast(a, &DataType::Int64)?),
            (Kind::ViewDef, _) | (_, None) => None,
        };
        let access = self.reader.as_ref().map(|who| who.access());
        let readable = |schema: &str| access.as_ref().is_none_or(|a| a.can_read(schema));
        let mut out = StringBuilder::with_capacity(n, 0);
        for row in 0..n {
            if oids.is_null(row) || second.as_ref().is_some_and(|a| a.is_null(row)) {
                out.append_null();
                continue;
            }
            let oid = oids.value(row);
            let value = match (self.kind, &second) {
                (Kind::Object, Some(catalog)) => {
                    self.descriptions
                        .object(oid, catalog.as_string::<i32>().value(row), &readable)
                }
                (Kind::Object, None) => self.descriptions.object(oid, "pg_class", &readable),
                (Kind::Column, Some(attnum)) => self.descriptions.column(
                    oid,
                    attnum.as_primitive::<Int64Type>().value(row),
                    &readable,
                ),
                (Kind::Column, None) => None,
                (Kind::ViewDef, _) => self.descriptions.view_definition(oid, &readable),
            };
            out.append_option(value);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
