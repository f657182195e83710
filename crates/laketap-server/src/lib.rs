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
//! - [`compat`]: SQL rewrites and pg_catalog columns for client compatibility.
//! - [`describe`]: `obj_description` / `col_description` from catalog descriptions.
//! - [`settings`]: `SET`/`SHOW`/`RESET` of `laketap.*` per connection.
//! - [`http`]: the HTTP router (`/health`, `/v1/ingest/{schema}/{table}`).
//! - [`copy`]: `COPY … FROM STDIN` into Delta tables.
//! - [`transactions`]: writes held by a transaction block until COMMIT.

pub mod compat;
pub mod copy;
pub mod describe;
pub mod handlers;
pub mod http;
pub mod savepoints;
pub mod settings;
pub mod sqlstate;
pub mod transactions;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use laketap_engine::{DATABASE, Engine};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

pub use handlers::{LaketapHandlers, SERVER_VERSION, TrustPolicy};

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
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Connections served at once; more are refused with 53300.
    pub max_connections: usize,
    /// Who may connect (the no-users default).
    pub trust: TrustPolicy,
    /// How long shutdown waits for open connections to finish.
    pub shutdown_grace: Duration,
    /// Where INSERT and COPY FROM STDIN write (None: no writes).
    pub ingest: Option<Arc<laketap_ingest::Ingest>>,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig {
            max_connections: 100,
            trust: TrustPolicy {
                user: "laketap".to_string(),
                database: DATABASE.to_string(),
            },
            shutdown_grace: Duration::from_secs(5),
            ingest: None,
        }
    }
}

/// The Postgres front end over an engine.
pub struct PgServer {
    handlers: Arc<LaketapHandlers>,
    config: PgConfig,
}

impl PgServer {
    /// Installs pg_catalog and the description functions in the engine's
    /// session and builds the handlers.
    pub async fn new(engine: &Engine, config: PgConfig) -> Result<PgServer> {
        let ctx = engine.context();
        setup_pg_catalog(ctx, DATABASE, EmptyContextProvider)
            .map_err(|e| Error::Setup(e.to_string()))?;
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
        let overlay = compat::PgCatalogOverlay::new(pg_catalog, &views)
            .await
            .map_err(|e| Error::Setup(e.to_string()))?;
        catalog
            .register_schema("pg_catalog", Arc::new(overlay))
            .map_err(|e| Error::Setup(e.to_string()))?;
        compat::register_functions(ctx);
        // After pg_catalog's functions: PostgreSQL's version(), current_setting().
        laketap_engine::pgsettings::register(ctx);
        let descriptions = Arc::new(describe::Descriptions::default());
        descriptions.register(ctx);
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
            Arc::new(copy::CopyHook::new(config.ingest.clone())),
            Arc::new(transactions::TransactionWrites::new(config.ingest.clone())),
            Arc::new(savepoints::SavepointHook),
            Arc::new(settings::LaketapSettingsHook),
            Arc::new(CursorStatementHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
        ];
        let handlers = Arc::new(LaketapHandlers::new(
            handlers::Sessions::new(ctx.clone(), hooks),
            engine.query_log().clone(),
            config.trust.clone(),
            Some(engine.lake().clone()),
            config.ingest.clone(),
        ));
        Ok(PgServer { handlers, config })
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
            tokio::spawn(async move {
                let _permit = permit;
                tracing::debug!(%addr, "connection opened");
                if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
                    tracing::debug!(%addr, error = %e, "connection ended with an error");
                }
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
