//! Sound retimed against the picture: each output sample is the input read at a mapped time, by
//! band-limited (windowed-sinc) interpolation. How `avsync fix --drift` corrects a clock drift,
//! which moving timestamps cannot: the sound itself has to be played slower or faster.
//!
//! Pure Rust over in-memory samples; [`super::remux::retime_audio`] decodes and re-encodes.

use crate::correlate::sinc;
use std::sync::OnceLock;

/// Input samples on each side of the point read.
const HALF_TAPS: usize = 32;
/// Tabulated kernel phases per sample; between phases the kernel is interpolated linearly.
const PHASES: usize = 512;
/// The Kaiser window's shape parameter: about 90 dB of stop-band attenuation.
const KAISER_BETA: f64 = 9.0;
/// The pass band's edge as a share of the Nyquist frequency. Reading the input faster than
/// real time folds what lies above `CUTOFF / speed`; [`MAX_SPEED_CHANGE`] keeps that above
/// Nyquist.
const CUTOFF: f64 = 0.95;
/// The largest change of speed retiming accepts (|slope|): 1% (10000 ppm) is far beyond any
/// clock drift, and keeps the kernel's cutoff below the folding frequency.
pub const MAX_SPEED_CHANGE: f64 = 0.01;

/// Where the sound that belongs at picture time `t` lies in the input: the measured offset
/// line, `offset(t) = offset_s + slope·(t − reference_s)`, with the usual sign (> 0: the audio
/// is early, so the sound is found that much before `t`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Retiming {
    pub offset_s: f64,
    /// The drift as a ratio: seconds of offset gained per second (1 ppm = 1e-6).
    pub slope: f64,
    pub reference_s: f64,
}

impl Retiming {
    /// The input's time of the sound that belongs at picture time `t`.
    pub fn source_time_s(&self, t: f64) -> f64 {
        t - self.offset_s - self.slope * (t - self.reference_s)
    }

    /// The picture time whose sound is at input time `u` (the inverse of
    /// [`source_time_s`](Self::source_time_s)).
    pub fn picture_time_s(&self, u: f64) -> f64 {
        (u + self.offset_s - self.slope * self.reference_s) / (1.0 - self.slope)
    }
}

/// Channels on a common sample grid from time 0: sample `i` is presented at `i / sample_rate`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Retimed {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
}

/// `channels` (all starting at `start_s`, at `sample_rate`) retimed onto the picture: sample `n`
/// of the result, at `t_n = n / sample_rate`, is the input read at `retiming.source_time_s(t_n)`.
/// The result starts at time 0 (silence until the input's sound begins: a stream that starts
/// with the picture needs no delayed start, which containers round) and ends where the input's
/// sound ends.
///
/// Panics when `|retiming.slope|` exceeds [`MAX_SPEED_CHANGE`]: callers refuse such a drift
/// with a message first.
pub fn retime(
    channels: &[Vec<f32>],
    start_s: f64,
    sample_rate: u32,
    retiming: &Retiming,
) -> Retimed {
    assert!(retiming.slope.abs() <= MAX_SPEED_CHANGE, "speed change beyond MAX_SPEED_CHANGE");
    let rate = f64::from(sample_rate);
    let len = channels.iter().map(Vec::len).min().unwrap_or(0);
    let last_input_s = start_s + len.saturating_sub(1) as f64 / rate;
    let last_tick = (retiming.picture_time_s(last_input_s) * rate).floor() as i64;
    let count = usize::try_from(last_tick + 1).unwrap_or(0);

    let kernel = Kernel::shared();
    let mut weights = [0.0f32; 2 * HALF_TAPS];
    let mut out: Vec<Vec<f32>> = channels.iter().map(|_| Vec::with_capacity(count)).collect();
    for n in 0..count {
        let t = n as f64 / rate;
        let position = (retiming.source_time_s(t) - start_s) * rate;
        let whole = position.floor();
        kernel.weights(position - whole, &mut weights);
        // Input index of weights[0]; the taps reach from whole − HALF_TAPS + 1 to whole + HALF_TAPS.
        let first = whole as i64 - HALF_TAPS as i64 + 1;
        for (input, output) in channels.iter().zip(out.iter_mut()) {
            output.push(dot_in_range(&input[..len], first, &weights));
        }
    }
    Retimed { sample_rate, channels: out }
}

/// Σ `weights[k]·samples[first + k]`, samples outside the slice counting as silence.
fn dot_in_range(samples: &[f32], first: i64, weights: &[f32]) -> f32 {
    let start = first.max(0);
    let end = (first + weights.len() as i64).min(samples.len() as i64);
    if start >= end {
        return 0.0;
    }
    let taps = &weights[(start - first) as usize..(end - first) as usize];
    samples[start as usize..end as usize].iter().zip(taps).map(|(s, w)| s * w).sum()
}

/// The windowed-sinc interpolation kernel, tabulated at [`PHASES`] + 1 fractional positions.
struct Kernel {
    /// Row `p` holds the weights for a point `p / PHASES` of a sample past an input sample.
    rows: Vec<[f32; 2 * HALF_TAPS]>,
}

