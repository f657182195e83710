//! `DECLARE … CURSOR` and `FETCH` as clients see them in PostgreSQL.
//!
//! datafusion-postgres's cursor hook keeps a declared cursor as a portal
//! whose statement has no plan, so a protocol-level Describe of the cursor's
//! portal (psycopg 3's server-side cursors send one right after DECLARE)
//! answers "no columns" while FETCH returns rows, and psycopg fails. It also
//! tags FETCH's result `SELECT n` where PostgreSQL sends `FETCH n`.
//!
//! [`Cursors`] runs before it: DECLARE plans the query, stores the portal
//! with that plan (so Describe answers its columns), and FETCH and CLOSE go
//! on to datafusion-postgres's hook, with FETCH's result tagged `FETCH`.
//! A cursor's rows are encoded as text when it is declared; a FETCH whose
//! Bind asks for binary gets those columns read back and sent in
//! PostgreSQL's binary forms ([`fetch_in_formats`]: numbers, bool, text,
//! bytea, dates and times, numeric, interval, jsonb, uuid and
//! one-dimensional arrays of the common ones), as psycopg 3's binary
//! server cursors decode them. Columns of other types stay text and are
//! described so.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::DFSchemaRef;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{CloseCursor, DeclareType, Statement};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use pgwire::api::ClientInfo;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::Response;
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::PortalStore;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

use crate::sqlstate;

/// The cursor hook (see the module documentation).
#[derive(Debug)]
pub struct Cursors {
    inner: CursorStatementHook,
}

impl Default for Cursors {
    fn default() -> Self {
        Cursors {
            inner: CursorStatementHook,
        }
    }
}

impl Cursors {
    async fn answer(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
        plan: Option<&LogicalPlan>,
        params: Option<&ParamValues>,
    ) -> Option<PgWireResult<Response>> {
        match statement {
            Statement::Declare { stmts } => Some(declare(stmts, session_context, client).await),
            Statement::Fetch { .. } | Statement::Close { .. } => {
                if let Statement::Close { cursor } = statement {
                    let schemas = client
                        .session_extensions()
                        .get_or_insert_with(CursorSchemas::default);
                    schemas.forget(cursor);
                }
                let answer = match (plan, params) {
                    (Some(plan), Some(params)) => {
                        self.inner
                            .handle_extended_query(statement, plan, params, session_context, client)
                            .await
                    }
                    _ => {
                        self.inner
                            .handle_simple_query(statement, session_context, client)
                            .await
                    }
                };
                answer.map(|result| {
                    result.map(|mut response| {
                        if let Response::Query(query) = &mut response {
                            query.set_command_tag("FETCH");
                        }
                        response
                    })
                })
            }
            _ => None,
        }
    }
}

fn error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        code.to_string(),
        message.into(),
    )))
}

/// The result schemas of a connection's open cursors, by name: a FETCH is
/// described with its cursor's columns.
#[derive(Debug, Default)]
struct CursorSchemas(std::sync::Mutex<std::collections::HashMap<String, DFSchemaRef>>);

impl CursorSchemas {
    fn remember(&self, name: &str, schema: DFSchemaRef) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(name.to_string(), schema);
        }
    }

    fn schema(&self, name: &str) -> Option<DFSchemaRef> {
        self.0.lock().ok()?.get(name).cloned()
    }

    fn forget(&self, cursor: &CloseCursor) {
        if let Ok(mut map) = self.0.lock() {
            match cursor {
                CloseCursor::All => map.clear(),
                CloseCursor::Specific { name } => {
                    map.remove(&name.value);
                }
            }
        }
    }
}

