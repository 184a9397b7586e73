//! Beeps: the tone burst avsync generates, and finding the onset of any tone burst to a
//! fraction of a sample.
//!
//! **What the onset is.** A beep's onset is the moment its envelope reaches half of its steady
//! level. For a tone switched on abruptly this is its first sample's time; for a tone with a
//! symmetric fade-in it is the middle of the fade. The analysis band-passes each burst around
//! its own frequency with a symmetric (zero-phase) Hann kernel: the envelope of a step through a
//! symmetric kernel is point-symmetric about the step, so its half-level crossing sits on the
//! onset whatever the kernel length. That gives the onset to a small fraction of a sample.
//! A tone switched on abruptly is the exception: there the band-pass cannot fully separate the
//! tone from its mirror image at the step, which shifts the crossing by up to 1/(4πf), so such
//! a switch-on is located on the samples themselves (see `hard_gate_onset`).
//!
//! **Phase.** When the tone starts at the same phase in every burst (as generators do), the
//! tone's phase at the envelope onset is the same in every burst and pins each onset to a tiny
//! fraction of a sample: the per-burst scatter of the envelope crossing is removed. When that
//! common phase is that of a sine starting at zero (avsync's pattern, and any `sin(2πf(t−t0))`
//! gated at `t0`), the onset is where the sine starts.

use crate::error::{Error, Result};
use crate::media::AudioChunk;
use realfft::RealFftPlanner;
use rustfft::num_complex::Complex64;
use std::collections::VecDeque;
use std::f64::consts::{PI, TAU};
use std::ops::Range;

/// A tone burst: a sine starting at zero phase at its onset, with raised-cosine fades centred
/// on its onset and its end (so the envelope is at half level exactly at the onset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneBurst {
    pub frequency_hz: f64,
    pub duration_s: f64,
    /// Length of each fade; 0 switches the tone on and off abruptly.
    pub ramp_s: f64,
    pub amplitude: f64,
}

impl ToneBurst {
    /// The envelope `tau` seconds after the onset, 0–1.
    pub fn envelope(&self, tau: f64) -> f64 {
        let half = self.ramp_s / 2.0;
        if tau <= -half || tau >= self.duration_s + half {
            0.0
        } else if tau < half {
            0.5 * (1.0 + (PI * tau / self.ramp_s).sin())
        } else if tau <= self.duration_s - half {
            1.0
        } else {
            0.5 * (1.0 - (PI * (tau - self.duration_s) / self.ramp_s).sin())
        }
    }

    /// The signal `tau` seconds after the onset.
    pub fn value_at(&self, tau: f64) -> f64 {
        self.amplitude * self.envelope(tau) * (TAU * self.frequency_hz * tau).sin()
    }

    /// How long the burst sounds before and after its onset.
    pub fn extent_s(&self) -> (f64, f64) {
        (self.ramp_s / 2.0, self.duration_s + self.ramp_s / 2.0)
    }
}

/// Length of the level blocks the recorder keeps for every part of the track.
const BLOCK_S: f64 = 0.001;
/// Samples are kept around any block at least this share of the loudest block so far: 14 dB
/// below the loudest, above noise at 20 dB SNR, so quiet stretches are not kept.
const KEEP_FRACTION: f32 = 0.2;
/// Samples kept on each side of a loud stretch: room for the analysis kernel and the fade.
const KEEP_MARGIN_S: f64 = 0.03;
/// A chunk that starts within this of where the previous one ended continues it. Matroska keeps
/// times in whole milliseconds, so chunk times there jitter by up to half of one around the
/// sample count; a slip that small is that rounding, not a gap.
const CONTIGUITY_TOLERANCE_S: f64 = 0.001;

/// A stretch of consecutive samples kept for analysis.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Timeline index of `samples[0]`.
    pub first: u64,
    pub samples: Vec<f32>,
}

impl Segment {
    fn end(&self) -> u64 {
        self.first + self.samples.len() as u64
    }
}

