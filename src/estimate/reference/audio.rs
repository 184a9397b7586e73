//! Where does the reference audio sit in the output? GCC-PHAT at full sample rate.
//!
//! The output is cut into windows and each window is looked up in the whole reference, so the
//! reference may sit anywhere (seconds into the output, cropped, cut, repeated, mixed with other
//! audio). Three passes:
//!
//! 1. **Coarse**: both signals decimated to about 4 kHz; each window's GCC-PHAT against the
//!    whole reference gives a lag and a significance (peak vs the curve's own null, see
//!    [`crate::estimate::significance`]). Windows that do not clear the bar do not count.
//! 2. **Segments**: consecutive matching windows whose offsets agree form a segment; a jump
//!    is a splice. Each segment gets a line `offset(t) = offset + drift · t`.
//! 3. **Fine**: each window again at the full rate against a short stretch of the reference,
//!    resampled along the segment's drift so that the peak stays one sample wide, and the
//!    peak read off the cross-spectrum at its exact fractional lag. The line is refitted.
//!
//! Segment edges are then placed to the sample by a change-point search on the residual
//! energy under each hypothesis (this segment, the next one, or neither).
//!
//! Times here count from each signal's first sample; offsets are `t_ref − t_out` in seconds
//! (positive when the output plays the reference's content early).

use crate::correlate::{dot, sinc, Band, Correlator, CrossSpectrum, Weighting};
use crate::estimate::significance::{robust_z, tail_p_value};
use rayon::prelude::*;
use std::borrow::Cow;

#[derive(Clone, Debug)]
pub struct AudioAlignOptions {
    /// Length of the analysis windows the output is cut into.
    pub window_s: f64,
    /// Rate of the coarse search; the signals are decimated by an integer factor to about this.
    pub coarse_rate_hz: f64,
    /// Chance that an output without the reference still has a window that clears the
    /// significance bar (each of `n` windows must reach `p ≤ false_alarm / n`).
    pub false_alarm: f64,
    /// Largest clock drift expected between output and reference. Offset changes between
    /// neighbouring windows beyond what this drift explains (plus `splice_tolerance_ms`) are
    /// read as splices.
    pub max_drift_ppm: f64,
    pub splice_tolerance_ms: f64,
}

impl Default for AudioAlignOptions {
    fn default() -> Self {
        AudioAlignOptions {
            window_s: 2.0,
            coarse_rate_hz: 4000.0,
            false_alarm: 1e-4,
            max_drift_ppm: 2000.0,
            splice_tolerance_ms: 2.0,
        }
    }
}

/// One output window and where it was found in the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowMatch {
    pub out_start_s: f64,
    pub out_end_s: f64,
    /// `t_ref − t_out` at the window's centre; `None` when the reference was not found.
    pub offset_s: Option<f64>,
    /// Robust z-score of the coarse peak against its own curve.
    pub z: f64,
    /// Chance that the curve's noise alone reaches the peak (see
    /// [`crate::estimate::significance::tail_p_value`]).
    pub p_value: f64,
    /// `1 − p_value`.
    pub confidence: f64,
    /// Height of the full-rate PHAT peak, 0–1: the share of the band where output and
    /// reference agree in phase.
    pub coherence: f64,
    /// Index into [`AudioAlignment::segments`].
    pub segment: Option<usize>,
    /// Least-squares gain numerator and denominator (output·reference, reference²).
    gain_terms: (f64, f64),
}

/// A stretch of the output that plays one continuous stretch of the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub out_start_s: f64,
    pub out_end_s: f64,
    pub ref_start_s: f64,
    pub ref_end_s: f64,
    /// Mean `t_ref − t_out` over the segment.
    pub offset_s: f64,
    /// Half-width of the 95% interval around `offset_s`.
    pub offset_uncertainty_s: f64,
    /// Slope of the offset over output time, in parts per million (`None` from one window).
    pub drift_ppm: Option<f64>,
    pub drift_uncertainty_ppm: Option<f64>,
    /// Output level relative to the reference, in dB (least squares over the matched windows).
    pub gain_db: f64,
    /// True when the output carries the reference with inverted polarity.
    pub inverted: bool,
    /// Highest window confidence in the segment.
    pub confidence: f64,
    /// Matched windows in the segment.
    pub windows: usize,
    /// Share of the output's energy over the segment that the reference explains (1 minus
    /// the residual energy after subtracting the gained, aligned reference).
    pub explained: f64,
    /// The output time at which `offset_s` holds (the midpoint, once the edges are placed).
    pub centre_s: f64,
}

