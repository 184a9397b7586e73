//! Human-facing text: offsets always in words ("audio 40 ms late"), never a bare signed number.

use super::{Outcome, Report, Verdict, MS_PER_MIN_PER_PPM};
use std::fmt::Write as _;

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

/// An uncertainty (ms) with as many decimals as it needs never to read as zero: `16 ms`,
/// `2.4 ms`, `4.0 ms`, `0.012 ms` (whole ms from 10 ms up, two significant digits below).
pub fn format_uncertainty_ms(uncertainty_ms: f64) -> String {
    let u = uncertainty_ms.abs();
    if u > 0.0 && u < UNCERTAINTY_FLOOR_MS {
        // Nanoseconds of a sample-accurate measurement say nothing a reader can use.
        return format!("<{UNCERTAINTY_FLOOR_MS} ms");
    }
    let decimals = if u >= 10.0 || u == 0.0 {
        0
    } else {
        // Two significant digits below 10 ms.
        (1.0 - u.log10().floor()).clamp(1.0, 4.0) as usize
    };
    format!("{u:.decimals$} ms")
}

/// A signed number with `decimals` decimals that never reads "-0.0": a value that rounds to
/// zero is written "+0.0" (a drift of −0.004 ms/min is no drift to the reader).
pub fn format_signed(value: f64, decimals: usize) -> String {
    let text = format!("{value:+.decimals$}");
    if text[1..].bytes().all(|b| b == b'0' || b == b'.') {
        text.replacen('-', "+", 1)
    } else {
        text
    }
}

/// Uncertainties below this (1 µs) are shown as "<0.001 ms".
const UNCERTAINTY_FLOOR_MS: f64 = 0.001;

/// A score and the threshold it is compared with, with enough decimals that the two never
/// read as equal when they differ (`z 2.197` against `2.2`, not `z 2.2, 2.2 needed`).
pub fn format_against(value: f64, threshold: f64) -> (String, String) {
    let mut decimals = 1;
    while decimals < 4 && format!("{value:.decimals$}") == format!("{threshold:.decimals$}") {
        decimals += 1;
    }
    (format!("{value:.decimals$}"), format!("{threshold:.1}"))
}

/// A time in the clip as `m:ss.s` (or `h:mm:ss.s`), as an editor reads a timeline.
pub fn format_clock(seconds: f64) -> String {
    format_clock_to(seconds, 1)
}

/// [`format_clock`] with `decimals` decimals of a second (`0:00.540` with 3), for spans shorter
/// than a tenth can tell apart (a flash and its beep).
pub fn format_clock_to(seconds: f64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let units = (seconds.max(0.0) * scale as f64).round() as u64;
    let (whole, fraction) = (units / scale, units % scale);
    let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60);
    let fraction = if decimals > 0 {
        format!(".{fraction:0width$}", width = decimals as usize)
    } else {
        String::new()
    };
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}{fraction}")
    } else {
        format!("{minutes}:{secs:02}{fraction}")
    }
}

/// ANSI styles for results on a terminal.
const GREEN: &str = "\x1b[1;32m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

/// A verdict's result as shown in text: `PASS`, `FAIL`, `INCONCLUSIVE`, with `~` marking a
/// marginal one (its interval reaches across a limit).
fn result_word(result: Outcome, marginal: bool) -> String {
    let word = result.as_str().to_ascii_uppercase();
    if marginal {
        format!("{word}~")
    } else {
        word
    }
}

/// `text` in the colour of `result` (yellow for anything marginal) when `color` is on.
fn paint(text: &str, result: Outcome, marginal: bool, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let style = match result {
        _ if marginal => YELLOW,
        Outcome::Pass => GREEN,
        Outcome::Fail | Outcome::Error => RED,
        Outcome::Inconclusive => YELLOW,
    };
    format!("{style}{text}{RESET}")
}

fn verdict_word(verdict: &Verdict, color: bool) -> String {
    paint(&result_word(verdict.result, verdict.marginal), verdict.result, verdict.marginal, color)
}

/// The measurement in words: offset, its 95% interval and drift, or why nothing was measured.
fn measurement_text(report: &Report) -> String {
    match report.offset_ms {
        Some(offset) => {
            let mut text = describe_offset(offset);
            if let Some(u) = report.uncertainty_ms {
                let _ = write!(text, " ±{}", format_uncertainty_ms(u));
            }
            if let Some(drift) = &report.drift {
                let _ = write!(text, ", drift {}", format_signed(drift.ms_per_min, 1));
                if let Some(u) = drift.uncertainty_ppm {
                    let _ = write!(text, " ±{:.1}", u * MS_PER_MIN_PER_PPM);
                }
                text.push_str(" ms/min");
            }
            text
        }
        None => format!("inconclusive: {}", escape_control(&report.reason)),
    }
}

/// `text` with its control characters written as escapes (`\n`, `\u{1b}`): a file name
/// that holds a newline or a terminal escape sequence must neither break a one-line message
/// nor reach the terminal raw.
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One line per input, e.g.
/// `clip.mp4  audio 38 ms late ±6 ms, drift +0.2 ms/min, broadcast PASS, cinema FAIL`.
/// A marginal verdict reads `PASS~`; with `color`, results are green, red or yellow.
pub fn summary_line(report: &Report, color: bool) -> String {
    if report.verdict == Outcome::Error {
        let error = paint("ERROR", Outcome::Error, false, color);
        return format!(
            "{}  {error}, not measured: {}",
            escape_control(&report.input.path),
            escape_control(&report.reason)
        );
    }
    let mut line = format!("{}  {}", escape_control(&report.input.path), measurement_text(report));
    for verdict in &report.verdicts {
        let _ = write!(line, ", {} {}", verdict.profile, verdict_word(verdict, color));
    }
    if report.marginal {
        let _ = write!(
            line,
            " ({} is marginal: the 95% interval reaches across a limit)",
            report.verdict.as_str()
        );
    }
    line
}

