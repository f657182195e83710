//! Table OIDs and column numbers in RowDescription.
//!
//! PostgreSQL's RowDescription names, for a column read straight from a
//! table or view, that relation's `pg_class.oid` and the column's
//! `pg_attribute.attnum`. pgjdbc's ResultSetMetaData (`getTableName`,
//! `isNullable`, `getBaseColumnName`) and BI tools that offer "edit in
//! table" look both up in the catalog. datafusion-postgres sends 0 and 0.
//!
//! [`TableOids`] traces each described column of an extended-protocol
//! statement to the table scan it is read from (through table aliases) and
//! fills both in. The OIDs are the ones `pg_catalog.pg_class` answers (they
//! are assigned by datafusion-pg-catalog, the same in every run over the
//! same catalog: [`crate::catalog_order`]);
//! they are learned when a statement is parsed, as describing is not async.
//! Columns computed by an expression keep 0, as in PostgreSQL. Simple-query
//! results keep 0: their plans are not at hand.
//!
//! The same step gives `numeric(p, s)` columns their type modifier.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int32Type, SchemaRef};
use datafusion::common::TableReference;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use pgwire::api::results::FieldInfo;

/// How often a lookup that misses may read pg_class again.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(1);

const RELATIONS: &str = "SELECT n.nspname, c.relname, c.oid FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid";

/// `pg_class` OIDs of the database's relations, by (schema, name).
pub struct TableOids {
    base: SessionContext,
    oids: RwLock<Relations>,
    refreshed: tokio::sync::Mutex<Option<Instant>>,
}

/// pg_class's relations, looked up both ways: by (schema, name) to describe
/// columns and read `regclass` input, by OID to print `regclass` results.
#[derive(Default)]
struct Relations {
    by_name: HashMap<(String, String), i32>,
    by_oid: HashMap<i32, (String, String)>,
}

impl Relations {
    fn insert(&mut self, schema: &str, name: &str, oid: i32) {
        let key = (schema.to_string(), name.to_string());
        self.by_oid.insert(oid, key.clone());
        self.by_name.insert(key, oid);
    }
}

impl std::fmt::Debug for TableOids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = self.oids.read().map_or(0, |oids| oids.by_name.len());
        f.debug_struct("TableOids").field("known", &known).finish()
    }
}

/// A relation read by a plan: its (schema, name) and its columns.
struct Source {
    key: (String, String),
    schema: SchemaRef,
}

impl TableOids {
    /// OIDs as `base` (a session that sees every schema) reads them.
    pub fn new(base: SessionContext) -> Self {
        TableOids {
            base,
            oids: RwLock::new(Relations::default()),
            refreshed: tokio::sync::Mutex::new(None),
        }
    }

    /// Makes sure the OIDs of the relations `plan` reads are known.
    pub async fn learn(&self, plan: &LogicalPlan) {
        let sources = sources(plan);
        let missing = {
            let Ok(oids) = self.oids.read() else {
                return;
            };
            sources
                .values()
                .any(|s| lookup(&oids.by_name, &s.key).is_none())
        };
        if !missing {
            return;
        }
        self.refresh().await;
    }

    /// Reads pg_class again, unless it was read within the last second
    /// (`x::regclass` results name relations from it).
    pub async fn refresh(&self) {
        // One read at a time: a statement arriving while another reads waits
        // for that read (it then finds the map fresh) rather than planning
        // against the map from before it.
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_some_and(|at| at.elapsed() < REFRESH_AT_MOST_EVERY) {
            return;
        }
        *refreshed = Some(Instant::now());
        match self.read_pg_class().await {
            Ok(fresh) => {
                if let Ok(mut oids) = self.oids.write() {
                    *oids = fresh;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "pg_class not read for RowDescription table OIDs")
            }
        }
    }

    async fn read_pg_class(&self) -> datafusion::error::Result<Relations> {
        let batches = self.base.sql(RELATIONS).await?.collect().await?;
        let mut oids = Relations::default();
        for batch in batches {
            let columns = (
                datafusion::arrow::compute::cast(
                    batch.column(0),
                    &datafusion::arrow::datatypes::DataType::Utf8,
                )?,
                datafusion::arrow::compute::cast(
                    batch.column(1),
                    &datafusion::arrow::datatypes::DataType::Utf8,
                )?,
                datafusion::arrow::compute::cast(
                    batch.column(2),
                    &datafusion::arrow::datatypes::DataType::Int32,
                )?,
            );
            let (schemas, names, ids) = (
                columns.0.as_string::<i32>(),
                columns.1.as_string::<i32>(),
                columns.2.as_primitive::<Int32Type>(),
            );
            for row in 0..batch.num_rows() {
                if schemas.is_valid(row) && names.is_valid(row) && ids.is_valid(row) {
                    oids.insert(schemas.value(row), names.value(row), ids.value(row));
                }
            }
        }
        Ok(oids)
    }

