//! `laketap serve`: the Postgres front end and the HTTP endpoint over the
//! catalog, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use laketap_engine::{Engine, EngineConfig};
use laketap_server::{PgConfig, PgServer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::FileConfig;

/// Flags of `laketap serve`; each overrides the config file.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Server config file (laketap.toml).
    #[arg(long, env = "LAKETAP_CONFIG")]
    config: Option<PathBuf>,
    /// The catalog folder (default: ./catalog, or the built-in demo catalog).
    #[arg(long, env = "LAKETAP_CATALOG")]
    catalog: Option<PathBuf>,
    /// PostgreSQL listen address [default: 127.0.0.1:5433].
    #[arg(long, env = "LAKETAP_LISTEN")]
    listen: Option<SocketAddr>,
    /// HTTP listen address (/health) [default: 127.0.0.1:5480].
    #[arg(long, env = "LAKETAP_HTTP")]
    http: Option<SocketAddr>,
    /// Connections served at once [default: 100].
    #[arg(long, env = "LAKETAP_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// A folder of `*.sql` views that add to or override the built-in KPI views.
    #[arg(long, env = "LAKETAP_VIEWS")]
    views: Option<PathBuf>,
    /// The default as-of instant T of every session, `YYYY-MM-DD HH:MM:SS` UTC
    /// (default: the clock; sessions change it with SET laketap.as_of).
    #[arg(long, env = "LAKETAP_AS_OF")]
    as_of: Option<String>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:5433";
const DEFAULT_HTTP: &str = "127.0.0.1:5480";

fn parse_default(addr: &str) -> Result<SocketAddr, String> {
    addr.parse()
        .map_err(|e| format!("default address {addr}: {e}"))
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => parse_default(DEFAULT_LISTEN)?,
    };
    let http = match args.http.or(file.http) {
        Some(addr) => addr,
        None => parse_default(DEFAULT_HTTP)?,
    };
    for (what, addr) in [("--listen", listen), ("--http", http)] {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{what} {addr} is not a loopback address: with no users configured laketap lets \
                 `laketap` in without a password, which is only safe on 127.0.0.1/::1. Bind a \
                 loopback address (user and password configuration is not available in this version)"
            ));
        }
    }
    let catalog = crate::catalog_or_default(args.catalog.or(file.catalog)).await?;
    let mut engine_config = EngineConfig::new(&catalog);
    if let Some(ms) = file.refresh_interval_ms {
        engine_config.refresh_interval = Some(Duration::from_millis(ms.max(10)));
    }
    if let Some(ms) = file.catalog_poll_ms {
        let tick = engine_config
            .refresh_interval
            .map_or(500, |d| d.as_millis().max(1) as u64);
        engine_config.catalog_poll_every =
            u32::try_from(ms.div_ceil(tick).max(1)).unwrap_or(u32::MAX);
    }
    engine_config.storage = file.storage.clone();
    engine_config.metadata_cache = file.metadata_cache.unwrap_or(true);
    engine_config.memory_limit = file.memory_limit_mb.map(|mb| mb * 1024 * 1024);
    engine_config.views_dir = args.views.or(file.views);
    engine_config.as_of = crate::parse_as_of(args.as_of.as_deref().or(file.as_of.as_deref()))?;
    let engine = Arc::new(
        Engine::start(&engine_config)
            .await
            .map_err(|e| e.to_string())?,
    );
    let ingest = if file.ingest.enabled.unwrap_or(true) {
        let ingest = laketap_ingest::Ingest::start(
            engine.context().clone(),
            engine.lake().clone(),
            file.ingest.settings(),
        )
        .await
        .map_err(|e| format!("starting ingest: {e}"))?;
        let _ = engine
            .lake()
            .writes()
            .set(Arc::new(laketap_ingest::sink::IngestInserts::new(&ingest)));
        Some(ingest)
    } else {
        None
    };
    let mut pg_config = PgConfig {
        ingest: ingest.clone(),
        ..PgConfig::default()
    };
    if let Some(n) = args.max_connections.or(file.max_connections) {
        pg_config.max_connections = n;
    }
    let server = PgServer::new(&engine, pg_config)
        .await
        .map_err(|e| e.to_string())?;

    let pg_listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let http_listener = TcpListener::bind(http)
        .await
        .map_err(|e| format!("cannot listen on {http}: {e}"))?;
    tracing::info!(
        postgres = %pg_listener.local_addr().map_err(|e| e.to_string())?,
        http = %http_listener.local_addr().map_err(|e| e.to_string())?,
        catalog = %catalog.display(),
        "laketap is serving; no users are configured, so user `laketap` connects without a password \
         (admin, loopback only): psql -h {} -p {} -U laketap",
        listen.ip(),
        listen.port()
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let http_task = {
        let mut stop = stop_rx.clone();
        let router = laketap_server::http::router(engine.clone(), ingest.clone());
        tokio::spawn(async move {
            axum::serve(http_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let mut stop = stop_rx;
    server
        .serve(pg_listener, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| e.to_string())?;
    signals.abort();
    match http_task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP endpoint ended with an error"),
        Err(e) => tracing::warn!(error = %e, "HTTP endpoint task failed"),
    }
    if let Some(ingest) = &ingest {
        ingest.stop().await;
    }
    engine.stop().await;
    tracing::info!("laketap stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on SIGINT only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("signal received: shutting down");
}
