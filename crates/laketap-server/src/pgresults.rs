//! Result types PostgreSQL gives where DataFusion plans another, for the
//! expressions whose PostgreSQL type follows from their arguments' types.
//!
//! - `sum(int8)` is numeric in PostgreSQL (it cannot overflow); DataFusion's
//!   sum of an Int64 is an Int64. The argument is cast to
//!   `Decimal128(38, 0)` first, so the sum is a numeric of scale 0, as a
//!   window's `sum(x) OVER (…)` is. (`sum(int2)` and `sum(int4)` are int8
//!   in both.)
//! - `date_trunc(field, date)` is timestamptz in PostgreSQL: the date is
//!   read as midnight in the session's TimeZone first. DataFusion answered
//!   a timestamp without a zone. The date is cast to a timestamp and then
//!   to one in the session's zone (Arrow reads a zone-less timestamp as
//!   that zone's wall time), and truncated there.
//! - `row_number()`, `rank()` and `dense_rank()` are bigint and `ntile()`
//!   integer; DataFusion's are UInt64, which is described as numeric.
//! - `date ± interval` is a timestamp, `date - date` an integer, and
//!   `array_length()` / `cardinality()` integers (in select lists and
//!   groupings).
//! - `date_part(field, x)` is double precision; DataFusion's is int4 for
//!   most fields (in select lists and groupings; EXTRACT is numeric,
//!   [`crate::extract`]).
//! - numeric division and `avg()` of integers and numerics to PostgreSQL's
//!   scale ([`crate::pgnumeric`]), chosen from the types before coercion
//!   (after [`laketap_engine::numerics::FloatComparisons`]): a `CASE`
//!   whose first branch is an integer and a later one a numeric still
//!   divides as DataFusion does.
//!
//! [`postgres_result_types`] rewrites a plan so; each expression keeps its
//! name, and the plan's schemas are derived again. It runs where a plan's
//! result is described: on the extended protocol's plan at Parse (so the
//! RowDescription of Describe is what Execute sends), in
//! [`SimpleResultTypes`], which plans the simple protocol's queries, and on
//! a declared cursor's query
//! ([`crate::cursors`]). (Not as an analyzer rule: a result is described
//! from the plan before the analyzer runs, so the rows would not be what
//! the description says.) `COPY … TO` keeps
//! DataFusion's types, and so do the built-in views, planned on the
//! server's own context: mostly the same digits, but numeric division and
//! `avg()` there are DataFusion's (the dividend's scale + 4, truncated).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::{AggregateFunction, ScalarFunction, WindowFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator, WindowFunctionDefinition,
};

use datafusion::common::ParamValues;
use datafusion::config::ConfigOptions;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use pgwire::api::ClientInfo;
use pgwire::api::portal::Format;
use pgwire::api::results::Response;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::types::format::FormatOptions;

use crate::rules::InputSchema;

/// The type `sum(int8)`'s argument is cast to: a numeric of scale 0.
const SUM_INT8_AS: DataType = DataType::Decimal128(38, 0);

/// The zone a `timestamptz` has when the session set none (as
/// [`crate::params::arrow_type_of`] plans one).
const DEFAULT_ZONE: &str = "+00:00";

/// `plan` as it is described to a client: with PostgreSQL's result types
/// ([`postgres_result_types`], in the session's time zone), and typed as it
/// will run. DataFusion coerces types in its analyzer, when a plan runs;
/// before that, a plan's schema (what RowDescription is built from) can
/// say another type than the rows have: `CASE WHEN c THEN id ELSE score
/// END` has its first branch's type (int8, while the rows are float8,
/// which a driver then fails to read as integers), a `UNION` its first
/// input's. Type coercion is applied here too, so the description is the
/// executed one; a plan it cannot coerce yet (a parameter not typed
/// until Bind) is described as planned, as before.
pub fn described_plan(plan: LogicalPlan, config: &ConfigOptions) -> DfResult<LogicalPlan> {
    use datafusion::optimizer::AnalyzerRule;
    // Floats meeting numerics first, so that `avg(CASE … THEN 0.0 ELSE score END)`
    // is seen as the float8 it is before numeric avg() and division are chosen.
    let plan = laketap_engine::numerics::FloatComparisons
        .analyze(plan.clone(), config)
        .unwrap_or(plan);
    let plan = postgres_result_types(plan, config.execution.time_zone.as_deref())?;
    // As the analyzer runs them: laketap's untyped literals, then coercion.
    let coercion = datafusion::optimizer::analyzer::type_coercion::TypeCoercion::new();
    Ok(crate::rules::UntypedLiterals
        .analyze(plan.clone(), config)
        .and_then(|literals| coercion.analyze(literals, config))
        .unwrap_or(plan))
}

