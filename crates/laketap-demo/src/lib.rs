//! Generates the demo lake of laketap: the `amp` tables of KPI_SPEC.md "The lake", with
//! realistic, deterministic shapes.
//!
//! ```text
//! <out>/amp/users/            Parquet   <out>/amp/listen_events/     Delta, by event_date
//! <out>/amp/creators/         Parquet   <out>/amp/interactions/      Delta, by event_date
//! <out>/amp/shows/            Parquet   <out>/amp/promotion_events/  Delta, by event_date
//! <out>/amp/promotions/       Parquet   <out>/amp/rec_impressions/   Delta, by event_date
//!                                       <out>/amp/rec_engagements/   Delta, by event_date
//! ```
//!
//! The same seed, `now` and sizes give the same rows (only Delta file names and commit
//! times differ): every random decision
//! comes from a ChaCha8 stream derived from the seed and what is being generated (a user, a
//! day, a show), never from the clock. The data covers `days` days ending at `now` (the
//! anchor instant T0; no event is later), and the streaming tables get one Delta commit per
//! UTC date, so they have several versions.
//!
//! Shapes: users sign up before and during the period (some never come back: no events at
//! all); listening follows a daily cycle peaking in the evening (UTC) and decays with the
//! user's age; shows and creators have Zipf-like popularity; several shows are on air at
//! `now` with listeners in the last minutes; a few listen events name show ids that
//! `amp.shows` does not know; two recommendation experiments (`home_ranker_v2`,
//! `search_boost`) whose treatments do slightly better than control; ten promotions whose
//! exposed users sometimes go on to listen to the promoted show.
//!
//! Size: the defaults (2 000 users, 14 days) produce about 10 listen events per user-day
//! (users × days): 271 000 listen events for seed 42 and `now` 2026-03-01 20:30, plus about 15 000 interactions, 3 300
//! promotion events, 70 000 recommendation impressions and 4 000 engagements. Rows grow
//! linearly with `users × days`: `--users 400000 --days 28` gives about 100 million (99.8 M) listen
//! events. Generation streams: rows are built in bounded chunks and written as they are
//! made, so memory does not grow with the number of days (what is kept is one small entry
//! per user, creator and show, and the promotion events planned ahead).
//!
//! # Layout
//! - [`error`]: the error type ([`Error`], [`Result`]).
//! - [`progress`]: the [`Progress`] trait, [`NoProgress`] and [`IndicatifProgress`].
//! - [`schema`]: table names and Arrow schemas of the `amp` tables.
//! - `rng`: derived random streams, time units, samplers.
//! - `model`: the period, users, creators, shows and the on-air index.
//! - `promo`: promotions and the events planned across days (conversions, the live audience).
//! - `world`: everything decided before the day walk.
//! - `events`: sessions, interactions and recommendations of one user-day.
//! - `rows`: Arrow column builders of the streaming tables.
//! - `batch`: the Parquet batch tables.
//! - `delta`: the Delta streaming tables.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDateTime, Timelike as _};
use tokio::sync::mpsc;

pub mod error;
pub mod progress;
pub mod schema;

mod batch;
mod delta;
mod events;
mod model;
mod promo;
mod rng;
mod rows;
mod world;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};
pub use progress::{IndicatifProgress, NoProgress, Progress};

use delta::DeltaSink;
use rows::{StreamBatches, StreamRows};
use schema::{BATCH_TABLES, STREAMING_TABLES};
use world::World;

/// What to generate and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// The lake root; tables go to `<out>/amp/<table>`.
    pub out: PathBuf,
    /// Number of users (creators are about users / 20, shows about users / 4). Each user-day
    /// yields about 10 listen events.
    pub users: u64,
    /// Days of events, ending at `now`.
    pub days: u32,
    /// Seed of every random decision.
    pub seed: u64,
    /// The anchor instant T0 (UTC): the last event time is at most `now`.
    pub now: NaiveDateTime,
}

impl DemoOptions {
    /// Defaults: 2 000 users, 14 days, seed 42, `now` = the current UTC time truncated to the
    /// minute.
    pub fn new(out: PathBuf) -> Self {
        let now = chrono::Utc::now().naive_utc();
        let now = now
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now);
        Self {
            out,
            users: 2_000,
            days: 14,
            seed: 42,
            now,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.users == 0 || self.users > 100_000_000 {
            return Err(Error::InvalidOptions(format!(
                "users must be between 1 and 100000000, not {}",
                self.users
            )));
        }
        if self.days == 0 || self.days > 3_660 {
            return Err(Error::InvalidOptions(format!(
                "days must be between 1 and 3660, not {}",
                self.days
            )));
        }
        Ok(())
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// `(table name, rows)`, batch tables first, in the order of [`schema::BATCH_TABLES`]
    /// and [`schema::STREAMING_TABLES`].
    pub tables: Vec<(String, u64)>,
}

impl DemoSummary {
    /// Rows of one table, if it was written.
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
    }
}