impl Segment {
    /// `t_ref − t_out` at output time `t_out`, along the segment's drift.
    pub fn offset_at(&self, t_out: f64) -> f64 {
        self.offset_s + self.drift_ppm.unwrap_or(0.0) * 1e-6 * (t_out - self.centre_s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AudioAlignment {
    pub sample_rate: u32,
    pub windows: Vec<WindowMatch>,
    /// In output order.
    pub segments: Vec<Segment>,
    /// The longest segment: the one the whole-file offset, drift and gain come from.
    pub main: Option<usize>,
    /// The best window's p-value and the bar each window had to clear.
    pub best_p: f64,
    pub per_window_p: f64,
    /// The frequency band used, in Hz.
    pub band_hz: (f64, f64),
}

/// Aligns `output` against `reference`, both mono at `sample_rate`.
pub fn align_audio(
    output: &[f32],
    reference: &[f32],
    sample_rate: u32,
    options: &AudioAlignOptions,
) -> AudioAlignment {
    align_audio_f64(to_f64(output), to_f64(reference), sample_rate, options)
}

/// Samples in the precision the alignment works in.
pub fn to_f64(samples: &[f32]) -> Vec<f64> {
    samples.iter().map(|&v| f64::from(v)).collect()
}

/// [`align_audio`] over signals already in f64, which it takes over: a caller that converts
/// and then drops its f32 copies holds each signal once, not twice (an hour of audio is ~90 MB
/// a copy).
pub fn align_audio_f64(
    out: Vec<f64>,
    refr: Vec<f64>,
    sample_rate: u32,
    options: &AudioAlignOptions,
) -> AudioAlignment {
    let rate = f64::from(sample_rate);
    let band = usable_band(&out, &refr);
    let band_hz = (band.low * rate, band.high * rate);

    // Pass 1: coarse lags of every window against the whole reference.
    let factor = ((rate / options.coarse_rate_hz).floor() as usize).max(1);
    let bounds = window_bounds(out.len(), (options.window_s * rate).round() as usize, factor);
    let coarse_hits: Vec<Option<CoarseHit>> = if refr.len() as f64 / rate > WHOLE_SEARCH_MAX_S {
        neighbourhood_hits(&out, &refr, &bounds, factor, band, options, sample_rate)
    } else {
        let coarse = CoarseSearch::new(&out, &refr, factor, band, options, sample_rate);
        bounds
            .par_iter()
            .map(|&(start, end)| with_correlator(|c| coarse.search(c, start, end)))
            .collect()
    };
    let per_window = options.false_alarm / bounds.len().max(1) as f64;
    let best_p = coarse_hits.iter().flatten().map(|h| h.p_value).fold(1.0, f64::min);
    let mut windows: Vec<WindowMatch> = bounds
        .iter()
        .zip(&coarse_hits)
        .map(|(&(start, end), hit)| WindowMatch {
            out_start_s: start as f64 / rate,
            out_end_s: end as f64 / rate,
            offset_s: hit.filter(|h| h.p_value <= per_window).map(|h| h.offset_samples / rate),
            z: hit.map_or(0.0, |h| h.z),
            p_value: hit.map_or(1.0, |h| h.p_value),
            confidence: hit.map_or(0.0, |h| 1.0 - h.p_value),
            coherence: 0.0,
            segment: None,
            gain_terms: (0.0, 0.0),
        })
        .collect();

    // Pass 2: segments from the coarse offsets, each with a first drift estimate.
    let groups = group_windows(&windows, options);
    let mut lines: Vec<Line> = groups.iter().map(|g| fit_line(&windows, g)).collect();

    // Pass 3: full-rate lags, resampled along each segment's drift; refit, and once more if the
    // drift moved enough to smear a window's peak.
    let margin = 3 * factor + 8;
    let longest = bounds.iter().map(|(s, e)| e - s).max().unwrap_or(0);
    let fine = FineSearch {
        out: &out,
        refr: &refr,
        band,
        margin,
        // Only lags within the margin are read: the section's length is enough for them not to
        // wrap around.
        fft_len: Correlator::fft_len(longest + 2 * margin + 2, longest, 0),
    };
    let window_samples = options.window_s * rate;
    let mut slopes: Vec<f64> = lines.iter().map(Line::resolved_slope).collect();
    for _ in 0..2 {
        let refined: Vec<(usize, Option<FineHit>)> = groups
            .iter()
            .zip(lines.iter().zip(&slopes))
            .flat_map(|(group, (line, &slope))| group.iter().map(move |&w| (w, *line, slope)))
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(w, line, slope)| {
                let (start, end) = bounds[w];
                let centre_s = 0.5 * (start + end) as f64 / rate;
                let predicted = line.at(centre_s);
                let hit = with_correlator(|correlator| {
                    fine.search(correlator, start, end, predicted * rate, slope)
                });
                (w, hit)
            })
            .collect();
        for (w, hit) in refined {
            if let Some(hit) = hit {
                windows[w].offset_s = Some(hit.offset_samples / rate);
                windows[w].coherence = hit.coherence;
                windows[w].gain_terms = hit.gain_terms;
            }
        }
        lines = groups.iter().map(|g| fit_line(&windows, g)).collect();
        let resolved: Vec<f64> = lines.iter().map(Line::resolved_slope).collect();
        let settled = resolved
            .iter()
            .zip(&slopes)
            .all(|(new, old)| (new - old).abs() * window_samples < FINE_SMEAR_SAMPLES);
        slopes = resolved;
        if settled {
            break;
        }
    }

    // Chance peaks out; the segments that had only those go with them.
    let mut groups = groups;
    for group in &mut groups {
        group.retain(|&w| windows[w].coherence >= MIN_COHERENCE);
    }
    for window in windows.iter_mut().filter(|w| w.coherence < MIN_COHERENCE) {
        window.offset_s = None;
    }
    groups.retain(|g| !g.is_empty());
    let lines: Vec<Line> = groups.iter().map(|g| fit_line(&windows, g)).collect();

    let mut segments = Vec::with_capacity(groups.len());
    for (index, (group, line)) in groups.iter().zip(&lines).enumerate() {
        for &w in group {
            windows[w].segment = Some(index);
        }
        segments.push(segment_from(&windows, group, line, bounds[group[0]], out.len(), rate));
    }
    place_edges(&mut segments, &groups, &bounds, &out, &refr, rate);
    let main = segments
        .iter()
        .enumerate()
        .max_by(|a, b| {
            let length = |s: &Segment| s.out_end_s - s.out_start_s;
            length(a.1).total_cmp(&length(b.1))
        })
        .map(|(i, _)| i);
    AudioAlignment {
        sample_rate,
        windows,
        segments,
        main,
        best_p,
        per_window_p: per_window,
        band_hz,
    }
}

/// A window whose full-rate PHAT peak is lower than this is a chance match, however its
/// coarse p-value looks: over 379 corpus pairs of unrelated speech, chance peaks that passed
/// the p-value reached 0.03–0.05, while real matches, even a reference mixed under other
/// audio twice as loud, measured 0.15 and above (clean copies 0.7–0.9).
const MIN_COHERENCE: f64 = 0.1;
thread_local! {
    /// One correlator per thread (rayon's workers included), so that its buffers are made once
    /// per length.
    static CORRELATOR: std::cell::RefCell<Correlator> = std::cell::RefCell::new(Correlator::new());
}

fn with_correlator<T>(work: impl FnOnce(&mut Correlator) -> T) -> T {
    CORRELATOR.with(|correlator| work(&mut correlator.borrow_mut()))
}

/// A residual drift that smears a window's peak by less than this many samples is left alone.
const FINE_SMEAR_SAMPLES: f64 = 0.05;
/// Welch frame for the band estimate.
const BAND_FRAME: usize = 1024;
/// Most frames averaged for the band estimate (spread over the signal).
const BAND_MAX_FRAMES: usize = 256;
/// A frequency counts when both signals have at least this share of their peak power there:
/// above it lies the codec's or resampler's empty band, where PHAT would weigh pure noise.
const BAND_FLOOR_DB: f64 = -50.0;
/// Half-width, in output samples, of the decimation filter per unit of decimation factor.
const DECIMATION_TAPS_PER_FACTOR: usize = 8;
/// Half-width of the windowed-sinc interpolator that resamples the reference along a drift.
const INTERPOLATION_HALF_WIDTH: isize = 16;

/// The band where both signals have energy, from their averaged power spectra.
fn usable_band(a: &[f64], b: &[f64]) -> Band {
    let (pa, pb) = with_correlator(|correlator| {
        (power_spectrum(correlator, a), power_spectrum(correlator, b))
    });
    let (Some(pa), Some(pb)) = (pa, pb) else { return Band::FULL };
    let floor = 10f64.powf(BAND_FLOOR_DB / 10.0);
    let max_a = pa.iter().copied().fold(0.0, f64::max);
    let max_b = pb.iter().copied().fold(0.0, f64::max);
    let usable: Vec<usize> =
        (1..pa.len() - 1).filter(|&k| pa[k] >= floor * max_a && pb[k] >= floor * max_b).collect();
    match (usable.first(), usable.last()) {
        (Some(&low), Some(&high)) if high > low => {
            let bin = 1.0 / BAND_FRAME as f64;
            Band { low: low as f64 * bin, high: (high as f64 + 0.5) * bin }
        }
        _ => Band::FULL,
    }
}

/// Welch power spectrum with Hann frames of [`BAND_FRAME`] samples; `None` if too short.
fn power_spectrum(correlator: &mut Correlator, signal: &[f64]) -> Option<Vec<f64>> {
    if signal.len() < BAND_FRAME {
        return None;
    }
    let hop = BAND_FRAME / 2;
    let frames = (signal.len() - BAND_FRAME) / hop + 1;
    let stride = frames.div_ceil(BAND_MAX_FRAMES).max(1);
    let window: Vec<f64> = (0..BAND_FRAME)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / BAND_FRAME as f64).cos())
        .collect();
    let mut power = vec![0.0; BAND_FRAME / 2 + 1];
    let mut frame = vec![0.0; BAND_FRAME];
    for f in (0..frames).step_by(stride) {
        let start = f * hop;
        for (i, v) in frame.iter_mut().enumerate() {
            *v = signal[start + i] * window[i];
        }
        let spectrum = correlator.spectrum(&frame, BAND_FRAME);
        for (p, x) in power.iter_mut().zip(&spectrum.bins) {
            *p += x.norm_sqr();
        }
    }
    Some(power)
}