    /// `regclassout(oid)`: the relation's name, qualified with its schema
    /// unless the relation is the first of its name on the search path
    /// `path` (pg_catalog first, as PostgreSQL searches it), with names quoted
    /// as identifiers are. None for an OID no relation has, or one in a schema
    /// that is not `readable`.
    pub fn relation_name(
        &self,
        oid: i32,
        path: &[String],
        readable: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let oids = self.oids.read().ok()?;
        let (schema, name) = oids
            .by_oid
            .get(&oid)
            .filter(|(schema, _)| readable(schema))?;
        let first = std::iter::once("pg_catalog")
            .chain(path.iter().map(String::as_str))
            .find(|s| oids.by_name.contains_key(&(s.to_string(), name.clone())));
        let quoted = crate::regtype::quote_identifier(name);
        Some(if first == Some(schema.as_str()) {
            quoted
        } else {
            format!("{}.{quoted}", crate::regtype::quote_identifier(schema))
        })
    }

    /// `regclassin`: the OID of the relation `parts` names (`[name]`, looked
    /// up in pg_catalog and then the search path `path`, or `[schema,
    /// name]`), if it is in a `readable` schema.
    pub fn relation_oid(
        &self,
        parts: &[String],
        path: &[String],
        readable: impl Fn(&str) -> bool,
    ) -> Option<i32> {
        let oids = self.oids.read().ok()?;
        let found = |schema: &str, name: &str| {
            oids.by_name
                .get(&(schema.to_string(), name.to_string()))
                .copied()
                .filter(|_| readable(schema))
        };
        match parts {
            [schema, name] => found(schema, name),
            [name] => std::iter::once("pg_catalog")
                .chain(path.iter().map(String::as_str))
                .find_map(|schema| found(schema, name)),
            _ => None,
        }
    }

    /// `fields` (describing `plan`'s output) with the table OID and column
    /// number of each column read straight from a relation.
    pub fn describe(&self, plan: &LogicalPlan, fields: Vec<FieldInfo>) -> Vec<FieldInfo> {
        let schema = plan.schema();
        if schema.fields().len() != fields.len() {
            return fields;
        }
        let sources = sources(plan);
        let computed = computed_items(plan);
        let Ok(oids) = self.oids.read() else {
            return fields;
        };
        fields
            .into_iter()
            .enumerate()
            .map(|(i, field)| {
                let (qualifier, column) = schema.qualified_field(i);
                let found = qualifier
                    .and_then(|q| sources.get(&q.to_string()))
                    .and_then(|source| {
                        let oid = lookup(&oids.by_name, &source.key)?;
                        let attnum = source.schema.index_of(column.name()).ok()?;
                        Some((oid, i16::try_from(attnum + 1).ok()?))
                    });
                let typmod = if computed.get(i).copied().unwrap_or(false) {
                    field.type_modifier()
                } else {
                    numeric_typmod(column.data_type(), field.datatype())
                        .unwrap_or(field.type_modifier())
                };
                if found.is_none() && typmod == field.type_modifier() {
                    return field;
                }
                let (table, attnum) = match found {
                    Some((oid, attnum)) => (Some(oid), Some(attnum)),
                    None => (field.table_id(), field.column_id()),
                };
                FieldInfo::new(
                    field.name().to_string(),
                    table,
                    attnum,
                    field.datatype().clone(),
                    field.format(),
                )
                .with_format_options(Arc::clone(field.format_options()))
                .with_type_size(field.type_size())
                .with_type_modifier(typmod)
            })
            .collect()
    }
}

/// For each result column of `plan`, whether PostgreSQL describes it with
/// no type modifier: a select-list item that is neither a column nor a
/// cast (`1.50`, `extract(…)`, `sum(x)`, `x * 2`, `$1`) has -1 in
/// PostgreSQL, whatever precision and scale its Arrow decimal has here.
/// A column keeps its type's (through a subquery too), and so does a cast
/// to `numeric(p, s)`.
fn computed_items(plan: &LogicalPlan) -> Vec<bool> {
    use datafusion::logical_expr::Expr;
    fn computed(expr: &Expr) -> bool {
        match expr {
            Expr::Alias(alias) => computed(&alias.expr),
            // An aggregate's or window's result is an unqualified column
            // of the node below.
            Expr::Column(column) => column.relation.is_none(),
            Expr::Cast(_) | Expr::TryCast(_) => false,
            _ => true,
        }
    }
    crate::literals::select_list(plan)
        .map(|items| items.iter().map(computed).collect())
        .unwrap_or_default()
}

/// PostgreSQL's type modifier of a `numeric(p, s)` column, `((p << 16) |
/// s) + 4`, which pgjdbc's getPrecision/getScale and psycopg read.
/// DataFusion types an unconstrained `numeric` as Decimal128(38, 10): that
/// one keeps -1, as PostgreSQL's unconstrained numeric does.
pub(crate) fn numeric_typmod(
    arrow: &datafusion::arrow::datatypes::DataType,
    pg: &pgwire::api::Type,
) -> Option<i32> {
    use datafusion::arrow::datatypes::DataType;
    if *pg != pgwire::api::Type::NUMERIC {
        return None;
    }
    let (precision, scale) = match arrow {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => (i32::from(*p), i32::from(*s)),
        _ => return None,
    };
    if (precision, scale) == (38, 10) || scale < 0 {
        return None;
    }
    Some(((precision << 16) | scale) + 4)
}

