//! PostgreSQL client compatibility that datafusion-postgres does not cover:
//!
//! - SQL rewrites applied to the text of each statement before it is parsed
//!   and planned ([`rewrite_sql`]). Only statements that need a rewrite are
//!   re-serialized; everything else passes through untouched.
//! - Missing `pg_catalog` columns ([`PgCatalogOverlay`]): a schema provider in
//!   front of datafusion-pg-catalog's that adds the columns clients select.
//!
//! Each rewrite names the client query it exists for.

use std::ops::ControlFlow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::provider_as_source;
use datafusion::datasource::view::ViewTable;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlanBuilder, cast, lit};
use datafusion::prelude::col;
use datafusion::sql::sqlparser::ast::{Expr, FunctionArguments, visit_expressions_mut};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Whether `sql` contains `word`, ignoring ASCII case (a cheap pre-check
/// before parsing).
pub fn mentions(sql: &str, word: &[u8]) -> bool {
    sql.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// Rewrites what the engine cannot plan into what it can; `None` when the
/// statement needs nothing (or does not parse: the engine reports that).
pub fn rewrite_sql(sql: &str) -> Option<String> {
    // Cheap pre-check without allocating: each rewrite below needs a word.
    let mentions = |word: &[u8]| mentions(sql, word);
    let catalog_subquery = mentions(b"(select") && mentions(b"pg_");
    let regclass = mentions(b"regclass") || mentions(b"regproc");
    let interval = mentions(b"interval");
    let numeric = mentions(b"numeric") || mentions(b"decimal") || mentions(b"dec");
    let datetime_format = mentions(b"to_timestamp") || mentions(b"to_date");
    let epoch = mentions(b"'epoch'");
    let regproc_join = mentions(b".oid") && REGPROC_COLUMNS.iter().any(|c| mentions(c.as_bytes()));
    let domain_lookup = mentions(b"typtype") && mentions(b"recursive");
    let oid_aggregate = mentions(b"array_agg") && mentions(b"atttypid");
    let regtype_text = mentions(b"regtype") || mentions(b"regclass");
    let oid_cast = mentions(b"::oid") || mentions(b"pg_catalog.oid") || mentions(b"as oid");
    let visibility = mentions(b"pg_table_is_visible");
    let series = mentions(b"generate_series");
    let at_zone = mentions(b"zone");
    let spelled = crate::pgspelling::WORDS.iter().any(|w| mentions(w));
    let float_number = float_number_literals(sql);
    let own_catalog_table = OWN_CATALOG_TABLES.iter().any(|t| mentions(t.as_bytes()));
    if !mentions(b"array")
        && !own_catalog_table
        && !oid_cast
        && !float_number
        && !at_zone
        && !spelled
        && !datetime_format
        && !epoch
        && !regproc_join
        && !domain_lookup
        && !oid_aggregate
        && !regtype_text
        && !visibility
        && !series
        && !interval
        && !numeric
        && !mentions(b"generate_subscripts")
        && !catalog_subquery
        && !regclass
        && !mentions(b").")
    {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let reg_results = (regtype_text || oid_cast) && !answered_as_written(sql, &statements);
    let mut changed = false;
    for statement in &mut statements {
        if series {
            changed |= set_returning_items(statement);
        }
        if own_catalog_table {
            changed |= qualify_own_catalog_tables(statement);
        }
        if reg_results {
            changed |= regtype_results(statement);
        }
        if spelled {
            changed |= crate::pgspelling::fetch_as_limit(statement);
            changed |= crate::pgspelling::keep_correlated_subqueries(statement);
            changed |= crate::pgspelling::exists_in_select_lists(statement);
        }
        let _ = visit_expressions_mut(statement, |expr| {
            if let Some(replacement) = array_subquery(expr)
                .or_else(|| subscripts(expr))
                .or_else(|| expandarray(expr))
                .or_else(|| composite_field(expr))
                .or_else(|| regclass.then(|| regclass_text(expr)).flatten())
                .or_else(|| regclass.then(|| to_regclass(expr)).flatten())
                .or_else(|| regclass.then(|| system_regclass(expr)).flatten())
                .or_else(|| regclass.then(|| regproc_comparison(expr)).flatten())
                .or_else(|| interval.then(|| interval_literal(expr)).flatten())
                .or_else(|| interval.then(|| interval_product(expr)).flatten())
                .or_else(|| numeric.then(|| numeric_literal(expr)).flatten())
                .or_else(|| float_number.then(|| float_literal(expr)).flatten())
                .or_else(|| datetime_format.then(|| datetime_template(expr)).flatten())
                .or_else(|| epoch.then(|| epoch_literal(expr)).flatten())
                .or_else(|| regproc_join.then(|| regproc_oid_join(expr)).flatten())
                .or_else(|| domain_lookup.then(|| no_domains(expr)).flatten())
                .or_else(|| oid_aggregate.then(|| oid_array_agg(expr)).flatten())
                .or_else(|| regtype_text.then(|| regtype_as_text(expr)).flatten())
                .or_else(|| regtype_text.then(|| regtype_sql_name(expr)).flatten())
                .or_else(|| visibility.then(|| table_visibility(expr)).flatten())
                .or_else(|| at_zone.then(|| at_time_zone(expr)).flatten())
                .or_else(|| {
                    spelled
                        .then(|| crate::pgspelling::rewrite_expr(expr))
                        .flatten()
                })
            {
                *expr = replacement;
                changed = true;
            } else if catalog_subquery && at_most_one_catalog_row(expr) {
                changed = true;
            }
            ControlFlow::<()>::Continue(())
        });
    }
    changed.then(|| {
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The pg_catalog tables laketap adds ([`PgCatalogOverlay`]) that
/// datafusion-pg-catalog's list of names to qualify does not have.
const OWN_CATALOG_TABLES: &[&str] = &[
    "pg_user",
    "pg_timezone_names",
    "pg_timezone_abbrevs",
    "pg_stat_ssl",
    "pg_stat_activity",
    "pg_locks",
];

/// `FROM pg_locks` → `FROM pg_catalog.pg_locks`: pg_catalog is first on
/// every search path, as datafusion-pg-catalog does for its own tables.
fn qualify_own_catalog_tables(statement: &mut datafusion::sql::sqlparser::ast::Statement) -> bool {
    use datafusion::sql::sqlparser::ast::{
        Ident, ObjectName, ObjectNamePart, Statement, visit_relations_mut,
    };
    // Only what a query reads: not a table a statement creates or writes,
    // nor a CTE of the same name.
    let Statement::Query(query) = statement else {
        return false;
    };
    let ctes: Vec<String> = query
        .with
        .iter()
        .flat_map(|with| with.cte_tables.iter())
        .map(|cte| cte.alias.name.value.to_ascii_lowercase())
        .collect();
    let mut changed = false;
    let _ = visit_relations_mut(statement, |name: &mut ObjectName| {
        if let [ObjectNamePart::Identifier(ident)] = name.0.as_slice()
            && OWN_CATALOG_TABLES
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&ident.value))
            && !ctes.contains(&ident.value.to_ascii_lowercase())
        {
            let table = name.0[0].clone();
            *name = ObjectName(vec![
                ObjectNamePart::Identifier(Ident::new("pg_catalog")),
                table,
            ]);
            changed = true;
        }
        ControlFlow::<()>::Continue(())
    });
    changed
}

/// Whether planning failed on a select list that DataFusion names alike
/// (answered by [`unique_names`]).
pub fn is_duplicate_names(message: &str) -> bool {
    message.contains("Projections require unique expression names")
}

/// `sql` with each select list's unaliased items aliased apart
/// ([`crate::colnames::unique_aliases`]); `None` when nothing changed.
/// Used only after planning failed with [`is_duplicate_names`], and only
/// for messages of queries alone (running one again has no effect).
pub fn unique_names(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::ast::Statement;
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    if !statements.iter().all(|s| matches!(s, Statement::Query(_))) {
        return None;
    }
    let mut changed = false;
    for statement in &mut statements {
        changed |= crate::colnames::unique_aliases(statement);
    }
    changed.then(|| {
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// `INTERVAL '1 day 02:03:04'` and `'2 mins'::interval`: a string literal
/// read as an interval is read as PostgreSQL reads it
/// ([`crate::interval`]) and handed to the engine in a form Arrow's parser
/// takes (`0 months 1 days 7384000000 microseconds`). A literal that
/// PostgreSQL's rules do not read either is left to the engine's error.
fn interval_literal(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{DataType as SqlType, Value, ValueWithSpan};
    let text_of = |e: &Expr| match e {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(text),
            ..
        }) => Some(text.clone()),
        _ => None,
    };
    let canonical = |text: &str| {
        let parsed = crate::interval::parse(text).ok()?;
        let canonical = crate::interval::canonical(parsed);
        (canonical != text).then(|| Expr::value(Value::SingleQuotedString(canonical)))
    };
    match expr {
        Expr::Interval(interval)
            if interval.leading_field.is_none() && interval.last_field.is_none() =>
        {
            let literal = canonical(&text_of(&interval.value)?)?;
            let mut rewritten = interval.clone();
            rewritten.value = Box::new(literal);
            Some(Expr::Interval(rewritten))
        }
        Expr::Cast {
            expr: inner,
            data_type: SqlType::Interval { fields: None, .. },
            ..
        } => {
            let literal = canonical(&text_of(inner)?)?;
            let mut rewritten = expr.clone();
            if let Expr::Cast { expr, .. } = &mut rewritten {
                **expr = literal;
            }
            Some(rewritten)
        }
        _ => None,
    }
}

/// `timestamp 'epoch'`, `'epoch'::date`: PostgreSQL's special input for
/// 1970-01-01 00:00:00 (UTC for timestamptz), which Arrow's parser refuses.
fn epoch_literal(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{DataType as SqlType, Value, ValueWithSpan};
    let is_epoch = |v: &ValueWithSpan| matches!(&v.value, Value::SingleQuotedString(t) if t.trim().eq_ignore_ascii_case("epoch"));
    let epoch_text = |data_type: &SqlType| match data_type {
        SqlType::Date => Some("1970-01-01"),
        SqlType::Timestamp(_, datafusion::sql::sqlparser::ast::TimezoneInfo::Tz)
        | SqlType::Timestamp(_, datafusion::sql::sqlparser::ast::TimezoneInfo::WithTimeZone) => {
            Some("1970-01-01 00:00:00+00")
        }
        SqlType::Timestamp(..) | SqlType::Datetime(_) => Some("1970-01-01 00:00:00"),
        _ => None,
    };
    let mut rewritten = expr.clone();
    match &mut rewritten {
        Expr::TypedString(typed) if is_epoch(&typed.value) => {
            let text = epoch_text(&typed.data_type)?;
            typed.value.value = Value::SingleQuotedString(text.to_string());
        }
        Expr::Cast {
            expr: inner,
            data_type,
            ..
        } => {
            let Expr::Value(value) = inner.as_mut() else {
                return None;
            };
            if !is_epoch(value) {
                return None;
            }
            value.value = Value::SingleQuotedString(epoch_text(data_type)?.to_string());
        }
        _ => return None,
    }
    Some(rewritten)
}

/// `x AT TIME ZONE z` as `laketap_at_time_zone(x, z)`
/// ([`crate::attimezone`]: a timestamptz gives a timestamp).
fn at_time_zone(expr: &Expr) -> Option<Expr> {
    let Expr::AtTimeZone {
        timestamp,
        time_zone,
    } = expr
    else {
        return None;
    };
    parse_expr(&format!(
        "{}(({timestamp}), ({time_zone}))",
        crate::attimezone::NAME
    ))
}

/// `n * interval '1 second'` (either order): DataFusion has no interval
/// multiplication, so a product with an interval literal or cast becomes
/// `laketap_interval_mul(interval, n)` ([`crate::interval::IntervalMul`]).
fn interval_product(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, DataType as SqlType};
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Multiply,
        right,
    } = expr
    else {
        return None;
    };
    fn is_interval(e: &Expr) -> bool {
        match e {
            Expr::Interval(_) => true,
            Expr::Cast {
                data_type: SqlType::Interval { .. },
                ..
            } => true,
            Expr::Nested(inner) => is_interval(inner),
            _ => false,
        }
    }
    let (interval, factor) = match (is_interval(left), is_interval(right)) {
        (true, false) => (left, right),
        (false, true) => (right, left),
        _ => return None,
    };
    parse_expr(&format!(
        "laketap_interval_mul({interval}, CAST(({factor}) AS DOUBLE PRECISION))"
    ))
}

/// Whether `sql` may have a number literal [`float_literal`] rewrites: one
/// with an exponent (`1e300`) or of more than 38 digits (a cheap check; the
/// statement's literals are checked exactly).
fn float_number_literals(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut digits = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() {
            digits += 1;
            if digits > 38 {
                return true;
            }
        } else if b == b'.' {
            continue;
        } else {
            if digits > 0
                && matches!(b, b'e' | b'E')
                && bytes
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || matches!(n, b'+' | b'-'))
            {
                return true;
            }
            digits = 0;
        }
    }
    false
}

/// Whether DataFusion reads the number literal `text` as a Decimal128 of at
/// most 38 digits and a scale from -38 to 38 (as `parse_decimal` in
/// datafusion-sql: the digits of the mantissa, the scale its fraction digits
/// less the exponent).
fn decimal_literal_fits(text: &str) -> bool {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => match e.parse::<i64>() {
            Ok(e) => (m, e),
            Err(_) => return false,
        },
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0').len().max(1) as i64;
    let Some(scale) = (fraction.len() as i64).checked_sub(exponent) else {
        return false;
    };
    (-38..=38).contains(&scale) && significant.max(scale) <= 38
}

/// A number literal with an exponent too large (`1e300`, `1e-300`) or too
/// many digits for a Decimal128 (more than 38), as a float8. laketap reads a number with
/// a point as a numeric, as PostgreSQL does (`0.1 + 0.2` is 0.3), and
/// DataFusion refused these with 0A000 ("Decimal scale -300 exceeds the
/// minimum supported scale"), where PostgreSQL holds them as numerics of up
/// to 1000 digits; a float8 is the nearest laketap has (and DataFusion's
/// reading of them before).
fn float_literal(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{CastKind, DataType as SqlType, Value, ValueWithSpan};
    let Expr::Value(ValueWithSpan {
        value: Value::Number(text, _),
        ..
    }) = expr
    else {
        return None;
    };
    if decimal_literal_fits(text) {
        return None;
    }
    Some(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(Expr::Value(
            Value::SingleQuotedString(text.clone()).with_empty_span(),
        )),
        data_type: SqlType::DoublePrecision,
        array: false,
        format: None,
    })
}

