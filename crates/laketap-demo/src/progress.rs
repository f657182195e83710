//! Progress reporting: the [`Progress`] trait, a silent [`NoProgress`] and an
//! [`IndicatifProgress`] that draws a bar on stderr.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// Receives the progress of [`generate`](crate::generate), one stage at a time.
///
/// The generator calls `start` once per stage (a table, or the event stream), then `inc`
/// any number of times with the units done, then `finish`.
pub trait Progress: Send + Sync {
    /// A new stage begins; `total` units of work are expected.
    fn start(&self, stage: &str, total: u64);
    /// `n` more units of the current stage are done.
    fn inc(&self, n: u64);
    /// The current stage is done.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _stage: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Draws one progress bar per stage on stderr.
///
/// indicatif hides the bar by itself when stderr is not a terminal, so this is safe to use
/// in scripts and CI logs.
#[derive(Debug, Default)]
pub struct IndicatifProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl IndicatifProgress {
    /// A reporter with no bar yet; each stage creates its own.
    pub fn new() -> Self {
        Self::default()
    }

    fn style() -> ProgressStyle {
        const TEMPLATE: &str =
            "{msg:>16} [{bar:40.cyan/blue}] {percent:>3}% {human_pos}/{human_len} ({eta} left)";
        ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        // A poisoned lock only means another thread panicked while drawing; keep going.
        let mut guard = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard);
    }
}

impl Progress for IndicatifProgress {
    fn start(&self, stage: &str, total: u64) {
        self.with_bar(|bar| {
            if let Some(old) = bar.take() {
                old.finish();
            }
            let new = ProgressBar::new(total);
            new.set_style(Self::style());
            new.set_message(stage.to_owned());
            *bar = Some(new);
        });
    }

    fn inc(&self, n: u64) {
        self.with_bar(|bar| {
            if let Some(bar) = bar {
                bar.inc(n);
            }
        });
    }

    fn finish(&self) {
        self.with_bar(|bar| {
            if let Some(bar) = bar.take() {
                bar.finish();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicatif_progress_tracks_the_current_stage() {
        let p = IndicatifProgress::new();
        p.inc(5); // no stage yet: ignored
        p.start("users", 10);
        p.inc(4);
        p.with_bar(|bar| {
            let bar = bar.as_ref().expect("a bar after start");
            assert_eq!(bar.position(), 4);
            assert_eq!(bar.length(), Some(10));
        });
        p.finish();
        p.with_bar(|bar| assert!(bar.is_none()));
    }
}
