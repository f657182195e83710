//! Literals in a select list, typed as PostgreSQL types them.
//!
//! PostgreSQL types an integer literal int4 when it fits (`SELECT 1` is
//! int4) and a literal with a point or an exponent numeric, with its own
//! digits (`SELECT 1.50` is numeric `1.50`); DataFusion plans them as Int64
//! and Float64. Typing literals so everywhere would change arithmetic
//! throughout a statement: `2000000000 + 2000000000` would overflow, and
//! DataFusion's decimal division keeps four more fraction digits than its
//! dividend (`100.0 * 3 / 7` would be `42.85714`, where float8 gives
//! `42.857142857142854` and PostgreSQL `42.8571428571428571`). laketap
//! types them as PostgreSQL does only where nothing is computed from them:
//! a select-list item of a plain `SELECT` that is only such a literal
//! (`SELECT 1 AS i, 1.5 AS n`). Such a column has PostgreSQL's type in both
//! protocols:
//!
//! - the extended protocol executes the plan made at Parse, so that plan
//!   gives the column an Int32 or Decimal128 literal ([`retyped_plan`]):
//!   its Describe and its binary rows agree;
//! - a simple query's rows are text: an int4 column's text is the int8's,
//!   and a numeric column's is the literal's, the same in every row
//!   ([`retyped_fields`], [`LiteralColumns::apply`]).

use arrow_pg::numeric::PgNumeric;
use bytes::Bytes;
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Distinct, Expr as DfExpr, LogicalPlan, Projection};
use datafusion::sql::sqlparser::ast::{
    Expr, SelectItem, SetExpr, Statement, UnaryOperator, Value, ValueWithSpan,
};
use pgwire::api::Type;
use pgwire::api::results::FieldInfo;
use pgwire::messages::data::DataRow;

/// The PostgreSQL type of a select-list literal, where DataFusion's differs.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer within int4's range (DataFusion: Int64).
    Int4(i32),
    /// A number with a point or an exponent, or an integer past int8's
    /// range, of at most 38 digits (DataFusion: Float64 or UInt64).
    Numeric(PgNumeric),
}

impl Literal {
    fn of(expr: &Expr) -> Option<Literal> {
        let (text, negative) = match expr {
            Expr::Value(ValueWithSpan {
                value: Value::Number(text, _),
                ..
            }) => (text, false),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                Expr::Value(ValueWithSpan {
                    value: Value::Number(text, _),
                    ..
                }) => (text, true),
                _ => return None,
            },
            Expr::Nested(inner) => return Literal::of(inner),
            _ => return None,
        };
        let sign = if negative { "-" } else { "" };
        let signed = format!("{sign}{}", text.replace('_', ""));
        // `-2147483648` is int4: PostgreSQL folds the minus into the constant.
        if let Ok(v) = signed.parse::<i64>() {
            return i32::try_from(v).ok().map(Literal::Int4);
        }
        let number = PgNumeric::parse(&signed).ok()?;
        number.natural_precision_scale()?;
        Some(Literal::Numeric(number))
    }

    fn scalar(&self) -> Option<ScalarValue> {
        Some(match self {
            Literal::Int4(v) => ScalarValue::Int32(Some(*v)),
            Literal::Numeric(n) => {
                let (precision, scale) = n.natural_precision_scale()?;
                ScalarValue::Decimal128(Some(n.to_i128(precision, scale).ok()?), precision, scale)
            }
        })
    }

    fn pg_type(&self) -> Type {
        match self {
            Literal::Int4(_) => Type::INT4,
            Literal::Numeric(_) => Type::NUMERIC,
        }
    }
}

/// The 0-based result columns of `statement` that are a literal PostgreSQL
/// types otherwise than DataFusion: the select-list items of a plain
/// `SELECT` (no set operation, no `*`) that are only a number literal.
pub fn literal_columns(statement: &Statement) -> Vec<(usize, Literal)> {
    let Statement::Query(query) = statement else {
        return Vec::new();
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Vec::new();
    };
    let mut columns = Vec::new();
    for (i, item) in select.projection.iter().enumerate() {
        match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                if let Some(literal) = Literal::of(expr) {
                    columns.push((i, literal));
                }
            }
            // A `*` expands into columns the text does not count.
            _ => return Vec::new(),
        }
    }
    columns
}

