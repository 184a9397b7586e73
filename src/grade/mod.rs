//! Tolerance profiles and verdicts.
//!
//! A profile is a pair of limits: how far the audio may lead (be early) and how far it may lag
//! (be late). Limits are stated as positive magnitudes; offsets follow the project's sign
//! (`> 0` = audio early).
//!
//! A measurement fails a profile when any of three rules holds (see [`grade`]): the whole-clip
//! offset is outside, confident windows are outside (under a [`WindowPolicy`]), or the drift
//! carries the offset outside within the clip. An offset whose 95% interval reaches across a
//! limit is *marginal*, which the verdict says in words and [`MarginalPolicy`] may turn into a
//! failure or an inconclusive result.

use crate::error::{Error, Result};
use crate::estimate::reference::stitched::grade_chunks;
use crate::limits::MAX_TOLERANCE_MS;
use crate::media::DEFAULT_MAX_DAMAGED_SHARE;
use crate::report::{
    describe_offset, format_clock, format_uncertainty_ms, GradePolicy, MarginalPolicy, Outcome,
    ReasonCode, Report, Verdict, Window, WindowPolicy, DEFAULT_WINDOW_CONFIDENCE,
};
use serde::{Deserialize, Serialize};

/// The named profiles (**fixed** names; see design.md).
pub const PROFILES: &[ProfileSpec] = &[
    ProfileSpec {
        name: "broadcast",
        early_ms: 30.0,
        late_ms: 90.0,
        source: "the project's broadcast tolerance",
    },
    ProfileSpec {
        name: "cinema",
        early_ms: 22.0,
        late_ms: 22.0,
        source: "half a film frame at 24 fps",
    },
    ProfileSpec { name: "ebu-r37", early_ms: 40.0, late_ms: 60.0, source: "EBU R37" },
    ProfileSpec { name: "atsc", early_ms: 15.0, late_ms: 45.0, source: "ATSC IS-191" },
    ProfileSpec {
        name: "bt1359-detect",
        early_ms: 45.0,
        late_ms: 125.0,
        source: "ITU-R BT.1359-1 detectability",
    },
    ProfileSpec {
        name: "bt1359-accept",
        early_ms: 90.0,
        late_ms: 185.0,
        source: "ITU-R BT.1359-1 acceptability",
    },
];

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "broadcast";

/// Under [`WindowPolicy::Stray`], isolated outside windows are forgiven while they make up at
/// most this share of the confident windows: one stray among five or more.
pub const STRAY_MAX_SHARE: f64 = 0.2;

/// Under [`WindowPolicy::Stray`], outside windows that run on back to back over at least this
/// many window lengths are a sustained excursion, not a stray. Counting time rather than
/// windows keeps overlapping windows, which share their data, from doubling one stray.
pub const SUSTAINED_WINDOW_LENGTHS: f64 = 2.0;

#[derive(Clone, Copy, Debug)]
pub struct ProfileSpec {
    pub name: &'static str,
    pub early_ms: f64,
    pub late_ms: f64,
    pub source: &'static str,
}

/// A tolerance to grade against: a named profile or custom limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// How far the audio may lead the picture, in ms (a positive magnitude).
    pub early_ms: f64,
    /// How far the audio may lag the picture, in ms (a positive magnitude).
    pub late_ms: f64,
}

impl Profile {
    /// A named profile, or custom limits written `+A/-B` (audio early up to A ms, late up to B).
    pub fn parse(text: &str) -> Result<Profile> {
        if let Some(spec) = PROFILES.iter().find(|p| p.name.eq_ignore_ascii_case(text.trim())) {
            return Ok(Profile {
                name: spec.name.to_string(),
                early_ms: spec.early_ms,
                late_ms: spec.late_ms,
            });
        }
        if text.contains('/') {
            return Profile::parse_tolerance(text);
        }
        let names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        Err(Error::usage(format!(
            "unknown profile '{text}': use one of {} or custom limits such as +40/-60",
            names.join(", ")
        )))
    }

