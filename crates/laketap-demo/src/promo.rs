//! Promotions and the events planned ahead of the day-by-day walk: promotion impressions and
//! clicks, the listening sessions they convert into, and the audience of the shows on air at
//! `now`.
//!
//! These cross days (an impression on Monday converts on Thursday), so they are decided once,
//! up front, and filed by UTC date; the day generator then emits them with the day.

use rand::Rng;

use crate::model::{Period, Show, Tier, User};
use crate::rng::{Cdf, DAY, Domain, HOUR, MIN, SEC, date_of, log_normal, rng_for, uniform_time};

/// Number of promotions in the demo lake.
pub(crate) const PROMOTIONS: usize = 10;

const CHANNELS: [(&str, &str, f64, f64); 5] = [
    // channel, name prefix, weight, click-through rate
    ("push", "Push alert", 0.30, 0.08),
    ("email", "Email blast", 0.25, 0.04),
    ("banner", "Home banner", 0.25, 0.015),
    ("in_app", "In-app card", 0.10, 0.05),
    ("social", "Social ad", 0.10, 0.03),
];

#[derive(Debug, Clone)]
pub(crate) struct Promotion {
    pub id: i64,
    pub name: String,
    pub channel: &'static str,
    /// Index of the target show in `World::shows`.
    pub target: usize,
    pub start_at: i64,
    pub end_at: i64,
}

/// One row of `amp.promotion_events`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PromoEvent {
    pub user_id: i64,
    pub promotion_id: i64,
    pub time: i64,
    pub click: bool,
    /// Position among this user's events of this promotion (makes `event_id` unique).
    pub seq: u32,
}

/// The show a session is for: one of `World::shows` (by index), or a show id that
/// `amp.shows` does not know (a deleted show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Known(usize),
    Unknown(i64),
}

/// A listening session decided ahead of time (a conversion, an audience member at `now`, a
/// listener of a deleted show).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlannedSession {
    /// Index into `World::users`.
    pub user: usize,
    pub show: Target,
    pub start: i64,
    pub end: i64,
}

/// What the day walk must add, per date of the period (index 0 = the first date).
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub promo_events: Vec<Vec<PromoEvent>>,
    pub sessions: Vec<Vec<PlannedSession>>,
}

impl Plan {
    fn new(period: &Period) -> Self {
        Self {
            promo_events: vec![Vec::new(); period.n_dates()],
            sessions: vec![Vec::new(); period.n_dates()],
        }
    }

    fn date_index(period: &Period, t: i64) -> Option<usize> {
        (period.start..=period.now)
            .contains(&t)
            .then(|| (date_of(t) - period.first_date) as usize)
    }

    fn add_event(&mut self, period: &Period, e: PromoEvent) {
        if let Some(i) = Self::date_index(period, e.time) {
            self.promo_events[i].push(e);
        }
    }

    fn add_session(&mut self, period: &Period, s: PlannedSession) {
        if let Some(i) = Self::date_index(period, s.start) {
            self.sessions[i].push(s);
        }
    }
}

fn session_end(rng: &mut impl Rng, show: &Show, start: i64) -> i64 {
    let len = (log_normal(rng, 12.0, 0.8).clamp(1.0, 180.0) * MIN as f64) as i64;
    if show.start <= start && start < show.end {
        (start + len).min(show.end)
    } else {
        start + len
    }
}

pub(crate) fn promotions(seed: u64, period: &Period, shows: &[Show]) -> Vec<Promotion> {
    let mut rng = rng_for(seed, Domain::Promotion, 0, 0);
    let candidates: Vec<usize> = (0..shows.len())
        .filter(|&i| (period.start + DAY..period.now + 2 * DAY).contains(&shows[i].start))
        .collect();
    let pool: Vec<usize> = if candidates.is_empty() {
        (0..shows.len()).collect()
    } else {
        candidates
    };
    let cdf = Cdf::new(pool.iter().map(|&i| shows[i].weight.sqrt()));
    let channels = Cdf::new(CHANNELS.iter().map(|c| c.2));
    (0..PROMOTIONS)
        .map(|i| {
            let target = pool[cdf.sample(&mut rng).unwrap_or(0)];
            let show = &shows[target];
            let (channel, prefix, _, _) = CHANNELS[channels.sample(&mut rng).unwrap_or(0)];
            let start_at = (show.start - rng.random_range(12..=96) * HOUR).div_euclid(HOUR) * HOUR;
            let end_at = (show.end + rng.random_range(0..=72) * HOUR).div_euclid(HOUR) * HOUR;
            Promotion {
                id: i as i64 + 1,
                name: format!("{prefix}: {}", show.title),
                channel,
                target,
                start_at,
                end_at,
            }
        })
        .collect()
}