/// Plans each declared cursor's query and keeps it as a portal of that name,
/// with the plan, its rows encoded as text as they are fetched.
async fn declare(
    stmts: &[datafusion::sql::sqlparser::ast::Declare],
    session_context: &SessionContext,
    client: &mut dyn HookClient,
) -> PgWireResult<Response> {
    for declare in stmts {
        if declare.declare_type != Some(DeclareType::Cursor) {
            return Err(error(
                sqlstate::NOT_SUPPORTED,
                format!("DECLARE {:?} is not supported", declare.declare_type),
            ));
        }
        let name = declare
            .names
            .first()
            .map(|n| n.value.clone())
            .ok_or_else(|| error(sqlstate::SYNTAX_ERROR, "cursor name is required"))?;
        let query = declare.for_query.as_ref().ok_or_else(|| {
            error(
                sqlstate::SYNTAX_ERROR,
                "DECLARE CURSOR requires a FOR query",
            )
        })?;
        // FETCH is described from this plan: its columns get PostgreSQL's
        // names (`?column?`, not DataFusion's `Int64(0)`).
        let mut query = query.clone();
        crate::colnames::alias_postgres_names(&mut query);
        let ast = Statement::Query(query.clone());
        let plan = session_context
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                ast.clone(),
            )))
            .await
            .and_then(|plan| {
                // Typed as the extended protocol describes a plan.
                let config = session_context.state_ref().read().config_options().clone();
                crate::pgresults::described_plan(plan, &config)
            })
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let frame = session_context
            .execute_logical_plan(plan.clone())
            .await
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let rows =
            arrow_pg::datatypes::df::encode_dataframe(frame, &Format::UnifiedText, None).await?;
        client
            .session_extensions()
            .get_or_insert_with(CursorSchemas::default)
            .remember(&name, plan.schema().clone());
        let stored = Arc::new(StoredStatement::new(
            name.clone(),
            (query.to_string(), Some((ast, plan))),
            vec![],
        ));
        let portal = Portal::new_cursor(name, stored);
        portal.start(rows).await;
        client.portal_store().put_portal(Arc::new(portal));
    }
    Ok(Response::Execution(pgwire::api::results::Tag::new(
        "DECLARE CURSOR",
    )))
}

#[async_trait]
impl QueryHook for Cursors {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.answer(statement, session_context, client, None, None)
            .await
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        // FETCH is described with its cursor's columns (in text: see
        // `fetch_is_described_in_text`), a cursor declared earlier on this
        // connection.
        if let Statement::Fetch { name, .. } = statement
            && let Some(schema) = client
                .session_extensions()
                .get::<CursorSchemas>()
                .and_then(|schemas| schemas.schema(&name.value))
        {
            return Some(Ok(LogicalPlan::EmptyRelation(
                datafusion::logical_expr::EmptyRelation {
                    produce_one_row: false,
                    schema,
                },
            )));
        }
        self.inner
            .handle_extended_parse_query(statement, session_context, client)
            .await
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        logical_plan: &LogicalPlan,
        params: &ParamValues,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.answer(
            statement,
            session_context,
            client,
            Some(logical_plan),
            Some(params),
        )
        .await
    }
}

/// `MOVE [direction] [FROM | IN] cursor` as the `FETCH` it is: sqlparser has
/// no MOVE statement, and a MOVE is a FETCH whose rows are not sent
/// ([`moved`] makes its answer). `FROM` is supplied where the client left
/// it out (`MOVE FORWARD 1 portal`, asyncpg's cursor.forward), which
/// PostgreSQL allows and sqlparser does not. `None` when `sql` is not a MOVE.
pub fn move_as_fetch(sql: &str) -> Option<String> {
    let text = sql.trim().trim_end_matches(';').trim_end();
    let verb_end = text.find(|c: char| c.is_whitespace())?;
    if !text[..verb_end].eq_ignore_ascii_case("move") {
        return None;
    }
    let rest = text[verb_end..].trim();
    // The cursor name is the last word (a quoted name may hold spaces).
    let name_start = if let Some(unclosed) = rest.strip_suffix('"') {
        unclosed.rfind('"')?
    } else {
        rest.rfind(char::is_whitespace).map_or(0, |i| i + 1)
    };
    let (direction, name) = rest.split_at(name_start);
    let direction = direction.trim();
    let last_word = direction.rsplit(char::is_whitespace).next().unwrap_or("");
    let position = if last_word.eq_ignore_ascii_case("from") || last_word.eq_ignore_ascii_case("in")
    {
        ""
    } else {
        " FROM"
    };
    let direction = if direction.is_empty() {
        String::new()
    } else {
        format!(" {direction}")
    };
    Some(format!("FETCH{direction}{position} {name}"))
}

