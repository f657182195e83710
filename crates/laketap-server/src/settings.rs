//! `SET` / `SHOW` / `RESET` of session settings — laketap's own
//! (`laketap.as_of`), PostgreSQL's run-time parameters that clients send and
//! probe, and DataFusion's — answered on the connection's own session so that
//! one session's setting never reaches another (STYLE.md known trap 1). A bad
//! value is refused with SQLSTATE 22023 and the previous value stays; RESET
//! returns to the server's default (`--as-of`, else the clock). SET LOCAL
//! lasts until the transaction block ends (COMMIT or ROLLBACK), as in
//! PostgreSQL; outside a block it warns (25P01) and changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{ParamValues, ToDFSchema};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    ContextModifier, Expr, Reset, Set, Statement, TransactionAccessMode, TransactionMode, Value,
};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use laketap_engine::asof::LaketapOptions;
use laketap_engine::pgsettings;
use pgwire::api::ClientInfo;
use pgwire::api::Type;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;

use crate::sqlstate;

/// What a statement asks of the session's settings.
enum Request {
    Set(String, String),
    /// SET LOCAL: until the end of the transaction block.
    SetLocal(String, String),
    /// SET TRANSACTION / SET SESSION CHARACTERISTICS AS TRANSACTION: several parameters.
    SetMany(Vec<(String, String)>),
    Reset(String),
    ResetAll,
    Show(String),
    ShowAll,
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

/// The value of a SET: several values (search_path) are joined as PostgreSQL shows them.
fn values_text(key: &str, values: &[Expr]) -> String {
    if key == "search_path" {
        values
            .iter()
            .map(|v| match v {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                },
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        values.first().map(value_text).unwrap_or_default()
    }
}

fn key_of(name: &str) -> String {
    name.trim_matches('"').to_ascii_lowercase()
}

fn request(statement: &Statement) -> Option<Request> {
    match statement {
        Statement::Set(Set::SingleAssignment {
            variable,
            values,
            scope,
            hivevar: false,
        }) => {
            let key = key_of(&variable.to_string());
            let value = values_text(&key, values);
            Some(if matches!(scope, Some(ContextModifier::Local)) {
                Request::SetLocal(key, value)
            } else {
                Request::Set(key, value)
            })
        }
        Statement::Set(Set::SetTransaction {
            modes,
            snapshot: None,
            session,
        }) => {
            let mut pairs = Vec::new();
            for mode in modes {
                let (keys, value) = match mode {
                    TransactionMode::IsolationLevel(level) => (
                        ["default_transaction_isolation", "transaction_isolation"],
                        level.to_string().to_ascii_lowercase(),
                    ),
                    TransactionMode::AccessMode(access) => (
                        ["default_transaction_read_only", "transaction_read_only"],
                        match access {
                            TransactionAccessMode::ReadOnly => "on".to_string(),
                            TransactionAccessMode::ReadWrite => "off".to_string(),
                        },
                    ),
                };
                // SESSION CHARACTERISTICS sets the default (and, outside a
                // transaction, the current value); SET TRANSACTION the current one.
                for key in if *session { &keys[..] } else { &keys[1..] } {
                    pairs.push((key.to_string(), value.clone()));
                }
            }
            Some(Request::SetMany(pairs))
        }
        Statement::Set(Set::SetTimeZone { local, value }) => Some(if *local {
            Request::SetLocal("timezone".to_string(), value_text(value))
        } else {
            Request::Set("timezone".to_string(), value_text(value))
        }),
        Statement::Reset(reset) => match &reset.reset {
            Reset::ConfigurationParameter(name) => Some(Request::Reset(key_of(&name.to_string()))),
            Reset::ALL => Some(Request::ResetAll),
        },
        Statement::ShowVariable { variable } => {
            let name = variable
                .iter()
                .map(|i| i.value.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(".");
            Some(match name.as_str() {
                "all" => Request::ShowAll,
                "time.zone" => Request::Show("timezone".to_string()),
                "transaction.isolation.level" => Request::Show("transaction_isolation".to_string()),
                _ => Request::Show(name),
            })
        }
        _ => None,
    }
}

use crate::sqlstate::{CANT_CHANGE, UNDEFINED_OBJECT, error};

/// A settings error from DataFusion, with PostgreSQL's code.
fn setting_error(e: &datafusion::error::DataFusionError) -> PgWireError {
    error(setting_code(e), e.message().to_string())
}

/// The SQLSTATE of a refused setting.
pub fn setting_code(e: &datafusion::error::DataFusionError) -> &'static str {
    let message = e.message();
    if message.contains("unrecognized configuration parameter") {
        UNDEFINED_OBJECT
    } else if message.contains("cannot be changed") {
        CANT_CHANGE
    } else if matches!(e, datafusion::error::DataFusionError::NotImplemented(_)) {
        sqlstate::NOT_SUPPORTED
    } else {
        sqlstate::INVALID_PARAMETER
    }
}

/// A SHOW answer: text columns, tagged `SHOW` (pgwire appends the row count,
/// which laketap_wire's output filter drops, as PostgreSQL sends none).
fn rows(columns: &[&str], rows: Vec<Vec<String>>) -> PgWireResult<Response> {
    let fields = Arc::new(
        columns
            .iter()
            .map(|c| FieldInfo::new(c.to_string(), None, None, Type::TEXT, FieldFormat::Text))
            .collect::<Vec<_>>(),
    );
    let mut encoded = Vec::with_capacity(rows.len());
    for row in rows {
        let mut encoder = DataRowEncoder::new(fields.clone());
        for value in row {
            encoder.encode_field(&Some(value))?;
        }
        encoded.push(Ok(encoder.take_row()));
    }
    let mut response = QueryResponse::new(fields, futures::stream::iter(encoded));
    response.set_command_tag("SHOW");
    Ok(Response::Query(response))
}

fn show(name: &str, value: &str) -> PgWireResult<Response> {
    rows(&[name], vec![vec![value.to_string()]])
}

/// Where datafusion-postgres reads the statement timeout (milliseconds) and
/// the time zone of timestamptz text (its `client` module, private).
const METADATA_STATEMENT_TIMEOUT: &str = "statement_timeout_ms";
const METADATA_TIMEZONE: &str = "timezone";

/// The client metadata keys datafusion-postgres's encoder and statement
/// timeout read (its SET hook kept them there).
fn mirror_to_client(client: &mut dyn HookClient, guc: &pgsettings::Guc, value: &str) {
    mirror_to_metadata(client.metadata_mut(), guc, value);
}

/// The settings a connection's startup packet gave (applied to its session
/// when the session is made, [`apply_startup`]).
#[derive(Debug, Clone, Default)]
pub struct StartupSettings(pub Vec<(&'static pgsettings::Guc, String)>);

/// Startup parameters that are not settings: who connects, and how.
const NOT_SETTINGS: &[&str] = &[
    "user",
    "database",
    "replication",
    "options",
    "client_encoding",
];

/// The `-c name=value` (or `--name=value`) pairs of a startup `options`
/// string, split at unescaped spaces (`\ ` is a space in a value), as
/// PostgreSQL's `pg_split_opts` and `process_postgres_switches` read them.
fn startup_options(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_ascii_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut pairs = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next()
        } else if let Some(rest) = word.strip_prefix("-c") {
            Some(rest.to_string())
        } else {
            word.strip_prefix("--").map(str::to_string)
        };
        if let Some((name, value)) = setting.as_deref().and_then(|s| s.split_once('=')) {
            pairs.push((name.replace('-', "_"), value.to_string()));
        }
    }
    pairs
}

/// The settings of a startup packet's `parameters`: those of its
/// `options` first, then the parameters named alike (PostgreSQL's
/// `process_startup_options`), each checked and normalized as SET does it.
/// An invalid value refuses the connection, as in PostgreSQL. A parameter
/// laketap does not know, or does not let a session change, is logged and
/// left: PostgreSQL knows more parameters than laketap, and refusing them
/// would refuse clients that PostgreSQL serves.
pub fn startup_settings(
    parameters: &std::collections::BTreeMap<String, String>,
) -> Result<StartupSettings, datafusion::error::DataFusionError> {
    use datafusion::config::ExtensionOptions;
    let mut given: Vec<(String, String)> = parameters
        .get("options")
        .map(|o| startup_options(o))
        .unwrap_or_default();
    given.extend(
        parameters
            .iter()
            .filter(|(k, _)| {
                !NOT_SETTINGS.iter().any(|n| k.eq_ignore_ascii_case(n)) && !k.starts_with("_pq_.")
            })
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let mut settings = pgsettings::PgSettings::default();
    let mut applied: Vec<(&'static pgsettings::Guc, String)> = Vec::new();
    for (name, value) in given {
        let Some(guc) = pgsettings::lookup(&name).filter(|g| g.settable) else {
            tracing::debug!(parameter = %name.escape_debug(), "startup parameter ignored: not a setting laketap keeps per session");
            continue;
        };
        settings.set(guc.name, &value)?;
        let shown = settings.get(guc);
        applied.retain(|(g, _)| g.name != guc.name);
        applied.push((guc, shown));
    }
    Ok(StartupSettings(applied))
}

/// Writes a connection's startup settings where its encoders read them.
pub fn mirror_startup(metadata: &mut HashMap<String, String>, settings: &StartupSettings) {
    for (guc, value) in &settings.0 {
        mirror_to_metadata(metadata, guc, value);
    }
}

/// Applies a connection's startup settings to its new session, as its
/// defaults: SHOW answers them, and RESET returns to them, as in
/// PostgreSQL (a pool's `RESET ALL` keeps pgjdbc's TimeZone).
pub fn apply_startup(ctx: &SessionContext, settings: &StartupSettings) {
    for (guc, value) in &settings.0 {
        let set = {
            let state = ctx.state_ref();
            let mut state = state.write();
            match state
                .config_mut()
                .options_mut()
                .extensions
                .get_mut::<pgsettings::PgSettings>()
            {
                Some(settings) => settings.set_server_default(guc.name, value),
                None => Ok(()),
            }
        };
        match set {
            Ok(()) => apply(ctx, guc, value),
            Err(e) => {
                tracing::warn!(parameter = guc.name, error = %e, "startup setting not applied")
            }
        }
    }
}

/// [`mirror_to_client`] on a connection's metadata.
fn mirror_to_metadata(metadata: &mut HashMap<String, String>, guc: &pgsettings::Guc, value: &str) {
    let lower = guc.name.to_ascii_lowercase();
    match lower.as_str() {
        "statement_timeout" => {
            let ms = pgsettings::duration_ms(value);
            if ms > 0 {
                metadata.insert(METADATA_STATEMENT_TIMEOUT.to_string(), ms.to_string());
            } else {
                metadata.remove(METADATA_STATEMENT_TIMEOUT);
            }
        }
        "timezone" => {
            metadata.insert(
                METADATA_TIMEZONE.to_string(),
                pgsettings::arrow_time_zone(value),
            );
        }
        "extra_float_digits" => crate::pgtext::set_extra_float_digits(metadata, value),
        // pgwire's encoder stays at ISO and postgres; laketap writes the
        // session's styles (crate::pgstyle).
        "datestyle" => {
            metadata.insert(
                crate::pgstyle::METADATA_DATESTYLE.to_string(),
                value.to_string(),
            );
        }
        "intervalstyle" => {
            metadata.insert(
                crate::pgstyle::METADATA_INTERVALSTYLE.to_string(),
                value.to_string(),
            );
        }
        "bytea_output" | "application_name" | "search_path" => {
            metadata.insert(lower, value.to_string());
        }
        _ => {}
    }
}

/// The schema a search_path resolves unqualified names to: its first entry
/// that is a schema of the database.
fn default_schema(ctx: &SessionContext, search_path: &str) -> Option<String> {
    let catalog = ctx.catalog(laketap_engine::DATABASE)?;
    search_path
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| s != "$user" && s != "pg_catalog")
        .find(|s| catalog.schema(s).is_some())
}

/// Applies a PostgreSQL parameter's value where it has an effect. (The
/// schema lookup reads the session state: done before its write lock.)
fn apply(ctx: &SessionContext, guc: &pgsettings::Guc, value: &str) {
    let lower = guc.name.to_ascii_lowercase();
    let schema = (lower == "search_path")
        .then(|| default_schema(ctx, value))
        .flatten();
    let state = ctx.state_ref();
    let mut state = state.write();
    let options = state.config_mut().options_mut();
    match lower.as_str() {
        // The zone Arrow computes in: `+05:30` is a POSIX zone, west of UTC.
        "timezone" => options.execution.time_zone = Some(pgsettings::arrow_time_zone(value)),
        "search_path" => {
            if let Some(schema) = schema {
                options.catalog.default_schema = schema;
            }
        }
        _ => {}
    }
}

async fn answer(
    request: Request,
    ctx: &SessionContext,
    client: &mut dyn HookClient,
) -> PgWireResult<Response> {
    match request {
        Request::Set(key, value) => {
            // A session SET in the block outlasts an earlier SET LOCAL of it.
            client.metadata_mut().remove(&local_key(&key));
            set(ctx, &key, &value, client).await?;
            Ok(Response::Execution(Tag::new("SET")))
        }
        Request::SetLocal(key, value) => {
            set_local(ctx, &key, &value, client).await?;
            Ok(Response::Execution(Tag::new("SET")))
        }
        Request::SetMany(pairs) => {
            for (key, value) in pairs {
                set(ctx, &key, &value, &mut *client).await?;
            }
            Ok(Response::Execution(Tag::new("SET")))
        }
        Request::Reset(key) => {
            set(ctx, &key, "default", client).await?;
            Ok(Response::Execution(Tag::new("RESET")))
        }
        Request::ResetAll => {
            for guc in pgsettings::GUCS.iter().filter(|g| g.settable) {
                set(ctx, &guc.name.to_ascii_lowercase(), "default", &mut *client).await?;
            }
            set(ctx, "laketap.as_of", "default", client).await?;
            Ok(Response::Execution(Tag::new("RESET")))
        }
        Request::Show(key) => {
            let (name, value) = shown(ctx, &key)?;
            show(&name, &value)
        }
        Request::ShowAll => {
            // Reads the session's options in place (cloning the SessionState
            // would copy every registered function and table factory).
            let state = ctx.state_ref();
            let state = state.read();
            let options = state.config().options();
            let mut all: Vec<Vec<String>> = pgsettings::GUCS
                .iter()
                .map(|g| {
                    vec![
                        g.name.to_string(),
                        pgsettings::current_value(options, g.name).unwrap_or_default(),
                        g.description.to_string(),
                    ]
                })
                .collect();
            if let Some(laketap) = options.extensions.get::<LaketapOptions>() {
                for e in datafusion::common::config::ExtensionOptions::entries(laketap) {
                    all.push(vec![
                        e.key,
                        e.value.unwrap_or_default(),
                        e.description.to_string(),
                    ]);
                }
            }
            rows(&["name", "setting", "description"], all)
        }
    }
}

/// The column name and value SHOW answers for `key`.
fn shown(ctx: &SessionContext, key: &str) -> PgWireResult<(String, String)> {
    let state = ctx.state_ref();
    let state = state.read();
    let options = state.config().options();
    if let Some(guc) = pgsettings::lookup(key) {
        let value = pgsettings::current_value(options, guc.name).unwrap_or_default();
        return Ok((guc.name.to_string(), value));
    }
    match pgsettings::current_value(options, key) {
        Some(value) => Ok((key.rsplit('.').next().unwrap_or(key).to_string(), value)),
        None => Err(error(UNDEFINED_OBJECT, pgsettings::unrecognized(key))),
    }
}

async fn set(
    ctx: &SessionContext,
    key: &str,
    value: &str,
    client: &mut dyn HookClient,
) -> PgWireResult<()> {
    if key.starts_with("datafusion.runtime.") {
        return Err(error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("parameter \"{key}\" is the server's: set it in laketap.toml, not per session"),
        ));
    }
    if key.starts_with("laketap.") || key.starts_with("datafusion.") {
        let state = ctx.state_ref();
        let mut state = state.write();
        let options = state.config_mut().options_mut();
        let value = if key.starts_with("datafusion.") && value == "default" {
            datafusion::common::config::ConfigOptions::new()
                .entries()
                .into_iter()
                .find(|e| e.key == key)
                .and_then(|e| e.value)
                .unwrap_or_default()
        } else {
            value.to_string()
        };
        return options.set(key, &value).map_err(|e| setting_error(&e));
    }
    let guc = pgsettings::lookup(key)
        .ok_or_else(|| error(UNDEFINED_OBJECT, pgsettings::unrecognized(key)))?;
    let now = {
        let state = ctx.state_ref();
        let mut state = state.write();
        let options = state.config_mut().options_mut();
        options
            .set(&format!("pg.{}", guc.name.to_ascii_lowercase()), value)
            .map_err(|e| setting_error(&e))?;
        pgsettings::current_value(options, guc.name).unwrap_or_default()
    };
    apply(ctx, guc, &now);
    mirror_to_client(client, guc, &now);
    if guc.reported {
        client
            .send_message(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                guc.name.to_string(),
                now,
            )))
            .await?;
    }
    Ok(())
}

