//! Comparisons of floats with numerics, as PostgreSQL makes them.
//!
//! laketap reads a number with a point (`3.03`) as a numeric, as PostgreSQL
//! does (`sql_parser.parse_float_as_decimal`; see [`crate::Engine::start`]).
//! PostgreSQL compares a float8 with a numeric as float8s: the numeric is cast.
//! DataFusion's comparison coercion goes the other way, casting the float to
//! `Decimal128(30, 15)`, which drops the float's digits past the 15th decimal
//! (`3.0300000000000002 = 3.03` was true) and fails for floats of 10^15 and
//! more. [`FloatComparisons`], an analyzer rule in front of DataFusion's type
//! coercion, casts the numeric operands of such a comparison (`=`, `<>`, `<`,
//! `<=`, `>`, `>=`, `IS [NOT] DISTINCT FROM`, `BETWEEN`, `IN (…)`) to float8.
//! (Arithmetic already mixes them as float8 in DataFusion, as in PostgreSQL.)

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;

/// The analyzer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct FloatComparisons;

/// Installs [`FloatComparisons`] in `ctx`'s session, in front of type coercion.
pub fn install(ctx: &SessionContext) {
    use datafusion::execution::session_state::SessionStateBuilder;
    let state = ctx.state_ref();
    let existing = state.read().clone();
    let mut rules = existing.analyzer().rules.clone();
    let at = rules
        .iter()
        .position(|r| r.name() == "type_coercion")
        .unwrap_or(0);
    rules.insert(at, Arc::new(FloatComparisons));
    *state.write() = SessionStateBuilder::new_from_existing(existing)
        .with_analyzer_rules(rules)
        .build();
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

/// Whether `operands` have both a float and a numeric among them.
fn float_meets_decimal<'a>(
    operands: impl IntoIterator<Item = &'a Expr>,
    schema: &DFSchema,
) -> bool {
    let (mut float, mut decimal) = (false, false);
    for operand in operands {
        match operand.get_type(schema) {
            Ok(t) if t.is_floating() => float = true,
            Ok(t) if t.is_decimal() => decimal = true,
            _ => {}
        }
    }
    float && decimal
}

/// `e` cast to float8 if it is a numeric.
fn as_float8(e: Expr, schema: &DFSchema) -> Expr {
    match e.get_type(schema) {
        Ok(t) if t.is_decimal() => Expr::Cast(Cast::new(Box::new(e), DataType::Float64)),
        _ => e,
    }
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    Ok(match e {
        Expr::BinaryExpr(b)
            if is_comparison(b.op) && float_meets_decimal([&*b.left, &*b.right], schema) =>
        {
            Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(as_float8(*b.left, schema)),
                b.op,
                Box::new(as_float8(*b.right, schema)),
            )))
        }
        Expr::Between(mut b) if float_meets_decimal([&*b.expr, &*b.low, &*b.high], schema) => {
            b.expr = Box::new(as_float8(*b.expr, schema));
            b.low = Box::new(as_float8(*b.low, schema));
            b.high = Box::new(as_float8(*b.high, schema));
            Transformed::yes(Expr::Between(b))
        }
        Expr::InList(mut l)
            if float_meets_decimal(std::iter::once(&*l.expr).chain(&l.list), schema) =>
        {
            l.expr = Box::new(as_float8(*l.expr, schema));
            l.list = l.list.into_iter().map(|e| as_float8(e, schema)).collect();
            Transformed::yes(Expr::InList(l))
        }
        other => Transformed::no(other),
    })
}

impl AnalyzerRule for FloatComparisons {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                Ok(expr
                    .transform_up(|e| rewrite(e, &schema))?
                    .update_data(|expr| name.restore(expr)))
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "laketap_float_comparisons"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn floats_compare_with_numerics_as_float8() {
        let mut config = datafusion::prelude::SessionConfig::new();
        config.options_mut().sql_parser.parse_float_as_decimal = true;
        let ctx = SessionContext::new_with_config(config);
        install(&ctx);
        // 0.1 + 0.2 in float8 is 0.30000000000000004: above the numeric 0.3, as in
        // PostgreSQL (DataFusion's Decimal128(30, 15) cast made them equal), and
        // 1e20 is compared, not refused as out of Decimal128(30, 15)'s range.
        let batches = ctx
            .sql(
                "SELECT x = 0.3 AS eq, x > 0.3 AS gt, x BETWEEN 0.1 AND 0.3 AS btw, \
                 x IN (0.3, 0.5) AS inl, y > 0.5 AS big \
                 FROM (SELECT CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS x, \
                 CAST(1e20 AS DOUBLE) AS y)",
            )
            .await
            .expect("planned")
            .collect()
            .await
            .expect("runs");
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("formats")
            .to_string();
        assert!(
            text.contains("| false | true | false | false | true |"),
            "{text}"
        );
    }
}
