//! Which reference frame does each output frame show? A monotone alignment of fingerprints.
//!
//! Dynamic programming over (output frame, reference frame) pairs within a band of times
//! around a first guess. A path pays each pair's fingerprint distance, plus a small price for
//! every frame's worth the time offset moves between neighbouring frames (so where frames look
//! alike, as in a still scene, the path keeps the timeline), plus a large price to jump
//! elsewhere or to leave an output frame unmatched. From the path follow the video offset,
//! the frame-rate change, and the dropped, repeated and frozen frames.

use crate::estimate::significance::median_in_place;
use crate::features::fingerprint::Fingerprint;
use crate::report::{FrameEvent, FrameRateChange, FrozenSpan};
use rayon::prelude::*;

#[derive(Clone, Debug)]
pub struct VideoAlignOptions {
    /// Reference frames further than this from the first guess are not considered.
    pub band_s: f64,
    /// Price per reference-frame period that the time offset moves between neighbours.
    pub step_cost: f32,
    /// Price of a jump to anywhere in the band (a splice in the picture).
    pub jump_cost: f32,
    /// Price of leaving an output frame unmatched; a frame further than this from every
    /// reference frame is not in the reference.
    pub unmatched_cost: f32,
    /// Most reference frames skipped between two output frames without a jump.
    pub max_skip_frames: usize,
    /// A reference frame shown for at least this many output frames in a row is a freeze.
    pub freeze_min_frames: usize,
    /// A frame-rate ratio further than this from 1 is a frame-rate change.
    pub rate_change_tolerance: f64,
    /// Below this [`VideoAlignment::distinctness`] the reference is a still picture (or
    /// nearly): no frame can be told from another, so there is no offset to measure.
    pub min_distinctness: f64,
}

impl Default for VideoAlignOptions {
    fn default() -> Self {
        VideoAlignOptions {
            band_s: 5.0,
            step_cost: 0.02,
            jump_cost: 1.0,
            unmatched_cost: 0.5,
            max_skip_frames: 8,
            freeze_min_frames: 3,
            rate_change_tolerance: 0.005,
            min_distinctness: 0.2,
        }
    }
}

/// Output frames sampled for the first guess of the offset.
const GUESS_SAMPLES: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct VideoAlignment {
    /// For each output frame, the reference frame it shows (`None`: not in the reference).
    pub path: Vec<Option<usize>>,
    /// Median `t_ref − t_out` over matched frames, seconds; `None` if too few matched or the
    /// reference is still.
    pub offset_s: Option<f64>,
    /// True when the reference's frames cannot be told apart (see
    /// [`VideoAlignOptions::min_distinctness`]).
    pub still: bool,
    pub matched_frames: usize,
    pub output_frames: usize,
    /// Median over matched frames of how far the matched reference frame beats the typical
    /// one: 1 − matched distance / median distance in the band. Near 0 for a still picture.
    pub distinctness: f64,
    pub output_fps: Option<f64>,
    pub ref_fps: Option<f64>,
    pub rate_change: Option<FrameRateChange>,
    pub dropped: Vec<FrameEvent>,
    pub repeated: Vec<FrameEvent>,
    pub frozen: Vec<FrozenSpan>,
}