/// A table cell: its plain text (for widths) and the result (and marginal flag) that colours
/// it, if any.
type Cell = (String, Option<(Outcome, bool)>);

/// A table of several inputs: one row each, one column per profile, then the overall verdict.
pub fn summary_table(reports: &[Report], color: bool) -> String {
    let mut profiles: Vec<&str> = Vec::new();
    for verdict in reports.iter().flat_map(|r| &r.verdicts) {
        if !profiles.contains(&verdict.profile.as_str()) {
            profiles.push(&verdict.profile);
        }
    }
    let mut header: Vec<String> =
        ["input", "offset", "±95%", "drift", "conf."].map(String::from).into();
    header.extend(profiles.iter().map(|p| p.to_string()));
    header.push("verdict".into());

    let rows: Vec<Vec<Cell>> = reports
        .iter()
        .map(|r| {
            let mut row = vec![
                (escape_control(&r.input.path), None),
                (r.offset_ms.map_or("-".into(), describe_offset), None),
                (r.uncertainty_ms.map_or("-".into(), format_uncertainty_ms), None),
                (
                    r.drift.map_or("-".into(), |d| {
                        format!("{} ms/min", format_signed(d.ms_per_min, 1))
                    }),
                    None,
                ),
                (format!("{:.2}", r.confidence), None),
            ];
            for profile in &profiles {
                row.push(match r.verdicts.iter().find(|v| v.profile == *profile) {
                    Some(v) => (result_word(v.result, v.marginal), Some((v.result, v.marginal))),
                    None => ("-".into(), None),
                });
            }
            row.push((result_word(r.verdict, r.marginal), Some((r.verdict, r.marginal))));
            row
        })
        .collect();

    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, (text, _)) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    let pad = |text: &str, width: usize| {
        format!("{text}{}", " ".repeat(width.saturating_sub(text.chars().count())))
    };
    let header_line: Vec<String> = header.iter().zip(&widths).map(|(h, &w)| pad(h, w)).collect();
    let _ = writeln!(out, "{}", header_line.join("  ").trim_end());
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|((text, outcome), &w)| match outcome {
                Some((result, marginal)) => paint(&pad(text, w), *result, *marginal, color),
                None => pad(text, w),
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let counts = [Outcome::Pass, Outcome::Fail, Outcome::Inconclusive, Outcome::Error]
        .map(|o| (o, reports.iter().filter(|r| r.verdict == o).count()));
    let tally: Vec<String> =
        counts.iter().filter(|(_, n)| *n > 0).map(|(o, n)| format!("{n} {}", o.as_str())).collect();
    let _ = write!(out, "{} inputs: {}", reports.len(), tally.join(", "));
    if reports.iter().flat_map(|r| &r.verdicts).any(|v| v.marginal) {
        out.push_str(" (~ marginal: the 95% interval reaches across a limit)");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_numbers_never_read_minus_zero() {
        assert_eq!(format_signed(-0.04, 1), "+0.0");
        assert_eq!(format_signed(-0.0, 2), "+0.00");
        assert_eq!(format_signed(-0.06, 1), "-0.1");
        assert_eq!(format_signed(0.0, 0), "+0");
        assert_eq!(format_signed(12.346, 2), "+12.35");
        assert_eq!(format_signed(-300.0, 1), "-300.0");
    }

    #[test]
    fn offsets_are_said_in_words() {
        assert_eq!(describe_offset(40.0), "audio 40 ms early");
        assert_eq!(describe_offset(-40.4), "audio 40 ms late");
        assert_eq!(describe_offset(-2.25), "audio 2.2 ms late");
        assert_eq!(describe_offset(0.1), "audio in sync");
    }

    #[test]
    fn uncertainties_and_scores_never_round_into_something_else() {
        assert_eq!(format_uncertainty_ms(46.2), "46 ms");
        assert_eq!(format_uncertainty_ms(2.44), "2.4 ms");
        assert_eq!(format_uncertainty_ms(0.005), "0.0050 ms");
        assert_eq!(format_uncertainty_ms(0.0004), "<0.001 ms");
        assert_eq!(format_uncertainty_ms(0.000036), "<0.001 ms");
        assert_eq!(format_uncertainty_ms(0.0012), "0.0012 ms");
        assert_eq!(format_against(2.197, 2.2), ("2.197".to_string(), "2.2".to_string()));
        assert_eq!(format_against(1.94, 2.0), ("1.9".to_string(), "2.0".to_string()));
    }

    #[test]
    fn clock_times_read_like_a_timeline() {
        assert_eq!(format_clock(8.0), "0:08.0");
        assert_eq!(format_clock(83.46), "1:23.5");
        assert_eq!(format_clock(3725.0), "1:02:05.0");
        assert_eq!(format_clock(59.96), "1:00.0");
        assert_eq!(format_clock_to(0.54, 3), "0:00.540");
        assert_eq!(format_clock_to(3725.0004, 3), "1:02:05.000");
    }
}
