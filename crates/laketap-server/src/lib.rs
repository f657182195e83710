//! laketap's PostgreSQL front end: the wire protocol (through pgwire and
//! datafusion-postgres) over the engine's session, with laketap's startup
//! policy, SQLSTATE mapping, query log, descriptions, its own accept loop
//! (bound listener passed in, connection cap, graceful shutdown) and the HTTP
//! endpoint.
//!
//! # Layout
//! - [`PgServer`] (this file): setup of the session for Postgres clients; the accept loop.
//! - [`handlers`]: pgwire handlers — startup, errors, query log, one session per connection.
//! - [`sqlstate`]: the error → SQLSTATE table.
//! - [`bytea`]: PostgreSQL's bytea input for string literals cast to bytea.
//! - [`colnames`]: result column names as PostgreSQL gives them.
//! - [`compat`]: SQL rewrites and pg_catalog columns for client compatibility.
//! - [`describe`]: `obj_description` / `col_description` from catalog descriptions.
//! - [`settings`]: `SET`/`SHOW`/`RESET` of `laketap.*` per connection.
//! - [`like`]: LIKE … ESCAPE with an escape character other than backslash.
//! - [`http`]: the HTTP router (`/health`, `/v1/ingest/{schema}/{table}`).
//! - [`cursors`]: DECLARE … CURSOR with a described portal, FETCH tagged FETCH.
//! - [`copy`]: `COPY … FROM STDIN` into Delta tables.
//! - [`transactions`]: writes held by a transaction block until COMMIT.
//! - [`auth`]: users and roles, and the startup handler (SCRAM, md5, password, trust).
//! - [`access`]: what each user may read and write, enforced in its session.
//! - [`scram`]: SCRAM-SHA-256 with PostgreSQL's verifiers.
//! - [`tableoids`]: table OIDs and column numbers in RowDescription.
//! - [`timeinput`]: timestamp input PostgreSQL reads and Arrow refuses (`10:00`, `'today'`).
//! - [`timetext`]: timestamp::text as PostgreSQL writes it.
//! - [`tls`]: the rustls acceptor.
//! - [`limits`]: the per-connection memory share.
//! - [`pgtext`]: PostgreSQL's text output of floats and date/time values.
//! - [`params`]: extended-protocol parameter types as PostgreSQL decides them.
//! - [`pgstats`]: `pg_stat_user_tables` with each table's row count from its metadata.
//! - [`age`]: PostgreSQL's `age()`, a calendar difference of timestamps.
//! - [`attimezone`]: `AT TIME ZONE`, a timestamptz giving a timestamp as in PostgreSQL.
//! - [`pgtochar`]: `to_char` of dates and timestamps with PostgreSQL's template patterns.
//! - [`pgnumeric`]: numeric division and `avg()` to PostgreSQL's scale, rounded as it rounds.
//! - [`pgorderedset`]: `percentile_disc` and `mode` WITHIN GROUP, as PostgreSQL picks them.
//! - [`pgmath`]: `width_bucket`, and `ceiling`/`sign` as PostgreSQL names them.
//! - [`pgserver`]: `pg_postmaster_start_time()`, `txid_current()`, `pg_is_in_recovery()`.
//! - [`pgzones`]: `pg_timezone_names` and `pg_timezone_abbrevs` from the IANA database.
//! - [`backends`]: the logged-in connections: `pg_backend_pid()`, `pg_stat_activity`,
//!   `pg_stat_ssl`, `pg_cancel_backend`/`pg_terminate_backend`, `pg_locks`.
//! - [`regtype`]: `x::regtype`, `x::regclass` and `x::oid` results as PostgreSQL prints them.
//! - [`pgvariance`]: variance, stddev, covariance, corr and regr_* summed as PostgreSQL sums them.
//! - [`pgspelling`]: `FETCH FIRST n ROWS ONLY`, `mod()`, `variance()` as DataFusion spells them.
//! - [`pgresults`]: `sum(int8)` numeric and `date_trunc(date)` timestamptz, as PostgreSQL types them.
//!
//! Every connection's bytes pass [`laketap_wire`]'s guard before pgwire
//! decodes them: framing, structure and size limits are checked first.