/// Aligns output frames to reference frames (each in presentation order).
pub fn align_video(
    output: &[Fingerprint],
    reference: &[Fingerprint],
    options: &VideoAlignOptions,
) -> VideoAlignment {
    let ref_fps = frame_rate(reference);
    let output_fps = frame_rate(output);
    let empty = VideoAlignment {
        path: vec![None; output.len()],
        offset_s: None,
        still: false,
        matched_frames: 0,
        output_frames: output.len(),
        distinctness: 0.0,
        output_fps,
        ref_fps,
        rate_change: None,
        dropped: Vec::new(),
        repeated: Vec::new(),
        frozen: Vec::new(),
    };
    let Some(ref_period) = ref_fps.map(|f| 1.0 / f) else { return empty };
    if output.is_empty() {
        return empty;
    }
    let guess = first_guess(output, reference, options);
    let ref_times: Vec<f64> = reference.iter().map(|f| f.pts_s).collect();
    // Each output frame's band of candidate reference frames, and their distances.
    let bands: Vec<(usize, Vec<f32>)> = output
        .par_iter()
        .map(|frame| {
            let centre = frame.pts_s + guess;
            let lo = ref_times.partition_point(|&t| t < centre - options.band_s);
            let hi = ref_times.partition_point(|&t| t <= centre + options.band_s).max(lo);
            (lo, reference[lo..hi].iter().map(|r| frame.distance(r)).collect())
        })
        .collect();
    let path = best_path(output, &ref_times, &bands, ref_period, options);

    let matched: Vec<(usize, usize)> =
        path.iter().enumerate().filter_map(|(i, j)| j.map(|j| (i, j))).collect();
    let mut offsets: Vec<f64> =
        matched.iter().map(|&(i, j)| ref_times[j] - output[i].pts_s).collect();
    let mut margins: Vec<f64> = matched
        .iter()
        .map(|&(i, j)| {
            let (lo, distances) = &bands[i];
            let mut all: Vec<f64> = distances.iter().map(|&d| f64::from(d)).collect();
            let typical = median_in_place(&mut all);
            if typical > 0.0 {
                1.0 - f64::from(distances[j - lo]) / typical
            } else {
                0.0
            }
        })
        .collect();
    let distinctness = if margins.is_empty() { 0.0 } else { median_in_place(&mut margins) };
    let still = !matched.is_empty() && distinctness < options.min_distinctness;
    let offset_s =
        (matched.len() * 2 >= output.len() && !still).then(|| median_in_place(&mut offsets));
    let rate_change = match (output_fps, ref_fps) {
        (Some(o), Some(r)) if (o / r - 1.0).abs() > options.rate_change_tolerance => {
            Some(FrameRateChange { ref_fps: r, output_fps: o })
        }
        _ => None,
    };
    let mut alignment = VideoAlignment {
        path,
        offset_s,
        still,
        matched_frames: matched.len(),
        output_frames: output.len(),
        distinctness,
        output_fps,
        ref_fps,
        rate_change,
        ..empty
    };
    if let Some(offset) = alignment.offset_s {
        find_events(&mut alignment, output, &ref_times, offset, options);
    }
    alignment
}

/// The typical frame rate: one over the median interval between presentation times.
fn frame_rate(frames: &[Fingerprint]) -> Option<f64> {
    let mut intervals: Vec<f64> =
        frames.windows(2).map(|w| w[1].pts_s - w[0].pts_s).filter(|d| *d > 0.0).collect();
    let interval = median_in_place(&mut intervals);
    (interval > 0.0).then(|| 1.0 / interval)
}

/// The median `t_ref − t_out` of the nearest reference frame for a sample of output frames,
/// counting only frames whose nearest match stands out; 0 (timeline kept) if none does.
fn first_guess(
    output: &[Fingerprint],
    reference: &[Fingerprint],
    options: &VideoAlignOptions,
) -> f64 {
    let step = output.len().div_ceil(GUESS_SAMPLES).max(1);
    let mut offsets: Vec<f64> = output
        .par_iter()
        .step_by(step)
        .filter_map(|frame| {
            let mut distances: Vec<f64> =
                reference.iter().map(|r| f64::from(frame.distance(r))).collect();
            let best =
                crate::correlate::peak::argmax(&distances.iter().map(|d| -d).collect::<Vec<_>>())?;
            let nearest = distances[best];
            let typical = median_in_place(&mut distances);
            (typical > 0.0 && 1.0 - nearest / typical >= options.min_distinctness)
                .then(|| reference[best].pts_s - frame.pts_s)
        })
        .collect();
    let guess = median_in_place(&mut offsets);
    if guess.is_finite() {
        guess
    } else {
        0.0
    }
}

