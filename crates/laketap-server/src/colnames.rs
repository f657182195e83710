//! Result column names as PostgreSQL gives them.
//!
//! DataFusion names an unaliased select-list expression after its own
//! rendering of it (`Int64(-1234)`, `current_schema()`, `c.oid`); clients show
//! those names and some look columns up by them (DBeaver reads
//! `current_schema`, Tableau's connectivity probe expects `?column?`).
//! PostgreSQL's rule (`FigureColname` in parser/parse_target.c): a column
//! reference is named after its last field, a function call after the
//! function, a cast after what it casts or else the type, `CASE` is `case`,
//! `ARRAY[…]` is `array`, and anything else is `?column?`.
//!
//! [`select_list_names`] computes those names from a statement's AST;
//! [`rename`] applies them to a RowDescription. Only the described names
//! change: the plan and its values are untouched.

use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    DataType, Expr, ObjectName, Query, Select, SelectItem, SetExpr, Statement,
};
use pgwire::api::results::FieldInfo;

/// What PostgreSQL calls one select-list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An alias or a plain column: DataFusion's name is PostgreSQL's.
    Keep,
    /// The name PostgreSQL gives an unaliased expression.
    Name(String),
    /// `*` or `t.*`: as many columns as the relation has.
    Wildcard,
}

/// The names of the result columns of a query statement (`None` for other
/// statements, which PostgreSQL describes otherwise, and for statements
/// whose names need no change).
pub fn select_list_names(statement: &Statement) -> Option<Vec<Item>> {
    let Statement::Query(query) = statement else {
        return None;
    };
    let items = query_items(query)?;
    items
        .iter()
        .any(|item| matches!(item, Item::Name(_)))
        .then_some(items)
}

fn query_items(query: &Query) -> Option<Vec<Item>> {
    set_items(&query.body)
}

fn set_items(body: &SetExpr) -> Option<Vec<Item>> {
    match body {
        SetExpr::Select(select) => Some(select_items(select)),
        // A set operation takes the names of its first branch.
        SetExpr::SetOperation { left, .. } => set_items(left),
        SetExpr::Query(query) => query_items(query),
        _ => None,
    }
}

fn select_items(select: &Select) -> Vec<Item> {
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => match unmarked(&alias.value) {
                Some(name) => Item::Name(name.to_string()),
                None => Item::Keep,
            },
            SelectItem::ExprWithAliases { .. } => Item::Keep,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => Item::Wildcard,
            // A plain column gets its name too: equal to DataFusion's, it
            // changes nothing, but `current_schema` (a function to
            // DataFusion) is named as written.
            SelectItem::UnnamedExpr(expr) => Item::Name(name_of(expr).0),
        })
        .collect()
}

/// What follows PostgreSQL's name in the alias [`unique_aliases`] gives an
/// item (a space, so the field counts among [`has_expression_names`]).
const MARK: &str = " (laketap column ";

/// The PostgreSQL name an alias given by [`unique_aliases`] stands for.
fn unmarked(alias: &str) -> Option<&str> {
    let at = alias.rfind(MARK)?;
    alias.ends_with(')').then_some(&alias[..at])
}

/// `SELECT x::text, x` and pgjdbc's getProcedures (`NULL, NULL, NULL`):
/// PostgreSQL names such columns alike, and DataFusion refuses a select
/// list whose expressions it names alike ("Projections require unique
/// expression names"). Each unaliased item of the statement's select
/// lists (every branch of a set operation; not subqueries) gets an alias
/// made of its PostgreSQL name and its position, and [`rename`] gives the
/// described column its PostgreSQL name back. `false` if nothing changed.
pub fn unique_aliases(statement: &mut Statement) -> bool {
    each_select_list(statement, &mut |select| {
        let mut changed = false;
        for (i, item) in select.projection.iter_mut().enumerate() {
            if let SelectItem::UnnamedExpr(expr) = item {
                *item = SelectItem::ExprWithAlias {
                    alias: unique_alias(expr, i),
                    expr: expr.clone(),
                };
                changed = true;
            }
        }
        changed
    })
}