pub mod access;
pub mod age;
pub mod attimezone;
pub mod auth;
pub mod backends;
pub mod bytea;
pub mod catalog_order;
pub mod colnames;
pub mod compat;
pub mod copy;
pub mod cursors;
pub mod describe;
pub mod extract;
pub mod handlers;
pub mod http;
pub mod interval;
pub mod like;
pub mod limits;
pub mod literals;
#[cfg(test)]
mod numeric_tests;
pub mod params;
pub mod pgformat;
pub mod pgmath;
pub mod pgnumeric;
pub mod pgorderedset;
pub mod pgresults;
pub mod pgserver;
pub mod pgspelling;
pub mod pgstats;
pub mod pgstyle;
pub mod pgtext;
pub mod pgtochar;
pub mod pgtypes;
pub mod pgvariance;
pub mod pgzones;
pub mod regtype;
pub mod roles;
pub mod rounding;
mod rules;
pub mod savepoints;
pub mod scram;
pub mod searchpath;
pub mod settings;
pub mod sqlstate;
pub mod tableoids;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod text_array_tests;
pub mod timeinput;
pub mod timetext;
pub mod tls;
pub mod transactions;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use futures::{SinkExt, StreamExt};
use laketap_engine::{DATABASE, Engine};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::TlsAcceptor;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::codec::{Framed, FramedParts};

pub use auth::{Auth, AuthMethod, Directory, RoleConfig, UserConfig};
pub use handlers::{LaketapHandlers, SERVER_VERSION, SessionLimits};

/// Errors of setting up the front end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// pg_catalog or the description functions could not be installed.
    #[error("cannot set up the Postgres catalog: {0}")]
    Setup(String),
    /// A socket error in the accept loop.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

/// The front end's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Settings of the Postgres front end.
#[derive(Clone)]
pub struct PgConfig {
    /// Connections served at once; more are refused with 53300.
    pub max_connections: usize,
    /// Who may connect and what they may do (default: the no-users trust of `laketap`).
    pub auth: Arc<Auth>,
    /// TLS, when a certificate is configured.
    pub tls: Option<TlsAcceptor>,
    /// How long a connection may take to authenticate (PostgreSQL's
    /// authentication_timeout; default 60 s).
    pub auth_timeout: Duration,
    /// Size limits checked before messages are decoded.
    pub wire: laketap_wire::Limits,
    /// Per-connection memory share and default statement_timeout.
    pub session: SessionLimits,
    /// How long shutdown waits for open connections to finish.
    pub shutdown_grace: Duration,
    /// Where INSERT and COPY FROM STDIN write (None: no writes).
    pub ingest: Option<Arc<laketap_ingest::Ingest>>,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig {
            max_connections: 100,
            auth: Arc::new(Auth::new(Directory::trust("laketap"), DATABASE, false)),
            tls: None,
            auth_timeout: Duration::from_secs(60),
            wire: laketap_wire::Limits::default(),
            session: SessionLimits::default(),
            shutdown_grace: Duration::from_secs(5),
            ingest: None,
        }
    }
}

/// The Postgres front end over an engine.
pub struct PgServer {
    handlers: Arc<LaketapHandlers>,
    config: PgConfig,
    open: Arc<AtomicUsize>,
}

