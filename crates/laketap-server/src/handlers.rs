//! laketap's pgwire handlers: datafusion-postgres's `DfSessionService` does
//! the SQL work; around it we own startup (who may connect, the parameters
//! we announce), error codes (SQLSTATE per cause instead of XX000 for all),
//! and the query log.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::Utc;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion_postgres::{DfSessionService, QueryHook};
use futures::{Sink, Stream};
use laketap_engine::{QueryLog, QueryRecord};
use pgwire::api::Type;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, Response};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, ConnectionHandle, ErrorHandler, METADATA_USER};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use crate::access::{FilteredCatalogList, GatedTableFunction, PlanGate, Who};
use crate::auth::{Auth, SessionUser};
use crate::limits::SessionPool;
use crate::{compat, sqlstate};

/// The PostgreSQL version laketap announces (`server_version`): clients such
/// as SQLAlchemy parse it, so it must look like PostgreSQL's own.
pub const SERVER_VERSION: &str = laketap_engine::pgsettings::SERVER_VERSION;

/// Rewrites engine errors into ErrorResponses with their SQLSTATE; an error
/// about a lake object (a missing or corrupt data file) also names the table
/// whose location holds it.
pub struct SqlStateErrors {
    lake: Option<Arc<laketap_catalog::Lake>>,
    auth: Arc<Auth>,
}

impl ErrorHandler for SqlStateErrors {
    fn on_error<C>(&self, client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        if let PgWireError::ApiError(inner) = error {
            let info = if let Some(df) = inner.downcast_ref::<DataFusionError>() {
                Some(sqlstate::error_info(df))
            } else {
                inner
                    .downcast_ref::<ParserError>()
                    .map(sqlstate::parser_error_info)
            };
            if let Some(mut info) = info {
                // Named only to a user who may read the table: the name
                // would otherwise confirm where a path lies.
                let user = client
                    .session_extensions()
                    .get::<SessionUser>()
                    .map(|u| u.0.clone())
                    .unwrap_or_default();
                if let Some(table) = self
                    .lake
                    .as_ref()
                    .and_then(|lake| lake.table_holding(&info.message))
                    .filter(|table| {
                        let schema = table.split_once('.').map_or("", |(s, _)| s);
                        self.auth.access_of(&user).can_read(schema)
                    })
                {
                    info.message = format!("table {table}: {}", info.message);
                }
                *error = PgWireError::UserError(Box::new(info));
            }
        }
        if let PgWireError::UserError(info) = error {
            tracing::debug!(addr = %client.socket_addr(), code = %info.code, message = %info.message, "error sent");
        } else {
            tracing::debug!(addr = %client.socket_addr(), error = %error, "error sent");
        }
    }
}

/// One connection's own session: its own DataFusion `SessionContext` (so a
/// `SET` stays in the connection) over the shared catalogs, functions and
/// memory pool of the server's base session.
pub struct ConnectionSession {
    ctx: Arc<SessionContext>,
    service: Arc<DfSessionService>,
    parser: Arc<DfParser>,
}

type DfStatement = <DfSessionService as ExtendedQueryHandler>::Statement;
type DfParser = <DfSessionService as ExtendedQueryHandler>::QueryParser;

/// Per-connection limits applied to each session.
#[derive(Debug, Clone, Default)]
pub struct SessionLimits {
    /// Memory of one connection's statements, in bytes (None: only the server's pool).
    pub query_memory: Option<usize>,
    /// The default statement_timeout, in milliseconds (0: none).
    pub statement_timeout_ms: u64,
}

/// Creates each connection's session from the base session on first use.
pub struct Sessions {
    base: SessionContext,
    hooks: Vec<Arc<dyn QueryHook>>,
    /// A parser for what does not depend on the session (statement descriptions).
    any_parser: Arc<DfParser>,
    auth: Arc<Auth>,
    limits: SessionLimits,
    /// obj_description and friends, registered per session for its reader.
    descriptions: Option<Arc<crate::describe::Descriptions>>,
    /// Table OIDs for RowDescription.
    table_oids: Arc<crate::tableoids::TableOids>,
}

/// Table functions that name a lake table in their first argument.
const TABLE_NAMING_FUNCTIONS: &[&str] = &["table_at", "table_history"];

impl Sessions {
    /// Sessions cloned from `base`, with `hooks` in front of the SQL engine,
    /// each seeing what its user may read.
    pub fn new(
        base: SessionContext,
        hooks: Vec<Arc<dyn QueryHook>>,
        auth: Arc<Auth>,
        limits: SessionLimits,
        descriptions: Option<Arc<crate::describe::Descriptions>>,
    ) -> Self {
        let any = DfSessionService::new_with_hooks(Arc::new(base.clone()), hooks.clone());
        Sessions {
            any_parser: any.query_parser(),
            table_oids: Arc::new(crate::tableoids::TableOids::new(base.clone())),
            base,
            hooks,
            auth,
            limits,
            descriptions,
        }
    }

