//! A stitched output read chunk by chunk: the jobs of a plan (`avsync plan`), made one by one
//! and joined, are measured against the full voice-over each on its own, and each joint (seam)
//! is measured as the jump between the two chunks' offset lines where they meet.
//!
//! Pure: from the compare windows' offsets and the plan's chunk spans.

use crate::estimate::line::{fit_offset_line, LineRules};
use crate::report::{
    describe_offset, ChunkVerdict, Outcome, Seam, SeamKind, StitchedChunk, Verdict, Window,
};

/// A jump at a seam smaller than this (ms) is no jump: window offsets scatter by hundredths of
/// a millisecond, a stitcher's rounding by a sample.
pub const SEAM_TOLERANCE_MS: f64 = 1.0;

/// How strict each chunk's line is: windows of a sample-accurate match agree to hundredths of
/// a millisecond, so a window 1 ms off its chunk's line is a stray (a splice inside the chunk).
const CHUNK_LINE_RULES: LineRules = LineRules {
    outlier_sigmas: 4.0,
    outlier_floor_ms: 1.0,
    min_drift_points: 3,
    min_drift_span_s: 4.0,
    max_theil_sen_points: 1000,
};

/// The chunks of a plan and its overlap (the stitcher's cross-fade), as `compare --plan` reads
/// them.
#[derive(Clone, Debug, PartialEq)]
pub struct StitchedPlan {
    pub spans: Vec<ChunkSpan>,
    pub overlap_s: f64,
}

/// One job of the plan, on the output's timeline (s): all of it, and the part between its cuts
/// that no neighbour shares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkSpan {
    pub index: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub cut_start_s: f64,
    pub cut_end_s: f64,
}

/// Each chunk's offset and drift from the windows wholly between its cuts, and the jump at each
/// cut.
pub fn read_stitched(windows: &[Window], plan: &StitchedPlan) -> (Vec<StitchedChunk>, Vec<Seam>) {
    let chunks: Vec<StitchedChunk> = plan
        .spans
        .iter()
        .map(|span| {
            let points: Vec<(f64, f64)> = windows
                .iter()
                .filter(|w| w.start_s >= span.cut_start_s && w.end_s <= span.cut_end_s)
                .filter_map(|w| Some(((w.start_s + w.end_s) / 2.0, w.offset_ms?)))
                .collect();
            // The line's offset is at its points' mean time, where its drift is anchored.
            let fit = (!points.is_empty()).then(|| fit_offset_line(&points, &CHUNK_LINE_RULES));
            StitchedChunk {
                index: span.index,
                start_s: span.start_s,
                end_s: span.end_s,
                offset_ms: fit.as_ref().map(|f| f.offset_ms),
                drift: fit.as_ref().and_then(|f| f.drift),
                windows: points.len(),
                verdicts: Vec::new(),
            }
        })
        .collect();
    let seams = plan
        .spans
        .windows(2)
        .zip(chunks.windows(2))
        .map(|(spans, pair)| {
            let time_s = spans[0].cut_end_s;
            let jump_ms = pair[1]
                .offset_at(time_s)
                .zip(pair[0].offset_at(time_s))
                .map(|(after, before)| after - before);
            Seam {
                time_s,
                after: spans[1].index,
                jump_ms,
                kind: jump_ms.map(|jump| {
                    if jump.abs() < SEAM_TOLERANCE_MS {
                        SeamKind::Clean
                    } else if jump < 0.0 {
                        SeamKind::Gap
                    } else {
                        SeamKind::Overlap
                    }
                }),
                crossfade_hides: jump_ms.map(|jump| jump.abs() <= plan.overlap_s * 1e3),
            }
        })
        .collect();
    (chunks, seams)
}

