//! What a reference comparison found (`compare`): the report's `reference` object.

use super::{Drift, Outcome};
use serde::{Deserialize, Serialize};

/// Where the reference audio was meant to go in the output (Kling's `sound_insert_time` and
/// `sound_start_time`): reference time `ref_start_s` at output time `output_start_s`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub output_start_s: f64,
    pub ref_start_s: f64,
}

impl Placement {
    /// The `t_ref − t_out` this placement means.
    pub fn offset_s(&self) -> f64 {
        self.ref_start_s - self.output_start_s
    }
}

/// The compare-specific part of a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceDetails {
    pub audio_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_ref: Option<String>,
    /// Where the reference audio was meant to go (default: its start at the output's 0 s).
    pub expected: Placement,
    /// How much earlier the output plays the reference audio than `expected` places it, in
    /// ms (`> 0`: early). `None` when the reference audio was not found.
    pub audio_offset_ms: Option<f64>,
    pub audio_offset_uncertainty_ms: Option<f64>,
    /// 0–1: how sure the audio match is (see the README).
    pub audio_confidence: f64,
    /// Start of the reference section found, in the reference's time (s).
    pub ref_start_s: Option<f64>,
    /// Where that section begins in the output (s).
    pub output_start_s: Option<f64>,
    /// Output time covered by the reference, over all segments (s).
    pub duration_s: Option<f64>,
    /// Output level minus reference level over the main segment, dB.
    pub gain_db: Option<f64>,
    pub polarity_inverted: bool,
    /// Sample rate the audio was compared at, and the band used (Hz).
    pub sample_rate_hz: u32,
    pub band_hz: [f64; 2],
    /// Stretches of the output that each play one continuous stretch of the reference; more
    /// than one means splices.
    pub segments: Vec<SegmentReport>,
    /// Joints between consecutive segments, in words and numbers.
    pub splices: Vec<Splice>,
    /// How much earlier the output shows the reference video, in ms (`> 0`: early).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_offset_ms: Option<f64>,
    /// True when the reference video is a still picture, whose offset cannot be measured.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub video_still: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_matched_frames: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_output_frames: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate_change: Option<FrameRateChange>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub dropped_frames: Vec<FrameEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub repeated_frames: Vec<FrameEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub frozen_frames: Vec<FrozenSpan>,
    /// What `offset_ms` assumes, in words (e.g. that the video timeline was kept).
    pub basis: String,
    /// Length of the reference section meant to play: from `expected.ref_start_s` to the end
    /// of the reference audio (s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_section_s: Option<f64>,
    /// Share (0–1) of that section the output plays, over all segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_found_share: Option<f64>,
    /// The whole reference must play (`--require-reference`): grading fails an output that
    /// lacks it or plays only part of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// With `--plan`: each chunk of a stitched output measured on its own, and the joints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<StitchedChunk>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seams: Vec<Seam>,
}

impl ReferenceDetails {
    /// Records how long the reference section is (`reference_s`: the reference audio's
    /// length) and what share of it the segments play.
    pub fn set_reference_length(&mut self, reference_s: f64) {
        let section_s = (reference_s - self.expected.ref_start_s).max(0.0);
        let found_s: f64 =
            self.segments.iter().map(|s| (s.ref_end_s - s.ref_start_s).max(0.0)).sum();
        self.ref_section_s = Some(section_s);
        self.ref_found_share =
            Some(if section_s > 0.0 { (found_s / section_s).clamp(0.0, 1.0) } else { 0.0 });
    }

    /// When the output lacks the reference or plays only part of it, that in words: e.g.
    /// "the output plays 4.00 s of the 5.02 s reference audio (80%)".
    pub fn shortfall(&self) -> Option<String> {
        if self.audio_offset_ms.is_none() {
            return Some("the reference audio does not occur in the output".to_string());
        }
        let (section_s, share) = (self.ref_section_s?, self.ref_found_share?);
        ((1.0 - share) * section_s > REFERENCE_MISSING_TOLERANCE_S).then(|| {
            format!(
                "the output plays {:.2} s of the {section_s:.2} s reference audio ({:.0}%)",
                share * section_s,
                share * 100.0
            )
        })
    }
}