    /// The session of the connection `client` is on.
    fn of<C: ClientInfo + ?Sized>(&self, client: &C) -> Arc<ConnectionSession> {
        if let Some(session) = client.session_extensions().get::<ConnectionSession>() {
            return session;
        }
        // Read before get_or_insert_with, which holds the extensions' lock.
        let user = client
            .session_extensions()
            .get::<SessionUser>()
            .map(|u| u.0.clone())
            .unwrap_or_default();
        let startup = client
            .session_extensions()
            .get::<crate::settings::StartupSettings>();
        let (pid, _) = client.pid_and_secret_key();
        client.session_extensions().get_or_insert_with(|| {
            let ctx = Arc::new(self.session_for(Who::new(self.auth.clone(), user), pid));
            // pg_stat_activity reads its application_name.
            self.auth
                .backends()
                .attach_session(pid, Arc::downgrade(&ctx));
            if let Some(startup) = &startup {
                crate::settings::apply_startup(&ctx, startup);
            }
            let service = Arc::new(DfSessionService::new_with_hooks(
                ctx.clone(),
                self.hooks.clone(),
            ));
            ConnectionSession {
                parser: service.query_parser(),
                service,
                ctx,
            }
        })
    }

    /// A session for `who`: the catalogs as it may see them, the write gate
    /// first among the analyzer rules, the time-travel functions checked, and
    /// its memory within the per-query limit. The session shares the server's
    /// catalogs, functions, caches and memory pool; its config is its own.
    fn session_for(&self, who: Who, pid: i32) -> SessionContext {
        let base = self.base.state();
        let mut runtime = (**base.runtime_env()).clone();
        if let Some(limit) = self.limits.query_memory {
            runtime.memory_pool = Arc::new(SessionPool::new(runtime.memory_pool.clone(), limit));
        }
        let mut rules: Vec<Arc<dyn datafusion::optimizer::AnalyzerRule + Send + Sync>> =
            vec![Arc::new(PlanGate::new(who.clone()))];
        rules.extend(base.analyzer().rules.iter().cloned());
        let mut functions = base.table_functions().clone();
        for name in TABLE_NAMING_FUNCTIONS {
            if let Some(f) = functions.get(*name).cloned() {
                functions.insert(
                    name.to_string(),
                    Arc::new(datafusion::catalog::TableFunction::new(
                        name.to_string(),
                        Arc::new(GatedTableFunction::new(
                            name,
                            f.function().clone(),
                            who.clone(),
                        )),
                    )),
                );
            }
        }
        let mut descriptions = self
            .descriptions
            .as_ref()
            .map(|d| d.functions_for(&who))
            .unwrap_or_default();
        if !who.access().admin {
            descriptions.extend(crate::access::PrivilegeUdf::functions_for(&who));
        }
        if !who.user().is_empty() {
            descriptions.push(session_user(who.user()));
        }
        descriptions.push(crate::backends::backend_pid(pid));
        descriptions.push(Arc::new(
            datafusion::logical_expr::ScalarUDF::new_from_impl(
                crate::regtype::RegResult::relations(self.table_oids.clone(), who.clone()),
            ),
        ));
        for signal in [
            crate::backends::Signal::Cancel,
            crate::backends::Signal::Terminate,
        ] {
            descriptions.push(crate::backends::signal_backend(
                self.auth.backends(),
                who.clone(),
                signal,
            ));
        }
        let catalogs = Arc::new(FilteredCatalogList::new(base.catalog_list().clone(), who));
        // EXTRACT is numeric, as in PostgreSQL (crate::extract), and
        // timestamptz differences take any zones (crate::rules); only in
        // client sessions, so the built-in views keep their planned types.
        let mut planners: Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> = vec![
            Arc::new(crate::extract::PgExtractPlanner::default()),
            Arc::new(crate::rules::ZonedDifferences::default()),
        ];
        planners.extend(base.expr_planners().iter().cloned());
        let mut state = datafusion::execution::SessionStateBuilder::new_from_existing(base)
            .with_expr_planners(planners)
            .with_runtime_env(Arc::new(runtime))
            .with_analyzer_rules(rules)
            .with_table_functions(functions)
            .with_catalog_list(catalogs)
            .build();
        // The scalar series functions build their lists outside the pool:
        // bounded by the per-query limit (crate::limits::SeriesGuard).
        if let Some(limit) = self.limits.query_memory {
            for name in ["generate_series", "range"] {
                if let Some(inner) = state.scalar_functions().get(name).cloned() {
                    descriptions.push(Arc::new(
                        datafusion::logical_expr::ScalarUDF::new_from_impl(
                            crate::limits::SeriesGuard::new(inner, limit),
                        ),
                    ));
                }
            }
        }
        // floor, ceil and trunc of a numeric have scale 0 (crate::rounding).
        for name in crate::rounding::FUNCTIONS {
            if let Some(inner) = state.scalar_functions().get(name).cloned() {
                descriptions.push(Arc::new(
                    datafusion::logical_expr::ScalarUDF::new_from_impl(
                        crate::rounding::ScaleZero::new(inner),
                    ),
                ));
            }
        }
        for udf in descriptions {
            if let Err(e) = datafusion::execution::FunctionRegistry::register_udf(&mut state, udf) {
                tracing::warn!(error = %e, "description functions not filtered for the session");
            }
        }
        if self.limits.statement_timeout_ms > 0 {
            let timeout = self.limits.statement_timeout_ms.to_string();
            let set = state
                .config_mut()
                .options_mut()
                .extensions
                .get_mut::<laketap_engine::pgsettings::PgSettings>()
                .map(|s| s.set_server_default("statement_timeout", &timeout));
            if let Some(Err(e)) = set {
                tracing::warn!(error = %e, "the default statement_timeout is not shown by SHOW");
            }
        }
        SessionContext::new_with_state(state)
    }
}

