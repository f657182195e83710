//! Times every KPI view through the wire: `SELECT * FROM kpi.<view>` read to
//! the end by a real client, one warm-up then `RUNS` timed runs, and prints a
//! Markdown table (median, min, max, rows). Used by `bench/kpi_views.sh`.
//!
//! `cargo run --release -p laketap --example kpi_bench -- PORT AS_OF [RUNS] [VIEW,VIEW,...]`

use std::time::Instant;

use futures::TryStreamExt;
use tokio_postgres::{NoTls, SimpleQueryMessage};

const VIEWS: &[&str] = &[
    "engagement_daily",
    "show_daily",
    "trending_shows",
    "live_now",
    "daily_flash_report",
    "creator_daily",
    "promotion_effectiveness",
    "experiment_results",
    "retention_weekly",
    "user_profile",
];

async fn read_all(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<u64, tokio_postgres::Error> {
    let stream = client.simple_query_raw(sql).await?;
    futures::pin_mut!(stream);
    let mut rows = 0;
    while let Some(message) = stream.try_next().await? {
        if let SimpleQueryMessage::Row(_) = message {
            rows += 1;
        }
    }
    Ok(rows)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().ok_or("usage: kpi_bench PORT AS_OF [RUNS]")?;
    let as_of = args.next().ok_or("usage: kpi_bench PORT AS_OF [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    let only: Option<Vec<String>> = args
        .next()
        .map(|list| list.split(',').map(str::to_string).collect());
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=laketap dbname=laketap"),
        NoTls,
    )
    .await?;
    tokio::spawn(connection);
    client
        .simple_query(&format!("SET laketap.as_of = '{as_of}'"))
        .await?;
    println!("| view | rows | median ms | min ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for view in VIEWS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|v| v == view)) {
            continue;
        }
        let sql = format!("SELECT * FROM kpi.{view}");
        let rows = read_all(&client, &sql).await?; // warm-up
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let n = read_all(&client, &sql).await?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(n, rows, "{view}: row count changed between runs");
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {view} | {rows} | {:.0} | {:.0} | {:.0} |",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
    if only.is_some() {
        return Ok(());
    }
    // A point read of the serving view, as a ranking model issues it.
    let start = Instant::now();
    let point_runs = 20;
    for user in 1..=point_runs {
        client
            .query(
                "SELECT * FROM kpi.user_profile WHERE user_id = $1",
                &[&(user as i64)],
            )
            .await?;
    }
    println!(
        "\npoint read `kpi.user_profile WHERE user_id = $1`: {:.0} ms mean over {point_runs}",
        start.elapsed().as_secs_f64() * 1000.0 / point_runs as f64
    );
    Ok(())
}
