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
    let directory = file.directory()?;
    if directory.is_trust() {
        for (what, addr) in [("--listen", listen), ("--http", http)] {
            if !addr.ip().is_loopback() {
                return Err(format!(
                    "{what} {addr} is not a loopback address: with no users configured laketap lets \
                     `laketap` in without a password, which is only safe on 127.0.0.1/::1. Bind a \
                     loopback address, or configure [[users]] and [roles] in laketap.toml \
                     (`laketap passwd` makes a password verifier)"
                ));
            }
        }
    }
    let (tls, require_tls) = match &file.tls {
        Some(section) => (
            Some(laketap_server::tls::acceptor(&section.cert, &section.key)?),
            section.require_tls,
        ),
        None => (None, false),
    };
    let trust = directory.is_trust();
    let users = directory.len();
    let auth = Arc::new(laketap_server::Auth::new(
        directory,
        laketap_engine::DATABASE,
        require_tls,
    ));
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
    let server_memory_mb = file
        .memory_limit_mb
        .unwrap_or_else(|| system_memory_mb().map_or(4096, |total| total / 2));
    engine_config.memory_limit = Some(server_memory_mb.max(64) * 1024 * 1024);
    let query_memory_mb = file
        .query_memory_limit_mb
        .unwrap_or(server_memory_mb / 4)
        .clamp(16, server_memory_mb.max(16));
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
    let mut wire = laketap_wire::Limits::default();
    if let Some(mb) = file.max_message_mb {
        wire.max_message_bytes = mb.max(1) * 1024 * 1024;
    }
    if let Some(mb) = file.max_query_mb {
        wire.max_query_bytes = mb.max(1) * 1024 * 1024;
    }
    if let Some(n) = file.max_parameters {
        wire.max_parameters = n;
    }
    let mut pg_config = PgConfig {
        ingest: ingest.clone(),
        auth: auth.clone(),
        tls,
        wire,
        auth_timeout: Duration::from_millis(file.auth.timeout_ms.unwrap_or(60_000).max(100)),
        session: laketap_server::SessionLimits {
            query_memory: Some(query_memory_mb * 1024 * 1024),
            statement_timeout_ms: file.statement_timeout_ms.unwrap_or(0),
        },
        ..PgConfig::default()
    };
    if let Some(n) = args.max_connections.or(file.max_connections) {
        pg_config.max_connections = n;
    }
    let pg_config_tls = pg_config.tls.is_some();
    let server = PgServer::new(&engine, pg_config)
        .await
        .map_err(|e| e.to_string())?;

    let pg_listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let http_listener = TcpListener::bind(http)
        .await
        .map_err(|e| format!("cannot listen on {http}: {e}"))?;
    let postgres_addr = pg_listener.local_addr().map_err(|e| e.to_string())?;
    let http_addr = http_listener.local_addr().map_err(|e| e.to_string())?;
    if trust {
        tracing::info!(
            postgres = %postgres_addr,
            http = %http_addr,
            catalog = %catalog.display(),
            tls = require_tls,
            "laketap is serving; no users are configured, so user `laketap` connects without a password \
             (admin, loopback only): psql -h {} -p {} -U laketap",
            listen.ip(),
            listen.port()
        );
    } else {
        tracing::info!(
            postgres = %postgres_addr,
            http = %http_addr,
            catalog = %catalog.display(),
            users,
            tls = pg_config_tls,
            require_tls,
            memory_limit_mb = server_memory_mb,
            query_memory_limit_mb = query_memory_mb,
            "laketap is serving"
        );
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let http_task = {
        let mut stop = stop_rx.clone();
        let router = laketap_server::http::router(engine.clone(), ingest.clone(), auth.clone());
        tokio::spawn(async move {
            axum::serve(http_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let reloader = args
        .config
        .clone()
        .map(|path| tokio::spawn(reload_users(path, auth.clone(), stop_rx.clone())));
    let mut stop = stop_rx;
    server
        .serve(pg_listener, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| e.to_string())?;
    signals.abort();
    if let Some(reloader) = reloader {
        reloader.abort();
    }
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

/// Half of the machine's memory, in MiB, from /proc/meminfo (Linux).
fn system_memory_mb() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Re-reads the users and roles of `path` when it changes (checked every
/// second, and at once on SIGHUP): new connections and the next statement of
/// open sessions use them. A file that does not load keeps the users in force.
async fn reload_users(
    path: PathBuf,
    auth: Arc<laketap_server::Auth>,
    mut stop: watch::Receiver<bool>,
) {
    let stamp = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut seen = stamp(&path);
    let mut seen_text = std::fs::read_to_string(&path).ok();
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hup = async {
            match hangup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hup = std::future::pending::<()>();
        let forced = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => false,
            () = hup => true,
        };
        let now = stamp(&path);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        let text = std::fs::read_to_string(&path).ok();
        if !forced && text == seen_text {
            continue;
        }
        seen_text = text;
        match FileConfig::load(&path).and_then(|c| c.directory()) {
            Ok(directory) => {
                if directory.is_trust() != auth.current().is_trust() {
                    tracing::warn!(
                        config = %path.display(),
                        "switching between no users and users needs a restart (the listen addresses were checked for it); users not reloaded"
                    );
                    continue;
                }
                auth.replace(directory);
            }
            Err(e) => {
                tracing::error!(config = %path.display(), error = %e, "users and roles not reloaded; the previous ones stay in force");
            }
        }
    }
}
