//! What laketap's analyzer rules ([`crate::bytea`], [`crate::like`],
//! [`crate::timetext`]) share: a bottom-up rewrite of every expression of a
//! plan, subqueries included, that keeps each rewritten expression's name
//! (the plan's schema is checked against it after each optimizer rule).

use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// `plan` with `rewrite` applied to each expression bottom-up; `rewrite`
/// also gets the schema the expression is evaluated against (the node's
/// inputs, merged).
pub(crate) fn rewrite_expressions(
    plan: LogicalPlan,
    rewrite: impl Fn(Expr, &DFSchema) -> DfResult<Transformed<Expr>>,
) -> DfResult<LogicalPlan> {
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

/// The result of `sql` in `ctx`, as DataFusion's pretty table.
#[cfg(test)]
pub(crate) async fn table_text(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
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
