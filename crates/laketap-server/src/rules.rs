//! laketap's analyzer rules. [`UntypedLiterals`] runs before DataFusion's
//! type coercion: a string literal compared with a boolean is read as a
//! boolean, as PostgreSQL reads an untyped literal as the other side's type
//! (`i.indisprimary = 't'`, Tableau's catalog queries), where DataFusion
//! refused "Boolean = Utf8". (In a select list DataFusion computes the
//! comparison's type while planning, before any analyzer rule, and still
//! refuses it.) [`PgExpressions`] runs after it: PostgreSQL's meaning of
//! expressions DataFusion reads otherwise ([`crate::bytea`] literals,
//! [`crate::like`] escapes, [`crate::timetext`] casts, [`crate::timeinput`]
//! timestamp input, [`crate::pgtypes`]
//! json/jsonb/uuid casts), applied in a single
//! bottom-up walk of each plan, subqueries included. Each rewritten
//! expression keeps its name (the plan's schema is checked against it after
//! each optimizer rule).

use std::sync::Arc;

use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// The analyzer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct PgExpressions;

impl AnalyzerRule for PgExpressions {
    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let styles = crate::pgstyle::Styles::of_options(config);
        plan.transform_up_with_subqueries(|node| {
            let node = match node {
                LogicalPlan::TableScan(scan) if is_information_schema_columns(&scan.table_name) => {
                    return postgres_data_types(scan);
                }
                other => other,
            };
            // The inputs' schema, merged only if a rewrite asks for it
            // (a cast to text, to learn what it casts).
            let inputs = InputSchema::of(&node);
            let schema = || inputs.get();
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                Ok(expr
                    .transform_up(|e| rewrite(e, &schema, styles))?
                    .update_data(|expr| name.restore(expr)))
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "laketap_pg_expressions"
    }
}

pub(crate) use laketap_engine::analysis::InputSchema;

/// `a - b` of two timestamps or two timestamptz: PostgreSQL's interval
/// (`crate::interval::TimestampDifference`), whatever zone each timestamptz
/// is labelled with. DataFusion gave a duration in hours, which compared
/// wrongly with intervals, and refused `now() - query_start`
/// (`Timestamp(ns, "Etc/UTC") - Timestamp(µs, "UTC")`) while planning the SQL.
#[derive(Debug)]
pub struct ZonedDifferences {
    difference: Arc<datafusion::logical_expr::ScalarUDF>,
}

impl Default for ZonedDifferences {
    fn default() -> Self {
        ZonedDifferences {
            difference: Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(
                crate::interval::TimestampDifference::default(),
            )),
        }
    }
}

impl datafusion::logical_expr::planner::ExprPlanner for ZonedDifferences {
    fn plan_binary_op(
        &self,
        expr: datafusion::logical_expr::planner::RawBinaryExpr,
        schema: &datafusion::common::DFSchema,
    ) -> DfResult<
        datafusion::logical_expr::planner::PlannerResult<
            datafusion::logical_expr::planner::RawBinaryExpr,
        >,
    > {
        use datafusion::arrow::datatypes::DataType;
        use datafusion::logical_expr::ExprSchemable;
        use datafusion::logical_expr::planner::{PlannerResult, RawBinaryExpr};
        use datafusion::sql::sqlparser::ast::BinaryOperator;
        if expr.op != BinaryOperator::Minus {
            return Ok(PlannerResult::Original(expr));
        }
        // Whether each side is a timestamp, and whether it has a zone.
        let zoned = |e: &Expr| match e.get_type(schema) {
            Ok(DataType::Timestamp(_, zone)) => Some(zone.is_some()),
            _ => None,
        };
        match (zoned(&expr.left), zoned(&expr.right)) {
            (Some(left), Some(right)) if left == right => {
                let RawBinaryExpr { left, right, .. } = expr;
                Ok(PlannerResult::Planned(
                    self.difference.call(vec![left, right]),
                ))
            }
            _ => Ok(PlannerResult::Original(RawBinaryExpr {
                op: expr.op,
                left: expr.left,
                right: expr.right,
            })),
        }
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct UntypedLiterals;

impl UntypedLiterals {
    /// Installs the rule in `ctx`'s session, in front of type coercion.
    pub fn install(ctx: &datafusion::prelude::SessionContext) {
        laketap_engine::analysis::insert_before_type_coercion(ctx, Arc::new(UntypedLiterals));
    }
}

/// PostgreSQL's boolean input (`boolin`): unique prefixes of true, yes, on,
/// false, no, off, and 1 / 0, any case, surrounding spaces ignored.
pub fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    if t == "1" || prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) {
        Some(true)
    } else if t == "0" || prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) {
        Some(false)
    } else {
        None
    }
}

