//! The information band of avsync's pattern: a machine-readable frame counter and a
//! human-readable timecode, burnt into the bottom of every frame.
//!
//! The band is the bottom [`BAND_FRACTION`] of the picture, on black, so that it stays readable
//! while the rest of the frame flashes. Its upper half is a strip of [`CELLS`] equal cells across
//! the full width: a white and a black sync cell (they give the reader its threshold), the
//! counter's [`COUNTER_BITS`] bits least significant first, and two parity cells (even over the
//! bits at even positions, even over the odd ones). Its lower half shows `HH:MM:SS:FF` and the
//! frame number in a bitmap font. Everything is laid out in fractions of the frame, so the
//! reader works at any analysis size.

use super::font;
use crate::media::LumaFrame;

/// Share of the frame height taken by the band. With an 8-row analysis grid the band is
/// exactly the bottom row, which keeps the ever-changing counter out of the flash region.
pub const BAND_FRACTION: f64 = 1.0 / 8.0;
/// Bits of frame counter: 2^20 frames is 9.7 hours at 30 fps; the count wraps after that.
pub const COUNTER_BITS: u32 = 20;
const SYNC_CELLS: usize = 2;
const PARITY_CELLS: usize = 2;
/// Cells across the strip.
pub const CELLS: usize = SYNC_CELLS + COUNTER_BITS as usize + PARITY_CELLS;
/// Video levels (8-bit, limited range) for black, white and text.
pub const BLACK: u8 = 16;
pub const WHITE: u8 = 235;
const TEXT: u8 = 180;
/// The reader samples the middle of each cell, this share of its width and height, so that
/// scaling and compression blur at cell edges do not matter.
const READ_CORE: f64 = 0.5;
/// Least difference between the white and black sync cells for a strip to count as present.
const MIN_SYNC_CONTRAST: f64 = 64.0;

/// Rows of the band, the strip and the text line for a frame `height` rows tall.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandRows {
    /// First row of the band; the flash area is everything above.
    pub band_top: u32,
    pub strip: (u32, u32),
    pub text: (u32, u32),
}

impl BandRows {
    pub fn new(height: u32) -> Self {
        let band_top = height - (f64::from(height) * BAND_FRACTION).round() as u32;
        let middle = band_top + (height - band_top) / 2;
        BandRows { band_top, strip: (band_top, middle), text: (middle, height) }
    }
}

/// The cell values to draw for `counter`: sync, bits, parity; `true` is white.
fn cell_bits(counter: u32) -> [bool; CELLS] {
    let mut cells = [false; CELLS];
    cells[0] = true;
    let (mut even, mut odd) = (false, false);
    for bit in 0..COUNTER_BITS as usize {
        let on = counter >> bit & 1 == 1;
        cells[SYNC_CELLS + bit] = on;
        if bit % 2 == 0 {
            even ^= on;
        } else {
            odd ^= on;
        }
    }
    cells[CELLS - 2] = even;
    cells[CELLS - 1] = odd;
    cells
}

/// `HH:MM:SS:FF` for frame `index` at a nominal `frames_per_second` (non-drop counting).
pub fn timecode(index: u64, frames_per_second: u32) -> String {
    let fps = u64::from(frames_per_second.max(1));
    let seconds = index / fps;
    format!("{:02}:{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60, index % fps)
}

/// Draws the band (counter strip and timecode) for frame `index` into a luma image.
pub fn draw_band(image: &mut [u8], width: u32, height: u32, index: u64, frames_per_second: u32) {
    let rows = BandRows::new(height);
    let band = (rows.band_top * width) as usize..(height * width) as usize;
    image[band].fill(BLACK);
    let counter = (index % (1 << COUNTER_BITS)) as u32;
    for (cell, on) in cell_bits(counter).into_iter().enumerate() {
        if !on {
            continue;
        }
        let (x0, x1) = cell_span(cell, width);
        for y in rows.strip.0..rows.strip.1 {
            let row = (y * width) as usize;
            image[row + x0 as usize..row + x1 as usize].fill(WHITE);
        }
    }
    let text = format!("{}  {index:06}", timecode(index, frames_per_second));
    let line_height = rows.text.1 - rows.text.0;
    let scale = (line_height * 7 / 10 / font::GLYPH_HEIGHT).max(1);
    let text_width = font::text_width(&text, scale);
    let x = width.saturating_sub(text_width) / 2;
    let y = rows.text.0 + line_height.saturating_sub(font::GLYPH_HEIGHT * scale) / 2;
    font::draw_text(image, width, height, x, y, scale, &text, TEXT);
}

/// Columns `[x0, x1)` of strip cell `cell` in a frame `width` pixels wide.
fn cell_span(cell: usize, width: u32) -> (u32, u32) {
    let edge = |i: usize| (i as f64 * f64::from(width) / CELLS as f64).round() as u32;
    (edge(cell), edge(cell + 1))
}

/// Reads the frame counter from a (possibly scaled) frame, or `None` when the strip is absent
/// or fails its sync or parity check.
pub fn read_counter(frame: &LumaFrame) -> Option<u32> {
    let rows = BandRows::new(frame.height);
    let (y0, y1) = core(rows.strip.0 as f64, rows.strip.1 as f64);
    if y1 <= y0 {
        return None;
    }
    let mean_of_cell = |cell: usize| -> f64 {
        let (x0, x1) = cell_span(cell, frame.width);
        let (x0, x1) = core(f64::from(x0), f64::from(x1));
        if x1 <= x0 {
            return f64::NAN;
        }
        let mut sum = 0u64;
        for y in y0..y1 {
            for x in x0..x1 {
                sum += u64::from(frame.at(x, y));
            }
        }
        sum as f64 / f64::from((x1 - x0) * (y1 - y0))
    };
    let (white, black) = (mean_of_cell(0), mean_of_cell(1));
    // Written so that a NaN (an empty cell) fails too.
    if (white - black).partial_cmp(&MIN_SYNC_CONTRAST) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let threshold = (white + black) / 2.0;
    let mut value = 0u32;
    for bit in 0..COUNTER_BITS as usize {
        if mean_of_cell(SYNC_CELLS + bit) > threshold {
            value |= 1 << bit;
        }
    }
    let parity = [mean_of_cell(CELLS - 2) > threshold, mean_of_cell(CELLS - 1) > threshold];
    let expected = cell_bits(value);
    (parity == [expected[CELLS - 2], expected[CELLS - 1]]).then_some(value)
}

/// The central [`READ_CORE`] share of the span `[a, b)`, as whole pixels.
fn core(a: f64, b: f64) -> (u32, u32) {
    let margin = (b - a) * (1.0 - READ_CORE) / 2.0;
    ((a + margin).ceil() as u32, (b - margin).floor() as u32)
}

/// Frames dropped and repeated, as told by the counters read from consecutive frames.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CounterStats {
    /// Frames whose counter was read.
    pub read: usize,
    /// Frames where it could not be read.
    pub unreadable: usize,
    /// Counter of the first and last frames read.
    pub first: Option<u32>,
    pub last: Option<u32>,
    /// Counter values skipped between consecutive frames read.
    pub dropped: u64,
    /// Frames that show the same counter as the frame before.
    pub repeated: u64,
    /// Steps backwards (reordered or spliced frames).
    pub backwards: u64,
    /// Presentation time (s) of the first frame after each skip in the counter: where frames
    /// were dropped, so that a reader can tie a jump in the events' offsets to it.
    #[serde(default)]
    pub dropped_at_s: Vec<f64>,
}