/// Streams the audio track and keeps what beep analysis needs: the level of every 1 ms block,
/// and the samples around loud stretches. Memory grows with the beeps, not the track.
#[derive(Debug, Default)]
pub struct BeepRecorder {
    rate: u32,
    start_s: f64,
    /// Timeline index of the next sample.
    position: u64,
    block_len: usize,
    margin: usize,
    block: Vec<f32>,
    levels: Vec<f32>,
    running_peak: f32,
    history: VecDeque<f32>,
    segments: Vec<Segment>,
    keep_until: u64,
}

/// What the recorder kept of a track.
#[derive(Clone, Debug, Default)]
pub struct BeepRecording {
    pub sample_rate: u32,
    /// Presentation time of timeline index 0.
    pub start_s: f64,
    /// RMS level of each block of `block_len` samples.
    pub levels: Vec<f32>,
    pub block_len: usize,
    pub segments: Vec<Segment>,
}

impl BeepRecording {
    /// A recording of `samples` kept whole (for tests and in-memory audio).
    pub fn from_samples(sample_rate: u32, start_s: f64, samples: &[f32]) -> Self {
        let mut recorder = BeepRecorder::default();
        recorder.push(AudioChunk { start_s, sample_rate, samples }).expect("one chunk at one rate");
        recorder.finish()
    }

    fn time_s(&self, index: f64) -> f64 {
        self.start_s + index / f64::from(self.sample_rate)
    }
}

impl BeepRecorder {
    /// Takes the next chunk of the track; chunk times place it on the timeline, so a real gap
    /// becomes silence and an overlap is not counted twice.
    pub fn push(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        if self.rate == 0 {
            self.rate = chunk.sample_rate;
            self.start_s = chunk.start_s;
            self.block_len = ((f64::from(chunk.sample_rate) * BLOCK_S).round() as usize).max(1);
            self.margin = (f64::from(chunk.sample_rate) * KEEP_MARGIN_S).round() as usize;
        } else if chunk.sample_rate != self.rate {
            return Err(Error::Processing(format!(
                "audio sample rate changed mid-stream from {} to {} Hz",
                self.rate, chunk.sample_rate
            )));
        }
        let rate = f64::from(self.rate);
        let at = (chunk.start_s - self.start_s) * rate;
        let slip = at - self.position as f64;
        let tolerance = (CONTIGUITY_TOLERANCE_S * rate).max(2.0);
        let mut samples = chunk.samples;
        if slip > tolerance {
            for _ in 0..slip.round() as u64 {
                self.push_sample(0.0);
            }
        } else if slip < -tolerance {
            let skip = ((-slip).round() as usize).min(samples.len());
            samples = &samples[skip..];
        }
        for &sample in samples {
            self.push_sample(sample);
        }
        Ok(())
    }

    fn push_sample(&mut self, sample: f32) {
        self.block.push(sample);
        self.position += 1;
        if self.block.len() == self.block_len {
            self.close_block();
        }
    }

    fn close_block(&mut self) {
        let block = std::mem::take(&mut self.block);
        let first = self.position - block.len() as u64;
        let energy: f64 = block.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        let level = (energy / block.len().max(1) as f64).sqrt() as f32;
        self.levels.push(level);
        self.running_peak = self.running_peak.max(level);
        let loud = level > 0.0 && level >= KEEP_FRACTION * self.running_peak;
        let open = self.segments.last().is_some_and(|s| s.end() == first);
        if loud && !open {
            let mut samples: Vec<f32> = self.history.drain(..).collect();
            let segment_first = first - samples.len() as u64;
            samples.extend_from_slice(&block);
            self.segments.push(Segment { first: segment_first, samples });
        } else if open && (loud || first < self.keep_until) {
            self.segments.last_mut().expect("open segment").samples.extend_from_slice(&block);
        } else {
            self.history.extend(block.iter().copied());
            let excess = self.history.len().saturating_sub(self.margin);
            self.history.drain(..excess);
        }
        if loud {
            self.keep_until = self.position + self.margin as u64;
        }
        self.block = block;
        self.block.clear();
    }

    /// Ends the track and hands over what was kept.
    pub fn finish(mut self) -> BeepRecording {
        if !self.block.is_empty() {
            self.close_block();
        }
        BeepRecording {
            sample_rate: self.rate,
            start_s: self.start_s,
            levels: self.levels,
            block_len: self.block_len,
            segments: self.segments,
        }
    }
}

