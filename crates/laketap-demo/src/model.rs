//! The simulated world: the period, users, creators, shows and which shows are on air when.
//!
//! Everything here is small (one entry per user, creator or show) and built once; the event
//! generator then walks it day by day.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::rng::{Cdf, DAY, Domain, HOUR, HOUR_WEIGHTS, MIN, date_of, rng_for, uniform_time};

/// The time span the lake covers: `(start, now]`, by UTC dates `first_date..=last_date`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    /// The anchor instant T0 (µs): no event is later.
    pub now: i64,
    /// `now - days` (µs): no event is earlier.
    pub start: i64,
    pub first_date: i32,
    pub last_date: i32,
}

impl Period {
    pub(crate) fn new(now: i64, days: u32) -> Self {
        let start = now - i64::from(days) * DAY;
        Self {
            now,
            start,
            first_date: date_of(start),
            last_date: date_of(now),
        }
    }

    /// Number of UTC dates touched by the period.
    pub(crate) fn n_dates(&self) -> usize {
        (self.last_date - self.first_date + 1) as usize
    }

    /// Midnight (µs) of the `i`-th date of the period.
    pub(crate) fn date_start(&self, i: usize) -> i64 {
        i64::from(self.first_date + i as i32) * DAY
    }

    /// How long before `start` the earliest users signed up.
    pub(crate) fn signup_lead(&self) -> i64 {
        ((self.now - self.start) * 2).max(28 * DAY)
    }
}

/// How much a user listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    /// Signed up, never came back: no events at all.
    Dormant,
    Light,
    Regular,
    Heavy,
}

impl Tier {
    /// Probability of being active on a given day, before the retention decay.
    pub(crate) fn p_active(self) -> f64 {
        match self {
            Tier::Dormant => 0.0,
            Tier::Light => 0.2,
            Tier::Regular => 0.55,
            Tier::Heavy => 0.9,
        }
    }