/// `'1.10'::numeric`, `123456789012345678901234567890.123::numeric`: a
/// literal cast to an unconstrained numeric keeps its own digits and scale,
/// as PostgreSQL's numeric does, where DataFusion gives every unconstrained
/// numeric Decimal128(38, 10) (`1.1000000000`, and an overflow past 28
/// integer digits). It becomes a cast of its text to `numeric(p, s)` of its
/// own precision and scale; one with more than 38 digits is left to the
/// engine's error. A number literal cast to any numeric is cast from its
/// text: DataFusion reads `1.5` as a float first, which loses digits past
/// the 17th.
fn numeric_literal(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{
        DataType as SqlType, ExactNumberInfo, Value, ValueWithSpan,
    };
    let Expr::Cast {
        expr: inner,
        data_type: SqlType::Numeric(info) | SqlType::Decimal(info) | SqlType::Dec(info),
        ..
    } = expr
    else {
        return None;
    };
    let number_text = |e: &Expr| match e {
        Expr::Value(ValueWithSpan {
            value: Value::Number(text, _),
            ..
        }) => Some(text.clone()),
        _ => None,
    };
    let (text, number) = match inner.as_ref() {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(text),
            ..
        }) => (text.clone(), false),
        // `-1.005` is a minus applied to a number literal.
        Expr::UnaryOp {
            op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => (format!("-{}", number_text(expr)?), true),
        other => (number_text(other)?, true),
    };
    let text = &text;
    let value = arrow_pg::numeric::PgNumeric::parse(text).ok()?;
    let data_type = match info {
        ExactNumberInfo::None => {
            let (precision, scale) = value.natural_precision_scale()?;
            Some(SqlType::Numeric(ExactNumberInfo::PrecisionAndScale(
                u64::from(precision),
                i64::from(scale),
            )))
        }
        // numeric(p, s): the literal rounded to s digits as PostgreSQL
        // rounds (half away from zero; Arrow's text cast rounds -1.005 to
        // -1.00), and a number literal from its text (read as a float,
        // `99999999999999999999.999999999999999999` lost digits).
        ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _) => {
            let scale = match info {
                ExactNumberInfo::PrecisionAndScale(_, s) => *s,
                _ => 0,
            };
            match (u8::try_from(*p), i8::try_from(scale)) {
                (Ok(p), Ok(s)) => {
                    if let Ok(unscaled) = value.to_i128(p, s) {
                        let rounded = arrow_pg::numeric::PgNumeric::from_i128(unscaled, s);
                        if !number && rounded.to_string() == *text {
                            return None;
                        }
                        let mut rewritten = expr.clone();
                        if let Expr::Cast { expr, .. } = &mut rewritten {
                            **expr = Expr::value(Value::SingleQuotedString(rounded.to_string()));
                        }
                        return Some(rewritten);
                    }
                    if !number {
                        return None;
                    }
                    None
                }
                _ if number => None,
                _ => return None,
            }
        }
    };
    let mut rewritten = expr.clone();
    if let Expr::Cast {
        expr,
        data_type: target,
        ..
    } = &mut rewritten
    {
        **expr = Expr::value(Value::SingleQuotedString(value.to_string()));
        if let Some(data_type) = data_type {
            *target = data_type;
        }
    }
    Some(rewritten)
}

/// PostgreSQL's OIDs of its system catalogs (`pg_class` 1259, …), as
/// clients name them: `d.classoid = 'pg_class'::regclass` (pgjdbc, DBeaver,
/// SQLAlchemy) and the built-in `pg_description` and `pg_type.typrelid`
/// rows hold them. datafusion-pg-catalog numbers its tables from 16384, so
/// `pg_class.oid` and `pg_attribute.attrelid` are mapped to these
/// ([`catalog_oid`]), and a `'name'::regclass` literal naming one becomes
/// its number ([`system_regclass`]).
const SYSTEM_CATALOG_OIDS: &[(&str, i32)] = &[
    ("pg_default_acl", 826),
    ("pg_tablespace", 1213),
    ("pg_shdepend", 1214),
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_authid", 1260),
    ("pg_auth_members", 1261),
    ("pg_database", 1262),
    ("pg_foreign_server", 1417),
    ("pg_user_mapping", 1418),
    ("pg_sequence", 2224),
    ("pg_foreign_data_wrapper", 2328),
    ("pg_shdescription", 2396),
    ("pg_aggregate", 2600),
    ("pg_am", 2601),
    ("pg_amop", 2602),
    ("pg_amproc", 2603),
    ("pg_attrdef", 2604),
    ("pg_cast", 2605),
    ("pg_constraint", 2606),
    ("pg_conversion", 2607),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_language", 2612),
    ("pg_largeobject", 2613),
    ("pg_namespace", 2615),
    ("pg_opclass", 2616),
    ("pg_operator", 2617),
    ("pg_rewrite", 2618),
    ("pg_statistic", 2619),
    ("pg_trigger", 2620),
    ("pg_opfamily", 2753),
    ("pg_db_role_setting", 2964),
    ("pg_largeobject_metadata", 2995),
    ("pg_extension", 3079),
    ("pg_foreign_table", 3118),
    ("pg_policy", 3256),
    ("pg_partitioned_table", 3350),
    ("pg_statistic_ext", 3381),
    ("pg_init_privs", 3394),
    ("pg_statistic_ext_data", 3429),
    ("pg_collation", 3456),
    ("pg_event_trigger", 3466),
    ("pg_enum", 3501),
    ("pg_range", 3541),
    ("pg_transform", 3576),
    ("pg_shseclabel", 3592),
    ("pg_seclabel", 3596),
    ("pg_ts_dict", 3600),
    ("pg_ts_parser", 3601),
    ("pg_ts_config", 3602),
    ("pg_ts_config_map", 3603),
    ("pg_ts_template", 3764),
    ("pg_subscription", 6100),
    ("pg_subscription_rel", 6102),
    ("pg_publication", 6104),
    ("pg_publication_rel", 6106),
    ("pg_publication_namespace", 6237),
];

/// The `pg_catalog` namespace's OID (fixed by datafusion-pg-catalog too).
const PG_CATALOG_NAMESPACE: i32 = 11;

/// PostgreSQL's OID of the system catalog `name`.
fn system_catalog_oid(name: &str) -> Option<i32> {
    SYSTEM_CATALOG_OIDS
        .iter()
        .find(|(catalog, _)| *catalog == name)
        .map(|(_, oid)| *oid)
}

/// `'pg_class'::regclass` → `'pg_catalog.pg_class'::regclass`: pg_catalog
/// is first on every search path, so an unqualified system catalog name
/// resolves there whatever the path (datafusion-pg-catalog looks an
/// unqualified name up in `current_schema()` only). pg_class answers it
/// with the catalog's fixed OID ([`catalog_oid`]).
fn system_regclass(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{Value, ValueWithSpan};
    let name = reg_literal(expr, "regclass")?;
    system_catalog_oid(name)?;
    let mut replacement = expr.clone();
    if let Expr::Cast { expr: operand, .. } = &mut replacement
        && let Expr::Value(ValueWithSpan { value, .. }) = operand.as_mut()
    {
        *value = Value::SingleQuotedString(format!("pg_catalog.{name}"));
    }
    Some(replacement)
}

/// The pg_class row of a relation named in text (`clients.people`,
/// `pg_class`): a condition on `laketap_c` (pg_class) and `laketap_n` (its
/// pg_namespace). A name without a schema is looked up in pg_catalog and
/// the current schema.
fn relation_named(text: &str) -> Option<String> {
    let parts = crate::colnames::qualified_name_parts(text)?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match parts.as_slice() {
        [relation] => Some(format!(
            "laketap_c.relname = {} AND laketap_n.nspname IN ('pg_catalog', current_schema())",
            quote(relation)
        )),
        [schema, relation] => Some(format!(
            "laketap_c.relname = {} AND laketap_n.nspname = {}",
            quote(relation),
            quote(schema)
        )),
        _ => None,
    }
}

/// `(SELECT <what> …)` over the relation `text` names (`what` is an
/// aggregate: at most one row).
fn relation_lookup(what: &str, text: &str) -> Option<Expr> {
    parse_expr(&format!(
        "(SELECT {what} FROM pg_catalog.pg_class laketap_c \
         JOIN pg_catalog.pg_namespace laketap_n ON laketap_n.oid = laketap_c.relnamespace \
         WHERE {})",
        relation_named(text)?
    ))
}

/// The arguments of a call of `name` (or `pg_catalog.name`) with a list
/// of them.
pub(crate) fn call_of<'a>(
    expr: &'a Expr,
    name: &str,
) -> Option<&'a [datafusion::sql::sqlparser::ast::FunctionArg]> {
    let Expr::Function(function) = expr else {
        return None;
    };
    let called = function.name.to_string().to_ascii_lowercase();
    if called.strip_prefix("pg_catalog.").unwrap_or(&called) != name {
        return None;
    }
    match &function.args {
        FunctionArguments::List(list) => Some(list.args.as_slice()),
        _ => None,
    }
}

/// The string of `to_regclass('…')` (or `pg_catalog.to_regclass`).
fn to_regclass_text(expr: &Expr) -> Option<&String> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, Value, ValueWithSpan};
    match call_of(expr, "to_regclass")? {
        [
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan {
                value: Value::SingleQuotedString(text),
                ..
            }))),
        ] => Some(text),
        _ => None,
    }
}

/// `'schema.name'::regclass::text` and `to_regclass('…')::text`: the
/// relation's name as PostgreSQL's `regclassout` writes it (qualified
/// with its schema unless that is pg_catalog or the current schema), where
/// DataFusion gave its OID as a number. Only a name in a literal: a
/// regclass column cast to text stays a number. (PostgreSQL qualifies a
/// name not visible on the whole search path and quotes names that need
/// it.)
fn regclass_text(expr: &Expr) -> Option<Expr> {
    let inner = cast_to_text(expr)?;
    const NAME: &str = "max(CASE WHEN laketap_n.nspname IN ('pg_catalog', current_schema()) \
         THEN laketap_c.relname ELSE laketap_n.nspname || '.' || laketap_c.relname END)";
    if let Some(text) = reg_literal(inner, "regclass") {
        return relation_lookup(NAME, text);
    }
    // to_regclass('…'), which the bottom-up visit has made a lookup of the OID.
    let Expr::Subquery(query) = inner else {
        return None;
    };
    let lookup = query.to_string();
    let rest = lookup.strip_prefix(TO_REGCLASS_SELECT)?;
    parse_expr(&format!("(SELECT {NAME}{rest})"))
}

/// What `expr` casts to text (`x::text`, `CAST(x AS VARCHAR)`).
fn cast_to_text(expr: &Expr) -> Option<&Expr> {
    use datafusion::sql::sqlparser::ast::DataType as SqlType;
    match expr {
        Expr::Cast {
            expr: inner,
            data_type:
                SqlType::Text | SqlType::Varchar(_) | SqlType::CharacterVarying(_) | SqlType::String(_),
            ..
        } => Some(inner),
        _ => None,
    }
}

/// How [`to_regclass`]'s lookup begins.
const TO_REGCLASS_SELECT: &str = "SELECT max(laketap_c.oid)";

/// `pg_table_is_visible(c.oid)` (psql's `\d`, `\dt name`): whether the
/// relation's schema is on the session's search_path
/// ([`crate::searchpath`]), where datafusion-pg-catalog answered true for
/// every relation. Only the form over a pg_class row (`alias.oid`), whose
/// `relnamespace` is at hand. (PostgreSQL also hides a relation behind one
/// of the same name earlier on the path.)
fn table_visibility(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr};
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::CompoundIdentifier(parts)))] =
        call_of(expr, "pg_table_is_visible")?
    else {
        return None;
    };
    let [relation, oid] = parts.as_slice() else {
        return None;
    };
    if !oid.value.eq_ignore_ascii_case("oid") {
        return None;
    }
    parse_expr(&format!(
        "{relation}.relnamespace IN (SELECT laketap_vn.oid FROM pg_catalog.pg_namespace laketap_vn \
         WHERE array_has(current_schemas(true), laketap_vn.nspname))"
    ))
}

/// `SELECT generate_series(1, 3)`: in a select list PostgreSQL's
/// generate_series returns a row per value; DataFusion's returns one list.
/// Such an item (alone, or aliased) becomes `unnest(generate_series(…))`,
/// cast to integer when every argument is an integer literal that fits
/// one (PostgreSQL's `generate_series(int4, int4)`). In FROM it is
/// DataFusion's table function already. Only the statement's own select
/// lists, not subqueries'.
fn set_returning_items(statement: &mut datafusion::sql::sqlparser::ast::Statement) -> bool {
    use datafusion::sql::sqlparser::ast::{
        FunctionArg, FunctionArgExpr, SelectItem, Value, ValueWithSpan,
    };
    fn series(expr: &mut Expr) -> bool {
        let Some(args) = call_of(expr, "generate_series") else {
            return false;
        };
        let int4 = args.iter().all(|arg| {
            let literal = match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e,
                _ => return false,
            };
            let (negative, literal) = match literal {
                Expr::UnaryOp { op, expr } if op.to_string() == "-" => (true, expr.as_ref()),
                other => (false, other),
            };
            match literal {
                Expr::Value(ValueWithSpan {
                    value: Value::Number(n, _),
                    ..
                }) => n
                    .parse::<i64>()
                    .ok()
                    .map(|v| if negative { -v } else { v })
                    .is_some_and(|v| i32::try_from(v).is_ok()),
                _ => false,
            }
        });
        let text = format!("unnest({expr})");
        let text = if int4 {
            format!("CAST({text} AS INTEGER)")
        } else {
            text
        };
        match parse_expr(&text) {
            Some(rewritten) => {
                *expr = rewritten;
                true
            }
            None => false,
        }
    }
    crate::colnames::each_select_list(statement, &mut |select| {
        let mut changed = false;
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                changed |= series(expr);
            }
        }
        changed
    })
}

/// `to_regclass('schema.name')`: the relation's OID, or NULL when there is
/// none (where `'…'::regclass` fails).
fn to_regclass(expr: &Expr) -> Option<Expr> {
    relation_lookup("max(laketap_c.oid)", to_regclass_text(expr)?)
}

/// The string of `'name'::kind` (or `::pg_catalog.kind`), a literal cast
/// to an oid-alias type such as regclass.
fn reg_literal<'a>(expr: &'a Expr, kind: &str) -> Option<&'a String> {
    use datafusion::sql::sqlparser::ast::{Value, ValueWithSpan};
    let Expr::Cast {
        expr: operand,
        data_type,
        ..
    } = expr
    else {
        return None;
    };
    if !is_named_type(data_type, kind) {
        return None;
    }
    match operand.as_ref() {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(name),
            ..
        }) => Some(name),
        _ => None,
    }
}

/// pg_type's regproc columns, which hold function names here
/// (datafusion-pg-catalog's text).
const REGPROC_COLUMNS: &[&str] = &[
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
    "typsubscript",
];