/// One beep found in the audio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beep {
    /// Onset: presentation time where the envelope reaches half its steady level (refined by
    /// the tone's phase when `phase_refined`).
    pub time_s: f64,
    pub frequency_hz: f64,
    /// Steady amplitude of the tone (full scale = 1).
    pub amplitude: f64,
    pub phase_refined: bool,
}

/// The beeps of a track.
#[derive(Clone, Debug, Default)]
pub struct BeepAnalysis {
    pub beeps: Vec<Beep>,
    /// Median tone frequency of the beeps.
    pub tone_hz: Option<f64>,
    /// True when the tone started at one common phase in every burst, so that phase refined
    /// the onsets.
    pub phase_locked: bool,
}

/// The loudest level must stand this far above the floor (10th percentile) for anything to
/// count as a beep (10 dB).
const MIN_PEAK_TO_FLOOR: f32 = 3.16;
/// Blocks at least this share of the loudest level are part of a beep, unless the noise floor
/// asks for more (then the geometric mean of floor and peak).
const DETECT_FRACTION: f32 = 0.3;
/// Loud stretches separated by less than this are one beep.
const MERGE_GAP_S: f64 = 0.01;
/// Shorter loud stretches are clicks, not beeps.
const MIN_BEEP_S: f64 = 0.005;
/// The band-pass kernel spans this many periods of the tone...
const KERNEL_PERIODS: f64 = 4.0;
/// ...but no more than this (low tones), and never fewer than two periods.
const MAX_KERNEL_S: f64 = 0.008;
/// The envelope crossing is fitted by a line through the samples between these shares of the
/// steady level; the rise is point-symmetric, so the band is symmetric about half.
const FIT_LOW: f64 = 0.3;
const FIT_HIGH: f64 = 0.7;
/// A measured rise at least this many times slower than an abrupt switch-on's is a fade-in.
const HARD_GATE_MAX_RISE_RATIO: f64 = 1.1;
/// Step between the envelope samples used for the steady level and the phase fit.
const PLATEAU_STRIDE: usize = 4;
/// Bursts needed before a common phase is looked for.
const MIN_PHASE_LOCK_BURSTS: usize = 3;
/// Mean resultant length of the bursts' onset phases above which they share one phase.
const PHASE_LOCK_RESULTANT: f64 = 0.9;
/// A common phase this close to zero is taken to be a sine starting at zero phase.
const SINE_START_TOLERANCE_RAD: f64 = 0.5;
/// Lowest tone frequency looked for.
const MIN_TONE_HZ: f64 = 50.0;