    /// Custom limits `+A/-B`: audio may be early by up to A ms and late by up to B ms.
    pub fn parse_tolerance(text: &str) -> Result<Profile> {
        let bad = || {
            Error::usage(format!(
                "tolerance '{text}' must look like +40/-60 (audio early up to 40 ms, late up to 60 ms)"
            ))
        };
        let (early, late) = text.trim().split_once('/').ok_or_else(bad)?;
        let early = early.trim().trim_end_matches("ms");
        let late = late.trim().trim_end_matches("ms");
        if !early.starts_with('+') || !late.starts_with('-') {
            return Err(bad());
        }
        let early_ms: f64 = early[1..].parse().map_err(|_| bad())?;
        let late_ms: f64 = late[1..].parse().map_err(|_| bad())?;
        if !(early_ms.is_finite() && late_ms.is_finite() && early_ms >= 0.0 && late_ms >= 0.0) {
            return Err(bad());
        }
        if early_ms.max(late_ms) > MAX_TOLERANCE_MS {
            return Err(Error::usage(format!(
                "tolerance '{text}': each limit must be at most {MAX_TOLERANCE_MS} ms"
            )));
        }
        Ok(Profile { name: format!("+{early_ms}/-{late_ms}"), early_ms, late_ms })
    }

    /// True when `offset_ms` (`> 0` = audio early) lies within the limits.
    pub fn admits(&self, offset_ms: f64) -> bool {
        offset_ms <= self.early_ms && offset_ms >= -self.late_ms
    }

    /// True when the whole interval `offset_ms ± uncertainty_ms` lies outside the limits.
    fn excludes(&self, offset_ms: f64, uncertainty_ms: f64) -> bool {
        offset_ms - uncertainty_ms > self.early_ms || offset_ms + uncertainty_ms < -self.late_ms
    }

    /// The limits in short form, e.g. `+30/-90 ms`.
    pub fn limits_text(&self) -> String {
        format!("+{}/-{} ms", self.early_ms, self.late_ms)
    }

    /// The profile and its limits in words, e.g.
    /// `broadcast (audio up to 30 ms early, 90 ms late)`.
    pub fn describe(&self) -> String {
        format!("{} (audio up to {} ms early, {} ms late)", self.name, self.early_ms, self.late_ms)
    }
}

/// Everything grading needs besides the report.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeOptions {
    pub profiles: Vec<Profile>,
    pub window_policy: WindowPolicy,
    /// Windows below this confidence (0–1) are not graded.
    pub window_confidence: f64,
    pub marginal: MarginalPolicy,
    /// Above this share (0–1) of damaged packets in a stream, timing verdicts are inconclusive
    /// (see [`crate::media::MediaHealth`]).
    pub max_damaged_share: f64,
}

impl Default for GradeOptions {
    fn default() -> Self {
        GradeOptions {
            profiles: vec![Profile::parse(DEFAULT_PROFILE).expect("the default profile exists")],
            window_policy: WindowPolicy::default(),
            window_confidence: DEFAULT_WINDOW_CONFIDENCE,
            marginal: MarginalPolicy::default(),
            max_damaged_share: DEFAULT_MAX_DAMAGED_SHARE,
        }
    }
}