impl AnalyzerRule for UntypedLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        use datafusion::logical_expr::expr::BinaryExpr;
        use datafusion::logical_expr::{ExprSchemable, Operator};
        use datafusion::scalar::ScalarValue;
        plan.transform_up_with_subqueries(|node| {
            let inputs = InputSchema::of(&node);
            let schema = || inputs.get();
            let text = |e: &Expr| match e {
                Expr::Literal(
                    ScalarValue::Utf8(Some(t))
                    | ScalarValue::Utf8View(Some(t))
                    | ScalarValue::LargeUtf8(Some(t)),
                    _,
                ) => Some(t.clone()),
                _ => None,
            };
            let boolean = |e: &Expr| {
                matches!(
                    e.get_type(schema()),
                    Ok(datafusion::arrow::datatypes::DataType::Boolean)
                )
            };
            let as_bool = |t: &str| {
                parse_bool(t)
                    .map(|b| Expr::Literal(ScalarValue::Boolean(Some(b)), None))
                    .ok_or_else(|| {
                        datafusion::error::DataFusionError::Plan(format!(
                            "invalid input syntax for type boolean: \"{t}\""
                        ))
                    })
            };
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                Ok(expr
                    .transform_up(|e| match e {
                        Expr::BinaryExpr(BinaryExpr { left, op, right })
                            if matches!(
                                op,
                                Operator::Eq
                                    | Operator::NotEq
                                    | Operator::IsDistinctFrom
                                    | Operator::IsNotDistinctFrom
                            ) =>
                        {
                            let (left, right) = match (text(&left), text(&right)) {
                                (Some(t), None) if boolean(&right) => (as_bool(&t)?, *right),
                                (None, Some(t)) if boolean(&left) => (*left, as_bool(&t)?),
                                _ => {
                                    return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                                        left,
                                        op,
                                        right,
                                    })));
                                }
                            };
                            Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                                Box::new(left),
                                op,
                                Box::new(right),
                            ))))
                        }
                        other => Ok(Transformed::no(other)),
                    })?
                    .update_data(|expr| name.restore(expr)))
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "laketap_untyped_literals"
    }
}

fn is_information_schema_columns(table: &datafusion::common::TableReference) -> bool {
    table.table() == "columns" && table.schema() == Some("information_schema")
}

/// `information_schema.columns` with `data_type` in PostgreSQL's words
/// (`bigint`, `timestamp without time zone`, `ARRAY`), as Grafana's column
/// picker and other SQL builders read it; DataFusion's provider writes Arrow
/// type names (`Int64`, `Timestamp(µs)`).
fn postgres_data_types(
    scan: datafusion::logical_expr::TableScan,
) -> DfResult<Transformed<LogicalPlan>> {
    use datafusion::logical_expr::{Projection, Volatility, create_udf};
    let qualifier = scan.table_name.clone();
    let names = Arc::new(create_udf(
        "laketap_pg_data_type",
        vec![datafusion::arrow::datatypes::DataType::Utf8],
        datafusion::arrow::datatypes::DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[datafusion::logical_expr::ColumnarValue]| {
            use datafusion::arrow::array::{Array, AsArray, StringArray};
            let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(args)?;
            let names = arrays[0].as_string::<i32>();
            let out: StringArray = (0..names.len())
                .map(|i| (!names.is_null(i)).then(|| postgres_data_type(names.value(i))))
                .collect();
            Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
                out,
            )))
        }),
    ));
    let columns: Vec<Expr> = scan
        .projected_schema
        .columns()
        .into_iter()
        .map(|column| {
            if column.name == "data_type" {
                names
                    .call(vec![Expr::Column(column)])
                    .alias_qualified(Some(qualifier.clone()), "data_type")
            } else {
                Expr::Column(column)
            }
        })
        .collect();
    Ok(Transformed::yes(LogicalPlan::Projection(
        Projection::try_new(columns, Arc::new(LogicalPlan::TableScan(scan)))?,
    )))
}