/// `plan` with the select-list items at `columns` that are literals made
/// literals of PostgreSQL's type, under the same names ([`map_select_list`]).
pub fn retyped_plan(plan: LogicalPlan, columns: &[(usize, Literal)]) -> DfResult<LogicalPlan> {
    if columns.is_empty() {
        return Ok(plan);
    }
    map_select_list(plan, &mut |i, e, name| {
        let literal = columns.iter().find(|(c, _)| *c == i).map(|(_, l)| l);
        match literal.and_then(Literal::scalar) {
            Some(value) if is_literal(&e) => DfExpr::Literal(value, None).alias(name),
            _ => e,
        }
    })
}

/// `plan` with each item of its select list given to `change` (with its
/// index and output name). The select list is the plan's root projection,
/// under any Sort, Limit, DISTINCT or alias; their schemas are derived
/// again. A plan with no such projection is returned as it is.
pub fn map_select_list(
    plan: LogicalPlan,
    change: &mut dyn FnMut(usize, DfExpr, &str) -> DfExpr,
) -> DfResult<LogicalPlan> {
    match plan {
        LogicalPlan::Projection(projection) => {
            let Projection {
                expr,
                input,
                schema,
                ..
            } = projection;
            let expr = expr
                .into_iter()
                .enumerate()
                .map(|(i, e)| change(i, e, schema.field(i).name()))
                .collect();
            Ok(LogicalPlan::Projection(Projection::try_new(expr, input)?))
        }
        LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Distinct(Distinct::All(_))
        | LogicalPlan::SubqueryAlias(_) => {
            let mut inputs = plan.inputs().into_iter().cloned().collect::<Vec<_>>();
            let Some(input) = inputs.pop().filter(|_| inputs.is_empty()) else {
                return Ok(plan);
            };
            let input = map_select_list(input, change)?;
            plan.with_new_exprs(plan.expressions(), vec![input])
        }
        other => Ok(other),
    }
}

/// The select list of `plan` ([`map_select_list`]'s), if it has one.
pub fn select_list(plan: &LogicalPlan) -> Option<&[DfExpr]> {
    match plan {
        LogicalPlan::Projection(projection) => Some(&projection.expr),
        LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Distinct(Distinct::All(_))
        | LogicalPlan::SubqueryAlias(_) => match plan.inputs().as_slice() {
            [input] => select_list(input),
            _ => None,
        },
        _ => None,
    }
}

/// A literal, aliased or not.
fn is_literal(expr: &DfExpr) -> bool {
    match expr {
        DfExpr::Literal(..) => true,
        DfExpr::Alias(alias) => is_literal(&alias.expr),
        _ => false,
    }
}

/// A simple query's literal columns in PostgreSQL's types: the numeric
/// ones' text, for each row.
#[derive(Debug, Clone)]
pub struct LiteralColumns {
    texts: Vec<(usize, Bytes)>,
}

impl LiteralColumns {
    /// `row` with each numeric literal column's text the literal's.
    pub fn apply(&self, row: DataRow) -> DataRow {
        crate::pgtext::map_fields(&row, |column, _| {
            self.texts
                .iter()
                .find(|(c, _)| *c == column)
                .map(|(_, text)| text)
        })
        .unwrap_or(row)
    }
}