/// Least share of frames with a readable counter for the counters to be reported.
pub const MIN_READABLE_SHARE: f64 = 0.5;

/// Tallies counters frame by frame, in presentation order.
#[derive(Clone, Debug, Default)]
pub struct CounterTally {
    stats: CounterStats,
}

impl CounterTally {
    /// Records the counter read from the next frame (`None`: unreadable), shown at `pts_s`.
    pub fn push(&mut self, counter: Option<u32>, pts_s: f64) {
        let stats = &mut self.stats;
        let Some(value) = counter else {
            stats.unreadable += 1;
            return;
        };
        if let Some(last) = stats.last {
            let modulus = 1u64 << COUNTER_BITS;
            let step = (u64::from(value) + modulus - u64::from(last)) % modulus;
            match step {
                0 => stats.repeated += 1,
                1 => {}
                // A jump by more than half the counter range is a step backwards.
                s if s > modulus / 2 => stats.backwards += 1,
                s => {
                    stats.dropped += s - 1;
                    stats.dropped_at_s.push(pts_s);
                }
            }
        } else {
            stats.first = Some(value);
        }
        stats.read += 1;
        stats.last = Some(value);
    }

    /// The tally, or `None` when too few frames carried a readable counter for it to mean
    /// anything (a pattern without counters).
    pub fn finish(self) -> Option<CounterStats> {
        let total = self.stats.read + self.stats.unreadable;
        (total > 0 && self.stats.read as f64 >= MIN_READABLE_SHARE * total as f64)
            .then_some(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with_counter(width: u32, height: u32, index: u64) -> LumaFrame {
        let mut pixels = vec![WHITE; (width * height) as usize];
        draw_band(&mut pixels, width, height, index, 25);
        LumaFrame { pts_s: 0.0, width, height, pixels }
    }

    #[test]
    fn counter_survives_drawing_and_reading_at_several_sizes() {
        for (w, h) in [(640, 360), (256, 144), (160, 90), (1280, 720)] {
            for index in [0u64, 1, 2, 77, 1023, 123_456, (1 << 20) - 1] {
                let frame = frame_with_counter(w, h, index);
                assert_eq!(read_counter(&frame), Some(index as u32), "{w}x{h} frame {index}");
            }
        }
    }

    #[test]
    fn a_frame_without_strip_or_with_a_flipped_bit_reads_as_none() {
        let blank = LumaFrame { pts_s: 0.0, width: 256, height: 144, pixels: vec![16; 256 * 144] };
        assert_eq!(read_counter(&blank), None);
        let mut frame = frame_with_counter(256, 144, 5);
        // Turn data bit 1 white: parity no longer matches.
        let rows = BandRows::new(144);
        let (x0, x1) = cell_span(SYNC_CELLS + 1, 256);
        for y in rows.strip.0..rows.strip.1 {
            for x in x0..x1 {
                frame.pixels[(y * 256 + x) as usize] = WHITE;
            }
        }
        assert_eq!(read_counter(&frame), None);
    }

    #[test]
    fn tally_counts_drops_repeats_and_wraps() {
        let mut tally = CounterTally::default();
        for c in [10, 11, 11, 12, 15, 16] {
            tally.push(Some(c), f64::from(c));
        }
        tally.push(None, 17.0);
        tally.push(Some((1 << COUNTER_BITS) - 1), 18.0);
        tally.push(Some(0), 19.0);
        let stats = tally.finish().unwrap();
        assert_eq!((stats.read, stats.unreadable), (8, 1));
        // 12 → 15 skips two; 16 → 2^20 - 1 goes backwards; 2^20 - 1 → 0 wraps cleanly.
        assert_eq!((stats.repeated, stats.dropped, stats.backwards), (1, 2, 1));
        assert_eq!(stats.dropped_at_s, [15.0], "the frame after the skip");
        assert_eq!(timecode(25 * 3661 + 7, 25), "01:01:01:07");
    }
}
