//! Floats meeting numerics, as PostgreSQL resolves them.
//!
//! laketap reads a number with a point (`3.03`) as a numeric, as PostgreSQL
//! does (`sql_parser.parse_float_as_decimal`; see [`crate::Engine::start`]).
//! Where a float meets a numeric, PostgreSQL works in float8 (the numeric is
//! cast): `score > 3.03`, `coalesce(score, 0.0)`, `CASE … THEN score ELSE 0.0
//! END`, `SELECT score … UNION SELECT 0.5` are float8. DataFusion goes the
//! other way in comparisons and in picking a common type, casting the float
//! to `Decimal128(30, 15)`: that drops the float's digits past the 15th
//! decimal (`3.0300000000000002 = 3.03` was true, `coalesce(1e-300, 0.0)`
//! was 0), fails for floats of 10^15 and more, and made `coalesce(score,
//! 0.0)` a numeric with 15 decimals. With a float4 it computes in float4
//! (`0.1::float4 + 0.1`), where PostgreSQL computes in float8.
//!
//! [`FloatComparisons`], an analyzer rule in front of DataFusion's type
//! coercion, casts the numerics (and float4s) to float8 where a float meets a
//! numeric in: comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`, `IS [NOT]
//! DISTINCT FROM`, `BETWEEN`, `IN (…)`), arithmetic with a float4, `CASE`
//! results, `coalesce`/`nullif`/`greatest`/`least`, `ARRAY[…]` and `= ANY
//! (ARRAY[…])`, and the columns of `UNION` (not yet `VALUES`, whose rows the
//! planner has already cast to a common numeric).
//!
//! [`ExactFloats`], after type coercion, converts numerics to float8 with one
//! rounding. Arrow's cast divides the unscaled integer, already rounded to
//! a float, by 10^scale: two roundings, which show in the last digit of
//! numerics of more than 15 digits (`(10.0 / 3)::float8` gave
//! 3.333333333333333, PostgreSQL 3.3333333333333335).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{DFSchema, ScalarValue, exec_err};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder,
    Operator, Projection, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::analysis::{InputSchema, insert_before_type_coercion, is_comparison};
use datafusion::prelude::SessionContext;

/// The rule in front of type coercion (see the module documentation).
#[derive(Debug, Default)]
pub struct FloatComparisons;

/// The rule after type coercion (see the module documentation).
#[derive(Debug, Default)]
pub struct ExactFloats;

/// Installs [`FloatComparisons`] in `ctx`'s session in front of type coercion, and
/// [`ExactFloats`] after it.
pub fn install(ctx: &SessionContext) {
    insert_before_type_coercion(ctx, Arc::new(FloatComparisons));
    ctx.add_analyzer_rule(Arc::new(ExactFloats));
}

fn is_arithmetic(op: Operator) -> bool {
    matches!(
        op,
        Operator::Plus | Operator::Minus | Operator::Multiply | Operator::Divide | Operator::Modulo
    )
}

/// Whether `types` have both a float and a numeric among them.
fn float_meets_decimal<'a>(types: impl IntoIterator<Item = &'a DataType>) -> bool {
    let (mut float, mut decimal) = (false, false);
    for t in types {
        float |= t.is_floating();
        decimal |= t.is_decimal();
    }
    float && decimal
}

fn types_of<'a>(exprs: impl IntoIterator<Item = &'a Expr>, schema: &DFSchema) -> Vec<DataType> {
    exprs
        .into_iter()
        .filter_map(|e| e.get_type(schema).ok())
        .collect()
}

/// `e` cast to float8 if it is a numeric or a narrower float.
fn as_float8(e: Expr, schema: &DFSchema) -> Expr {
    match e.get_type(schema) {
        Ok(t) if t.is_decimal() || (t.is_floating() && t != DataType::Float64) => {
            Expr::Cast(Cast::new(Box::new(e), DataType::Float64))
        }
        _ => e,
    }
}

/// Functions whose arguments take one common type.
fn is_common_type_function(name: &str) -> bool {
    matches!(
        name,
        "coalesce" | "nullif" | "greatest" | "least" | "make_array" | "nvl" | "ifnull"
    )
}