/// `typinput = 'pg_catalog.array_in'::regproc` → `typinput = 'array_in'`:
/// pg_type's regproc columns hold function names here, which is also how
/// PostgreSQL prints a regproc; pgjdbc and DBeaver compare them with such
/// literals, which failed as a cast of every name to a number. Elsewhere
/// `'f'::regproc` is left to datafusion-pg-catalog (the function's OID).
fn regproc_comparison(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Value, ValueWithSpan};
    let Expr::BinaryOp { left, op, right } = expr else {
        return None;
    };
    if !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
        return None;
    }
    let is_regproc_column = |e: &Expr| {
        let name = match e {
            Expr::Identifier(ident) => &ident.value,
            Expr::CompoundIdentifier(parts) => match parts.last() {
                Some(ident) => &ident.value,
                None => return false,
            },
            _ => return false,
        };
        REGPROC_COLUMNS.contains(&name.to_ascii_lowercase().as_str())
    };
    let function_name = |e: &Expr| {
        let name = reg_literal(e, "regproc")?;
        Some(Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(
                name.strip_prefix("pg_catalog.").unwrap_or(name).to_string(),
            ),
            span: datafusion::sql::sqlparser::tokenizer::Span::empty(),
        }))
    };
    let (left, right) = if is_regproc_column(left) {
        (left.as_ref().clone(), function_name(right)?)
    } else if is_regproc_column(right) {
        (function_name(left)?, right.as_ref().clone())
    } else {
        return None;
    };
    Some(Expr::BinaryOp {
        left: Box::new(left),
        op: op.clone(),
        right: Box::new(right),
    })
}

/// `CASE WHEN t.typtype = 'd' THEN (WITH RECURSIVE … FROM pg_type …) …`:
/// asyncpg's type introspection finds a domain's base type with a recursive
/// subquery per row, which DataFusion cannot decorrelate ("Physical plan
/// does not support logical expression ScalarSubquery"), and asyncpg then
/// retried without end. laketap's catalog has no domain types (no pg_type
/// row has typtype 'd'), so that branch is never taken: its subquery is
/// replaced by NULL, which is what the branch would give were it reached
/// for a type that is no domain.
fn no_domains(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Value, ValueWithSpan};
    let Expr::Case { conditions, .. } = expr else {
        return None;
    };
    let is_domain_test = |e: &Expr| match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            let column = |e: &Expr| match e {
                Expr::Identifier(i) => i.value.eq_ignore_ascii_case("typtype"),
                Expr::CompoundIdentifier(parts) => parts
                    .last()
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("typtype")),
                _ => false,
            };
            let domain = |e: &Expr| matches!(e, Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(t), .. }) if t == "d");
            (column(left) && domain(right)) || (domain(left) && column(right))
        }
        _ => false,
    };
    let recursive = |e: &Expr| match e {
        Expr::Subquery(query) => query.with.as_ref().is_some_and(|with| with.recursive),
        _ => false,
    };
    if !conditions
        .iter()
        .any(|w| is_domain_test(&w.condition) && recursive(&w.result))
    {
        return None;
    }
    let mut rewritten = expr.clone();
    if let Expr::Case { conditions, .. } = &mut rewritten {
        for when in conditions.iter_mut() {
            if is_domain_test(&when.condition) && recursive(&when.result) {
                when.result = Expr::value(Value::Null);
            }
        }
    }
    Some(rewritten)
}

/// Whether datafusion-pg-catalog answers `sql` with a substitute it keeps
/// for statements as clients write them (psql `\d`'s extended statistics
/// and policies, which DataFusion cannot plan): its token-for-token match
/// must see the text unchanged.
fn answered_as_written(sql: &str, written: &[datafusion::sql::sqlparser::ast::Statement]) -> bool {
    use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
    static PARSER: std::sync::LazyLock<PostgresCompatibilityParser> =
        std::sync::LazyLock::new(PostgresCompatibilityParser::new);
    let Ok(answered) = PARSER.parse(sql) else {
        return false;
    };
    // `parse` substitutes, then applies its rewrite rules; the same rules on
    // the statements as written tell whether anything was substituted.
    answered.len() != written.len()
        || answered
            .iter()
            .zip(written)
            .any(|(a, w)| a.to_string() != PARSER.rewrite(w.clone()).to_string())
}

/// Whether `data_type` is `regclass` (or `pg_catalog.regclass`).
fn is_regclass(data_type: &datafusion::sql::sqlparser::ast::DataType) -> bool {
    is_named_type(data_type, "regclass")
}

/// The OID a regclass cast's operand stands for: a relation's name
/// (`'clients.people'`) looked up in pg_class, anything else as it is.
fn regclass_operand(operand: &Expr) -> String {
    use datafusion::sql::sqlparser::ast::{Value, ValueWithSpan};
    if let Expr::Value(ValueWithSpan {
        value: Value::SingleQuotedString(text),
        ..
    }) = operand
    {
        // '1259'::regclass is the OID itself.
        if text.trim().parse::<u32>().is_ok() {
            return text.trim().to_string();
        }
        if let Some(lookup) = relation_lookup("max(laketap_c.oid)", text) {
            return lookup.to_string();
        }
    }
    operand.to_string()
}

/// Whether `data_type` is `regtype` (or `pg_catalog.regtype`).
fn is_regtype(data_type: &datafusion::sql::sqlparser::ast::DataType) -> bool {
    is_named_type(data_type, "regtype")
}

/// Whether `data_type` is the type `name` (or `pg_catalog.name`), as
/// [`reg_literal`] reads it.
fn is_named_type(data_type: &datafusion::sql::sqlparser::ast::DataType, name: &str) -> bool {
    let type_name = data_type.to_string().to_ascii_lowercase();
    type_name.strip_prefix("pg_catalog.").unwrap_or(&type_name) == name
}

/// `SELECT atttypid::regtype` → `SELECT laketap_regtype(atttypid) AS
/// atttypid`: a result column of the outermost select list that is a
/// regtype prints the type's name ([`crate::regtype`]), and one cast to oid
/// is described as oid (`laketap_oid`), also in `COPY (SELECT
/// …) TO`. An unaliased item is aliased as [`crate::colnames::unique_alias`]
/// does, so the column keeps PostgreSQL's name. A select grouped by
/// expressions (not positions) is left alone, as they would no longer match
/// its items.
fn regtype_results(statement: &mut datafusion::sql::sqlparser::ast::Statement) -> bool {
    use datafusion::sql::sqlparser::ast::{
        CopySource, GroupByExpr, Ident, SelectItem, SetExpr, Statement, Value, ValueWithSpan,
    };
    let (query, copy) = match statement {
        Statement::Query(query) => (query, false),
        Statement::Copy {
            source: CopySource::Query(query),
            ..
        } => (query, true),
        _ => return false,
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    // GROUP BY 1 names the item itself; GROUP BY atttypid::regtype would no
    // longer match it.
    let positional = |e: &Expr| {
        matches!(
            e,
            Expr::Value(ValueWithSpan {
                value: Value::Number(..),
                ..
            })
        )
    };
    if matches!(&select.group_by, GroupByExpr::Expressions(exprs, _) if !exprs.iter().all(positional))
        || matches!(&select.group_by, GroupByExpr::All(_))
    {
        return false;
    }
    // HAVING, QUALIFY or an ORDER BY that names such a cast would no longer
    // match the rewritten item: the select is left as it is.
    let mut names_a_cast = false;
    let mut find = |e: &Expr| {
        if let Expr::Cast { data_type, .. } = e
            && (is_regtype(data_type) || is_regclass(data_type) || is_named_type(data_type, "oid"))
        {
            names_a_cast = true;
        }
        ControlFlow::<()>::Continue(())
    };
    for clause in [&select.having, &select.qualify].into_iter().flatten() {
        let _ = datafusion::sql::sqlparser::ast::visit_expressions(clause, &mut find);
    }
    if let Some(order_by) = &query.order_by {
        let _ = datafusion::sql::sqlparser::ast::visit_expressions(order_by, &mut find);
    }
    if names_a_cast {
        return false;
    }
    // COPY has no way to tell apart columns PostgreSQL names alike: those
    // keep their numbers.
    let names: Vec<Option<String>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => Some(crate::colnames::postgres_name(expr)),
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            _ => None,
        })
        .collect();
    let mut changed = false;
    for (position, item) in select.projection.iter_mut().enumerate() {
        let clashes = names[position].as_ref().is_some_and(|name| {
            names
                .iter()
                .enumerate()
                .any(|(i, other)| i != position && other.as_ref() == Some(name))
        });
        if copy && clashes {
            continue;
        }
        let (expr, alias) = match &*item {
            SelectItem::UnnamedExpr(expr) => (expr, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.clone())),
            _ => continue,
        };
        let Expr::Cast {
            expr: operand,
            data_type,
            format: None,
            ..
        } = expr
        else {
            continue;
        };
        let function = if is_regtype(data_type) {
            crate::regtype::FUNCTION
        } else if is_regclass(data_type) {
            crate::regtype::REGCLASS_FUNCTION
        } else if is_named_type(data_type, "oid") {
            crate::regtype::OID_FUNCTION
        } else {
            continue;
        };
        // An unaliased item keeps PostgreSQL's name (the operand's name, else
        // `regtype`): restored when the result is described, and as it is
        // in a COPY's header.
        let name = alias.unwrap_or_else(|| {
            if copy {
                Ident::with_quote('"', crate::colnames::postgres_name(expr))
            } else {
                crate::colnames::unique_alias(expr, position)
            }
        });
        // A parameter's type is the cast's (datafusion-pg-catalog looks the
        // bound name up): left as it is.
        if matches!(
            operand.as_ref(),
            Expr::Value(datafusion::sql::sqlparser::ast::ValueWithSpan {
                value: datafusion::sql::sqlparser::ast::Value::Placeholder(_),
                ..
            })
        ) {
            continue;
        }
        // A regtype's or regclass's name is looked up; an oid keeps its cast.
        let argument = if function == crate::regtype::FUNCTION {
            regtype_operand(operand)
        } else if function == crate::regtype::REGCLASS_FUNCTION {
            regclass_operand(operand)
        } else {
            expr.to_string()
        };
        let Some(call) = parse_expr(&format!("{function}({argument})")) else {
            continue;
        };
        *item = SelectItem::ExprWithAlias {
            expr: call,
            alias: name,
        };
        changed = true;
    }
    changed
}

/// The OID a regtype cast's operand stands for, as SQL: a type's name
/// (`'integer'`) looked up in `pg_type` (datafusion-pg-catalog resolves a
/// name cast only where it stands alone, not in a function's argument),
/// anything else as it is.
fn regtype_operand(operand: &Expr) -> String {
    use datafusion::sql::sqlparser::ast::{Value, ValueWithSpan};
    match operand {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(text),
            ..
        }) if text.trim().parse::<u32>().is_ok() => text.trim().to_string(),
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(text),
            ..
        }) => {
            let typname = crate::regtype::typname_of(text).unwrap_or_else(|| text.clone());
            format!(
                "(SELECT oid FROM pg_catalog.pg_type WHERE typname = '{}')",
                typname.replace('\'', "''")
            )
        }
        other => other.to_string(),
    }
}

/// `'integer'::regtype` → `'int4'::regtype`: `regtypein` reads SQL's type
/// names (`double precision`, `int4[]`), datafusion-pg-catalog's lookup
/// only `pg_type` names.
fn regtype_sql_name(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::Value;
    let typname = crate::regtype::typname_of(reg_literal(expr, "regtype")?)?;
    let mut rewritten = expr.clone();
    if let Expr::Cast { expr: operand, .. } = &mut rewritten {
        **operand = Expr::value(Value::SingleQuotedString(typname));
    }
    Some(rewritten)
}

/// `x::regtype::text` → `format_type(x, NULL)`: a type's name, as
/// PostgreSQL's regtype prints it (`integer`). The cast chain gave the
/// number as text, still described as oid, which asyncpg's type
/// introspection (`elemtype::regtype::text`) decoded as a 4-byte oid.
fn regtype_as_text(expr: &Expr) -> Option<Expr> {
    let Expr::Cast {
        expr: value,
        data_type,
        ..
    } = cast_to_text(expr)?
    else {
        return None;
    };
    if !is_regtype(data_type) {
        return None;
    }
    parse_expr(&format!("format_type({}, NULL)", regtype_operand(value)))
}

/// `array_agg(ia.atttypid …)` → `laketap_oid_array(array_agg(…))`: the
/// aggregate of an oid column is an `oid[]`, described so
/// ([`crate::pgtypes::OidArray`]); DataFusion's array_agg drops the
/// column's oid tag and it was described as int4[], for which asyncpg has
/// no codec.
fn oid_array_agg(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, SelectItem, SetExpr};
    // A CASE drops the tag of its branches (asyncpg's `CASE WHEN t.typtype
    // = 'c' THEN (SELECT array_agg(ia.atttypid …) …) ELSE NULL END`): a
    // CASE with such a lookup as a branch is tagged as a whole.
    if let Expr::Case {
        conditions,
        else_result,
        ..
    } = expr
    {
        let tagged = |e: &Expr| match e {
            Expr::Subquery(query) => match query.body.as_ref() {
                SetExpr::Select(select) => matches!(
                    select.projection.as_slice(),
                    [SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }]
                        if value.to_string().starts_with("laketap_oid_array(")
                ),
                _ => false,
            },
            _ => false,
        };
        let any = conditions.iter().any(|w| tagged(&w.result))
            || else_result.as_deref().is_some_and(tagged);
        return any
            .then(|| parse_expr(&format!("laketap_oid_array({expr})")))
            .flatten();
    }
    let Expr::Function(function) = expr else {
        return None;
    };
    if !function.name.to_string().eq_ignore_ascii_case("array_agg") {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(argument))] = list.args.as_slice() else {
        return None;
    };
    let column = match argument {
        Expr::Identifier(ident) => &ident.value,
        Expr::CompoundIdentifier(parts) => &parts.last()?.value,
        _ => return None,
    };
    if !column.eq_ignore_ascii_case("atttypid") {
        return None;
    }
    parse_expr(&format!("laketap_oid_array({expr})"))
}

/// `proc.oid = typ.typreceive` → `proc.proname = typ.typreceive`: a
/// function's OID compared with one of pg_type's regproc columns, which hold
/// function names here (npgsql's type loading joins pg_proc so, and failed
/// casting `'record_recv'` to a number). The functions these columns name
/// (`array_recv`, `int4in`, …) are not overloaded, so the name finds the
/// same row.
fn regproc_oid_join(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Ident};
    let Expr::BinaryOp { left, op, right } = expr else {
        return None;
    };
    if !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
        return None;
    }
    let regproc_column = |e: &Expr| match e {
        Expr::Identifier(ident) => {
            REGPROC_COLUMNS.contains(&ident.value.to_ascii_lowercase().as_str())
        }
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|i| REGPROC_COLUMNS.contains(&i.value.to_ascii_lowercase().as_str())),
        _ => false,
    };
    let proname = |e: &Expr| match e {
        Expr::CompoundIdentifier(parts)
            if parts.len() == 2 && parts[1].value.eq_ignore_ascii_case("oid") =>
        {
            Some(Expr::CompoundIdentifier(vec![
                parts[0].clone(),
                Ident::new("proname"),
            ]))
        }
        _ => None,
    };
    let (left, right) = if regproc_column(right) {
        (proname(left)?, right.as_ref().clone())
    } else if regproc_column(left) {
        (left.as_ref().clone(), proname(right)?)
    } else {
        return None;
    };
    Some(Expr::BinaryOp {
        left: Box::new(left),
        op: op.clone(),
        right: Box::new(right),
    })
}

