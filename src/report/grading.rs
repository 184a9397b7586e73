//! The rules a report was graded under (see [`crate::grade`], which applies them).

use serde::{Deserialize, Serialize};

/// Windows whose confidence is below this are shown but not graded, by default.
pub const DEFAULT_WINDOW_CONFIDENCE: f64 = 0.5;

/// How per-window offsets count towards a verdict. Only confident windows (confidence at or
/// above [`crate::grade::GradeOptions::window_confidence`], with an offset) are graded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WindowPolicy {
    /// Any confident window outside the limits fails the profile.
    Any,
    /// Isolated outside windows are measurement strays and are forgiven; the profile fails
    /// when outside windows run on back to back over two window lengths or more (a sustained
    /// excursion), or make up more than 20% of the confident windows.
    #[default]
    Stray,
    /// Windows do not affect the verdict (whole-clip offset and drift only).
    Ignore,
}

impl WindowPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowPolicy::Any => "any",
            WindowPolicy::Stray => "stray",
            WindowPolicy::Ignore => "ignore",
        }
    }
}

/// What becomes of a verdict whose offset's 95% interval reaches across a limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MarginalPolicy {
    /// Pass or fail by the central value, flagged marginal and said in the reason.
    #[default]
    Central,
    /// A marginal verdict fails.
    Fail,
    /// A marginal verdict is inconclusive (exit 3): the measurement cannot decide.
    Inconclusive,
}

impl MarginalPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MarginalPolicy::Central => "central",
            MarginalPolicy::Fail => "fail",
            MarginalPolicy::Inconclusive => "inconclusive",
        }
    }
}

/// The rules a report was graded under, recorded in it so that readers (and the plots) know
/// which windows counted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradePolicy {
    pub window_policy: WindowPolicy,
    pub window_confidence: f64,
    pub marginal: MarginalPolicy,
}