/// Output windows of about `length` samples tiling the signal, with starts on the coarse grid.
fn window_bounds(len: usize, length: usize, factor: usize) -> Vec<(usize, usize)> {
    let count = ((len as f64 / length.max(1) as f64).round() as usize).max(1);
    let edge = |i: usize| {
        if i == count {
            len
        } else {
            (i * len / count) / factor * factor
        }
    };
    (0..count).map(|i| (edge(i), edge(i + 1))).filter(|(s, e)| e > s).collect()
}

/// Low-pass filters with a Hann-windowed sinc and keeps every `factor`-th sample (the signal
/// itself, not a copy, for a factor of 1: hours of audio are not held twice).
fn decimate(signal: &[f64], factor: usize) -> Cow<'_, [f64]> {
    if factor == 1 {
        return Cow::Borrowed(signal);
    }
    let half = (DECIMATION_TAPS_PER_FACTOR * factor) as isize;
    let cutoff = 0.45 / factor as f64;
    let taps: Vec<f64> = (-half..=half)
        .map(|k| {
            let x = k as f64;
            let window = 0.5 + 0.5 * (std::f64::consts::PI * x / (half as f64 + 1.0)).cos();
            2.0 * cutoff * sinc(2.0 * cutoff * x) * window
        })
        .collect();
    let len = signal.len() as isize;
    (0..signal.len().div_ceil(factor))
        .map(|m| {
            let first = (m * factor) as isize - half;
            if first >= 0 && first + 2 * half < len {
                let start = first as usize;
                dot(&taps, &signal[start..start + taps.len()])
            } else {
                taps.iter()
                    .enumerate()
                    .filter_map(|(i, h)| {
                        let t = first + i as isize;
                        (t >= 0 && t < len).then(|| h * signal[t as usize])
                    })
                    .sum()
            }
        })
        .collect::<Vec<f64>>()
        .into()
}

#[derive(Clone, Copy, Debug)]
struct CoarseHit {
    /// `t_ref − t_out` in full-rate samples.
    offset_samples: f64,
    z: f64,
    p_value: f64,
}

/// The reference decimated, whitened and transformed once; windows of the output are looked
/// up in it.
///
/// GCC-PHAT is the correlation of the two signals whitened (every frequency at unit
/// magnitude). Whitening flattens the spectrum but not the loudness over time, so the raw
/// curve is louder where the reference is louder; dividing each lag by the whitened
/// reference's energy under the window makes the curve a correlation coefficient whose spread
/// away from the match is the same at every lag, which the significance test needs.
struct CoarseSearch<'a> {
    /// The output, decimated.
    out: Cow<'a, [f64]>,
    refr_len: usize,
    /// Whitened reference spectrum.
    refr_white: crate::correlate::Spectrum,
    /// Prefix sums of the whitened reference's squares over two periods (index + n).
    refr_energy: Vec<f64>,
    factor: usize,
    band: Band,
    /// Lags either side of a peak that belong to it (its shoulders), not to the noise.
    exclude_lags: usize,
}

/// Half-width of a match's own peak (pitch-period side lobes included), left out of the null.
const PEAK_SHOULDER_S: f64 = 0.025;

/// Lags where the whitened reference has less than this share of its median energy under the
/// window are not scored (they overlap the reference by a few samples at most).
const MIN_LAG_ENERGY_SHARE: f64 = 1e-3;

impl<'a> CoarseSearch<'a> {
    fn new(
        out: &'a [f64],
        refr: &[f64],
        factor: usize,
        band: Band,
        options: &AudioAlignOptions,
        sample_rate: u32,
    ) -> Self {
        let refr_c = decimate(refr, factor);
        CoarseSearch::over(decimate(out, factor), &refr_c, factor, band, options, sample_rate)
    }

    /// The search of the decimated output `out_c` in `refr_c`, a decimated reference or a
    /// stretch of one (offsets are then counted from the stretch's start).
    fn over(
        out_c: Cow<'a, [f64]>,
        refr_c: &[f64],
        factor: usize,
        band: Band,
        options: &AudioAlignOptions,
        sample_rate: u32,
    ) -> Self {
        // Windows are at most 1.5 nominal lengths (see `window_bounds`), plus rounding.
        let longest_window =
            (options.window_s * f64::from(sample_rate) * 1.5 / factor as f64).ceil() as usize + 2;
        let n = Correlator::fft_len(refr_c.len(), longest_window.min(out_c.len()), longest_window);
        // The coarse band is the full-rate band, capped below the decimation filter's edge.
        let coarse_band =
            Band { low: band.low * factor as f64, high: (band.high * factor as f64).min(0.45) };
        let (refr_white, white) = with_correlator(|correlator| {
            let (refr_white, _) = correlator.spectrum(refr_c, n).whitened(coarse_band);
            let white = correlator.inverse(&refr_white);
            (refr_white, white)
        });
        let mut refr_energy = Vec::with_capacity(2 * n + 1);
        refr_energy.push(0.0);
        for v in white.iter().chain(&white) {
            refr_energy.push(refr_energy.last().expect("non-empty") + v * v);
        }
        let coarse_rate = f64::from(sample_rate) / factor as f64;
        CoarseSearch {
            out: out_c,
            refr_len: refr_c.len(),
            refr_white,
            refr_energy,
            factor,
            band: coarse_band,
            exclude_lags: (PEAK_SHOULDER_S * coarse_rate).ceil() as usize,
        }
    }

    /// Energy of the whitened reference over `[from, from + len)`, circularly.
    fn energy(&self, from: isize, len: usize) -> f64 {
        let n = self.refr_white.n as isize;
        let start = (from.rem_euclid(n)) as usize;
        self.refr_energy[start + len] - self.refr_energy[start]
    }