fn click_rate(channel: &str) -> f64 {
    CHANNELS
        .iter()
        .find(|c| c.0 == channel)
        .map_or(0.03, |c| c.3)
}

/// Impressions, clicks and conversions of every promotion.
fn plan_promotions(
    seed: u64,
    period: &Period,
    users: &[User],
    shows: &[Show],
    promos: &[Promotion],
    plan: &mut Plan,
) {
    for p in promos {
        let lo = p.start_at.max(period.start);
        let hi = p.end_at.min(period.now);
        if lo >= hi {
            continue;
        }
        let mut rng = rng_for(seed, Domain::Promotion, p.id as u64, 0);
        let reach = rng.random_range(0.05..0.25);
        let ctr = click_rate(p.channel);
        let show = &shows[p.target];
        for (ui, u) in users.iter().enumerate() {
            if u.tier == Tier::Dormant || u.signup >= hi || !rng.random_bool(reach) {
                continue;
            }
            let mut rng = rng_for(seed, Domain::Promotion, p.id as u64, u.id as u64);
            let n = 1 + usize::from(rng.random_bool(0.5)) + usize::from(rng.random_bool(0.25));
            let mut times: Vec<i64> = (0..n)
                .map(|_| uniform_time(&mut rng, lo.max(u.signup), hi))
                .collect();
            times.sort_unstable();
            let mut seq = 0;
            let mut first_click = None;
            for &t in &times {
                plan.add_event(
                    period,
                    PromoEvent {
                        user_id: u.id,
                        promotion_id: p.id,
                        time: t,
                        click: false,
                        seq,
                    },
                );
                seq += 1;
                let p_click = ctr * rng.random_range(0.7..1.3);
                if rng.random_bool(p_click) {
                    let c = t + rng.random_range(2 * SEC..180 * SEC);
                    if c <= period.now {
                        plan.add_event(
                            period,
                            PromoEvent {
                                user_id: u.id,
                                promotion_id: p.id,
                                time: c,
                                click: true,
                                seq,
                            },
                        );
                        seq += 1;
                        first_click.get_or_insert(c);
                    }
                }
            }
            let first = times[0];
            let start = match first_click {
                Some(c) if rng.random_bool(0.35) => c + rng.random_range(0..45 * MIN),
                _ if rng.random_bool(0.04) => first + rng.random_range(0..7 * DAY),
                _ => continue,
            };
            // Nobody listens to a show before it airs: tune in while it is live instead.
            let start = if start < show.start {
                show.start + rng.random_range(0..(show.end - show.start))
            } else {
                start
            };
            if start > first + 7 * DAY || start > period.now {
                continue;
            }
            let end = session_end(&mut rng, show, start);
            plan.add_session(
                period,
                PlannedSession {
                    user: ui,
                    show: Target::Known(p.target),
                    start,
                    end,
                },
            );
        }
    }
}

/// Listeners of every show on air at `now`, tuned in during the last hour and still there.
fn plan_live_tail(seed: u64, period: &Period, users: &[User], shows: &[Show], plan: &mut Plan) {
    let now = period.now;
    let live: Vec<usize> = (0..shows.len())
        .filter(|&i| shows[i].start <= now && now < shows[i].end)
        .collect();
    let max_w = live.iter().map(|&i| shows[i].weight).fold(0.0, f64::max);
    let active: Vec<usize> = (0..users.len())
        .filter(|&i| users[i].tier != Tier::Dormant)
        .collect();
    if active.is_empty() || max_w <= 0.0 {
        return;
    }
    for &si in &live {
        let show = &shows[si];
        let mut rng = rng_for(seed, Domain::LiveTail, show.id as u64, 0);
        let listeners = 2 + crate::rng::poisson(&mut rng, 4.0 * show.weight / max_w);
        for _ in 0..listeners {
            let earliest = show.start.max(now - 60 * MIN).max(period.start);
            let start = uniform_time(&mut rng, earliest, now - 6 * MIN).max(earliest);
            for _ in 0..20 {
                let ui = active[rng.random_range(0..active.len())];
                if users[ui].signup < start {
                    plan.add_session(
                        period,
                        PlannedSession {
                            user: ui,
                            show: Target::Known(si),
                            start,
                            end: show.end,
                        },
                    );
                    break;
                }
            }
        }
    }
}