/// `oid` as PostgreSQL numbers it: a system catalog's fixed OID when
/// `relnamespace` is pg_catalog, else `oid` (all int32).
fn catalog_oid(relname: DfExpr, relnamespace: DfExpr, oid: DfExpr) -> DfExpr {
    let mut case = datafusion::logical_expr::case(relname);
    for (name, fixed) in SYSTEM_CATALOG_OIDS {
        case = case.when(lit(*name), lit(*fixed));
    }
    let fixed = case.otherwise(oid.clone()).unwrap_or_else(|_| oid.clone());
    datafusion::logical_expr::when(relnamespace.eq(lit(PG_CATALOG_NAMESPACE)), fixed)
        .otherwise(oid.clone())
        .unwrap_or(oid)
}

/// `ARRAY(SELECT … FROM unnest(x.reloptions) …)`: psql's `\d+` collects the
/// TOAST table's storage options this way. laketap relations have no storage
/// options (`reloptions` is always NULL), so the array is empty. DataFusion
/// cannot plan a correlated unnest, hence the rewrite.
fn array_subquery(expr: &Expr) -> Option<Expr> {
    let Expr::Function(function) = expr else {
        return None;
    };
    if !function.name.to_string().eq_ignore_ascii_case("array") {
        return None;
    }
    let FunctionArguments::Subquery(query) = &function.args else {
        return None;
    };
    let text = query.to_string().to_ascii_lowercase();
    if text.contains("unnest(") && text.contains("reloptions)") {
        return Parser::new(&PostgreSqlDialect {})
            .try_with_sql("CAST(make_array() AS VARCHAR[])")
            .ok()?
            .parse_expr()
            .ok();
    }
    array_of_rows(query)
}

/// `ARRAY(SELECT x FROM … [ORDER BY …])`, PostgreSQL's array of a
/// subquery's rows (psql's `\du` lists role memberships so), as the
/// aggregate DataFusion can decorrelate:
/// `coalesce((SELECT array_agg(x ORDER BY …) FROM …), make_array())` —
/// an empty array when there are no rows, as in PostgreSQL. Only a plain
/// one-column SELECT (no grouping, DISTINCT, LIMIT) is rewritten.
fn array_of_rows(query: &datafusion::sql::sqlparser::ast::Query) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{GroupByExpr, OrderByKind, SelectItem, SetExpr};
    if query.limit_clause.is_some() || query.fetch.is_some() || query.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped || select.having.is_some() || select.distinct.is_some() {
        return None;
    }
    // `oid = ANY(pol.polroles)` over a catalog's text "array" cannot plan
    // either way, and datafusion-pg-catalog answers psql's policy listing,
    // which has one, by its exact text: leave those alone.
    let any_op = select.selection.as_ref().is_some_and(|w| {
        datafusion::sql::sqlparser::ast::visit_expressions(w, |e| {
            if matches!(e, Expr::AnyOp { .. } | Expr::AllOp { .. }) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .is_break()
    });
    if any_op {
        return None;
    }
    let [SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }] =
        select.projection.as_slice()
    else {
        return None;
    };
    let order = match &query.order_by {
        None => String::new(),
        Some(order_by) => match &order_by.kind {
            OrderByKind::Expressions(items) if !items.is_empty() => format!(
                " ORDER BY {}",
                items
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            OrderByKind::Expressions(_) => String::new(),
            OrderByKind::All(_) => return None,
        },
    };
    let mut aggregated = query.clone();
    aggregated.order_by = None;
    if let SetExpr::Select(select) = aggregated.body.as_mut() {
        select.projection = vec![SelectItem::UnnamedExpr(parse_expr(&format!(
            "array_agg({value}{order})"
        ))?)];
    }
    parse_expr(&format!("coalesce(({aggregated}), make_array())"))
}

/// A scalar subquery over `pg_catalog` tables that selects one value without
/// aggregating, such as SQLAlchemy's column reflection's
/// `(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d
/// WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum)`: DataFusion cannot
/// decorrelate it ("Correlated scalar subquery must be aggregated to return
/// at most one row"). Each such catalog lookup finds at most one row (it is
/// keyed by the outer row's OIDs), so `max()` of the value is the value; the
/// subquery is rewritten so. Subqueries over lake tables are left alone:
/// there PostgreSQL's error for a second row must stay an error.
fn at_most_one_catalog_row(expr: &mut Expr) -> bool {
    use datafusion::sql::sqlparser::ast::{GroupByExpr, SelectItem, SetExpr, TableFactor};
    let Expr::Subquery(query) = expr else {
        return false;
    };
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    // `pg_catalog.pg_type`, or a system catalog named alone (`pg_range`,
    // npgsql's type loading), which resolves to pg_catalog's.
    let catalog = |factor: &TableFactor| match factor {
        TableFactor::Table { name, .. } => match name.0.as_slice() {
            [schema, _] => schema
                .as_ident()
                .is_some_and(|schema| schema.value.eq_ignore_ascii_case("pg_catalog")),
            [table] => table.as_ident().is_some_and(|table| {
                system_catalog_oid(&table.value.to_ascii_lowercase()).is_some()
            }),
            _ => false,
        },
        _ => false,
    };
    let only_catalog = !select.from.is_empty()
        && select
            .from
            .iter()
            .all(|t| catalog(&t.relation) && t.joins.iter().all(|j| catalog(&j.relation)));
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if !only_catalog || grouped || select.having.is_some() || select.projection.len() != 1 {
        return false;
    }
    let (value, alias) = match &select.projection[0] {
        SelectItem::UnnamedExpr(value) => (value.clone(), None),
        SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.clone())),
        _ => return false,
    };
    let text = value.to_string();
    let lower = text.to_ascii_lowercase();
    if [
        "max(",
        "min(",
        "count(",
        "sum(",
        "avg(",
        "array_agg(",
        "string_agg(",
        "bool_",
        // array_agg of oids (oid_array_agg)
        "laketap_oid_array(",
    ]
    .iter()
    .any(|aggregate| lower.starts_with(aggregate))
    {
        // Already one row. Left as written: datafusion-pg-catalog answers
        // some client queries that hold one (psql's publication listing)
        // by their exact text, and replaces the rest with NULL when they
        // are a whole select-list item.
        return false;
    }
    // The value keeps its name (PostgreSQL names the subquery's column
    // after it: `(SELECT a.attname …)` is `attname`, not `max`).
    let named = alias.clone().or_else(|| {
        crate::colnames::figure_colname(&value)
            .map(|name| datafusion::sql::sqlparser::ast::Ident::with_quote('"', name))
    });
    let inner = inner_relations(select);
    // Conditions on the outer row alone (SQLAlchemy's `WHERE a.atthasdef
    // AND d.adrelid = a.attrelid …`) become a guard around the lookup:
    // DataFusion decorrelates only equalities with inner columns.
    let mut conjuncts = Vec::new();
    if let Some(selection) = select.selection.take() {
        split_conjuncts(selection, &mut conjuncts);
    }
    let (guards, rest): (Vec<Expr>, Vec<Expr>) = conjuncts.into_iter().partition(|c| {
        let refs = column_refs(c);
        !refs.is_empty() && refs.iter().all(|r| is_outer(r, &inner)) && !contains_subquery(c)
    });
    // DataFusion decorrelates a lookup whose conditions on the outer row are
    // all `inner column = outer expression`; only such a lookup is kept from
    // datafusion-pg-catalog's NULL (psql's `\d` collation lookup, with
    // `a.attcollation <> t.typcollation`, is not, and stays NULL as before).
    let decorrelatable = decorrelatable(&rest, &inner);
    select.selection = rest.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: datafusion::sql::sqlparser::ast::BinaryOperator::And,
        right: Box::new(b),
    });
    let with_value = |query: &datafusion::sql::sqlparser::ast::Query,
                      value: String,
                      alias: Option<datafusion::sql::sqlparser::ast::Ident>| {
        let mut query = query.clone();
        let parsed = parse_expr(&value)?;
        if let SetExpr::Select(select) = query.body.as_mut() {
            // The name stays: a scalar subquery's column is named after it.
            select.projection = vec![match alias {
                Some(alias) => SelectItem::ExprWithAlias {
                    expr: parsed,
                    alias,
                },
                None => SelectItem::UnnamedExpr(parsed),
            }];
        }
        Some(format!("({query})"))
    };
    let refs = column_refs(&value);
    let lookup = if !refs.iter().any(|r| is_outer(r, &inner)) {
        with_value(query, format!("max({text})"), named)
    } else {
        // The value also reads the outer row (`json_build_object('always',
        // a.attidentity = 'a', 'start', s.seqstart, …)`): each inner column
        // becomes its own lookup, and the value is computed outside, when
        // the row exists.
        let mut value = value.clone();
        let mut failed = false;
        let _ = visit_expressions_mut(&mut value, |e| {
            if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                && !is_outer(e, &inner)
            {
                match with_value(query, format!("max({e})"), None).and_then(|q| parse_expr(&q)) {
                    Some(lookup) => *e = lookup,
                    None => failed = true,
                }
            }
            ControlFlow::<()>::Continue(())
        });
        match with_value(query, "count(*)".to_string(), None) {
            Some(count) if !failed => Some(format!("CASE WHEN {count} > 0 THEN {value} END")),
            _ => None,
        }
    };
    let lookup = match (lookup, guards.is_empty()) {
        (Some(lookup), true) => lookup,
        (Some(lookup), false) => {
            let guard = guards
                .iter()
                .map(|g| format!("({g})"))
                .collect::<Vec<_>>()
                .join(" AND ");
            format!("CASE WHEN {guard} THEN {lookup} END")
        }
        (None, _) => return false,
    };
    match parse_expr(&lookup) {
        Some(replacement) => {
            // In parentheses: datafusion-pg-catalog replaces a correlated
            // subquery that is a whole select-list item with NULL (its
            // RemoveSubqueryFromProjection); this one plans, and its value
            // is wanted.
            *expr = if decorrelatable {
                Expr::Nested(Box::new(replacement))
            } else {
                replacement
            };
            true
        }
        None => false,
    }
}

/// The relations a subquery's SELECT reads, by the name its columns are
/// qualified with (alias or table name), lower case.
fn inner_relations(
    select: &datafusion::sql::sqlparser::ast::Select,
) -> std::collections::HashSet<String> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    let mut inner = std::collections::HashSet::new();
    for table in &select.from {
        for factor in
            std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation))
        {
            if let TableFactor::Table { name, alias, .. } = factor {
                let named = match alias {
                    Some(alias) => Some(alias.name.value.to_ascii_lowercase()),
                    None => name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .map(|i| i.value.to_ascii_lowercase()),
                };
                inner.extend(named);
            }
        }
    }
    inner
}

/// Whether DataFusion decorrelates a lookup with these WHERE conjuncts:
/// each that reads the outer row is `inner column = outer expression`.
fn decorrelatable(conjuncts: &[Expr], inner: &std::collections::HashSet<String>) -> bool {
    conjuncts.iter().all(|c| {
        let refs = column_refs(c);
        if !refs.iter().any(|r| is_outer(r, inner)) {
            return true;
        }
        let Expr::BinaryOp {
            left,
            op: datafusion::sql::sqlparser::ast::BinaryOperator::Eq,
            right,
        } = c
        else {
            return false;
        };
        let inner_column = |e: &Expr| {
            matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) && !is_outer(e, inner)
        };
        let outer_only =
            |e: &Expr| !contains_subquery(e) && column_refs(e).iter().all(|r| is_outer(r, inner));
        (inner_column(left) && outer_only(right)) || (inner_column(right) && outer_only(left))
    })
}

/// `sql` as one expression.
pub(crate) fn parse_expr(sql: &str) -> Option<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .ok()?
        .parse_expr()
        .ok()
}

/// `a AND b AND c` → [a, b, c] (through parentheses).
fn split_conjuncts(expr: Expr, out: &mut Vec<Expr>) {
    use datafusion::sql::sqlparser::ast::BinaryOperator;
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_conjuncts(*left, out);
            split_conjuncts(*right, out);
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            split_conjuncts(*inner, out)
        }
        other => out.push(other),
    }
}

/// The column references in `expr` (outside nested subqueries too).
fn column_refs(expr: &Expr) -> Vec<Expr> {
    let mut refs = Vec::new();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            refs.push(e.clone());
        }
        ControlFlow::<()>::Continue(())
    });
    refs
}

/// Whether `expr` contains a subquery.
fn contains_subquery(expr: &Expr) -> bool {
    datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        if matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// A column reference qualified with a relation the subquery does not read
/// (an unqualified one counts as the subquery's own).
fn is_outer(column: &Expr, inner: &std::collections::HashSet<String>) -> bool {
    match column {
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            !inner.contains(&parts[parts.len() - 2].value.to_ascii_lowercase())
        }
        _ => false,
    }
}

/// PostgreSQL's name of encoding `id` (`pg_encoding_to_char`; '' for none).
fn encoding_name(id: i64) -> &'static str {
    const NAMES: [&str; 42] = [
        "SQL_ASCII",
        "EUC_JP",
        "EUC_CN",
        "EUC_KR",
        "EUC_TW",
        "EUC_JIS_2004",
        "UTF8",
        "MULE_INTERNAL",
        "LATIN1",
        "LATIN2",
        "LATIN3",
        "LATIN4",
        "LATIN5",
        "LATIN6",
        "LATIN7",
        "LATIN8",
        "LATIN9",
        "LATIN10",
        "WIN1256",
        "WIN1258",
        "WIN866",
        "WIN874",
        "KOI8R",
        "WIN1251",
        "WIN1252",
        "ISO_8859_5",
        "ISO_8859_6",
        "ISO_8859_7",
        "ISO_8859_8",
        "WIN1250",
        "WIN1253",
        "WIN1254",
        "WIN1255",
        "WIN1257",
        "KOI8U",
        "SJIS",
        "BIG5",
        "GBK",
        "UHC",
        "GB18030",
        "JOHAB",
        "SHIFT_JIS_2004",
    ];
    usize::try_from(id)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("")
}

