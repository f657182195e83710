//! The day walk: listening sessions and everything that happens around them.
//!
//! A session is a `start` event (0 seconds), a `heartbeat` about every 60 seconds carrying
//! the seconds listened since the previous event, and a `stop` with the remainder. Sessions
//! still running at `now` have no `stop`. Around a session the user may see recommendations
//! (and engage with them) and interact with the show (chat, likes, follows, …).

use std::fmt::{self, Write as _};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{Tier, User};
use crate::promo::{PlannedSession, Target};
use crate::rng::{DAY, Domain, HOUR, MIN, SEC, log_normal, poisson, rng_for, uniform_time};
use crate::rows::{Impression, StreamRows};
use crate::world::{UNKNOWN_SHOW_BASE, World};

/// A recommendation experiment: variants, model versions and how well each variant does.
pub(crate) struct Experiment {
    pub id: &'static str,
    pub variants: &'static [&'static str],
    pub models: &'static [&'static str],
    /// Number of slots shown (1..=slots).
    pub slots: i32,
    /// Click probability at slot 1 for control.
    pub ctr: f64,
    /// Click multiplier per variant (control = 1).
    pub lift: &'static [f64],
}

pub(crate) const EXPERIMENTS: [Experiment; 2] = [
    Experiment {
        id: "home_ranker_v2",
        variants: &["control", "treatment"],
        models: &["hr-v1.8", "hr-v2.0"],
        slots: 10,
        ctr: 0.05,
        lift: &[1.0, 1.2],
    },
    Experiment {
        id: "search_boost",
        variants: &["control", "treat_a", "treat_b"],
        models: &["sb-v3.2", "sb-v4-a", "sb-v4-b"],
        slots: 8,
        ctr: 0.12,
        lift: &[1.0, 1.15, 0.97],
    },
];

/// Whose events these are: a user's own day, or a session planned ahead.
#[derive(Debug, Clone, Copy)]
enum Owner {
    User(i64),
    Planned(usize),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::User(u) => write!(f, "{u}"),
            Owner::Planned(i) => write!(f, "p{i}"),
        }
    }
}

/// Per user-day counters that make every id unique: `<table prefix>-<date>-<owner>-<n>`.
struct Ids {
    date: i32,
    owner: Owner,
    listen: u32,
    session: u32,
    interaction: u32,
    impression: u32,
    engagement: u32,
}

impl Ids {
    fn new(date: i32, owner: Owner) -> Self {
        Self {
            date,
            owner,
            listen: 0,
            session: 0,
            interaction: 0,
            impression: 0,
            engagement: 0,
        }
    }
}

fn bump(n: &mut u32) -> u32 {
    *n += 1;
    *n
}

struct Walk<'a> {
    w: &'a World,
    rng: ChaCha8Rng,
    ids: Ids,
    user: &'a User,
    out: &'a mut StreamRows,
}

