//! Shared parts of laketap's analyzer rules (here and in laketap-server).

use std::cell::OnceCell;
use std::sync::Arc;

use datafusion::common::{DFSchema, DFSchemaRef};
use datafusion::logical_expr::{LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;

/// A plan node's inputs' schemas, merged on first use: a rewrite asks for
/// it only to learn an expression's type.
pub struct InputSchema {
    inputs: Vec<DFSchemaRef>,
    merged: OnceCell<DFSchema>,
}

impl InputSchema {
    pub fn of(node: &LogicalPlan) -> Self {
        InputSchema {
            inputs: node.inputs().iter().map(|p| p.schema().clone()).collect(),
            merged: OnceCell::new(),
        }
    }

    pub fn get(&self) -> &DFSchema {
        self.merged.get_or_init(|| {
            let mut merged = DFSchema::empty();
            for input in &self.inputs {
                merged.merge(input);
            }
            merged
        })
    }
}

/// Installs `rule` in `ctx`'s session, in front of DataFusion's type coercion.
pub fn insert_before_type_coercion(
    ctx: &SessionContext,
    rule: Arc<dyn AnalyzerRule + Send + Sync>,
) {
    use datafusion::execution::session_state::SessionStateBuilder;
    let state = ctx.state_ref();
    let existing = state.read().clone();
    let mut rules = existing.analyzer().rules.clone();
    let at = rules
        .iter()
        .position(|r| r.name() == "type_coercion")
        .unwrap_or(0);
    rules.insert(at, rule);
    *state.write() = SessionStateBuilder::new_from_existing(existing)
        .with_analyzer_rules(rules)
        .build();
}

/// Whether `op` compares its operands (`=`, `<>`, `<`, `<=`, `>`, `>=`,
/// `IS [NOT] DISTINCT FROM`).
pub fn is_comparison(op: Operator) -> bool {
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
