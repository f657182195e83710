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
//! A cursor's rows are encoded as text when it is declared, so a FETCH is
//! described in text whatever format its Bind asked for: clients read each
//! column's format from the RowDescription (libpq's `PQfformat`), so they
//! decode what they are sent, where PostgreSQL would have sent binary.

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