/// Where the value a SET LOCAL replaced waits for the end of the block.
const LOCAL_PREFIX: &str = "laketap.set_local.";

fn local_key(key: &str) -> String {
    format!("{LOCAL_PREFIX}{key}")
}

/// SET LOCAL: in a transaction block, the value before the block's first
/// SET LOCAL of `key` is kept and [`end_locals`] restores it. Outside a
/// block PostgreSQL warns and changes nothing (the statement is its own
/// transaction).
async fn set_local(
    ctx: &SessionContext,
    key: &str,
    value: &str,
    client: &mut dyn HookClient,
) -> PgWireResult<()> {
    use pgwire::messages::response::{NoticeResponse, TransactionStatus};
    if client.transaction_status() == TransactionStatus::Idle {
        let notice = pgwire::error::ErrorInfo::new(
            "WARNING".to_string(),
            "25P01".to_string(),
            "SET LOCAL can only be used in transaction blocks".to_string(),
        );
        return client
            .send_message(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                notice,
            )))
            .await;
    }
    let (_, before) = shown(ctx, key)?;
    set(ctx, key, value, &mut *client).await?;
    client
        .metadata_mut()
        .entry(local_key(key))
        .or_insert(before);
    Ok(())
}

/// The end of a transaction block: every SET LOCAL's setting returns to
/// its value before the block.
async fn end_locals(ctx: &SessionContext, client: &mut dyn HookClient) -> PgWireResult<()> {
    let saved: Vec<(String, String)> = client
        .metadata()
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(LOCAL_PREFIX)?.to_string(), v.clone())))
        .collect();
    for (key, value) in saved {
        client.metadata_mut().remove(&local_key(&key));
        set(ctx, &key, &value, &mut *client).await?;
    }
    Ok(())
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