/// `information_schema._pg_expandarray(a)`: one row `(x, n)` per element of
/// `a`, `x` the element and `n` its position, which pgjdbc's primary-key and
/// index listings select (`(information_schema._pg_expandarray(i.indkey)).n`).
/// It becomes `unnest(laketap_expandarray(a))`, the unnest of a list of such
/// structs; DataFusion zips unnests in one select list as PostgreSQL does
/// set-returning functions.
fn expandarray(expr: &Expr) -> Option<Expr> {
    let Expr::Function(function) = expr else {
        return None;
    };
    let name = function.name.to_string().to_ascii_lowercase();
    if name != "information_schema._pg_expandarray" && name != "_pg_expandarray" {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let [array] = list.args.as_slice() else {
        return None;
    };
    parse_expr(&format!("unnest({EXPAND_ARRAY}({array}))"))
}

/// `to_timestamp(text, 'YYYY-MM-DD HH24:MI:SS.US')`, `to_date(text,
/// 'YYYY-MM-DD')`: a PostgreSQL template given as a literal becomes the
/// chrono format DataFusion's functions take ([`crate::pgformat`]).
fn datetime_template(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, Value, ValueWithSpan};
    let Expr::Function(function) = expr else {
        return None;
    };
    let name = function.name.to_string().to_ascii_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    if name != "to_timestamp" && name != "to_date" {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let [
        _,
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(template),
            ..
        }))),
    ] = list.args.as_slice()
    else {
        return None;
    };
    let format = crate::pgformat::chrono_format(template)?;
    let mut rewritten = function.clone();
    if let FunctionArguments::List(list) = &mut rewritten.args {
        list.args[1] = FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::value(
            Value::SingleQuotedString(format),
        )));
    }
    Some(Expr::Function(rewritten))
}

/// `(composite).field`, PostgreSQL's field selection from a row value
/// (`(information_schema._pg_expandarray(i.indkey)).n`, `(result.keys).x`):
/// DataFusion plans dot access only on column names, so it becomes
/// `get_field(composite, 'field')`.
fn composite_field(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::AccessExpr;
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return None;
    };
    if !matches!(root.as_ref(), Expr::Nested(_)) {
        return None;
    }
    let mut text = root.to_string();
    for access in access_chain {
        let AccessExpr::Dot(Expr::Identifier(field)) = access else {
            return None;
        };
        let field = field.value.replace('\'', "''");
        text = format!("get_field({text}, '{field}')");
    }
    parse_expr(&text)
}

/// The function behind [`expandarray`].
const EXPAND_ARRAY: &str = "laketap_expandarray";

/// `laketap_expandarray(list)`: each element `e` at 1-based position `i` as
/// the struct `{x: e, n: i}`.
fn expand_array(
    args: &[datafusion::logical_expr::ColumnarValue],
) -> DfResult<datafusion::logical_expr::ColumnarValue> {
    use datafusion::arrow::array::{Array, AsArray, Int32Array, ListArray, StructArray};
    let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(args)?;
    let Some(list) = arrays.first().and_then(|a| a.as_list_opt::<i32>()) else {
        return Err(datafusion::error::DataFusionError::Plan(format!(
            "{EXPAND_ARRAY} takes an array"
        )));
    };
    let mut positions = Vec::with_capacity(list.values().len());
    for window in list.offsets().windows(2) {
        let length = usize::try_from(window[1] - window[0]).unwrap_or(0);
        positions.extend((1..=length).map(|i| i32::try_from(i).unwrap_or(i32::MAX)));
    }
    let values = list.values().slice(
        usize::try_from(list.offsets()[0]).unwrap_or(0),
        positions.len(),
    );
    let item = expand_item(values.data_type());
    let DataType::Struct(fields) = item.data_type() else {
        unreachable!("expand_item builds a struct");
    };
    let rows = StructArray::try_new(
        fields.clone(),
        vec![values, Arc::new(Int32Array::from(positions))],
        None,
    )?;
    let offsets = datafusion::arrow::buffer::OffsetBuffer::new(
        list.offsets()
            .iter()
            .map(|o| o - list.offsets()[0])
            .collect::<Vec<_>>()
            .into(),
    );
    Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
        ListArray::try_new(item, offsets, Arc::new(rows), list.nulls().cloned())?,
    )))
}

/// See [`expand_array`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExpandArray {
    signature: datafusion::logical_expr::Signature,
}

impl datafusion::logical_expr::ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        EXPAND_ARRAY
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types {
            [DataType::List(element)] => Ok(DataType::List(expand_item(element.data_type()))),
            other => Err(datafusion::error::DataFusionError::Plan(format!(
                "{EXPAND_ARRAY} takes an array, not {other:?}"
            ))),
        }
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        expand_array(&args.args)
    }
}

/// The list item of [`expand_array`]'s result for elements of `element`.
fn expand_item(element: &DataType) -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(
            vec![
                Field::new("x", element.clone(), true),
                Field::new("n", DataType::Int32, false),
            ]
            .into(),
        ),
        true,
    ))
}

/// `generate_subscripts(a, 1)` in a select list: the subscripts of a
/// one-dimensional array, one row each. SQLAlchemy's index and primary-key
/// reflection pairs it with `unnest(ix.indkey)` to number the key columns.
/// DataFusion has no such set-returning function; `unnest` of the list of
/// subscripts gives the same rows (two unnests in one select list are zipped,
/// as in PostgreSQL).
fn subscripts(expr: &Expr) -> Option<Expr> {
    let Expr::Function(function) = expr else {
        return None;
    };
    if !function
        .name
        .to_string()
        .eq_ignore_ascii_case("generate_subscripts")
    {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let [array, dimension] = list.args.as_slice() else {
        return None;
    };
    // Dimension 1, written or bound (SQLAlchemy's psycopg dialect binds it);
    // a bound one stays in the statement so the parameters still line up.
    let dimension = dimension.to_string();
    let dimension = dimension.trim();
    if dimension != "1" && !dimension.starts_with('$') {
        return None;
    }
    let text = format!(
        "unnest(generate_series(1 + 0 * CAST({dimension} AS BIGINT), \
         CAST(coalesce(array_length({array}, 1), 0) AS BIGINT)))"
    );
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&text)
        .ok()?
        .parse_expr()
        .ok()
}

/// PostgreSQL's `pg_size_pretty(bigint)`, unit for unit and rounding for
/// rounding (PostgreSQL 15+ `dbsize.c`: bytes below 10 kB, then half-rounded
/// kB, MB, GB, TB, PB below 20 units each).
pub fn size_pretty(size: i64) -> String {
    const UNITS: &[(&str, i64, bool, u32)] = &[
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    let mut size = size;
    for (i, (name, limit, round, bits)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1);
        if next.is_none() || size.unsigned_abs() < *limit as u64 {
            let shown = if *round { half_rounded(size) } else { size };
            return format!("{shown} {name}");
        }
        if let Some((_, _, next_round, next_bits)) = next {
            let shift = next_bits - bits - u32::from(*next_round) + u32::from(*round);
            size /= 1i64 << shift;
        }
    }
    format!("{size} bytes")
}

/// Registers the PostgreSQL functions clients call that the catalog crates
/// lack: `pg_size_pretty` and `pg_table_size` (NULL: lake tables have no
/// PostgreSQL storage size; psql shows an empty cell).
pub fn register_functions(ctx: &datafusion::prelude::SessionContext) {
    use datafusion::arrow::array::{Array, AsArray, Int64Array, StringBuilder};
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};

    let pretty = create_udf(
        "pg_size_pretty",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let sizes = arrays[0].as_primitive::<Int64Type>();
            let mut out = StringBuilder::with_capacity(sizes.len(), 0);
            for i in 0..sizes.len() {
                if sizes.is_null(i) {
                    out.append_null();
                } else {
                    out.append_value(size_pretty(sizes.value(i)));
                }
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        }),
    );
    let table_size = create_udf(
        "pg_table_size",
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            Ok(ColumnarValue::Array(Arc::new(Int64Array::new_null(
                arrays[0].len(),
            ))))
        }),
    );
    // to_regtype(name): the type's canonical name, or NULL when there is no
    // such type (SQLAlchemy's psycopg dialect probes for hstore this way).
    let regtype = create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let names = arrays[0].as_string::<i32>();
            let mut out = StringBuilder::with_capacity(names.len(), 0);
            for i in 0..names.len() {
                out.append_option(
                    (!names.is_null(i))
                        .then(|| builtin_type_name(names.value(i)))
                        .flatten(),
                );
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        }),
    );
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        ExpandArray {
            signature: datafusion::logical_expr::Signature::any(1, Volatility::Immutable),
        },
    ));
    // After datafusion-pg-catalog's, which answers 'UTF-8' for 6 and takes
    // only int4 (psql `\l`, psycopg's `pg_encoding_to_char(6)` with an int8).
    ctx.register_udf(create_udf(
        "pg_encoding_to_char",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let ids = datafusion::arrow::compute::cast(&arrays[0], &DataType::Int64)?;
            let ids = ids.as_primitive::<Int64Type>();
            let names: datafusion::arrow::array::StringArray = (0..ids.len())
                .map(|i| (!ids.is_null(i)).then(|| encoding_name(ids.value(i))))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(names)))
        }),
    ));
    ctx.register_udf(pretty);
    ctx.register_udf(table_size);
    ctx.register_udf(regtype);
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        JsonBuildObject::default(),
    ));
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        PgGetExpr::default(),
    ));
    for name in [
        "pg_collation_is_visible",
        "pg_type_is_visible",
        "pg_function_is_visible",
    ] {
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            Visible {
                name,
                signature: datafusion::logical_expr::Signature::any(
                    1,
                    datafusion::logical_expr::Volatility::Stable,
                ),
            },
        ));
    }
    for name in [
        "pg_get_indexdef",
        "pg_get_function_result",
        "pg_get_function_arguments",
    ] {
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            NullText {
                name,
                signature: datafusion::logical_expr::Signature::variadic_any(
                    datafusion::logical_expr::Volatility::Stable,
                ),
            },
        ));
    }
}

/// `pg_collation_is_visible(oid)`, `pg_type_is_visible(oid)`,
/// `pg_function_is_visible(oid)`: true. laketap's collations, types and
/// functions all live in pg_catalog, which is always on the search path
/// (SQLAlchemy's column reflection, psql's `\dT` and `\df` ask).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Visible {
    name: &'static str,
    signature: datafusion::logical_expr::Signature,
}

impl datafusion::logical_expr::ScalarUDFImpl for Visible {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(&args.args)?;
        let oids = &arrays[0];
        let visible: datafusion::arrow::array::BooleanArray = (0..oids.len())
            .map(|i| (!is_null(oids.as_ref(), i)).then_some(true))
            .collect();
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
            visible,
        )))
    }
}

/// Functions answered with NULL (as PostgreSQL answers for an OID that is
/// not of their kind):
/// - `pg_get_indexdef(index_oid [, column, pretty])`: laketap's tables have
///   no indexes (`pg_index` lists none of them); SQLAlchemy's index
///   reflection selects it in a query that finds no rows.
/// - `pg_get_function_result(func_oid)`, `pg_get_function_arguments`: laketap's functions are
///   DataFusion's, whose signatures pg_proc does not hold; psql's `\df`
///   selects it (and lists no function outside pg_catalog).
#[derive(Debug, PartialEq, Eq, Hash)]
struct NullText {
    name: &'static str,
    signature: datafusion::logical_expr::Signature,
}

impl datafusion::logical_expr::ScalarUDFImpl for NullText {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        Ok(datafusion::logical_expr::ColumnarValue::Array(
            datafusion::arrow::array::new_null_array(&DataType::Utf8, args.number_rows),
        ))
    }
}

/// `pg_get_expr(pg_node_tree, relation [, pretty])`: the expression's text,
/// NULL for NULL as in PostgreSQL. laketap keeps no column defaults or
/// constraints (`pg_attrdef` is empty), so clients call it on the NULL side
/// of an outer join (Tableau's column query, pgjdbc's getColumns), where
/// datafusion-pg-catalog's answered '' instead of NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgGetExpr {
    signature: datafusion::logical_expr::Signature,
}