impl Kernel {
    fn shared() -> &'static Kernel {
        static KERNEL: OnceLock<Kernel> = OnceLock::new();
        KERNEL.get_or_init(Kernel::new)
    }

    fn new() -> Kernel {
        let window_norm = bessel_i0(KAISER_BETA);
        let rows = (0..=PHASES)
            .map(|p| {
                let fraction = p as f64 / PHASES as f64;
                let mut row = [0.0f64; 2 * HALF_TAPS];
                for (k, weight) in row.iter_mut().enumerate() {
                    // Distance from the point read to input sample k − HALF_TAPS + 1.
                    let x = fraction - (k as f64 - HALF_TAPS as f64 + 1.0);
                    let edge = x / HALF_TAPS as f64;
                    let window = if edge.abs() < 1.0 {
                        bessel_i0(KAISER_BETA * (1.0 - edge * edge).sqrt()) / window_norm
                    } else {
                        0.0
                    };
                    *weight = CUTOFF * sinc(CUTOFF * x) * window;
                }
                // Unit gain at 0 Hz for every phase: a constant stays the same constant.
                let sum: f64 = row.iter().sum();
                row.map(|w| (w / sum) as f32)
            })
            .collect();
        Kernel { rows }
    }

    /// The weights for a point `fraction` (0 ≤ fraction < 1) of a sample past an input sample.
    fn weights(&self, fraction: f64, out: &mut [f32; 2 * HALF_TAPS]) {
        let scaled = fraction * PHASES as f64;
        let phase = (scaled as usize).min(PHASES - 1);
        let blend = (scaled - phase as f64) as f32;
        let (below, above) = (&self.rows[phase], &self.rows[phase + 1]);
        for ((w, b), a) in out.iter_mut().zip(below).zip(above) {
            *w = b + (a - b) * blend;
        }
    }
}

/// The modified Bessel function of the first kind, order 0, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-12 * sum {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    const RATE: u32 = 48_000;

    fn tone(hz: f64, seconds: f64) -> Vec<f32> {
        let n = (seconds * f64::from(RATE)) as usize;
        (0..n).map(|i| (2.0 * PI * hz * i as f64 / f64::from(RATE)).sin() as f32).collect()
    }

    #[test]
    fn no_offset_and_no_drift_gives_the_input_back() {
        let input = tone(1000.0, 0.5);
        let retimed = retime(std::slice::from_ref(&input), 0.0, RATE, &Retiming::default());
        assert_eq!(retimed.channels[0].len(), input.len());
        // Far from the ends, where every tap reads the input.
        for (a, b) in retimed.channels[0].iter().zip(&input).skip(HALF_TAPS).take(20_000) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn a_tone_is_read_at_the_mapped_times_to_within_a_thousandth() {
        // Early by 12.34 ms at 1 s, gaining 500 ppm: output sample n must be the tone's value
        // at the mapped time, fractional positions included.
        let hz = 3000.0;
        let start_s = 0.25;
        let input = tone(hz, 2.0);
        let retiming = Retiming { offset_s: 0.01234, slope: 500e-6, reference_s: 1.0 };
        let retimed = retime(&[input], start_s, RATE, &retiming);
        let mut worst = 0.0f64;
        for (i, &value) in retimed.channels[0].iter().enumerate().step_by(37) {
            let t = i as f64 / f64::from(RATE);
            let u = retiming.source_time_s(t) - start_s;
            if u < -0.01 {
                assert_eq!(value, 0.0, "silence before the input's sound, at {t} s");
            } else if (0.01..1.99).contains(&u) {
                worst = worst.max((f64::from(value) - (2.0 * PI * hz * u).sin()).abs());
            }
        }
        assert!(worst < 1e-3, "largest error {worst}");
    }

    #[test]
    fn the_output_starts_at_zero_and_ends_with_the_input() {
        let input = tone(440.0, 1.0);
        // Audio late by 100 ms: its sound moves 100 ms earlier, the first 100 ms fall before 0.
        let late = Retiming { offset_s: -0.1, slope: 0.0, reference_s: 0.0 };
        let retimed = retime(std::slice::from_ref(&input), 0.0, RATE, &late);
        assert_eq!(retimed.channels[0].len(), input.len() - 4800);
        // Early by 100 ms: 100 ms of silence, then the whole sound.
        let early = Retiming { offset_s: 0.1, slope: 0.0, reference_s: 0.0 };
        let retimed = retime(std::slice::from_ref(&input), 0.0, RATE, &early);
        assert_eq!(retimed.channels[0].len(), input.len() + 4800);
        assert!(retimed.channels[0][..4800 - HALF_TAPS].iter().all(|&s| s == 0.0));
        // Faster by 0.1% (audio gaining lateness): the same sound in 0.1% less time.
        let faster = Retiming { offset_s: 0.0, slope: -1e-3, reference_s: 0.0 };
        let retimed = retime(std::slice::from_ref(&input), 0.0, RATE, &faster);
        let expected = (input.len() - 1) as f64 / 1.001;
        assert!((retimed.channels[0].len() as f64 - expected).abs() <= 1.0);
    }

    #[test]
    fn every_channel_is_read_at_the_same_times() {
        let left = tone(500.0, 0.3);
        let right: Vec<f32> = left.iter().map(|s| -0.5 * s).collect();
        let retiming = Retiming { offset_s: 0.003, slope: 2e-4, reference_s: 0.1 };
        let retimed = retime(&[left, right], 0.0, RATE, &retiming);
        for (l, r) in retimed.channels[0].iter().zip(&retimed.channels[1]) {
            assert!((r + 0.5 * l).abs() < 1e-6);
        }
    }
}