/// `session_user` (also `current_user`, which datafusion-pg-catalog maps to
/// it): the user the connection logged in as. datafusion-pg-catalog's
/// answers "postgres" for everyone.
fn session_user(user: &str) -> Arc<datafusion::logical_expr::ScalarUDF> {
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    use datafusion::scalar::ScalarValue;
    let user = user.to_string();
    Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(
        crate::pgtypes::NameResult::new(Arc::new(create_udf(
            "session_user",
            vec![],
            datafusion::arrow::datatypes::DataType::Utf8,
            Volatility::Stable,
            Arc::new(move |_: &[ColumnarValue]| {
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(user.clone()))))
            }),
        ))),
    ))
}

/// The SQL service with the query log and the compatibility rewrites around it.
pub struct LoggedService {
    sessions: Arc<Sessions>,
    parser: Arc<CompatParser>,
    log: Arc<QueryLog>,
}

/// datafusion-postgres's parser (of the connection's session) with
/// [`compat::rewrite_sql`] in front.
pub struct CompatParser {
    sessions: Arc<Sessions>,
    log: Arc<QueryLog>,
}

#[async_trait]
impl QueryParser for CompatParser {
    type Statement = DfStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let moving = crate::cursors::move_as_fetch(sql);
        let rewritten = match &moving {
            Some(fetch) => Some(fetch.clone()),
            None => compat::rewrite_sql(sql),
        };
        let session = self.sessions.of(client);
        let text = rewritten.as_deref().unwrap_or(sql);
        if text.contains(crate::regtype::REGCLASS_FUNCTION) {
            // regclass results name relations as pg_class has them now.
            self.sessions.table_oids.refresh().await;
        }
        let mut first = session.parser.parse_sql(client, text, types).await;
        // Columns PostgreSQL may name alike (`SELECT x::text, x`) are
        // aliased apart, and their described names restored.
        if let Err(e) = &first
            && compat::is_duplicate_names(&error_text(e))
            && let Some(unique) = compat::unique_names(text)
        {
            first = session.parser.parse_sql(client, &unique, types).await;
        }
        let parsed = first
            // The statement keeps the client's text: a MOVE is answered as a
            // MOVE at Execute, and the query log and pg_stat_activity show what
            // the client sent, not laketap's rewrite of it.
            .map(|statement| statement.map(|(_, parsed)| (sql.to_string(), parsed)))
            .and_then(|statement| match statement {
                Some((text, Some((ast, plan)))) => {
                    let time_zone = session
                        .ctx
                        .state_ref()
                        .read()
                        .config_options()
                        .execution
                        .time_zone
                        .clone();
                    let plan =
                        crate::params::declare_parameter_types(plan, types, time_zone.as_deref())
                            .and_then(|plan| {
                                let literals = crate::literals::literal_columns(&ast);
                                crate::literals::retyped_plan(plan, &literals)
                            })
                            .and_then(|plan| {
                                let config =
                                    session.ctx.state_ref().read().config_options().clone();
                                crate::pgresults::described_plan(plan, &config)
                            })
                            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
                    Ok(Some((text, Some((ast, plan)))))
                }
                other => Ok(other),
            });
        if let Ok(Some((_, Some((_, plan))))) = &parsed {
            self.sessions.table_oids.learn(plan).await;
        }
        if let Err(e) = &parsed {
            // Planning happens at Parse in the extended protocol: log the
            // statements that never reach Execute.
            Running::new(&self.log, self.sessions.auth.backends(), client, sql)
                .finish(0, Some(error_text(e)));
        }
        parsed
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        let mut types = self.sessions.any_parser.get_parameter_types(stmt)?;
        // `$1::jsonb` is described as jsonb (asyncpg encodes by it).
        if let Some((ast, plan)) = &stmt.1 {
            for (i, kind) in crate::pgtypes::parameter_kinds(plan) {
                if let Some(ty) = types.get_mut(i) {
                    *ty = kind.pg_type();
                }
            }
            // `$1::oid[]` is oid[] (asyncpg has a codec for it, not int4[]).
            for (i, ty) in crate::pgtypes::oid_parameters(ast) {
                if let Some(slot) = types.get_mut(i)
                    && matches!(*slot, Type::INT4 | Type::INT4_ARRAY)
                {
                    *slot = ty;
                }
            }
        }
        Ok(types)
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        // A FETCH's rows were encoded as text when its cursor was declared
        // (crate::cursors): it is described as what it sends, binary only
        // where its rows can be read back into binary.
        let fetch = matches!(
            stmt.1,
            Some((datafusion::sql::sqlparser::ast::Statement::Fetch { .. }, _))
        );
        let fields = if fetch {
            let text = self
                .sessions
                .any_parser
                .get_result_schema(stmt, Some(&Format::UnifiedText))?;
            match column_format {
                Some(formats) => crate::cursors::fetch_fields(&text, formats),
                None => text,
            }
        } else {
            self.sessions
                .any_parser
                .get_result_schema(stmt, column_format)?
        };
        let fields = match &stmt.1 {
            Some((_, plan)) => {
                let fields =
                    crate::pgtypes::retyped(plan.schema().as_arrow(), &fields).unwrap_or(fields);
                self.sessions.table_oids.describe(plan, fields)
            }
            None => fields,
        };
        Ok(postgres_names(stmt.1.as_ref().map(|(ast, _)| ast), fields))
    }
}

