//! Reference-based measurement (`avsync compare`): where the audio and video that went into a
//! pipeline sit in what came out of it.
//!
//! [`audio::align_audio`] and [`video::align_video`] work on in-memory signals with times
//! counted from each signal's start. [`ReferenceDetails::new`] puts their results on the files'
//! presentation timelines, relative to where the reference was meant to go, for the report.

pub mod audio;
pub mod curve;
pub mod stitched;
pub mod video;

pub use audio::{align_audio, align_audio_f64, AudioAlignOptions, AudioAlignment};
pub use stitched::{Seam, SeamKind, StitchedChunk};
pub use video::{
    align_video, FrameEvent, FrameRateChange, FrozenSpan, VideoAlignOptions, VideoAlignment,
};

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
    fn offset_s(&self) -> f64 {
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

/// Joints shorter than this are timing jitter at the edges, not splices.
const MIN_SPLICE_S: f64 = 1e-3;

/// Timelines of the compared media: presentation time of each signal's first sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timelines {
    pub output_audio_start_s: f64,
    pub ref_audio_start_s: f64,
}

impl ReferenceDetails {
    /// The report section for an audio alignment (and a video one, when there is one).
    ///
    /// `timelines` moves the alignment's times onto the files' presentation timelines;
    /// `expected` says where the reference was meant to go.
    pub fn new(
        audio_ref: String,
        audio: &AudioAlignment,
        video: Option<(String, &VideoAlignment)>,
        timelines: Timelines,
        expected: Placement,
    ) -> Self {
        let out0 = timelines.output_audio_start_s;
        let ref0 = timelines.ref_audio_start_s;
        // t_ref − t_out on the presentation timelines, relative to the expected placement.
        let relative_ms = |offset_s: f64| (offset_s + ref0 - out0 - expected.offset_s()) * 1e3;
        let segments: Vec<SegmentReport> = audio
            .segments
            .iter()
            .map(|s| SegmentReport {
                output_start_s: s.out_start_s + out0,
                output_end_s: s.out_end_s + out0,
                ref_start_s: s.ref_start_s + ref0,
                ref_end_s: s.ref_end_s + ref0,
                offset_ms: relative_ms(s.offset_s),
                drift_ppm: s.drift_ppm,
                gain_db: s.gain_db,
                explained: s.explained,
                confidence: s.confidence,
            })
            .collect();
        let main = audio.main.map(|m| &audio.segments[m]);
        let first = segments.first();
        let (video_ref, video_offset_ms, matched, frames) = match &video {
            Some((path, v)) => (
                Some(path.clone()),
                v.offset_s.map(|o| o * 1e3),
                Some(v.matched_frames),
                Some(v.output_frames),
            ),
            None => (None, None, None, None),
        };
        let still = video.as_ref().is_some_and(|(_, v)| v.still);
        let basis = match &video {
            Some(_) if still => "offset_ms = audio offset against the reference audio, assuming \
                                 the video timeline was kept: the reference video is a still \
                                 picture, whose offset cannot be measured"
                .to_string(),
            Some(_) => {
                "offset_ms = audio offset − video offset, both against the references".to_string()
            }
            None => "offset_ms = audio offset against the reference audio, assuming the video \
                     timeline was kept (give --video-ref to measure it)"
                .to_string(),
        };
        ReferenceDetails {
            audio_ref,
            video_ref,
            expected,
            audio_offset_ms: main.map(|m| relative_ms(m.offset_s)),
            audio_offset_uncertainty_ms: main.map(|m| m.offset_uncertainty_s * 1e3),
            audio_confidence: main.map_or(0.0, |m| m.confidence),
            ref_start_s: first.map(|s| s.ref_start_s),
            output_start_s: first.map(|s| s.output_start_s),
            duration_s: (!segments.is_empty())
                .then(|| segments.iter().map(|s| s.output_end_s - s.output_start_s).sum()),
            gain_db: main.map(|m| m.gain_db),
            polarity_inverted: main.is_some_and(|m| m.inverted),
            sample_rate_hz: audio.sample_rate,
            band_hz: [audio.band_hz.0, audio.band_hz.1],
            splices: splices(&segments),
            segments,
            video_offset_ms,
            video_still: still,
            video_matched_frames: matched,
            video_output_frames: frames,
            frame_rate_change: video.as_ref().and_then(|(_, v)| v.rate_change),
            dropped_frames: video.as_ref().map_or(Vec::new(), |(_, v)| v.dropped.clone()),
            repeated_frames: video.as_ref().map_or(Vec::new(), |(_, v)| v.repeated.clone()),
            frozen_frames: video.as_ref().map_or(Vec::new(), |(_, v)| v.frozen.clone()),
            basis,
            ref_section_s: None,
            ref_found_share: None,
            required: false,
            chunks: Vec::new(),
            seams: Vec::new(),
        }
    }

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

/// Classifies each joint between consecutive segments.
fn splices(segments: &[SegmentReport]) -> Vec<Splice> {
    let mut found = Vec::new();
    for pair in segments.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let gap_out = b.output_start_s - a.output_end_s;
        let jump_ref = b.ref_start_s - a.ref_end_s;
        // The reference jumps forward beyond the output gap: audio was cut out.
        let skipped = jump_ref - gap_out.max(0.0);
        if skipped > MIN_SPLICE_S {
            found.push(Splice {
                kind: SpliceKind::Cut,
                output_time_s: a.output_end_s,
                ref_time_s: a.ref_end_s,
                duration_s: skipped,
            });
        } else if jump_ref < -MIN_SPLICE_S {
            found.push(Splice {
                kind: SpliceKind::Repeat,
                output_time_s: b.output_start_s,
                ref_time_s: b.ref_start_s,
                duration_s: -jump_ref,
            });
        }
        // Output time that plays no reference between the two.
        let inserted = gap_out - jump_ref.max(0.0);
        if inserted > MIN_SPLICE_S {
            found.push(Splice {
                kind: SpliceKind::Insert,
                output_time_s: a.output_end_s,
                ref_time_s: a.ref_end_s,
                duration_s: inserted,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(out: (f64, f64), reference: (f64, f64)) -> SegmentReport {
        SegmentReport {
            output_start_s: out.0,
            output_end_s: out.1,
            ref_start_s: reference.0,
            ref_end_s: reference.1,
            offset_ms: (reference.0 - out.0) * 1e3,
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
            splices: splices(&segments),
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
        let mut truncated = details(vec![segment((0.0, 4.0), (0.0, 4.0))]);
        truncated.set_reference_length(5.02);
        assert!((truncated.ref_found_share.unwrap() - 4.0 / 5.02).abs() < 1e-9);
        let words = truncated.shortfall().unwrap();
        assert_eq!(words, "the output plays 4.00 s of the 5.02 s reference audio (80%)");
        let mut whole = details(vec![segment((0.0, 4.98), (0.0, 4.98))]);
        whole.set_reference_length(5.02);
        assert_eq!(whole.shortfall(), None);
        whole.audio_offset_ms = None;
        assert!(whole.shortfall().unwrap().contains("does not occur"));
    }

    #[test]
    fn joints_are_classified() {
        // 2 s of reference cut out at 5 s.
        let cut = splices(&[segment((0.0, 5.0), (0.0, 5.0)), segment((5.0, 8.0), (7.0, 10.0))]);
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].kind, SpliceKind::Cut);
        assert!((cut[0].duration_s - 2.0).abs() < 1e-9);
        // 0.5 s repeated.
        let repeat = splices(&[segment((0.0, 5.0), (0.0, 5.0)), segment((5.0, 10.5), (4.5, 10.0))]);
        assert_eq!(repeat[0].kind, SpliceKind::Repeat);
        assert!((repeat[0].duration_s - 0.5).abs() < 1e-9);
        // 1 s of something else inserted.
        let insert = splices(&[segment((0.0, 5.0), (0.0, 5.0)), segment((6.0, 11.0), (5.0, 10.0))]);
        assert_eq!(insert.len(), 1);
        assert_eq!(insert[0].kind, SpliceKind::Insert);
        assert!((insert[0].duration_s - 1.0).abs() < 1e-9);
    }
}
