//! Reference-based measurement (`avsync compare`): where the audio and video that went into a
//! pipeline sit in what came out of it.
//!
//! [`audio::align_audio`] and [`video::align_video`] work on in-memory signals with times
//! counted from each signal's start. [`reference_details`] puts their results on the files'
//! presentation timelines, relative to where the reference was meant to go, for the report.

pub mod audio;
pub mod curve;
pub mod stitched;
pub mod video;

pub use audio::{align_audio, align_audio_f64, AudioAlignOptions, AudioAlignment};
pub use video::{align_video, VideoAlignOptions, VideoAlignment};

use crate::report::{Placement, ReferenceDetails, SegmentReport, Splice, SpliceKind};

/// Joints shorter than this are timing jitter at the edges, not splices.
const MIN_SPLICE_S: f64 = 1e-3;

/// Timelines of the compared media: presentation time of each signal's first sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timelines {
    pub output_audio_start_s: f64,
    pub ref_audio_start_s: f64,
}

/// The report section for an audio alignment (and a video one, when there is one).
///
/// `timelines` moves the alignment's times onto the files' presentation timelines;
/// `expected` says where the reference was meant to go.
pub fn reference_details(
    audio_ref: String,
    audio: &AudioAlignment,
    video: Option<(String, &VideoAlignment)>,
    timelines: Timelines,
    expected: Placement,
) -> ReferenceDetails {
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
