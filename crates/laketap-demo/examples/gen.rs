//! Generates a demo lake and prints rows per table and the time it took.
//!
//! ```text
//! cargo run --release -p laketap-demo --example gen -- OUT_DIR [USERS] [DAYS] [SEED]
//! ```
//! `now` is fixed at 2026-03-01 20:30:00 so runs are comparable.

use std::path::PathBuf;
use std::time::Instant;

use laketap_demo::{DemoOptions, IndicatifProgress, generate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: gen OUT_DIR [USERS] [DAYS] [SEED]")?,
    );
    let mut opts = DemoOptions::new(out);
    if let Some(users) = args.next() {
        opts.users = users.parse()?;
    }
    if let Some(days) = args.next() {
        opts.days = days.parse()?;
    }
    if let Some(seed) = args.next() {
        opts.seed = seed.parse()?;
    }
    opts.now = chrono::NaiveDateTime::parse_from_str("2026-03-01 20:30:00", "%Y-%m-%d %H:%M:%S")?;
    let started = Instant::now();
    let summary = generate(&opts, &IndicatifProgress::new()).await?;
    let elapsed = started.elapsed();
    for (table, rows) in &summary.tables {
        println!("{table:>18} {rows:>12}");
    }
    let listen = summary.rows("listen_events").unwrap_or(0) as f64;
    let user_days = opts.users as f64 * f64::from(opts.days);
    println!(
        "users {} days {}: {:.1} listen events per user-day, {:.2} s",
        opts.users,
        opts.days,
        listen / user_days,
        elapsed.as_secs_f64()
    );
    Ok(())
}