/// PostgreSQL's `information_schema` name of the type DataFusion writes as
/// `arrow` (unknown names, and PostgreSQL's own, are returned as they are).
fn postgres_data_type(arrow: &str) -> &str {
    match arrow {
        "Boolean" => "boolean",
        "Int8" | "Int16" | "UInt8" => "smallint",
        "Int32" | "UInt16" => "integer",
        "Int64" | "UInt32" => "bigint",
        "UInt64" => "numeric",
        "Float16" | "Float32" => "real",
        "Float64" => "double precision",
        "Utf8" | "Utf8View" | "LargeUtf8" => "text",
        "Binary" | "BinaryView" | "LargeBinary" => "bytea",
        "Date32" | "Date64" => "date",
        other if other.starts_with("Decimal") => "numeric",
        other if other.starts_with("Timestamp(") => {
            if other.contains(',') {
                "timestamp with time zone"
            } else {
                "timestamp without time zone"
            }
        }
        other if other.starts_with("Time32(") || other.starts_with("Time64(") => {
            "time without time zone"
        }
        other if other.starts_with("Interval(") || other.starts_with("Duration(") => "interval",
        other if other.starts_with("FixedSizeBinary(") => "bytea",
        other
            if other.starts_with("List(")
                || other.starts_with("LargeList(")
                || other.starts_with("FixedSizeList(")
                || other.starts_with("ListView(") =>
        {
            "ARRAY"
        }
        other => other,
    }
}

fn rewrite<'a>(
    expr: Expr,
    schema: &dyn Fn() -> &'a DFSchema,
    styles: crate::pgstyle::Styles,
) -> DfResult<Transformed<Expr>> {
    // A cast to varchar is the cast to text inside it, rewritten as any
    // other, then tagged varchar.
    if let Some((text, length)) = crate::pgtypes::varchar_cast(&expr) {
        let text = rewrite(text, schema, styles)?.data;
        return Ok(Transformed::yes(crate::pgtypes::varchar(text, length)));
    }
    // json/jsonb/uuid casts before timetext's casts to text: theirs are casts
    // to text too, and a timestamp is no jsonb (42846).
    crate::bytea::rewrite(expr)?
        .transform_data(crate::pgtypes::rewrite)?
        .transform_data(|expr| crate::pgtypes::compared_literal(expr, schema))?
        .transform_data(crate::like::rewrite)?
        .transform_data(crate::timeinput::rewrite)?
        .transform_data(|expr| crate::timetext::rewrite(expr, schema, styles))?
        .transform_data(|expr| rounded_int_cast(expr, schema))
}

/// `CAST(9.5 AS integer)` is 10 in PostgreSQL, which rounds a float or
/// numeric to the nearest integer; DataFusion truncates (9). The operand
/// is rounded first (halves away from zero, as PostgreSQL's numeric; its
/// float8 rounds halves to even, so `2.5::float8::int` gives 3 here and 2
/// there).
fn rounded_int_cast<'a>(
    expr: Expr,
    schema: &dyn Fn() -> &'a DFSchema,
) -> DfResult<Transformed<Expr>> {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::{ExprSchemable, expr::Cast};
    let Expr::Cast(Cast { expr: inner, field }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    if !field.data_type().is_integer() {
        return Ok(Transformed::no(expr));
    }
    // Already rounded (the rule sees its own output when plans are analyzed
    // again, e.g. a view's).
    if matches!(inner.as_ref(), Expr::ScalarFunction(f) if f.name() == "round") {
        return Ok(Transformed::no(expr));
    }
    let Ok(source) = inner.get_type(schema()) else {
        return Ok(Transformed::no(expr));
    };
    if !matches!(
        source,
        DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
    ) {
        return Ok(Transformed::no(expr));
    }
    let rounded = datafusion::functions::math::expr_fn::round(vec![inner.as_ref().clone()]);
    Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(
        Box::new(rounded),
        field.clone(),
    ))))
}

