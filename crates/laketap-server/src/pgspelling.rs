//! PostgreSQL spellings DataFusion does not read, written as ones it does
//! (in [`crate::compat::rewrite_sql`], on the parsed statement):
//!
//! - `FETCH FIRST n ROWS ONLY` (the SQL standard's LIMIT, which DataFusion
//!   refused with 0A000) as `LIMIT n`; `WITH TIES` and `PERCENT` are left
//!   to that refusal.
//! - `mod(a, b)` as `a % b` (both truncate toward zero, the sign of `a`).
//! - `variance(x)` as `var_samp(x)`, as PostgreSQL defines it.
//! - A scalar subquery in a select list over lake tables (`SELECT p.id,
//!   (SELECT count(*) FROM orders o WHERE o.person_id = p.id) FROM people
//!   p`) in parentheses once more. datafusion-pg-catalog's parser replaces
//!   such a select item with NULL when it is correlated, and gives it
//!   `LIMIT 1` when it is not (its `RemoveSubqueryFromProjection`, for the
//!   catalog queries of clients, which DataFusion cannot plan): every row
//!   answered NULL, and a subquery of several rows silently its first. In
//!   parentheses it is no longer that select item: DataFusion plans it,
//!   and several rows are PostgreSQL's error (21000). Subqueries over the
//!   catalogs (`pg_*`, `information_schema`) are left to that rule.
//! - `[NOT] EXISTS (SELECT … FROM … WHERE …)` in a select list (a flag
//!   column), which DataFusion plans only in WHERE (0A000 "Physical plan
//!   does not support logical expression Exists" in a select list), as
//!   `[NOT] ((SELECT count(*) > 0 FROM … WHERE …))`: the same truth for a
//!   subquery without grouping, DISTINCT, LIMIT or set operations, and a
//!   scalar subquery DataFusion plans, correlated or not.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, LimitClause, ObjectName, ObjectNamePart, Query,
    Statement, Value, VisitMut, VisitorMut,
};

/// Words a statement needs for [`rewrite_expr`] or [`fetch_as_limit`] to
/// change it (a cheap check before parsing).
pub const WORDS: [&[u8]; 5] = [b"fetch", b"mod", b"variance", b"(select", b"exists"];

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