    /// Mean number of sessions on an active day beyond the first.
    pub(crate) fn extra_sessions(self) -> f64 {
        match self {
            Tier::Dormant => 0.0,
            Tier::Light => 0.1,
            Tier::Regular => 0.5,
            Tier::Heavy => 1.4,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: i64,
    pub signup: i64,
    pub tier: Tier,
    /// Multiplier of chat and other live interactions.
    pub chattiness: f64,
    pub country: Option<&'static str>,
    pub platform: &'static str,
    /// Index into [`crate::events::EXPERIMENTS`] variants, per experiment.
    pub variants: [u8; 2],
}

#[derive(Debug, Clone)]
pub(crate) struct Creator {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub joined: i64,
    pub weight: f64,
    pub genre: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Show {
    pub id: i64,
    pub creator: usize,
    pub title: String,
    pub genre: Option<&'static str>,
    pub start: i64,
    pub end: i64,
    pub weight: f64,
}

const COUNTRIES: [(&str, f64); 15] = [
    ("US", 30.0),
    ("GB", 8.0),
    ("IN", 8.0),
    ("DE", 7.0),
    ("BR", 7.0),
    ("FR", 5.0),
    ("CA", 5.0),
    ("MX", 4.0),
    ("JP", 4.0),
    ("AU", 3.0),
    ("ES", 3.0),
    ("NL", 2.0),
    ("SE", 2.0),
    ("NG", 2.0),
    ("KR", 2.0),
];
const PLATFORMS: [(&str, f64); 3] = [("ios", 0.45), ("android", 0.40), ("web", 0.15)];
const CREATOR_TYPES: [(&str, f64); 4] = [
    ("artist", 0.35),
    ("dj", 0.25),
    ("podcaster", 0.25),
    ("friend", 0.15),
];
const MUSIC_GENRES: [&str; 10] = [
    "pop",
    "hip-hop",
    "electronic",
    "rock",
    "r&b",
    "latin",
    "country",
    "jazz",
    "indie",
    "k-pop",
];
const TALK_GENRES: [&str; 5] = ["talk", "comedy", "news", "sports", "true crime"];
const FIRST: [&str; 20] = [
    "Luna", "Nova", "Echo", "Atlas", "Maya", "Kai", "Zoe", "Leo", "Iris", "Milo", "Sage", "Aria",
    "Jules", "Remy", "Nia", "Otis", "Ruby", "Theo", "Ivy", "Ezra",
];
const LAST: [&str; 15] = [
    "Rivers", "Stone", "Vega", "Park", "Bloom", "Frost", "Hart", "Lane", "Wilde", "Cruz", "Moon",
    "Reyes", "Fox", "Gray", "Knight",
];
const TITLE_ADJ: [&str; 10] = [
    "Late Night",
    "Morning",
    "Sunday",
    "Midnight",
    "Golden Hour",
    "After Hours",
    "Weekend",
    "Deep",
    "Rooftop",
    "Open Mic",
];
const TITLE_NOUN: [&str; 10] = [
    "Vibes", "Sessions", "Talk", "Mix", "Hangout", "Radio", "Lounge", "Q&A", "Jam", "Show",
];
const DURATIONS_MIN: [i64; 10] = [30, 45, 60, 60, 60, 90, 90, 120, 120, 180];

fn pick<T: Copy>(rng: &mut impl Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// Zipf weights `1 / rank^s` over `n` items, ranks shuffled so ids do not reveal popularity.
fn zipf_weights(rng: &mut impl Rng, n: usize, s: f64) -> Vec<f64> {
    let mut ranks: Vec<usize> = (1..=n).collect();
    ranks.shuffle(rng);
    ranks.into_iter().map(|r| (r as f64).powf(-s)).collect()
}

pub(crate) fn users(seed: u64, period: &Period, n: u64) -> Vec<User> {
    let mut rng = rng_for(seed, Domain::Signups, 0, 0);
    let lead = period.signup_lead();
    // The last signups are an hour before now, so every user can have existed a little.
    let mut signups: Vec<i64> = (0..n)
        .map(|_| {
            if rng.random_bool(0.65) {
                uniform_time(&mut rng, period.start - lead, period.start)
            } else {
                uniform_time(&mut rng, period.start, period.now - HOUR)
            }
        })
        .collect();
    signups.sort_unstable();
    signups
        .into_iter()
        .enumerate()
        .map(|(i, signup)| {
            let id = i as i64 + 1;
            let mut rng = rng_for(seed, Domain::User, id as u64, 0);
            let tier = pick(
                &mut rng,
                &[
                    (Tier::Dormant, 0.12),
                    (Tier::Light, 0.38),
                    (Tier::Regular, 0.35),
                    (Tier::Heavy, 0.15),
                ],
            );
            let country = if rng.random_bool(0.06) {
                None
            } else {
                Some(pick(&mut rng, &COUNTRIES))
            };
            User {
                id,
                signup,
                tier,
                chattiness: crate::rng::log_normal(&mut rng, 1.0, 0.8),
                country,
                platform: pick(&mut rng, &PLATFORMS),
                variants: [rng.random_range(0..2), rng.random_range(0..3)],
            }
        })
        .collect()
}

pub(crate) fn creators(seed: u64, period: &Period, n: usize) -> Vec<Creator> {
    let mut rng = rng_for(seed, Domain::Creator, 0, 0);
    let weights = zipf_weights(&mut rng, n, 1.0);
    weights
        .into_iter()
        .enumerate()
        .map(|(i, weight)| {
            let id = i as i64 + 1;
            let mut rng = rng_for(seed, Domain::Creator, id as u64, 1);
            let kind = pick(&mut rng, &CREATOR_TYPES);
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            let name = match kind {
                "dj" => format!("DJ {first} {last}"),
                "podcaster" => format!("{first} {last} Talks"),
                _ => format!("{first} {last}"),
            };
            let genre = if kind == "podcaster" || (kind == "friend" && rng.random_bool(0.5)) {
                TALK_GENRES[rng.random_range(0..TALK_GENRES.len())]
            } else {
                MUSIC_GENRES[rng.random_range(0..MUSIC_GENRES.len())]
            };
            Creator {
                id,
                name,
                kind,
                joined: uniform_time(&mut rng, period.start - 730 * DAY, period.start - 8 * DAY),
                weight,
                genre,
            }
        })
        .collect()
}

/// How many shows are forced on air at `now` (scheduled around it on purpose).
pub(crate) fn live_at_now_count(n_shows: usize) -> usize {
    (n_shows / 80).clamp(4, 10)
}

fn schedule(rng: &mut impl Rng, hours: &Cdf, period: &Period, i: usize, n: usize) -> (i64, i64) {
    let live_now = live_at_now_count(n);
    let quarter = 15 * MIN;
    let duration = DURATIONS_MIN[rng.random_range(0..DURATIONS_MIN.len())] * MIN;
    if i < live_now {
        // On air at `now`: started 10 to 100 minutes ago, ends at least 15 minutes from now.
        let start = (period.now - rng.random_range(10..=100) * MIN).div_euclid(5 * MIN) * 5 * MIN;
        let end = start + duration.max(period.now - start + rng.random_range(15..=60) * MIN);
        return (start, end.min(start + 180 * MIN).max(period.now + 5 * MIN));
    }
    let r = rng.random::<f64>();
    let start = if r < 0.08 {
        // Aired in the week before the period: available as replays.
        uniform_time(rng, period.start - 7 * DAY, period.start)
    } else if r < 0.16 {
        // Upcoming: scheduled within three days after now.
        uniform_time(rng, period.now, period.now + 3 * DAY)
    } else {
        let mut t = uniform_time(rng, period.start, period.now);
        for _ in 0..10 {
            let day = rng.random_range(0..period.n_dates());
            let hour = hours.sample(rng).unwrap_or(0) as i64;
            let c = period.date_start(day) + hour * HOUR + rng.random_range(0..60) * MIN;
            if c >= period.start && c < period.now {
                t = c;
                break;
            }
        }
        t
    };
    let start = start.div_euclid(quarter) * quarter;
    (start, start + duration)
}

pub(crate) fn shows(seed: u64, period: &Period, n: usize, creators: &[Creator]) -> Vec<Show> {
    let mut rng = rng_for(seed, Domain::ShowSchedule, 0, 0);
    let hours = Cdf::new(HOUR_WEIGHTS);
    let mut slots: Vec<(i64, i64)> = (0..n)
        .map(|i| schedule(&mut rng, &hours, period, i, n))
        .collect();
    slots.sort_unstable();
    let weights = zipf_weights(&mut rng, n, 0.9);
    let creator_cdf = Cdf::new(creators.iter().map(|c| c.weight.powf(0.8)));
    let mut episodes = vec![0u32; creators.len()];
    slots
        .into_iter()
        .zip(weights)
        .enumerate()
        .map(|(i, ((start, end), w))| {
            let id = i as i64 + 1;
            let mut rng = rng_for(seed, Domain::Show, id as u64, 0);
            let creator = creator_cdf.sample(&mut rng).unwrap_or(0);
            episodes[creator] += 1;
            let c = &creators[creator];
            let genre = if rng.random_bool(0.08) {
                None
            } else if rng.random_bool(0.7) {
                Some(c.genre)
            } else if TALK_GENRES.contains(&c.genre) {
                Some(TALK_GENRES[rng.random_range(0..TALK_GENRES.len())])
            } else {
                Some(MUSIC_GENRES[rng.random_range(0..MUSIC_GENRES.len())])
            };
            let title = format!(
                "{} {} #{}",
                TITLE_ADJ[rng.random_range(0..TITLE_ADJ.len())],
                TITLE_NOUN[rng.random_range(0..TITLE_NOUN.len())],
                episodes[creator]
            );
            Show {
                id,
                creator,
                title,
                genre,
                start,
                end,
                weight: w * c.weight.sqrt(),
            }
        })
        .collect()
}

/// Which shows are on air at an instant, by 15-minute buckets over the period.
#[derive(Debug, Default)]
pub(crate) struct OnAir {
    origin: i64,
    buckets: Vec<(Vec<u32>, Cdf)>,
}

const BUCKET: i64 = 15 * MIN;

impl OnAir {
    pub(crate) fn new(period: &Period, shows: &[Show]) -> Self {
        let n = ((period.now - period.start) / BUCKET + 1) as usize;
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (i, s) in shows.iter().enumerate() {
            let (lo, hi) = (s.start.max(period.start), s.end.min(period.now + 1));
            if lo >= hi {
                continue;
            }
            let first = ((lo - period.start) / BUCKET) as usize;
            let last = (((hi - 1 - period.start) / BUCKET) as usize).min(n - 1);
            for m in &mut members[first..=last] {
                m.push(i as u32);
            }
        }
        let buckets = members
            .into_iter()
            .map(|m| {
                let cdf = Cdf::new(m.iter().map(|&i| shows[i as usize].weight));
                (m, cdf)
            })
            .collect();
        Self {
            origin: period.start,
            buckets,
        }
    }

    /// A show on air at `t`, drawn by popularity; `None` when nothing airs then.
    pub(crate) fn pick(&self, rng: &mut impl Rng, shows: &[Show], t: i64) -> Option<usize> {
        if t < self.origin {
            return None;
        }
        let (members, cdf) = self.buckets.get(((t - self.origin) / BUCKET) as usize)?;
        for _ in 0..4 {
            let i = members[cdf.sample(rng)?] as usize;
            if shows[i].start <= t && t < shows[i].end {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period() -> Period {
        // 2026-03-01 20:30:00 UTC
        Period::new(1_772_397_000 * 1_000_000, 14)
    }

    #[test]
    fn period_dates() {
        let p = period();
        assert_eq!(p.n_dates(), 15);
        assert_eq!(p.date_start(0), i64::from(p.first_date) * DAY);
        assert_eq!(p.signup_lead(), 28 * DAY);
    }

    #[test]
    fn users_sign_up_before_and_during_the_period() {
        let p = period();
        let us = users(7, &p, 1_000);
        assert_eq!(us.len(), 1_000);
        assert!(
            us.windows(2)
                .all(|w| w[0].signup <= w[1].signup && w[0].id + 1 == w[1].id)
        );
        let before = us.iter().filter(|u| u.signup < p.start).count();
        assert!((550..750).contains(&before), "{before}");
        assert!(us.iter().all(|u| u.signup < p.now));
        let no_country = us.iter().filter(|u| u.country.is_none()).count();
        assert!((20..110).contains(&no_country), "{no_country}");
        let dormant = us.iter().filter(|u| u.tier == Tier::Dormant).count();
        assert!(dormant > 50, "{dormant}");
    }

    #[test]
    fn shows_have_forced_live_ones_and_sorted_ids() {
        let p = period();
        let cs = creators(7, &p, 30);
        let ss = shows(7, &p, 200, &cs);
        assert!(ss.windows(2).all(|w| w[0].start <= w[1].start));
        let live = ss
            .iter()
            .filter(|s| s.start <= p.now && p.now < s.end)
            .count();
        assert!(live >= live_at_now_count(200), "{live}");
        for s in &ss {
            let minutes = (s.end - s.start) / MIN;
            assert!((30..=180).contains(&minutes), "{minutes}");
        }
        let on_air = OnAir::new(&p, &ss);
        let mut rng = rng_for(1, Domain::Show, 0, 0);
        let i = on_air
            .pick(&mut rng, &ss, p.now - MIN)
            .expect("a show on air");
        assert!(ss[i].start <= p.now - MIN && p.now - MIN < ss[i].end);
        assert!(on_air.pick(&mut rng, &ss, p.start - DAY).is_none());
    }
}
