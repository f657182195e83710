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
    /// `numeric(p, s)` columns' type modifiers by attnum (`pg_attribute.atttypmod`).
    typmods: HashMap<i64, i32>,
}

/// The description of the `kpi` schema.
const KPI_DESCRIPTION: &str =
    "KPI views of the live-audio app (KPI_SPEC.md), computed from schema amp";

/// PostgreSQL's description of the `public` schema.
const PUBLIC_DESCRIPTION: &str = "standard public schema";

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
        typmods: schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                crate::tableoids::numeric_typmod(f.data_type(), &pgwire::api::Type::NUMERIC)
                    .map(|typmod| (i as i64 + 1, typmod))
            })
            .collect(),
    }
}

/// A `pg_description` row: objoid, classoid, objsubid, description.
type DescriptionRow = (i32, i32, i32, String);

/// Descriptions by OID.
#[derive(Debug, Default)]
pub struct Descriptions {
    relations: RwLock<HashMap<i64, Described>>,
    /// oid → (schema name, description).
    namespaces: RwLock<HashMap<i64, (String, String)>>,
    /// The `pg_description` rows of the above, built at each refresh.
    rows: RwLock<Arc<Vec<DescriptionRow>>>,
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
        // PostgreSQL's comment on schema public (its built-in pg_description
        // row has OID 2200; here public's OID is assigned at start).
        let public = ctx
            .sql("SELECT CAST(oid AS BIGINT) FROM pg_catalog.pg_namespace WHERE nspname = 'public'")
            .await?
            .collect()
            .await?;
        for batch in &public {
            let oids = batch.column(0).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                namespaces
                    .entry(oids.value(row))
                    .or_insert_with(|| ("public".to_string(), PUBLIC_DESCRIPTION.to_string()));
            }
        }
        *self.relations.write().unwrap_or_else(|p| p.into_inner()) = relations;
        *self.namespaces.write().unwrap_or_else(|p| p.into_inner()) = namespaces;
        let rows = Arc::new(self.description_rows());
        *self.rows.write().unwrap_or_else(|p| p.into_inner()) = rows;
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

    /// `laketap_atttypmod(attrelid, attnum)`: the column's `numeric(p, s)`
    /// type modifier, NULL for other columns (datafusion-pg-catalog gives
    /// every column -1, so `format_type` printed plain `numeric`).
    pub fn typmod_udf(self: &Arc<Self>) -> ScalarUDF {
        ScalarUDF::from(TypmodUdf {
            descriptions: self.clone(),
            signature: Signature::any(2, Volatility::Stable),
        })
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

/// `pg_class`'s OID, the `classoid` of a relation's or column's comment.
const PG_CLASS_OID: i32 = 1259;
/// `pg_namespace`'s OID, the `classoid` of a schema's comment.
const PG_NAMESPACE_OID: i32 = 2615;

impl Descriptions {
    /// The rows of `pg_description` for the catalog's descriptions:
    /// (objoid, classoid, objsubid, description), as PostgreSQL stores
    /// `COMMENT ON` — a relation with objsubid 0, a column with its attnum,
    /// a schema under pg_namespace. Sorted, so scans are repeatable.
    fn description_rows(&self) -> Vec<DescriptionRow> {
        let mut rows = Vec::new();
        let oid = |o: i64| i32::try_from(o).ok();
        for (&reloid, described) in self
            .relations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let Some(reloid) = oid(reloid) else { continue };
            if let Some(d) = &described.description {
                rows.push((reloid, PG_CLASS_OID, 0, d.clone()));
            }
            for (&attnum, d) in &described.columns {
                if let Ok(attnum) = i32::try_from(attnum) {
                    rows.push((reloid, PG_CLASS_OID, attnum, d.clone()));
                }
            }
        }
        for (&nspoid, (_, d)) in self
            .namespaces
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if let Some(nspoid) = oid(nspoid) {
                rows.push((nspoid, PG_NAMESPACE_OID, 0, d.clone()));
            }
        }
        rows.sort();
        rows
    }
}

/// The catalog's descriptions as `pg_description` rows, computed at each
/// scan (the descriptions follow catalog reloads). Its schema is the one of
/// datafusion-pg-catalog's `pg_description`, whose built-in rows it is
/// unioned with; who may see which row is [`crate::access`]'s filter.
#[derive(Debug)]
pub struct DescriptionTable {
    descriptions: Arc<Descriptions>,
    schema: datafusion::arrow::datatypes::SchemaRef,
}

impl DescriptionTable {
    /// The rows of `descriptions` in `schema` (objoid, classoid, objsubid
    /// as int32, description as text).
    pub fn new(
        descriptions: Arc<Descriptions>,
        schema: datafusion::arrow::datatypes::SchemaRef,
    ) -> DfResult<Self> {
        let expected = [
            ("objoid", DataType::Int32),
            ("classoid", DataType::Int32),
            ("objsubid", DataType::Int32),
            ("description", DataType::Utf8),
        ];
        let names: Vec<(&str, &DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        if names.len() != expected.len()
            || names
                .iter()
                .zip(&expected)
                .any(|((n, t), (en, et))| n != en || *t != et)
        {
            return Err(DataFusionError::Internal(format!(
                "pg_description has columns {names:?}; expected {expected:?}"
            )));
        }
        Ok(DescriptionTable {
            descriptions,
            schema,
        })
    }
}

#[async_trait::async_trait]
impl datafusion::catalog::TableProvider for DescriptionTable {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> datafusion::logical_expr::TableType {
        datafusion::logical_expr::TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::arrow::array::{Int32Array, RecordBatch, StringArray};
        let rows = self
            .descriptions
            .rows
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let batch = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.3.as_str()),
                )),
            ],
        )?;
        Ok(
            datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                self.schema.clone(),
                projection.cloned(),
            )?,
        )
    }
}

/// See [`Descriptions::typmod_udf`].
#[derive(Debug)]
struct TypmodUdf {
    descriptions: Arc<Descriptions>,
    signature: Signature,
}

impl PartialEq for TypmodUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.descriptions, &other.descriptions)
    }
}

impl Eq for TypmodUdf {}

impl std::hash::Hash for TypmodUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl ScalarUDFImpl for TypmodUdf {
    fn name(&self) -> &str {
        "laketap_atttypmod"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let [relids, attnums] = args.args.as_slice() else {
            return Err(DataFusionError::Plan(
                "laketap_atttypmod takes (attrelid, attnum)".to_string(),
            ));
        };
        let relids = cast(&relids.to_array(n)?, &DataType::Int64)?;
        let relids = relids.as_primitive::<Int64Type>();
        let attnums = cast(&attnums.to_array(n)?, &DataType::Int64)?;
        let attnums = attnums.as_primitive::<Int64Type>();
        let relations = self
            .descriptions
            .relations
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let typmods: datafusion::arrow::array::Int32Array = (0..n)
            .map(|row| {
                if relids.is_null(row) || attnums.is_null(row) {
                    return None;
                }
                relations
                    .get(&relids.value(row))
                    .and_then(|d| d.typmods.get(&attnums.value(row)).copied())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(typmods)))
    }
}