/// Less than this much of the reference section (s) may be missing before the output counts
/// as playing only part of it: edges are placed to the sample, but silence at the reference's
/// ends cannot be placed at all.
pub const REFERENCE_MISSING_TOLERANCE_S: f64 = 0.1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentReport {
    pub output_start_s: f64,
    pub output_end_s: f64,
    pub ref_start_s: f64,
    pub ref_end_s: f64,
    /// Mean offset over the segment, relative to the expected placement, ms (`> 0`: early).
    pub offset_ms: f64,
    pub drift_ppm: Option<f64>,
    pub gain_db: f64,
    /// Share of the output's energy over the segment that the reference explains, 0–1.
    pub explained: f64,
    pub confidence: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpliceKind {
    /// Reference audio missing from the output.
    Cut,
    /// Reference audio played again.
    Repeat,
    /// Output audio that is not in the reference, between two parts that are.
    Insert,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Splice {
    pub kind: SpliceKind,
    /// Where in the output it happens (s).
    pub output_time_s: f64,
    /// Where in the reference it happens (s).
    pub ref_time_s: f64,
    /// How much reference audio was cut or repeated, or output audio inserted (s).
    pub duration_s: f64,
}

/// Frames where the output skips or repeats reference frames.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameEvent {
    /// Presentation time in the output of the frame after which the event happens.
    pub output_time_s: f64,
    /// Presentation time in the reference of the first frame skipped or repeated.
    pub ref_time_s: f64,
    pub frames: usize,
}

/// A stretch of output frames that all show one reference frame.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrozenSpan {
    pub output_start_s: f64,
    pub output_end_s: f64,
    pub ref_time_s: f64,
    pub frames: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameRateChange {
    pub ref_fps: f64,
    pub output_fps: f64,
}

/// One chunk of a stitched output, measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StitchedChunk {
    pub index: usize,
    pub start_s: f64,
    pub end_s: f64,
    /// The chunk's offset, relative to the expected placement (ms, `> 0`: early), at the middle
    /// of the windows measured; `None` with no window between its cuts.
    pub offset_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// Windows wholly between the chunk's cuts, that it was measured from.
    pub windows: usize,
    /// The chunk's grade under each profile: its offset line within the limits over the whole
    /// chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<ChunkVerdict>,
}

impl StitchedChunk {
    /// The chunk's offset line at `t` (s).
    pub fn offset_at(&self, t: f64) -> Option<f64> {
        let offset = self.offset_ms?;
        Some(match self.drift {
            Some(d) => offset + d.ms_per_min / 60.0 * (t - d.reference_s.unwrap_or(t)),
            None => offset,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkVerdict {
    pub profile: String,
    pub result: Outcome,
}

/// How a seam's jump moves the later chunk's sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeamKind {
    /// No jump (within [`crate::estimate::reference::stitched::SEAM_TOLERANCE_MS`]).
    Clean,
    /// The later chunk's sound comes late: silence or repeated sound at the joint.
    Gap,
    /// The later chunk's sound comes early: sound lost at the joint, or overlapped more than
    /// planned.
    Overlap,
}

/// The joint between two chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seam {
    /// The cut's time in the output (s).
    pub time_s: f64,
    /// Between chunk `after` − 1 and chunk `after` (plan numbering, from 1).
    pub after: usize,
    /// The later chunk's offset line minus the earlier one's, at the cut (ms); `None` when
    /// either chunk has no offset.
    pub jump_ms: Option<f64>,
    pub kind: Option<SeamKind>,
    /// The jump is no longer than the plan's overlap, which the stitcher cross-fades: the
    /// joint has neither a hole nor doubled sound, though the offset still changes there.
    pub crossfade_hides: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment playing the reference's first `length_s` at the output's start.
    fn segment(length_s: f64) -> SegmentReport {
        SegmentReport {
            output_start_s: 0.0,
            output_end_s: length_s,
            ref_start_s: 0.0,
            ref_end_s: length_s,
            offset_ms: 0.0,
            drift_ppm: None,
            gain_db: 0.0,
            explained: 1.0,
            confidence: 1.0,
        }
    }

    fn details(segments: Vec<SegmentReport>) -> ReferenceDetails {
        ReferenceDetails {
            audio_ref: "ref.wav".into(),
            video_ref: None,
            expected: Placement::default(),
            audio_offset_ms: Some(0.0),
            audio_offset_uncertainty_ms: Some(0.1),
            audio_confidence: 1.0,
            ref_start_s: Some(0.0),
            output_start_s: Some(0.0),
            duration_s: Some(4.0),
            gain_db: Some(0.0),
            polarity_inverted: false,
            sample_rate_hz: 48_000,
            band_hz: [100.0, 8000.0],
            splices: Vec::new(),
            segments,
            video_offset_ms: None,
            video_still: false,
            video_matched_frames: None,
            video_output_frames: None,
            frame_rate_change: None,
            dropped_frames: Vec::new(),
            repeated_frames: Vec::new(),
            frozen_frames: Vec::new(),
            basis: String::new(),
            ref_section_s: None,
            ref_found_share: None,
            required: false,
            chunks: Vec::new(),
            seams: Vec::new(),
        }
    }

    #[test]
    fn a_truncated_reference_is_a_shortfall_with_its_share() {
        let mut truncated = details(vec![segment(4.0)]);
        truncated.set_reference_length(5.02);
        assert!((truncated.ref_found_share.unwrap() - 4.0 / 5.02).abs() < 1e-9);
        let words = truncated.shortfall().unwrap();
        assert_eq!(words, "the output plays 4.00 s of the 5.02 s reference audio (80%)");
        let mut whole = details(vec![segment(4.98)]);
        whole.set_reference_length(5.02);
        assert_eq!(whole.shortfall(), None);
        whole.audio_offset_ms = None;
        assert!(whole.shortfall().unwrap().contains("does not occur"));
    }
}