impl Walk<'_> {
    fn show_id(&self, t: Target) -> i64 {
        match t {
            Target::Known(i) => self.w.shows[i].id,
            Target::Unknown(id) => id,
        }
    }

    fn interaction(&mut self, time: i64, show: Option<i64>, creator: Option<i64>, kind: &str) {
        let Ids { date, owner, .. } = self.ids;
        let n = bump(&mut self.ids.interaction);
        let uid = self.user.id;
        let id = format_args!("ix-{date}-{owner}-{n}");
        self.out
            .interactions
            .push(id, time, uid, show, creator, kind);
    }

    /// One page of recommendations at `t`, and the engagements with it.
    fn recommendations(&mut self, exp: usize, t: i64) {
        let p = self.w.period;
        if t < p.start || t > p.now {
            return;
        }
        let e = &EXPERIMENTS[exp];
        let v = usize::from(self.user.variants[exp]) % e.variants.len();
        let late = t > p.start + (p.now - p.start) / 2;
        let model = if exp == 0 && v == 1 && late {
            "hr-v2.1"
        } else {
            e.models[v]
        };
        let Ids { date, owner, .. } = self.ids;
        let mut imp_id = String::new();
        for slot in 1..=e.slots {
            let Some(show) = self.w.show_cdf.sample(&mut self.rng) else {
                return;
            };
            let n = bump(&mut self.ids.impression);
            imp_id.clear();
            let _ = write!(imp_id, "ri-{date}-{owner}-{n}");
            let time = t + i64::from(slot) * 1_000;
            let imp = Impression {
                user_id: self.user.id,
                experiment_id: e.id,
                variant: e.variants[v],
                model_version: model,
                slot,
                show_id: self.w.shows[show].id,
            };
            self.out
                .impressions
                .push(format_args!("{imp_id}"), time, &imp);
            let p_click = e.ctr * e.lift[v] / f64::from(slot).powf(0.7);
            let mut engaged = Vec::new();
            if self.rng.random_bool(p_click.min(1.0)) {
                let click = time + self.rng.random_range(SEC..30 * SEC);
                engaged.push((click, "click"));
                if self.rng.random_bool(0.7) {
                    engaged.push((
                        click + self.rng.random_range(SEC / 2..5 * SEC),
                        "listen_start",
                    ));
                }
                for (kind, prob) in [("like", 0.10), ("follow", 0.04), ("notify_enable", 0.03)] {
                    if self.rng.random_bool(prob * e.lift[v]) {
                        engaged.push((click + self.rng.random_range(10 * SEC..20 * MIN), kind));
                    }
                }
            } else if self.rng.random_bool(0.002) {
                engaged.push((time + self.rng.random_range(SEC..10 * SEC), "like"));
            }
            for (time, kind) in engaged {
                if time <= p.now {
                    let n = bump(&mut self.ids.engagement);
                    let id = format_args!("re-{date}-{owner}-{n}");
                    self.out.engagements.push(id, time, &imp_id, kind);
                }
            }
        }
    }

    /// A listening session of `target` from `start` to `end` (cut at `now`), with what
    /// happens around it.
    fn session(&mut self, target: Target, start: i64, end: i64) {
        let p = self.w.period;
        if start < p.start || start > p.now || end < start {
            return;
        }
        if self.rng.random_bool(0.5) {
            let t = start - self.rng.random_range(3 * SEC..40 * SEC);
            self.recommendations(0, t);
        }
        if self.rng.random_bool(0.12) {
            let t = start - self.rng.random_range(20 * SEC..120 * SEC);
            self.recommendations(1, t);
        }
        let Ids { date, owner, .. } = self.ids;
        let k = bump(&mut self.ids.session);
        let session_id = format!("s-{date}-{owner}-{k}");
        let (uid, show_id) = (self.user.id, self.show_id(target));
        let listen = |this: &mut Self, time: i64, kind: &str, secs: f64| {
            let n = bump(&mut this.ids.listen);
            let id = format_args!("le-{date}-{owner}-{n}");
            this.out
                .listen
                .push(id, time, uid, show_id, &session_id, kind, secs);
        };
        listen(self, start, "start", 0.0);
        let mut t = start;
        let mut running = false;
        loop {
            let dt = self.rng.random_range(59_000..=61_000) * 1_000;
            if t + dt > end {
                break;
            }
            if t + dt > p.now {
                running = true;
                break;
            }
            t += dt;
            let mut secs = dt as f64 / 1e6;
            if self.rng.random_bool(0.03) {
                // Paused or buffering for part of the interval.
                secs = (secs * self.rng.random_range(0.2..0.95) * 1e3).round() / 1e3;
            }
            listen(self, t, "heartbeat", secs);
        }
        if !running && end <= p.now && self.rng.random_bool(0.97) {
            listen(self, end, "stop", (end - t) as f64 / 1e6);
        }
        self.session_interactions(target, start, end.min(p.now));
    }

    fn session_interactions(&mut self, target: Target, start: i64, end: i64) {
        let minutes = (end - start) as f64 / MIN as f64;
        let (show, creator, live) = match target {
            Target::Known(i) => {
                let s = &self.w.shows[i];
                (
                    s.id,
                    Some(self.w.creator_id(i)),
                    s.start <= start && start < s.end,
                )
            }
            Target::Unknown(id) => (id, None, false),
        };
        let c = self.user.chattiness;
        let mut kinds: Vec<(&str, u32)> = vec![
            ("like", poisson(&mut self.rng, 0.08 + 0.008 * minutes)),
            ("share", poisson(&mut self.rng, 0.01 + 0.001 * minutes)),
        ];
        if live {
            kinds.push(("chat", poisson(&mut self.rng, 0.05 * c * minutes)));
            kinds.push(("poll_vote", poisson(&mut self.rng, 0.006 * c * minutes)));
            kinds.push(("call_in", poisson(&mut self.rng, 0.0006 * c * minutes)));
        }
        if creator.is_some() {
            kinds.push(("follow", u32::from(self.rng.random_bool(0.05))));
            kinds.push(("notify_enable", u32::from(self.rng.random_bool(0.02))));
        }
        for (kind, count) in kinds {
            for _ in 0..count {
                let time = uniform_time(&mut self.rng, start, end + 1);
                let (show_id, creator_id) = match kind {
                    // A follow is of the creator; now and then from the profile, not the show.
                    "follow" if self.rng.random_bool(0.1) => (None, creator),
                    "follow" => (Some(show), creator),
                    _ if self.rng.random_bool(0.1) => (Some(show), creator),
                    _ => (Some(show), None),
                };
                self.interaction(time, show_id, creator_id, kind);
            }
        }
    }

    fn pick_target(&mut self, t: i64) -> Option<Target> {
        let w = self.w;
        if self.rng.random_bool(0.004) {
            let id = UNKNOWN_SHOW_BASE + self.rng.random_range(0..w.unknown_shows);
            return Some(Target::Unknown(id));
        }
        if self.rng.random_bool(0.75)
            && let Some(i) = w.on_air.pick(&mut self.rng, &w.shows, t)
        {
            return Some(Target::Known(i));
        }
        // A replay of a show that has aired.
        for _ in 0..6 {
            let i = w.show_cdf.sample(&mut self.rng)?;
            if w.shows[i].end <= t {
                return Some(Target::Known(i));
            }
        }
        None
    }
}