/// PostgreSQL's name of the unaliased select-list item `expr`.
pub fn postgres_name(expr: &Expr) -> String {
    name_of(expr).0
}

/// The alias [`unique_aliases`] gives the unaliased item `expr` at
/// `position` (from 0) of a select list: its PostgreSQL name, which
/// [`rename`] restores, and its position.
pub fn unique_alias(expr: &Expr, position: usize) -> datafusion::sql::sqlparser::ast::Ident {
    let alias = format!("{}{MARK}{})", name_of(expr).0, position + 1);
    datafusion::sql::sqlparser::ast::Ident::with_quote('"', alias)
}

/// Applies `change` to each select list of a query statement's own (every
/// branch of a set operation; not subqueries'); whether any changed.
pub fn each_select_list(
    statement: &mut Statement,
    change: &mut dyn FnMut(&mut Select) -> bool,
) -> bool {
    fn set(body: &mut SetExpr, change: &mut dyn FnMut(&mut Select) -> bool) -> bool {
        match body {
            SetExpr::Select(select) => change(select),
            SetExpr::SetOperation { left, right, .. } => set(left, change) | set(right, change),
            SetExpr::Query(query) => set(&mut query.body, change),
            _ => false,
        }
    }
    match statement {
        Statement::Query(query) => set(&mut query.body, change),
        _ => false,
    }
}

/// A declared cursor's query with PostgreSQL's names as aliases: FETCH is
/// described from the cursor's plan, not from a statement [`rename`]
/// could read. An unaliased item whose PostgreSQL name no other item of
/// the select list has gets it as its alias (`0` becomes `0 AS
/// "?column?"`); items named alike keep DataFusion's names. Only the
/// first branch of a set operation names the columns. `false` if nothing
/// changed.
pub fn alias_postgres_names(query: &mut Query) -> bool {
    fn first_select(body: &mut SetExpr) -> Option<&mut Select> {
        match body {
            SetExpr::Select(select) => Some(select),
            SetExpr::SetOperation { left, .. } => first_select(left),
            SetExpr::Query(query) => first_select(&mut query.body),
            _ => None,
        }
    }
    let Some(select) = first_select(&mut query.body) else {
        return false;
    };
    let names: Vec<Option<String>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => Some(name_of(expr).0),
            SelectItem::ExprWithAlias { alias, .. } => Some(identifier(alias)),
            _ => None,
        })
        .collect();
    let mut changed = false;
    for (item, name) in select.projection.iter_mut().zip(&names) {
        let (SelectItem::UnnamedExpr(expr), Some(name)) = (&*item, name) else {
            continue;
        };
        let plain = matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        if plain || names.iter().filter(|n| n.as_ref() == Some(name)).count() > 1 {
            continue;
        }
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: datafusion::sql::sqlparser::ast::Ident::with_quote('"', name.clone()),
        };
        changed = true;
    }
    changed
}

/// How sure PostgreSQL is of a name: a cast keeps its argument's name only
/// when the argument named itself (a column or a function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    Unnamed,
    Keyword,
    Named,
}

const UNNAMED: &str = "?column?";

/// PostgreSQL's name of `expr` as a select-list item, when the
/// expression names itself (not `?column?`).
pub(crate) fn figure_colname(expr: &Expr) -> Option<String> {
    match name_of(expr) {
        (name, Strength::Named) => Some(name),
        _ => None,
    }
}