/// `plan` with PostgreSQL's result types (see the module documentation),
/// `time_zone` being the session's.
pub fn postgres_result_types(plan: LogicalPlan, time_zone: Option<&str>) -> DfResult<LogicalPlan> {
    let zone: Arc<str> = time_zone.unwrap_or(DEFAULT_ZONE).into();
    // Once a node changes type, every node above it derives its schema
    // again (a projection of the sum, a sort, a subquery's alias).
    let mut changed = false;
    plan.transform_up_with_subqueries(|node| {
        let at = Node {
            inputs: InputSchema::of(&node),
            zone: zone.clone(),
            windows: ranking_columns(&node),
            lists_results: matches!(node, LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_)),
        };
        let names = NamePreserver::new(&node);
        let rewritten = node.map_expressions(|expr| {
            let name = names.save(&expr);
            expr.transform_up(|e| rewrite(e, &at))?
                .transform_data(|e| {
                    Ok(if at.lists_results {
                        date_part_item(e, at.inputs.get())
                    } else {
                        Transformed::no(e)
                    })
                })
                .map(|t| t.update_data(|expr| name.restore(expr)))
        })?;
        changed |= rewritten.transformed;
        if changed {
            rewritten
                .map_data(|node| node.recompute_schema())
                .map(|node| Transformed::yes(node.data))
        } else {
            Ok(rewritten)
        }
    })
    .data()
}

/// What a rewrite knows of the plan node its expression is in.
struct Node {
    /// The node's input schemas, merged only when a function to rewrite
    /// asks for an argument's type.
    inputs: InputSchema,
    /// The session's time zone.
    zone: Arc<str>,
    /// Ranking window functions' result columns among the node's inputs,
    /// with PostgreSQL's type for them ([`ranking_columns`]).
    windows: HashMap<String, DataType>,
    /// Whether the node computes results a client sees (a select list or
    /// a grouping), where `date_part` is float8.
    lists_results: bool,
}

/// PostgreSQL's types of the ranking window functions, which DataFusion
/// answers as UInt64 (described as numeric): `row_number()`, `rank()` and
/// `dense_rank()` are bigint, `ntile(n)` integer.
fn ranking_type(function: &str) -> Option<DataType> {
    match function {
        "row_number" | "rank" | "dense_rank" => Some(DataType::Int64),
        "ntile" => Some(DataType::Int32),
        _ => None,
    }
}

/// The result columns of ranking window functions in `node`'s input (a
/// Window, or Windows one over another), by name, with PostgreSQL's type.
fn ranking_columns(node: &LogicalPlan) -> HashMap<String, DataType> {
    let mut columns = HashMap::new();
    let mut input = match node.inputs().as_slice() {
        [only] => Some(*only),
        _ => None,
    };
    while let Some(LogicalPlan::Window(window)) = input {
        let outputs = window.schema.fields().iter().rev();
        for (expr, field) in window.window_expr.iter().rev().zip(outputs) {
            let function = match expr.clone().unalias_nested().data {
                Expr::WindowFunction(w) => w.fun.name().to_string(),
                _ => continue,
            };
            if let Some(to) =
                ranking_type(&function).filter(|_| field.data_type() == &DataType::UInt64)
            {
                columns.insert(field.name().clone(), to);
            }
        }
        input = Some(window.input.as_ref());
    }
    columns
}