fn rewrite(e: Expr, inputs: &InputSchema) -> Result<Transformed<Expr>> {
    // The inputs' schema is merged only for an expression that needs a type.
    let schema = || inputs.get();
    Ok(match e {
        Expr::BinaryExpr(b)
            if is_comparison(b.op)
                && float_meets_decimal(&types_of([&*b.left, &*b.right], schema())) =>
        {
            Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(as_float8(*b.left, schema())),
                b.op,
                Box::new(as_float8(*b.right, schema())),
            )))
        }
        Expr::BinaryExpr(b)
            if is_arithmetic(b.op) && {
                let types = types_of([&*b.left, &*b.right], schema());
                float_meets_decimal(&types) && !types.contains(&DataType::Float64)
            } =>
        {
            // float4 with a numeric: float8, as in PostgreSQL (DataFusion: float4).
            Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(as_float8(*b.left, schema())),
                b.op,
                Box::new(as_float8(*b.right, schema())),
            )))
        }
        Expr::Between(mut b)
            if float_meets_decimal(&types_of([&*b.expr, &*b.low, &*b.high], schema())) =>
        {
            b.expr = Box::new(as_float8(*b.expr, schema()));
            b.low = Box::new(as_float8(*b.low, schema()));
            b.high = Box::new(as_float8(*b.high, schema()));
            Transformed::yes(Expr::Between(b))
        }
        Expr::InList(mut l)
            if float_meets_decimal(&types_of(
                std::iter::once(&*l.expr).chain(&l.list),
                schema(),
            )) =>
        {
            l.expr = Box::new(as_float8(*l.expr, schema()));
            l.list = l.list.into_iter().map(|e| as_float8(e, schema())).collect();
            Transformed::yes(Expr::InList(l))
        }
        Expr::Case(mut c) => {
            // The results (THEN, ELSE) take one type; the operand of `CASE x WHEN v`
            // is compared with each v.
            let results = float_meets_decimal(&types_of(
                c.when_then_expr
                    .iter()
                    .map(|(_, then)| then.as_ref())
                    .chain(c.else_expr.as_deref()),
                schema(),
            ));
            let compared = c.expr.as_deref().is_some_and(|operand| {
                float_meets_decimal(&types_of(
                    std::iter::once(operand)
                        .chain(c.when_then_expr.iter().map(|(w, _)| w.as_ref())),
                    schema(),
                ))
            });
            if !results && !compared {
                return Ok(Transformed::no(Expr::Case(c)));
            }
            let float8 = |e: Box<Expr>, yes: bool| {
                if yes {
                    Box::new(as_float8(*e, schema()))
                } else {
                    e
                }
            };
            c.expr = c.expr.map(|operand| float8(operand, compared));
            c.when_then_expr = c
                .when_then_expr
                .into_iter()
                .map(|(when, then)| (float8(when, compared), float8(then, results)))
                .collect();
            c.else_expr = c.else_expr.map(|e| float8(e, results));
            Transformed::yes(Expr::Case(c))
        }
        Expr::ScalarFunction(mut f)
            if is_common_type_function(f.func.name())
                && float_meets_decimal(&types_of(&f.args, schema())) =>
        {
            f.args = std::mem::take(&mut f.args)
                .into_iter()
                .map(|e| as_float8(e, schema()))
                .collect();
            Transformed::yes(Expr::ScalarFunction(f))
        }
        // `x = ANY(ARRAY[1.0, 2.0])` of a float x.
        Expr::ScalarFunction(mut f)
            if matches!(
                f.func.name(),
                "array_has" | "array_has_any" | "array_has_all"
            ) =>
        {
            let needle_float = f
                .args
                .get(1)
                .and_then(|n| n.get_type(schema()).ok())
                .is_some_and(|t| t.is_floating());
            match f.args.first_mut() {
                Some(Expr::ScalarFunction(list))
                    if needle_float
                        && list.func.name() == "make_array"
                        && types_of(&list.args, schema())
                            .iter()
                            .any(DataType::is_decimal) =>
                {
                    list.args = std::mem::take(&mut list.args)
                        .into_iter()
                        .map(|e| as_float8(e, schema()))
                        .collect();
                    Transformed::yes(Expr::ScalarFunction(f))
                }
                _ => Transformed::no(Expr::ScalarFunction(f)),
            }
        }
        other => Transformed::no(other),
    })
}

/// The columns where the inputs of a UNION mix floats and numerics.
fn mixed_columns(schemas: &[Vec<DataType>]) -> Vec<usize> {
    let width = schemas.first().map_or(0, Vec::len);
    (0..width)
        .filter(|&i| float_meets_decimal(schemas.iter().filter_map(|s| s.get(i))))
        .collect()
}

