//! The allowed range of every duration, count and size a user can give, in one place.
//!
//! Each option is checked when it is parsed, before anything is allocated for it: unchecked,
//! `check --search 1e9s` asked for 1.6 TB of correlation buffers, `compare --window 1e12s`
//! aborted, and `pattern generate --duration 1e9s` grew past 9 GB. Values too small to measure
//! anything are refused too: `compare --window 1ms` produced a confident, absurd verdict. A
//! value outside its range is a usage error (exit 2) whose message gives the range.
//! docs/reliability.md lists these ranges; keep the two in step.

use crate::units::parse_duration_s;

/// The closed range a duration option may take, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DurationRange {
    pub min_s: f64,
    pub max_s: f64,
}

impl DurationRange {
    pub const fn new(min_s: f64, max_s: f64) -> Self {
        DurationRange { min_s, max_s }
    }

    /// Parses a duration with its unit (see [`parse_duration_s`]) and refuses one outside the
    /// range, saying what the range is.
    pub fn parse(self, text: &str) -> Result<f64, String> {
        let seconds = parse_duration_s(text)?;
        self.check(seconds).map_err(|range| format!("'{}' is outside {range}", text.trim()))
    }

    /// `Ok(seconds)` when inside the range, else the range in words.
    pub fn check(self, seconds: f64) -> Result<f64, String> {
        if seconds >= self.min_s && seconds <= self.max_s {
            Ok(seconds)
        } else {
            Err(self.describe())
        }
    }

    /// The range in words, e.g. `the allowed range 40 ms to 10 s`.
    pub fn describe(self) -> String {
        format!(
            "the allowed range {} to {}",
            format_duration(self.min_s),
            format_duration(self.max_s)
        )
    }
}

/// A duration in the unit that reads best: `40 ms`, `10 s`, `2 min`, `24 h`.
fn format_duration(seconds: f64) -> String {
    let magnitude = seconds.abs();
    if magnitude > 0.0 && magnitude < 1.0 {
        format!("{} ms", seconds * 1e3)
    } else if magnitude < 120.0 {
        format!("{seconds} s")
    } else if magnitude < 7200.0 {
        format!("{} min", seconds / 60.0)
    } else {
        format!("{} h", seconds / 3600.0)
    }
}

/// `check --search` and the config's `analysis.search_range`: from about one video frame to
/// offsets no lip-sync fault reaches; the correlation buffers grow with it.
pub const CHECK_SEARCH: DurationRange = DurationRange::new(0.04, 10.0);
/// `check --window`: long enough to hold a few words, at most ten minutes.
pub const CHECK_WINDOW: DurationRange = DurationRange::new(1.0, 600.0);
/// `check --hop`: a tenth of a second up to the longest window.
pub const CHECK_HOP: DurationRange = DurationRange::new(0.1, 600.0);
/// `compare --window`: shorter windows hold too little audio for a match that can be trusted
/// (1 ms read an in-sync clip as 1558 ms early); longer ones stop showing splices and drift.
pub const COMPARE_WINDOW: DurationRange = DurationRange::new(0.5, 60.0);
/// The config's `analysis.window`, which may stand for either command's window.
pub const CONFIG_WINDOW: DurationRange =
    DurationRange::new(COMPARE_WINDOW.min_s, CHECK_WINDOW.max_s);
/// `compare --ref-insert-time` and `--ref-start-time`: within a day either way; each is also
/// checked against its file's length once that is known.
pub const REF_TIME: DurationRange = DurationRange::new(-MAX_MEDIA_S, MAX_MEDIA_S);
/// `pattern generate --duration`: the plan keeps one event per period, so memory grows with it.
pub const PATTERN_DURATION: DurationRange = DurationRange::new(1.0, MAX_MEDIA_S);
/// `pattern generate --period`: the lower bound of the pattern itself (a beep and its gap, four
/// frames) is checked against the frame rate later; an event a minute is the sparsest.
pub const PATTERN_PERIOD: DurationRange = DurationRange::new(0.01, 60.0);
/// `pattern generate --size`: 8K UHD at most, so a frame buffer stays under 34 MB.
pub const PATTERN_MAX_SIZE: (u32, u32) = (7680, 4320);
/// The longest media avsync generates or positions things in: 24 hours.
pub const MAX_MEDIA_S: f64 = 24.0 * 3600.0;
/// `--tolerance +A/-B`: each limit at most 10 s (tolerance bands wider than that are a typo).
pub const MAX_TOLERANCE_MS: f64 = 10_000.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_durations_are_refused_with_the_range() {
        assert_eq!(CHECK_SEARCH.parse("500ms"), Ok(0.5));
        let err = CHECK_SEARCH.parse("1e9s").unwrap_err();
        assert_eq!(err, "'1e9s' is outside the allowed range 40 ms to 10 s");
        assert!(COMPARE_WINDOW.parse("1ms").unwrap_err().contains("500 ms to 60 s"));
        assert!(PATTERN_DURATION.parse("1e9s").unwrap_err().contains("1 s to 24 h"));
        assert!(CHECK_SEARCH.parse("1e308s").is_err());
        assert!(REF_TIME.parse("-2s").is_ok());
    }
}
