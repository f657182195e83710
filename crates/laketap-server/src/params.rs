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
//!
//! An unconstrained `numeric` keeps each value's own scale in PostgreSQL
//! (`$1::numeric` bound to `1.10` is `1.10`), where an Arrow decimal has one
//! scale per column and DataFusion plans `numeric` as Decimal128(38, 10).
//! [`numeric_at_bound_scale`] retypes such a parameter at Bind, when its
//! value is known, to that value's scale.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::{Cast, Placeholder, TryCast};
use datafusion::logical_expr::{Expr, LogicalPlan};
use pgwire::api::Type;

/// The 0-based index of the positional parameter `$n` (`None` for `$0` or
/// a named one).
pub fn parameter_index(id: &str) -> Option<usize> {
    id.strip_prefix('$')?.parse::<usize>().ok()?.checked_sub(1)
}

/// The Arrow type DataFusion plans an unconstrained `numeric` as.
pub const UNCONSTRAINED_NUMERIC: DataType = DataType::Decimal128(38, 10);

/// The Arrow type a parameter the client declared as `ty` is planned with,
/// when laketap decodes that type; `None` leaves the parameter to inference.
/// `timestamptz` takes the session's time zone (`time_zone`). A declared
/// `numeric` is planned unconstrained and takes its value's scale at Bind
/// ([`numeric_at_bound_scale`]).
pub fn arrow_type_of(ty: &Type, time_zone: Option<&str>) -> Option<DataType> {
    let list = |item: DataType| DataType::List(Arc::new(Field::new_list_field(item, true)));
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => UNCONSTRAINED_NUMERIC,
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
    // A parameter declared with a type laketap leaves to inference (money,
    // a composite) must not become text.
    let undeclared = |id: &str| {
        parameter_index(id)
            .and_then(|i| declared.get(i))
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
        changed.map_data(schema_again)
    })
    .data()
}

/// `plan` with its schema derived again from its inputs and expressions,
/// after a parameter's type changed below it. Called on every node: a
/// parent of a changed node (a Sort or Limit above the projection) has the
/// old type in its schema too. (recompute_schema keeps a Union's schema: it
/// is derived again.)
fn schema_again(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    match plan {
        LogicalPlan::Union(union) => Ok(LogicalPlan::Union(
            datafusion::logical_expr::Union::try_new_with_loose_types(union.inputs)?,
        )),
        other => other.recompute_schema(),
    }
}

