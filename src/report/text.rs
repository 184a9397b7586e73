//! Human-facing text: offsets always in words ("audio 40 ms late"), never a bare signed number.

use super::{Outcome, Report};

/// Below this magnitude an offset is read as "in sync" in words.
const IN_SYNC_WORDING_MS: f64 = 0.5;

/// An offset in words: `+12.3` → "audio 12 ms early", `-40` → "audio 40 ms late".
pub fn describe_offset(offset_ms: f64) -> String {
    if offset_ms.abs() < IN_SYNC_WORDING_MS {
        return "audio in sync".to_string();
    }
    let magnitude = offset_ms.abs();
    let amount =
        if magnitude < 10.0 { format!("{magnitude:.1}") } else { format!("{magnitude:.0}") };
    let side = if offset_ms > 0.0 { "early" } else { "late" };
    format!("audio {amount} ms {side}")
}

/// One line per input, e.g.
/// `clip.mp4  audio 38 ms late ±6 ms, broadcast PASS, cinema FAIL`.
pub fn summary_line(report: &Report) -> String {
    let mut line = format!("{}  ", report.input.path);
    match report.offset_ms {
        Some(offset) => {
            line.push_str(&describe_offset(offset));
            if let Some(u) = report.uncertainty_ms {
                line.push_str(&format!(" ±{u:.0} ms"));
            }
            if let Some(drift) = &report.drift {
                line.push_str(&format!(", drift {:+.1} ms/min", drift.ms_per_min));
            }
        }
        None => line.push_str(&format!("inconclusive: {}", report.reason)),
    }
    for verdict in &report.verdicts {
        let result = match verdict.result {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Inconclusive => "INCONCLUSIVE",
            Outcome::Error => "ERROR",
        };
        line.push_str(&format!(", {} {result}", verdict.profile));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_said_in_words() {
        assert_eq!(describe_offset(40.0), "audio 40 ms early");
        assert_eq!(describe_offset(-40.4), "audio 40 ms late");
        assert_eq!(describe_offset(-2.25), "audio 2.2 ms late");
        assert_eq!(describe_offset(0.1), "audio in sync");
    }
}