impl Default for PgGetExpr {
    fn default() -> Self {
        use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
        let mut shapes = Vec::new();
        for relation in [
            DataType::Int32,
            DataType::UInt32,
            DataType::Int64,
            DataType::UInt64,
        ] {
            shapes.push(TypeSignature::Exact(vec![DataType::Utf8, relation.clone()]));
            shapes.push(TypeSignature::Exact(vec![
                DataType::Utf8,
                relation,
                DataType::Boolean,
            ]));
        }
        PgGetExpr {
            signature: Signature::one_of(shapes, Volatility::Stable),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for PgGetExpr {
    fn name(&self) -> &str {
        "pg_get_expr"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        let arrays = datafusion::logical_expr::ColumnarValue::values_to_arrays(&args.args)?;
        let expression = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        Ok(datafusion::logical_expr::ColumnarValue::Array(expression))
    }
}

/// `json_build_object(key, value, ...)`: a JSON object as text (laketap has
/// no json type; PostgreSQL's is text-compatible). SQLAlchemy's column
/// reflection builds one per column.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: datafusion::logical_expr::Signature,
}

impl Default for JsonBuildObject {
    fn default() -> Self {
        JsonBuildObject {
            signature: datafusion::logical_expr::Signature::variadic_any(
                datafusion::logical_expr::Volatility::Immutable,
            ),
        }
    }
}

/// Whether a value is NULL, also in a NullArray (which has no validity bitmap).
fn is_null(array: &dyn datafusion::arrow::array::Array, row: usize) -> bool {
    array
        .logical_nulls()
        .is_some_and(|nulls| nulls.is_null(row))
}

/// One value as JSON: text quoted and escaped, numbers and booleans bare, NULL as null.
fn json_value(array: &dyn datafusion::arrow::array::Array, row: usize) -> DfResult<String> {
    use datafusion::arrow::datatypes::DataType as T;
    if is_null(array, row) {
        return Ok("null".to_string());
    }
    let text = datafusion::arrow::util::display::array_value_to_string(array, row)?;
    Ok(match array.data_type() {
        T::Boolean
        | T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::Float32
        | T::Float64
        | T::Decimal128(..)
        | T::Decimal256(..) => text,
        _ => serde_json::Value::String(text).to_string(),
    })
}

impl datafusion::logical_expr::ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> DfResult<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::StringBuilder;
        use datafusion::logical_expr::ColumnarValue;
        if !args.args.len().is_multiple_of(2) {
            return Err(datafusion::error::DataFusionError::Plan(
                "json_build_object() takes an even number of arguments: key, value, ...".into(),
            ));
        }
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        for row in 0..rows {
            let mut pairs = Vec::with_capacity(arrays.len() / 2);
            for pair in arrays.chunks(2) {
                if is_null(pair[0].as_ref(), row) {
                    return Err(datafusion::error::DataFusionError::Execution(
                        "json_build_object(): a key is NULL".into(),
                    ));
                }
                let key = datafusion::arrow::util::display::array_value_to_string(&pair[0], row)?;
                pairs.push(format!(
                    "{} : {}",
                    serde_json::Value::String(key),
                    json_value(pair[1].as_ref(), row)?
                ));
            }
            out.append_value(format!("{{{}}}", pairs.join(", ")));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// PostgreSQL's canonical name of a built-in type that laketap serves, by
/// any of its names (`int4`, `integer`, `pg_catalog.int4`); None for others.
fn builtin_type_name(name: &str) -> Option<String> {
    let lower = name.trim().trim_matches('"').to_ascii_lowercase();
    let bare = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
    let canonical = match bare {
        "bool" | "boolean" => "boolean",
        "int2" | "smallint" => "smallint",
        "int4" | "int" | "integer" => "integer",
        "int8" | "bigint" => "bigint",
        "float4" | "real" => "real",
        "float8" | "double precision" => "double precision",
        "numeric" | "decimal" => "numeric",
        "text" => "text",
        "varchar" | "character varying" => "character varying",
        "bpchar" | "character" | "char" => "character",
        "name" => "name",
        "bytea" => "bytea",
        "date" => "date",
        "time" | "time without time zone" => "time without time zone",
        "timestamp" | "timestamp without time zone" => "timestamp without time zone",
        "timestamptz" | "timestamp with time zone" => "timestamp with time zone",
        "interval" => "interval",
        "oid" => "oid",
        _ => return None,
    };
    Some(canonical.to_string())
}

/// `pg_catalog` with what datafusion-pg-catalog lacks: `pg_class.reloptions`
/// (psql `\d+`) and the rows of `pg_views` (empty there; BI tools list views
/// through it).
#[derive(Debug)]
pub struct PgCatalogOverlay {
    inner: Arc<dyn SchemaProvider>,
    views: Arc<dyn TableProvider>,
    /// `pg_class` with `reloptions`, built once (its rows are computed at each scan).
    pg_class: Option<Arc<dyn TableProvider>>,
    /// `pg_type` with the lake relations' row types.
    pg_type: Option<Arc<dyn TableProvider>>,
    /// `pg_attribute` with its oid columns typed oid.
    pg_attribute: Option<Arc<dyn TableProvider>>,
    /// `pg_index` with its vectors as arrays.
    pg_index: Option<Arc<dyn TableProvider>>,
    /// `pg_constraint` with its key columns as arrays.
    pg_constraint: Option<Arc<dyn TableProvider>>,
    /// `pg_namespace` with `nspacl` an array (psql `\dn+`).
    pg_namespace: Option<Arc<dyn TableProvider>>,
    /// `pg_settings`, computed at each scan from the scanning session's options.
    pg_settings: Arc<dyn TableProvider>,
    /// `pg_description`: the built-in rows and the catalog's descriptions.
    pg_description: Option<Arc<dyn TableProvider>>,
    /// `pg_stat_user_tables` with a row per table ([`crate::pgstats`]).
    pg_stat_user_tables: Option<Arc<dyn TableProvider>>,
    /// Tables of laketap's own: `pg_roles`, `pg_user` and `pg_auth_members`
    /// from laketap's users ([`crate::roles`]), `pg_timezone_names`/
    /// `pg_timezone_abbrevs` ([`crate::pgzones`]), `pg_stat_ssl`,
    /// `pg_stat_activity` and `pg_locks` ([`crate::backends`]).
    own: Vec<(&'static str, Arc<dyn TableProvider>)>,
    /// `pg_tablespace` with the columns DataGrip reads.
    pg_tablespace: Option<Arc<dyn TableProvider>>,
}

impl PgCatalogOverlay {
    /// An overlay over datafusion-pg-catalog's schema; `views` are
    /// (schema, view, definition) of the views to list in `pg_views`.
    pub async fn new(
        inner: Arc<dyn SchemaProvider>,
        views: &[(String, String, String)],
        descriptions: Arc<crate::describe::Descriptions>,
        auth: Arc<crate::auth::Auth>,
    ) -> DfResult<Self> {
        use datafusion::arrow::array::{RecordBatch, StringArray};
        use datafusion::arrow::datatypes::Schema;
        use datafusion::datasource::MemTable;
        let schema = Arc::new(Schema::new(vec![
            Field::new("schemaname", DataType::Utf8, true),
            Field::new("viewname", DataType::Utf8, true),
            Field::new("viewowner", DataType::Utf8, true),
            Field::new("definition", DataType::Utf8, true),
        ]));
        let column = |f: fn(&(String, String, String)) -> &str| {
            Arc::new(StringArray::from_iter_values(views.iter().map(f)))
                as datafusion::arrow::array::ArrayRef
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                column(|v| &v.0),
                column(|v| &v.1),
                column(|_| crate::roles::OWNER_NAME),
                column(|v| &v.2),
            ],
        )?;
        let views: Arc<dyn TableProvider> = Arc::new(MemTable::try_new(schema, vec![vec![batch]])?);
        // Only the views that were created (a KPI view whose tables are not
        // in the catalog is not): those pg_class lists with relkind 'v'.
        let views = match (
            inner.table("pg_class").await?,
            inner.table("pg_namespace").await?,
        ) {
            (Some(classes), Some(namespaces)) => {
                let created = LogicalPlanBuilder::scan("c", provider_as_source(classes), None)?
                    .filter(col("c.relkind").eq(lit("v")))?
                    .join(
                        LogicalPlanBuilder::scan("n", provider_as_source(namespaces), None)?
                            .build()?,
                        datafusion::logical_expr::JoinType::Inner,
                        (vec!["c.relnamespace"], vec!["n.oid"]),
                        None,
                    )?
                    .project(vec![col("n.nspname"), col("c.relname")])?
                    .build()?;
                let plan = LogicalPlanBuilder::scan("pg_views", provider_as_source(views), None)?
                    .join(
                        created,
                        datafusion::logical_expr::JoinType::LeftSemi,
                        (
                            vec!["pg_views.schemaname", "pg_views.viewname"],
                            vec!["n.nspname", "c.relname"],
                        ),
                        None,
                    )?
                    .build()?;
                Arc::new(ViewTable::new(plan, None)) as Arc<dyn TableProvider>
            }
            _ => views,
        };
        // reloptions (psql `\d+`) and relacl / attacl (pgjdbc's privilege
        // listings) are NULL: no storage options and no grants beyond the
        // owner's, which pgjdbc derives from relowner as PostgreSQL's clients do.
        let text_array = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let missing = |table: &Arc<dyn TableProvider>, names: &[&'static str]| {
            names
                .iter()
                .filter(|name| table.schema().field_with_name(name).is_err())
                .map(|name| (*name, text_array.clone()))
                .collect::<Vec<_>>()
        };
        let pg_class_table = inner.table("pg_class").await?;
        let pg_class = match &pg_class_table {
            Some(table) => {
                let extra = missing(table, &["reloptions", "relacl"]);
                Some(with_null_columns("pg_class", table.clone(), &extra)?)
            }
            None => None,
        };
        let pg_attribute = match (inner.table("pg_attribute").await?, &pg_class_table) {
            (Some(table), Some(classes)) => {
                let extra = missing(&table, &["attacl"]);
                let attributes = with_null_columns("pg_attribute", table, &extra)?;
                let typmod = Arc::new(descriptions.typmod_udf());
                Some(attribute_fixes(attributes, classes.clone(), typmod)?)
            }
            (Some(table), None) => Some(with_null_columns("pg_attribute", table, &[])?),
            _ => None,
        };
        let pg_type = match (inner.table("pg_type").await?, &pg_class_table) {
            (Some(types), Some(classes)) => Some(composite_types(types, classes.clone())?),
            (types, _) => types,
        };
        let pg_index = match inner.table("pg_index").await? {
            Some(table) => Some(with_null_columns("pg_index", table, &[])?),
            None => None,
        };
        let pg_constraint = match inner.table("pg_constraint").await? {
            Some(table) => Some(with_null_columns("pg_constraint", table, &[])?),
            None => None,
        };
        // `xmin`, the system column DataGrip reads as a state number: NULL, as laketap's
        // catalog rows have no transaction that wrote them.
        let xmin = |table: &Arc<dyn TableProvider>| {
            if table.schema().field_with_name("xmin").is_err() {
                vec![("xmin", DataType::Int32)]
            } else {
                vec![]
            }
        };
        let pg_namespace = match inner.table("pg_namespace").await? {
            Some(table) => {
                let extra = xmin(&table);
                Some(with_null_columns("pg_namespace", table, &extra)?)
            }
            None => None,
        };
        let pg_tablespace = match inner.table("pg_tablespace").await? {
            Some(table) => {
                let mut extra = xmin(&table);
                extra.extend(missing(&table, &["spcoptions", "spcacl"]));
                Some(with_null_columns("pg_tablespace", table, &extra)?)
            }
            None => None,
        };
        let pg_description = match inner.table("pg_description").await? {
            Some(builtin) => {
                let lake = crate::describe::DescriptionTable::new(descriptions, builtin.schema())?;
                let plan =
                    LogicalPlanBuilder::scan("pg_description", provider_as_source(builtin), None)?
                        .union(
                            LogicalPlanBuilder::scan(
                                "pg_description",
                                provider_as_source(Arc::new(lake)),
                                None,
                            )?
                            .build()?,
                        )?
                        .build()?;
                Some(Arc::new(ViewTable::new(plan, None)) as Arc<dyn TableProvider>)
            }
            None => None,
        };
        // pg_stat_activity's datid: the database's pg_database OID.
        let database_oid = match inner.table("pg_database").await? {
            Some(table) => {
                use datafusion::arrow::array::{Array, AsArray};
                use datafusion::arrow::datatypes::Int32Type;
                let batches = datafusion::prelude::SessionContext::new()
                    .read_table(table)?
                    .filter(col("datname").eq(lit(laketap_engine::DATABASE)))?
                    .select_columns(&["oid"])?
                    .collect()
                    .await?;
                batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
                    let oids =
                        datafusion::arrow::compute::cast(b.column(0), &DataType::Int32).ok()?;
                    let oids = oids.as_primitive::<Int32Type>();
                    (!oids.is_null(0)).then(|| oids.value(0))
                })
            }
            None => None,
        };
        let pg_stat_user_tables = inner.table("pg_stat_user_tables").await?.map(|t| {
            Arc::new(crate::pgstats::PgStatUserTables::new(t.as_ref())) as Arc<dyn TableProvider>
        });
        Ok(PgCatalogOverlay {
            inner,
            views,
            pg_stat_user_tables,
            pg_class,
            pg_type,
            pg_attribute,
            pg_index,
            pg_constraint,
            pg_namespace,
            pg_tablespace,
            pg_settings: Arc::new(laketap_engine::pgsettings::PgSettingsTable::default()),
            pg_description,
            own: {
                use crate::roles::{RoleCatalog, RolesTable};
                let table = |which| {
                    Arc::new(RolesTable::new(auth.clone(), which)) as Arc<dyn TableProvider>
                };
                vec![
                    ("pg_roles", table(RoleCatalog::Roles)),
                    ("pg_user", table(RoleCatalog::Users)),
                    ("pg_auth_members", table(RoleCatalog::Members)),
                    (
                        "pg_timezone_names",
                        Arc::new(crate::pgzones::table(crate::pgzones::ZoneList::Names)),
                    ),
                    (
                        "pg_timezone_abbrevs",
                        Arc::new(crate::pgzones::table(crate::pgzones::ZoneList::Abbrevs)),
                    ),
                    (
                        "pg_stat_ssl",
                        Arc::new(crate::backends::pg_stat_ssl(auth.backends())),
                    ),
                    ("pg_locks", Arc::new(crate::backends::pg_locks())),
                    (
                        "pg_stat_activity",
                        Arc::new(crate::backends::pg_stat_activity(
                            auth.backends(),
                            auth.clone(),
                            (database_oid, laketap_engine::DATABASE.to_string()),
                        )),
                    ),
                ]
            },
        })
    }
}

/// Columns that PostgreSQL types `oid` and datafusion-pg-catalog describes
/// as regclass, regtype or regnamespace (its `pg.oid_alias` kinds). A
/// reg* column is sent as a number where a client decoding regtype expects a
/// name (psycopg2 returns `'25'`), so they are described as oid, as in
/// PostgreSQL's catalogs.
const OID_COLUMNS: &[&str] = &[
    "attrelid",
    "atttypid",
    "relnamespace",
    "reltype",
    "reloftype",
    "reltoastrelid",
    "relrewrite",
];

/// pg_index's int2vector and oidvector columns, which datafusion-pg-catalog
/// holds as their text ('1 2'). PostgreSQL casts them to arrays implicitly,
/// and clients unnest them (SQLAlchemy's primary-key, unique and index
/// reflection: `unnest(ix.indkey)`), so they are arrays here. Unlike
/// PostgreSQL's vectors, their subscripts start at 1.
const VECTOR_COLUMNS: &[(&str, DataType)] = &[
    ("indkey", DataType::Int16),
    ("indoption", DataType::Int16),
    ("indclass", DataType::Int32),
    ("indcollation", DataType::Int32),
];

/// pg_constraint's array columns, which datafusion-pg-catalog holds as text
/// in brackets ('[2, 3]'). pgjdbc's foreign-key listing subscripts them
/// (`con.conkey[pos.n]`), so they are arrays here; NULL stays NULL.
const BRACKETED_ARRAY_COLUMNS: &[(&str, DataType)] = &[
    ("conkey", DataType::Int16),
    ("confkey", DataType::Int16),
    ("conpfeqop", DataType::Int32),
    ("conppeqop", DataType::Int32),
    ("conffeqop", DataType::Int32),
    ("confdelsetcols", DataType::Int16),
    ("conexclop", DataType::Int32),
];

/// `pg_attribute` as PostgreSQL has it: `attnotnull` false for the columns
/// of views (datafusion-pg-catalog derives it from the Arrow field, and a
/// view's fields are often non-nullable: psql `\d` of a KPI view showed
/// "not null"), `attrelid` of the system catalogs their fixed OIDs, and
/// `atttypmod` of `numeric(p, s)` columns.
fn attribute_fixes(
    attributes: Arc<dyn TableProvider>,
    classes: Arc<dyn TableProvider>,
    typmod: Arc<datafusion::logical_expr::ScalarUDF>,
) -> DfResult<Arc<dyn TableProvider>> {
    use datafusion::common::JoinType;
    const CLASS_OID: &str = "laketap_class_oid";
    const IS_VIEW: &str = "laketap_is_view";
    const FIXED_OID: &str = "laketap_fixed_oid";
    // One pass over pg_class: whether the relation is a view, and its OID as
    // PostgreSQL numbers it (a system catalog's fixed OID, see `catalog_oid`).
    let relations = LogicalPlanBuilder::scan("pg_class", provider_as_source(classes), None)?
        .project(vec![
            col("oid").alias(CLASS_OID),
            col("relkind").eq(lit("v")).alias(IS_VIEW),
            catalog_oid(col("relname"), col("relnamespace"), col("oid")).alias(FIXED_OID),
        ])?
        .build()?;
    let columns: Vec<_> = attributes
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let column = col(format!("pg_attribute.\"{}\"", f.name()));
            if f.name() == "attnotnull" {
                let view = datafusion::functions::expr_fn::coalesce(vec![col(IS_VIEW), lit(false)]);
                column
                    .and(datafusion::logical_expr::not(view))
                    .alias("attnotnull")
            } else if f.name() == "atttypmod" {
                // numeric(p, s) columns' modifiers (`format_type`, pgjdbc's
                // COLUMN_SIZE / DECIMAL_DIGITS).
                datafusion::functions::expr_fn::coalesce(vec![
                    typmod.call(vec![
                        col("pg_attribute.attrelid"),
                        col("pg_attribute.attnum"),
                    ]),
                    column,
                ])
                .alias("atttypmod")
            } else if f.name() == "attrelid" {
                datafusion::functions::expr_fn::coalesce(vec![col(FIXED_OID), column])
                    .alias_with_metadata("attrelid", Some(f.metadata().clone().into()))
            } else {
                column
            }
        })
        .collect();
    let plan = LogicalPlanBuilder::scan("pg_attribute", provider_as_source(attributes), None)?
        .join(
            relations,
            JoinType::Left,
            (vec!["pg_attribute.attrelid"], vec![CLASS_OID]),
            None,
        )?
        .project(columns)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// `table` with NULL columns appended, [`OID_COLUMNS`] typed oid and