/// Finds every beep in a recording.
pub fn find_beeps(recording: &BeepRecording) -> BeepAnalysis {
    let levels = &recording.levels;
    if levels.len() < 3 || recording.sample_rate == 0 {
        return BeepAnalysis::default();
    }
    // The loudest level not made by a single block (a click).
    let peak = levels
        .windows(3)
        .map(|w| {
            let mut m = [w[0], w[1], w[2]];
            m.sort_by(f32::total_cmp);
            m[1]
        })
        .fold(0.0f32, f32::max);
    let mut sorted = levels.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    if peak <= 0.0 || peak < MIN_PEAK_TO_FLOOR * floor {
        return BeepAnalysis::default();
    }
    let threshold = peak * DETECT_FRACTION.max((floor / peak).sqrt());
    let block_s = recording.block_len as f64 / f64::from(recording.sample_rate);
    let runs = loud_runs(
        levels,
        threshold,
        (MERGE_GAP_S / block_s).ceil() as usize,
        (MIN_BEEP_S / block_s).ceil() as usize,
    );

    let mut planner = RealFftPlanner::<f64>::new();
    let mut timings = Vec::new();
    for (b0, b1) in runs {
        let start = (b0 * recording.block_len) as u64;
        let end = (b1 * recording.block_len) as u64;
        // Segments are in timeline order and do not overlap.
        let index = recording.segments.partition_point(|s| s.end() <= start);
        let Some(segment) = recording.segments.get(index).filter(|s| s.first <= start) else {
            continue;
        };
        let local_start = (start - segment.first) as usize;
        let local_end = ((end.min(segment.end())) - segment.first) as usize;
        let Some(frequency) = dominant_frequency(
            &mut planner,
            &segment.samples[local_start..local_end],
            recording.sample_rate,
        ) else {
            continue;
        };
        if let Some(timing) =
            time_burst(&segment.samples, local_start, local_end, frequency, recording.sample_rate)
        {
            timings.push((segment.first, timing));
        }
    }

    // A common onset phase pins each onset; see the module notes.
    let mut reference = None;
    if timings.len() >= MIN_PHASE_LOCK_BURSTS {
        let sum: Complex64 =
            timings.iter().map(|(_, t)| Complex64::from_polar(1.0, t.onset_phase)).sum();
        let mean = sum / timings.len() as f64;
        if mean.norm() >= PHASE_LOCK_RESULTANT {
            let angle = mean.arg();
            reference = Some(if angle.abs() <= SINE_START_TOLERANCE_RAD { 0.0 } else { angle });
        }
    }
    let beeps: Vec<Beep> = timings
        .iter()
        .map(|&(first, t)| {
            let onset = match reference {
                Some(phase) => t.onset - wrap(t.onset_phase - phase) / t.omega,
                None => t.onset,
            };
            Beep {
                time_s: recording.time_s(first as f64 + onset),
                frequency_hz: t.omega * f64::from(recording.sample_rate) / TAU,
                amplitude: t.amplitude,
                phase_refined: reference.is_some(),
            }
        })
        .collect();
    let mut frequencies: Vec<f64> = beeps.iter().map(|b| b.frequency_hz).collect();
    frequencies.sort_by(f64::total_cmp);
    BeepAnalysis {
        tone_hz: frequencies.get(frequencies.len() / 2).copied(),
        phase_locked: reference.is_some(),
        beeps,
    }
}

/// Runs of blocks at or above `threshold` as `[first, end)` block ranges, merged across gaps
/// of up to `merge_gap` blocks and at least `min_len` blocks long.
fn loud_runs(
    levels: &[f32],
    threshold: f32,
    merge_gap: usize,
    min_len: usize,
) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < levels.len() {
        if levels[i] < threshold {
            i += 1;
            continue;
        }
        let start = i;
        while i < levels.len() && levels[i] >= threshold {
            i += 1;
        }
        match runs.last_mut() {
            Some(last) if start - last.1 <= merge_gap => last.1 = i,
            _ => runs.push((start, i)),
        }
    }
    runs.retain(|(a, b)| b - a >= min_len);
    runs
}

/// The strongest frequency in the middle of a burst, to a fraction of an FFT bin.
fn dominant_frequency(
    planner: &mut RealFftPlanner<f64>,
    burst: &[f32],
    sample_rate: u32,
) -> Option<f64> {
    // The middle three fifths: clear of the fades.
    let core = &burst[burst.len() / 5..burst.len() - burst.len() / 5];
    if core.len() < 16 {
        return None;
    }
    let n = (core.len() * 4).next_power_of_two();
    let fft = planner.plan_fft_forward(n);
    let mut input = fft.make_input_vec();
    let m = core.len() as f64;
    for (i, &s) in core.iter().enumerate() {
        let w = 0.5 - 0.5 * (TAU * (i as f64 + 0.5) / m).cos();
        input[i] = f64::from(s) * w;
    }
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).ok()?;
    let bin_hz = f64::from(sample_rate) / n as f64;
    let first = ((MIN_TONE_HZ / bin_hz).ceil() as usize).max(1);
    let magnitude = |k: usize| spectrum[k].norm().max(1e-30).ln();
    let peak =
        (first..spectrum.len() - 1).max_by(|&a, &b| magnitude(a).total_cmp(&magnitude(b)))?;
    // Parabolic interpolation of the log magnitude around the peak bin.
    let (l, c, r) = (magnitude(peak - 1), magnitude(peak), magnitude(peak + 1));
    let denominator = l - 2.0 * c + r;
    let delta = if denominator.abs() > 1e-12 { 0.5 * (l - r) / denominator } else { 0.0 };
    Some((peak as f64 + delta.clamp(-0.5, 0.5)) * bin_hz)
}

