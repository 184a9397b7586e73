//! From flash and beep onsets to a measurement: pairing, per-event offsets, the whole-clip
//! offset, drift, missing and extra events, and a confidence.
//!
//! Each flash is paired with the beep nearest to where the typical offset puts it, one to one,
//! within a quarter of the pattern's period. The offset of an event is `flash − beep` (`> 0`:
//! the audio is early). A line is fitted to offset against time: a Theil–Sen fit first (robust
//! to stray events), then least squares over the events that agree with it. The clip's offset
//! is that line at the events' mean time, and its slope is the drift. The confidence is the
//! share of all events found (flashes and beeps) that pair up and lie on the line.
//!
//! The uncertainty comes from the scatter of every paired event about that line, the ones off
//! it included: a dropped frame that moves later events by a frame widens it rather than
//! hiding behind a tight cluster. Every paired event is a window that grading sees, so events
//! beyond a profile's limits count under its window policy. An offset beyond
//! [`AMBIGUOUS_SHARE_OF_PERIOD`] of the period is inconclusive: a flash could as well belong to
//! the beep of the next or previous period, and nothing in the pattern tells which.

use super::line::{fit_offset_line, LineFit, LineRules, Z_95};
use crate::features::pattern::{BeepAnalysis, FlashAnalysis};
use crate::report::{CorrelationCurve, Drift, PatternDetails, PatternEvent, ReasonCode, Window};

/// Without a period to go by, a flash and a beep further apart than this are not one event.
const MAX_UNPERIODIC_PAIR_S: f64 = 0.5;
/// Pairs are searched within this share of the period around the expected beep.
const PAIR_WINDOW_SHARE_OF_PERIOD: f64 = 0.25;
/// Intervals within this share of a whole number of periods count as regular.
const PERIOD_TOLERANCE_SHARE: f64 = 0.1;
/// Share of intervals that must be regular for missing events to be counted.
const MIN_REGULAR_SHARE: f64 = 0.7;
/// The uncertainty is never claimed below this: onset definitions and timestamp rounding in
/// containers are not better than a few microseconds.
const UNCERTAINTY_FLOOR_MS: f64 = 0.005;
/// Below this share of consistent events the measurement is inconclusive.
const MIN_CONFIDENCE: f64 = 0.5;
/// An offset beyond this share of the period may have been paired with the wrong period: the
/// measurement is inconclusive.
pub const AMBIGUOUS_SHARE_OF_PERIOD: f64 = 0.3;

/// Codecs move single onsets by tenths of a millisecond, so an event is an outlier only
/// beyond 4 robust standard deviations and 1 ms; drift needs 3 events over 2 s.
const LINE_RULES: LineRules = LineRules {
    outlier_sigmas: 4.0,
    outlier_floor_ms: 1.0,
    min_drift_points: 3,
    min_drift_span_s: 2.0,
    max_theil_sen_points: 1000,
};

/// Width (one standard deviation) of the kernel that scores a beep near a candidate offset in
/// [`pairing_curve`]: onsets agree to well under a millisecond, so 2 ms draws a
/// peak a few points wide at the curve's resolution.
const PAIRING_KERNEL_MS: f64 = 2.0;
/// Most lags the pairing curve is evaluated at.
const PAIRING_CURVE_POINTS: usize = 2001;
/// Most flashes the pairing curve looks at (evenly spread over the clip): enough for a smooth
/// share, few enough that a day-long clip's curve costs no more than a minute's.
const PAIRING_CURVE_FLASHES: usize = 2000;

