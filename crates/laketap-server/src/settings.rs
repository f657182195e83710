//! `SET` / `SHOW` / `RESET` of laketap's own session settings
//! (`laketap.as_of`), answered on the connection's own session so that one
//! session's setting never reaches another (STYLE.md known trap 1). A bad
//! value is refused with SQLSTATE 22023 and the previous value stays; RESET
//! returns to the server's default (`--as-of`, else the clock); SET LOCAL is
//! refused (0A000) rather than silently outliving a transaction.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{ParamValues, ToDFSchema};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{ContextModifier, Expr, Reset, Set, Statement, Value};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use laketap_engine::asof::LaketapOptions;
use pgwire::api::ClientInfo;
use pgwire::api::Type;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

use crate::sqlstate;

/// What a statement asks of laketap's settings.
enum Request {
    Set(String, String),
    Reset(String),
    Show(String),
    Unsupported(String),
}

fn laketap_key(name: &str) -> Option<String> {
    let name = name.trim_matches('"').to_ascii_lowercase();
    name.starts_with("laketap.").then_some(name)
}

fn value_text(expr: &Expr) -> String {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    }
}

fn request(statement: &Statement) -> Option<Request> {
    match statement {
        Statement::Set(Set::SingleAssignment {
            variable,
            values,
            scope,
            ..
        }) => {
            let key = laketap_key(&variable.to_string())?;
            if matches!(scope, Some(ContextModifier::Local)) {
                return Some(Request::Unsupported(format!(
                    "SET LOCAL {key} is not supported: laketap has no transaction scope; use SET {key}"
                )));
            }
            let value = values.first().map(value_text).unwrap_or_default();
            Some(Request::Set(key, value))
        }
        Statement::Reset(reset) => match &reset.reset {
            Reset::ConfigurationParameter(name) => {
                laketap_key(&name.to_string()).map(Request::Reset)
            }
            Reset::ALL => None,
        },
        Statement::ShowVariable { variable } => {
            let name = variable
                .iter()
                .map(|i| i.value.as_str())
                .collect::<Vec<_>>()
                .join(".");
            laketap_key(&name).map(Request::Show)
        }
        _ => None,
    }
}

fn invalid(message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        sqlstate::INVALID_PARAMETER.to_string(),
        message,
    )))
}

fn show(name: &str, value: &str) -> PgWireResult<Response> {
    let fields = Arc::new(vec![FieldInfo::new(
        name.to_string(),
        None,
        None,
        Type::TEXT,
        FieldFormat::Text,
    )]);
    let mut encoder = DataRowEncoder::new(fields.clone());
    encoder.encode_field(&Some(value))?;
    let row = encoder.take_row();
    Ok(Response::Query(QueryResponse::new(
        fields,
        futures::stream::once(async move { Ok(row) }),
    )))
}

fn answer(request: Request, ctx: &SessionContext) -> PgWireResult<Response> {
    let state = ctx.state_ref();
    match request {
        Request::Unsupported(message) => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_string(),
            sqlstate::NOT_SUPPORTED.to_string(),
            message,
        )))),
        Request::Set(key, value) => {
            let mut state = state.write();
            state
                .config_mut()
                .options_mut()
                .set(&key, &value)
                .map_err(|e| invalid(e.message().to_string()))?;
            Ok(Response::Execution(Tag::new("SET")))
        }
        Request::Reset(key) => {
            let mut state = state.write();
            state
                .config_mut()
                .options_mut()
                .set(&key, "default")
                .map_err(|e| invalid(e.message().to_string()))?;
            Ok(Response::Execution(Tag::new("RESET")))
        }
        Request::Show(key) => {
            let state = state.read();
            let entries = state
                .config()
                .options()
                .extensions
                .get::<LaketapOptions>()
                .map(datafusion::common::config::ExtensionOptions::entries)
                .unwrap_or_default();
            let entry = entries.into_iter().find(|e| e.key == key).ok_or_else(|| {
                invalid(format!("unrecognized configuration parameter \"{key}\""))
            })?;
            let name = key.rsplit('.').next().unwrap_or(&key).to_string();
            show(&name, entry.value.as_deref().unwrap_or(""))
        }
    }
}

fn empty_plan(columns: Vec<Field>) -> PgWireResult<LogicalPlan> {
    Arc::new(Schema::new(columns))
        .to_dfschema()
        .map(|schema| {
            LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: true,
                schema: Arc::new(schema),
            })
        })
        .map_err(|e| PgWireError::ApiError(Box::new(e)))
}

/// The query hook for `laketap.*` settings; it runs before datafusion-postgres's SET hook.
#[derive(Debug)]
pub struct LaketapSettingsHook;

#[async_trait]
impl QueryHook for LaketapSettingsHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        request(statement).map(|r| answer(r, session_context))
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match request(statement)? {
            Request::Show(key) => {
                let name = key.rsplit('.').next().unwrap_or(&key).to_string();
                Some(empty_plan(vec![Field::new(name, DataType::Utf8, false)]))
            }
            Request::Set(..) | Request::Reset(_) | Request::Unsupported(_) => {
                Some(empty_plan(Vec::new()))
            }
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        session_context: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        request(statement).map(|r| answer(r, session_context))
    }
}
