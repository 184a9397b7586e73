//! The one report every mode produces, and its renderings.
//!
//! `Report` is what JSON readers see (schema `avsync/1`, see design.md); text and the other
//! formats are rendered from it, so every output says the same thing.

mod output;
mod text;

pub use output::{emit, write_text, OutputOptions};
pub use text::{describe_offset, summary_line};

use crate::estimate::reference::ReferenceDetails;
use crate::media::{MediaInfo, StreamInfo};
use serde::{Deserialize, Serialize};

/// Version tag of the JSON layout; bump when a field changes meaning or goes away.
pub const SCHEMA: &str = "avsync/1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub input: InputSummary,
    pub method: Method,
    /// Whole-clip offset in ms; `> 0` = audio early. `None` when inconclusive.
    pub offset_ms: Option<f64>,
    /// Half-width of the 95% interval around `offset_ms`, in ms.
    pub uncertainty_ms: Option<f64>,
    /// 0–1: how sure the measurement is (its meaning is documented per method).
    pub confidence: f64,
    pub drift: Option<Drift>,
    pub windows: Vec<Window>,
    pub verdicts: Vec<Verdict>,
    pub verdict: Outcome,
    /// Why the overall verdict is what it is, in words.
    pub reason: String,
    pub warnings: Vec<String>,
    /// What `compare` found against the reference audio and video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceDetails>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputSummary {
    pub path: String,
    pub duration_s: Option<f64>,
    pub video: Option<StreamInfo>,
    pub audio: Option<StreamInfo>,
    /// The separate file the audio came from (`--audio`), when not the input's own track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_path: Option<String>,
}

impl InputSummary {
    /// The analysed streams of a probed file.
    pub fn from_media(info: &MediaInfo) -> Self {
        let stream = |index: Option<usize>| index.map(|i| info.streams[i].clone());
        InputSummary {
            path: info.path.clone(),
            duration_s: info.duration_s,
            video: stream(info.analysed_video),
            audio: stream(info.analysed_audio),
            audio_path: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Content,
    Reference,
    Pattern,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub ms_per_min: f64,
    pub ppm: f64,
    /// Half-width of the 95% interval around `ppm`.
    pub uncertainty_ppm: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
    pub offset_ms: Option<f64>,
    pub confidence: f64,
}

/// The grade against one profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub profile: String,
    pub early_ms: f64,
    pub late_ms: f64,
    pub result: Outcome,
    pub reason: String,
}

/// The outcome of a check; the order of severity for batches is error > fail > inconclusive >
/// pass (design.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
    Error,
}

impl Outcome {
    /// The process exit code (**fixed**: 0 pass, 1 fail, 3 inconclusive, 4 error).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Inconclusive => 3,
            Outcome::Error => 4,
        }
    }

    fn severity(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Inconclusive => 1,
            Outcome::Fail => 2,
            Outcome::Error => 3,
        }
    }

    /// The outcome that wins when several inputs are checked together.
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes.into_iter().max_by_key(|o| o.severity()).unwrap_or(Outcome::Pass)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_outcome_follows_design_order() {
        use Outcome::*;
        assert_eq!(Outcome::worst([Pass, Inconclusive]), Inconclusive);
        assert_eq!(Outcome::worst([Inconclusive, Fail, Pass]), Fail);
        assert_eq!(Outcome::worst([Fail, Error]), Error);
        assert_eq!(Outcome::worst([]), Pass);
        assert_eq!([Pass, Fail, Inconclusive, Error].map(Outcome::exit_code), [0, 1, 3, 4]);
    }
}