/// The timing of one burst, in samples of its segment.
#[derive(Clone, Copy, Debug)]
struct BurstTiming {
    /// Onset (fractional index into the segment).
    onset: f64,
    /// Phase of the tone at `onset`, as a sine: 0 when it starts there from zero going up.
    onset_phase: f64,
    /// Tone frequency in radians per sample.
    omega: f64,
    amplitude: f64,
}

/// The band-pass used for envelopes: a Hann kernel over the signal demodulated by the tone's
/// nominal frequency. Symmetric, so it delays nothing.
struct BandPass {
    half: usize,
    weights: Vec<f64>,
    weight_sum: f64,
    omega0: f64,
}

impl BandPass {
    fn new(frequency_hz: f64, sample_rate: u32) -> Self {
        let rate = f64::from(sample_rate);
        let kernel_s = (KERNEL_PERIODS / frequency_hz).min(MAX_KERNEL_S).max(2.0 / frequency_hz);
        let half = ((kernel_s * rate / 2.0).round() as usize).max(2);
        // Hann weights cos²(πm / 2(half+1)), m = −half..=half.
        let weights: Vec<f64> = (0..=2 * half)
            .map(|i| {
                let m = i as f64 - half as f64;
                (PI * m / (2.0 * (half as f64 + 1.0))).cos().powi(2)
            })
            .collect();
        let weight_sum = weights.iter().sum();
        BandPass { half, weights, weight_sum, omega0: TAU * frequency_hz / rate }
    }

    /// `signal(k)·e^(−iω0·k)` for `k` in `range`, ready for [`BandPass::at`].
    fn demodulate(&self, range: Range<usize>, signal: impl Fn(usize) -> f64) -> Demodulated {
        let first = range.start;
        let values =
            range.map(|k| Complex64::from_polar(signal(k), -self.omega0 * k as f64)).collect();
        Demodulated { first, values }
    }

    /// The band-passed tone at sample `n`: for a steady tone A·sin(ωk + θ) its magnitude is
    /// A/2. `None` where the kernel would reach outside the demodulated samples.
    fn at(&self, signal: &Demodulated, n: usize) -> Option<Complex64> {
        let first = n.checked_sub(self.half)?.checked_sub(signal.first)?;
        let values = signal.values.get(first..first + self.weights.len())?;
        let sum: Complex64 = values.iter().zip(&self.weights).map(|(z, &w)| z * w).sum();
        Some(sum / self.weight_sum)
    }

    /// Twice the magnitude: the tone's amplitude.
    fn envelope(&self, signal: &Demodulated, n: usize) -> Option<f64> {
        self.at(signal, n).map(|z| 2.0 * z.norm())
    }
}

struct Demodulated {
    first: usize,
    values: Vec<Complex64>,
}

/// Where `envelope` last rises through half of `amplitude` before sample `from`, and its slope
/// there (per sample, as a share of `amplitude`): a line through the rise between FIT_LOW and
/// FIT_HIGH of the level, which is symmetric about half.
fn half_crossing(
    envelope: impl Fn(usize) -> Option<f64>,
    amplitude: f64,
    from: usize,
) -> Option<(f64, f64)> {
    let half_level = amplitude / 2.0;
    let mut n = from;
    while envelope(n)? >= half_level {
        n = n.checked_sub(1)?;
    }
    let mut points = Vec::new();
    let mut k = n;
    while let Some(e) = envelope(k).filter(|&e| e >= FIT_LOW * amplitude) {
        points.push((k as f64, e));
        let Some(previous) = k.checked_sub(1) else { break };
        k = previous;
    }
    let mut k = n + 1;
    while let Some(e) = envelope(k).filter(|&e| e <= FIT_HIGH * amplitude) {
        points.push((k as f64, e));
        k += 1;
    }
    match fit_line(&points) {
        Some((intercept, slope)) if slope > 0.0 && points.len() >= 3 => {
            Some(((half_level - intercept) / slope, slope / amplitude))
        }
        _ => {
            let (e0, e1) = (envelope(n)?, envelope(n + 1)?);
            let crossing = n as f64 + ((half_level - e0) / (e1 - e0)).clamp(0.0, 1.0);
            Some((crossing, (e1 - e0) / amplitude))
        }
    }
}