impl PgServer {
    /// Installs pg_catalog and the description functions in the engine's
    /// session and builds the handlers.
    pub async fn new(engine: &Engine, config: PgConfig) -> Result<PgServer> {
        let ctx = engine.context();
        setup_pg_catalog(ctx, DATABASE, EmptyContextProvider)
            .map_err(|e| Error::Setup(e.to_string()))?;
        // The same OIDs in every run: pg_catalog reads names sorted.
        let sorted = datafusion_pg_catalog::pg_catalog::PgCatalogSchemaProvider::try_new(
            catalog_order::SortedCatalog(ctx.state().catalog_list().clone()),
            Arc::new(
                datafusion_pg_catalog::pg_catalog::PgCatalogStaticTables::try_new()
                    .map_err(|e| Error::Setup(e.to_string()))?,
            ),
            EmptyContextProvider,
        )
        .map_err(|e| Error::Setup(e.to_string()))?;
        ctx.catalog(DATABASE)
            .ok_or_else(|| Error::Setup(format!("catalog `{DATABASE}` is missing")))?
            .register_schema("pg_catalog", Arc::new(sorted))
            .map_err(|e| Error::Setup(e.to_string()))?;
        // json, jsonb and uuid, in front of pg_catalog's oid types.
        pgtypes::PgTypePlanner::install(ctx);
        let catalog = ctx
            .catalog(DATABASE)
            .ok_or_else(|| Error::Setup(format!("catalog `{DATABASE}` is missing")))?;
        let pg_catalog = catalog
            .schema("pg_catalog")
            .ok_or_else(|| Error::Setup("pg_catalog was not installed".to_string()))?;
        let views: Vec<(String, String, String)> = engine
            .view_docs()
            .keys()
            .filter_map(|name| {
                engine.view_definition(name).map(|sql| {
                    (
                        laketap_engine::views::KPI_SCHEMA.to_string(),
                        name.clone(),
                        sql,
                    )
                })
            })
            .collect();
        let descriptions = Arc::new(describe::Descriptions::default());
        let overlay = compat::PgCatalogOverlay::new(
            pg_catalog,
            &views,
            descriptions.clone(),
            config.auth.clone(),
        )
        .await
        .map_err(|e| Error::Setup(e.to_string()))?;
        catalog
            .register_schema("pg_catalog", Arc::new(overlay))
            .map_err(|e| Error::Setup(e.to_string()))?;
        compat::register_functions(ctx);
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            roles::UserByIdUdf::new(config.auth.clone()),
        ));
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            pgtypes::PgTypeOf::default(),
        ));
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            interval::IntervalMul::default(),
        ));
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            pgtypes::OidArray::default(),
        ));
        // The session's search_path (datafusion-pg-catalog answers `public`).
        if let Some(database) = ctx.catalog(laketap_engine::DATABASE) {
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                searchpath::CurrentSchema::new(database.clone()),
            ));
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                searchpath::CurrentSchemas::new(database),
            ));
        }
        // Results PostgreSQL types `name` (session_user is per session).
        for function in ["current_schema", "current_database", "pg_encoding_to_char"] {
            if let Ok(inner) = datafusion::execution::FunctionRegistry::udf(ctx, function) {
                ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                    pgtypes::NameResult::new(inner),
                ));
            }
        }
        // variance, stddev, covar, corr, regr_* rounded as PostgreSQL's float8 versions.
        pgvariance::register(ctx);
        pgorderedset::register(ctx);
        pgmath::register(ctx);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        // Also age(), whose age(xid) counts from txid_current()'s ids.
        pgserver::register(ctx, started);
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            attimezone::PgAtTimeZone::default(),
        ));
        // to_char with PostgreSQL's template patterns (crate::pgtochar).
        if let Ok(to_char) = datafusion::execution::FunctionRegistry::udf(ctx, "to_char") {
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                pgtochar::PgToChar::new(to_char),
            ));
        }
        ctx.add_analyzer_rule(Arc::new(rules::PgExpressions));
        rules::UntypedLiterals::install(ctx);
        // After pg_catalog's functions: PostgreSQL's version(), current_setting().
        laketap_engine::pgsettings::register(ctx);
        // SHOW max_connections: the connections served at once (--max-connections).
        {
            let state = ctx.state_ref();
            let mut state = state.write();
            if let Some(settings) = state
                .config_mut()
                .options_mut()
                .extensions
                .get_mut::<laketap_engine::pgsettings::PgSettings>()
            {
                settings
                    .set_server_default("max_connections", &config.max_connections.to_string())
                    .map_err(|e| Error::Setup(format!("max_connections: {e}")))?;
            }
        }
        descriptions.register(ctx);
        // regtype results' names, from pg_type's (built-in) rows.
        let types = ctx
            .sql("SELECT oid, typname, typelem FROM pg_catalog.pg_type")
            .await
            .map_err(|e| Error::Setup(format!("reading pg_type for regtype names: {e}")))?
            .collect()
            .await
            .map_err(|e| Error::Setup(format!("reading pg_type for regtype names: {e}")))?;
        let names = regtype::TypeNames::from_pg_type(&types)
            .map_err(|e| Error::Setup(format!("reading pg_type for regtype names: {e}")))?;
        let names = Arc::new(names);
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            regtype::RegResult::types(names.clone()),
        ));
        if let Ok(format_type) = datafusion::execution::FunctionRegistry::udf(ctx, "format_type") {
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                pgtypes::FormatType::new(format_type, names),
            ));
        }
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            regtype::OidResult::default(),
        ));
        let inputs = describe::DescribeInputs::of(engine);
        descriptions
            .refresh(&inputs)
            .await
            .map_err(|e| Error::Setup(format!("reading relation OIDs: {e}")))?;
        // Tables that a reloaded catalog file adds get their descriptions too.
        let mut changes = engine.lake().changes();
        changes.mark_unchanged();
        let follower = descriptions.clone();
        let mut stopped = engine.stopped();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { break },
                    changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { break },
                }
                changes.mark_unchanged();
                // Let the views be re-planned first (they are listed by OID too).
                tokio::time::sleep(Duration::from_millis(200)).await;
                if let Err(e) = follower.refresh(&inputs).await {
                    tracing::warn!(error = %e, "descriptions not refreshed after a catalog change");
                }
            }
        });
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(access::StatementGate::new(config.auth.clone())),
            Arc::new(copy::CopyHook::new(config.ingest.clone())),
            Arc::new(transactions::TransactionWrites::new(config.ingest.clone())),
            Arc::new(savepoints::SavepointHook),
            Arc::new(settings::LaketapSettingsHook),
            Arc::new(cursors::Cursors::default()),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
            // Last: it answers queries, where the hooks above answer the
            // statements they own.
            Arc::new(pgresults::SimpleResultTypes),
        ];
        let handlers = Arc::new(LaketapHandlers::new(
            handlers::Sessions::new(
                ctx.clone(),
                hooks,
                config.auth.clone(),
                config.session.clone(),
                Some(descriptions.clone()),
            ),
            engine.query_log().clone(),
            config.auth.clone(),
            Some(engine.lake().clone()),
            config.ingest.clone(),
        ));
        Ok(PgServer {
            handlers,
            config,
            open: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The server's users (to replace them while it runs).
    pub fn auth(&self) -> Arc<Auth> {
        self.config.auth.clone()
    }

    /// Connections open now.
    pub fn open_connections(&self) -> Arc<AtomicUsize> {
        self.open.clone()
    }

    /// Serves connections from `listener` until `shutdown` resolves, then
    /// stops accepting and waits up to the grace period for open sessions.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<()> {
        let max = self.config.max_connections.max(1);
        let slots = Arc::new(Semaphore::new(max));
        tokio::pin!(shutdown);
        loop {
            let (socket, addr) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors, say: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%addr, max, "refused: too many connections");
                tokio::spawn(refuse(socket));
                continue;
            };
            let handlers = self.handlers.clone();
            let config = self.config.clone();
            let open = self.open.clone();
            tokio::spawn(async move {
                let _permit = permit;
                open.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%addr, "connection opened");
                if let Err(e) = serve_connection(socket, handlers, &config).await {
                    tracing::debug!(%addr, error = %e, "connection ended with an error");
                }
                open.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!(%addr, "connection closed");
            });
        }
        tracing::info!("shutting down: no new connections");
        let all = u32::try_from(max).unwrap_or(u32::MAX);
        if tokio::time::timeout(self.config.shutdown_grace, slots.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                open = max - slots.available_permits(),
                "shutdown grace period over; closing open connections"
            );
        }
        Ok(())
    }
}