/// Every day, a few listeners of shows that `amp.shows` no longer knows (ids from
/// `unknown_base`), so that joins with the catalog meet missing keys at any lake size.
fn plan_orphans(
    seed: u64,
    period: &Period,
    users: &[User],
    unknown_base: i64,
    unknown: i64,
    plan: &mut Plan,
) {
    let active: Vec<usize> = (0..users.len())
        .filter(|&i| users[i].tier != Tier::Dormant)
        .collect();
    if active.is_empty() || unknown <= 0 {
        return;
    }
    for day in 0..period.n_dates() {
        let mut rng = rng_for(seed, Domain::Orphans, day as u64, 0);
        let lo = period.date_start(day).max(period.start);
        let hi = (period.date_start(day) + DAY).min(period.now);
        for _ in 0..1 + users.len() / 2_000 {
            let start = uniform_time(&mut rng, lo, hi);
            let ui = active[rng.random_range(0..active.len())];
            if users[ui].signup < start {
                let len = (log_normal(&mut rng, 10.0, 0.7).clamp(1.0, 120.0) * MIN as f64) as i64;
                let show = Target::Unknown(unknown_base + rng.random_range(0..unknown));
                plan.add_session(
                    period,
                    PlannedSession {
                        user: ui,
                        show,
                        start,
                        end: start + len,
                    },
                );
            }
        }
    }
}

pub(crate) fn plan(
    seed: u64,
    period: &Period,
    users: &[User],
    shows: &[Show],
    promos: &[Promotion],
    (unknown_base, unknown): (i64, i64),
) -> Plan {
    let mut plan = Plan::new(period);
    plan_promotions(seed, period, users, shows, promos, &mut plan);
    plan_live_tail(seed, period, users, shows, &mut plan);
    plan_orphans(seed, period, users, unknown_base, unknown, &mut plan);
    for day in &mut plan.sessions {
        day.sort_by_key(|s| (s.start, s.user));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    #[test]
    fn promotions_target_shows_and_plans_stay_in_the_period() {
        let period = Period::new(1_772_397_000 * SEC, 7);
        let users = model::users(3, &period, 500);
        let creators = model::creators(3, &period, 25);
        let shows = model::shows(3, &period, 125, &creators);
        let promos = promotions(3, &period, &shows);
        assert_eq!(promos.len(), PROMOTIONS);
        assert!(
            promos
                .iter()
                .all(|p| p.start_at < p.end_at && p.target < shows.len())
        );
        let plan = plan(3, &period, &users, &shows, &promos, (1_000_000, 3));
        let events: Vec<&PromoEvent> = plan.promo_events.iter().flatten().collect();
        let clicks = events.iter().filter(|e| e.click).count();
        assert!(events.len() > 100, "{}", events.len());
        assert!(
            clicks > 0 && clicks * 5 < events.len(),
            "{clicks} of {}",
            events.len()
        );
        for (i, day) in plan.promo_events.iter().enumerate() {
            for e in day {
                assert_eq!(date_of(e.time), period.first_date + i as i32);
                assert!(e.time >= period.start && e.time <= period.now);
            }
        }
        // The audience at `now`: at least two listeners per show on air.
        let last = plan.sessions.last().expect("dates");
        let live = shows
            .iter()
            .filter(|s| s.start <= period.now && period.now < s.end)
            .count();
        let tail = last
            .iter()
            .filter(|s| s.end > period.now && matches!(s.show, Target::Known(_)))
            .count();
        let orphans = plan
            .sessions
            .iter()
            .flatten()
            .filter(|s| matches!(s.show, Target::Unknown(_)))
            .count();
        assert!(orphans >= 1, "{orphans}");
        assert!(tail >= 2 * live, "{tail} listeners for {live} live shows");
    }
}