/// Grades `report` against each profile and sets its verdicts, overall verdict and reason.
///
/// With no profiles in `options`, the default profile is used. An inconclusive measurement
/// (no `offset_ms`) is inconclusive for every profile, with the
/// measurement's own reason. A report that already records an error is left alone. The overall
/// verdict is the worst of the profiles' (fail > inconclusive > pass), so a CI job gates on
/// every profile it names.
pub fn grade(report: &mut Report, options: &GradeOptions) {
    if report.verdict == Outcome::Error {
        return;
    }
    report.grading = Some(GradePolicy {
        window_policy: options.window_policy,
        window_confidence: options.window_confidence,
        marginal: options.marginal,
    });
    let default_profiles;
    let profiles = if options.profiles.is_empty() {
        default_profiles = GradeOptions::default().profiles;
        &default_profiles
    } else {
        &options.profiles
    };
    report.verdicts = profiles.iter().map(|p| grade_one(report, p, options)).collect();
    // Only grading sets this code, over a measurement without one: a regrade starts afresh.
    if report.reason_code == Some(ReasonCode::DamagedMedia) {
        report.reason_code = None;
    }
    let damage = report.media_health.and_then(|h| h.untrusted_reason(options.max_damaged_share));
    if let Some(damage) = damage {
        report.reason_code.get_or_insert(ReasonCode::DamagedMedia);
        for verdict in &mut report.verdicts {
            verdict.result = Outcome::Inconclusive;
            verdict.marginal = false;
            verdict.reason = format!("{damage}; the measurement alone: {}", verdict.reason);
        }
        report.verdict = Outcome::worst(report.verdicts.iter().map(|v| v.result));
        report.marginal = false;
        report.reason = damage;
        return;
    }
    if let Some(shortfall) = missing_required_reference(report) {
        let reason = format!("{shortfall}, and --require-reference asks for all of it");
        for verdict in &mut report.verdicts {
            verdict.result = Outcome::Fail;
            verdict.marginal = false;
            verdict.reason = reason.clone();
        }
        report.reason_code = Some(if report.offset_ms.is_some() {
            ReasonCode::ReferencePartial
        } else {
            ReasonCode::ReferenceNotFound
        });
        report.verdict = Outcome::Fail;
        report.marginal = false;
        report.reason = reason;
        return;
    }
    // A stitched output (compare --plan) is graded chunk by chunk as well.
    if let Some(details) = report.reference.as_mut() {
        grade_chunks(&mut details.chunks, &mut report.verdicts);
    }
    report.verdict = Outcome::worst(report.verdicts.iter().map(|v| v.result));
    report.marginal = report.verdicts.iter().any(|v| v.marginal && v.result == report.verdict);
    if report.offset_ms.is_none() {
        return;
    }
    let deciding = report.verdicts.iter().find(|v| v.result == report.verdict);
    if let Some(verdict) = deciding {
        report.reason = if report.verdicts.len() == 1 {
            verdict.reason.clone()
        } else {
            let passed: Vec<&str> = report
                .verdicts
                .iter()
                .filter(|v| v.result == Outcome::Pass)
                .map(|v| v.profile.as_str())
                .collect();
            match verdict.result {
                Outcome::Pass => format!("passes {}: {}", passed.join(", "), verdict.reason),
                other => format!("{} {}: {}", other.as_str(), verdict.profile, verdict.reason),
            }
        };
    }
}

/// What is missing of a reference that must play whole (`compare --require-reference`).
fn missing_required_reference(report: &Report) -> Option<String> {
    report.reference.as_ref().filter(|r| r.required).and_then(|r| r.shortfall())
}

