//! Flashes: finding the frames where a bright region lights up, and when it did.
//!
//! Each frame is reduced to the mean luma of the cells of a [`GRID`]×[`GRID`] grid (a few
//! hundred bytes per frame). The flash region is then found without knowing the pattern: cells
//! that turn bright in short, repeated bursts and do so together; a full-frame flash lights
//! every cell, a bright square lights a few, and a burnt-in counter or clock (bright often, or
//! for long stretches, never in step with the flashes) is left out.
//!
//! **What the onset is.** A flash shown from frame k starts at the presentation time of frame
//! k: that is when the picture changes. When the first lit frame is only partly bright (a
//! camera whose exposure caught the flash part-way, a rolling shutter), the frame is taken to
//! integrate light over its whole frame interval, and the onset is the moment a step to full
//! brightness would have delivered the same light: `pts(k) + (1 − fraction)·interval`, summed
//! over up to [`MAX_RAMP_FRAMES`] partial frames.

use crate::media::LumaFrame;

/// Cells per side of the analysis grid. With avsync's band taking the bottom eighth, the band
/// falls exactly in the bottom row of cells.
pub const GRID: usize = 8;
const CELLS: usize = GRID * GRID;

/// One frame as the flash analysis sees it.
#[derive(Clone, Copy, Debug)]
pub struct FrameCells {
    pub pts_s: f64,
    /// Mean luma of each cell, row by row.
    pub cells: [f32; CELLS],
}

impl FrameCells {
    pub fn from_frame(frame: &LumaFrame) -> Self {
        let mut sums = [0u64; CELLS];
        let mut counts = [0u32; CELLS];
        let (w, h) = (frame.width as usize, frame.height as usize);
        for y in 0..h {
            let row = y * GRID / h.max(1);
            let pixels = &frame.pixels[y * w..(y + 1) * w];
            for (x, &p) in pixels.iter().enumerate() {
                let cell = row * GRID + x * GRID / w.max(1);
                sums[cell] += u64::from(p);
                counts[cell] += 1;
            }
        }
        let mut cells = [0.0f32; CELLS];
        for i in 0..CELLS {
            cells[i] = if counts[i] > 0 { sums[i] as f32 / counts[i] as f32 } else { 0.0 };
        }
        FrameCells { pts_s: frame.pts_s, cells }
    }
}

/// One flash found in the video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flash {
    /// Onset time (see the module notes).
    pub time_s: f64,
    /// Presentation time of the first lit frame.
    pub frame_pts_s: f64,
    /// How bright that frame was as a share of the full flash: 1 for a flash that fills the
    /// frame, less for a partial-frame flash.
    pub fraction: f64,
}

/// The flashes of a clip and the region they were seen in.
#[derive(Clone, Debug, Default)]
pub struct FlashAnalysis {
    pub flashes: Vec<Flash>,
    /// Share of the picture (in grid cells) that flashes.
    pub region_share: f64,
    /// Typical luma step of a flash in the region, 0–255.
    pub contrast: f64,
    /// Mean luma of the region in every frame, 0–255 (empty when no region flashes): the
    /// report's flash signal.
    pub luminance: Vec<f32>,
}

/// Least luma step (of 255) for a region to count as flashing.
const MIN_FLASH_STEP: f32 = 24.0;
/// A flash region is bright for at most this share of frames...
const MAX_FLASH_DUTY: f64 = 0.4;
/// ...in bright stretches typically no longer than this...
const MAX_FLASH_RUN_S: f64 = 1.0;
/// ...and at least this many times.
const MIN_FLASHES: usize = 2;
/// Cells belong to the flash region when their bright frames agree this well (Jaccard index)
/// with those of the region's strongest cell.
const MIN_AGREEMENT: f64 = 0.7;
/// Dark frames before a flash that give its local dark level.
const DARK_CONTEXT_FRAMES: usize = 5;
/// A frame at least this share of the full flash is fully lit: compression can leave the first
/// lit frame a shade short of the rest, which must not read as a flash that started late. A
/// flash caught only in the last 2% of a frame's exposure is placed at the frame's start.
const FULL_FRAME_SHARE: f64 = 0.98;
/// A frame above this share of the full flash, before the first fully lit one, caught part of
/// the flash; below it, the frame is dark (noise, compression).
const PARTIAL_SHARE: f64 = 0.02;
/// Partial frames before the first fully lit frame that are taken into account.
pub const MAX_RAMP_FRAMES: usize = 2;
/// A flash whose brightest frame falls short of this share of the typical flash never filled
/// a frame; the typical flash's level is then its full level.
const OWN_LEVEL_SHARE: f64 = 0.9;