/// The events of user `user` (an index into `World::users`) on the `day`-th date.
pub(crate) fn user_day(w: &World, day: usize, user: usize, out: &mut StreamRows) {
    let u = &w.users[user];
    if u.tier == Tier::Dormant {
        return;
    }
    let p = w.period;
    let day_start = p.date_start(day);
    let lo = p.start.max(u.signup);
    let hi = (day_start + DAY - 1).min(p.now);
    if lo > hi {
        return;
    }
    let date = p.first_date + day as i32;
    let rng = rng_for(w.seed, Domain::UserDay, u.id as u64, date as u64);
    let mut walk = Walk {
        w,
        rng,
        ids: Ids::new(date, Owner::User(u.id)),
        user: u,
        out,
    };
    let age_days = ((day_start - u.signup) as f64 / DAY as f64).max(0.0);
    let weekend = matches!((date + 3).rem_euclid(7), 5 | 6); // 1970-01-01 was a Thursday
    let p_active = u.tier.p_active()
        * (0.6 + 0.4 * (-age_days / 14.0).exp())
        * if weekend { 1.15 } else { 1.0 };
    if !walk.rng.random_bool(p_active.min(0.98)) {
        return;
    }
    let n = 1 + poisson(&mut walk.rng, u.tier.extra_sessions());
    let mut starts: Vec<i64> = (0..n)
        .map(|_| {
            let hour = w.hours.sample(&mut walk.rng).unwrap_or(20) as i64;
            day_start + hour * HOUR + walk.rng.random_range(0..HOUR)
        })
        .collect();
    starts.sort_unstable();
    let mut free_at = i64::MIN;
    for mut start in starts {
        if start < free_at {
            start = free_at + walk.rng.random_range(MIN..20 * MIN);
        }
        if start < lo || start > hi {
            continue;
        }
        let Some(target) = walk.pick_target(start) else {
            continue;
        };
        let len = (log_normal(&mut walk.rng, 18.0, 0.85).clamp(1.0, 240.0) * MIN as f64) as i64;
        let mut end = start + len;
        if let Target::Known(i) = target {
            let s = &w.shows[i];
            if s.start <= start && start < s.end {
                end = end.min(s.end); // a live show ends for everyone
            }
        }
        walk.session(target, start, end);
        free_at = end;
    }
    // Outside any session: follows from a creator's profile, shares of a show page.
    if walk.rng.random_bool(0.03)
        && let Some(c) = w.creator_cdf.sample(&mut walk.rng)
    {
        let t = uniform_time(&mut walk.rng, lo, hi + 1);
        walk.interaction(t, None, Some(w.creators[c].id), "follow");
    }
    if walk.rng.random_bool(0.03)
        && let Some(s) = w.show_cdf.sample(&mut walk.rng)
    {
        let t = uniform_time(&mut walk.rng, lo, hi + 1);
        walk.interaction(t, Some(w.shows[s].id), None, "share");
    }
}

/// The planned events of the `day`-th date: promotion events and planned sessions.
pub(crate) fn planned(w: &World, day: usize, out: &mut StreamRows) {
    for e in &w.plan.promo_events[day] {
        let action = if e.click { "click" } else { "impression" };
        let id = format_args!("pe-{}-{}-{}", e.promotion_id, e.user_id, e.seq);
        out.promo
            .push(id, e.time, e.user_id, e.promotion_id, action);
    }
    let date = w.period.first_date + day as i32;
    for (i, s) in w.plan.sessions[day].iter().enumerate() {
        let PlannedSession {
            user,
            show,
            start,
            end,
        } = *s;
        let rng = rng_for(w.seed, Domain::Extra, date as u64, i as u64);
        let u = &w.users[user];
        let mut walk = Walk {
            w,
            rng,
            ids: Ids::new(date, Owner::Planned(i)),
            user: u,
            out: &mut *out,
        };
        walk.session(show, start, end);
    }
}