    /// Looks up the output window `[start, end)` (full-rate samples) in the whole reference.
    fn search(&self, correlator: &mut Correlator, start: usize, end: usize) -> Option<CoarseHit> {
        let (start_c, end_c) = (start / self.factor, end.div_ceil(self.factor).min(self.out.len()));
        let window = &self.out[start_c..end_c];
        let n = self.refr_white.n;
        if window.len() < 2 || window.len() + self.refr_len > n {
            return None;
        }
        let (window_white, kept) = correlator.spectrum(window, n).whitened(self.band);
        if kept == 0 {
            return None;
        }
        // Parseval: the whitened window's energy from its unit bins (each counted twice).
        let window_energy = 2.0 * kept as f64 / n as f64;
        let cross = CrossSpectrum::new(&self.refr_white, &window_white, Weighting::None, self.band);
        let circular = correlator.circular(&cross);
        drop((cross, window_white));
        // Lag k puts the window's first sample at reference sample k; any overlap counts.
        // (Buffers as long as the reference are made one at a time: for a long reference each
        // is tens of MB a thread.)
        let first_lag = -(window.len() as isize - 1);
        let lags = first_lag..self.refr_len as isize;
        let mut values: Vec<f64> = lags.clone().map(|k| self.energy(k, window.len())).collect();
        let median_energy = crate::estimate::significance::median_in_place(&mut values.clone());
        let floor = MIN_LAG_ENERGY_SHARE * median_energy.max(f64::MIN_POSITIVE);
        for (value, k) in values.iter_mut().zip(lags) {
            let energy = *value;
            *value = if energy > floor {
                circular[k.rem_euclid(n as isize) as usize] / (energy * window_energy).sqrt()
            } else {
                f64::NAN
            };
        }
        drop(circular);
        let best = crate::correlate::peak::argmax(&values)?;
        let refined = crate::correlate::peak::refine_parabolic(&values, best);
        let z = robust_z(&values, values[best]);
        let lag = first_lag as f64 + refined.position;
        let p_value = tail_p_value(&values, best, self.exclude_lags);
        Some(CoarseHit { offset_samples: (lag - start_c as f64) * self.factor as f64, z, p_value })
    }
}

/// A reference longer than this is not searched whole by every output window, which costs a
/// transform of the whole reference per window (time growing with the square of the length),
/// but around the offsets of a few anchors (see [`neighbourhood_hits`]).
///
/// Two minutes: up to there a whole search of every window costs about as much as the anchor
/// search (a 10-minute reference searched whole took 67 s and 900 MB on 2 cores, against 10 s
/// and under 500 MB for an hour through anchors).
const WHOLE_SEARCH_MAX_S: f64 = 120.0;
/// Rate of the anchor search over the whole reference.
const ANCHOR_RATE_HZ: f64 = 500.0;
/// Length of an anchor window: long, for a clear peak at the anchor rate.
const ANCHOR_WINDOW_S: f64 = 16.0;
/// Most anchors spread over the output.
const MAX_ANCHORS: usize = 24;
/// Each window is searched this far either side of an anchor's offset, plus the drift the
/// options allow over the distance between anchors.
const NEIGHBOURHOOD_S: f64 = 1.0;

