//! The `laketap` binary: `serve`, `query`, `crawl`, `demo`.

mod config;
mod crawl;
mod demo_lake;
mod serve;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use datafusion::arrow::util::pretty::pretty_format_batches;
use laketap_engine::{Engine, EngineConfig};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(
    name = "laketap",
    version,
    about = "A PostgreSQL-compatible SQL server over the data lake"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the catalog's tables over the PostgreSQL protocol (and HTTP).
    Serve(serve::ServeArgs),
    /// Run one SQL statement in-process and print the result as a table.
    Query {
        /// The statement.
        sql: String,
        /// The catalog folder (default: ./catalog, or the built-in demo catalog).
        #[arg(long, env = "LAKETAP_CATALOG")]
        catalog: Option<PathBuf>,
        /// A folder of `*.sql` views that add to or override the built-in KPI views.
        #[arg(long, env = "LAKETAP_VIEWS")]
        views: Option<PathBuf>,
        /// The as-of instant T of the KPI views, `YYYY-MM-DD HH:MM:SS` UTC (default: the clock).
        #[arg(long, env = "LAKETAP_AS_OF")]
        as_of: Option<String>,
    },
    /// Find the tables under a folder or s3://bucket/prefix, infer their
    /// declarations, and print them, write them (--write DIR) or compare them
    /// with the catalog (--check: exit status 1 on drift, 2 on error).
    Crawl(crawl::CrawlArgs),
    /// Make a SCRAM-SHA-256 verifier for a user's password, to paste into
    /// laketap.toml (`scram = "…"`). The password is read from the first line
    /// of standard input (or from the variable --password-env names).
    Passwd {
        /// The user the verifier is for (only printed in the TOML snippet).
        #[arg(long, default_value = "analyst")]
        user: String,
        /// Read the password from this environment variable instead of stdin.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Generate the demo lake (the tables of KPI_SPEC.md).
    Demo {
        /// Where to write it; tables go to OUT/amp/<table>.
        #[arg(long, default_value = "lake")]
        out: PathBuf,
        /// Number of users.
        #[arg(long, default_value_t = 2_000)]
        users: u64,
        /// Days of events, ending now.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// Random seed: the same seed, sizes and --now give the same lake.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The instant the data ends at, `YYYY-MM-DD HH:MM:SS` UTC (default: now).
        #[arg(long)]
        now: Option<String>,
    },
}

/// The log filter when RUST_LOG is not set: laketap at info, the libraries
/// (whose info level logs every Delta log read) at warn.
const DEFAULT_LOG: &str = "warn,laketap=info,laketap_catalog=info,laketap_engine=info,laketap_server=info,laketap_demo=info";

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("laketap: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let outcome = match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Crawl(args) => {
                return match crawl::run(args).await {
                    Ok(crawl::Outcome::Clean) => ExitCode::SUCCESS,
                    Ok(crawl::Outcome::Drift) => ExitCode::from(1),
                    Err(message) => {
                        eprintln!("laketap: {message}");
                        ExitCode::from(2)
                    }
                };
            }
            Command::Query {
                sql,
                catalog,
                views,
                as_of,
            } => query(sql, catalog, views, as_of).await,
            Command::Passwd { user, password_env } => passwd(&user, password_env.as_deref()),
            Command::Demo {
                out,
                users,
                days,
                seed,
                now,
            } => demo(out, users, days, seed, now).await,
        };
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("laketap: {message}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `laketap passwd`: prints a `[[users]]` entry with the password's verifier.
fn passwd(user: &str, password_env: Option<&str>) -> Result<(), String> {
    use std::io::{BufRead, Write};
    let password = match password_env {
        Some(var) => std::env::var(var).map_err(|_| format!("{var} is not set"))?,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("password for {user} (it is echoed; pipe it in to avoid that): ");
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.is_empty() {
        return Err("the password is empty".to_string());
    }
    let verifier = laketap_server::scram::Verifier::generate(&password);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "[[users]]\nname = \"{user}\"\nscram = \"{verifier}\"\nroles = []"
    )
    .map_err(|e| format!("cannot write to stdout: {e}"))?;
    Ok(())
}

/// The catalog given, or the default one (creating the demo lake if needed).
async fn catalog_or_default(catalog: Option<PathBuf>) -> Result<PathBuf, String> {
    match catalog {
        Some(dir) => Ok(dir),
        None => {
            let dir = demo_lake::default_catalog()?;
            demo_lake::ensure(&dir).await?;
            Ok(dir)
        }
    }
}

/// Parses `--as-of`.
pub fn parse_as_of(value: Option<&str>) -> Result<Option<chrono::NaiveDateTime>, String> {
    match value {
        None => Ok(None),
        Some(v) => {
            laketap_engine::asof::parse_as_of(v).map_err(|e| format!("--as-of: {}", e.message()))
        }
    }
}

async fn query(
    sql: String,
    catalog: Option<PathBuf>,
    views: Option<PathBuf>,
    as_of: Option<String>,
) -> Result<(), String> {
    let mut config = EngineConfig::new(catalog_or_default(catalog).await?);
    config.views_dir = views;
    config.as_of = parse_as_of(as_of.as_deref())?;
    // One statement: no need to follow new Delta commits.
    config.refresh_interval = None;
    let engine = Engine::start(&config).await.map_err(|e| e.to_string())?;
    for problem in engine.lake().problems() {
        eprintln!("warning: {}", problem.message);
    }
    // An error about a data file also names the table that holds it.
    let described = |e: datafusion::error::DataFusionError| {
        let message = e.message().to_string();
        match engine.lake().table_holding(&message) {
            Some(table) => format!("table {table}: {message}"),
            None => message,
        }
    };
    let batches = engine
        .context()
        .sql(&sql)
        .await
        .map_err(described)?
        .collect()
        .await
        .map_err(described)?;
    let table = pretty_format_batches(&batches).map_err(|e| e.to_string())?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    println!("{table}");
    println!("({rows} row{})", if rows == 1 { "" } else { "s" });
    Ok(())
}

async fn demo(
    out: PathBuf,
    users: u64,
    days: u32,
    seed: u64,
    now: Option<String>,
) -> Result<(), String> {
    let mut options = laketap_demo::DemoOptions::new(out.clone());
    options.users = users;
    options.days = days;
    options.seed = seed;
    if let Some(now) = now {
        options.now = chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%d %H:%M:%S")
            .map_err(|e| format!("--now `{now}`: {e}; write it as YYYY-MM-DD HH:MM:SS"))?;
    }
    let progress = laketap_demo::IndicatifProgress::new();
    let summary = laketap_demo::generate(&options, &progress)
        .await
        .map_err(|e| e.to_string())?;
    for (table, rows) in &summary.tables {
        println!("{table:<20} {rows:>12} rows");
    }
    println!("demo lake written to {}", out.display());
    Ok(())
}