/// The result of `sql` in `ctx`, as DataFusion's pretty table.
#[cfg(test)]
pub(crate) async fn table_text(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
    ctx.add_analyzer_rule(std::sync::Arc::new(PgExpressions));
    let batches = ctx
        .sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .expect("format")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_string_compared_with_a_boolean_is_read_as_one() {
        let ctx = datafusion::prelude::SessionContext::new();
        super::UntypedLiterals::install(&ctx);
        let table = super::table_text(
            &ctx,
            "SELECT b FROM (VALUES (true), (false), (NULL)) t(b) \
             WHERE b = 't' OR b IS NOT DISTINCT FROM 'off' ORDER BY b",
        )
        .await;
        assert_eq!(
            table,
            "+-------+\n\
             | b     |\n\
             +-------+\n\
             | false |\n\
             | true  |\n\
             +-------+"
        );
        let err = ctx
            .sql("SELECT 1 FROM (VALUES (true)) t(b) WHERE b = 'maybe'")
            .await
            .expect("plans")
            .collect()
            .await
            .expect_err("not a boolean");
        assert!(
            err.to_string()
                .contains("invalid input syntax for type boolean: \"maybe\""),
            "{err}"
        );
        for (text, value) in [("T", Some(true)), (" on ", Some(true)), ("of", Some(false))] {
            assert_eq!(super::parse_bool(text), value, "{text}");
        }
        assert_eq!(super::parse_bool("o"), None);
    }

    #[tokio::test]
    async fn information_schema_columns_name_postgresql_types() {
        let ctx = datafusion::prelude::SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_information_schema(true),
        );
        ctx.sql(
            "CREATE TABLE t AS SELECT 1 AS i, 'a' AS s, CAST(1.5 AS DECIMAL(5,2)) AS d, \
             CAST('2026-01-01' AS TIMESTAMP) AS ts, make_array(1, 2) AS a",
        )
        .await
        .expect("plan")
        .collect()
        .await
        .expect("create");
        let table = super::table_text(
            &ctx,
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_name = 't' ORDER BY ordinal_position",
        )
        .await;
        assert_eq!(
            table,
            "+-------------+-----------------------------+\n\
             | column_name | data_type                   |\n\
             +-------------+-----------------------------+\n\
             | i           | bigint                      |\n\
             | s           | text                        |\n\
             | d           | numeric                     |\n\
             | ts          | timestamp without time zone |\n\
             | a           | ARRAY                       |\n\
             +-------------+-----------------------------+"
        );
        assert_eq!(
            super::postgres_data_type("Timestamp(µs, \"UTC\")"),
            "timestamp with time zone"
        );
        assert_eq!(super::postgres_data_type("bigint"), "bigint");
    }

    #[tokio::test]
    async fn casts_to_integers_round_as_postgresql() {
        // PostgreSQL 15: 10 | -10 | 3 | 7 | 2
        let ctx = datafusion::prelude::SessionContext::new();
        let table = super::table_text(
            &ctx,
            "SELECT CAST(9.5 AS INT) AS a, CAST(-9.5 AS INT) AS b, \
             CAST(CAST(2.5 AS DECIMAL(5,2)) AS BIGINT) AS c, CAST(7.49 AS SMALLINT) AS d, \
             CAST(x AS INT) AS e FROM (VALUES (2.25)) t(x)",
        )
        .await;
        assert_eq!(
            table,
            "+----+-----+---+---+---+\n\
             | a  | b   | c | d | e |\n\
             +----+-----+---+---+---+\n\
             | 10 | -10 | 3 | 7 | 2 |\n\
             +----+-----+---+---+---+"
        );
    }
}
