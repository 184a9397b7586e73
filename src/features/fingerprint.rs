//! Per-frame video fingerprints for matching an output's frames to a reference's.
//!
//! A fingerprint is the frame's luma averaged down to a fixed [`GRID`]×[`GRID`] grid, whatever
//! the frame's size, and normalised to zero mean and unit spread. That survives rescaling,
//! re-encoding and level changes. The distance between two fingerprints is robust to local
//! edits: the grid is cut into [`BLOCKS`]×[`BLOCKS`] blocks and the most different quarter of
//! them does not count, so a repainted mouth (lip-sync output) or a logo does not decide a match.

use crate::error::Result;
use crate::media::{AudioChunk, AudioCollector, LumaFrame, MediaSink};

/// Cells per side of a fingerprint.
pub const GRID: usize = 32;
/// Blocks per side for the robust distance.
pub const BLOCKS: usize = 4;
/// Blocks left out of each distance: the most different ones (a quarter).
pub const DROPPED_BLOCKS: usize = BLOCKS * BLOCKS / 4;
/// Smallest spread used to normalise a frame, in luma levels: a flat frame stays flat rather
/// than having its noise blown up.
const MIN_SPREAD_LEVELS: f32 = 2.0;

/// One frame's fingerprint and presentation time.
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    pub pts_s: f64,
    /// `GRID × GRID` normalised cells, row by row.
    pub cells: Vec<f32>,
}

impl Fingerprint {
    /// The fingerprint of a luma frame.
    pub fn of(frame: &LumaFrame) -> Fingerprint {
        let (width, height) = (frame.width as usize, frame.height as usize);
        let edges = |size: usize| -> Vec<usize> {
            (0..=GRID).map(|i| (i * size / GRID).min(size)).collect()
        };
        let (xs, ys) = (edges(width), edges(height));
        let mut cells = Vec::with_capacity(GRID * GRID);
        for row in 0..GRID {
            // A frame smaller than the grid repeats its pixels rather than leaving cells empty.
            let (y0, y1) = (ys[row].min(height - 1), ys[row + 1].max(ys[row] + 1).min(height));
            for col in 0..GRID {
                let (x0, x1) = (xs[col].min(width - 1), xs[col + 1].max(xs[col] + 1).min(width));
                let mut sum = 0u32;
                for y in y0..y1 {
                    let line = &frame.pixels[y * width + x0..y * width + x1];
                    sum += line.iter().map(|&p| u32::from(p)).sum::<u32>();
                }
                cells.push(sum as f32 / ((y1 - y0) * (x1 - x0)) as f32);
            }
        }
        let mean = cells.iter().sum::<f32>() / cells.len() as f32;
        let variance = cells.iter().map(|c| (c - mean).powi(2)).sum::<f32>() / cells.len() as f32;
        let spread = variance.sqrt().max(MIN_SPREAD_LEVELS);
        cells.iter_mut().for_each(|c| *c = (*c - mean) / spread);
        Fingerprint { pts_s: frame.pts_s, cells }
    }

    /// Block-robust distance: the mean absolute cell difference over all blocks but the
    /// [`DROPPED_BLOCKS`] most different ones.
    pub fn distance(&self, other: &Fingerprint) -> f32 {
        let side = GRID / BLOCKS;
        let mut blocks = [0f32; BLOCKS * BLOCKS];
        for row in 0..GRID {
            let block_row = row / side * BLOCKS;
            let a = &self.cells[row * GRID..(row + 1) * GRID];
            let b = &other.cells[row * GRID..(row + 1) * GRID];
            for (block, (ca, cb)) in a.chunks_exact(side).zip(b.chunks_exact(side)).enumerate() {
                blocks[block_row + block] +=
                    ca.iter().zip(cb).map(|(x, y)| (x - y).abs()).sum::<f32>();
            }
        }
        blocks.sort_unstable_by(f32::total_cmp);
        let kept = &blocks[..blocks.len() - DROPPED_BLOCKS];
        kept.iter().sum::<f32>() / (kept.len() * side * side) as f32
    }
}

/// A [`MediaSink`] that fingerprints every video frame and, if asked, keeps the audio.
#[derive(Debug, Default)]
pub struct FingerprintSink {
    pub frames: Vec<Fingerprint>,
    pub audio: AudioCollector,
}

impl MediaSink for FingerprintSink {
    fn video_frame(&mut self, frame: LumaFrame) -> Result<()> {
        self.frames.push(Fingerprint::of(&frame));
        Ok(())
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        self.audio.audio_chunk(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth test picture with detail at several scales, drawn at any size.
    fn picture(width: u32, height: u32, phase: f64, gain: f64) -> LumaFrame {
        let pixels = (0..height)
            .flat_map(|y| {
                (0..width).map(move |x| {
                    let (u, v) =
                        (f64::from(x) / f64::from(width), f64::from(y) / f64::from(height));
                    let value = 128.0
                        + 60.0 * (6.0 * u + phase).sin() * (4.0 * v).cos()
                        + 30.0 * (17.0 * u * v + 2.0 * phase).sin();
                    (value * gain).clamp(0.0, 255.0) as u8
                })
            })
            .collect();
        LumaFrame { pts_s: 0.0, width, height, pixels }
    }

    #[test]
    fn rescaled_and_dimmed_frames_match_and_others_do_not() {
        let original = Fingerprint::of(&picture(320, 180, 0.0, 1.0));
        let rescaled = Fingerprint::of(&picture(128, 72, 0.0, 0.8));
        let next = Fingerprint::of(&picture(320, 180, 0.3, 1.0));
        let same = original.distance(&rescaled);
        let different = original.distance(&next);
        assert!(same < 0.05, "rescaled copy at distance {same}");
        assert!(different > 4.0 * same.max(0.01), "other frame at distance {different}");
    }

    #[test]
    fn a_repainted_block_does_not_count() {
        let frame = picture(256, 256, 0.0, 1.0);
        let mut edited = frame.clone();
        // Paint over the lower-middle region, as a lip-sync model repaints the mouth.
        for y in 170..230 {
            for x in 100..156 {
                edited.pixels[y * 256 + x] = 255 - edited.pixels[y * 256 + x];
            }
        }
        let distance = Fingerprint::of(&frame).distance(&Fingerprint::of(&edited));
        let next = Fingerprint::of(&picture(256, 256, 0.3, 1.0));
        assert!(distance < 0.5 * Fingerprint::of(&frame).distance(&next), "{distance}");
    }

    #[test]
    fn flat_frames_stay_flat() {
        let black = LumaFrame { pts_s: 0.0, width: 64, height: 64, pixels: vec![16; 64 * 64] };
        let print = Fingerprint::of(&black);
        assert!(print.cells.iter().all(|c| c.abs() < 1e-6));
        let tiny = LumaFrame { pts_s: 0.0, width: 8, height: 6, pixels: (0..48).collect() };
        assert_eq!(Fingerprint::of(&tiny).cells.len(), GRID * GRID);
    }
}