/// The query hook for session settings: `laketap.*`, PostgreSQL's run-time
/// parameters (see `laketap_engine::pgsettings`) and `datafusion.*` (except
/// `datafusion.runtime.*`, the server's); it runs before datafusion-postgres's
/// SET hook, which answered "SET" even when nothing was set.
#[derive(Debug)]
pub struct LaketapSettingsHook;

#[async_trait]
impl QueryHook for LaketapSettingsHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(answer) = transaction_modes(statement, session_context, client).await {
            return Some(answer);
        }
        let request = request(statement)?;
        Some(answer(request, session_context, client).await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match request(statement)? {
            Request::Show(key) => Some(match shown(session_context, &key) {
                Ok((name, _)) => empty_plan(vec![Field::new(name, DataType::Utf8, false)]),
                Err(e) => Err(e),
            }),
            Request::ShowAll => Some(empty_plan(vec![
                Field::new("name", DataType::Utf8, false),
                Field::new("setting", DataType::Utf8, false),
                Field::new("description", DataType::Utf8, false),
            ])),
            Request::Set(..)
            | Request::SetLocal(..)
            | Request::SetMany(_)
            | Request::Reset(_)
            | Request::ResetAll => Some(empty_plan(Vec::new())),
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        session_context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(answer) = transaction_modes(statement, session_context, client).await {
            return Some(answer);
        }
        let request = request(statement)?;
        Some(answer(request, session_context, client).await)
    }
}

