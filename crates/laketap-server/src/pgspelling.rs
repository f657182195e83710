//! PostgreSQL spellings DataFusion does not read, written as ones it does
//! (in [`crate::compat::rewrite_sql`], on the parsed statement):
//!
//! - `FETCH FIRST n ROWS ONLY` (the SQL standard's LIMIT, which DataFusion
//!   refused with 0A000) as `LIMIT n`; `WITH TIES` and `PERCENT` are left
//!   to that refusal.
//! - `mod(a, b)` as `a % b` (both truncate toward zero, the sign of `a`).
//! - `variance(x)` as `var_samp(x)`, as PostgreSQL defines it.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, LimitClause, ObjectName, ObjectNamePart, Query,
    Statement, Value, VisitMut, VisitorMut,
};

/// Words a statement needs for [`rewrite_expr`] or [`fetch_as_limit`] to
/// change it (a cheap check before parsing).
pub const WORDS: [&[u8]; 3] = [b"fetch", b"mod", b"variance"];

/// `mod(a, b)` and `variance(x)` as DataFusion spells them.
pub fn rewrite_expr(expr: &Expr) -> Option<Expr> {
    if let Some(
        [
            FunctionArg::Unnamed(FunctionArgExpr::Expr(a)),
            FunctionArg::Unnamed(FunctionArgExpr::Expr(b)),
        ],
    ) = crate::compat::call_of(expr, "mod")
    {
        return crate::compat::parse_expr(&format!("(({a}) % ({b}))"));
    }
    if crate::compat::call_of(expr, "variance").is_some()
        && let Expr::Function(function) = expr
    {
        let mut renamed = function.clone();
        renamed.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("var_samp"))]);
        return Some(Expr::Function(renamed));
    }
    None
}

/// Each `FETCH FIRST n ROWS ONLY` of `statement` (its subqueries too) as
/// `LIMIT n`; whether one was.
pub fn fetch_as_limit(statement: &mut Statement) -> bool {
    struct Fetches {
        changed: bool,
    }
    impl VisitorMut for Fetches {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(fetch) = &query.fetch else {
                return ControlFlow::Continue(());
            };
            if fetch.with_ties || fetch.percent {
                return ControlFlow::Continue(());
            }
            // `FETCH FIRST ROW ONLY` is one row.
            let quantity = fetch
                .quantity
                .clone()
                .unwrap_or_else(|| Expr::value(Value::Number("1".to_string(), false)));
            match &mut query.limit_clause {
                None => {
                    query.limit_clause = Some(LimitClause::LimitOffset {
                        limit: Some(quantity),
                        offset: None,
                        limit_by: Vec::new(),
                    });
                }
                Some(LimitClause::LimitOffset {
                    limit: limit @ None,
                    ..
                }) => {
                    *limit = Some(quantity);
                }
                // LIMIT and FETCH together: PostgreSQL refuses it too.
                Some(_) => return ControlFlow::Continue(()),
            }
            query.fetch = None;
            self.changed = true;
            ControlFlow::Continue(())
        }
    }
    let mut fetches = Fetches { changed: false };
    let _ = statement.visit(&mut fetches);
    fetches.changed
}

#[cfg(test)]
mod tests {
    use crate::compat::rewrite_sql;

    #[test]
    fn postgresql_spellings_are_rewritten() {
        assert_eq!(
            rewrite_sql("SELECT id FROM t ORDER BY id OFFSET 2 FETCH FIRST 3 ROWS ONLY").as_deref(),
            Some("SELECT id FROM t ORDER BY id LIMIT 3 OFFSET 2")
        );
        assert_eq!(
            rewrite_sql("SELECT * FROM (SELECT a FROM t FETCH NEXT ROW ONLY) AS s").as_deref(),
            Some("SELECT * FROM (SELECT a FROM t LIMIT 1) AS s")
        );
        assert_eq!(
            rewrite_sql("SELECT mod(a, 3), variance(b) FROM t").as_deref(),
            Some("SELECT ((a) % (3)), var_samp(b) FROM t")
        );
        assert_eq!(
            rewrite_sql("SELECT a FROM t FETCH FIRST 2 ROWS WITH TIES"),
            None,
            "left to DataFusion's refusal"
        );
    }
}
