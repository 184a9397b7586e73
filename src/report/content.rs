//! What content mode found (`check`): the report's `content` object.

use serde::{Deserialize, Serialize};

/// What content mode found, for the report's `content` object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentDetails {
    /// The face matched: "face N" (a tracker id) or "largest face" (the largest face of each
    /// frame); `None` when no face qualified.
    pub face: Option<String>,
    /// Where the matched face sits in the picture; set by `check`, which sees the face boxes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_position: Option<FacePosition>,
    /// Share of video frames with a face.
    pub face_share: f64,
    /// Seconds of speech in the audio.
    pub speech_s: f64,
    /// The lag of the correlation peak before the lip-lead correction (ms, report sign).
    pub raw_offset_ms: Option<f64>,
    pub lip_lead_ms: f64,
    /// Height of the whole-clip correlation peak (mean of the per-feature correlations).
    pub peak_correlation: Option<f64>,
    /// Peak height in null standard deviations above the null peaks' mean.
    pub z: Option<f64>,
    pub min_z: f64,
    pub null_mean: Option<f64>,
    pub null_sd: Option<f64>,
    pub search_ms: f64,
    pub window_s: f64,
    pub hop_s: f64,
    /// How well the lips follow the speech, 0–100 whatever the offset ([`crate::estimate::content::match_score`]).
    #[serde(default)]
    pub match_score: Option<f64>,
    /// Where the lips do not follow the speech (windows scored below [`crate::estimate::content::UNMATCHED_SCORE`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<Span>,
    /// `check --calibrate-with`: the speaker's own lip lead, and both readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// A speaker's own lip lead, measured on a clip of them known to be in sync, in place of the
/// population's [`crate::estimate::content::SPEECH_LIP_LEAD_MS`]. The lead enters every reading additively, so a reading
/// under one lead converts to the other exactly: `offset(lead) = offset(L0) − L0 + lead`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The in-sync clip.
    pub clip: String,
    /// The lead measured on it (ms; lips ahead of the sound), `None` when the clip could not be
    /// measured.
    pub lip_lead_ms: Option<f64>,
    /// 95% half-width of that lead: the clip's own statistical uncertainty.
    pub lip_lead_uncertainty_ms: Option<f64>,
    /// The reading with the population lead, and its uncertainty (speaker spread included).
    pub uncalibrated_offset_ms: Option<f64>,
    pub uncalibrated_uncertainty_ms: Option<f64>,
    /// The reading with the speaker's lead, and the uncertainty the two measurements allow.
    pub calibrated_offset_ms: Option<f64>,
    pub calibrated_uncertainty_ms: Option<f64>,
    /// Which reading the report's `offset_ms` is.
    pub used: CalibrationUsed,
}

/// Which lead the report's offset was read with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationUsed {
    /// The speaker's lead, measured on the calibration clip.
    Calibrated,
    /// The population's lead: the calibration clip could not be measured.
    #[default]
    Uncalibrated,
}

impl Calibration {
    /// The lead to measure with: the speaker's when known, else `population_ms`.
    pub fn lead_ms(&self, population_ms: f64) -> f64 {
        self.lip_lead_ms.unwrap_or(population_ms)
    }

    /// The uncertainty of the reading used.
    pub fn used_uncertainty_ms(&self) -> Option<f64> {
        match self.used {
            CalibrationUsed::Calibrated => self.calibrated_uncertainty_ms,
            CalibrationUsed::Uncalibrated => self.uncalibrated_uncertainty_ms,
        }
    }
}

/// A stretch of the clip, in presentation seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start_s: f64,
    pub end_s: f64,
}

/// Where the measured face sits across the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FacePosition {
    Left,
    Centre,
    Right,
    /// The only face tracked in the clip: its place says nothing more.
    Only,
}

impl FacePosition {
    /// In words: "right face", "the only face".
    pub fn label(self) -> &'static str {
        match self {
            FacePosition::Left => "left face",
            FacePosition::Centre => "centre face",
            FacePosition::Right => "right face",
            FacePosition::Only => "the only face",
        }
    }
}

/// The measured face in words: its position with the tracker's name after it, "right face
/// (face 1)"; the name alone when the position is unknown (a report saved without it).
pub fn describe_face(face: &str, position: Option<FacePosition>) -> String {
    match position {
        Some(position) => format!("{} ({face})", position.label()),
        None => face.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_face_is_named_by_its_place_then_its_tracker_name() {
        assert_eq!(describe_face("face 1", Some(FacePosition::Right)), "right face (face 1)");
        assert_eq!(describe_face("face 0", Some(FacePosition::Only)), "the only face (face 0)");
        assert_eq!(describe_face("largest face", None), "largest face");
        assert_eq!(serde_json::to_value(FacePosition::Centre).unwrap(), "centre");
    }
}