/// Where datafusion-postgres keeps `SET statement_timeout` (milliseconds)
/// in the connection's metadata.
const STATEMENT_TIMEOUT_KEY: &str = "statement_timeout_ms";

/// The connection's statement_timeout, if one is set.
fn statement_timeout<C: ClientInfo + ?Sized>(client: &C) -> Option<std::time::Duration> {
    client
        .metadata()
        .get(STATEMENT_TIMEOUT_KEY)
        .and_then(|ms| ms.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(std::time::Duration::from_millis)
}

/// Runs `work` (planning, and all of an INSERT or DDL, which finish inside
/// do_query) within the statement timeout; rows streamed afterwards are
/// watched by [`CountingRows`].
async fn within_timeout<T>(
    limit: Option<std::time::Duration>,
    work: impl std::future::Future<Output = PgWireResult<T>>,
) -> PgWireResult<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .unwrap_or_else(|_| Err(canceled("canceling statement due to statement timeout"))),
        None => work.await,
    }
}

/// The longest SQL text kept in the query log, in bytes.
const LOGGED_SQL_BYTES: usize = 4096;

fn truncated(sql: &str) -> String {
    if sql.len() <= LOGGED_SQL_BYTES {
        return sql.to_string();
    }
    format!("{}…", crate::backends::prefix(sql, LOGGED_SQL_BYTES))
}

struct Running {
    log: Arc<QueryLog>,
    record: Option<QueryRecord>,
    start: Instant,
    /// Where pg_stat_activity shows the statement: the connections, and this one's pid.
    activity: (Arc<crate::backends::Backends>, i32),
}

impl Running {
    fn new<C: ClientInfo + ?Sized>(
        log: &Arc<QueryLog>,
        backends: Arc<crate::backends::Backends>,
        client: &C,
        sql: &str,
    ) -> Running {
        let pid = client.pid_and_secret_key().0;
        backends.query_started(pid, sql);
        let record = QueryRecord {
            query_id: log.next_id(),
            user: client
                .metadata()
                .get(METADATA_USER)
                .cloned()
                .unwrap_or_default(),
            sql: truncated(sql),
            started_at: Utc::now(),
            duration_ms: 0.0,
            rows: 0,
            error: None,
        };
        tracing::debug!(query_id = record.query_id, user = %record.user, sql = %record.sql, "query");
        Running {
            log: log.clone(),
            record: Some(record),
            start: Instant::now(),
            activity: (backends, pid),
        }
    }

