//! [`World`]: everything decided before the day-by-day walk, built once from the options.

use chrono::NaiveDateTime;

use crate::model::{self, Creator, OnAir, Period, Show, User};
use crate::promo::{self, Plan, Promotion};
use crate::rng::{Cdf, HOUR_WEIGHTS};

/// Show ids that `amp.shows` does not know (deleted shows) start here.
pub(crate) const UNKNOWN_SHOW_BASE: i64 = 1_000_000_000;

/// Microseconds since the epoch of a UTC wall-clock instant.
pub(crate) fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

#[derive(Debug)]
pub(crate) struct World {
    pub seed: u64,
    pub period: Period,
    pub users: Vec<User>,
    pub creators: Vec<Creator>,
    pub shows: Vec<Show>,
    pub promotions: Vec<Promotion>,
    pub plan: Plan,
    pub on_air: OnAir,
    /// All shows by popularity: replays and recommendations.
    pub show_cdf: Cdf,
    /// All creators by popularity: follows outside a session.
    pub creator_cdf: Cdf,
    /// Session start hours (UTC).
    pub hours: Cdf,
    /// How many unknown show ids exist.
    pub unknown_shows: i64,
}

impl World {
    pub(crate) fn build(seed: u64, now: NaiveDateTime, users: u64, days: u32) -> Self {
        let period = Period::new(micros(now), days);
        let n_users = users as usize;
        let users = model::users(seed, &period, users);
        let creators = model::creators(seed, &period, (n_users / 20).max(20));
        let shows = model::shows(seed, &period, (n_users / 4).max(50), &creators);
        let promotions = promo::promotions(seed, &period, &shows);
        let unknown_shows = (shows.len() as i64 / 100).max(3);
        let unknown = (UNKNOWN_SHOW_BASE, unknown_shows);
        let plan = promo::plan(seed, &period, &users, &shows, &promotions, unknown);
        let on_air = OnAir::new(&period, &shows);
        let show_cdf = Cdf::new(shows.iter().map(|s| s.weight));
        let creator_cdf = Cdf::new(creators.iter().map(|c| c.weight));
        Self {
            seed,
            period,
            users,
            creators,
            shows,
            promotions,
            plan,
            on_air,
            show_cdf,
            creator_cdf,
            hours: Cdf::new(HOUR_WEIGHTS),
            unknown_shows,
        }
    }

    /// The `creator_id` of a show index.
    pub(crate) fn creator_id(&self, show: usize) -> i64 {
        self.creators[self.shows[show].creator].id
    }
}