/// Answers a connection over the cap with PostgreSQL's own refusal
/// (FATAL 53300) and closes it.
async fn refuse(mut socket: TcpStream) {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "53300"),
        (b'M', "sorry, too many clients already"),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    message.extend_from_slice(&body);
    let _ = socket.write_all(&message).await;
    let _ = socket.shutdown().await;
}

type Statement = <handlers::LoggedService as pgwire::api::query::ExtendedQueryHandler>::Statement;

/// Serves one connection: TLS negotiation, then every message through the
/// wire guard into pgwire's dispatcher; authentication must finish within
/// the auth timeout.
async fn serve_connection(
    socket: TcpStream,
    handlers: Arc<LaketapHandlers>,
    config: &PgConfig,
) -> std::io::Result<()> {
    let addr = socket.peer_addr()?;
    let deadline = tokio::time::sleep(config.auth_timeout);
    tokio::pin!(deadline);
    let negotiated = tokio::select! {
        () = &mut deadline => {
            tracing::info!(%addr, "closed: TLS negotiation not finished within the auth timeout");
            return Ok(());
        }
        negotiated = pgwire::tokio::server::negotiate_tls::<Statement>(socket, config.tls.clone()) => negotiated?,
    };
    let Some(framed) = negotiated else {
        // Direct TLS without a certificate configured.
        return Ok(());
    };
    let parts = framed.into_parts();
    // What TLS the connection negotiated, for pg_stat_ssl once it logs in.
    let tls = match &parts.io {
        pgwire::tokio::server::MaybeTls::Tls(stream) => backends::TlsInfo::of(stream.get_ref().1),
        _ => None,
    };
    let mut frames = laketap_wire::Frames::awaiting_startup(config.wire.clone());
    // With users configured, nothing but password messages (small) until
    // the client has logged in.
    let gated = !handlers.auth.current().is_trust();
    if gated {
        frames = frames.require_authentication();
    }
    let early = frames.push(&parts.read_buf);
    let mut guarded = FramedParts::new(laketap_wire::Guarded::new(parts.io, frames), parts.codec);
    guarded.write_buf = parts.write_buf;
    let mut socket = Framed::from_parts(guarded);
    // ROLLBACK TO SAVEPOINT resumes a failed block through it (savepoints).
    let resume = socket.get_ref().resume();
    socket.session_extensions().insert(resume.clone());
    socket
        .session_extensions()
        .insert(backends::ConnectionTls(tls));
    // pg_terminate_backend ends the connection through it.
    let terminate = Arc::new(tokio::sync::Notify::new());
    socket
        .session_extensions()
        .insert(backends::Terminate(terminate.clone()));
    if let Err(violation) = early {
        return refuse_violation(&mut socket, &violation).await;
    }

    let authenticated = Arc::new(AtomicBool::new(false));
    let mut lifted = !gated;
    // The transaction status pg_stat_activity was last told.
    let mut reported = pgwire::messages::response::TransactionStatus::Idle;
    let startup = Arc::new(auth::Startup::new(
        handlers.auth.clone(),
        authenticated.clone(),
        config.session.statement_timeout_ms,
    ));
    loop {
        let next = if matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        ) {
            tokio::select! {
                () = &mut deadline => {
                    tracing::info!(%addr, timeout_ms = config.auth_timeout.as_millis() as u64, "closed: authentication not finished within the auth timeout");
                    let info = ErrorInfo::new(
                        "FATAL".to_string(),
                        "08006".to_string(),
                        "canceling authentication due to timeout".to_string(),
                    );
                    let _ = socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await;
                    break;
                }
                next = socket.next() => next,
            }
        } else {
            tokio::select! {
                () = terminate.notified() => {
                    tracing::info!(%addr, "closed: terminated by pg_terminate_backend");
                    let info = ErrorInfo::new(
                        "FATAL".to_string(),
                        "57P01".to_string(),
                        "terminating connection due to administrator command".to_string(),
                    );
                    let _ = socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await;
                    break;
                }
                next = socket.next() => next,
            }
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(PgWireError::IoError(e))) => {
                if let Some(violation) = laketap_wire::violation(&e).cloned() {
                    return refuse_violation(&mut socket, &violation).await;
                }
                return Err(e);
            }
            Some(Err(e)) => {
                tracing::debug!(%addr, error = %e, "undecodable message; closing");
                let info = ErrorInfo::new("FATAL".to_string(), "08P01".to_string(), e.to_string());
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                break;
            }
            None => break,
        };
        // Terminate: the client is leaving; closing here lets it finish.
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let is_extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        if let Err(mut e) = pgwire::tokio::server::process_message(
            message,
            &mut socket,
            startup.clone(),
            handlers.service.clone(),
            handlers.service.clone(),
            handlers.copy.clone(),
            handlers.cancel.clone(),
        )
        .await
        {
            handlers.errors.on_error(&socket, &mut e);
            pgwire::tokio::server::process_error(&mut socket, e, is_extended_query).await?;
        }
        if resume.take() {
            socket
                .set_transaction_status(pgwire::messages::response::TransactionStatus::Transaction);
        }
        // pg_stat_activity's state: idle, or idle in a (failed) transaction
        // block; told when it changes, not after every message.
        let status = socket.transaction_status();
        if status != reported && (lifted || authenticated.load(Ordering::Acquire)) {
            handlers
                .auth
                .backends()
                .transaction_status(socket.pid_and_secret_key().0, status);
            reported = status;
        }
        if !lifted && authenticated.load(Ordering::Acquire) {
            socket.get_mut().frames_mut().authenticated();
            lifted = true;
        }
    }
    Ok(())
}

/// Ends a connection whose bytes broke the protocol or its limits, saying why.
async fn refuse_violation<T>(
    socket: &mut Framed<T, pgwire::tokio::server::PgWireMessageServerCodec<Statement>>,
    violation: &laketap_wire::Violation,
) -> std::io::Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + Sync + 'static,
{
    tracing::info!(addr = %socket.socket_addr(), code = violation.sqlstate, message = %violation.message, "closed: protocol violation");
    let info = ErrorInfo::new(
        "FATAL".to_string(),
        violation.sqlstate.to_string(),
        violation.message.clone(),
    );
    let _ = socket
        .send(PgWireBackendMessage::ErrorResponse(info.into()))
        .await;
    let _ = socket.close().await;
    Ok(())
}
