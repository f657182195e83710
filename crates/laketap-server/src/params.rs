//! Parameter types of extended-protocol statements, as PostgreSQL decides
//! them.
//!
//! datafusion-postgres plans a Parse with only DataFusion's inference, which
//! leaves `$n` untyped wherever no column or cast gives it a type (`SELECT $1`,
//! `SELECT $1 AS v`). Such a statement is described with result type
//! `unknown` (705) and a NULL value for it has nowhere to go. PostgreSQL
//! instead:
//!
//! - uses the type the client declared in Parse, when it declared one (psycopg
//!   3, asyncpg and pgjdbc do for most Python/Java values);
//! - resolves a parameter that the client did not declare and nothing
//!   types, standing alone in the select list, to `text`.
//!
//! [`declare_parameter_types`] does both on the planned statement, before its
//! ParameterDescription and RowDescription are computed from it. A type
//! DataFusion inferred from context is kept.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::Placeholder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use pgwire::api::Type;

/// The Arrow type a parameter the client declared as `ty` is planned with,
/// when laketap decodes that type; `None` leaves the parameter to inference.
/// `timestamptz` takes the session's time zone (`time_zone`).
///
/// numeric is left out on purpose: the decoder rescales a value to the
/// planned scale, so a declared `numeric` would print `1.10` as
/// `1.1000000000`; left to inference it keeps its own scale.
pub fn arrow_type_of(ty: &Type, time_zone: Option<&str>) -> Option<DataType> {
    let list = |item: DataType| DataType::List(Arc::new(Field::new_list_field(item, true)));
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIME => DataType::Time64(TimeUnit::Microsecond),
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(
            TimeUnit::Microsecond,
            Some(time_zone.unwrap_or("+00:00").into()),
        ),
        Type::INTERVAL => DataType::Interval(IntervalUnit::MonthDayNano),
        Type::BOOL_ARRAY => list(DataType::Boolean),
        Type::INT2_ARRAY => list(DataType::Int16),
        Type::INT4_ARRAY => list(DataType::Int32),
        Type::INT8_ARRAY => list(DataType::Int64),
        Type::FLOAT4_ARRAY => list(DataType::Float32),
        Type::FLOAT8_ARRAY => list(DataType::Float64),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => list(DataType::Utf8),
        _ => return None,
    })
}

/// `plan` with each parameter that DataFusion could not type given the type
/// the client declared for it (`declared[n-1]` for `$n`), or `text` when it
/// stands alone in a select list; schemas are recomputed above the changed
/// expressions. Returns `plan` unchanged when nothing is untyped.
pub fn declare_parameter_types(
    plan: LogicalPlan,
    declared: &[Option<Type>],
    time_zone: Option<&str>,
) -> DfResult<LogicalPlan> {
    let inferred = plan.get_parameter_types()?;
    if !inferred.values().any(Option::is_none) {
        return Ok(plan);
    }
    let from_client: HashMap<String, Arc<Field>> = declared
        .iter()
        .enumerate()
        .filter_map(|(i, ty)| {
            let ty = ty.as_ref()?;
            let id = format!("${}", i + 1);
            // json, jsonb and uuid are text that says its type.
            let field = match crate::pgtypes::PgKind::of_pg_type(ty) {
                Some(kind) => kind.field(&id),
                None => Arc::new(Field::new(id.clone(), arrow_type_of(ty, time_zone)?, true)),
            };
            Some((id, field))
        })
        .collect();
    // A parameter declared with a type laketap leaves to inference (numeric)
    // must not become text.
    let undeclared = |id: &str| {
        id.strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| declared.get(n.checked_sub(1)?))
            .is_none_or(|ty| ty.as_ref().is_none_or(|ty| *ty == Type::UNKNOWN))
    };
    let untyped: Vec<String> = inferred
        .into_iter()
        .filter_map(|(id, ty)| ty.is_none().then_some(id))
        .collect();
    plan.transform_up_with_subqueries(|node| {
        let in_select_list = matches!(node, LogicalPlan::Projection(_));
        let changed = node.map_expressions(|expr| {
            let stands_alone = in_select_list && is_bare_placeholder(&expr);
            expr.transform(|e| match e {
                Expr::Placeholder(Placeholder { id, field: None }) if untyped.contains(&id) => {
                    let field = from_client.get(&id).cloned().or_else(|| {
                        (stands_alone && undeclared(&id))
                            .then(|| Arc::new(Field::new(id.clone(), DataType::Utf8, true)))
                    });
                    Ok(match field {
                        Some(field) => Transformed::yes(Expr::Placeholder(Placeholder {
                            field: Some(field),
                            id,
                        })),
                        None => Transformed::no(Expr::Placeholder(Placeholder { id, field: None })),
                    })
                }
                other => Ok(Transformed::no(other)),
            })
        })?;
        // Recomputed on every node: a parent of a changed node (a Sort or
        // Limit above the projection) has the old type in its schema too.
        // (recompute_schema keeps a Union's schema: it is derived again.)
        changed.map_data(|plan| match plan {
            LogicalPlan::Union(union) => Ok(LogicalPlan::Union(
                datafusion::logical_expr::Union::try_new_with_loose_types(union.inputs)?,
            )),
            other => other.recompute_schema(),
        })
    })
    .data()
}