/// A select-list item that is an unconstrained numeric parameter: `$n`
/// typed [`UNCONSTRAINED_NUMERIC`], or any `$n` cast to it
/// (`$1::numeric`), aliased or not. Its 0-based index, and whether the
/// parameter itself is typed so.
fn numeric_item(expr: &Expr) -> Option<(usize, bool)> {
    let typed = |field: &Option<Arc<Field>>| {
        field
            .as_ref()
            .is_some_and(|f| *f.data_type() == UNCONSTRAINED_NUMERIC)
    };
    match expr {
        Expr::Alias(alias) => numeric_item(&alias.expr),
        Expr::Placeholder(Placeholder { id, field }) if typed(field) => {
            Some((parameter_index(id)?, true))
        }
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field })
            if *field.data_type() == UNCONSTRAINED_NUMERIC =>
        {
            match expr.as_ref() {
                Expr::Placeholder(Placeholder { id, field }) => {
                    Some((parameter_index(id)?, typed(field)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The parameters (0-based) that are, alone or cast to an unconstrained
/// numeric, an item of the statement's select list: the ones
/// [`numeric_at_bound_scale`] retypes.
pub fn unconstrained_numeric_parameters(plan: &LogicalPlan) -> Vec<usize> {
    let mut found: Vec<usize> = crate::literals::select_list(plan)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| numeric_item(item).map(|(i, _)| i))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// `plan` with each unconstrained numeric parameter of its select list
/// ([`unconstrained_numeric_parameters`]) that `scales` names (by 0-based
/// index) retyped to Decimal128(38, scale); `None` when nothing changes.
/// Called at Bind with the scales of the bound values ([`natural_scale`]),
/// it makes `SELECT $1::numeric` bound to `1.10` answer `1.10`, as in
/// PostgreSQL, not `1.1000000000`.
///
/// Only the select list's own items change: elsewhere (`$1::numeric / 3`,
/// a WHERE) the parameter keeps Decimal128(38, 10), as the scale of a
/// decimal division follows its dividend's. A parameter typed numeric
/// itself (declared by the client) is retyped wherever it appears, so that
/// it has one type, unless the plan has a VALUES list (whose schema is kept
/// as planned).
pub fn numeric_at_bound_scale(
    plan: &LogicalPlan,
    scales: &HashMap<usize, i8>,
) -> DfResult<Option<LogicalPlan>> {
    let scale_of = |i: usize| {
        scales
            .get(&i)
            .copied()
            .filter(|s| DataType::Decimal128(38, *s) != UNCONSTRAINED_NUMERIC)
    };
    let items: Vec<(usize, bool)> = crate::literals::select_list(plan)
        .unwrap_or_default()
        .iter()
        .filter_map(numeric_item)
        .filter(|(i, _)| scale_of(*i).is_some())
        .collect();
    if items.is_empty() {
        return Ok(None);
    }
    let has_values = plan
        .exists(|node| Ok(matches!(node, LogicalPlan::Values(_))))
        .unwrap_or(true);
    let typed: Vec<usize> = items
        .iter()
        .filter(|(_, typed)| *typed)
        .map(|(i, _)| *i)
        .collect();
    if has_values && !typed.is_empty() {
        return Ok(None);
    }
    let id_scale = |id: &str| scale_of(parameter_index(id)?);
    let mut plan = plan.clone();
    if !typed.is_empty() {
        plan = plan
            .transform_up_with_subqueries(|node| {
                node.map_expressions(|expr| {
                    expr.transform(|e| {
                        if let Expr::Placeholder(Placeholder { id, field: Some(f) }) = &e
                            && *f.data_type() == UNCONSTRAINED_NUMERIC
                            && let Some(scale) = id_scale(id)
                        {
                            let field = f
                                .as_ref()
                                .clone()
                                .with_data_type(DataType::Decimal128(38, scale));
                            return Ok(Transformed::yes(Expr::Placeholder(Placeholder {
                                id: id.clone(),
                                field: Some(Arc::new(field)),
                            })));
                        }
                        Ok(Transformed::no(e))
                    })
                })?
                // Derived again on every node: a parent of a changed node
                // has the old type in its schema too.
                .map_data(schema_again)
            })?
            .data;
    }
    let plan =
        crate::literals::map_select_list(plan, &mut |_, item, _| retyped_cast(item, &id_scale))?;
    Ok(Some(plan))
}

/// A select-list item `$n::numeric` (aliased or not) cast to
/// Decimal128(38, scale) when `scale_of` has a scale for `$n`.
fn retyped_cast(item: Expr, scale_of: &dyn Fn(&str) -> Option<i8>) -> Expr {
    if let Expr::Alias(mut alias) = item {
        *alias.expr = retyped_cast(*alias.expr, scale_of);
        return Expr::Alias(alias);
    }
    let scale = match &item {
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field })
            if *field.data_type() == UNCONSTRAINED_NUMERIC =>
        {
            match expr.as_ref() {
                Expr::Placeholder(Placeholder { id, .. }) => scale_of(id),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(scale) = scale else {
        return item;
    };
    let to = |field: &Field| {
        Arc::new(
            field
                .clone()
                .with_data_type(DataType::Decimal128(38, scale)),
        )
    };
    match item {
        Expr::Cast(Cast { expr, field }) => Expr::Cast(Cast::new_from_field(expr, to(&field))),
        Expr::TryCast(TryCast { expr, field }) => {
            Expr::TryCast(TryCast::new_from_field(expr, to(&field)))
        }
        other => other,
    }
}

/// The scale of a numeric parameter's value as the client sent it (text
/// `1.10` or numeric binary), when it is a finite number of at most 38
/// digits: the scale PostgreSQL's unconstrained numeric keeps.
pub fn natural_scale(value: &[u8], binary: bool) -> Option<i8> {
    let number = if binary {
        arrow_pg::numeric::PgNumeric::read_binary(value).ok()?
    } else {
        arrow_pg::numeric::PgNumeric::parse(std::str::from_utf8(value).ok()?.trim()).ok()?
    };
    number.natural_precision_scale().map(|(_, scale)| scale)
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
    async fn a_declared_numeric_is_an_unconstrained_numeric() {
        let p = plan("SELECT $1 AS v").await;
        let p = declare_parameter_types(p, &[Some(Type::NUMERIC)], None).expect("declare");
        assert_eq!(
            types(&p),
            vec![("$1".to_string(), Some(UNCONSTRAINED_NUMERIC))]
        );
        assert_eq!(unconstrained_numeric_parameters(&p), vec![0]);
    }

    #[tokio::test]
    async fn an_unconstrained_numeric_parameter_takes_its_value_scale() {
        // Declared numeric, alone in the select list, under ORDER BY: the
        // Sort above the projection takes the new type too.
        let p = plan("SELECT $1 AS v ORDER BY 1").await;
        let p = declare_parameter_types(p, &[Some(Type::NUMERIC)], None).expect("declare");
        let scales = HashMap::from([(0, 2)]);
        let p = numeric_at_bound_scale(&p, &scales)
            .expect("retype")
            .expect("changed");
        assert_eq!(
            p.schema().field(0).data_type(),
            &DataType::Decimal128(38, 2)
        );
        assert_eq!(
            types(&p),
            vec![("$1".to_string(), Some(DataType::Decimal128(38, 2)))]
        );

        // `$2::numeric` (the cast) is retyped; `$1::numeric(10, 2)` and a
        // parameter typed by a column are not.
        let p = plan("SELECT $1::numeric(10, 2) AS a, $2::numeric AS b FROM t WHERE a = $3").await;
        assert_eq!(unconstrained_numeric_parameters(&p), vec![1]);
        let scales = HashMap::from([(0, 5), (1, 9), (2, 0)]);
        let p = numeric_at_bound_scale(&p, &scales)
            .expect("retype")
            .expect("changed");
        let fields = p.schema().fields();
        assert_eq!(fields[0].data_type(), &DataType::Decimal128(10, 2));
        assert_eq!(fields[1].data_type(), &DataType::Decimal128(38, 9));

        // Computed from, the parameter keeps its planned type: a decimal
        // division's scale follows its dividend's.
        let p = plan("SELECT $1::numeric / 3 AS q").await;
        assert!(unconstrained_numeric_parameters(&p).is_empty());
        assert!(
            numeric_at_bound_scale(&p, &HashMap::from([(0, 0)]))
                .expect("retype")
                .is_none()
        );
        // A declared numeric under a VALUES list is left as planned.
        let p = plan("SELECT $1 AS v FROM (VALUES ($1)) t(x)").await;
        let p = declare_parameter_types(p, &[Some(Type::NUMERIC)], None).expect("declare");
        assert!(
            numeric_at_bound_scale(&p, &HashMap::from([(0, 2)]))
                .expect("retype")
                .is_none()
        );

        // A value of scale 10 changes nothing.
        let p = plan("SELECT $1::numeric AS v").await;
        let scales = HashMap::from([(0, 10)]);
        assert!(
            numeric_at_bound_scale(&p, &scales)
                .expect("retype")
                .is_none()
        );
    }

    #[test]
    fn a_bound_value_scale_is_read_from_text_and_binary() {
        assert_eq!(natural_scale(b"1.10", false), Some(2));
        assert_eq!(
            natural_scale(b"12345678901234567890.123456789", false),
            Some(9)
        );
        assert_eq!(natural_scale(b"-7", false), Some(0));
        assert_eq!(natural_scale(b"NaN", false), None);
        assert_eq!(natural_scale(b"not a number", false), None);
        let mut binary = bytes::BytesMut::new();
        arrow_pg::numeric::PgNumeric::parse("3.250")
            .expect("parse")
            .write_binary(&mut binary)
            .expect("write");
        assert_eq!(natural_scale(&binary, true), Some(3));
    }

    #[test]
    fn numeric_is_unconstrained_and_unknown_is_left_to_inference() {
        assert_eq!(
            arrow_type_of(&Type::NUMERIC, None),
            Some(UNCONSTRAINED_NUMERIC)
        );
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