    fn finish(&mut self, rows: u64, error: Option<String>) {
        if let Some(mut record) = self.record.take() {
            self.activity.0.query_finished(self.activity.1);
            record.duration_ms = self.start.elapsed().as_secs_f64() * 1000.0;
            record.rows = rows;
            record.error = error;
            tracing::debug!(
                query_id = record.query_id,
                user = %record.user,
                rows = record.rows,
                duration_ms = record.duration_ms,
                error = record.error.as_deref().unwrap_or(""),
                "query finished"
            );
            self.log.push(record);
        }
    }

    /// Logs at once for non-row responses; for row streams, when the stream
    /// ends or is dropped (a client that went away). Row streams also end
    /// with 57014 on a cancel request or when the statement timeout passes.
    async fn attach<C: ClientInfo + ?Sized>(mut self, client: &C, response: &mut Response) {
        let deadline = statement_timeout(client).map(|limit| {
            Box::pin(tokio::time::sleep_until(
                tokio::time::Instant::from_std(self.start) + limit,
            ))
        });
        let cancel = match response {
            Response::Query(_) | Response::CopyOut(_) => {
                match client.session_extensions().get::<Arc<ConnectionHandle>>() {
                    Some(handle) => Some(handle.start_query().await),
                    None => None,
                }
            }
            _ => None,
        };
        match response {
            Response::Query(query) => {
                let rows =
                    std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
                query.data_rows = Box::pin(CountingRows {
                    inner: rows,
                    rows: 0,
                    running: self,
                    cancel,
                    deadline,
                    done: false,
                });
            }
            // COPY … TO STDOUT streams too: the same cancel and timeout.
            Response::CopyOut(copy) => {
                let data =
                    std::mem::replace(&mut copy.data_stream, Box::pin(futures::stream::empty()));
                copy.data_stream = Box::pin(CountingRows {
                    inner: data,
                    rows: 0,
                    running: self,
                    cancel,
                    deadline,
                    done: false,
                });
            }
            Response::TransactionStart(_) | Response::TransactionEnd(_) => {
                // Known before the reply: pg_stat_activity never shows a
                // finished BEGIN as idle, nor a COMMIT as in a transaction.
                let started = matches!(response, Response::TransactionStart(_));
                self.activity.0.in_transaction(self.activity.1, started);
                self.finish(0, None)
            }
            Response::Error(info) => self.finish(0, Some(info.message.clone())),
            _ => self.finish(0, None),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.record.is_some() {
            self.finish(0, Some("ended before completion".to_string()));
        }
    }
}

struct CountingRows<S> {
    inner: S,
    rows: u64,
    running: Running,
    /// Fires on a CancelRequest for this connection.
    cancel: Option<futures::channel::oneshot::Receiver<()>>,
    /// The statement_timeout, counted from the statement's start.
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

fn canceled(message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        sqlstate::QUERY_CANCELED.to_string(),
        message.to_string(),
    )))
}

impl<S, T> Stream for CountingRows<S>
where
    S: Stream<Item = PgWireResult<T>> + Unpin,
{
    type Item = PgWireResult<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        // Results are computed while they stream, after do_query returned:
        // cancel requests and the statement timeout must be watched here.
        let mut stop = None;
        if let Some(rx) = this.cancel.as_mut() {
            match std::pin::Pin::new(rx).poll(cx) {
                Poll::Ready(Ok(())) => stop = Some("canceling statement due to user request"),
                // Another statement replaced the sender: nothing to watch.
                Poll::Ready(Err(_)) => this.cancel = None,
                Poll::Pending => {}
            }
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            stop = Some("canceling statement due to statement timeout");
        }
        if let Some(message) = stop {
            this.done = true;
            let rows = this.rows;
            this.running.finish(rows, Some(message.to_string()));
            return Poll::Ready(Some(Err(canceled(message))));
        }
        let next = std::pin::Pin::new(&mut this.inner).poll_next(cx);
        match &next {
            std::task::Poll::Ready(Some(Ok(_))) => this.rows += 1,
            std::task::Poll::Ready(Some(Err(e))) => {
                let rows = this.rows;
                this.running.finish(rows, Some(e.to_string()));
            }
            std::task::Poll::Ready(None) => {
                let rows = this.rows;
                this.running.finish(rows, None);
            }
            std::task::Poll::Pending => {}
        }
        next
    }
}

/// Rows of a result with text float or date/time columns get PostgreSQL's
/// text output of them ([`crate::pgtext`]).
fn postgres_text<C: ClientInfo + ?Sized>(client: &C, response: &mut Response) {
    let Response::Query(query) = response else {
        return;
    };
    let Some(fixes) = crate::pgtext::TextFixes::for_fields(
        &query.row_schema,
        &crate::pgtext::TextSettings::of(client.metadata()),
    ) else {
        return;
    };
    let rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
    query.data_rows = Box::pin(futures::StreamExt::map(rows, move |row| {
        row.map(|row| fixes.apply(row))
    }));
}