/// A UNION whose columns mix floats and numerics, with those columns float8 in every
/// input; other plans unchanged. (Not VALUES: the planner has already cast its rows to
/// the type it chose, and an INSERT's VALUES carries the table's columns.)
fn float8_columns(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    match node {
        LogicalPlan::Union(union) => {
            let schemas: Vec<Vec<DataType>> = union
                .inputs
                .iter()
                .map(|i| {
                    i.schema()
                        .fields()
                        .iter()
                        .map(|f| f.data_type().clone())
                        .collect()
                })
                .collect();
            let mixed = mixed_columns(&schemas);
            if mixed.is_empty() {
                return Ok(Transformed::no(LogicalPlan::Union(union)));
            }
            let mut inputs = Vec::with_capacity(union.inputs.len());
            for input in union.inputs {
                let schema = input.schema().clone();
                let exprs = schema
                    .columns()
                    .into_iter()
                    .enumerate()
                    .map(|(i, column)| {
                        let (relation, name) = (column.relation.clone(), column.name.clone());
                        let e = Expr::Column(column);
                        if mixed.contains(&i) {
                            as_float8(e, &schema).alias_qualified(relation, name)
                        } else {
                            e
                        }
                    })
                    .collect();
                inputs.push(LogicalPlan::Projection(Projection::try_new(exprs, input)?));
            }
            let mut inputs = inputs.into_iter();
            let Some(first) = inputs.next() else {
                return exec_err!("UNION without inputs");
            };
            let mut builder = LogicalPlanBuilder::from(first);
            for input in inputs {
                builder = builder.union(input)?;
            }
            Ok(Transformed::yes(builder.build()?))
        }
        other => Ok(Transformed::no(other)),
    }
}

impl AnalyzerRule for FloatComparisons {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let mut changed_below = false;
        plan.transform_up_with_subqueries(|node| {
            let inputs = InputSchema::of(&node);
            let names = NamePreserver::new(&node);
            let node = node.map_expressions(|expr| {
                let name = names.save(&expr);
                Ok(expr
                    .transform_up(|e| rewrite(e, &inputs))?
                    .update_data(|expr| name.restore(expr)))
            })?;
            let node = node.transform_data(float8_columns)?;
            // A column that became float8 changes the schemas above it.
            changed_below |= node.transformed;
            if changed_below {
                node.map_data(|n| n.recompute_schema())
            } else {
                Ok(node)
            }
        })
        .data()
    }

    fn name(&self) -> &str {
        "laketap_float_comparisons"
    }
}

/// A numeric as the float8 nearest to it (one rounding; see the module documentation).
pub fn decimal_to_f64(unscaled: i128, scale: i8) -> f64 {
    // Below 2^53 the integer is exact as a float and so is 10^scale up to 10^22: one
    // division, one rounding.
    if unscaled.unsigned_abs() < 1 << 53 && (0..=22).contains(&scale) {
        return unscaled as f64 / 10f64.powi(i32::from(scale));
    }
    // Rust's float parsing rounds correctly.
    let text = if scale >= 0 {
        format!("{unscaled}e-{scale}")
    } else {
        format!("{unscaled}e{}", -i32::from(scale))
    };
    text.parse().unwrap_or(f64::NAN)
}

/// `CAST(numeric AS float8)` with one rounding.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NumericToFloat8 {
    signature: Signature,
}

const TO_FLOAT8: &str = "laketap_numeric_float8";

impl ScalarUDFImpl for NumericToFloat8 {
    fn name(&self) -> &str {
        TO_FLOAT8
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match args.args.first() {
            Some(ColumnarValue::Scalar(ScalarValue::Decimal128(v, _, scale))) => Ok(
                ColumnarValue::Scalar(ScalarValue::Float64(v.map(|v| decimal_to_f64(v, *scale)))),
            ),
            Some(ColumnarValue::Array(array)) => {
                let Some(decimals) = array.as_primitive_opt::<Decimal128Type>() else {
                    return exec_err!("{TO_FLOAT8} of {}", array.data_type());
                };
                let scale = decimals.scale();
                let floats: Float64Array = decimals.unary(|v| decimal_to_f64(v, scale));
                Ok(ColumnarValue::Array(Arc::new(floats)))
            }
            other => exec_err!("{TO_FLOAT8} of {other:?}"),
        }
    }
}

fn to_float8() -> Arc<ScalarUDF> {
    static UDF: std::sync::LazyLock<Arc<ScalarUDF>> = std::sync::LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(NumericToFloat8 {
            signature: Signature::any(1, Volatility::Immutable),
        }))
    });
    UDF.clone()
}