/// [`VECTOR_COLUMNS`] as arrays, as a view over it.
/// Where laketap numbers the row types of lake relations: each is this plus
/// its relation's OID (datafusion-pg-catalog numbers objects from 16384, far
/// below).
const ROW_TYPE_OID_BASE: i32 = 1 << 30;

/// The built-in row type whose columns a lake relation's row type copies
/// (`pg_class`'s, OID 83).
const TEMPLATE_ROW_TYPE: i32 = 83;

/// The OID of the row type of relation `oid`.
fn row_type_oid(oid: DfExpr) -> DfExpr {
    oid + lit(ROW_TYPE_OID_BASE)
}

/// Whether the pg_class row (columns qualified by `qualifier`) is a relation
/// with a row type laketap lists: a table, view or materialized view outside
/// pg_catalog (whose row types are built in).
fn has_row_type(qualifier: &str) -> DfExpr {
    col(format!("{qualifier}.relkind"))
        .in_list(
            vec![lit("r"), lit("v"), lit("m"), lit("p"), lit("f")],
            false,
        )
        .and(col(format!("{qualifier}.relnamespace")).not_eq(lit(PG_CATALOG_NAMESPACE)))
}

/// `pg_type` with a row type (typtype 'c') per lake relation, as PostgreSQL
/// has one per table and view: pgjdbc's getUDTs lists them as STRUCTs,
/// `pg_class.reltype` points at them. Their other columns are those of the
/// built-in row type of `pg_class`; no array type is listed for them.
fn composite_types(
    types: Arc<dyn TableProvider>,
    classes: Arc<dyn TableProvider>,
) -> DfResult<Arc<dyn TableProvider>> {
    let template = LogicalPlanBuilder::scan("t", provider_as_source(types.clone()), None)?
        .filter(col("t.oid").eq(lit(TEMPLATE_ROW_TYPE)))?
        .build()?;
    let columns: Vec<DfExpr> = types
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let value = match f.name().as_str() {
                "oid" => row_type_oid(col("c.oid")),
                "typname" => col("c.relname"),
                "typnamespace" => col("c.relnamespace"),
                "typowner" => lit(crate::roles::OWNER_OID),
                "typrelid" => col("c.oid"),
                "typarray" => lit(0_i32),
                // The template's own column, with its metadata ("char", oid).
                other => return col(format!("t.\"{other}\"")),
            };
            cast(value, f.data_type().clone())
                .alias_with_metadata(f.name(), Some(f.metadata().clone().into()))
        })
        .collect();
    let rows = LogicalPlanBuilder::scan("c", provider_as_source(classes), None)?
        .filter(has_row_type("c"))?
        .cross_join(template)?
        .project(columns)?
        .build()?;
    let plan = LogicalPlanBuilder::scan("pg_type", provider_as_source(types), None)?
        .union(rows)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

fn with_null_columns(
    name: &str,
    table: Arc<dyn TableProvider>,
    extra: &[(&str, DataType)],
) -> DfResult<Arc<dyn TableProvider>> {
    let oid =
        datafusion::logical_expr::expr::FieldMetadata::from(std::collections::BTreeMap::from([(
            arrow_pg::datatypes::PG_OID_ALIAS_KEY.to_string(),
            "oid".to_string(),
        )]));
    let mut columns: Vec<_> = table
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let column = col(format!("{name}.\"{}\"", f.name()));
            let vector = VECTOR_COLUMNS.iter().find(|(vector, _)| {
                *vector == f.name().as_str() && f.data_type() == &DataType::Utf8
            });
            let bracketed = BRACKETED_ARRAY_COLUMNS.iter().find(|(array, _)| {
                name == "pg_constraint"
                    && *array == f.name().as_str()
                    && f.data_type() == &DataType::Utf8
            });
            if name == "pg_class" && f.name() == "oid" {
                catalog_oid(
                    col(format!("{name}.relname")),
                    col(format!("{name}.relnamespace")),
                    column,
                )
                .alias_with_metadata(f.name(), Some(oid.clone()))
            } else if name == "pg_class" && f.name() == "reltype" {
                // The row type of each lake relation ([`composite_types`]).
                datafusion::logical_expr::when(
                    has_row_type(name),
                    row_type_oid(col(format!("{name}.oid"))),
                )
                .otherwise(column)
                .map(|reltype| reltype.alias_with_metadata(f.name(), Some(oid.clone())))
                .unwrap_or_else(|_| col(format!("{name}.reltype")))
            } else if name == "pg_class" && f.name() == "relowner" {
                // Every relation is the owner role's (crate::roles), where
                // datafusion-pg-catalog leaves lake tables at 0.
                datafusion::logical_expr::when(
                    column.clone().eq(lit(0_i32)),
                    lit(crate::roles::OWNER_OID),
                )
                .otherwise(column)
                .map(|owner| owner.alias_with_metadata(f.name(), Some(oid.clone())))
                .unwrap_or_else(|_| col(format!("{name}.relowner")))
            } else if name == "pg_namespace"
                && f.name() == "nspacl"
                && f.data_type() == &DataType::Utf8
            {
                // aclitem[] in PostgreSQL (psql `\dn+` runs array_to_string
                // on it); NULL here, as datafusion-pg-catalog's text is:
                // no grants beyond the owner's.
                let text_array = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
                cast(lit(datafusion::scalar::ScalarValue::Null), text_array).alias(f.name())
            } else if OID_COLUMNS.contains(&f.name().as_str()) {
                column.alias_with_metadata(f.name(), Some(oid.clone()))
            } else if let Some((_, item)) = bracketed {
                // '[2, 3]' -> [2, 3]; '[]' -> []
                let parts = datafusion::functions_nested::expr_fn::string_to_array(
                    datafusion::functions::expr_fn::btrim(vec![column, lit("[]")]),
                    lit(", "),
                    lit(""),
                );
                let list = DataType::List(Arc::new(Field::new("item", item.clone(), true)));
                cast(parts, list).alias(f.name())
            } else if let Some((_, item)) = vector {
                // '1 2' -> [1, 2]; '' -> []
                let parts = datafusion::functions_nested::expr_fn::string_to_array(
                    datafusion::functions::expr_fn::nullif(column, lit("")),
                    lit(" "),
                    lit(datafusion::scalar::ScalarValue::Utf8(None)),
                );
                let list = DataType::List(Arc::new(Field::new("item", item.clone(), true)));
                datafusion::functions::expr_fn::coalesce(vec![
                    cast(parts, list.clone()),
                    cast(
                        datafusion::functions_nested::expr_fn::make_array(vec![]),
                        list,
                    ),
                ])
                .alias(f.name())
            } else {
                column
            }
        })
        .collect();
    for (column, data_type) in extra {
        columns.push(
            cast(
                lit(datafusion::scalar::ScalarValue::Null),
                data_type.clone(),
            )
            .alias(*column),
        );
    }
    let plan = LogicalPlanBuilder::scan(name, provider_as_source(table), None)?
        .project(columns)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

#[async_trait]
impl SchemaProvider for PgCatalogOverlay {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        for (name, _) in &self.own {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some((_, table)) = self
            .own
            .iter()
            .find(|(own, _)| name.eq_ignore_ascii_case(own))
        {
            return Ok(Some(table.clone()));
        }
        if name.eq_ignore_ascii_case("pg_views") {
            return Ok(Some(self.views.clone()));
        }
        if name.eq_ignore_ascii_case("pg_settings") {
            return Ok(Some(self.pg_settings.clone()));
        }
        if name.eq_ignore_ascii_case("pg_class")
            && let Some(pg_class) = &self.pg_class
        {
            return Ok(Some(pg_class.clone()));
        }
        if name.eq_ignore_ascii_case("pg_type")
            && let Some(pg_type) = &self.pg_type
        {
            return Ok(Some(pg_type.clone()));
        }
        if name.eq_ignore_ascii_case("pg_attribute")
            && let Some(pg_attribute) = &self.pg_attribute
        {
            return Ok(Some(pg_attribute.clone()));
        }
        if name.eq_ignore_ascii_case("pg_index")
            && let Some(pg_index) = &self.pg_index
        {
            return Ok(Some(pg_index.clone()));
        }
        if name.eq_ignore_ascii_case("pg_namespace")
            && let Some(pg_namespace) = &self.pg_namespace
        {
            return Ok(Some(pg_namespace.clone()));
        }
        if name.eq_ignore_ascii_case("pg_tablespace")
            && let Some(pg_tablespace) = &self.pg_tablespace
        {
            return Ok(Some(pg_tablespace.clone()));
        }
        if name.eq_ignore_ascii_case("pg_constraint")
            && let Some(pg_constraint) = &self.pg_constraint
        {
            return Ok(Some(pg_constraint.clone()));
        }
        if name.eq_ignore_ascii_case("pg_description")
            && let Some(pg_description) = &self.pg_description
        {
            return Ok(Some(pg_description.clone()));
        }
        if name.eq_ignore_ascii_case("pg_stat_user_tables")
            && let Some(stats) = &self.pg_stat_user_tables
        {
            return Ok(Some(stats.clone()));
        }
        self.inner.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.own
            .iter()
            .any(|(own, _)| name.eq_ignore_ascii_case(own))
            || self.inner.table_exist(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::first_row;

    #[test]
    fn wide_number_literals_are_float8_and_others_numeric() {
        for fits in [
            "0.1",
            "19.99",
            "1e3",
            "2.5e-3",
            "12345678901234567890",
            "-0.5",
        ] {
            assert!(decimal_literal_fits(fits.trim_start_matches('-')), "{fits}");
        }
        for wide in [
            "1e300",
            "1e-300",
            "1.5E40",
            "0.123456789012345678901234567890123456789",
        ] {
            assert!(!decimal_literal_fits(wide), "{wide}");
        }
        assert_eq!(
            rewrite_sql("SELECT 1e300::float8 AS b, 0.5 AS h").as_deref(),
            Some("SELECT CAST('1e300' AS DOUBLE PRECISION)::FLOAT8 AS b, 0.5 AS h")
        );
        assert_eq!(rewrite_sql("SELECT 0.5 + 1 AS h"), None);
    }

    #[test]
    fn regtype_and_oid_results_and_sql_type_names() {
        assert_eq!(
            rewrite_sql("SELECT a.atttypid::regtype, 'integer'::regtype AS t, 25::oid FROM a")
                .as_deref(),
            Some(
                "SELECT laketap_regtype(a.atttypid) AS \"atttypid (laketap column 1)\", \
                 laketap_regtype((SELECT oid FROM pg_catalog.pg_type WHERE typname = 'int4')) AS t, \
                 laketap_oid(25::oid) AS \"oid (laketap column 3)\" FROM a"
            )
        );
        // Grouped by the expression: left as it is; in a WHERE, the name is read.
        assert_eq!(
            rewrite_sql(
                "SELECT x::regtype FROM t WHERE y = 'double precision'::regtype GROUP BY x::regtype"
            )
            .as_deref(),
            Some("SELECT x::regtype FROM t WHERE y = 'float8'::regtype GROUP BY x::regtype")
        );
        assert_eq!(
            rewrite_sql("SELECT 'integer[]'::regtype::text").as_deref(),
            Some(
                "SELECT format_type((SELECT oid FROM pg_catalog.pg_type WHERE typname = '_int4'), NULL)"
            )
        );
        assert_eq!(
            rewrite_sql("SELECT c.oid::pg_catalog.regclass AS r FROM c").as_deref(),
            Some("SELECT laketap_regclass(c.oid) AS r FROM c")
        );
        // ORDER BY or HAVING naming the cast, and COPY columns named alike:
        // left as they are; a number in quotes is the OID itself.
        assert_eq!(
            rewrite_sql("SELECT x::regtype FROM t ORDER BY x::regtype"),
            None
        );
        assert_eq!(
            rewrite_sql("SELECT x::regtype FROM t GROUP BY 1 HAVING x::regtype = 23"),
            None
        );
        assert_eq!(
            rewrite_sql("COPY (SELECT 23::regtype, 25::regtype) TO STDOUT"),
            None
        );
        assert_eq!(
            rewrite_sql("SELECT '23'::regtype AS t, $1::regclass AS p").as_deref(),
            Some("SELECT laketap_regtype(23) AS t, $1::REGCLASS AS p")
        );
        // laketap's own catalog tables resolve in pg_catalog, unless a CTE
        // has the name.
        assert_eq!(
            rewrite_sql("SELECT count(*) FROM pg_locks").as_deref(),
            Some("SELECT count(*) FROM pg_catalog.pg_locks")
        );
        assert_eq!(
            rewrite_sql("WITH pg_locks AS (SELECT 1 AS x) SELECT x FROM pg_locks"),
            None
        );
        // psql \d's extended statistics query is answered by
        // datafusion-pg-catalog as written: left alone.
        let psql = "SELECT oid, stxrelid::pg_catalog.regclass, \
             stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,\n\
             pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,\n  \
             'd' = any(stxkind) AS ndist_enabled,\n  'f' = any(stxkind) AS deps_enabled,\n  \
             'm' = any(stxkind) AS mcv_enabled,\nstxstattarget\nFROM pg_catalog.pg_statistic_ext\n\
             WHERE stxrelid = '16389'\nORDER BY nsp, stxname;";
        let written = Parser::parse_sql(&PostgreSqlDialect {}, psql).expect("parses");
        assert!(answered_as_written(psql, &written));
        assert_eq!(rewrite_sql(psql), None);
        // COPY's header has PostgreSQL's name.
        assert_eq!(
            rewrite_sql("COPY (SELECT atttypid::regtype FROM a) TO STDOUT").as_deref(),
            Some("COPY (SELECT laketap_regtype(atttypid) AS \"atttypid\" FROM a) TO STDOUT")
        );
    }

    #[test]
    fn generate_series_in_a_select_list_gives_rows() {
        assert_eq!(
            rewrite_sql("SELECT generate_series(1, 3) AS v, generate_series(-2, 3000000000)")
                .as_deref(),
            Some(
                "SELECT CAST(unnest(generate_series(1, 3)) AS INTEGER) AS v, \
                 unnest(generate_series(-2, 3000000000))"
            )
        );
        // In FROM it is the table function already; in an expression, left.
        assert_eq!(rewrite_sql("SELECT * FROM generate_series(1, 3)"), None);
        assert_eq!(rewrite_sql("SELECT 1 + generate_series(1, 3)"), None);
    }

    #[test]
    fn relations_named_in_literals_are_looked_up_by_name() {
        let sql = rewrite_sql(
            "SELECT 'clients.people'::regclass::text AS a, to_regclass('\"My\".T')::text AS b, \
             to_regclass('pg_class') AS c, x::regclass::text AS d FROM t",
        )
        .expect("rewritten");
        let name = "max(CASE WHEN laketap_n.nspname IN ('pg_catalog', current_schema()) \
             THEN laketap_c.relname ELSE laketap_n.nspname || '.' || laketap_c.relname END)";
        let from = "FROM pg_catalog.pg_class laketap_c JOIN pg_catalog.pg_namespace laketap_n \
             ON laketap_n.oid = laketap_c.relnamespace WHERE";
        for part in [
            format!(
                "(SELECT {name} {from} laketap_c.relname = 'people' AND laketap_n.nspname = 'clients') AS a"
            ),
            // Unquoted parts fold to lower case, as PostgreSQL folds them.
            format!(
                "(SELECT {name} {from} laketap_c.relname = 't' AND laketap_n.nspname = 'My') AS b"
            ),
            format!(
                "(SELECT max(laketap_c.oid) {from} laketap_c.relname = 'pg_class' \
                 AND laketap_n.nspname IN ('pg_catalog', current_schema())) AS c"
            ),
            // A column stays the engine's.
            "x::REGCLASS::TEXT AS d".to_string(),
        ] {
            let part = part.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(sql.contains(&part), "{part}\nin\n{sql}");
        }
    }

    #[tokio::test]
    async fn numeric_and_interval_literals_read_as_postgresql_reads_them() {
        let ctx = datafusion::prelude::SessionContext::new();
        // Each expected value is PostgreSQL 15's answer to the same query.
        let sql = rewrite_sql(
            "SELECT CAST('1.10'::numeric AS VARCHAR) AS a, \
             CAST(123456789012345678901234567890.123::numeric AS VARCHAR) AS b, \
             CAST(CAST(-1.005 AS numeric(10,2)) AS VARCHAR) AS c, \
             CAST(CAST(99999999999999999999.999999999999999999 AS decimal(38,18)) AS VARCHAR) AS d, \
             CAST(INTERVAL '1 day 02:03:04.000005' AS VARCHAR) AS e, \
             CAST('2 mins 3.5 secs ago'::interval AS VARCHAR) AS f",
        )
        .expect("rewritten");
        let row = first_row(&ctx, &sql).await;
        assert_eq!(
            row[..4],
            [
                "1.10",
                "123456789012345678901234567890.123",
                "-1.01",
                "99999999999999999999.999999999999999999",
            ]
        );
        // Arrow's interval text: the parts are what matter here.
        assert_eq!(row[4], "1 days 2 hours 3 mins 4.000005000 secs");
        assert_eq!(row[5], "-2 mins -3.500000000 secs");
        // Superset's time expressions.
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            crate::interval::IntervalMul::default(),
        ));
        let sql = rewrite_sql(
            "SELECT CAST(TO_TIMESTAMP('2026-03-01 00:00:00.000005', 'YYYY-MM-DD HH24:MI:SS.US') AS VARCHAR) AS a, \
             CAST(TO_DATE('2026-03-02', 'YYYY-MM-DD') AS VARCHAR) AS b, \
             CAST((timestamp 'epoch' + 1772323200 * interval '1 second') AS VARCHAR) AS c, \
             CAST('epoch'::date AS VARCHAR) AS d",
        )
        .expect("rewritten");
        let row = first_row(&ctx, &sql).await;
        assert_eq!(
            row,
            [
                "2026-03-01T00:00:00.000005",
                "2026-03-02",
                "2026-03-01T00:00:00",
                "1970-01-01"
            ]
        );
        // What needs nothing is left alone.
        assert_eq!(rewrite_sql("SELECT CAST('1.10' AS numeric(10,2))"), None);
        assert_eq!(rewrite_sql("SELECT x::numeric FROM t"), None);
    }