/// The pairing score against candidate offset: for each offset (ms, `> 0` audio early)
/// within half a period either way, the share of flashes with a beep at that offset, each
/// counted by a Gaussian of width [`PAIRING_KERNEL_MS`] on its distance to the nearest
/// beep. A clean pattern gives one peak at the measured offset; a second one near it means
/// beeps that could pair either way. `None` without flashes and beeps.
pub fn pairing_curve(details: &PatternDetails, offset_ms: Option<f64>) -> Option<CorrelationCurve> {
    let mut flashes: Vec<f64> = details.events.iter().map(|e| e.flash_s).collect();
    flashes.extend(&details.unpaired_flashes_s);
    let mut beeps: Vec<f64> = details.events.iter().map(|e| e.beep_s).collect();
    beeps.extend(&details.unpaired_beeps_s);
    if flashes.is_empty() || beeps.is_empty() {
        return None;
    }
    flashes.sort_by(f64::total_cmp);
    beeps.sort_by(f64::total_cmp);
    let step = flashes.len().div_ceil(PAIRING_CURVE_FLASHES);
    let flashes: Vec<f64> = flashes.into_iter().step_by(step).collect();
    let half_span_ms = 1000.0 * details.period_s.map_or(MAX_UNPERIODIC_PAIR_S, |p| p / 2.0);
    let points = PAIRING_CURVE_POINTS;
    let lags_ms: Vec<f64> = (0..points)
        .map(|i| -half_span_ms + 2.0 * half_span_ms * i as f64 / (points - 1) as f64)
        .collect();
    let scores = lags_ms
        .iter()
        .map(|lag_ms| {
            let total: f64 = flashes
                .iter()
                .map(|flash| {
                    // The beep of an offset `lag` sits at flash − lag.
                    let distance_ms = 1000.0 * nearest_distance(&beeps, flash - lag_ms / 1e3);
                    (-0.5 * (distance_ms / PAIRING_KERNEL_MS).powi(2)).exp()
                })
                .sum();
            total / flashes.len() as f64
        })
        .collect();
    Some(CorrelationCurve {
        label: "pairing score: share of flashes with a beep at that offset".to_string(),
        lags_ms,
        scores,
        peak_ms: offset_ms,
        noise_level: None,
    })
}

/// Distance from `t` to the nearest of `sorted` (not empty).
fn nearest_distance(sorted: &[f64], t: f64) -> f64 {
    let i = sorted.partition_point(|&v| v < t);
    let after = sorted.get(i).map_or(f64::INFINITY, |v| v - t);
    let before = i.checked_sub(1).map_or(f64::INFINITY, |j| t - sorted[j]);
    after.min(before)
}

/// The measurement, ready to go into a report.
#[derive(Clone, Debug, Default)]
pub struct PatternEstimate {
    pub offset_ms: Option<f64>,
    pub uncertainty_ms: Option<f64>,
    pub confidence: f64,
    pub drift: Option<Drift>,
    pub windows: Vec<Window>,
    /// Why the measurement is inconclusive, or what it rests on.
    pub reason: String,
    /// Why it is inconclusive, as a code for programs; `None` when measured.
    pub reason_code: Option<ReasonCode>,
    pub warnings: Vec<String>,
    pub details: PatternDetails,
}