/// `fields` named as PostgreSQL names the result columns of `statement`
/// ([`crate::colnames`]).
fn postgres_names(
    statement: Option<&datafusion::sql::sqlparser::ast::Statement>,
    fields: Vec<FieldInfo>,
) -> Vec<FieldInfo> {
    if !crate::colnames::has_expression_names(&fields) {
        return fields;
    }
    statement
        .and_then(crate::colnames::select_list_names)
        .and_then(|items| crate::colnames::rename(&fields, &items))
        .unwrap_or(fields)
}

/// Whether a simple-query message names a type or function whose result
/// columns [`simple_query_types`] describes.
fn names_special_types(sql: &str) -> bool {
    let typed = [
        b"json".as_slice(),
        b"uuid",
        b"current_user",
        b"session_user",
        b"current_schema",
        b"current_database",
        b"pg_encoding_to_char",
        b"varchar",
        b"character varying",
    ];
    typed.iter().any(|word| compat::mentions(sql, word))
}

/// json, jsonb and uuid columns of a simple-query message's results
/// described as such ([`crate::pgtypes`]), its queries (`statements`, one
/// per response) planned again for it, not run. Only for a message that
/// [`names_special_types`].
async fn simple_query_types<C>(
    parser: &DfParser,
    client: &C,
    statements: &[datafusion::sql::sqlparser::ast::Statement],
    responses: &mut [Response],
) where
    C: ClientInfo + Unpin + Send + Sync,
{
    for (statement, response) in statements.iter().zip(responses) {
        let (Response::Query(query), datafusion::sql::sqlparser::ast::Statement::Query(_)) =
            (&mut *response, statement)
        else {
            continue;
        };
        // Planned as Parse plans it (with datafusion-pg-catalog's rewrites:
        // `current_user` is `session_user()`), not run.
        if let Ok(Some((_, Some((_, plan))))) =
            parser.parse_sql(client, &statement.to_string(), &[]).await
            && let Some(fields) =
                crate::pgtypes::retyped(plan.schema().as_arrow(), &query.row_schema)
        {
            query.row_schema = Arc::new(fields);
        }
    }
}

/// The statements of a simple-query message that gave `responses`
/// responses (`None` if it does not parse into as many).
fn message_statements(
    sql: &str,
    responses: usize,
) -> Option<Vec<datafusion::sql::sqlparser::ast::Statement>> {
    datafusion::sql::sqlparser::parser::Parser::parse_sql(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
        sql,
    )
    .ok()
    .filter(|statements| statements.len() == responses)
}

/// Whether [`simple_query_names`] may change a message's results: some
/// column is named after an expression, or is int8 or float8 (which a
/// select-list literal is here).
fn names_or_literals_to_fix(responses: &[Response]) -> bool {
    responses.iter().any(|r| {
        matches!(r, Response::Query(q) if crate::colnames::has_expression_names(&q.row_schema)
            || q.row_schema.iter().any(|f| matches!(*f.datatype(), Type::INT8 | Type::FLOAT8)))
    })
}

/// PostgreSQL's column names for the results of a simple-query message
/// (`statements`, one per response), and its number literals in
/// PostgreSQL's types ([`crate::literals`]).
fn simple_query_names(
    statements: &[datafusion::sql::sqlparser::ast::Statement],
    responses: &mut [Response],
) {
    for (statement, response) in statements.iter().zip(responses) {
        if let Response::Query(query) = response {
            let mut fields = postgres_names(Some(statement), query.row_schema.as_ref().clone());
            let literals = crate::literals::literal_columns(statement);
            if let Some((retyped, rows)) = crate::literals::retyped_fields(&fields, &literals) {
                fields = retyped;
                if let Some(rows) = rows {
                    let data =
                        std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
                    query.data_rows = Box::pin(futures::StreamExt::map(data, move |row| {
                        row.map(|row| rows.apply(row))
                    }));
                }
            }
            query.row_schema = Arc::new(fields);
        }
    }
}