/// Coarse hits of every window for a long reference, coarse to fine in time:
///
/// 1. anchors, long windows spread over the output, are looked up in the whole reference at
///    [`ANCHOR_RATE_HZ`] (one transform of the whole reference each, a few dozen in all);
/// 2. each window is looked up, at the coarse rate, only in the stretches of reference around
///    the offsets of the matched anchors on either side of it.
///
/// Time is then linear in the length, and memory holds a stretch per window, not the whole
/// reference's transform. A splice is followed when an anchor lies on each side of it; two
/// splices between neighbouring anchors are not.
fn neighbourhood_hits(
    out: &[f64],
    refr: &[f64],
    bounds: &[(usize, usize)],
    factor: usize,
    band: Band,
    options: &AudioAlignOptions,
    sample_rate: u32,
) -> Vec<Option<CoarseHit>> {
    let rate = f64::from(sample_rate);
    let anchor_factor = ((rate / ANCHOR_RATE_HZ).floor() as usize).max(factor);
    let anchor_options = AudioAlignOptions { window_s: ANCHOR_WINDOW_S, ..options.clone() };
    let all = window_bounds(out.len(), (ANCHOR_WINDOW_S * rate).round() as usize, anchor_factor);
    let step = all.len().div_ceil(MAX_ANCHORS).max(1);
    let anchors: Vec<(usize, usize)> = all.into_iter().step_by(step).collect();
    let bar = options.false_alarm / anchors.len().max(1) as f64;
    // One anchor at a time: each holds curves over the whole reference.
    let found: Vec<(f64, f64)> = {
        let whole = CoarseSearch::new(out, refr, anchor_factor, band, &anchor_options, sample_rate);
        anchors
            .iter()
            .filter_map(|&(start, end)| {
                let hit = with_correlator(|c| whole.search(c, start, end))?;
                (hit.p_value <= bar).then(|| (0.5 * (start + end) as f64, hit.offset_samples))
            })
            .collect()
    };
    if found.is_empty() {
        return vec![None; bounds.len()];
    }
    let spacing_s = step as f64 * ANCHOR_WINDOW_S;
    let radius = (NEIGHBOURHOOD_S + options.max_drift_ppm * 1e-6 * spacing_s) * rate;
    let radius_c = (radius / factor as f64).ceil() as isize;
    let out_c = decimate(out, factor);
    let refr_c = decimate(refr, factor);
    bounds
        .par_iter()
        .map(|&(start, end)| {
            let centre = 0.5 * (start + end) as f64;
            let after = found.partition_point(|&(at, _)| at < centre);
            let mut candidates: Vec<f64> = [after.checked_sub(1), Some(after)]
                .into_iter()
                .flatten()
                .filter_map(|i| found.get(i).map(|&(_, offset)| offset))
                .collect();
            candidates.dedup_by(|a, b| (*a - *b).abs() < 0.5 * radius);
            candidates
                .into_iter()
                .filter_map(|offset| {
                    let shift = (offset / factor as f64).round() as isize;
                    let from = ((start / factor) as isize + shift - radius_c).max(0) as usize;
                    let to = ((end.div_ceil(factor)) as isize + shift + radius_c)
                        .clamp(0, refr_c.len() as isize) as usize;
                    if to <= from {
                        return None;
                    }
                    let search = CoarseSearch::over(
                        Cow::Borrowed(&out_c[..]),
                        &refr_c[from..to],
                        factor,
                        band,
                        options,
                        sample_rate,
                    );
                    let hit = with_correlator(|c| search.search(c, start, end))?;
                    Some(CoarseHit {
                        offset_samples: hit.offset_samples + (from * factor) as f64,
                        ..hit
                    })
                })
                .min_by(|a, b| a.p_value.total_cmp(&b.p_value))
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
struct FineHit {
    offset_samples: f64,
    coherence: f64,
    gain_terms: (f64, f64),
}

struct FineSearch<'a> {
    out: &'a [f64],
    refr: &'a [f64],
    band: Band,
    /// Lags searched either side of the predicted one.
    margin: usize,
    /// One FFT length for every window, so that one plan serves them all.
    fft_len: usize,
}

impl FineSearch<'_> {
    /// Measures the window `[start, end)` against the reference around `predicted` (in samples,
    /// at the window's centre), resampling the reference along `slope` (drift as a fraction).
    fn search(
        &self,
        correlator: &mut Correlator,
        start: usize,
        end: usize,
        predicted: f64,
        slope: f64,
    ) -> Option<FineHit> {
        let window = &self.out[start..end];
        let centre = 0.5 * (start + end) as f64;
        let margin = self.margin as f64;
        // Reference position of output sample t: centre + predicted + (1 + slope)(t − centre).
        let position = |t: f64| centre + predicted + (1.0 + slope) * (t - centre);
        let first = (start as f64 - margin).floor() as isize;
        let last = (end as f64 + margin).ceil() as isize;
        let warp = slope.abs() * window.len() as f64 >= FINE_SMEAR_SAMPLES;
        // The stretch of reference, indexed like the output (u ↦ reference at position(u)).
        let base = if warp { 0.0 } else { (centre + predicted - centre).round() };
        let section: Vec<f64> = (first..last)
            .map(|u| {
                if warp {
                    interpolate(self.refr, position(u as f64))
                } else {
                    let t = u + base as isize;
                    if t >= 0 && (t as usize) < self.refr.len() {
                        self.refr[t as usize]
                    } else {
                        0.0
                    }
                }
            })
            .collect();
        if section.iter().all(|&v| v == 0.0) {
            return None;
        }
        let n = self.fft_len;
        let section_spectrum = correlator.spectrum(&section, n);
        let window_spectrum = correlator.spectrum(window, n);
        let phat =
            CrossSpectrum::new(&section_spectrum, &window_spectrum, Weighting::Phat, self.band);
        let circular = correlator.circular(&phat);
        // section[j] is output-indexed sample first + j, so lag (start − first) means "as
        // predicted"; search the margin around it.
        let expected = start as isize - first;
        let span = self.margin as isize;
        let (best, _) = (expected - span..=expected + span)
            .map(|k| (k, circular[k.rem_euclid(n as isize) as usize]))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let peak = phat.refine_peak(best as f64);
        let residual = peak.lag - expected as f64;
        let plain =
            CrossSpectrum::new(&section_spectrum, &window_spectrum, Weighting::None, self.band);
        let (numerator, _, _) = plain.value_at(peak.lag);
        // The reference energy under the window, at the matched lag.
        let shift = residual.round() as isize - first + start as isize;
        let denominator: f64 = (0..window.len() as isize)
            .filter_map(|t| section.get((t + shift) as usize).filter(|_| t + shift >= 0))
            .map(|v| v * v)
            .sum();
        // The window's centre is matched to the reference at position(centre + residual) (or,
        // unwarped, at centre + base + residual).
        let matched = if warp { position(centre + residual) } else { centre + base + residual };
        Some(FineHit {
            offset_samples: matched - centre,
            coherence: (peak.value * phat.coherence_scale()).clamp(0.0, 1.0),
            gain_terms: (numerator, denominator),
        })
    }
}

/// The reference at a fractional sample position (Hann-windowed sinc); zero outside it.
///
/// One sine per call: `sin(π(k − f)) = (−1)^(k+1) sin(πf)` for integer `k`; the window is a
/// polynomial (Welch-squared) taper, so no more trigonometry per tap.
fn interpolate(signal: &[f64], position: f64) -> f64 {
    use std::f64::consts::PI;
    let base = position.floor() as isize;
    let fraction = position - base as f64;
    if fraction == 0.0 {
        return usize::try_from(base).ok().and_then(|i| signal.get(i)).copied().unwrap_or(0.0);
    }
    let half = INTERPOLATION_HALF_WIDTH;
    let sine = (PI * fraction).sin();
    (base - half + 1..=base + half)
        .filter(|&i| i >= 0 && (i as usize) < signal.len())
        .map(|i| {
            let k = i - base;
            let x = k as f64 - fraction;
            let sign = if k % 2 == 0 { -1.0 } else { 1.0 };
            let taper = 1.0 - (x / half as f64).powi(2);
            signal[i as usize] * sign * sine / (PI * x) * taper * taper
        })
        .sum()
}

/// Groups matched windows, in output order, into runs whose offsets agree.
fn group_windows(windows: &[WindowMatch], options: &AudioAlignOptions) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let agrees = |a: &WindowMatch, b: &WindowMatch| {
        let (Some(oa), Some(ob)) = (a.offset_s, b.offset_s) else { return false };
        let dt = (b.out_start_s - a.out_start_s).abs();
        (oa - ob).abs() <= options.splice_tolerance_ms * 1e-3 + options.max_drift_ppm * 1e-6 * dt
    };
    for (i, w) in windows.iter().enumerate() {
        if w.offset_s.is_none() {
            continue;
        }
        match groups.last_mut() {
            Some(group) if agrees(&windows[*group.last().expect("non-empty")], w) => group.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// `offset(t) = intercept + slope · (t − centre)`, `t` in output seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Line {
    centre: f64,
    intercept: f64,
    slope: f64,
    /// Standard errors of intercept and slope (zero when not estimable).
    intercept_se: f64,
    slope_se: f64,
}

impl Line {
    fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * (t - self.centre)
    }

    /// The slope where it stands out from its own uncertainty, else 0: resampling along a
    /// slope that is only noise would cost time and add interpolation error for nothing.
    fn resolved_slope(&self) -> f64 {
        if self.slope.abs() > RESOLVED_SLOPE_SIGMAS * self.slope_se {
            self.slope
        } else {
            0.0
        }
    }
}

/// A slope counts as drift when it is this many standard errors from zero.
const RESOLVED_SLOPE_SIGMAS: f64 = 3.0;

/// Residuals beyond this many robust standard deviations are dropped before the refit.
const OUTLIER_SIGMAS: f64 = 4.0;
/// Residual spread never counts as smaller than this (seconds): below it, windows agree.
const MIN_RESIDUAL_S: f64 = 2e-6;

/// Least-squares line through the windows' offsets, refitted once without outliers.
fn fit_line(windows: &[WindowMatch], group: &[usize]) -> Line {
    let points: Vec<(f64, f64)> = group
        .iter()
        .filter_map(|&w| {
            let window = &windows[w];
            window.offset_s.map(|o| (0.5 * (window.out_start_s + window.out_end_s), o))
        })
        .collect();
    let first = least_squares(&points);
    if points.len() < 4 {
        return first;
    }
    let mut residuals: Vec<f64> = points.iter().map(|&(t, o)| (o - first.at(t)).abs()).collect();
    let spread =
        (1.4826 * super::super::significance::median_in_place(&mut residuals)).max(MIN_RESIDUAL_S);
    let kept: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|&(t, o)| (o - first.at(t)).abs() <= OUTLIER_SIGMAS * spread)
        .collect();
    if kept.len() >= 2 {
        least_squares(&kept)
    } else {
        first
    }
}