fn grade_one(report: &Report, profile: &Profile, options: &GradeOptions) -> Verdict {
    let mut verdict = Verdict {
        profile: profile.name.clone(),
        early_ms: profile.early_ms,
        late_ms: profile.late_ms,
        result: Outcome::Inconclusive,
        reason: String::new(),
        marginal: false,
        outside_windows: Vec::new(),
        leaves_tolerance_at_s: None,
    };
    let Some(offset) = report.offset_ms else {
        verdict.reason = if report.reason.is_empty() {
            "nothing could be measured".to_string()
        } else {
            report.reason.clone()
        };
        return verdict;
    };
    let mut failures = Vec::new();
    let mut notes = Vec::new();

    // Rule 1: the whole-clip offset, with its uncertainty.
    let mut words = describe_offset(offset);
    if let Some(u) = report.uncertainty_ms {
        words.push_str(&format!(" ±{}", format_uncertainty_ms(u)));
    }
    let inside = profile.admits(offset);
    if inside {
        notes.push(format!("{words} is within {}", profile.describe()));
    } else {
        failures.push(format!("{words} is outside {}", profile.describe()));
    }
    if let Some(crossed) = report.uncertainty_ms.and_then(|u| crossed_limits(profile, offset, u)) {
        verdict.marginal = true;
        let side = if inside { "marginal pass" } else { "marginal fail" };
        let note = format!("its 95% interval reaches past the {crossed}: {side}");
        if inside {
            notes.push(note);
        } else {
            failures.push(note);
        }
    }

    // Rule 2: confident windows.
    let confident: Vec<(usize, &Window)> = report
        .windows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.offset_ms.is_some() && w.confidence >= options.window_confidence)
        .collect();
    let outside: Vec<usize> = confident
        .iter()
        .enumerate()
        .filter(|(_, (_, w))| window_outside(profile, w))
        .map(|(rank, _)| rank)
        .collect();
    verdict.outside_windows = outside.iter().map(|&rank| confident[rank].0).collect();
    if !outside.is_empty() && options.window_policy != WindowPolicy::Ignore {
        let share = outside.len() as f64 / confident.len() as f64;
        let fails = match options.window_policy {
            WindowPolicy::Any => true,
            WindowPolicy::Stray => {
                sustained_excursion(&confident, &outside) || share > STRAY_MAX_SHARE
            }
            WindowPolicy::Ignore => false,
        };
        let first = confident[outside[0]].1;
        let summary = format!(
            "{} of {} confident windows {} outside, the first at {}–{} ({})",
            outside.len(),
            confident.len(),
            if outside.len() == 1 { "is" } else { "are" },
            format_clock(first.start_s),
            format_clock(first.end_s),
            describe_offset(first.offset_ms.unwrap_or(0.0)),
        );
        if fails {
            failures.push(summary);
        } else {
            notes.push(format!("{summary}; ignored as isolated strays (window policy 'stray')"));
        }
    }

    // Rule 3: drift carrying the offset outside within the measured span.
    if let Some(exit) = drift_exit(report, profile) {
        verdict.leaves_tolerance_at_s = Some(exit.time_s);
        if inside {
            failures.push(format!(
                "a drift of {:+.1} ms/min carries it past the {} at {}",
                exit.ms_per_min,
                exit.limit,
                format_clock(exit.time_s)
            ));
        }
    }

    let central = if failures.is_empty() { Outcome::Pass } else { Outcome::Fail };
    verdict.result = match (verdict.marginal, options.marginal) {
        (true, MarginalPolicy::Fail) => Outcome::Fail,
        (true, MarginalPolicy::Inconclusive) => Outcome::Inconclusive,
        _ => central,
    };
    let mut parts = if failures.is_empty() { notes } else { failures };
    if verdict.marginal && options.marginal != MarginalPolicy::Central {
        parts.push(format!("graded {} by the marginal policy", verdict.result.as_str()));
    }
    verdict.reason = parts.join("; ");
    verdict
}

/// A measured window outside the profile: its offset, and its whole 95% interval where it has
/// one (content-mode windows scatter by tens of ms; a window just past a limit is no evidence).
fn window_outside(profile: &Profile, window: &Window) -> bool {
    window.offset_ms.is_some_and(|o| profile.excludes(o, window.uncertainty_ms.unwrap_or(0.0)))
}

/// True when outside windows (ranks into `confident`) follow each other back to back, each
/// starting before the previous one ends, over at least [`SUSTAINED_WINDOW_LENGTHS`] window
/// lengths.
fn sustained_excursion(confident: &[(usize, &Window)], outside: &[usize]) -> bool {
    let length = |w: &Window| w.end_s - w.start_s;
    let mut run_start = 0;
    for k in 0..outside.len() {
        if k > 0 {
            let (prev, next) = (confident[outside[k - 1]].1, confident[outside[k]].1);
            let joined = outside[k] == outside[k - 1] + 1 && next.start_s <= prev.end_s + 1e-9;
            if !joined {
                run_start = k;
            }
        }
        let first = confident[outside[run_start]].1;
        let last = confident[outside[k]].1;
        if last.end_s - first.start_s >= SUSTAINED_WINDOW_LENGTHS * length(first) - 1e-9 {
            return true;
        }
    }
    false
}

/// The limits that lie inside the interval `offset ± half_width`, in words, if any.
fn crossed_limits(profile: &Profile, offset: f64, half_width: f64) -> Option<&'static str> {
    let (low, high) = (offset - half_width, offset + half_width);
    let early = low < profile.early_ms && high > profile.early_ms;
    let late = low < -profile.late_ms && high > -profile.late_ms;
    match (early, late) {
        (true, true) => Some("early and late limits"),
        (true, false) => Some("early limit"),
        (false, true) => Some("late limit"),
        (false, false) => None,
    }
}