/// Finds the flashes in a clip's frames (in presentation order).
pub fn find_flashes(frames: &[FrameCells]) -> FlashAnalysis {
    if frames.len() < 3 {
        return FlashAnalysis::default();
    }
    let Some(region) = flash_region(frames) else {
        return FlashAnalysis::default();
    };
    let signal: Vec<f64> = frames
        .iter()
        .map(|f| region.iter().map(|&c| f64::from(f.cells[c])).sum::<f64>() / region.len() as f64)
        .collect();
    let mut sorted = signal.clone();
    sorted.sort_by(f64::total_cmp);
    let dark = sorted[sorted.len() / 2];
    let brightest = sorted[sorted.len() - 1];
    let middle = (dark + brightest) / 2.0;
    let runs = bright_runs(&signal, middle);
    if runs.is_empty() {
        return FlashAnalysis::default();
    }
    let mut peaks: Vec<f64> =
        runs.iter().map(|&(a, b)| signal[a..b].iter().copied().fold(f64::MIN, f64::max)).collect();
    peaks.sort_by(f64::total_cmp);
    let typical_peak = peaks[peaks.len() / 2];

    let typical_interval = typical_frame_interval(frames);
    let interval = |k: usize| match frames.get(k + 1) {
        Some(next) if next.pts_s > frames[k].pts_s => next.pts_s - frames[k].pts_s,
        _ => typical_interval,
    };
    let mut flashes = Vec::with_capacity(runs.len());
    for &(a, b) in &runs {
        // Local dark level: the dark frames just before.
        let mut before: Vec<f64> = signal[a.saturating_sub(DARK_CONTEXT_FRAMES)..a]
            .iter()
            .copied()
            .filter(|&v| v < middle)
            .collect();
        before.sort_by(f64::total_cmp);
        let local_dark = before.get(before.len() / 2).copied().unwrap_or(dark);
        let own_peak = signal[a..b].iter().copied().fold(f64::MIN, f64::max);
        let full = if own_peak >= OWN_LEVEL_SHARE * typical_peak { own_peak } else { typical_peak };
        let span = full - local_dark;
        if span <= 0.0 {
            continue;
        }
        let share = |k: usize| ((signal[k] - local_dark) / span).clamp(0.0, 1.0);
        // Partial frames just before the run.
        let mut first = a;
        while first > 0 && a - first < MAX_RAMP_FRAMES && share(first - 1) > PARTIAL_SHARE {
            first -= 1;
        }
        // The equivalent step: the first fully lit frame's time less the light delivered by
        // the partial frames before it.
        let mut light_s = 0.0;
        let mut time_s = None;
        for (k, frame) in
            frames.iter().enumerate().take(b.min(first + MAX_RAMP_FRAMES + 1)).skip(first)
        {
            if share(k) >= FULL_FRAME_SHARE {
                time_s = Some(frame.pts_s - light_s);
                break;
            }
            light_s += share(k) * interval(k);
        }
        // A flash that never fills a frame: the first partial frame alone places it.
        let time_s =
            time_s.unwrap_or_else(|| frames[first].pts_s + (1.0 - share(first)) * interval(first));
        flashes.push(Flash {
            time_s,
            frame_pts_s: frames[first].pts_s,
            fraction: if share(first) >= FULL_FRAME_SHARE { 1.0 } else { share(first) },
        });
    }
    FlashAnalysis {
        flashes,
        region_share: region.len() as f64 / CELLS as f64,
        contrast: typical_peak - dark,
        luminance: signal.iter().map(|&v| v as f32).collect(),
    }
}

/// Median interval between consecutive frames.
fn typical_frame_interval(frames: &[FrameCells]) -> f64 {
    let mut intervals: Vec<f64> =
        frames.windows(2).map(|w| w[1].pts_s - w[0].pts_s).filter(|d| *d > 0.0).collect();
    intervals.sort_by(f64::total_cmp);
    intervals.get(intervals.len() / 2).copied().unwrap_or(0.0)
}