fn name_of(expr: &Expr) -> (String, Strength) {
    let keyword = |name: &str| (name.to_string(), Strength::Keyword);
    match expr {
        Expr::Identifier(ident) => (identifier(ident), Strength::Named),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map_or((UNNAMED.to_string(), Strength::Unnamed), |p| {
                (identifier(p), Strength::Named)
            }),
        // Also session_user, current_date … without parentheses.
        // `(row).field` is named after the field; compat.rs writes it as
        // get_field(row, 'field'), and `_pg_expandarray(a)` as
        // unnest(laketap_expandarray(a)).
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(datafusion::sql::sqlparser::ast::AccessExpr::Dot(Expr::Identifier(field))) => {
                (field.value.clone(), Strength::Named)
            }
            _ => keyword("?column?"),
        },
        Expr::Function(function) => {
            use datafusion::sql::sqlparser::ast::{
                FunctionArg, FunctionArgExpr, FunctionArguments, Value,
            };
            let args = match &function.args {
                FunctionArguments::List(list) => list.args.as_slice(),
                _ => &[],
            };
            let arg = |i: usize| match args.get(i) {
                Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => Some(e),
                _ => None,
            };
            let name = last_part(&function.name);
            match (name.as_str(), arg(0), arg(1)) {
                ("get_field", Some(_), Some(Expr::Value(v))) => match &v.value {
                    Value::SingleQuotedString(field) => (field.clone(), Strength::Named),
                    _ => (name, Strength::Named),
                },
                // datafusion-postgres writes `x = ANY(array)` so before
                // this sees it: PostgreSQL names the comparison `?column?`.
                ("array_contains", Some(_), Some(_)) if args.len() == 2 => {
                    (UNNAMED.to_string(), Strength::Unnamed)
                }
                // compat.rs's form of `generate_series(…)` in a select list.
                ("unnest", Some(Expr::Function(inner)), None)
                    if last_part(&inner.name) == "generate_series" =>
                {
                    ("generate_series".to_string(), Strength::Named)
                }
                ("unnest", Some(Expr::Function(inner)), None)
                    if last_part(&inner.name) == "laketap_expandarray" =>
                {
                    ("_pg_expandarray".to_string(), Strength::Named)
                }
                // compat.rs's form of `x AT TIME ZONE z`.
                (crate::attimezone::NAME, _, _) => keyword("timezone"),
                // compat.rs's form of `ARRAY(SELECT …)`.
                ("coalesce", Some(Expr::Subquery(_)), Some(Expr::Function(empty)))
                    if last_part(&empty.name) == "make_array" && args.len() == 2 =>
                {
                    ("array".to_string(), Strength::Keyword)
                }
                _ => (name, Strength::Named),
            }
        }
        Expr::Cast {
            expr, data_type, ..
        } => {
            let inner = name_of(expr);
            if inner.1 == Strength::Named || matches!(data_type, DataType::Array(_)) {
                inner
            } else {
                (type_name(data_type), Strength::Keyword)
            }
        }
        // CASE is named after its ELSE result when that names itself.
        Expr::Case { else_result, .. } => match else_result.as_deref().map(name_of) {
            Some(named @ (_, Strength::Named)) => named,
            _ => keyword("case"),
        },
        Expr::Interval(_) => keyword("interval"),
        Expr::Trim { trim_where, .. } => keyword(match trim_where {
            Some(datafusion::sql::sqlparser::ast::TrimWhereField::Leading) => "ltrim",
            Some(datafusion::sql::sqlparser::ast::TrimWhereField::Trailing) => "rtrim",
            _ => "btrim",
        }),
        Expr::TypedString(typed) => (type_name(&typed.data_type), Strength::Keyword),
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => name_of(inner),
        Expr::Array(_) => keyword("array"),
        Expr::Exists { .. } => keyword("exists"),
        Expr::Extract { .. } => keyword("extract"),
        Expr::Substring { .. } => keyword("substring"),
        Expr::Position { .. } => keyword("position"),
        Expr::Overlay { .. } => keyword("overlay"),
        Expr::Ceil { .. } => keyword("ceil"),
        Expr::Floor { .. } => keyword("floor"),
        Expr::AtTimeZone { .. } => keyword("timezone"),
        // A scalar subquery is named after its one column.
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) => match select.projection.first() {
                Some(SelectItem::UnnamedExpr(expr)) => name_of(expr),
                Some(SelectItem::ExprWithAlias { alias, .. }) => {
                    (identifier(alias), Strength::Named)
                }
                _ => (UNNAMED.to_string(), Strength::Unnamed),
            },
            _ => (UNNAMED.to_string(), Strength::Unnamed),
        },
        _ => (UNNAMED.to_string(), Strength::Unnamed),
    }
}