fn least_squares(points: &[(f64, f64)]) -> Line {
    let n = points.len() as f64;
    let centre = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - centre).powi(2)).sum();
    if points.len() < 2 || sxx <= 0.0 {
        return Line { centre, intercept: mean, slope: 0.0, intercept_se: 0.0, slope_se: 0.0 };
    }
    let slope = points.iter().map(|p| (p.0 - centre) * (p.1 - mean)).sum::<f64>() / sxx;
    let line = Line { centre, intercept: mean, slope, intercept_se: 0.0, slope_se: 0.0 };
    if points.len() < 3 {
        return line;
    }
    let rss: f64 = points.iter().map(|&(t, o)| (o - line.at(t)).powi(2)).sum();
    let sigma = (rss / (n - 2.0)).sqrt();
    Line { intercept_se: sigma / n.sqrt(), slope_se: sigma / sxx.sqrt(), ..line }
}

/// 95% two-sided normal quantile.
const Z95: f64 = 1.959_964;

/// The segment of a group before its edges are placed: the span of its windows.
fn segment_from(
    windows: &[WindowMatch],
    group: &[usize],
    line: &Line,
    first_bounds: (usize, usize),
    out_len: usize,
    rate: f64,
) -> Segment {
    let out_start_s = first_bounds.0 as f64 / rate;
    let out_end_s = windows[*group.last().expect("non-empty")].out_end_s.min(out_len as f64 / rate);
    let (numerator, denominator) = group
        .iter()
        .map(|&w| windows[w].gain_terms)
        .fold((0.0, 0.0), |acc, g| (acc.0 + g.0, acc.1 + g.1));
    let gain = if denominator > 0.0 { numerator / denominator } else { 0.0 };
    let mut segment = Segment {
        out_start_s,
        out_end_s,
        ref_start_s: 0.0,
        ref_end_s: 0.0,
        offset_s: line.intercept,
        offset_uncertainty_s: Z95 * line.intercept_se,
        drift_ppm: (group.len() >= 2).then_some(line.slope * 1e6),
        drift_uncertainty_ppm: (group.len() >= 3).then_some(Z95 * line.slope_se * 1e6),
        gain_db: 20.0 * gain.abs().max(1e-12).log10(),
        inverted: gain < 0.0,
        confidence: group.iter().map(|&w| windows[w].confidence).fold(0.0, f64::max),
        windows: group.len(),
        explained: 0.0,
        centre_s: line.centre,
    };
    segment.recentre();
    segment
}

impl Segment {
    /// Re-expresses the offset at the segment's midpoint.
    fn recentre(&mut self) {
        let mid = 0.5 * (self.out_start_s + self.out_end_s);
        self.offset_s = self.offset_at(mid);
        self.centre_s = mid;
    }
}

/// How far a boundary may move into a near-tie (as a share of the evidence over its search
/// range) to give the segment the benefit of the doubt, e.g. over silence at its edges.
const EDGE_TIE_SHARE: f64 = 1e-3;

/// Places every segment edge to the sample.
///
/// For a sample `t`, each hypothesis (segment A plays here, segment B plays here, or neither)
/// leaves a residual `(out[t] − g·ref[t + lag(t)])²`, with `out[t]²` for neither. Edges go
/// where the summed residuals are least: between two segments in the span from the last
/// window of one to the first window of the next, at the outer ends within the first and last
/// windows, never beyond where the reference exists.
fn place_edges(
    segments: &mut [Segment],
    groups: &[Vec<usize>],
    bounds: &[(usize, usize)],
    out: &[f64],
    refr: &[f64],
    rate: f64,
) {
    let count = segments.len();
    if count == 0 {
        return;
    }
    let hypothesis = |s: &Segment| Hypothesis {
        segment: s.clone(),
        gain: 10f64.powf(s.gain_db / 20.0) * if s.inverted { -1.0 } else { 1.0 },
    };
    let hypotheses: Vec<Hypothesis> = segments.iter().map(hypothesis).collect();
    let samples = |s: f64| (s * rate).round().clamp(0.0, out.len() as f64) as usize;
    for i in 0..count {
        let h = &hypotheses[i];
        let (valid_start, valid_end) = h.valid_range(out.len(), refr.len(), rate);
        // Start edge.
        let lo = if i == 0 {
            valid_start
        } else {
            bounds[*groups[i - 1].last().expect("non-empty")].0.max(valid_start)
        };
        let hi = bounds[groups[i][0]].1.min(valid_end);
        let start = if i == 0 {
            let d = h.evidence(out, refr, rate, lo, hi);
            earliest_suffix_minimum(&d) + lo
        } else {
            let previous = &hypotheses[i - 1];
            let (_, previous_end) = previous.valid_range(out.len(), refr.len(), rate);
            let lo = lo.max(samples(segments[i - 1].out_start_s));
            let hi = hi.max(lo);
            let da = previous.evidence(out, refr, rate, lo, hi.min(previous_end).max(lo));
            let db = h.evidence(out, refr, rate, lo, hi);
            let (end_previous, start_this) = split_between(&da, &db);
            segments[i - 1].out_end_s = (lo + end_previous) as f64 / rate;
            lo + start_this
        };
        segments[i].out_start_s = start as f64 / rate;
        if i + 1 == count {
            let lo = bounds[*groups[i].last().expect("non-empty")].0.max(start);
            let hi = valid_end.max(lo);
            let d = h.evidence(out, refr, rate, lo, hi);
            segments[i].out_end_s = (lo + latest_prefix_minimum(&d)) as f64 / rate;
        }
    }
    for (segment, h) in segments.iter_mut().zip(&hypotheses) {
        // Gain by least squares over the samples the segment now covers (the windows' own
        // estimate also counted reference audio beyond its edges, e.g. a cropped-off part),
        // and the share of the output's energy the gained reference explains.
        let (lo, hi) = (samples(segment.out_start_s), samples(segment.out_end_s));
        let (mut energy, mut cross, mut power) = (0.0, 0.0, 0.0);
        for (t, &o) in out.iter().enumerate().take(hi).skip(lo) {
            let r = h.reference_at(refr, t, rate);
            energy += o * o;
            cross += o * r;
            power += r * r;
        }
        if power > 0.0 && energy > 0.0 {
            let gain = cross / power;
            segment.gain_db = 20.0 * gain.abs().max(1e-12).log10();
            segment.inverted = gain < 0.0;
            segment.explained = (cross * cross / power / energy).clamp(0.0, 1.0);
        }
        segment.ref_start_s = segment.out_start_s + segment.offset_at(segment.out_start_s);
        segment.ref_end_s = segment.out_end_s + segment.offset_at(segment.out_end_s);
        segment.recentre();
    }
}