/// `expr` with PostgreSQL's result type, in the node `at`.
fn rewrite(expr: Expr, at: &Node) -> DfResult<Transformed<Expr>> {
    let (inputs, zone) = (&at.inputs, &at.zone);
    let is_int8 = |e: &Expr| matches!(e.get_type(inputs.get()), Ok(DataType::Int64));
    let is_date = |e: &Expr| {
        matches!(
            e.get_type(inputs.get()),
            Ok(DataType::Date32 | DataType::Date64)
        )
    };
    let is_sum = |name: &str| name.eq_ignore_ascii_case("sum");
    let is_exact = |e: &Expr| {
        e.get_type(inputs.get())
            .is_ok_and(|t| crate::pgnumeric::is_decimal(&t) || crate::pgnumeric::is_integer(&t))
    };
    match expr {
        Expr::AggregateFunction(mut f)
            if is_sum(f.func.name()) && matches!(f.params.args.as_slice(), [a] if is_int8(a)) =>
        {
            f.params.args = cast_all(f.params.args, &SUM_INT8_AS);
            Ok(Transformed::yes(Expr::AggregateFunction(
                AggregateFunction {
                    func: f.func,
                    params: f.params,
                },
            )))
        }
        // DISTINCT statistics (crate::pgvariance) with their inputs as their order,
        // which keeps DataFusion's single-distinct rule from planning them as a
        // GROUP BY feeding a plain aggregate in hash order: PostgreSQL sums the
        // distinct values sorted.
        Expr::AggregateFunction(mut f)
            if f.params.distinct
                && f.params.order_by.is_empty()
                && f.params.filter.is_none()
                && crate::pgvariance::is_statistic(f.func.name()) =>
        {
            f.params.order_by = f
                .params
                .args
                .iter()
                .map(|a| datafusion::logical_expr::SortExpr::new(a.clone(), true, false))
                .collect();
            Ok(Transformed::yes(Expr::AggregateFunction(f)))
        }
        // avg() of integers and numerics is a numeric (crate::pgnumeric).
        Expr::AggregateFunction(mut f)
            if f.func.name().eq_ignore_ascii_case("avg")
                && matches!(f.params.args.as_slice(), [a] if is_exact(a)) =>
        {
            f.func = crate::pgnumeric::avg();
            Ok(Transformed::yes(Expr::AggregateFunction(f)))
        }
        Expr::WindowFunction(mut w)
            if matches!(&w.fun, WindowFunctionDefinition::AggregateUDF(f) if f.name().eq_ignore_ascii_case("avg"))
                && !w.params.distinct
                && matches!(w.params.args.as_slice(), [a] if is_exact(a)) =>
        {
            w.fun = WindowFunctionDefinition::AggregateUDF(crate::pgnumeric::avg());
            Ok(Transformed::yes(Expr::WindowFunction(w)))
        }
        // numeric / numeric (or an integer) to PostgreSQL's scale (crate::pgnumeric).
        Expr::BinaryExpr(b) if b.op == Operator::Divide && numeric_division(&b, inputs.get()) => {
            Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(crate::pgnumeric::numeric_div(), vec![*b.left, *b.right]),
            )))
        }
        Expr::WindowFunction(mut w)
            if matches!(&w.fun, WindowFunctionDefinition::AggregateUDF(f) if is_sum(f.name()))
                && matches!(w.params.args.as_slice(), [a] if is_int8(a)) =>
        {
            let WindowFunction { fun, params } = *w;
            w = Box::new(WindowFunction {
                fun,
                params: datafusion::logical_expr::expr::WindowFunctionParams {
                    args: cast_all(params.args, &SUM_INT8_AS),
                    ..params
                },
            });
            Ok(Transformed::yes(Expr::WindowFunction(w)))
        }
        Expr::ScalarFunction(mut f)
            if f.func.name() == "date_trunc"
                && matches!(f.args.as_slice(), [_, d] if is_date(d)) =>
        {
            if let Some(date) = f.args.pop() {
                let schema = inputs.get();
                let wall =
                    date.cast_to(&DataType::Timestamp(TimeUnit::Microsecond, None), schema)?;
                let at_zone = wall.cast_to(
                    &DataType::Timestamp(TimeUnit::Microsecond, Some(zone.clone())),
                    schema,
                )?;
                f.args.push(at_zone);
            }
            Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction {
                func: f.func,
                args: f.args,
            })))
        }
        Expr::Column(c) if c.relation.is_none() && at.windows.contains_key(&c.name) => {
            let to = at.windows.get(&c.name).cloned().unwrap_or(DataType::Int64);
            Ok(Transformed::yes(Expr::Cast(
                datafusion::logical_expr::Cast::new(Box::new(Expr::Column(c)), to),
            )))
        }
        // date ± interval is a timestamp in PostgreSQL (DataFusion: a date),
        // and date - date an integer number of days (DataFusion: int8).
        Expr::BinaryExpr(b)
            if at.lists_results && matches!(b.op, Operator::Plus | Operator::Minus) =>
        {
            let kind = |e: &Expr| match e.get_type(inputs.get()) {
                Ok(DataType::Date32 | DataType::Date64) => Some(true),
                Ok(DataType::Interval(_)) => Some(false),
                _ => None,
            };
            let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
            let as_timestamp = |e: Expr| {
                Box::new(Expr::Cast(datafusion::logical_expr::Cast::new(
                    Box::new(e),
                    timestamp.clone(),
                )))
            };
            match (kind(&b.left), kind(&b.right), b.op) {
                (Some(true), Some(false), _) => Ok(Transformed::yes(Expr::BinaryExpr(
                    BinaryExpr::new(as_timestamp(*b.left), b.op, b.right),
                ))),
                (Some(false), Some(true), Operator::Plus) => Ok(Transformed::yes(
                    Expr::BinaryExpr(BinaryExpr::new(b.left, b.op, as_timestamp(*b.right))),
                )),
                (Some(true), Some(true), Operator::Minus)
                    if !matches!(
                        Expr::BinaryExpr(b.clone()).get_type(inputs.get()),
                        Ok(DataType::Int32)
                    ) =>
                {
                    Ok(Transformed::yes(Expr::Cast(
                        datafusion::logical_expr::Cast::new(
                            Box::new(Expr::BinaryExpr(b)),
                            DataType::Int32,
                        ),
                    )))
                }
                _ => Ok(Transformed::no(Expr::BinaryExpr(b))),
            }
        }
        // array_length() and cardinality() are integer (DataFusion: UInt64,
        // described as numeric).
        Expr::ScalarFunction(f)
            if at.lists_results
                && matches!(f.func.name(), "array_length" | "cardinality")
                && matches!(
                    Expr::ScalarFunction(f.clone()).get_type(inputs.get()),
                    Ok(DataType::UInt64)
                ) =>
        {
            Ok(Transformed::yes(Expr::Cast(
                datafusion::logical_expr::Cast::new(
                    Box::new(Expr::ScalarFunction(f)),
                    DataType::Int32,
                ),
            )))
        }
        // AT TIME ZONE (crate::attimezone) in the session's zone.
        Expr::ScalarFunction(f) if f.func.name() == crate::attimezone::NAME => {
            at_session_zone(f, inputs.get(), zone)
        }
        // age() of a timestamptz: its wall time in the session's zone.
        Expr::ScalarFunction(mut f)
            if f.func.name() == "age"
                && f.args.iter().any(|a| {
                    matches!(
                        a.get_type(inputs.get()),
                        Ok(DataType::Timestamp(_, Some(_)))
                    )
                }) =>
        {
            let schema = inputs.get();
            f.args = f
                .args
                .into_iter()
                .map(|a| match a.get_type(schema) {
                    Ok(DataType::Timestamp(_, Some(_))) => wall_time(a, zone),
                    _ => a,
                })
                .collect();
            Ok(Transformed::yes(Expr::ScalarFunction(f)))
        }
        other => Ok(Transformed::no(other)),
    }
}