/// A transaction block's own isolation level and access mode, as
/// PostgreSQL keeps them: `BEGIN ISOLATION LEVEL …, READ ONLY` (also
/// `START TRANSACTION`, tagged as such) sets `transaction_isolation` and
/// `transaction_read_only` for the block, and its end returns both to the
/// session's defaults. (laketap runs every statement on a snapshot of the
/// tables it reads and a READ ONLY block takes no INSERT either way: the
/// settings are what clients read back.) Anything else: `None`, for the
/// transaction hooks after this one.
async fn transaction_modes(
    statement: &Statement,
    ctx: &SessionContext,
    client: &mut dyn HookClient,
) -> Option<PgWireResult<Response>> {
    use pgwire::messages::response::TransactionStatus;
    match statement {
        Statement::StartTransaction { modes, begin, .. }
            if client.transaction_status() == TransactionStatus::Idle =>
        {
            let defaults = [
                ("transaction_isolation", "default_transaction_isolation"),
                ("transaction_read_only", "default_transaction_read_only"),
            ];
            let mut values: Vec<(&str, String)> = Vec::new();
            for (key, default) in defaults {
                let value =
                    pgsettings::current_value(ctx.state_ref().read().config_options(), default);
                values.push((key, value?));
            }
            for mode in modes {
                match mode {
                    TransactionMode::IsolationLevel(level) => {
                        values[0].1 = level.to_string().to_ascii_lowercase();
                    }
                    TransactionMode::AccessMode(access) => {
                        values[1].1 = match access {
                            TransactionAccessMode::ReadOnly => "on".to_string(),
                            TransactionAccessMode::ReadWrite => "off".to_string(),
                        };
                    }
                }
            }
            for (key, value) in &values {
                if let Err(e) = set(ctx, key, value, client).await {
                    return Some(Err(e));
                }
            }
            let tag = if *begin { "BEGIN" } else { "START TRANSACTION" };
            Some(Ok(Response::TransactionStart(Tag::new(tag))))
        }
        Statement::Commit { chain: false, .. }
        | Statement::Rollback {
            chain: false,
            savepoint: None,
        } => {
            if let Err(e) = end_locals(ctx, client).await {
                return Some(Err(e));
            }
            for (key, default) in [
                ("transaction_isolation", "default_transaction_isolation"),
                ("transaction_read_only", "default_transaction_read_only"),
            ] {
                let value =
                    pgsettings::current_value(ctx.state_ref().read().config_options(), default);
                if let Some(value) = value
                    && let Err(e) = set(ctx, key, &value, client).await
                {
                    return Some(Err(e));
                }
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_options_are_split_as_postgresql_splits_them() {
        assert_eq!(
            startup_options(
                r"-c search_path=sales -csearch_path=amp --statement-timeout=5s -c DateStyle=SQL,\ DMY -X"
            ),
            vec![
                ("search_path".to_string(), "sales".to_string()),
                ("search_path".to_string(), "amp".to_string()),
                ("statement_timeout".to_string(), "5s".to_string()),
                ("DateStyle".to_string(), "SQL, DMY".to_string()),
            ]
        );
        let mut parameters = std::collections::BTreeMap::new();
        parameters.insert("user".to_string(), "laketap".to_string());
        parameters.insert(
            "options".to_string(),
            "-c TimeZone=+05:30 -c geqo=off".to_string(),
        );
        parameters.insert("TimeZone".to_string(), "europe/paris".to_string());
        parameters.insert("extra_float_digits".to_string(), "3".to_string());
        let settings = startup_settings(&parameters).expect("valid");
        let named: Vec<(&str, &str)> = settings
            .0
            .iter()
            .map(|(g, v)| (g.name, v.as_str()))
            .collect();
        // The named parameter outlasts the options' value; geqo is not
        // laketap's and is left.
        assert_eq!(
            named,
            vec![("TimeZone", "Europe/Paris"), ("extra_float_digits", "3")]
        );
        parameters.insert("DateStyle".to_string(), "bogus".to_string());
        let e = startup_settings(&parameters).expect_err("refused");
        assert_eq!(setting_code(&e), sqlstate::INVALID_PARAMETER);
    }
}