/// The statements of a simple-query message that holds a MOVE, each as
/// its text (a MOVE as its FETCH) and whether it is a MOVE; `None` when no
/// statement is a MOVE (or the text does not tokenize).
pub fn split_moves(sql: &str) -> Option<Vec<(String, bool)>> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    if !crate::compat::mentions(sql, b"move") {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut statements = Vec::new();
    let mut current = String::new();
    for token in tokens {
        if token == Token::SemiColon {
            statements.push(std::mem::take(&mut current));
        } else {
            current.push_str(&token.to_string());
        }
    }
    statements.push(current);
    let statements: Vec<(String, bool)> = statements
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| match move_as_fetch(&s) {
            Some(fetch) => (fetch, true),
            None => (s, false),
        })
        .collect();
    statements
        .iter()
        .any(|(_, is_move)| *is_move)
        .then_some(statements)
}

/// The answer of a MOVE from that of its FETCH: the rows are passed over and
/// counted, and the tag is `MOVE n`.
pub async fn moved(response: Response) -> PgWireResult<Response> {
    use futures::StreamExt;
    match response {
        Response::Query(mut query) => {
            let mut rows =
                std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
            let mut count = 0;
            while let Some(row) = rows.next().await {
                row?;
                count += 1;
            }
            Ok(Response::Execution(
                pgwire::api::results::Tag::new("MOVE").with_rows(count),
            ))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod move_tests {
    use super::move_as_fetch;

    #[test]
    fn move_is_read_as_fetch() {
        assert_eq!(
            move_as_fetch("MOVE 1 IN c1").as_deref(),
            Some("FETCH 1 IN c1")
        );
        assert_eq!(
            move_as_fetch("move forward 3 __asyncpg_portal_4__").as_deref(),
            Some("FETCH forward 3 FROM __asyncpg_portal_4__")
        );
        assert_eq!(move_as_fetch("MOVE c1;").as_deref(), Some("FETCH FROM c1"));
        assert_eq!(
            move_as_fetch("MOVE LAST FROM \"my cursor\"").as_deref(),
            Some("FETCH LAST FROM \"my cursor\"")
        );
        assert_eq!(move_as_fetch("MOVED 1 IN c1"), None);
        let split = super::split_moves(
            "DECLARE c CURSOR FOR SELECT ';' AS s; MOVE 2 IN c; FETCH 1 FROM c;",
        )
        .expect("has a MOVE");
        assert_eq!(
            split,
            [
                ("DECLARE c CURSOR FOR SELECT ';' AS s".to_string(), false),
                ("FETCH 2 IN c".to_string(), true),
                (" FETCH 1 FROM c".to_string(), false),
            ]
        );
        assert_eq!(super::split_moves("SELECT 'move'"), None);
        assert_eq!(move_as_fetch("SELECT 1"), None);
    }
}

/// FETCH in the formats its Bind asks for. A cursor's rows were encoded as
/// text when it was declared (its portal holds them so); a column of a
/// type below is sent in binary when asked, its text read back and
/// written as PostgreSQL's binary form (`int4send`, `date_send`,
/// `numeric_send`, …). jsonb and uuid keep their text here: their binary
/// form is written after, as for any result ([`crate::pgtext`]). Other
/// types stay text, and are described so.
fn binary_capable(ty: &pgwire::api::Type) -> bool {
    use pgwire::api::Type;
    [
        Type::BOOL,
        Type::INT2,
        Type::INT4,
        Type::INT8,
        Type::OID,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::TEXT,
        Type::VARCHAR,
        Type::NAME,
        Type::BPCHAR,
        Type::JSON,
        Type::JSONB,
        Type::UUID,
        Type::BYTEA,
        Type::DATE,
        Type::TIMESTAMP,
        Type::TIMESTAMPTZ,
        Type::TIME,
        Type::NUMERIC,
        Type::INTERVAL,
    ]
    .contains(ty)
        || element_type(ty).is_some()
}

/// The element type of a one-dimensional array type sent in binary.
fn element_type(ty: &pgwire::api::Type) -> Option<pgwire::api::Type> {
    use pgwire::api::Type;
    Some(match *ty {
        Type::BOOL_ARRAY => Type::BOOL,
        Type::INT2_ARRAY => Type::INT2,
        Type::INT4_ARRAY => Type::INT4,
        Type::INT8_ARRAY => Type::INT8,
        Type::FLOAT4_ARRAY => Type::FLOAT4,
        Type::FLOAT8_ARRAY => Type::FLOAT8,
        Type::TEXT_ARRAY => Type::TEXT,
        Type::VARCHAR_ARRAY => Type::VARCHAR,
        Type::NUMERIC_ARRAY => Type::NUMERIC,
        Type::DATE_ARRAY => Type::DATE,
        Type::TIMESTAMP_ARRAY => Type::TIMESTAMP,
        _ => return None,
    })
}

/// `array_send` of a one-dimensional array in its text form (`{1,2,NULL}`).
fn array_binary(element: &pgwire::api::Type, text: &str) -> Option<Vec<u8>> {
    let values = arrow_pg::text_array::parse(text).ok()?;
    let mut out = Vec::with_capacity(20 + values.len() * 8);
    let dimensions = i32::from(!values.is_empty());
    out.extend_from_slice(&dimensions.to_be_bytes());
    out.extend_from_slice(&i32::from(values.iter().any(Option::is_none)).to_be_bytes());
    out.extend_from_slice(&element.oid().to_be_bytes());
    if values.is_empty() {
        return Some(out);
    }
    out.extend_from_slice(&i32::try_from(values.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    for value in &values {
        match value {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(text) => {
                let bytes = binary_of(element, text)?;
                out.extend_from_slice(&i32::try_from(bytes.len()).ok()?.to_be_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }
    Some(out)
}

/// A FETCH's columns as described: binary where `formats` asks for it and
/// the column's type can be sent so.
pub fn fetch_fields(
    fields: &[pgwire::api::results::FieldInfo],
    formats: &Format,
) -> Vec<pgwire::api::results::FieldInfo> {
    use pgwire::api::results::{FieldFormat, FieldInfo};
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let format = if formats.is_binary(i) && binary_capable(f.datatype()) {
                FieldFormat::Binary
            } else {
                FieldFormat::Text
            };
            FieldInfo::new(
                f.name().to_string(),
                f.table_id(),
                f.column_id(),
                f.datatype().clone(),
                format,
            )
            .with_format_options(Arc::clone(f.format_options()))
        })
        .collect()
}

/// A FETCH's result in the formats `formats` asks for ([`fetch_fields`]).
pub fn fetch_in_formats(response: &mut Response, formats: &Format) {
    use pgwire::api::results::FieldFormat;
    let Response::Query(query) = response else {
        return;
    };
    let fields = fetch_fields(&query.row_schema, formats);
    let binary: Vec<Option<pgwire::api::Type>> = fields
        .iter()
        .map(|f| (f.format() == FieldFormat::Binary).then(|| f.datatype().clone()))
        .collect();
    if binary.iter().all(Option::is_none) {
        return;
    }
    query.row_schema = Arc::new(fields);
    let rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
    query.data_rows = Box::pin(futures::StreamExt::map(rows, move |row| {
        row.and_then(|row| transcode(&row, &binary))
    }));
}

/// `row`'s text values as binary in the columns `binary` names a type for.
fn transcode(
    row: &pgwire::messages::data::DataRow,
    binary: &[Option<pgwire::api::Type>],
) -> PgWireResult<pgwire::messages::data::DataRow> {
    use bytes::{BufMut, BytesMut};
    let data = &row.data[..];
    let mut out = BytesMut::with_capacity(data.len());
    let mut at = 0usize;
    let malformed = || error(sqlstate::INTERNAL, "a cursor row did not read back");
    for ty in binary
        .iter()
        .take(usize::try_from(row.field_count).unwrap_or(0))
    {
        let len = data
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
            .ok_or_else(malformed)?;
        at += 4;
        if len < 0 {
            out.put_i32(len);
            continue;
        }
        let value = data.get(at..at + len as usize).ok_or_else(malformed)?;
        at += len as usize;
        let converted = match ty {
            Some(ty) => {
                let text = std::str::from_utf8(value).map_err(|_| malformed())?;
                Some(binary_of(ty, text).ok_or_else(|| {
                    error(
                        sqlstate::INVALID_TEXT,
                        format!("cannot send \"{text}\" as binary {}", ty.name()),
                    )
                })?)
            }
            None => None,
        };
        let value = converted.as_deref().unwrap_or(value);
        out.put_i32(i32::try_from(value.len()).map_err(|_| malformed())?);
        out.put_slice(value);
    }
    Ok(pgwire::messages::data::DataRow::new(out, row.field_count))
}

/// PostgreSQL's binary form of a value of `ty` from its text.
fn binary_of(ty: &pgwire::api::Type, text: &str) -> Option<Vec<u8>> {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
    use pgwire::api::Type;
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1)?;
    let micros_since = |t: NaiveDateTime| {
        (t - epoch.and_hms_opt(0, 0, 0)?)
            .num_microseconds()
            .map(|m| m.to_be_bytes().to_vec())
    };
    let float = |t: &str| match t {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok(),
    };
    if let Some(element) = element_type(ty) {
        return array_binary(&element, text);
    }
    Some(match *ty {
        Type::BOOL => vec![u8::from(crate::rules::parse_bool(text)?)],
        Type::INT2 => text.parse::<i16>().ok()?.to_be_bytes().to_vec(),
        Type::INT4 => text.parse::<i32>().ok()?.to_be_bytes().to_vec(),
        Type::INT8 => text.parse::<i64>().ok()?.to_be_bytes().to_vec(),
        Type::OID => text.parse::<u32>().ok()?.to_be_bytes().to_vec(),
        Type::FLOAT4 => (float(text)? as f32).to_be_bytes().to_vec(),
        Type::FLOAT8 => float(text)?.to_be_bytes().to_vec(),
        Type::BYTEA => {
            let hex = text.strip_prefix("\\x")?;
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?
        }
        Type::DATE => {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            i32::try_from((date - epoch).num_days())
                .ok()?
                .to_be_bytes()
                .to_vec()
        }
        Type::TIMESTAMP => {
            micros_since(NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()?)?
        }
        Type::TIMESTAMPTZ => {
            let (local, offset) = crate::pgstyle::parse_iso_timestamptz(text)?;
            micros_since(local.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(offset)))?)?
        }
        Type::TIME => {
            let time = NaiveTime::parse_from_str(text, "%H:%M:%S%.f").ok()?;
            (time - NaiveTime::MIN)
                .num_microseconds()?
                .to_be_bytes()
                .to_vec()
        }
        Type::NUMERIC => {
            let mut out = bytes::BytesMut::new();
            arrow_pg::numeric::PgNumeric::parse(text)
                .ok()?
                .write_binary(&mut out)
                .ok()?;
            out.to_vec()
        }
        Type::INTERVAL => crate::interval::binary(crate::interval::parse(text).ok()?),
        // Text, and jsonb and uuid, whose binary form crate::pgtext writes.
        _ => text.as_bytes().to_vec(),
    })
}

#[cfg(test)]
mod binary_fetch_tests {
    use super::binary_of;
    use pgwire::api::Type;

    fn be(words: &[i32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn fetched_text_is_sent_in_postgresqls_binary_forms() {
        assert_eq!(binary_of(&Type::INT4, "7"), Some(be(&[7])));
        assert_eq!(
            binary_of(&Type::INT2, "-2"),
            Some((-2i16).to_be_bytes().to_vec())
        );
        assert_eq!(binary_of(&Type::BOOL, "t"), Some(vec![1]));
        assert_eq!(binary_of(&Type::DATE, "1999-12-31"), Some(be(&[-1])));
        assert_eq!(
            binary_of(&Type::TIMESTAMP, "2000-01-01 00:00:01.500000"),
            Some(1_500_000i64.to_be_bytes().to_vec())
        );
        assert_eq!(
            binary_of(&Type::TIMESTAMPTZ, "2000-01-01 05:30:00+05:30"),
            Some(0i64.to_be_bytes().to_vec())
        );
        assert_eq!(
            binary_of(&Type::TIME, "00:00:02"),
            Some(2_000_000i64.to_be_bytes().to_vec())
        );
        assert_eq!(binary_of(&Type::BYTEA, "\\xdead"), Some(vec![0xde, 0xad]));
        // numeric_send of 1.5: 2 digits, weight 0, positive, dscale 1.
        assert_eq!(
            binary_of(&Type::NUMERIC, "1.5"),
            Some(vec![0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88])
        );
        // array_send: ndim, has nulls, element oid, length, lower bound, elements.
        let mut ints = be(&[1, 1, 23, 2, 1, 4, 1]);
        ints.extend_from_slice(&be(&[-1]));
        assert_eq!(binary_of(&Type::INT4_ARRAY, "{1,NULL}"), Some(ints));
        assert_eq!(binary_of(&Type::INT4_ARRAY, "{}"), Some(be(&[0, 0, 23])));
        assert_eq!(binary_of(&Type::INT4, "x"), None);
    }
}