/// `$n` or `$n AS name`: a select-list item that is only a parameter.
fn is_bare_placeholder(expr: &Expr) -> bool {
    match expr {
        Expr::Placeholder(_) => true,
        Expr::Alias(alias) => matches!(*alias.expr, Expr::Placeholder(_)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn plan(sql: &str) -> LogicalPlan {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT, b VARCHAR)")
            .await
            .expect("create");
        ctx.state().create_logical_plan(sql).await.expect("plan")
    }

    fn types(plan: &LogicalPlan) -> Vec<(String, Option<DataType>)> {
        let mut types: Vec<_> = plan
            .get_parameter_types()
            .expect("types")
            .into_iter()
            .collect();
        types.sort();
        types
    }

    #[tokio::test]
    async fn declared_types_fill_what_inference_left_open() {
        let p = plan("SELECT $1 AS v, $2 AS w").await;
        let p = declare_parameter_types(p, &[Some(Type::INT4), Some(Type::TIMESTAMPTZ)], None)
            .expect("declare");
        assert_eq!(
            types(&p),
            vec![
                ("$1".to_string(), Some(DataType::Int32)),
                (
                    "$2".to_string(),
                    Some(DataType::Timestamp(
                        TimeUnit::Microsecond,
                        Some("+00:00".into())
                    ))
                ),
            ]
        );
        let schema = p.schema();
        assert_eq!(schema.field(0).data_type(), &DataType::Int32);
        assert_eq!(schema.field(0).name(), "v");
    }

    #[tokio::test]
    async fn an_undeclared_select_list_parameter_is_text() {
        let p = plan("SELECT $1 AS v ORDER BY 1 LIMIT 1").await;
        let p = declare_parameter_types(p, &[None], None).expect("declare");
        assert_eq!(p.schema().field(0).data_type(), &DataType::Utf8);
        assert_eq!(types(&p), vec![("$1".to_string(), Some(DataType::Utf8))]);
    }

    #[tokio::test]
    async fn inferred_types_are_kept_and_other_unknowns_stay_open() {
        // $1 is typed by the column; $2 inside an expression is not in the
        // select list alone, so it stays for the engine to coerce.
        let p = plan("SELECT a + $2 FROM t WHERE a = $1").await;
        let p = declare_parameter_types(p, &[Some(Type::INT8), None], None).expect("declare");
        let types = types(&p);
        assert_eq!(types[0], ("$1".to_string(), Some(DataType::Int32)));
        assert_eq!(types[1].0, "$2");
    }

    #[tokio::test]
    async fn a_union_takes_the_parameter_type() {
        let p = plan("SELECT $1 AS v UNION ALL SELECT 'b'").await;
        let p = declare_parameter_types(p, &[None], None).expect("declare");
        assert_eq!(p.schema().field(0).data_type(), &DataType::Utf8);
        let p = plan("SELECT $1 AS v UNION ALL SELECT 2").await;
        let p = declare_parameter_types(p, &[Some(Type::INT8)], None).expect("declare");
        assert_eq!(p.schema().field(0).data_type(), &DataType::Int64);
    }

    #[tokio::test]
    async fn a_declared_numeric_is_not_made_text() {
        let p = plan("SELECT $1 AS v").await;
        let p = declare_parameter_types(p, &[Some(Type::NUMERIC)], None).expect("declare");
        assert_eq!(types(&p), vec![("$1".to_string(), None)]);
    }

    #[test]
    fn numeric_and_unknown_types_are_left_to_inference() {
        assert_eq!(arrow_type_of(&Type::NUMERIC, None), None);
        assert_eq!(arrow_type_of(&Type::UNKNOWN, None), None);
        assert_eq!(
            arrow_type_of(&Type::TIMESTAMPTZ, Some("Europe/Paris")),
            Some(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("Europe/Paris".into())
            ))
        );
    }
}