/// Whether `b` (a division) divides numerics in PostgreSQL: a numeric by a numeric
/// or an integer, or an integer by a numeric.
fn numeric_division(b: &BinaryExpr, schema: &datafusion::common::DFSchema) -> bool {
    use crate::pgnumeric::{is_decimal, is_integer};
    match (b.left.get_type(schema), b.right.get_type(schema)) {
        (Ok(l), Ok(r)) => {
            (is_decimal(&l) && (is_decimal(&r) || is_integer(&r)))
                || (is_integer(&l) && is_decimal(&r))
        }
        _ => false,
    }
}

/// `x` as the wall time in `zone` (`x AT TIME ZONE zone`).
fn wall_time(x: Expr, zone: &Arc<str>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(
            crate::attimezone::PgAtTimeZone::default(),
        )),
        vec![x, datafusion::logical_expr::lit(zone.as_ref())],
    ))
}

/// `x AT TIME ZONE z` as PostgreSQL resolves it in a session of `zone`: a
/// date, text or NULL is a timestamptz there (so the result is a wall
/// time), and a timestamptz result is shown in the session's zone (the
/// same instant).
fn at_session_zone(
    mut f: ScalarFunction,
    schema: &datafusion::common::DFSchema,
    zone: &Arc<str>,
) -> DfResult<Transformed<Expr>> {
    let session_timestamptz = DataType::Timestamp(TimeUnit::Microsecond, Some(zone.clone()));
    let mut changed = false;
    if let Some(first) = f.args.first_mut()
        && !matches!(first.get_type(schema), Ok(DataType::Timestamp(_, _)))
    {
        let value = std::mem::replace(
            first,
            Expr::Literal(datafusion::common::ScalarValue::Null, None),
        );
        *first = value.cast_to(&session_timestamptz, schema)?;
        changed = true;
    }
    let call = Expr::ScalarFunction(f);
    Ok(match call.get_type(schema) {
        Ok(DataType::Timestamp(_, Some(z))) if z != *zone => Transformed::yes(Expr::Cast(
            datafusion::logical_expr::Cast::new(Box::new(call), session_timestamptz),
        )),
        _ if changed => Transformed::yes(call),
        _ => Transformed::no(call),
    })
}