/// Grades every chunk under each profile of `verdicts` (the whole output's grades), and fails
/// a profile the whole output passes when one of its chunks is outside the limits: a stitched
/// piece is only as good as its worst job.
pub fn grade_chunks(chunks: &mut [StitchedChunk], verdicts: &mut [Verdict]) {
    for chunk in chunks.iter_mut() {
        chunk.verdicts.clear();
    }
    for verdict in verdicts {
        let mut first_outside: Option<(usize, f64)> = None;
        for chunk in chunks.iter_mut() {
            let ends = [chunk.start_s, chunk.end_s].map(|t| chunk.offset_at(t));
            let result = match ends {
                [Some(a), Some(b)] => {
                    let outside =
                        [a, b].into_iter().find(|o| *o > verdict.early_ms || *o < -verdict.late_ms);
                    if let Some(o) = outside.filter(|_| first_outside.is_none()) {
                        first_outside = Some((chunk.index, o));
                    }
                    if outside.is_some() {
                        Outcome::Fail
                    } else {
                        Outcome::Pass
                    }
                }
                _ => Outcome::Inconclusive,
            };
            chunk.verdicts.push(ChunkVerdict { profile: verdict.profile.clone(), result });
        }
        if let (Some((index, offset)), Outcome::Pass) = (first_outside, verdict.result) {
            verdict.result = Outcome::Fail;
            verdict.reason =
                format!("chunk {index} is outside the limits: {}", describe_offset(offset));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows of 2 s every second over `[from, to)`, with offsets from `offset(t)`.
    fn windows(from: f64, to: f64, offset: impl Fn(f64) -> f64) -> Vec<Window> {
        let mut out = Vec::new();
        let mut t = from;
        while t + 2.0 <= to {
            out.push(Window {
                start_s: t,
                end_s: t + 2.0,
                offset_ms: Some(offset(t + 1.0)),
                confidence: 1.0,
                uncertainty_ms: None,
                match_score: None,
            });
            t += 1.0;
        }
        out
    }

    #[test]
    fn a_jump_at_a_seam_and_a_drifting_chunk_are_told_apart() {
        // Chunk 1 in sync; chunk 2 80 ms late from its cut at 30 s and drifting 30 ppm
        // (0.03 ms a second) from there.
        let spans = [
            ChunkSpan { index: 1, start_s: 0.0, end_s: 30.15, cut_start_s: 0.0, cut_end_s: 30.0 },
            ChunkSpan { index: 2, start_s: 29.85, end_s: 60.0, cut_start_s: 30.0, cut_end_s: 60.0 },
        ];
        let offset = |t: f64| if t < 30.0 { 0.0 } else { -80.0 + 0.03 * (t - 30.0) };
        let plan = StitchedPlan { spans: spans.to_vec(), overlap_s: 0.3 };
        let (chunks, seams) = read_stitched(&windows(0.0, 60.0, offset), &plan);
        assert_eq!(chunks[0].offset_ms, Some(0.0));
        assert!(chunks[0].drift.is_none_or(|d| d.ppm.abs() < 1e-9));
        let drift = chunks[1].drift.expect("29 windows over 28 s give a drift");
        assert!((drift.ppm - 30.0).abs() < 1e-6, "{drift:?}");
        let jump = seams[0].jump_ms.unwrap();
        assert!((jump + 80.0).abs() < 1e-6, "{jump}");
        assert_eq!(seams[0].kind, Some(SeamKind::Gap));
        assert_eq!(seams[0].crossfade_hides, Some(true), "80 ms within a 300 ms cross-fade");
        // Windows across the cut belong to neither chunk.
        assert_eq!((chunks[0].windows, chunks[1].windows), (29, 29));
    }

    fn passing(profile: &str, early_ms: f64, late_ms: f64) -> Verdict {
        Verdict {
            profile: profile.into(),
            early_ms,
            late_ms,
            result: Outcome::Pass,
            reason: String::new(),
            marginal: false,
            outside_windows: Vec::new(),
            leaves_tolerance_at_s: None,
        }
    }

    #[test]
    fn a_chunk_outside_a_profile_fails_the_whole_output_under_it() {
        let spans = [
            ChunkSpan { index: 1, start_s: 0.0, end_s: 20.0, cut_start_s: 0.0, cut_end_s: 20.0 },
            ChunkSpan { index: 2, start_s: 20.0, end_s: 40.0, cut_start_s: 20.0, cut_end_s: 40.0 },
        ];
        let plan = StitchedPlan { spans: spans.to_vec(), overlap_s: 0.3 };
        let offset = |t: f64| if t < 20.0 { 5.0 } else { -40.0 };
        let (mut chunks, _) = read_stitched(&windows(0.0, 40.0, offset), &plan);
        let mut verdicts = [passing("broadcast", 30.0, 90.0), passing("cinema", 22.0, 22.0)];
        grade_chunks(&mut chunks, &mut verdicts);
        assert_eq!(verdicts[0].result, Outcome::Pass);
        assert_eq!(verdicts[1].result, Outcome::Fail);
        assert_eq!(verdicts[1].reason, "chunk 2 is outside the limits: audio 40 ms late");
        let results: Vec<Outcome> = chunks[1].verdicts.iter().map(|v| v.result).collect();
        assert_eq!(results, [Outcome::Pass, Outcome::Fail]);
        assert!(chunks[0].verdicts.iter().all(|v| v.result == Outcome::Pass));
    }

    #[test]
    fn a_chunk_without_windows_has_no_offset_and_its_seams_no_jump() {
        let spans = [
            ChunkSpan { index: 1, start_s: 0.0, end_s: 10.0, cut_start_s: 0.0, cut_end_s: 10.0 },
            ChunkSpan { index: 2, start_s: 10.0, end_s: 11.5, cut_start_s: 10.0, cut_end_s: 11.5 },
        ];
        let plan = StitchedPlan { spans: spans.to_vec(), overlap_s: 0.3 };
        let (chunks, seams) = read_stitched(&windows(0.0, 11.5, |_| 5.0), &plan);
        assert_eq!(chunks[1].offset_ms, None);
        assert_eq!((seams[0].jump_ms, seams[0].kind), (None, None));
    }
}