/// The parts of a qualified name in text (`clients.people`,
/// `"My Schema".t`), each as PostgreSQL folds it; `None` if it does not
/// parse as one.
pub fn qualified_name_parts(text: &str) -> Option<Vec<String>> {
    let mut parser = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(text)
    .ok()?;
    let name = parser.parse_object_name(false).ok()?;
    if parser.peek_token().token != datafusion::sql::sqlparser::tokenizer::Token::EOF {
        return None;
    }
    name.0
        .iter()
        .map(|part| part.as_ident().map(identifier))
        .collect()
}

/// An identifier as PostgreSQL folds it: unquoted ones to lower case.
fn identifier(ident: &datafusion::sql::sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

fn last_part(name: &ObjectName) -> String {
    name.0.last().and_then(|part| part.as_ident()).map_or_else(
        || name.to_string(),
        |ident| ident.value.to_ascii_lowercase(),
    )
}

/// The name PostgreSQL gives a type in a cast (`pg_type.typname`).
fn type_name(data_type: &DataType) -> String {
    let name = match data_type {
        DataType::SmallInt(_) | DataType::Int2(_) => "int2",
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => "int4",
        DataType::BigInt(_) | DataType::Int8(_) => "int8",
        DataType::Real | DataType::Float4 => "float4",
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float8 => "float8",
        DataType::Float(_) => "float8",
        DataType::Numeric(_) | DataType::Decimal(_) | DataType::Dec(_) => "numeric",
        DataType::Boolean | DataType::Bool => "bool",
        DataType::Text | DataType::String(_) => "text",
        DataType::Varchar(_) | DataType::CharacterVarying(_) => "varchar",
        DataType::Char(_) | DataType::Character(_) => "bpchar",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Time(_, tz) => match tz {
            datafusion::sql::sqlparser::ast::TimezoneInfo::WithTimeZone
            | datafusion::sql::sqlparser::ast::TimezoneInfo::Tz => "timetz",
            _ => "time",
        },
        DataType::Timestamp(_, tz) => match tz {
            datafusion::sql::sqlparser::ast::TimezoneInfo::WithTimeZone
            | datafusion::sql::sqlparser::ast::TimezoneInfo::Tz => "timestamptz",
            _ => "timestamp",
        },
        DataType::Interval { .. } => "interval",
        DataType::JSON => "json",
        DataType::JSONB => "jsonb",
        DataType::Uuid => "uuid",
        DataType::Array(_) => UNNAMED,
        DataType::Custom(name, _) => return last_part(name),
        other => return other.to_string().to_ascii_lowercase(),
    };
    name.to_string()
}

/// `fields` with the names of `items` where PostgreSQL's differ; fields and
/// items are aligned around at most one wildcard. Anything that does not
/// line up is left as it was.
pub fn rename(fields: &[FieldInfo], items: &[Item]) -> Option<Vec<FieldInfo>> {
    let wildcards = items.iter().filter(|i| **i == Item::Wildcard).count();
    let mut names: Vec<Option<&str>> = vec![None; fields.len()];
    match wildcards {
        0 if items.len() == fields.len() => {
            for (slot, item) in names.iter_mut().zip(items) {
                if let Item::Name(name) = item {
                    *slot = Some(name);
                }
            }
        }
        1 if items.len() <= fields.len() + 1 => {
            let star = items.iter().position(|i| *i == Item::Wildcard)?;
            let after = items.len() - star - 1;
            for (i, item) in items[..star].iter().enumerate() {
                if let Item::Name(name) = item {
                    names[i] = Some(name);
                }
            }
            for (k, item) in items[star + 1..].iter().enumerate() {
                if let Item::Name(name) = item {
                    names[fields.len() - after + k] = Some(name);
                }
            }
        }
        _ => return None,
    }
    if names.iter().all(Option::is_none) {
        return None;
    }
    Some(
        fields
            .iter()
            .zip(names)
            .map(|(field, name)| match name {
                Some(name) if name != field.name() => renamed(field, name),
                _ => field.clone(),
            })
            .collect(),
    )
}

fn renamed(field: &FieldInfo, name: &str) -> FieldInfo {
    FieldInfo::new(
        name.to_string(),
        field.table_id(),
        field.column_id(),
        field.datatype().clone(),
        field.format(),
    )
    .with_format_options(Arc::clone(field.format_options()))
    .with_type_size(field.type_size())
    .with_type_modifier(field.type_modifier())
}

/// Whether DataFusion named some column after an expression (so the
/// statement is worth parsing for PostgreSQL's names).
pub fn has_expression_names(fields: &[FieldInfo]) -> bool {
    fields
        .iter()
        .any(|f| f.name().contains(['(', '.', ' ', '[', '$']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use pgwire::api::Type;
    use pgwire::api::results::FieldFormat;

    fn names(sql: &str) -> Option<Vec<Item>> {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parse")
            .remove(0);
        select_list_names(&statement)
    }

    fn n(name: &str) -> Item {
        Item::Name(name.to_string())
    }

    #[test]
    fn a_cursors_query_is_aliased_with_postgresql_names() {
        let Statement::Query(mut query) = Parser::parse_sql(
            &PostgreSqlDialect {},
            "SELECT c.relname, 0, count(*) AS n, upper(x), 1 + 1 AS two FROM c UNION SELECT 1, 2, 3, 4, 5",
        )
        .expect("parse")
        .remove(0) else {
            panic!("a query");
        };
        assert!(alias_postgres_names(&mut query));
        assert_eq!(
            query.to_string(),
            "SELECT c.relname, 0 AS \"?column?\", count(*) AS n, upper(x) AS \"upper\", 1 + 1 AS two \
             FROM c UNION SELECT 1, 2, 3, 4, 5"
        );
        // Items PostgreSQL names alike keep DataFusion's names.
        let Statement::Query(mut alike) =
            Parser::parse_sql(&PostgreSqlDialect {}, "SELECT 1 + 1, 2 + 2, x FROM c")
                .expect("parse")
                .remove(0)
        else {
            panic!("a query");
        };
        assert!(!alias_postgres_names(&mut alike));
    }

    #[test]
    fn items_named_alike_are_aliased_apart_and_named_back() {
        let mut statement = Parser::parse_sql(
            &PostgreSqlDialect {},
            "SELECT x::text, x, NULL, NULL, y AS z FROM t UNION ALL SELECT 1, 2, 3, 4, 5",
        )
        .expect("parse")
        .remove(0);
        assert!(unique_aliases(&mut statement));
        let text = statement.to_string();
        assert!(
            text.starts_with(
                "SELECT x::TEXT AS \"x (laketap column 1)\", x AS \"x (laketap column 2)\", \
                 NULL AS \"?column? (laketap column 3)\""
            ),
            "{text}"
        );
        assert!(
            text.contains("SELECT 1 AS \"?column? (laketap column 1)\""),
            "{text}"
        );
        // Read back (as Describe reads the rewritten statement).
        let again = Parser::parse_sql(&PostgreSqlDialect {}, &text)
            .expect("parse")
            .remove(0);
        assert_eq!(
            select_list_names(&again),
            Some(vec![
                n("x"),
                n("x"),
                n("?column?"),
                n("?column?"),
                Item::Keep
            ])
        );
        let mut other = Parser::parse_sql(&PostgreSqlDialect {}, "SHOW ALL")
            .expect("parse")
            .remove(0);
        assert!(!unique_aliases(&mut other));
    }

    #[test]
    fn postgresql_names_of_expressions() {
        // Each expected name is what PostgreSQL 15 describes for the same query.
        assert_eq!(names("SELECT -1234"), Some(vec![n("?column?")]));
        // Field selection, before and after compat.rs rewrites it.
        assert_eq!(
            names(
                "SELECT (r.keys).x, get_field(r.keys, 'n'), unnest(laketap_expandarray(a)) FROM r"
            ),
            Some(vec![n("x"), n("n"), n("_pg_expandarray")])
        );
        assert_eq!(
            names("SELECT coalesce((SELECT array_agg(x) FROM t), make_array()), ARRAY[1]"),
            Some(vec![n("array"), n("array")])
        );
        assert_eq!(names("SELECT 34.457::float8"), Some(vec![n("float8")]));
        assert_eq!(
            names("SELECT current_schema(), session_user"),
            Some(vec![n("current_schema"), n("session_user")])
        );
        assert_eq!(
            names("SELECT c.oid::pg_catalog.regclass, c.relname FROM pg_class c"),
            Some(vec![n("oid"), n("relname")])
        );
        assert_eq!(
            names("SELECT CAST('1' AS INTEGER), 'x'::text, a::text FROM t"),
            Some(vec![n("int4"), n("text"), n("a")])
        );
        assert_eq!(
            names("SELECT count(*), CASE WHEN true THEN 1 END, ARRAY[1] FROM t"),
            Some(vec![n("count"), n("case"), n("array")])
        );
        assert_eq!(
            names("SELECT a, b AS bee, 1 + 1 FROM t"),
            Some(vec![n("a"), Item::Keep, n("?column?")])
        );
        assert_eq!(
            names("SELECT (SELECT max(x) FROM u), 1 UNION SELECT 2, 3"),
            Some(vec![n("max"), n("?column?")])
        );
        assert_eq!(
            names("SELECT P.ID, NAME::text, \"Q\".\"Mixed\" FROM t P, u \"Q\""),
            Some(vec![n("id"), n("name"), n("Mixed")])
        );
        assert_eq!(
            names("SELECT (SELECT name FROM t), CASE WHEN true THEN 1 ELSE id END, $1, $1::int"),
            Some(vec![n("name"), n("id"), n("?column?"), n("int4")])
        );
        assert_eq!(
            names(
                "SELECT ARRAY[1]::int[], interval '1 day', trim(leading 'x' from a), current_schema"
            ),
            Some(vec![
                n("array"),
                n("interval"),
                n("ltrim"),
                n("current_schema")
            ])
        );
        assert_eq!(names("SELECT a, b AS bee FROM t").map(|i| i.len()), Some(2));
        assert_eq!(names("INSERT INTO t VALUES (1)"), None);
    }

    fn field(name: &str) -> FieldInfo {
        FieldInfo::new(name.into(), None, None, Type::INT4, FieldFormat::Text)
    }

    fn renamed_names(fields: &[&str], items: &[Item]) -> Option<Vec<String>> {
        let fields: Vec<FieldInfo> = fields.iter().map(|f| field(f)).collect();
        rename(&fields, items).map(|f| f.iter().map(|f| f.name().to_string()).collect())
    }

    #[test]
    fn renaming_lines_up_around_one_wildcard() {
        assert_eq!(
            renamed_names(&["Int64(1)", "a"], &[n("?column?"), Item::Keep]),
            Some(vec!["?column?".to_string(), "a".to_string()])
        );
        assert_eq!(
            renamed_names(
                &["Int64(1)", "a", "b", "c", "lower(x)"],
                &[n("?column?"), Item::Wildcard, n("lower")]
            ),
            Some(vec![
                "?column?".to_string(),
                "a".to_string(),
                "b".to_string(),
                "c".to_string(),
                "lower".to_string()
            ])
        );
        // Counts that do not line up change nothing.
        assert_eq!(renamed_names(&["Int64(1)"], &[n("?column?"), n("x")]), None);
        assert_eq!(
            renamed_names(&["a", "b"], &[Item::Wildcard, n("x"), Item::Wildcard]),
            None
        );
    }
}