/// PostgreSQL's date_part() is double precision (EXTRACT is numeric,
/// crate::extract); DataFusion's is int4 for most fields. Only a select
/// item or grouping that is the call (under its alias) is retyped: inside
/// an expression (`date_part('year', d) || '-'`) the integer's text is
/// PostgreSQL's float8 text (`2026`), which Arrow's float text is not.
fn date_part_item(expr: Expr, schema: &datafusion::common::DFSchema) -> Transformed<Expr> {
    let is_date_part = |e: &Expr| match e {
        Expr::ScalarFunction(f) => {
            f.func.name() == "date_part" && !matches!(e.get_type(schema), Ok(DataType::Float64))
        }
        _ => false,
    };
    let float = |e: Expr| {
        Expr::Cast(datafusion::logical_expr::Cast::new(
            Box::new(e),
            DataType::Float64,
        ))
    };
    match expr {
        Expr::Alias(alias) if is_date_part(&alias.expr) => {
            let datafusion::logical_expr::expr::Alias {
                expr,
                relation,
                name,
                metadata,
            } = alias;
            Transformed::yes(Expr::Alias(datafusion::logical_expr::expr::Alias {
                expr: Box::new(float(*expr)),
                relation,
                name,
                metadata,
            }))
        }
        e if is_date_part(&e) => Transformed::yes(float(e)),
        e => Transformed::no(e),
    }
}

fn cast_all(args: Vec<Expr>, to: &DataType) -> Vec<Expr> {
    args.into_iter()
        .map(|a| Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(a), to.clone())))
        .collect()
}

/// The simple protocol's queries, planned and run here as
/// [`described_plan`] types them (datafusion-postgres describes a simple
/// query by the plan as the SQL planner made it), and otherwise answered
/// as datafusion-postgres answers a query. The hooks before this one
/// answer the statements they own; other statements than queries are left
/// to datafusion-postgres.
#[derive(Debug, Default)]
pub struct SimpleResultTypes;