/// Pairs the flashes with the beeps and measures offset and drift.
pub fn estimate(flashes: &FlashAnalysis, beeps: &BeepAnalysis) -> PatternEstimate {
    let flash_times: Vec<f64> = flashes.flashes.iter().map(|f| f.time_s).collect();
    let beep_times: Vec<f64> = beeps.beeps.iter().map(|b| b.time_s).collect();
    let period = typical_period(&flash_times).or_else(|| typical_period(&beep_times));
    let mut details = PatternDetails {
        flashes: flash_times.len(),
        beeps: beep_times.len(),
        period_s: period,
        tone_hz: beeps.tone_hz,
        tone_phase_locked: beeps.phase_locked,
        flash_region_share: flashes.region_share,
        ..PatternDetails::default()
    };
    let mut estimate = PatternEstimate::default();
    if flash_times.is_empty() || beep_times.is_empty() {
        estimate.reason = match (flash_times.is_empty(), beep_times.is_empty()) {
            (true, true) => "no flashes in the video and no beeps in the audio".to_string(),
            (true, false) => format!("{} beeps but no flashes in the video", beep_times.len()),
            _ => format!("{} flashes but no beeps in the audio", flash_times.len()),
        };
        estimate.reason_code = Some(ReasonCode::NoEvents);
        estimate.details = details;
        return estimate;
    }

    let pairs = pair(&flash_times, &beep_times, period);
    let paired_flashes: Vec<bool> = mark(flash_times.len(), pairs.iter().map(|p| p.0));
    let paired_beeps: Vec<bool> = mark(beep_times.len(), pairs.iter().map(|p| p.1));
    details.unpaired_flashes_s =
        flash_times.iter().zip(&paired_flashes).filter(|(_, p)| !**p).map(|(t, _)| *t).collect();
    details.unpaired_beeps_s =
        beep_times.iter().zip(&paired_beeps).filter(|(_, p)| !**p).map(|(t, _)| *t).collect();
    let total_events =
        pairs.len() + details.unpaired_flashes_s.len() + details.unpaired_beeps_s.len();
    if pairs.is_empty() {
        estimate.reason = format!(
            "{} flashes and {} beeps, but no beep near any flash",
            flash_times.len(),
            beep_times.len()
        );
        estimate.reason_code = Some(ReasonCode::NoEvents);
        estimate.details = details;
        return estimate;
    }

    let points: Vec<(f64, f64)> = pairs
        .iter()
        .map(|&(f, b)| (flash_times[f], (flash_times[f] - beep_times[b]) * 1000.0))
        .collect();
    let fit = fit_offset_line(&points, &LINE_RULES);
    details.events = pairs
        .iter()
        .zip(&points)
        .zip(&fit.inliers)
        .map(|((&(f, b), &(_, offset_ms)), &inlier)| PatternEvent {
            flash_s: flash_times[f],
            beep_s: beep_times[b],
            offset_ms,
            flash_fraction: flashes.flashes[f].fraction,
            outlier: !inlier,
        })
        .collect();
    let inliers = fit.inliers.iter().filter(|&&i| i).count();
    estimate.confidence = inliers as f64 / total_events as f64;
    estimate.windows = details
        .events
        .iter()
        .map(|e| Window {
            start_s: e.flash_s.min(e.beep_s),
            end_s: e.flash_s.max(e.beep_s),
            offset_ms: Some(e.offset_ms),
            // A flash and its beep are a direct reading, off the line or not.
            confidence: 1.0,
            uncertainty_ms: None,
            match_score: None,
        })
        .collect();
    details.missing_events = period.and_then(|p| missing_events(&details, p));
    estimate.warnings = warnings(&details);
    let ambiguous_share = period.map(|p| fit.offset_ms.abs() / 1000.0 / p);

    if estimate.confidence < MIN_CONFIDENCE {
        estimate.reason =
            format!("only {inliers} of {total_events} flash/beep events pair up consistently");
        estimate.reason_code = Some(ReasonCode::InconsistentEvents);
    } else if let Some(share) = ambiguous_share.filter(|s| *s > AMBIGUOUS_SHARE_OF_PERIOD) {
        let period = period.unwrap_or_default();
        estimate.reason = format!(
            "the flashes and beeps are {:.0} ms apart, {:.0}% of the {period:.3} s period: a \
             flash may belong to the beep of the next or previous period, so neither the size \
             nor the direction of the offset is known (a pattern with a period over {:.1} s \
             would tell)",
            fit.offset_ms.abs(),
            share * 100.0,
            fit.offset_ms.abs() / 1000.0 / AMBIGUOUS_SHARE_OF_PERIOD
        );
        estimate.reason_code = Some(ReasonCode::AmbiguousPeriod);
    } else {
        estimate.offset_ms = Some(fit.offset_ms);
        estimate.uncertainty_ms = Some(uncertainty_ms(&points, &fit, inliers));
        estimate.drift = fit.drift;
        estimate.reason =
            format!("{inliers} of {total_events} flash/beep events pair up consistently");
    }
    estimate.details = details;
    estimate
}

/// Half-width of the 95% interval of the clip's offset: the larger of the inliers' standard
/// error and that of every paired event about the fitted line, so that events off the line
/// widen it; never below [`UNCERTAINTY_FLOOR_MS`].
fn uncertainty_ms(points: &[(f64, f64)], fit: &LineFit, inliers: usize) -> f64 {
    let inlier_ms = fit.sigma_ms.map_or(0.0, |s| Z_95 * s / (inliers as f64).sqrt());
    let slope_ms_per_s = fit.drift.map_or(0.0, |d| d.ms_per_min / 60.0);
    let reference_s = fit.drift.and_then(|d| d.reference_s).unwrap_or(0.0);
    let line = |t: f64| fit.offset_ms + slope_ms_per_s * (t - reference_s);
    let all_ms = if points.len() >= 2 {
        let ss: f64 = points.iter().map(|&(t, o)| (o - line(t)).powi(2)).sum();
        let sigma = (ss / (points.len() - 1) as f64).sqrt();
        Z_95 * sigma / (points.len() as f64).sqrt()
    } else {
        0.0
    };
    inlier_ms.max(all_ms).max(UNCERTAINTY_FLOOR_MS)
}