/// Each select-list subquery of `statement` that reads no catalog, in
/// parentheses once more, out of datafusion-pg-catalog's reach (see the
/// module documentation); whether one was.
pub fn keep_correlated_subqueries(statement: &mut Statement) -> bool {
    use datafusion::sql::sqlparser::ast::{SelectItem, SetExpr};
    struct Subqueries {
        changed: bool,
    }
    impl VisitorMut for Subqueries {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let SetExpr::Select(select) = query.body.as_mut() else {
                return ControlFlow::Continue(());
            };
            for item in &mut select.projection {
                let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item
                else {
                    continue;
                };
                let Expr::Subquery(subquery) = expr else {
                    continue;
                };
                let text = subquery.to_string().to_ascii_lowercase();
                let reads_catalog = text.contains("pg_") || text.contains("information_schema");
                if !reads_catalog {
                    let inner = std::mem::replace(expr, Expr::value(Value::Null));
                    *expr = Expr::Nested(Box::new(inner));
                    self.changed = true;
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut subqueries = Subqueries { changed: false };
    let _ = statement.visit(&mut subqueries);
    subqueries.changed
}

/// `EXISTS (q)` as `((SELECT count(*) > 0 FROM … WHERE …))` when `q` is a
/// plain SELECT (see the module documentation).
fn exists_as_count(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{GroupByExpr, SelectItem, SetExpr, UnaryOperator};
    let Expr::Exists { subquery, negated } = expr else {
        return None;
    };
    let mut query = subquery.as_ref().clone();
    if query.with.is_some() || query.limit_clause.is_some() || query.fetch.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped || select.having.is_some() || select.distinct.is_some() {
        return None;
    }
    select.projection = vec![SelectItem::UnnamedExpr(crate::compat::parse_expr(
        "count(*) > 0",
    )?)];
    query.order_by = None;
    let any = Expr::Nested(Box::new(Expr::Subquery(Box::new(query))));
    Some(if *negated {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(any),
        }
    } else {
        any
    })
}

/// Each `[NOT] EXISTS` in a select list of `statement` as a count
/// ([`exists_as_count`]); whether one was.
pub fn exists_in_select_lists(statement: &mut Statement) -> bool {
    use datafusion::sql::sqlparser::ast::{SelectItem, SetExpr, visit_expressions_mut};
    struct Lists {
        changed: bool,
    }
    impl VisitorMut for Lists {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let SetExpr::Select(select) = query.body.as_mut() else {
                return ControlFlow::Continue(());
            };
            for item in &mut select.projection {
                // An unaliased `EXISTS (…)` keeps PostgreSQL's name for it.
                if let SelectItem::UnnamedExpr(expr @ Expr::Exists { negated: false, .. }) = item
                    && let Some(count) = exists_as_count(expr)
                {
                    *item = SelectItem::ExprWithAlias {
                        expr: count,
                        alias: datafusion::sql::sqlparser::ast::Ident::with_quote('"', "exists"),
                    };
                    self.changed = true;
                    continue;
                }
                let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item
                else {
                    continue;
                };
                let _ = visit_expressions_mut(expr, |e| {
                    if let Some(count) = exists_as_count(e) {
                        *e = count;
                        self.changed = true;
                    }
                    ControlFlow::<()>::Continue(())
                });
            }
            ControlFlow::Continue(())
        }
    }
    let mut lists = Lists { changed: false };
    let _ = statement.visit(&mut lists);
    lists.changed
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
            rewrite_sql(
                "SELECT p.id, (SELECT count(*) FROM orders o WHERE o.person_id = p.id) AS n FROM people p"
            )
            .as_deref(),
            Some(
                "SELECT p.id, ((SELECT count(*) FROM orders o WHERE o.person_id = p.id)) AS n FROM people p"
            ),
            "a correlated subquery over lake tables is planned, not made NULL"
        );
        assert_eq!(
            rewrite_sql("SELECT p.id, (SELECT o.id FROM orders o) AS any FROM people p").as_deref(),
            Some("SELECT p.id, ((SELECT o.id FROM orders o)) AS any FROM people p"),
            "nor given LIMIT 1"
        );
        let catalog = "SELECT c.relname, (SELECT n.nspname FROM pg_namespace n \
                       WHERE n.oid = c.relnamespace) FROM pg_class c";
        let mut statements = datafusion::sql::sqlparser::parser::Parser::parse_sql(
            &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
            catalog,
        )
        .expect("parses");
        assert!(
            !super::keep_correlated_subqueries(&mut statements[0]),
            "catalog subqueries are left to compat.rs and datafusion-pg-catalog"
        );
        assert_eq!(
            rewrite_sql(
                "SELECT p.id, EXISTS (SELECT 1 FROM o WHERE o.pid = p.id) AS has, \
                 CASE WHEN NOT EXISTS (SELECT * FROM o) THEN 'none' END FROM p"
            )
            .as_deref(),
            Some(
                "SELECT p.id, ((SELECT count(*) > 0 FROM o WHERE o.pid = p.id)) AS has, \
                 CASE WHEN NOT ((SELECT count(*) > 0 FROM o)) THEN 'none' END FROM p"
            )
        );
        assert_eq!(
            rewrite_sql("SELECT EXISTS (SELECT 1 FROM o)").as_deref(),
            Some("SELECT ((SELECT count(*) > 0 FROM o)) AS \"exists\""),
            "named as PostgreSQL names it"
        );
        assert_eq!(
            rewrite_sql("SELECT a FROM t WHERE EXISTS (SELECT 1 FROM o WHERE o.a = t.a)"),
            None,
            "DataFusion plans EXISTS in WHERE"
        );
        assert_eq!(
            rewrite_sql("SELECT a FROM t FETCH FIRST 2 ROWS WITH TIES"),
            None,
            "left to DataFusion's refusal"
        );
    }
}