#[async_trait::async_trait]
impl QueryHook for SimpleResultTypes {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !matches!(statement, Statement::Query(_)) {
            return None;
        }
        let state = session_context.state();
        let api = |e: datafusion::error::DataFusionError| PgWireError::ApiError(Box::new(e));
        let answer = async {
            let plan = state
                .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                    statement.clone(),
                )))
                .await
                .map_err(api)?;
            let plan = described_plan(plan, state.config_options()).map_err(api)?;
            let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
            // As `SessionContext::sql` runs a plan (`SELECT … INTO` is DDL).
            let frame = session_context
                .execute_logical_plan(plan)
                .await
                .map_err(api)?;
            arrow_pg::datatypes::df::encode_dataframe(frame, &Format::UnifiedText, Some(options))
                .await
                .map(Response::Query)
        };
        Some(answer.await)
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        None
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        _session_context: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// The types and text of `sql`'s single row, in a session with the rule.
    async fn answered(sql: &str, time_zone: Option<&str>) -> (Vec<DataType>, Vec<String>) {
        let ctx = SessionContext::new();
        ctx.sql(
            "CREATE TABLE t (k int, i bigint, s int, d date) AS VALUES \
             (1, 9223372036854775807, 1, DATE '2026-03-02'), \
             (1, 9223372036854775807, 2, DATE '2026-03-03')",
        )
        .await
        .expect("table");
        let plan = ctx.state().create_logical_plan(sql).await.expect("planned");
        let plan = postgres_result_types(plan, time_zone).expect("rewritten");
        let described: Vec<DataType> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let batches = ctx
            .execute_logical_plan(plan)
            .await
            .expect("executes")
            .collect()
            .await
            .expect("collects");
        let returned = crate::test_util::types(&batches[0]);
        assert_eq!(described, returned, "{sql}: described as executed");
        (returned, crate::test_util::row_text(&batches[0], 0))
    }

    #[tokio::test]
    async fn sum_of_int8_is_numeric_and_does_not_overflow() {
        let (types, row) = answered(
            "SELECT sum(i) AS total, sum(s) AS small, sum(i) FILTER (WHERE s = 2) AS f \
             FROM t GROUP BY k ORDER BY total",
            None,
        )
        .await;
        assert_eq!(
            types,
            [SUM_INT8_AS, DataType::Int64, SUM_INT8_AS],
            "sum(int4) stays int8"
        );
        assert_eq!(
            row,
            ["18446744073709551614", "3", "9223372036854775807"],
            "2 × i64::MAX, exactly"
        );
    }

    #[tokio::test]
    async fn numeric_division_and_avg_have_postgresqls_digits() {
        // PostgreSQL 15.18 answers 9223372036854775807, 1.5000000000000000,
        // 9223372036854775807, 1.00000000000000000000 and 0.33333333333333333333: the
        // same values, here with the column's scale.
        let (types, row) = answered(
            "SELECT avg(i) AS a, avg(s) AS b, sum(i) / count(*) AS c, \
             sum(CAST(s AS numeric(10,2))) / 3 AS d, CAST(1 AS numeric) / 3 AS e FROM t",
            None,
        )
        .await;
        let decimal = |scale| DataType::Decimal128(38, scale);
        assert_eq!(
            types,
            [
                decimal(19),
                decimal(20),
                decimal(16),
                decimal(20),
                decimal(16)
            ]
        );
        assert_eq!(
            row,
            [
                "9223372036854775807.0000000000000000000",
                "1.50000000000000000000",
                "9223372036854775807.0000000000000000",
                "1.00000000000000000000",
                // DataFusion's unconstrained numeric has 28 integer digits: 16 are left.
                "0.3333333333333333",
            ]
        );
        // PostgreSQL: 1.00000000000000000000 then 1.5000000000000000.
        let (types, row) = answered(
            "SELECT avg(s) OVER (ORDER BY s) AS w FROM t ORDER BY s DESC",
            None,
        )
        .await;
        assert_eq!(
            (types, row),
            (
                vec![decimal(20)],
                vec!["1.50000000000000000000".to_string()]
            )
        );
    }

    #[tokio::test]
    async fn windowed_sum_of_int8_is_numeric() {
        let (types, row) = answered(
            "SELECT sum(i) OVER (ORDER BY s) AS running FROM t ORDER BY s DESC LIMIT 1",
            None,
        )
        .await;
        assert_eq!(types, [SUM_INT8_AS]);
        assert_eq!(row, ["18446744073709551614"]);
    }

    #[tokio::test]
    async fn a_rewritten_plan_is_left_as_it_is() {
        let ctx = SessionContext::new();
        let plan = ctx
            .state()
            .create_logical_plan("SELECT sum(x) AS v FROM (VALUES (CAST(1 AS BIGINT))) AS v(x)")
            .await
            .expect("planned");
        let once = postgres_result_types(plan, None).expect("once");
        let twice = postgres_result_types(once.clone(), None).expect("twice");
        assert_eq!(once, twice);
    }

    #[tokio::test]
    async fn ranks_are_bigint_and_date_part_is_float8() {
        let (types, row) = answered(
            "SELECT row_number() OVER (ORDER BY s DESC) AS r, rank() OVER (ORDER BY k) AS rk, \
             ntile(2) OVER (ORDER BY s) AS n, date_part('month', d) AS m, \
             date_part('epoch', d) AS e \
             FROM t ORDER BY r DESC LIMIT 1",
            None,
        )
        .await;
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Int64,
                DataType::Int32,
                DataType::Float64,
                DataType::Float64
            ]
        );
        assert_eq!(row, ["2", "1", "1", "3.0", "1772409600.0"]);
        let (types, _) = answered(
            "SELECT date_part('day', d) AS day, count(*) AS c FROM t GROUP BY 1 ORDER BY 1",
            None,
        )
        .await;
        assert_eq!(types, [DataType::Float64, DataType::Int64], "grouped");
    }

    #[tokio::test]
    async fn date_arithmetic_and_array_lengths_have_postgresql_types() {
        let (types, row) = answered(
            "SELECT d + INTERVAL '1 month' AS m, INTERVAL '1 day' + d AS p, \
             d - INTERVAL '2 hours' AS h, d - DATE '2026-03-01' AS n, \
             array_length(make_array(1, 2), 1) AS l, cardinality(make_array(1, 2, 3)) AS c \
             FROM t WHERE s = 1",
            None,
        )
        .await;
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
        assert_eq!(
            types,
            [
                timestamp.clone(),
                timestamp.clone(),
                timestamp,
                DataType::Int32,
                DataType::Int32,
                DataType::Int32
            ]
        );
        assert_eq!(
            row,
            [
                "2026-04-02T00:00:00",
                "2026-03-03T00:00:00",
                "2026-03-01T22:00:00",
                "1",
                "2",
                "3"
            ]
        );
    }

    #[tokio::test]
    async fn date_trunc_of_a_date_is_a_timestamptz_at_local_midnight() {
        let (types, row) = answered(
            "SELECT date_trunc('day', d) AS day, date_trunc('month', d) AS month \
             FROM t WHERE s = 2",
            Some("Europe/Paris"),
        )
        .await;
        let paris = DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into()));
        assert_eq!(types, [paris.clone(), paris]);
        // Midnight in Paris (UTC+1 in March), not midnight UTC.
        assert_eq!(
            row,
            ["2026-03-03T00:00:00+01:00", "2026-03-01T00:00:00+01:00"],
            "instants of local midnight"
        );
        let (types, row) = answered("SELECT date_trunc('day', d) FROM t WHERE s = 1", None).await;
        assert_eq!(
            types,
            [DataType::Timestamp(
                TimeUnit::Microsecond,
                Some(DEFAULT_ZONE.into())
            )]
        );
        assert_eq!(row, ["2026-03-02T00:00:00Z"]);
    }
}