struct Hypothesis {
    segment: Segment,
    gain: f64,
}

impl Hypothesis {
    fn ref_index(&self, t: usize, rate: f64) -> f64 {
        let ts = t as f64 / rate;
        (ts + self.segment.offset_at(ts)) * rate
    }

    /// The reference under output sample `t`, linearly interpolated; 0 outside it.
    fn reference_at(&self, refr: &[f64], t: usize, rate: f64) -> f64 {
        let position = self.ref_index(t, rate);
        let base = position.floor();
        let fraction = position - base;
        let at = |i: f64| {
            if i >= 0.0 && (i as usize) < refr.len() {
                refr[i as usize]
            } else {
                0.0
            }
        };
        at(base) * (1.0 - fraction) + at(base + 1.0) * fraction
    }

    /// Output samples `[start, end)` for which the reference exists under this hypothesis.
    fn valid_range(&self, out_len: usize, ref_len: usize, rate: f64) -> (usize, usize) {
        let start = (0..=out_len).find(|&t| self.ref_index(t, rate) >= 0.0);
        let Some(start) = start else { return (out_len, out_len) };
        // The offset changes slowly, so the end follows from the start by the line's slope.
        let slope = 1.0 + self.segment.drift_ppm.unwrap_or(0.0) * 1e-6;
        let at_start = self.ref_index(start, rate);
        let end = start as f64 + (ref_len as f64 - at_start) / slope;
        (start, (end.floor().max(start as f64) as usize).min(out_len))
    }

    /// Per sample in `[lo, hi)`: residual under this hypothesis minus residual under "neither"
    /// (negative where the hypothesis explains the output).
    fn evidence(&self, out: &[f64], refr: &[f64], rate: f64, lo: usize, hi: usize) -> Vec<f64> {
        (lo..hi.max(lo))
            .map(|t| {
                let index = self.ref_index(t, rate).round();
                let r = if index >= 0.0 && (index as usize) < refr.len() {
                    refr[index as usize]
                } else {
                    0.0
                };
                let residual = out[t] - self.gain * r;
                residual * residual - out[t] * out[t]
            })
            .collect()
    }
}

/// The tie tolerance for a run of evidence.
fn tie_tolerance(d: &[f64]) -> f64 {
    EDGE_TIE_SHARE * d.iter().map(|v| v.abs()).sum::<f64>() + f64::MIN_POSITIVE
}

/// Where the segment should start in `d`: the earliest `s` whose suffix sum `Σ d[s..]` is
/// within the tie tolerance of the least.
fn earliest_suffix_minimum(d: &[f64]) -> usize {
    let mut suffix = vec![0.0; d.len() + 1];
    for i in (0..d.len()).rev() {
        suffix[i] = suffix[i + 1] + d[i];
    }
    let least = suffix.iter().copied().fold(f64::INFINITY, f64::min);
    let tolerance = tie_tolerance(d);
    suffix.iter().position(|&v| v <= least + tolerance).unwrap_or(0)
}

/// Where the segment should end in `d`: the latest `s` whose prefix sum `Σ d[..s]` is within
/// the tie tolerance of the least.
fn latest_prefix_minimum(d: &[f64]) -> usize {
    let mut prefix = vec![0.0; d.len() + 1];
    for i in 0..d.len() {
        prefix[i + 1] = prefix[i] + d[i];
    }
    let least = prefix.iter().copied().fold(f64::INFINITY, f64::min);
    let tolerance = tie_tolerance(d);
    prefix.iter().rposition(|&v| v <= least + tolerance).unwrap_or(d.len())
}