struct DriftExit {
    time_s: f64,
    ms_per_min: f64,
    limit: &'static str,
}

/// Where the drift line leaves the profile's limits within the measured span, if it does.
///
/// The line passes through `offset_ms` at the drift's reference time and is followed over the
/// span the windows cover (or the whole duration). A drift whose 95% interval includes zero is
/// not significant and carries nothing anywhere.
fn drift_exit(report: &Report, profile: &Profile) -> Option<DriftExit> {
    let drift = report.drift?;
    let offset = report.offset_ms?;
    if drift.uncertainty_ppm.is_some_and(|u| drift.ppm.abs() <= u) || drift.ms_per_min == 0.0 {
        return None;
    }
    let (start_s, end_s) = report.measured_span_s()?;
    let reference_s = drift.reference_s.unwrap_or((start_s + end_s) / 2.0);
    let slope_ms_per_s = drift.ms_per_min / 60.0;
    let at = |t: f64| offset + slope_ms_per_s * (t - reference_s);
    let (limit_ms, limit) = if slope_ms_per_s > 0.0 {
        (profile.early_ms, "early limit")
    } else {
        (-profile.late_ms, "late limit")
    };
    let time_s = if !profile.admits(at(start_s)) {
        start_s
    } else if !profile.admits(at(end_s)) {
        reference_s + (limit_ms - offset) / slope_ms_per_s
    } else {
        return None;
    };
    Some(DriftExit { time_s: time_s.clamp(start_s, end_s), ms_per_min: drift.ms_per_min, limit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Drift, InputSummary, Method};

    #[test]
    fn damaged_media_gets_a_code_that_a_lenient_regrade_clears() {
        let mut report = measured(0.0, 20.0, &[]);
        let video = crate::media::StreamHealth {
            packets: 100,
            decode_errors: 3,
            ..crate::media::StreamHealth::default()
        };
        report.media_health = Some(crate::media::MediaHealth { video: Some(video), audio: None });
        grade(&mut report, &GradeOptions::default());
        assert_eq!(report.verdict, Outcome::Inconclusive);
        assert_eq!(report.reason_code, Some(ReasonCode::DamagedMedia));
        grade(&mut report, &GradeOptions { max_damaged_share: 0.5, ..GradeOptions::default() });
        assert_eq!(report.verdict, Outcome::Pass);
        assert_eq!(report.reason_code, None);
    }

    #[test]
    fn named_profiles_and_custom_limits_parse() {
        let broadcast = Profile::parse("broadcast").unwrap();
        assert_eq!((broadcast.early_ms, broadcast.late_ms), (30.0, 90.0));
        assert!(broadcast.admits(30.0) && broadcast.admits(-90.0));
        assert!(!broadcast.admits(31.0) && !broadcast.admits(-91.0));
        let custom = Profile::parse("+40/-60").unwrap();
        assert_eq!((custom.early_ms, custom.late_ms), (40.0, 60.0));
        assert_eq!(custom.limits_text(), "+40/-60 ms");
        assert!(Profile::parse("40/60").is_err());
        assert!(Profile::parse("tv").unwrap_err().to_string().contains("unknown profile"));
        for spec in PROFILES {
            assert_eq!(Profile::parse(spec.name).unwrap().name, spec.name);
        }
    }

    fn measured(offset_ms: f64, uncertainty_ms: f64, windows: &[(f64, f64)]) -> Report {
        let mut report = Report::new(
            InputSummary {
                path: "clip.mp4".into(),
                duration_s: Some(windows.len() as f64 * 4.0),
                video: None,
                audio: None,
                audio_path: None,
            },
            Method::Content,
        );
        report.offset_ms = Some(offset_ms);
        report.uncertainty_ms = Some(uncertainty_ms);
        report.confidence = 0.9;
        report.windows = windows
            .iter()
            .enumerate()
            .map(|(i, &(offset, confidence))| Window {
                start_s: i as f64 * 4.0,
                end_s: i as f64 * 4.0 + 4.0,
                offset_ms: Some(offset),
                confidence,
                uncertainty_ms: None,
                match_score: None,
            })
            .collect();
        report
    }

    fn options(profiles: &[&str], window_policy: WindowPolicy) -> GradeOptions {
        GradeOptions {
            profiles: profiles.iter().map(|p| Profile::parse(p).unwrap()).collect(),
            window_policy,
            ..GradeOptions::default()
        }
    }

    #[test]
    fn whole_clip_offset_decides_each_profile() {
        let mut report = measured(-38.0, 4.0, &[(-38.0, 0.9); 4]);
        grade(&mut report, &options(&["broadcast", "cinema"], WindowPolicy::Stray));
        let results: Vec<Outcome> = report.verdicts.iter().map(|v| v.result).collect();
        assert_eq!(results, [Outcome::Pass, Outcome::Fail]);
        assert_eq!(report.verdict, Outcome::Fail);
        // Two significant digits below 10 ms (the WIP's format_uncertainty_ms): ±4.0, not ±4.
        assert!(report.verdicts[1]
            .reason
            .starts_with("audio 38 ms late ±4.0 ms is outside cinema"));
        assert!(report.reason.starts_with("fail cinema: audio 38 ms late"), "{}", report.reason);
        assert!(!report.verdicts[0].marginal);
        assert!(!report.marginal);
    }

    #[test]
    fn an_interval_across_a_limit_is_marginal_not_a_clean_pass() {
        let mut report = measured(-85.0, 10.0, &[(-85.0, 0.9); 4]);
        grade(&mut report, &GradeOptions::default());
        let verdict = &report.verdicts[0];
        assert_eq!(verdict.result, Outcome::Pass);
        assert!(verdict.marginal);
        assert!(report.marginal, "the top level says the pass is marginal");
        assert!(verdict.reason.contains("reaches past the late limit: marginal pass"));

        let strict = GradeOptions { marginal: MarginalPolicy::Fail, ..GradeOptions::default() };
        grade(&mut report, &strict);
        assert_eq!(report.verdict, Outcome::Fail);
        assert!(report.reason.contains("graded fail by the marginal policy"));

        let undecided =
            GradeOptions { marginal: MarginalPolicy::Inconclusive, ..GradeOptions::default() };
        grade(&mut report, &undecided);
        assert_eq!(report.verdict.exit_code(), 3);
    }

    #[test]
    fn one_stray_window_among_many_is_forgiven_but_a_sustained_excursion_fails() {
        let mut windows = [(5.0, 0.9); 6];
        windows[2] = (-180.0, 0.8);
        let mut report = measured(5.0, 3.0, &windows);
        grade(&mut report, &options(&["broadcast"], WindowPolicy::Stray));
        assert_eq!(report.verdict, Outcome::Pass, "{}", report.reason);
        assert_eq!(report.verdicts[0].outside_windows, [2]);
        assert!(report.reason.contains("ignored as isolated strays"));

        grade(&mut report, &options(&["broadcast"], WindowPolicy::Any));
        assert_eq!(report.verdict, Outcome::Fail);
        assert!(report.reason.contains("1 of 6 confident windows is outside, the first at 0:08.0"));

        windows[3] = (-170.0, 0.8);
        let mut report = measured(5.0, 3.0, &windows);
        grade(&mut report, &options(&["broadcast"], WindowPolicy::Stray));
        assert_eq!(report.verdict, Outcome::Fail);
        grade(&mut report, &options(&["broadcast"], WindowPolicy::Ignore));
        assert_eq!(report.verdict, Outcome::Pass);
    }

    #[test]
    fn a_window_whose_interval_reaches_inside_is_not_outside() {
        // Whole clip +25 ms; one of four windows at +34 ms: outside broadcast's +30 alone
        // (more than 20% of the windows: fail), but not with its ±10 ms interval.
        let mut report = measured(25.0, 5.0, &[(24.0, 0.9), (34.0, 0.9), (20.0, 0.9), (25.0, 0.9)]);
        grade(&mut report, &GradeOptions::default());
        assert_eq!(report.verdict, Outcome::Fail);
        report.windows.iter_mut().for_each(|w| w.uncertainty_ms = Some(10.0));
        grade(&mut report, &GradeOptions::default());
        assert_eq!(report.verdict, Outcome::Pass, "{}", report.reason);
        assert!(report.verdicts[0].outside_windows.is_empty());
        // 60 ms early with ±10: outside whatever its interval.
        report.windows[1].offset_ms = Some(60.0);
        grade(&mut report, &GradeOptions::default());
        assert_eq!(report.verdicts[0].outside_windows, [1]);
    }

    #[test]
    fn overlapping_windows_that_share_one_stray_are_not_a_sustained_excursion() {
        // 4 s windows every 2 s: windows 4 and 5 overlap and both see the same bad stretch.
        let mut report = measured(0.0, 3.0, &[(0.0, 0.9); 16]);
        for (i, w) in report.windows.iter_mut().enumerate() {
            w.start_s = i as f64 * 2.0;
            w.end_s = w.start_s + 4.0;
        }
        report.windows[4].offset_ms = Some(-150.0);
        report.windows[5].offset_ms = Some(-150.0);
        grade(&mut report, &options(&["broadcast"], WindowPolicy::Stray));
        assert_eq!(report.verdict, Outcome::Pass, "{}", report.reason);
        // A third in a row covers 8 s, two window lengths: sustained (while 3 of 16 stays
        // under the share limit).
        report.windows[6].offset_ms = Some(-150.0);
        grade(&mut report, &options(&["broadcast"], WindowPolicy::Stray));
        assert_eq!(report.verdict, Outcome::Fail, "{}", report.reason);
    }

    #[test]
    fn unconfident_windows_are_not_graded() {
        let mut windows = [(5.0, 0.9); 4];
        windows[1] = (-300.0, 0.2);
        windows[2] = (-300.0, 0.3);
        let mut report = measured(5.0, 3.0, &windows);
        grade(&mut report, &options(&["broadcast"], WindowPolicy::Any));
        assert_eq!(report.verdict, Outcome::Pass, "{}", report.reason);
    }

    #[test]
    fn drift_that_leaves_tolerance_fails_and_says_when() {
        // 60 s measured, -40 ms at the middle, drifting -60 ms/min: from -10 ms at 0 s to
        // -70 ms at 60 s. It stays within broadcast (late limit 90 ms) and crosses the late
        // limit of ebu-r37 (60 ms) at 50 s.
        let mut report = measured(-40.0, 3.0, &[(-40.0, 0.9); 15]);
        report.drift = Some(Drift {
            ms_per_min: -60.0,
            ppm: -1000.0,
            uncertainty_ppm: Some(5.0),
            reference_s: None,
        });
        grade(&mut report, &options(&["broadcast", "ebu-r37"], WindowPolicy::Ignore));
        assert_eq!(report.verdicts[0].result, Outcome::Pass);
        assert_eq!(report.verdicts[0].leaves_tolerance_at_s, None);
        let ebu = &report.verdicts[1];
        assert_eq!(ebu.result, Outcome::Fail);
        let exit = ebu.leaves_tolerance_at_s.unwrap();
        assert!((exit - 50.0).abs() < 1e-9, "{exit}");
        assert!(ebu
            .reason
            .contains("drift of -60.0 ms/min carries it past the late limit at 0:50.0"));

        // The same slope inside its own uncertainty is not significant.
        report.drift.as_mut().unwrap().uncertainty_ppm = Some(1500.0);
        grade(&mut report, &options(&["ebu-r37"], WindowPolicy::Ignore));
        assert_eq!(report.verdict, Outcome::Pass);
    }

    #[test]
    fn an_inconclusive_measurement_is_inconclusive_for_every_profile() {
        let mut report = measured(0.0, 0.0, &[]);
        report.offset_ms = None;
        report.reason = "the audio does not match the lips anywhere".into();
        grade(&mut report, &options(&["broadcast", "cinema"], WindowPolicy::Stray));
        assert!(report.verdicts.iter().all(|v| v.result == Outcome::Inconclusive
            && v.reason == "the audio does not match the lips anywhere"));
        assert_eq!(report.verdict.exit_code(), 3);
    }
}
