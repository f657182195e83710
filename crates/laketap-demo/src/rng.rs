//! Deterministic randomness and time arithmetic shared by the generators.
//!
//! Every random decision draws from a [`ChaCha8Rng`] derived from the user's seed and the
//! identity of the thing being generated (a domain, a user, a day), never from the clock or a
//! thread-local generator. So the rows of one user-day do not depend on how users are chunked.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Microseconds per second, minute, hour and day: timestamps are `i64` microseconds since
/// the Unix epoch, without time zone (UTC).
pub(crate) const SEC: i64 = 1_000_000;
pub(crate) const MIN: i64 = 60 * SEC;
pub(crate) const HOUR: i64 = 60 * MIN;
pub(crate) const DAY: i64 = 24 * HOUR;

/// What a derived generator is for, so that two purposes never share a stream.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Domain {
    Signups = 1,
    User = 2,
    Creator = 3,
    ShowSchedule = 4,
    Show = 5,
    Promotion = 6,
    UserDay = 7,
    LiveTail = 8,
    Extra = 9,
    Orphans = 10,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for `(domain, a, b)` under `seed`: the same inputs give the same stream.
pub(crate) fn rng_for(seed: u64, domain: Domain, a: u64, b: u64) -> ChaCha8Rng {
    let mut x = splitmix64(seed);
    x = splitmix64(x ^ domain as u64);
    x = splitmix64(x ^ a);
    x = splitmix64(x ^ b.rotate_left(32));
    ChaCha8Rng::seed_from_u64(x)
}

/// The UTC date of a timestamp, as days since 1970-01-01 (Arrow `Date32`).
pub(crate) fn date_of(us: i64) -> i32 {
    // Dates of the years 0..=9999 fit an i32 by far.
    us.div_euclid(DAY) as i32
}

/// Samples an index with probability proportional to its weight.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cdf {
    cum: Vec<f64>,
}

impl Cdf {
    /// Weights must be finite and non-negative; zero weights are never drawn.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cum = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Self { cum }
    }

    /// An index, or `None` when every weight is zero.
    pub(crate) fn sample(&self, rng: &mut impl Rng) -> Option<usize> {
        let total = *self.cum.last()?;
        if total <= 0.0 {
            return None;
        }
        let x = rng.random::<f64>() * total;
        let i = self.cum.partition_point(|&c| c <= x);
        Some(i.min(self.cum.len() - 1))
    }
}

/// Poisson-distributed count (Knuth's method; our means are small).
pub(crate) fn poisson(rng: &mut impl Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    if lambda > 30.0 {
        // Normal approximation, never negative.
        let n: f64 = rng.sample(StandardNormal);
        return (lambda + n * lambda.sqrt()).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

/// Log-normally distributed value with the given median and shape `sigma`.
pub(crate) fn log_normal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let n: f64 = rng.sample(StandardNormal);
    median * (sigma * n).exp()
}

/// A uniform timestamp in `[lo, hi)`; `lo` when the range is empty.
pub(crate) fn uniform_time(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

/// Relative listening activity per UTC hour: quiet at night, peaking in the evening.
pub(crate) const HOUR_WEIGHTS: [f64; 24] = [
    2.2, 1.6, 1.1, 0.8, 0.6, 0.5, 0.6, 0.9, 1.3, 1.7, 2.0, 2.3, 2.6, 2.8, 2.9, 3.1, 3.4, 3.9, 4.8,
    5.8, 6.4, 6.2, 5.0, 3.4,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_are_reproducible_and_distinct() {
        let mut r1 = rng_for(42, Domain::UserDay, 7, 3);
        let mut r2 = rng_for(42, Domain::UserDay, 7, 3);
        let mut r3 = rng_for(42, Domain::UserDay, 3, 7);
        let mut r4 = rng_for(43, Domain::UserDay, 7, 3);
        let x1: u64 = r1.random();
        assert_eq!(x1, r2.random::<u64>());
        assert_ne!(x1, r3.random::<u64>());
        assert_ne!(x1, r4.random::<u64>());
    }

    #[test]
    fn cdf_follows_weights_and_skips_zero() {
        let cdf = Cdf::new([0.0, 1.0, 3.0, 0.0]);
        let mut rng = rng_for(1, Domain::Show, 0, 0);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[cdf.sample(&mut rng).expect("non-empty")] += 1;
        }
        assert_eq!(counts[0], 0);
        assert_eq!(counts[3], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[1]);
        assert!((2.7..3.3).contains(&ratio), "ratio {ratio}");
        assert!(Cdf::new([0.0, 0.0]).sample(&mut rng).is_none());
        assert!(Cdf::default().sample(&mut rng).is_none());
    }

    #[test]
    fn poisson_mean_is_lambda() {
        let mut rng = rng_for(2, Domain::Show, 0, 0);
        for lambda in [0.2, 3.0, 50.0] {
            let n = 20_000;
            let sum: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, lambda))).sum();
            let mean = sum as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.02,
                "{lambda}: {mean}"
            );
        }
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date_of(0), 0);
        assert_eq!(date_of(DAY - 1), 0);
        assert_eq!(date_of(DAY), 1);
        assert_eq!(date_of(-1), -1);
    }
}