/// Dynamic programming over the bands; returns each output frame's reference frame.
fn best_path(
    output: &[Fingerprint],
    ref_times: &[f64],
    bands: &[(usize, Vec<f32>)],
    ref_period: f64,
    options: &VideoAlignOptions,
) -> Vec<Option<usize>> {
    /// Predecessor marker: the "unmatched" state.
    const NONE: u32 = u32::MAX;
    let rows = output.len();
    // cost[i][k] for reference frame bands[i].0 + k; the unmatched state separately.
    let mut cost: Vec<Vec<f32>> = Vec::with_capacity(rows);
    let mut from: Vec<Vec<u32>> = Vec::with_capacity(rows);
    let mut unmatched_cost: Vec<f32> = Vec::with_capacity(rows);
    let mut unmatched_from: Vec<u32> = Vec::with_capacity(rows);
    for i in 0..rows {
        let (lo, distances) = &bands[i];
        if i == 0 {
            cost.push(distances.clone());
            from.push(vec![NONE; distances.len()]);
            unmatched_cost.push(options.unmatched_cost);
            unmatched_from.push(NONE);
            continue;
        }
        let (prev_lo, prev) = (bands[i - 1].0, &cost[i - 1]);
        let dt_out = output[i].pts_s - output[i - 1].pts_s;
        // The best previous state, for jumps and for leaving the unmatched state.
        let (best_prev, best_prev_k) = prev
            .iter()
            .enumerate()
            .map(|(k, &c)| (c, k as u32))
            .fold((f32::INFINITY, NONE), |a, b| if b.0 < a.0 { b } else { a });
        let prev_unmatched = unmatched_cost[i - 1];
        let mut row = Vec::with_capacity(distances.len());
        let mut row_from = Vec::with_capacity(distances.len());
        for (k, &distance) in distances.iter().enumerate() {
            let j = lo + k;
            let mut best = (prev_unmatched + options.jump_cost, NONE);
            if best_prev + options.jump_cost < best.0 {
                best = (best_prev + options.jump_cost, best_prev_k);
            }
            let first_j = j.saturating_sub(options.max_skip_frames + 1).max(prev_lo);
            for pj in first_j..=j {
                let Some(&c) = prev.get(pj.wrapping_sub(prev_lo)) else { continue };
                let dt_ref = ref_times[j] - ref_times[pj];
                let moved = ((dt_ref - dt_out).abs() / ref_period) as f32;
                let total = c + options.step_cost * moved;
                if total < best.0 {
                    best = (total, (pj - prev_lo) as u32);
                }
            }
            row.push(best.0 + distance);
            row_from.push(best.1);
        }
        let (stay, stay_from) = if prev_unmatched <= best_prev {
            (prev_unmatched, NONE)
        } else {
            (best_prev, best_prev_k)
        };
        cost.push(row);
        from.push(row_from);
        unmatched_cost.push(stay + options.unmatched_cost);
        unmatched_from.push(stay_from);
    }
    // Trace back from the best final state.
    let mut path = vec![None; rows];
    let last = rows - 1;
    let (best_last, best_k) = cost[last]
        .iter()
        .enumerate()
        .map(|(k, &c)| (c, k as u32))
        .fold((f32::INFINITY, NONE), |a, b| if b.0 < a.0 { b } else { a });
    let mut state = if unmatched_cost[last] <= best_last { NONE } else { best_k };
    for i in (0..rows).rev() {
        if state == NONE {
            path[i] = None;
            state = unmatched_from[i];
        } else {
            path[i] = Some(bands[i].0 + state as usize);
            state = from[i][state as usize];
        }
    }
    path
}