/// The relations `plan` scans, by the qualifier their columns carry: the
/// scanned name, and any alias given to the scan directly.
fn sources(plan: &LogicalPlan) -> HashMap<String, Source> {
    let mut found = HashMap::new();
    let _ = plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) => {
                if let Some(source) = source_of(&scan.table_name, scan.source.schema()) {
                    found.insert(scan.table_name.to_string(), source);
                }
            }
            LogicalPlan::SubqueryAlias(alias) => {
                if let LogicalPlan::TableScan(scan) = alias.input.as_ref()
                    && let Some(source) = source_of(&scan.table_name, scan.source.schema())
                {
                    found.insert(alias.alias.to_string(), source);
                }
            }
            _ => {}
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    found
}

fn source_of(name: &TableReference, schema: SchemaRef) -> Option<Source> {
    let key = match name {
        // Resolved through search_path: found below by name alone.
        TableReference::Bare { table } => (String::new(), table.to_string()),
        TableReference::Partial { schema, table } | TableReference::Full { schema, table, .. } => {
            (schema.to_string(), table.to_string())
        }
    };
    Some(Source { key, schema })
}

/// The OID of (schema, name); with no schema (a name resolved through
/// search_path), of the only relation of that name, if there is one.
fn lookup(oids: &HashMap<(String, String), i32>, key: &(String, String)) -> Option<i32> {
    if !key.0.is_empty() {
        return oids.get(key).copied();
    }
    let mut matching = oids.iter().filter(|((_, name), _)| *name == key.1);
    match (matching.next(), matching.next()) {
        (Some((_, oid)), None) => Some(*oid),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::DataType;

    #[test]
    fn relation_names_are_qualified_unless_visible_on_the_path() {
        let oids = TableOids::new(datafusion::prelude::SessionContext::new());
        let known = [
            (("pg_catalog", "pg_class"), 1259),
            (("clients", "people"), 16400),
            (("sales", "people"), 16401),
            (("Mixed Case", "T"), 16402),
        ];
        if let Ok(mut map) = oids.oids.write() {
            for ((schema, name), oid) in known {
                map.insert(schema, name, oid);
            }
        }
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let name = |oid, p: &[&str]| oids.relation_name(oid, &path(p), |s| s != "secret");
        assert_eq!(name(1259, &["public"]).as_deref(), Some("pg_class"));
        assert_eq!(name(16400, &["public"]).as_deref(), Some("clients.people"));
        assert_eq!(
            name(16400, &["clients", "sales"]).as_deref(),
            Some("people")
        );
        // sales.people is hidden by clients.people, earlier on the path.
        assert_eq!(
            name(16401, &["clients", "sales"]).as_deref(),
            Some("sales.people")
        );
        assert_eq!(
            name(16402, &["public"]).as_deref(),
            Some("\"Mixed Case\".\"T\"")
        );
        assert_eq!(name(99, &["public"]), None);
        if let Ok(mut map) = oids.oids.write() {
            map.insert("secret", "payroll", 16403);
        }
        assert_eq!(name(16403, &["secret"]), None);
    }

    #[test]
    fn numeric_type_modifiers_as_postgresql_packs_them() {
        // PostgreSQL 15: numeric(12,3) is 786439, numeric(10,2) 655366.
        assert_eq!(
            numeric_typmod(&DataType::Decimal128(12, 3), &pgwire::api::Type::NUMERIC),
            Some(786439)
        );
        assert_eq!(
            numeric_typmod(&DataType::Decimal128(10, 2), &pgwire::api::Type::NUMERIC),
            Some(655366)
        );
        assert_eq!(
            numeric_typmod(&DataType::Decimal128(38, 10), &pgwire::api::Type::NUMERIC),
            None
        );
        assert_eq!(
            numeric_typmod(&DataType::Int64, &pgwire::api::Type::INT8),
            None
        );
    }

    #[tokio::test]
    async fn only_columns_and_casts_keep_a_type_modifier() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql("CREATE TABLE t (x DECIMAL(12, 2))")
            .await
            .expect("create");
        let plan = ctx
            .state()
            .create_logical_plan(
                "SELECT t.x, s.x AS y, CAST(t.x AS DECIMAL(10, 1)) AS c, t.x * 2 AS d, \
                 1.50 AS e, sum(t.x) OVER () AS f FROM t, (SELECT x FROM t) s ORDER BY 1 LIMIT 1",
            )
            .await
            .expect("plans");
        assert_eq!(
            computed_items(&plan),
            vec![false, false, false, true, true, true]
        );
    }
}