/// Median interval between consecutive times, or `None` with fewer than two.
fn typical_period(times: &[f64]) -> Option<f64> {
    let mut intervals: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort_by(f64::total_cmp);
    intervals.get(intervals.len() / 2).copied().filter(|p| *p > 0.0)
}

fn mark(len: usize, indices: impl Iterator<Item = usize>) -> Vec<bool> {
    let mut marks = vec![false; len];
    for i in indices {
        marks[i] = true;
    }
    marks
}

/// Index of the time in sorted `times` nearest to `t`.
fn nearest(times: &[f64], t: f64) -> usize {
    let after = times.partition_point(|&x| x < t);
    if after == 0 {
        0
    } else if after == times.len() || t - times[after - 1] <= times[after] - t {
        after - 1
    } else {
        after
    }
}

/// `(flash, beep)` index pairs, one to one, in flash order.
fn pair(flashes: &[f64], beeps: &[f64], period: Option<f64>) -> Vec<(usize, usize)> {
    let window = period.map_or(MAX_UNPERIODIC_PAIR_S, |p| p * PAIR_WINDOW_SHARE_OF_PERIOD);
    // The typical offset, from each flash's nearest beep.
    let mut offsets: Vec<f64> = flashes.iter().map(|&f| f - beeps[nearest(beeps, f)]).collect();
    offsets.sort_by(f64::total_cmp);
    let typical = offsets[offsets.len() / 2];
    // Each flash claims the beep nearest to where the typical offset puts it; a beep claimed
    // twice goes to the closer claim.
    let mut claims: Vec<Option<(usize, f64)>> = vec![None; beeps.len()];
    for (f, &flash) in flashes.iter().enumerate() {
        let expected = flash - typical;
        let b = nearest(beeps, expected);
        let distance = (beeps[b] - expected).abs();
        if distance <= window && claims[b].is_none_or(|(_, d)| distance < d) {
            claims[b] = Some((f, distance));
        }
    }
    let mut pairs: Vec<(usize, usize)> =
        claims.iter().enumerate().filter_map(|(b, c)| c.map(|(f, _)| (f, b))).collect();
    pairs.sort_unstable();
    pairs
}

/// Periods in which neither a flash nor a beep came, when the pattern is regular.
fn missing_events(details: &PatternDetails, period: f64) -> Option<usize> {
    // Every event's time on the flash timeline: flashes, and unpaired beeps moved by the
    // typical offset.
    let mut offsets: Vec<f64> = details.events.iter().map(|e| e.flash_s - e.beep_s).collect();
    offsets.sort_by(f64::total_cmp);
    let typical = offsets.get(offsets.len() / 2).copied().unwrap_or(0.0);
    let mut times: Vec<f64> = details.events.iter().map(|e| e.flash_s).collect();
    times.extend(details.unpaired_flashes_s.iter().copied());
    times.extend(details.unpaired_beeps_s.iter().map(|b| b + typical));
    times.sort_by(f64::total_cmp);
    let periods: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) / period).collect();
    if periods.is_empty() {
        return None;
    }
    let regular = periods
        .iter()
        .filter(|p| (*p - p.round()).abs() <= PERIOD_TOLERANCE_SHARE && p.round() >= 1.0)
        .count();
    if (regular as f64) < MIN_REGULAR_SHARE * periods.len() as f64 {
        return None;
    }
    Some(periods.iter().map(|p| (p.round() as usize).saturating_sub(1)).sum())
}