/// Dropped, repeated and frozen frames along the path.
///
/// Between two matched output frames the reference is expected to advance by the number of
/// its frames that fall between their times (shifted by the offset): one at equal rates, one
/// or two when the rate changed. More is a drop, less a repeat; a reference frame held for
/// [`VideoAlignOptions::freeze_min_frames`] output frames or more is a freeze instead.
fn find_events(
    alignment: &mut VideoAlignment,
    output: &[Fingerprint],
    ref_times: &[f64],
    offset: f64,
    options: &VideoAlignOptions,
) {
    let nearest = |t: f64| -> isize {
        let i = ref_times.partition_point(|&r| r < t);
        let candidates = [i.saturating_sub(1), i.min(ref_times.len() - 1)];
        candidates
            .into_iter()
            .min_by(|&a, &b| (ref_times[a] - t).abs().total_cmp(&(ref_times[b] - t).abs()))
            .unwrap_or(0) as isize
    };
    let path = &alignment.path;
    let mut i = 1;
    while i < path.len() {
        let (Some(previous), Some(current)) = (path[i - 1], path[i]) else {
            i += 1;
            continue;
        };
        // A run of output frames on one reference frame.
        let mut run_end = i;
        while run_end < path.len() && path[run_end] == Some(previous) {
            run_end += 1;
        }
        let held = run_end - (i - 1);
        if held >= options.freeze_min_frames {
            alignment.frozen.push(FrozenSpan {
                output_start_s: output[i - 1].pts_s,
                output_end_s: output[run_end - 1].pts_s,
                ref_time_s: ref_times[previous],
                frames: held,
            });
            i = run_end;
            continue;
        }
        let expected = nearest(output[i].pts_s + offset) - nearest(output[i - 1].pts_s + offset);
        let step = current as isize - previous as isize;
        let excess = step - expected;
        if excess > 0 && step > 0 {
            alignment.dropped.push(FrameEvent {
                output_time_s: output[i - 1].pts_s,
                ref_time_s: ref_times[previous + 1],
                frames: excess as usize,
            });
        } else if excess < 0 && step >= 0 {
            alignment.repeated.push(FrameEvent {
                output_time_s: output[i - 1].pts_s,
                ref_time_s: ref_times[current],
                frames: (-excess) as usize,
            });
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::fingerprint::GRID;

    /// A distinct synthetic fingerprint for reference frame `index` (seeded noise).
    fn print(index: usize, pts_s: f64) -> Fingerprint {
        let mut state = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let cells = (0..GRID * GRID)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 3.4 - 1.7
            })
            .collect();
        Fingerprint { pts_s, cells }
    }

    fn reference(frames: usize, fps: f64) -> Vec<Fingerprint> {
        (0..frames).map(|i| print(i, i as f64 / fps)).collect()
    }

    #[test]
    fn drops_repeats_and_offset_are_frame_exact() {
        let fps = 25.0;
        let reference = reference(200, fps);
        // The output starts at reference frame 10, drops frame 50, shows frame 120 twice.
        let mut shown: Vec<usize> = (10..200).filter(|&f| f != 50).collect();
        let at = shown.iter().position(|&f| f == 120).unwrap();
        shown.insert(at, 120);
        let output: Vec<Fingerprint> =
            shown.iter().enumerate().map(|(i, &f)| print(f, i as f64 / fps)).collect();
        let alignment = align_video(&output, &reference, &VideoAlignOptions::default());
        for (i, &f) in shown.iter().enumerate() {
            assert_eq!(alignment.path[i], Some(f), "output frame {i}");
        }
        assert_eq!(alignment.dropped.len(), 1);
        assert!((alignment.dropped[0].ref_time_s - 50.0 / fps).abs() < 1e-9);
        assert_eq!(alignment.repeated.len(), 1);
        assert!((alignment.repeated[0].ref_time_s - 120.0 / fps).abs() < 1e-9);
        // 120 of 190 frames sit 10 frames ahead (11 between the drop and the repeat).
        assert!((alignment.offset_s.unwrap() - 10.0 / fps).abs() < 1e-9);
        assert!(alignment.rate_change.is_none() && alignment.frozen.is_empty());
    }

    #[test]
    fn a_freeze_and_a_rate_change_are_reported_as_such() {
        let reference = reference(300, 30.0);
        // 25 fps output of the 30 fps reference (nearest frame), frozen on one frame for 6.
        let mut output: Vec<Fingerprint> = (0..200)
            .map(|i| {
                let t = i as f64 / 25.0;
                print(((t * 30.0).round() as usize).min(299), t)
            })
            .collect();
        let frozen = output[100].cells.clone();
        for frame in &mut output[101..106] {
            frame.cells = frozen.clone();
        }
        let alignment = align_video(&output, &reference, &VideoAlignOptions::default());
        let change = alignment.rate_change.expect("rate change");
        assert!((change.ref_fps - 30.0).abs() < 1e-6 && (change.output_fps - 25.0).abs() < 1e-6);
        assert_eq!(alignment.frozen.len(), 1, "{:?}", alignment.frozen);
        assert_eq!(alignment.frozen[0].frames, 6);
        assert!((alignment.frozen[0].output_start_s - 4.0).abs() < 1e-9);
        // Catching up after the freeze skips reference frames; nothing else is an event.
        assert!(alignment.repeated.is_empty(), "{:?}", alignment.repeated);
        assert_eq!(alignment.dropped.len(), 1, "{:?}", alignment.dropped);
        assert!(alignment.offset_s.unwrap().abs() < 1.0 / 60.0);
    }

    #[test]
    fn a_still_reference_has_no_offset() {
        let still = print(7, 0.0);
        let reference: Vec<Fingerprint> =
            (0..100).map(|i| Fingerprint { pts_s: i as f64 / 25.0, ..still.clone() }).collect();
        let output: Vec<Fingerprint> =
            (0..50).map(|i| Fingerprint { pts_s: i as f64 / 25.0, ..still.clone() }).collect();
        let alignment = align_video(&output, &reference, &VideoAlignOptions::default());
        assert!(alignment.still);
        assert!(alignment.offset_s.is_none());
        assert!(alignment.dropped.is_empty() && alignment.repeated.is_empty());
    }

    #[test]
    fn frames_from_elsewhere_are_unmatched() {
        let reference = reference(100, 25.0);
        let output: Vec<Fingerprint> =
            (0..50).map(|i| print(1000 + 37 * i, i as f64 / 25.0)).collect();
        let alignment = align_video(&output, &reference, &VideoAlignOptions::default());
        assert!(alignment.offset_s.is_none(), "matched {}", alignment.matched_frames);
    }
}