    #[test]
    fn asyncpg_domain_lookup_is_the_null_it_always_gives() {
        let sql = rewrite_sql(
            "SELECT (CASE WHEN t.typtype = 'd' THEN (WITH RECURSIVE b(oid) AS (SELECT t2.typbasetype FROM pg_type t2 WHERE t2.oid = t.oid) SELECT oid FROM b LIMIT 1) ELSE NULL END) AS basetype FROM pg_catalog.pg_type t",
        )
        .expect("rewritten");
        assert!(sql.contains("WHEN t.typtype = 'd' THEN NULL"), "{sql}");
        assert!(!sql.contains("RECURSIVE"), "{sql}");
    }

    #[test]
    fn asyncpg_introspection_types() {
        let sql = rewrite_sql(
            "SELECT (CASE WHEN t.typtype = 'c' THEN (SELECT array_agg(ia.atttypid ORDER BY ia.attnum) FROM pg_attribute ia WHERE ia.attrelid = t.typrelid) ELSE NULL END) AS attrtypoids, \
             t.typelem::regtype::text AS elemtype_name FROM pg_catalog.pg_type t WHERE t.oid = any($1::oid[])",
        )
        .expect("rewritten");
        assert!(
            sql.contains("laketap_oid_array((CASE") || sql.contains("laketap_oid_array(CASE"),
            "{sql}"
        );
        assert!(
            sql.contains("format_type(t.typelem, NULL) AS elemtype_name"),
            "{sql}"
        );
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
            .expect("parses")
            .remove(0);
        assert_eq!(
            crate::pgtypes::oid_parameters(&statement),
            std::collections::HashMap::from([(0, pgwire::api::Type::OID_ARRAY)])
        );
    }

    #[test]
    fn npgsql_type_loading_joins_and_lookups() {
        let sql = rewrite_sql(
            "SELECT CASE WHEN typ.typtype = 'm' THEN (SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid) END \
             FROM pg_type AS typ LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive",
        )
        .expect("rewritten");
        assert!(sql.contains("proc.proname = typ.typreceive"), "{sql}");
        assert!(sql.contains("max(rngtypid)"), "{sql}");
        // A table that is not a system catalog is not assumed to have one row.
        assert_eq!(
            rewrite_sql("SELECT (SELECT v FROM pg_things WHERE k = t.k) FROM t"),
            None
        );
    }

    #[test]
    fn psql_toast_options_become_an_empty_array() {
        let sql = "SELECT pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ') FROM pg_catalog.pg_class c";
        let rewritten = rewrite_sql(sql).expect("rewritten");
        assert!(
            rewritten.contains("CAST(make_array() AS VARCHAR[])"),
            "{rewritten}"
        );
        assert!(
            !rewritten.to_ascii_lowercase().contains("unnest"),
            "{rewritten}"
        );
    }

    #[test]
    fn size_pretty_matches_postgresql() {
        // Values from PostgreSQL 16: SELECT pg_size_pretty(x::bigint).
        assert_eq!(size_pretty(0), "0 bytes");
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(1_000_000), "977 kB");
        assert_eq!(size_pretty(1_000_000_000), "954 MB");
        assert_eq!(size_pretty(1_000_000_000_000), "931 GB");
        assert_eq!(size_pretty(-10240), "-10 kB");
    }

    #[tokio::test]
    async fn generate_subscripts_numbers_the_unnested_elements() {
        let sql = rewrite_sql(
            "SELECT unnest(a) AS v, generate_subscripts(a, 1) AS i FROM (SELECT [10, 20, 30] AS a)",
        )
        .expect("rewritten");
        let ctx = datafusion::prelude::SessionContext::new();
        let text = crate::rules::table_text(&ctx, &sql).await;
        for row in ["| 10 | 1 |", "| 20 | 2 |", "| 30 | 3 |"] {
            assert!(text.contains(row), "{text}");
        }
    }

    #[test]
    fn catalog_scalar_subqueries_are_aggregated() {
        let sql = rewrite_sql(
            "SELECT a.attname, (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef AS d WHERE d.adrelid = a.attrelid), (SELECT x FROM sales.orders o WHERE o.id = a.attnum) FROM pg_catalog.pg_attribute AS a",
        )
        .expect("rewritten");
        assert!(
            sql.contains(
                "((SELECT max(pg_catalog.pg_get_expr(d.adbin, d.adrelid)) AS \"pg_get_expr\" FROM pg_catalog.pg_attrdef"
            ),
            "{sql}"
        );
        assert!(sql.contains("(SELECT x FROM sales.orders"), "{sql}");
    }

    #[test]
    fn outer_only_conditions_guard_the_lookup() {
        // SQLAlchemy's column default: `a.atthasdef` reads the outer row only.
        let sql = rewrite_sql(
            "SELECT (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS e FROM pg_catalog.pg_attrdef AS d WHERE a.atthasdef AND d.adrelid = a.attrelid AND d.adnum = a.attnum) FROM pg_catalog.pg_attribute AS a",
        )
        .expect("rewritten");
        assert_eq!(
            sql,
            "SELECT (CASE WHEN (a.atthasdef) THEN (SELECT max(pg_catalog.pg_get_expr(d.adbin, d.adrelid)) AS e \
             FROM pg_catalog.pg_attrdef AS d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) END) \
             FROM pg_catalog.pg_attribute AS a"
        );
    }

    #[test]
    fn outer_columns_in_the_value_are_computed_outside() {
        // SQLAlchemy's identity options: the value reads `a.attidentity`.
        let sql = rewrite_sql(
            "SELECT (SELECT json_build_object('always', a.attidentity = $1, 'start', s.seqstart) FROM pg_catalog.pg_sequence AS s WHERE a.attidentity <> $2 AND s.seqrelid = a.attrelid) FROM pg_catalog.pg_attribute AS a",
        )
        .expect("rewritten");
        assert_eq!(
            sql,
            "SELECT (CASE WHEN (a.attidentity <> $2) THEN CASE WHEN \
             (SELECT count(*) FROM pg_catalog.pg_sequence AS s WHERE s.seqrelid = a.attrelid) > 0 \
             THEN json_build_object('always', a.attidentity = $1, 'start', \
             (SELECT max(s.seqstart) FROM pg_catalog.pg_sequence AS s WHERE s.seqrelid = a.attrelid)) END END) \
             FROM pg_catalog.pg_attribute AS a"
        );
    }

    #[test]
    fn system_catalog_regclass_literals_are_their_oids() {
        let sql = rewrite_sql(
            "SELECT 1 FROM pg_catalog.pg_description d WHERE d.classoid = 'pg_class'::regclass OR d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass OR d.objoid = 'sales.orders'::regclass",
        )
        .expect("rewritten");
        assert!(
            sql.contains("d.classoid = 'pg_catalog.pg_class'::REGCLASS"),
            "{sql}"
        );
        assert!(
            sql.contains("d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"),
            "{sql}"
        );
        assert!(sql.contains("'sales.orders'::REGCLASS"), "{sql}");
        let sql = rewrite_sql("SELECT typinput = 'pg_catalog.array_in'::regproc FROM pg_type")
            .expect("rewritten");
        assert_eq!(sql, "SELECT typinput = 'array_in' FROM pg_type");
        // Elsewhere a regproc is the function's OID.
        let sql = rewrite_sql("SELECT 1 FROM pg_proc WHERE oid = 'array_in'::regproc");
        assert_eq!(sql, None);
    }

    #[tokio::test]
    async fn pg_expandarray_numbers_each_element() {
        let ctx = datafusion::prelude::SessionContext::new();
        register_functions(&ctx);
        let sql = rewrite_sql(
            "SELECT t.k, (information_schema._pg_expandarray(t.a)).x AS x, \
             (information_schema._pg_expandarray(t.a)).n AS n \
             FROM (SELECT 1 AS k, make_array(7, 8, 9) AS a UNION ALL SELECT 2, make_array(4)) t \
             ORDER BY t.k, n",
        )
        .expect("rewritten");
        assert_eq!(
            crate::rules::table_text(&ctx, &sql).await,
            "+---+---+---+\n\
             | k | x | n |\n\
             +---+---+---+\n\
             | 1 | 7 | 1 |\n\
             | 1 | 8 | 2 |\n\
             | 1 | 9 | 3 |\n\
             | 2 | 4 | 1 |\n\
             +---+---+---+"
        );
    }

    #[tokio::test]
    async fn array_of_a_subquery_collects_its_rows() {
        let ctx = datafusion::prelude::SessionContext::new();
        let sql = rewrite_sql(
            "SELECT t.k, ARRAY(SELECT u.v FROM (VALUES (1, 'a'), (1, 'b'), (3, 'c')) u(k, v) \
             WHERE u.k = t.k ORDER BY u.v DESC) AS a FROM (VALUES (1), (2)) t(k) ORDER BY t.k",
        )
        .expect("rewritten");
        assert_eq!(
            crate::rules::table_text(&ctx, &sql).await,
            "+---+--------+\n\
             | k | a      |\n\
             +---+--------+\n\
             | 1 | [b, a] |\n\
             | 2 | []     |\n\
             +---+--------+"
        );
    }

    #[test]
    fn other_statements_pass_through() {
        assert_eq!(rewrite_sql("SELECT 1"), None);
        assert_eq!(rewrite_sql("SELECT make_array(1, 2)"), None);
        assert_eq!(rewrite_sql("SELEC array"), None);
    }

    #[tokio::test]
    async fn pg_get_expr_is_null_for_null() {
        let ctx = datafusion::prelude::SessionContext::new();
        register_functions(&ctx);
        let text = crate::rules::table_text(
            &ctx,
            "SELECT pg_get_expr(NULL, 1) IS NULL AS n, pg_get_expr('a + 1', 1::int) AS e",
        )
        .await;
        assert!(text.contains("| true | a + 1 |"), "{text}");
    }

    #[tokio::test]
    async fn json_build_object_and_to_regtype_answer_as_postgres() {
        let ctx = datafusion::prelude::SessionContext::new();
        register_functions(&ctx);
        let batches = ctx
            .sql("SELECT json_build_object('a', 1, 'b', 'x\"y', 'c', NULL, 'd', true), to_regtype('int4'), to_regtype('hstore')")
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        let row = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("prints")
            .to_string();
        assert!(
            row.contains(r#"{"a" : 1, "b" : "x\"y", "c" : null, "d" : true}"#),
            "{row}"
        );
        assert!(row.contains("| integer "), "{row}");
        assert_eq!(
            builtin_type_name("pg_catalog.TIMESTAMPTZ").as_deref(),
            Some("timestamp with time zone")
        );
        assert_eq!(builtin_type_name("hstore"), None);
    }
}