/// The end of segment A and the start of segment B within a shared span, given each one's
/// evidence there: A as far as it explains the output, B from where it does, a gap between
/// them if neither does, and one shared edge where both would claim the same samples.
fn split_between(da: &[f64], db: &[f64]) -> (usize, usize) {
    let end_a = latest_prefix_minimum(da);
    let start_b = earliest_suffix_minimum(db);
    if end_a <= start_b {
        return (end_a, start_b);
    }
    // Both claim [start_b, end_a): one edge where A-then-B explains the output best.
    let mut prefix_a = vec![0.0; da.len() + 1];
    for i in 0..da.len() {
        prefix_a[i + 1] = prefix_a[i] + da[i];
    }
    let mut suffix_b = vec![0.0; db.len() + 1];
    for i in (0..db.len()).rev() {
        suffix_b[i] = suffix_b[i + 1] + db[i];
    }
    let cost = |s: usize| prefix_a[s] + suffix_b[s];
    let least = (start_b..=end_a).map(cost).fold(f64::INFINITY, f64::min);
    let tolerance = tie_tolerance(da).max(tie_tolerance(db));
    let ties: Vec<usize> = (start_b..=end_a).filter(|&s| cost(s) <= least + tolerance).collect();
    let edge = ties[ties.len() / 2];
    (edge, edge)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    /// Deterministic speech-like test audio: noise through a few resonances, switched on and
    /// off at syllable rate, with pauses.
    fn babble(seconds: f64, seed: u64) -> Vec<f64> {
        let len = (seconds * f64::from(RATE)) as usize;
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let (mut y1, mut y2) = (0.0, 0.0);
        let mut syllable_phase = 0.0;
        (0..len)
            .map(|t| {
                let time = t as f64 / f64::from(RATE);
                // Syllables at 3–6 Hz with a pause every couple of seconds.
                syllable_phase += (4.0 + 1.5 * (0.37 * time + seed as f64).sin()) / f64::from(RATE);
                let envelope = (std::f64::consts::PI * syllable_phase).sin().powi(2)
                    * if (time * 0.6 + seed as f64 * 0.1).fract() < 0.8 { 1.0 } else { 0.0 };
                let x = noise();
                // A resonance that wanders like a formant.
                let f = 0.05 + 0.03 * (2.1 * time + seed as f64).sin();
                let (r, c) = (0.97, 2.0 * (2.0 * std::f64::consts::PI * f).cos());
                let y = x + r * c * y1 - r * r * y2;
                y2 = y1;
                y1 = y;
                0.1 * envelope * y
            })
            .collect()
    }

    /// `signal` read at positions `a + b·t` (windowed sinc): a fractional delay when `b` is 1,
    /// a resampling (drift) otherwise.
    fn resample(signal: &[f64], a: f64, b: f64, len: usize) -> Vec<f64> {
        (0..len).map(|t| interpolate(signal, a + b * t as f64)).collect()
    }

    fn to_f32(signal: &[f64]) -> Vec<f32> {
        signal.iter().map(|&v| v as f32).collect()
    }

    fn main(alignment: &AudioAlignment) -> &Segment {
        &alignment.segments[alignment.main.expect("a main segment")]
    }

    #[test]
    fn fractional_and_large_shifts_are_exact() {
        let reference = babble(12.0, 1);
        let rate = f64::from(RATE);
        for shift_samples in [0.37, -5.5, 1.3 * rate + 0.21, -1.7 * rate - 0.83] {
            // Output sample t plays reference sample t + shift: offset = shift / rate.
            let output = resample(&reference, shift_samples, 1.0, reference.len());
            let alignment = align_audio(
                &to_f32(&output),
                &to_f32(&reference),
                RATE,
                &AudioAlignOptions::default(),
            );
            let error_ms = (main(&alignment).offset_s - shift_samples / rate) * 1e3;
            assert!(error_ms.abs() < 0.01, "shift {shift_samples}: error {error_ms} ms");
            assert_eq!(alignment.segments.len(), 1, "{:?}", alignment.segments);
        }
    }

    #[test]
    fn reference_inserted_later_and_mixed_under_louder_audio() {
        let rate = f64::from(RATE);
        let reference = babble(6.0, 2);
        let original = babble(10.0, 3);
        // Inserted at 1.25 s under the original track played twice as loud, 3 dB down.
        let insert = (1.25 * rate) as usize;
        let gain = 10f64.powf(-3.0 / 20.0);
        let output: Vec<f64> = (0..original.len())
            .map(|t| {
                let r = t.checked_sub(insert).and_then(|i| reference.get(i)).copied();
                2.0 * original[t] + gain * r.unwrap_or(0.0)
            })
            .collect();
        let alignment =
            align_audio(&to_f32(&output), &to_f32(&reference), RATE, &AudioAlignOptions::default());
        let segment = main(&alignment);
        assert!((segment.offset_s + 1.25).abs() < 1e-5, "offset {}", segment.offset_s);
        assert!((segment.out_start_s - 1.25).abs() < 0.01, "starts at {}", segment.out_start_s);
        assert!((segment.out_end_s - 7.25).abs() < 0.01, "ends at {}", segment.out_end_s);
        assert!(segment.ref_start_s.abs() < 0.01, "reference from {}", segment.ref_start_s);
        // Under twice-as-loud other audio the gain is a few per cent noisy.
        assert!((segment.gain_db + 3.0).abs() < 0.5, "gain {} dB", segment.gain_db);
        assert!(!segment.inverted);
    }

    #[test]
    fn drift_from_resampling_is_recovered_to_a_part_per_million() {
        let rate = f64::from(RATE);
        let reference = babble(62.0, 4);
        for ppm in [10.0, 1000.0] {
            // The output plays the reference `ppm` fast, starting 0.2 s in.
            let b = 1.0 + ppm * 1e-6;
            let output = resample(&reference, 0.2 * rate, b, (60.0 * rate) as usize);
            let alignment = align_audio(
                &to_f32(&output),
                &to_f32(&reference),
                RATE,
                &AudioAlignOptions::default(),
            );
            let segment = main(&alignment);
            let drift = segment.drift_ppm.expect("drift");
            assert!((drift - ppm).abs() < 1.0, "{ppm} ppm: found {drift}");
            // At the midpoint (30 s) the offset is 0.2 s + 30 s · ppm.
            let expected = 0.2 + (b - 1.0) * 0.5 * (segment.out_start_s + segment.out_end_s);
            assert!((segment.offset_s - expected).abs() < 1e-4, "offset {}", segment.offset_s);
        }
    }

    #[test]
    fn cuts_and_repeats_become_segments() {
        let rate = f64::from(RATE);
        let reference = babble(14.0, 5);
        let at = |s: f64| (s * rate) as usize;
        // Output: reference 0–5 s, then 6–9 s (1 s cut), then 8–14 s (1 s repeated).
        let output: Vec<f64> =
            [&reference[..at(5.0)], &reference[at(6.0)..at(9.0)], &reference[at(8.0)..]].concat();
        let alignment =
            align_audio(&to_f32(&output), &to_f32(&reference), RATE, &AudioAlignOptions::default());
        let offsets: Vec<f64> = alignment.segments.iter().map(|s| s.offset_s).collect();
        assert_eq!(offsets.len(), 3, "{:?}", alignment.segments);
        for (found, expected) in offsets.iter().zip([0.0, 1.0, 0.0]) {
            assert!((found - expected).abs() < 1e-5, "offsets {offsets:?}");
        }
        let edges: Vec<f64> = alignment.segments.iter().map(|s| s.out_start_s).collect();
        for (found, expected) in edges.iter().zip([0.0, 5.0, 8.0]) {
            assert!((found - expected).abs() < 0.05, "edges {edges:?}");
        }
    }

    /// A reference longer than [`WHOLE_SEARCH_MAX_S`] takes the anchored neighbourhood search:
    /// the offset is as exact, and a cut between anchors still splits the segments.
    #[test]
    fn long_references_are_searched_around_anchors() {
        const LONG_RATE: u32 = 1000;
        let rate = f64::from(LONG_RATE);
        // Noise that is not periodic: an LCG, through a one-pole low-pass.
        let mut state = 99u64;
        let mut smooth = 0.0;
        let reference: Vec<f64> = (0..(660.0 * rate) as usize)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                smooth = 0.7 * smooth + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5);
                smooth
            })
            .collect();
        assert!(reference.len() as f64 / rate > WHOLE_SEARCH_MAX_S);
        // The output is 40 ms late, and 10 s of the reference are cut out at 300 s.
        let delay = (0.04 * rate) as usize;
        let at = |s: f64| (s * rate) as usize;
        let late: Vec<f64> =
            std::iter::repeat_n(0.0, delay).chain(reference.iter().copied()).collect();
        let output = [&late[..at(300.0)], &late[at(310.0)..]].concat();
        let alignment = align_audio(
            &to_f32(&output),
            &to_f32(&reference),
            LONG_RATE,
            &AudioAlignOptions::default(),
        );
        let offsets: Vec<f64> = alignment.segments.iter().map(|s| s.offset_s).collect();
        assert_eq!(offsets.len(), 2, "{:?}", alignment.segments);
        for (found, expected) in offsets.iter().zip([-0.04, 10.0 - 0.04]) {
            assert!((found - expected).abs() < 1e-4, "offsets {offsets:?}");
        }
        assert!((alignment.segments[1].out_start_s - 300.0).abs() < 0.05);
    }

    #[test]
    fn unrelated_audio_is_not_forced_into_a_match() {
        let output = babble(10.0, 6);
        let reference = babble(8.0, 7);
        let alignment =
            align_audio(&to_f32(&output), &to_f32(&reference), RATE, &AudioAlignOptions::default());
        assert!(alignment.segments.is_empty(), "{:?}", alignment.segments);
        assert!(alignment.main.is_none());
        assert!(alignment.best_p > alignment.per_window_p);
    }
}