/// Times the burst that is loud over `samples[start..end]`, with the tone near `frequency_hz`.
fn time_burst(
    samples: &[f32],
    start: usize,
    end: usize,
    frequency_hz: f64,
    sample_rate: u32,
) -> Option<BurstTiming> {
    let band = BandPass::new(frequency_hz, sample_rate);
    let half = band.half;
    let settle = end.saturating_sub(start) / 8;
    let region = start.saturating_sub(5 * half + 2 * settle)..(end + half).min(samples.len());
    let signal = band.demodulate(region.clone(), |k| f64::from(samples[k]));
    let envelope = |n: usize| band.envelope(&signal, n);
    let valid = region.start + half..region.end.saturating_sub(half);
    if valid.is_empty() {
        return None;
    }

    // Steady level over the plateau, clear of the kernel's reach into the fades.
    let plateau_start = (start + 2 * half + settle).max(valid.start);
    let plateau_end = end.saturating_sub(2 * half).min(valid.end);
    let plateau: Vec<usize> = if plateau_end > plateau_start {
        (plateau_start..plateau_end).step_by(PLATEAU_STRIDE).collect()
    } else {
        // A burst shorter than the kernel: its middle is the best there is.
        vec![((start + end) / 2).clamp(valid.start, valid.end - 1)]
    };
    let mut levels: Vec<f64> = plateau.iter().filter_map(|&n| envelope(n)).collect();
    levels.sort_by(f64::total_cmp);
    let amplitude = *levels.get(levels.len() / 2)?;
    if amplitude <= 0.0 {
        return None;
    }
    let (crossing, rise) = half_crossing(envelope, amplitude, plateau[0])?;

    // Phase along the plateau relative to the crossing: arg z(n) + ω0·crossing is, for a tone
    // A·sin(ω(k − crossing) + θ), equal to θ − π/2 + (ω − ω0)(n − crossing).
    let mut phase_points = Vec::with_capacity(plateau.len());
    let mut previous: Option<f64> = None;
    for &p in &plateau {
        let raw = band.at(&signal, p)?.arg() + band.omega0 * crossing;
        let unwrapped = previous.map_or(raw, |prev| prev + wrap(raw - prev));
        previous = Some(unwrapped);
        phase_points.push((p as f64 - crossing, unwrapped));
    }
    let (intercept, slope) =
        if phase_points.len() >= 2 { fit_line(&phase_points)? } else { (phase_points[0].1, 0.0) };
    let omega = band.omega0 + slope;
    let phase = wrap(intercept + PI / 2.0);
    let onset = hard_gate_onset(samples, &band, amplitude, omega, phase, crossing, rise)
        .unwrap_or(crossing);
    Some(BurstTiming {
        onset,
        onset_phase: wrap(phase + omega * (onset - crossing)),
        omega,
        amplitude,
    })
}

/// For a tone switched on abruptly, its first sample; `None` for a tone that fades in.
///
/// The envelope of an abruptly gated tone crosses half level a little off its first sample, by
/// up to about 1/(4πf) depending on the phase the tone starts at: the band-pass cannot fully
/// separate the tone from its mirror image at the step. So when the rise is as steep as an
/// abrupt switch-on of the measured tone (amplitude, frequency, phase) would give, the switch-on
/// is located on the samples themselves: the first sample from which the measured tone best
/// explains the samples, with silence before (least squares). A rise clearly slower than that
/// is a fade-in, whose half-level crossing already is the onset.
#[allow(clippy::too_many_arguments)]
fn hard_gate_onset(
    samples: &[f32],
    band: &BandPass,
    amplitude: f64,
    omega: f64,
    phase: f64,
    crossing: f64,
    rise: f64,
) -> Option<f64> {
    let half = band.half;
    let tone = |k: usize| amplitude * (omega * (k as f64 - crossing) + phase).sin();
    let centre = crossing.round() as usize;
    let region = centre.checked_sub(3 * half)?..centre + 3 * half + 1;
    let model = band.demodulate(region, |k| if k >= centre { tone(k) } else { 0.0 });
    let level = band.envelope(&model, centre + 2 * half)?;
    let (_, model_rise) = half_crossing(|n| band.envelope(&model, n), level, centre + half)?;
    if rise < model_rise / HARD_GATE_MAX_RISE_RATIO {
        return None;
    }
    // The envelope crossing is off the switch-on by at most 1/(2·sin ω) samples.
    let reach = (0.5 / omega.sin().abs().max(1e-3)).ceil() as usize + 2;
    let (lowest, highest) = (centre.checked_sub(reach)?, (centre + reach).min(samples.len() - 1));
    // Cost of switching on at `first`, less a constant: Σ_{k ≥ first} (s² − 2·x·s).
    let mut best = (f64::INFINITY, highest);
    let mut cost = 0.0;
    for first in (lowest..=highest).rev() {
        let (x, s) = (f64::from(samples[first]), tone(first));
        cost += s * s - 2.0 * x * s;
        if cost <= best.0 {
            best = (cost, first);
        }
    }
    Some(best.1 as f64)
}