fn error_text(e: &PgWireError) -> String {
    match e {
        PgWireError::ApiError(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(df) => df.message().to_string(),
            None => inner.to_string(),
        },
        PgWireError::UserError(info) => info.message.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl SimpleQueryHandler for LoggedService {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut running = Running::new(&self.log, self.sessions.auth.backends(), client, query);
        let session = self.sessions.of(client);
        let limit = statement_timeout(client);
        // A message with a MOVE runs statement by statement, each MOVE as
        // its FETCH without the rows (sqlparser has no MOVE).
        let (result, sql) = match crate::cursors::split_moves(query) {
            Some(statements) => {
                let run = async {
                    let mut responses = Vec::new();
                    for (text, is_move) in &statements {
                        let sql = compat::rewrite_sql(text);
                        let answers = SimpleQueryHandler::do_query(
                            session.service.as_ref(),
                            client,
                            sql.as_deref().unwrap_or(text),
                        )
                        .await?;
                        for answer in answers {
                            responses.push(if *is_move {
                                crate::cursors::moved(answer).await?
                            } else {
                                answer
                            });
                        }
                    }
                    Ok(responses)
                };
                (within_timeout(limit, run).await, query.to_string())
            }
            None => {
                let rewritten = compat::rewrite_sql(query);
                let mut sql = rewritten.unwrap_or_else(|| query.to_string());
                if sql.contains(crate::regtype::REGCLASS_FUNCTION) {
                    // regclass results name relations as pg_class has them now.
                    self.sessions.table_oids.refresh().await;
                }
                let mut result = within_timeout(
                    limit,
                    SimpleQueryHandler::do_query(session.service.as_ref(), client, &sql),
                )
                .await;
                // As in Parse: a select list named alike, aliased apart
                // (a message of queries alone, so nothing ran twice).
                if let Err(e) = &result
                    && compat::is_duplicate_names(&error_text(e))
                    && let Some(unique) = compat::unique_names(&sql)
                {
                    sql = unique;
                    result = within_timeout(
                        limit,
                        SimpleQueryHandler::do_query(session.service.as_ref(), client, &sql),
                    )
                    .await;
                }
                (result, sql)
            }
        };
        let sql = sql.as_str();
        match result {
            Ok(mut responses) => {
                for response in &mut responses {
                    postgres_text(client, response);
                }
                // The message's text is parsed again (once) only when its
                // results need it.
                let types = names_special_types(sql);
                let names = names_or_literals_to_fix(&responses);
                if (types || names)
                    && let Some(statements) = message_statements(sql, responses.len())
                {
                    if types {
                        simple_query_types(&session.parser, client, &statements, &mut responses)
                            .await;
                    }
                    if names {
                        simple_query_names(&statements, &mut responses);
                    }
                }
                // One log entry per simple-query message; rows are counted on its last result.
                match responses.last_mut() {
                    Some(last) => running.attach(client, last).await,
                    None => running.finish(0, None),
                }
                Ok(responses)
            }
            Err(e) => {
                running.finish(0, Some(error_text(&e)));
                Err(e)
            }
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for LoggedService {
    type Statement = <DfSessionService as ExtendedQueryHandler>::Statement;
    type QueryParser = CompatParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut running = Running::new(
            &self.log,
            self.sessions.auth.backends(),
            client,
            &portal.statement.statement.0,
        );
        let session = self.sessions.of(client);
        let limit = statement_timeout(client);
        let parsed = portal.statement.statement.1.as_ref();
        // json, jsonb and uuid parameters reach the decoder as text.
        let rebound = match parsed {
            Some((_, plan)) if !portal.parameters.is_empty() => crate::pgtypes::bind_as_text(
                plan,
                &portal.statement.parameter_types,
                &portal.parameter_format,
                &portal.parameters,
            )
            .map_err(|e| {
                PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
                    "ERROR".to_string(),
                    "22P02".to_string(),
                    e,
                )))
            })?,
            _ => None,
        };
        let rebound = rebound.map(|(types, codes, values)| {
            portal_with(
                portal,
                portal.statement.statement.clone(),
                types,
                Format::Individual(codes),
                values,
            )
        });
        let portal = rebound.as_ref().unwrap_or(portal);
        // An unconstrained numeric parameter takes its value's own scale.
        let rescaled = match parsed {
            Some((ast, plan)) => numeric_at_bound_scale(plan, portal)?.map(|plan| {
                let statement = (
                    portal.statement.statement.0.clone(),
                    Some((ast.clone(), plan)),
                );
                portal_with(
                    portal,
                    statement,
                    portal.statement.parameter_types.clone(),
                    portal.parameter_format.clone(),
                    portal.parameters.clone(),
                )
            }),
            None => None,
        };
        let portal = rescaled.as_ref().unwrap_or(portal);
        let result = within_timeout(
            limit,
            ExtendedQueryHandler::do_query(session.service.as_ref(), client, portal, max_rows),
        )
        .await;
        let result = match result {
            Ok(response)
                if crate::cursors::move_as_fetch(&portal.statement.statement.0).is_some() =>
            {
                crate::cursors::moved(response).await
            }
            other => other,
        };
        match result {
            Ok(mut response) => {
                if let Some((datafusion::sql::sqlparser::ast::Statement::Fetch { .. }, _)) = parsed
                {
                    crate::cursors::fetch_in_formats(&mut response, &portal.result_column_format);
                }
                if let (Response::Query(query), Some((_, plan))) = (&mut response, parsed)
                    && let Some(fields) =
                        crate::pgtypes::retyped(plan.schema().as_arrow(), &query.row_schema)
                {
                    query.row_schema = Arc::new(fields);
                }
                postgres_text(client, &mut response);
                if let Response::Query(query) = &mut response {
                    let mut fields = query.row_schema.as_ref().clone();
                    if let Some((_, plan)) = parsed {
                        fields = self.sessions.table_oids.describe(plan, fields);
                    }
                    query.row_schema = Arc::new(postgres_names(parsed.map(|(ast, _)| ast), fields));
                }
                running.attach(client, &mut response).await;
                Ok(response)
            }
            Err(e) => {
                running.finish(0, Some(error_text(&e)));
                Err(e)
            }
        }
    }
}

