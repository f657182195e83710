//! laketap's one analyzer rule, [`PgExpressions`]: PostgreSQL's meaning of
//! expressions DataFusion reads otherwise ([`crate::bytea`] literals,
//! [`crate::like`] escapes, [`crate::timetext`] casts, [`crate::pgtypes`]
//! json/jsonb/uuid casts), applied in a single
//! bottom-up walk of each plan, subqueries included. Each rewritten
//! expression keeps its name (the plan's schema is checked against it after
//! each optimizer rule).

use std::cell::OnceCell;

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
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            // The inputs' schema, merged only if a rewrite asks for it
            // (a cast to text, to learn what it casts).
            let inputs: Vec<_> = node.inputs().iter().map(|p| p.schema().clone()).collect();
            let schema = OnceCell::new();
            let schema = || {
                schema.get_or_init(|| {
                    let mut merged = DFSchema::empty();
                    for input in &inputs {
                        merged.merge(input);
                    }
                    merged
                })
            };
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
        "laketap_pg_expressions"
    }
}

fn rewrite<'a>(expr: Expr, schema: &dyn Fn() -> &'a DFSchema) -> DfResult<Transformed<Expr>> {
    crate::bytea::rewrite(expr)?
        .transform_data(crate::like::rewrite)?
        .transform_data(|expr| crate::timetext::rewrite(expr, schema))?
        .transform_data(crate::pgtypes::rewrite)
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