/// Least-squares line `y = a + b·x`, as `(a, b)`.
fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

/// An angle brought into (−π, π].
fn wrap(angle: f64) -> f64 {
    let a = angle.rem_euclid(TAU);
    if a > PI {
        a - TAU
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    /// A track with bursts at `onsets` (seconds), plus optional deterministic noise.
    fn track(burst: ToneBurst, onsets: &[f64], seconds: f64, noise: f64) -> Vec<f32> {
        let n = (seconds * f64::from(RATE)) as usize;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(RATE);
                let tone: f64 = onsets.iter().map(|&o| burst.value_at(t - o)).sum();
                // xorshift uniform noise, scaled to the requested RMS.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                (tone + noise * u * 12f64.sqrt()) as f32
            })
            .collect()
    }

    fn burst(frequency_hz: f64, ramp_s: f64) -> ToneBurst {
        ToneBurst { frequency_hz, duration_s: 0.08, ramp_s, amplitude: 0.5 }
    }

    #[test]
    fn onsets_at_fractional_samples_are_found_to_a_microsecond() {
        let onsets: Vec<f64> = (0..6).map(|k| 0.3 + 0.5 * k as f64 + 0.37e-5 * k as f64).collect();
        let samples = track(burst(1000.0, 0.002), &onsets, 3.2, 0.0);
        let analysis = find_beeps(&BeepRecording::from_samples(RATE, 1.0, &samples));
        assert!(analysis.phase_locked);
        assert_eq!(analysis.beeps.len(), onsets.len());
        for (beep, onset) in analysis.beeps.iter().zip(&onsets) {
            let error_us = (beep.time_s - 1.0 - onset) * 1e6;
            assert!(error_us.abs() < 1.0, "onset {onset}: error {error_us:.3} µs");
            assert!((beep.frequency_hz - 1000.0).abs() < 0.5);
        }
    }

    #[test]
    fn abruptly_switched_tones_are_timed_to_their_first_sample_whatever_their_phase() {
        // A 440 Hz tone switched on abruptly at times that give a different phase each time.
        let mut samples = vec![0.0f32; RATE as usize * 3];
        let onsets = [0.2003, 0.7711, 1.3397, 1.9125];
        for &onset in &onsets {
            let first = (onset * f64::from(RATE)).ceil() as usize;
            for (i, s) in samples[first..first + 2400].iter_mut().enumerate() {
                let t = (first + i) as f64 / f64::from(RATE);
                *s = (0.3 * (TAU * 440.0 * t).sin()) as f32;
            }
        }
        let analysis = find_beeps(&BeepRecording::from_samples(RATE, 0.0, &samples));
        assert!(!analysis.phase_locked);
        assert_eq!(analysis.beeps.len(), onsets.len());
        for (beep, &onset) in analysis.beeps.iter().zip(&onsets) {
            // The first non-zero sample is the onset of an abruptly switched tone.
            let first = (onset * f64::from(RATE)).ceil() / f64::from(RATE);
            let error_ms = (beep.time_s - first) * 1e3;
            assert!(error_ms.abs() < 0.03, "onset {onset}: error {error_ms:.4} ms");
        }
    }

    #[test]
    fn faded_tones_starting_at_different_phases_are_timed_at_the_middle_of_the_fade() {
        let fade = burst(700.0, 0.005);
        let onsets = [0.21, 0.7337, 1.2481, 1.7702];
        let mut samples = vec![0.0f32; RATE as usize * 2];
        for (k, &onset) in onsets.iter().enumerate() {
            let phase = 1.7 * k as f64;
            for (i, s) in samples.iter_mut().enumerate() {
                let tau = i as f64 / f64::from(RATE) - onset;
                *s += (fade.amplitude * fade.envelope(tau) * (TAU * 700.0 * tau + phase).sin())
                    as f32;
            }
        }
        let analysis = find_beeps(&BeepRecording::from_samples(RATE, 0.0, &samples));
        assert!(!analysis.phase_locked);
        assert_eq!(analysis.beeps.len(), onsets.len());
        for (beep, &onset) in analysis.beeps.iter().zip(&onsets) {
            let error_ms = (beep.time_s - onset) * 1e3;
            assert!(error_ms.abs() < 0.01, "onset {onset}: error {error_ms:.4} ms");
        }
    }

    #[test]
    fn noisy_quiet_beeps_are_still_timed_within_tens_of_microseconds() {
        // −30 dB tone (amplitude 0.0158, RMS 0.0112) in noise 20 dB below it.
        let mut quiet = burst(1000.0, 0.002);
        quiet.amplitude = 0.5 * 10f64.powf(-30.0 / 20.0);
        let onsets: Vec<f64> = (0..8).map(|k| 0.25 + 0.4 * k as f64 + 1.3e-5).collect();
        let noise_rms = quiet.amplitude / 2f64.sqrt() / 10.0;
        let samples = track(quiet, &onsets, 3.5, noise_rms);
        let analysis = find_beeps(&BeepRecording::from_samples(RATE, 0.0, &samples));
        assert_eq!(analysis.beeps.len(), onsets.len());
        for (beep, onset) in analysis.beeps.iter().zip(&onsets) {
            let error_ms = (beep.time_s - onset) * 1e3;
            assert!(error_ms.abs() < 0.02, "onset {onset}: error {error_ms:.4} ms");
        }
    }

    #[test]
    fn recorder_keeps_beeps_not_silence_and_handles_jittered_chunks() {
        let onsets = [0.5, 1.5, 2.5];
        let samples = track(burst(2000.0, 0.002), &onsets, 3.0, 0.0);
        let mut recorder = BeepRecorder::default();
        // Chunks of 1008 samples whose times are rounded to whole milliseconds (Matroska).
        for (i, chunk) in samples.chunks(1008).enumerate() {
            let exact_s = (i * 1008) as f64 / f64::from(RATE);
            let rounded_s = (exact_s * 1000.0).round() / 1000.0;
            recorder
                .push(AudioChunk { start_s: rounded_s, sample_rate: RATE, samples: chunk })
                .unwrap();
        }
        let recording = recorder.finish();
        let kept: usize = recording.segments.iter().map(|s| s.samples.len()).sum();
        assert!(kept < samples.len() / 5, "kept {kept} of {} samples", samples.len());
        let analysis = find_beeps(&recording);
        assert_eq!(analysis.beeps.len(), 3);
        for (beep, onset) in analysis.beeps.iter().zip(onsets) {
            assert!((beep.time_s - onset).abs() < 2e-6, "{} vs {onset}", beep.time_s);
        }
    }

    #[test]
    fn silence_and_steady_tone_hold_no_beeps() {
        let silence = vec![0.0f32; 48_000];
        assert!(find_beeps(&BeepRecording::from_samples(RATE, 0.0, &silence)).beeps.is_empty());
        let steady: Vec<f32> = (0..48_000)
            .map(|i| (0.5 * (TAU * 1000.0 * i as f64 / 48_000.0).sin()) as f32)
            .collect();
        assert!(find_beeps(&BeepRecording::from_samples(RATE, 0.0, &steady)).beeps.is_empty());
    }
}