/// A copy of `portal` that executes `statement` with these parameters.
fn portal_with(
    portal: &Portal<DfStatement>,
    statement: DfStatement,
    types: Vec<Option<Type>>,
    format: Format,
    values: Vec<Option<bytes::Bytes>>,
) -> Portal<DfStatement> {
    let statement =
        pgwire::api::stmt::StoredStatement::new(portal.statement.id.clone(), statement, types);
    let mut copy = Portal::default();
    copy.name = portal.name.clone();
    copy.statement = Arc::new(statement);
    copy.parameter_format = format;
    copy.parameters = values;
    copy.result_column_format = portal.result_column_format.clone();
    copy.state = portal.state.clone();
    copy
}

/// `plan` with its unconstrained numeric parameters retyped to the scales
/// of the values `portal` binds to them (crate::params), or `None` when no
/// parameter needs it. A value sent in binary as another type than numeric
/// is left to the decoder.
fn numeric_at_bound_scale(
    plan: &datafusion::logical_expr::LogicalPlan,
    portal: &Portal<DfStatement>,
) -> PgWireResult<Option<datafusion::logical_expr::LogicalPlan>> {
    if portal.parameters.is_empty() {
        return Ok(None);
    }
    let scales: std::collections::HashMap<usize, i8> =
        crate::params::unconstrained_numeric_parameters(plan)
            .into_iter()
            .filter_map(|i| {
                let value = portal.parameters.get(i)?.as_ref()?;
                let binary = portal.parameter_format.is_binary(i);
                let declared = portal.statement.parameter_types.get(i).cloned().flatten();
                if binary && declared.is_some_and(|t| t != Type::NUMERIC && t != Type::UNKNOWN) {
                    return None;
                }
                Some((i, crate::params::natural_scale(value, binary)?))
            })
            .collect();
    if scales.is_empty() {
        return Ok(None);
    }
    crate::params::numeric_at_bound_scale(plan, &scales)
        .map_err(|e| PgWireError::ApiError(Box::new(e)))
}

/// Everything pgwire needs to serve connections (the startup handler is
/// made per connection: it holds the state of an authentication exchange).
pub struct LaketapHandlers {
    /// COPY FROM STDIN data.
    pub copy: Arc<crate::copy::CopyIn>,
    /// Simple and extended queries.
    pub service: Arc<LoggedService>,
    /// Cancel requests.
    pub cancel: Arc<DefaultCancelHandler>,
    /// SQLSTATEs of engine errors.
    pub errors: Arc<SqlStateErrors>,
    /// Users, roles, and the connections they opened.
    pub auth: Arc<Auth>,
}

impl LaketapHandlers {
    /// Handlers over `sessions`, letting in whom `auth` names.
    pub fn new(
        sessions: Sessions,
        log: Arc<QueryLog>,
        auth: Arc<Auth>,
        lake: Option<Arc<laketap_catalog::Lake>>,
        ingest: Option<Arc<laketap_ingest::Ingest>>,
    ) -> Self {
        let sessions = Arc::new(sessions);
        LaketapHandlers {
            copy: Arc::new(crate::copy::CopyIn::new(ingest)),
            service: Arc::new(LoggedService {
                parser: Arc::new(CompatParser {
                    sessions: sessions.clone(),
                    log: log.clone(),
                }),
                sessions,
                log,
            }),
            cancel: Arc::new(DefaultCancelHandler::new(auth.connections())),
            errors: Arc::new(SqlStateErrors {
                lake,
                auth: auth.clone(),
            }),
            auth,
        }
    }
}
