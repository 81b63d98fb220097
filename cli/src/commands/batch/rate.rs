//! How fast a batch's jobs end, and so how long the rest will take. The
//! rate is measured over a recent window rather than since the start, so
//! that it follows a batch that speeds up (workers added) or stalls.

use std::collections::VecDeque;
use std::time::Duration;

pub struct RateMeter {
    window: Duration,
    /// (when, jobs ended by then), oldest first.
    samples: VecDeque<(Duration, i64)>,
}

impl RateMeter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Notes that `ended` jobs had ended at `at` (time since watching
    /// began).
    pub fn record(&mut self, at: Duration, ended: i64) {
        self.samples.push_back((at, ended));
        // Keep one sample at or before the window's start, so the window
        // is always spanned in full once enough time has passed.
        while self.samples.len() > 2 && at.saturating_sub(self.samples[1].0) >= self.window {
            self.samples.pop_front();
        }
    }

    /// Jobs ended per second over the window; `None` until two samples
    /// span some time.
    pub fn per_second(&self) -> Option<f64> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        let span = last.0.saturating_sub(first.0).as_secs_f64();
        if span <= 0.0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let ended = (last.1 - first.1).max(0) as f64;
        Some(ended / span)
    }

    /// How long `remaining` jobs will take at the current rate; `None`
    /// while nothing ends.
    pub fn time_left(&self, remaining: i64) -> Option<Duration> {
        let rate = self.per_second().filter(|rate| *rate > 0.0)?;
        #[allow(clippy::cast_precision_loss)]
        let seconds = remaining.max(0) as f64 / rate;
        Duration::try_from_secs_f64(seconds).ok()
    }
}

/// `2h 05m`, `4m 10s`, `12s`: precise enough for a progress line.
pub fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_rate_needs_two_samples_apart_in_time() {
        let mut meter = RateMeter::new(secs(60));

        assert_eq!(meter.per_second(), None);
        meter.record(secs(0), 0);
        assert_eq!(meter.per_second(), None);
        meter.record(secs(10), 20);

        assert_eq!(meter.per_second(), Some(2.0));
        assert_eq!(meter.time_left(100), Some(secs(50)));
    }

    #[test]
    fn the_rate_follows_the_recent_window() {
        let mut meter = RateMeter::new(secs(30));
        meter.record(secs(0), 0);
        meter.record(secs(30), 300);

        meter.record(secs(60), 330);
        meter.record(secs(90), 360);

        assert_eq!(meter.per_second(), Some(1.0));
    }

    #[test]
    fn nothing_ending_means_no_estimate_of_time_left() {
        let mut meter = RateMeter::new(secs(60));
        meter.record(secs(0), 5);
        meter.record(secs(20), 5);

        assert_eq!(meter.per_second(), Some(0.0));
        assert_eq!(meter.time_left(10), None);
    }

    #[test]
    fn durations_read_at_the_right_scale() {
        assert_eq!(short_duration(secs(7)), "7s");
        assert_eq!(short_duration(secs(250)), "4m 10s");
        assert_eq!(short_duration(secs(7500)), "2h 05m");
    }
}