/// `fields` with those at `columns` described in PostgreSQL's type (where
/// they are int8, float8 or numeric, as DataFusion planned the literal),
/// and what the rows of the numeric ones need; `None` when none changes.
pub fn retyped_fields(
    fields: &[FieldInfo],
    columns: &[(usize, Literal)],
) -> Option<(Vec<FieldInfo>, Option<LiteralColumns>)> {
    let literal_at = |i: usize, f: &FieldInfo| {
        let planned = matches!(*f.datatype(), Type::INT8 | Type::FLOAT8 | Type::NUMERIC);
        columns
            .iter()
            .find(|(c, _)| *c == i)
            .map(|(_, l)| l)
            .filter(|l| planned && *f.datatype() != l.pg_type())
    };
    if !fields
        .iter()
        .enumerate()
        .any(|(i, f)| literal_at(i, f).is_some())
    {
        return None;
    }
    let mut texts = Vec::new();
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let Some(literal) = literal_at(i, field) else {
                return field.clone();
            };
            if let Literal::Numeric(n) = literal {
                texts.push((i, Bytes::from(n.to_string())));
            }
            let size = if literal.pg_type() == Type::INT4 {
                4
            } else {
                -1
            };
            crate::pgtypes::with_type(field, literal.pg_type(), size, -1)
        })
        .collect();
    let rows = (!texts.is_empty()).then_some(LiteralColumns { texts });
    Some((fields, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::prelude::SessionContext;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn statement(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0)
    }

    fn numeric(text: &str) -> Literal {
        Literal::Numeric(PgNumeric::parse(text).expect("number"))
    }

    #[test]
    fn number_literals_in_a_plain_select_list_are_found() {
        assert_eq!(
            literal_columns(&statement(
                "SELECT 1 AS i, 1.50 AS n, -2147483648, 2147483648, (7), 1 + 1, 'x', -0.5, \
                 99999999999999999999"
            )),
            vec![
                (0, Literal::Int4(1)),
                (1, numeric("1.50")),
                (2, Literal::Int4(i32::MIN)),
                (4, Literal::Int4(7)),
                (7, numeric("-0.5")),
                (8, numeric("99999999999999999999")),
            ]
        );
        assert!(literal_columns(&statement("SELECT 1 UNION SELECT 3000000000")).is_empty());
        assert!(literal_columns(&statement("SELECT *, 1 FROM t")).is_empty());
        assert!(literal_columns(&statement("INSERT INTO t VALUES (1)")).is_empty());
        // Past 38 digits a numeric has no Arrow type: left as planned.
        assert!(literal_columns(&statement(&format!("SELECT 0.{}", "1".repeat(40)))).is_empty());
    }

    #[tokio::test]
    async fn the_plan_gives_them_postgres_types_under_their_names() {
        let ctx = SessionContext::new();
        let sql =
            "SELECT 1 AS i, 3000000000 AS big, 2, 1.50 AS n, 0.1 + 0.2 AS f ORDER BY i LIMIT 5";
        let plan = ctx.state().create_logical_plan(sql).await.expect("plans");
        let names: Vec<String> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let plan = retyped_plan(plan, &literal_columns(&statement(sql))).expect("retyped");
        let schema = plan.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            vec![
                &DataType::Int32,
                &DataType::Int64,
                &DataType::Int32,
                &DataType::Decimal128(3, 2),
                &DataType::Float64
            ]
        );
        let renamed: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(renamed, names);
        let batches = ctx
            .execute_logical_plan(plan)
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        let texts = crate::test_util::row_text(&batches[0], 0);
        assert_eq!(batches[0].column(0).data_type(), &DataType::Int32);
        assert_eq!(texts[2..4], ["2", "1.50"]);
    }

    #[test]
    fn a_simple_query_describes_them_and_writes_numeric_text() {
        let field = |name: &str, ty: Type| {
            FieldInfo::new(
                name.to_string(),
                None,
                None,
                ty,
                pgwire::api::results::FieldFormat::Text,
            )
        };
        let fields = vec![
            field("i", Type::INT8),
            field("t", Type::TEXT),
            field("n", Type::FLOAT8),
        ];
        let columns = [
            (0, Literal::Int4(1)),
            (1, Literal::Int4(2)),
            (2, numeric("1.50")),
        ];
        let (retyped, rows) = retyped_fields(&fields, &columns).expect("changed");
        let types: Vec<Type> = retyped.iter().map(|f| f.datatype().clone()).collect();
        assert_eq!(types, vec![Type::INT4, Type::TEXT, Type::NUMERIC]);
        let mut data = bytes::BytesMut::new();
        for value in ["1", "x", "1.5"] {
            bytes::BufMut::put_i32(&mut data, value.len() as i32);
            bytes::BufMut::put_slice(&mut data, value.as_bytes());
        }
        let row = rows.expect("numeric text").apply(DataRow::new(data, 3));
        let mut expected = bytes::BytesMut::new();
        for value in ["1", "x", "1.50"] {
            bytes::BufMut::put_i32(&mut expected, value.len() as i32);
            bytes::BufMut::put_slice(&mut expected, value.as_bytes());
        }
        assert_eq!(row, DataRow::new(expected, 3));
        assert!(retyped_fields(&fields, &[(1, Literal::Int4(2))]).is_none());
    }
}