fn warnings(details: &PatternDetails) -> Vec<String> {
    let mut warnings = Vec::new();
    let list = |times: &[f64]| {
        let shown: Vec<String> = times.iter().take(5).map(|t| format!("{t:.3}")).collect();
        let more = if times.len() > 5 { ", ..." } else { "" };
        format!("{}{more}", shown.join(", "))
    };
    if !details.unpaired_flashes_s.is_empty() {
        warnings.push(format!(
            "{} flash(es) without a beep, at {} s",
            details.unpaired_flashes_s.len(),
            list(&details.unpaired_flashes_s)
        ));
    }
    if !details.unpaired_beeps_s.is_empty() {
        warnings.push(format!(
            "{} beep(s) without a flash, at {} s",
            details.unpaired_beeps_s.len(),
            list(&details.unpaired_beeps_s)
        ));
    }
    if let Some(missing) = details.missing_events.filter(|&m| m > 0) {
        warnings.push(format!("{missing} period(s) with neither flash nor beep"));
    }
    let outliers: Vec<f64> =
        details.events.iter().filter(|e| e.outlier).map(|e| e.flash_s).collect();
    if !outliers.is_empty() {
        warnings.push(format!(
            "{} event(s) off the clip's offset line, at {} s",
            outliers.len(),
            list(&outliers)
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::pattern::{Beep, Flash};

    fn analyses(flashes: &[f64], beeps: &[f64]) -> (FlashAnalysis, BeepAnalysis) {
        let flashes = FlashAnalysis {
            flashes: flashes
                .iter()
                .map(|&t| Flash { time_s: t, frame_pts_s: t, fraction: 1.0 })
                .collect(),
            region_share: 1.0,
            contrast: 200.0,
            luminance: Vec::new(),
        };
        let beeps = BeepAnalysis {
            beeps: beeps
                .iter()
                .map(|&t| Beep {
                    time_s: t,
                    frequency_hz: 1000.0,
                    amplitude: 0.5,
                    phase_refined: true,
                })
                .collect(),
            tone_hz: Some(1000.0),
            phase_locked: true,
        };
        (flashes, beeps)
    }

    #[test]
    fn offset_and_drift_come_from_paired_events() {
        // Audio 20 ms early, growing by 100 ppm: offset(t) = 20 ms + 0.1 ms/s · t.
        let flashes: Vec<f64> = (0..30).map(|k| 0.5 + k as f64).collect();
        let beeps: Vec<f64> = flashes.iter().map(|f| f - 0.020 - 100e-6 * f).collect();
        let (f, b) = analyses(&flashes, &beeps);
        let e = estimate(&f, &b);
        let mean_t = flashes.iter().sum::<f64>() / 30.0;
        assert!((e.offset_ms.unwrap() - (20.0 + 0.1 * mean_t)).abs() < 1e-9);
        let drift = e.drift.unwrap();
        assert!((drift.ppm - 100.0).abs() < 1e-6, "{drift:?}");
        assert!((drift.ms_per_min - 6.0).abs() < 1e-6);
        assert_eq!(e.confidence, 1.0);
        assert_eq!(e.windows.len(), 30);
        assert_eq!(e.details.missing_events, Some(0));
    }

    #[test]
    fn the_pairing_curve_peaks_at_the_offset_within_half_a_period() {
        // Audio 40 ms late, one stray beep 300 ms after a flash.
        let flashes: Vec<f64> = (0..10).map(|k| 1.0 + k as f64).collect();
        let mut beeps: Vec<f64> = flashes.iter().map(|f| f + 0.040).collect();
        beeps.push(5.3);
        let (f, b) = analyses(&flashes, &beeps);
        let e = estimate(&f, &b);
        let curve = pairing_curve(&e.details, e.offset_ms).unwrap();
        assert_eq!(curve.lags_ms.len(), PAIRING_CURVE_POINTS);
        assert_eq!((curve.lags_ms[0], curve.lags_ms[PAIRING_CURVE_POINTS - 1]), (-500.0, 500.0));
        let best =
            (0..curve.scores.len()).max_by(|&i, &j| curve.scores[i].total_cmp(&curve.scores[j]));
        let best = best.unwrap();
        assert!((curve.lags_ms[best] + 40.0).abs() < 0.6, "peak at {} ms", curve.lags_ms[best]);
        assert!((curve.scores[best] - 1.0).abs() < 0.01);
        // The stray beep pairs one flash in ten at -300 ms.
        let at = |ms: f64| curve.scores[((ms + 500.0) / 0.5).round() as usize];
        assert!((at(-300.0) - 0.1).abs() < 0.01, "{}", at(-300.0));
        assert!(at(100.0) < 1e-6);
        assert_eq!(curve.peak_ms, e.offset_ms);
    }

    #[test]
    fn missing_extra_and_stray_events_are_reported_not_averaged_in() {
        let mut flashes: Vec<f64> = (0..20).map(|k| 1.0 + k as f64).collect();
        let mut beeps: Vec<f64> = flashes.iter().map(|f| f + 0.045).collect();
        beeps[7] += 0.010; // one beep 10 ms off
        beeps.remove(3); // flash at 4 s has no beep
        flashes.remove(10); // beep at 11.045 s has no flash
        flashes.remove(14); // period 16 s: neither...
        beeps.retain(|b| (b - 16.045).abs() > 1e-6);
        let (f, b) = analyses(&flashes, &beeps);
        let e = estimate(&f, &b);
        assert!((e.offset_ms.unwrap() + 45.0).abs() < 1e-9, "{:?}", e.offset_ms);
        assert_eq!(e.details.unpaired_flashes_s, [4.0]);
        assert_eq!(e.details.unpaired_beeps_s.len(), 1);
        assert!((e.details.unpaired_beeps_s[0] - 11.045).abs() < 1e-9);
        assert_eq!(e.details.missing_events, Some(1));
        assert_eq!(e.details.events.iter().filter(|e| e.outlier).count(), 1);
        assert!(e.warnings.iter().any(|w| w.contains("without a beep")));
        assert!((e.confidence - 16.0 / 19.0).abs() < 1e-9, "{}", e.confidence);
    }

    #[test]
    fn a_dropped_frame_widens_the_uncertainty_and_its_events_are_graded() {
        // 20 events at 12 ms early; from the 14th on, two dropped frames at 30 fps move the
        // flashes 66.7 ms earlier: those events read 54.7 ms late.
        let flashes: Vec<f64> = (0..20).map(|k| 1.0 + k as f64).collect();
        let beeps: Vec<f64> = flashes
            .iter()
            .enumerate()
            .map(|(k, f)| f - 0.012 + if k >= 14 { 2.0 / 30.0 } else { 0.0 })
            .collect();
        let (f, b) = analyses(&flashes, &beeps);
        let e = estimate(&f, &b);
        let offset = e.offset_ms.unwrap();
        let uncertainty = e.uncertainty_ms.unwrap();
        // The scatter of all 20 events about the line, not the 14 identical ones (±0).
        assert!(uncertainty > 10.0, "{offset} ±{uncertainty}");
        assert!(e.windows.iter().all(|w| w.confidence == 1.0), "every event is graded");
        assert!(e.windows.iter().any(|w| w.offset_ms.unwrap() < -54.0));
    }

    #[test]
    fn an_offset_past_a_third_of_the_period_is_ambiguous_not_a_direction() {
        // Audio 600 ms late with a 1 s period: each flash sits 400 ms after the previous
        // period's beep, which reads as audio 400 ms early.
        let flashes: Vec<f64> = (0..10).map(|k| 0.5 + k as f64).collect();
        let beeps: Vec<f64> = flashes.iter().map(|f| f + 0.6).collect();
        let (f, b) = analyses(&flashes, &beeps);
        let e = estimate(&f, &b);
        assert_eq!(e.offset_ms, None, "{}", e.reason);
        assert_eq!(e.reason_code, Some(ReasonCode::AmbiguousPeriod));
        assert!(e.reason.contains("direction"), "{}", e.reason);
        // 200 ms late with the same period is a measurement.
        let beeps: Vec<f64> = flashes.iter().map(|f| f + 0.2).collect();
        let (f, b) = analyses(&flashes, &beeps);
        assert!((estimate(&f, &b).offset_ms.unwrap() + 200.0).abs() < 1e-6);
    }

    #[test]
    fn nothing_to_pair_is_inconclusive_with_a_reason() {
        let (f, b) = analyses(&[1.0, 2.0], &[]);
        let e = estimate(&f, &b);
        assert_eq!(e.offset_ms, None);
        assert!(e.reason.contains("no beeps"), "{}", e.reason);
        // Beeps that are nowhere near the flashes.
        let (f, b) = analyses(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0]);
        assert_eq!(estimate(&f, &b).offset_ms, None);
    }
}