/// Generates the demo lake under `opts.out/amp`.
///
/// Refuses to touch an existing table directory ([`Error::AlreadyExists`]). Tables are
/// written to `opts.out/.amp.partial` first and moved into `amp/` when all are complete, so
/// an interrupted run never leaves a half-written lake where the server looks for it.
#[tracing::instrument(skip_all, fields(out = %opts.out.display(), users = opts.users, days = opts.days, seed = opts.seed))]
pub async fn generate(opts: &DemoOptions, progress: &dyn Progress) -> Result<DemoSummary> {
    opts.validate()?;
    let amp = opts.out.join("amp");
    for table in BATCH_TABLES.iter().chain(&STREAMING_TABLES) {
        let path = amp.join(table);
        if path.exists() {
            return Err(Error::AlreadyExists {
                table: (*table).to_owned(),
                path,
            });
        }
    }
    let staging = opts.out.join(".amp.partial");
    if staging.exists() {
        tracing::warn!(path = %staging.display(), "removing the leftovers of an interrupted run");
        std::fs::remove_dir_all(&staging)
            .map_err(|e| Error::io("removing an interrupted run", &staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| Error::io("creating directory", &staging, e))?;

    let started = std::time::Instant::now();
    let (seed, now, users, days) = (opts.seed, opts.now, opts.users, opts.days);
    let world = tokio::task::spawn_blocking(move || World::build(seed, now, users, days))
        .await
        .map_err(|e| Error::Generator(e.to_string()))?;
    let world = Arc::new(world);
    tracing::info!(
        users = world.users.len(),
        creators = world.creators.len(),
        shows = world.shows.len(),
        "planned the demo world"
    );

    let mut tables = batch::write_all(&world, &staging, progress)?;
    tables.extend(write_streaming(world, &staging, progress).await?);

    std::fs::create_dir_all(&amp).map_err(|e| Error::io("creating directory", &amp, e))?;
    for table in BATCH_TABLES.iter().chain(&STREAMING_TABLES) {
        let (from, to) = (staging.join(table), amp.join(table));
        std::fs::rename(&from, &to)
            .map_err(|e| Error::io("moving the table into place", &to, e))?;
    }
    std::fs::remove_dir_all(&staging).map_err(|e| Error::io("removing directory", &staging, e))?;
    tracing::info!(
        path = %amp.display(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo lake ready"
    );
    Ok(DemoSummary { tables })
}

/// What the generator thread sends to the writer.
enum Msg {
    /// Rows of some users of the current day; `users` of them are done.
    Rows {
        batches: Box<StreamBatches>,
        users: u64,
    },
    /// Every row of this date (days since the epoch) has been sent: commit.
    EndOfDay { date: i32 },
}

/// Rows buffered before they are handed to the writer.
const ROWS_PER_MESSAGE: usize = 128 * 1024;

/// Walks the days on a blocking thread; `tx` receives the rows in order.
fn walk_days(w: &World, tx: &mpsc::Sender<Result<Msg>>) -> Result<(), ()> {
    let send = |m: Result<Msg>| tx.blocking_send(m).map_err(|_| ());
    let mut rows = StreamRows::default();
    for day in 0..w.period.n_dates() {
        let mut users = 0;
        for u in 0..w.users.len() {
            events::user_day(w, day, u, &mut rows);
            users += 1;
            if rows.len() >= ROWS_PER_MESSAGE {
                send(rows.finish().map(|b| Msg::Rows {
                    batches: Box::new(b),
                    users,
                }))?;
                users = 0;
            }
        }
        events::planned(w, day, &mut rows);
        send(rows.finish().map(|b| Msg::Rows {
            batches: Box::new(b),
            users,
        }))?;
        send(Ok(Msg::EndOfDay {
            date: w.period.first_date + day as i32,
        }))?;
    }
    Ok(())
}

async fn write_streaming(
    world: Arc<World>,
    root: &std::path::Path,
    progress: &dyn Progress,
) -> Result<Vec<(String, u64)>> {
    let mut sinks = Vec::with_capacity(STREAMING_TABLES.len());
    for table in STREAMING_TABLES {
        sinks.push(DeltaSink::create(root, table).await?);
    }
    let total = world.period.n_dates() as u64 * world.users.len() as u64;
    progress.start("events", total);
    let (tx, mut rx) = mpsc::channel(4);
    let w = Arc::clone(&world);
    let walker = tokio::task::spawn_blocking(move || walk_days(&w, &tx));
    while let Some(msg) = rx.recv().await {
        match msg? {
            Msg::Rows { batches, users } => {
                for (sink, batch) in sinks.iter_mut().zip(*batches) {
                    if let Some(batch) = batch {
                        sink.write(batch).await?;
                    }
                }
                progress.inc(users);
            }
            Msg::EndOfDay { date } => {
                // 719 163 days from 0001-01-01 to 1970-01-01.
                let label = chrono::NaiveDate::from_num_days_from_ce_opt(date + 719_163)
                    .map_or_else(|| date.to_string(), |d| d.to_string());
                for sink in &mut sinks {
                    sink.commit(&format!("day {label}")).await?;
                }
            }
        }
    }
    walker
        .await
        .map_err(|e| Error::Generator(e.to_string()))?
        .map_err(|()| Error::Generator("the writer stopped early".into()))?;
    progress.finish();
    Ok(sinks
        .iter()
        .map(|s| {
            tracing::info!(table = s.name(), rows = s.rows(), version = ?s.version(), "wrote Delta table");
            (s.name().to_owned(), s.rows())
        })
        .collect())
}