impl AnalyzerRule for ExactFloats {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            // Results only: a cast in a filter or join stays a cast, which the
            // optimizer can unwrap for pruning (`numeric_col = $1::float8`).
            if !matches!(
                node,
                LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)
            ) {
                return Ok(Transformed::no(node));
            }
            let inputs = InputSchema::of(&node);
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                Ok(expr
                    .transform_up(|e| match e {
                        Expr::Cast(c)
                            if c.field.data_type() == &DataType::Float64
                                && matches!(
                                    c.expr.get_type(inputs.get()),
                                    Ok(DataType::Decimal128(..))
                                ) =>
                        {
                            Ok(Transformed::yes(Expr::ScalarFunction(
                                ScalarFunction::new_udf(to_float8(), vec![*c.expr]),
                            )))
                        }
                        other => Ok(Transformed::no(other)),
                    })?
                    .update_data(|expr| name.restore(expr)))
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "laketap_exact_floats"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn row(sql: &str) -> String {
        let mut config = datafusion::prelude::SessionConfig::new();
        config.options_mut().sql_parser.parse_float_as_decimal = true;
        let ctx = SessionContext::new_with_config(config);
        install(&ctx);
        let batches = ctx
            .sql(sql)
            .await
            .expect("planned")
            .collect()
            .await
            .expect("runs");
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("formats")
            .to_string();
        let types: Vec<String> = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect();
        format!("{text}\n{}", types.join(","))
    }

    #[tokio::test]
    async fn floats_compare_with_numerics_as_float8() {
        // 0.1 + 0.2 in float8 is 0.30000000000000004: above the numeric 0.3, as in
        // PostgreSQL (DataFusion's Decimal128(30, 15) cast made them equal), and
        // 1e20 is compared, not refused as out of Decimal128(30, 15)'s range.
        let text = row(
            "SELECT x = 0.3 AS eq, x > 0.3 AS gt, x BETWEEN 0.1 AND 0.3 AS btw, \
             x IN (0.3, 0.5) AS inl, y > 0.5 AS big, f = 0.1 AS f4 \
             FROM (SELECT CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS x, \
             CAST(1e20 AS DOUBLE) AS y, CAST(0.1 AS REAL) AS f)",
        )
        .await;
        assert!(
            text.contains("| false | true | false | false | true | false |"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_float_with_a_numeric_is_float8_everywhere() {
        // PostgreSQL 15.18: 1e-300, 0.0, 1e+16, 0.5, 0.20000000149011612 (float8).
        let text = row(
            "SELECT coalesce(x, 0.0) AS c, CASE WHEN x > 1 THEN x ELSE 0.0 END AS k, \
             greatest(y, 0.5) AS g, least(x, 0.5) AS l, f + 0.1 AS f4 \
             FROM (SELECT CAST('1e-300' AS DOUBLE) AS x, CAST(1e16 AS DOUBLE) AS y, \
             CAST(0.1 AS REAL) AS f)",
        )
        .await;
        assert!(
            text.contains("| 1e-300 | 0.0 | 1e16 | 1e-300 | 0.20000000149011612 |"),
            "{text}"
        );
        assert!(
            text.ends_with("Float64,Float64,Float64,Float64,Float64"),
            "{text}"
        );
        let union = row(
            "SELECT x FROM (SELECT CAST(0.25 AS DOUBLE) AS x UNION ALL SELECT 0.5 \
             UNION ALL SELECT x FROM (VALUES (CAST(1.5 AS DOUBLE)), (0.75)) v(x)) ORDER BY x",
        )
        .await;
        assert!(union.ends_with("Float64"), "{union}");
        assert!(union.contains("| 0.75 |"), "{union}");
        let any = row(
            "SELECT count(*) AS n FROM (VALUES (CAST(1 AS DOUBLE)), (2), (3)) v(x) \
             WHERE x = ANY(ARRAY[1.0, 2.0])",
        )
        .await;
        assert!(any.contains("| 2 |"), "{any}");
    }

    #[test]
    fn numerics_become_the_nearest_float8() {
        // Two roundings gave 3.333333333333333 (PostgreSQL: 3.3333333333333335).
        assert_eq!(
            decimal_to_f64(333_333_333_333_333_333_333, 20),
            3.3333333333333335
        );
        assert_eq!(decimal_to_f64(1999, 2), 19.99);
        assert_eq!(decimal_to_f64(-5, 1), -0.5);
        assert_eq!(decimal_to_f64(12, -3), 12000.0);
    }
}