/// `[first, end)` frame ranges where `signal` is above `threshold`.
fn bright_runs(signal: &[f64], threshold: f64) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < signal.len() {
        if signal[i] > threshold {
            let start = i;
            while i < signal.len() && signal[i] > threshold {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    runs
}

/// The cells that flash together, or `None` when nothing flashes.
fn flash_region(frames: &[FrameCells]) -> Option<Vec<usize>> {
    let typical_interval = typical_frame_interval(frames);
    let max_run_frames = if typical_interval > 0.0 {
        (MAX_FLASH_RUN_S / typical_interval).ceil() as usize
    } else {
        usize::MAX
    };
    // Each cell's bright frames (above the middle of its dark and bright levels) and its step.
    let mut candidates: Vec<(usize, f32, Vec<bool>)> = Vec::new();
    for cell in 0..CELLS {
        let values: Vec<f32> = frames.iter().map(|f| f.cells[cell]).collect();
        let mut sorted = values.clone();
        sorted.sort_by(f32::total_cmp);
        let dark = sorted[sorted.len() / 2];
        let bright = sorted[sorted.len() - 1];
        let step = bright - dark;
        if step < MIN_FLASH_STEP {
            continue;
        }
        let middle = (dark + bright) / 2.0;
        let lit: Vec<bool> = values.iter().map(|&v| v > middle).collect();
        let duty = lit.iter().filter(|&&b| b).count() as f64 / lit.len() as f64;
        let mut runs: Vec<usize> = Vec::new();
        let mut length = 0;
        for &on in lit.iter().chain(std::iter::once(&false)) {
            if on {
                length += 1;
            } else if length > 0 {
                runs.push(length);
                length = 0;
            }
        }
        runs.sort_unstable();
        let typical_run = runs.get(runs.len() / 2).copied().unwrap_or(0);
        if duty <= MAX_FLASH_DUTY && runs.len() >= MIN_FLASHES && typical_run <= max_run_frames {
            candidates.push((cell, step, lit));
        }
    }
    // The group with the most total step among cells that flash in step with each other.
    let agree = |a: &[bool], b: &[bool]| {
        let both = a.iter().zip(b).filter(|(x, y)| **x && **y).count();
        let either = a.iter().zip(b).filter(|(x, y)| **x || **y).count();
        if either == 0 {
            0.0
        } else {
            both as f64 / either as f64
        }
    };
    let mut best: Option<(f32, Vec<usize>)> = None;
    for (_, _, lit) in &candidates {
        let group: Vec<(usize, f32)> = candidates
            .iter()
            .filter(|(_, _, other)| agree(lit, other) >= MIN_AGREEMENT)
            .map(|(c, s, _)| (*c, *s))
            .collect();
        let total: f32 = group.iter().map(|(_, s)| s).sum();
        if best.as_ref().is_none_or(|(t, _)| total > *t) {
            best = Some((total, group.into_iter().map(|(c, _)| c).collect()));
        }
    }
    best.map(|(_, cells)| cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS: f64 = 25.0;

    /// Frames at 25 fps whose cells in `region` follow `level(t, interval)`; other cells dark,
    /// and the bottom row toggles like a counter.
    fn frames(count: usize, region: &[usize], level: impl Fn(f64, f64) -> f32) -> Vec<FrameCells> {
        (0..count)
            .map(|n| {
                let pts_s = n as f64 / FPS;
                let mut cells = [16.0f32; CELLS];
                for &c in region {
                    cells[c] = level(pts_s, 1.0 / FPS);
                }
                for (bit, cell) in cells[CELLS - GRID..].iter_mut().enumerate() {
                    *cell = if (n >> bit) & 1 == 1 { 235.0 } else { 16.0 };
                }
                FrameCells { pts_s, cells }
            })
            .collect()
    }

    /// Light caught by a frame exposed over `[t, t + interval)` from flashes that switch on at
    /// `onsets` and last 0.1 s.
    fn exposure(onsets: &[f64], t: f64, interval: f64) -> f32 {
        let lit: f64 =
            onsets.iter().map(|&o| ((t + interval).min(o + 0.1) - t.max(o)).max(0.0)).sum();
        (16.0 + 219.0 * lit / interval) as f32
    }

    #[test]
    fn frame_aligned_flashes_start_at_their_first_frame() {
        let onsets = [0.4, 1.4, 2.4, 3.4];
        let region: Vec<usize> = (0..CELLS - GRID).collect();
        let f = frames(110, &region, |t, i| exposure(&onsets, t, i));
        let analysis = find_flashes(&f);
        assert_eq!(analysis.flashes.len(), 4);
        for (flash, onset) in analysis.flashes.iter().zip(onsets) {
            assert!((flash.time_s - onset).abs() < 1e-9, "{} vs {onset}", flash.time_s);
            assert_eq!(flash.fraction, 1.0);
        }
        assert!((analysis.region_share - 56.0 / 64.0).abs() < 1e-9);
    }

    #[test]
    fn partial_frame_flashes_are_placed_within_the_frame() {
        // Onsets 13, 29, 2 and 37 ms into a 40 ms frame, in a small corner region.
        let onsets = [0.413, 1.429, 2.402, 3.437];
        let f = frames(110, &[0, 1, 8, 9], |t, i| exposure(&onsets, t, i));
        let analysis = find_flashes(&f);
        assert_eq!(analysis.flashes.len(), 4);
        for (flash, onset) in analysis.flashes.iter().zip(onsets) {
            let error_ms = (flash.time_s - onset) * 1e3;
            assert!(error_ms.abs() < 0.2, "onset {onset}: error {error_ms:.3} ms");
        }
        assert!((analysis.region_share - 4.0 / 64.0).abs() < 1e-9);
    }

    #[test]
    fn a_clock_or_steady_picture_has_no_flashes() {
        let f = frames(100, &[], |_, _| 0.0);
        assert!(find_flashes(&f).flashes.is_empty());
    }
}
