//! Tolerance profiles and verdicts.
//!
//! A profile is a pair of limits: how far the audio may lead (be early) and how far it may lag
//! (be late). Limits are stated as positive magnitudes; offsets follow the project's sign
//! (`> 0` = audio early).

use crate::error::{Error, Result};
use crate::report::{describe_offset, Outcome, Report, Verdict};
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
        Ok(Profile { name: format!("+{early_ms}/-{late_ms}"), early_ms, late_ms })
    }

    /// True when `offset_ms` (`> 0` = audio early) lies within the limits.
    pub fn admits(&self, offset_ms: f64) -> bool {
        offset_ms <= self.early_ms && offset_ms >= -self.late_ms
    }
}

/// Grades `report` against each profile and sets its verdicts, overall verdict and reason.
///
/// An inconclusive measurement is inconclusive for every profile. Otherwise a profile fails
/// when the whole-clip offset lies outside its limits.
pub fn grade(report: &mut Report, profiles: &[Profile]) {
    report.verdicts = profiles.iter().map(|p| grade_one(report, p)).collect();
    report.verdict = Outcome::worst(report.verdicts.iter().map(|v| v.result));
    if let Some(first) = report.verdicts.iter().find(|v| v.result == report.verdict) {
        if report.offset_ms.is_some() {
            report.reason = first.reason.clone();
        }
    }
}

fn grade_one(report: &Report, profile: &Profile) -> Verdict {
    let (result, reason) = match report.offset_ms {
        None => (Outcome::Inconclusive, report.reason.clone()),
        Some(offset) => {
            let words = describe_offset(offset);
            let limits = format!(
                "{}: audio may be up to {} ms early and {} ms late",
                profile.name, profile.early_ms, profile.late_ms
            );
            if profile.admits(offset) {
                (Outcome::Pass, format!("{words} is within {limits}"))
            } else {
                (Outcome::Fail, format!("{words} is outside {limits}"))
            }
        }
    };
    Verdict {
        profile: profile.name.clone(),
        early_ms: profile.early_ms,
        late_ms: profile.late_ms,
        result,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_profiles_and_custom_limits_parse() {
        let broadcast = Profile::parse("broadcast").unwrap();
        assert_eq!((broadcast.early_ms, broadcast.late_ms), (30.0, 90.0));
        assert!(broadcast.admits(30.0) && broadcast.admits(-90.0));
        assert!(!broadcast.admits(31.0) && !broadcast.admits(-91.0));
        let custom = Profile::parse("+40/-60").unwrap();
        assert_eq!((custom.early_ms, custom.late_ms), (40.0, 60.0));
        assert!(Profile::parse("40/60").is_err());
        assert!(Profile::parse("tv").unwrap_err().to_string().contains("unknown profile"));
    }
}
