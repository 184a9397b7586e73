//! The FFT engine behind every correlation: realfft plans shared by the whole process (the
//! most recent few lengths), buffers reused per correlator.

use super::spectrum::{Band, CrossSpectrum, Spectrum};
use super::{LagCurve, Weighting};
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// Below this many overlapping samples a normalized correlation is not defined (NaN).
const MIN_OVERLAP_SAMPLES: f64 = 2.0;

/// Plans of each direction the process keeps, the most recently used. A run uses a few lengths
/// at a time (compare's band, coarse and fine lengths; content mode's block and window
/// lengths), so these are enough to share; a batch over clips of every length does not keep a
/// plan for each (a plan holds twiddle factors as long as its transform: megabytes for a long
/// reference).
const KEPT_PLANS: usize = 16;

/// The process's FFT plans. A plan's twiddle factors cost about as much to make as a transform,
/// so every thread's correlator shares them (rayon's workers would otherwise each make the same
/// plans: about a tenth of a short `compare`'s CPU).
#[derive(Default)]
struct Plans {
    forward: Vec<(usize, Arc<dyn RealToComplex<f64>>)>,
    inverse: Vec<(usize, Arc<dyn ComplexToReal<f64>>)>,
}

fn plans() -> MutexGuard<'static, Plans> {
    static PLANS: OnceLock<Mutex<Plans>> = OnceLock::new();
    PLANS.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner)
}

/// The plan of length `n` from `kept`, most recent last, made by `make` when it is not there
/// (under the lock, so that threads wanting the same length make it once).
fn kept_plan<P: ?Sized>(
    kept: &mut Vec<(usize, Arc<P>)>,
    n: usize,
    make: impl FnOnce() -> Arc<P>,
) -> Arc<P> {
    let plan = match kept.iter().position(|(length, _)| *length == n) {
        Some(i) => kept.remove(i).1,
        None => make(),
    };
    if kept.len() == KEPT_PLANS {
        kept.remove(0);
    }
    kept.push((n, Arc::clone(&plan)));
    plan
}

fn forward_plan(n: usize) -> Arc<dyn RealToComplex<f64>> {
    kept_plan(&mut plans().forward, n, || RealFftPlanner::new().plan_fft_forward(n))
}

fn inverse_plan(n: usize) -> Arc<dyn ComplexToReal<f64>> {
    kept_plan(&mut plans().inverse, n, || RealFftPlanner::new().plan_fft_inverse(n))
}

/// Cross-correlates real signals by FFT. Keep one per thread and reuse it: its buffers are made
/// on first use of each length and kept (the plans are the process's, see [`Plans`]).
pub struct Correlator {
    time: Vec<f64>,
    scratch: Vec<Complex<f64>>,
}

impl Default for Correlator {
    fn default() -> Self {
        Self::new()
    }
}

/// The smallest length ≥ `n` of the form 2^a·3^b·5^c, which FFTs handle fast.
fn fast_len(n: usize) -> usize {
    let mut best = n.next_power_of_two();
    let mut p5 = 1;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut candidate = p35;
            while candidate < n {
                candidate *= 2;
            }
            best = best.min(candidate);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

impl Correlator {
    pub fn new() -> Self {
        Correlator { time: Vec::new(), scratch: Vec::new() }
    }

    /// FFT length that holds lags `-max_lag..=max_lag` of signals this long without wrap-around.
    pub fn fft_len(a_len: usize, b_len: usize, max_lag: usize) -> usize {
        fast_len(a_len.max(b_len) + max_lag + 1)
    }

    /// The forward FFT of `signal` zero-padded to `n` (see [`Correlator::fft_len`]).
    pub fn spectrum(&mut self, signal: &[f64], n: usize) -> Spectrum {
        assert!(signal.len() <= n, "signal longer than the FFT length");
        let fft = forward_plan(n);
        self.time.clear();
        self.time.extend_from_slice(signal);
        self.time.resize(n, 0.0);
        let mut bins = fft.make_output_vec();
        self.scratch.resize(fft.get_scratch_len(), Complex::default());
        fft.process_with_scratch(&mut self.time, &mut bins, &mut self.scratch)
            .expect("buffer lengths come from the plan");
        Spectrum { n, bins }
    }

    /// The circular correlation of a cross-spectrum: element `k` is the lag `k` for
    /// `k < n/2` and the lag `k - n` above (negative lags wrap to the end).
    pub fn circular(&mut self, cross: &CrossSpectrum) -> Vec<f64> {
        self.inverse(&Spectrum { n: cross.n, bins: cross.bins.clone() })
    }

    /// The inverse FFT: the (length `n`) signal whose spectrum this is.
    pub fn inverse(&mut self, spectrum: &Spectrum) -> Vec<f64> {
        let n = spectrum.n;
        let inverse = inverse_plan(n);
        let mut product = spectrum.bins.clone();
        // The real-to-complex round trip needs purely real DC and Nyquist bins.
        product[0].im = 0.0;
        if n % 2 == 0 {
            product.last_mut().expect("non-empty spectrum").im = 0.0;
        }
        let mut out = vec![0.0; n];
        self.scratch.resize(inverse.get_scratch_len(), Complex::default());
        inverse
            .process_with_scratch(&mut product, &mut out, &mut self.scratch)
            .expect("buffer lengths come from the plan");
        let scale = 1.0 / n as f64;
        out.iter_mut().for_each(|v| *v *= scale);
        out
    }

    /// Inverse of `a_spectrum · conj(b_spectrum)`, folded to lags `-max_lag..=max_lag`.
    fn inverse_product(
        &mut self,
        a: &Spectrum,
        b: &Spectrum,
        max_lag: usize,
        weighting: Weighting,
    ) -> Vec<f64> {
        let mut cross = CrossSpectrum::new(a, b, weighting, Band::FULL);
        // Plain correlations keep DC and Nyquist: they are exact sums, not phase estimates.
        if weighting == Weighting::None {
            cross.bins[0] = a.bins[0] * b.bins[0].conj();
            let last = cross.bins.len() - 1;
            cross.bins[last] = a.bins[last] * b.bins[last].conj();
        }
        let n = a.n;
        let circular = self.circular(&cross);
        (0..=2 * max_lag)
            .map(|i| {
                let lag = i as isize - max_lag as isize;
                circular[lag.rem_euclid(n as isize) as usize]
            })
            .collect()
    }

    /// `Σ_t a[t + k] · b[t]` for `k` in `-max_lag..=max_lag`, optionally PHAT-weighted.
    pub fn cross_correlate(
        &mut self,
        a: &[f64],
        b: &[f64],
        max_lag: usize,
        weighting: Weighting,
    ) -> LagCurve {
        let n = Self::fft_len(a.len(), b.len(), max_lag);
        let a_spectrum = self.spectrum(a, n);
        let b_spectrum = self.spectrum(b, n);
        let values = self.inverse_product(&a_spectrum, &b_spectrum, max_lag, weighting);
        LagCurve { max_lag, values }
    }

    /// Pearson correlation of `a[t + k]` with `b[t]` over their overlap, for each lag.
    pub fn normalized(&mut self, a: &[f64], b: &[f64], max_lag: usize) -> LagCurve {
        let values = self.mean_normalized_masked(&[a], None, &[b], &vec![1.0; b.len()], max_lag);
        LagCurve { max_lag, values }
    }

    /// Pearson correlation per lag counting only samples where both masks are non-zero (masks
    /// are weights, usually 0 or 1: a frame without a face, a stretch without speech).
    pub fn normalized_masked(
        &mut self,
        a: &[f64],
        a_mask: &[f64],
        b: &[f64],
        b_mask: &[f64],
        max_lag: usize,
    ) -> LagCurve {
        let values = self.mean_normalized_masked(&[a], Some(a_mask), &[b], b_mask, max_lag);
        LagCurve { max_lag, values }
    }

    /// The mean over every pair of an `a` and a `b` signal of their masked Pearson correlation
    /// per lag (`a[t + k]` against `b[t]`, `k` in `-max_lag..=max_lag`). The `a` signals share
    /// one mask (`None`: every sample counts), the `b` signals another; a lag where any pair's
    /// correlation is undefined (too little overlap, no variance) is NaN.
    ///
    /// This is masked normalized cross-correlation (Padfield 2010): correlations of the masked
    /// signals, their squares and the masks give each lag's overlap count, means and variances.
    /// They are sums over `t`, so they are taken [`BLOCK_SAMPLES`] of `b` at a time and added:
    /// memory stays a few MB whatever the length, and time stays linear in it. Each block's
    /// spectra are made once and shared by every pair.
    pub fn mean_normalized_masked<A: Samples + ?Sized, B: Samples + ?Sized>(
        &mut self,
        a: &[&A],
        a_mask: Option<&A>,
        b: &[&B],
        b_mask: &B,
        max_lag: usize,
    ) -> Vec<f64> {
        let a_len = a.first().map_or(0, |s| s.sample_count());
        let b_len = b_mask.sample_count();
        assert!(a.iter().all(|s| s.sample_count() == a_len), "a signals of different lengths");
        assert!(a_mask.is_none_or(|m| m.sample_count() == a_len), "a mask of another length");
        assert!(b.iter().all(|s| s.sample_count() == b_len), "b signals and mask lengths differ");
        let mut sums = LagSums::new(a.len(), b.len(), 2 * max_lag + 1);
        for start in (0..b_len).step_by(BLOCK_SAMPLES) {
            let end = (start + BLOCK_SAMPLES).min(b_len);
            // `a` from `start - max_lag` to `end + max_lag`, zero and masked out beyond its ends:
            // local lag `m` of the block is lag `m - max_lag` of the whole.
            let stretch = end - start + 2 * max_lag;
            let n = fast_len(stretch);
            let a_index = |j: usize| (start + j).checked_sub(max_lag).filter(|&i| i < a_len);
            let wa: Vec<f64> = (0..stretch)
                .map(|j| a_index(j).map_or(0.0, |i| a_mask.map_or(1.0, |m| m.at(i))))
                .collect();
            let wb: Vec<f64> = (start..end).map(|t| b_mask.at(t)).collect();
            let a_powers: Vec<[Spectrum; 2]> = a
                .iter()
                .map(|s| {
                    let at = |j: usize| a_index(j).map_or(0.0, |i| s.at(i));
                    self.power_spectra(&wa, at, n)
                })
                .collect();
            let b_powers: Vec<[Spectrum; 2]> =
                b.iter().map(|s| self.power_spectra(&wb, |u| s.at(start + u), n)).collect();
            let (wa, wb) = (self.spectrum(&wa, n), self.spectrum(&wb, n));
            add(&mut sums.count, &self.leading_lags(&wa, &wb, sums.lags));
            for (i, [a1, a2]) in a_powers.iter().enumerate() {
                add(&mut sums.a[i], &self.leading_lags(a1, &wb, sums.lags));
                add(&mut sums.aa[i], &self.leading_lags(a2, &wb, sums.lags));
                for (j, [b1, _]) in b_powers.iter().enumerate() {
                    add(&mut sums.ab[i * b.len() + j], &self.leading_lags(a1, b1, sums.lags));
                }
            }
            for (j, [b1, b2]) in b_powers.iter().enumerate() {
                add(&mut sums.b[j], &self.leading_lags(&wa, b1, sums.lags));
                add(&mut sums.bb[j], &self.leading_lags(&wa, b2, sums.lags));
            }
        }
        sums.mean_pearson()
    }

    /// The spectra of `x · w` and `x² · w` for the signal `x` (read by index) and weights `w`.
    fn power_spectra(&mut self, w: &[f64], x: impl Fn(usize) -> f64, n: usize) -> [Spectrum; 2] {
        let once: Vec<f64> = w.iter().enumerate().map(|(j, &w)| x(j) * w).collect();
        let twice: Vec<f64> = once.iter().enumerate().map(|(j, &v)| v * x(j)).collect();
        [self.spectrum(&once, n), self.spectrum(&twice, n)]
    }

    /// `Σ_u x[u + m] · y[u]` for `m` in `0..lags`, from the spectra of `x` and `y` (no wrap-around
    /// when the FFT length holds `x` and `y` is no longer).
    fn leading_lags(&mut self, x: &Spectrum, y: &Spectrum, lags: usize) -> Vec<f64> {
        let bins = x.bins.iter().zip(&y.bins).map(|(p, q)| p * q.conj()).collect();
        let mut circular = self.inverse(&Spectrum { n: x.n, bins });
        circular.truncate(lags);
        circular
    }
}

/// Longest stretch of the `b` signals that one FFT of the masked correlations covers (about
/// 2.7 minutes of 100 Hz features): longer signals are taken block by block.
const BLOCK_SAMPLES: usize = 1 << 14;

/// A signal the masked correlations read a block at a time: a slice, or a view of one (such as
/// a rolled copy that need not be made).
pub trait Samples: Sync {
    fn sample_count(&self) -> usize;
    /// Sample `i`, for `i < sample_count()`.
    fn at(&self, i: usize) -> f64;
}

/// Slices of `f64`, or of `f32` where a long signal is stored at half the memory (the sums
/// are still taken in `f64`).
impl<T: Copy + Into<f64> + Sync> Samples for [T] {
    fn sample_count(&self) -> usize {
        self.len()
    }
    fn at(&self, i: usize) -> f64 {
        self[i].into()
    }
}

fn add(total: &mut [f64], values: &[f64]) {
    total.iter_mut().zip(values).for_each(|(t, v)| *t += v);
}

/// Per-lag sums over the masked overlap of every `a` and `b` signal: the overlap count, each
/// signal's sum and sum of squares, and each pair's sum of products (`ab[i * b_count + j]`).
struct LagSums {
    lags: usize,
    count: Vec<f64>,
    a: Vec<Vec<f64>>,
    aa: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    bb: Vec<Vec<f64>>,
    ab: Vec<Vec<f64>>,
}

impl LagSums {
    fn new(a_count: usize, b_count: usize, lags: usize) -> LagSums {
        let zeros = |count: usize| vec![vec![0.0; lags]; count];
        LagSums {
            lags,
            count: vec![0.0; lags],
            a: zeros(a_count),
            aa: zeros(a_count),
            b: zeros(b_count),
            bb: zeros(b_count),
            ab: zeros(a_count * b_count),
        }
    }

    /// The mean over the pairs of the Pearson correlation at each lag.
    fn mean_pearson(&self) -> Vec<f64> {
        let pairs = self.ab.len() as f64;
        (0..self.lags)
            .map(|k| {
                let mut total = 0.0;
                for (i, (a, aa)) in self.a.iter().zip(&self.aa).enumerate() {
                    for (j, (b, bb)) in self.b.iter().zip(&self.bb).enumerate() {
                        let ab = self.ab[i * self.b.len() + j][k];
                        total += pearson(self.count[k], a[k], b[k], aa[k], bb[k], ab);
                    }
                }
                total / pairs
            })
            .collect()
    }
}

/// Pearson correlation from the sums over `n` weighted samples; NaN with too little overlap
/// or no variance.
fn pearson(n: f64, sum_a: f64, sum_b: f64, sum_aa: f64, sum_bb: f64, sum_ab: f64) -> f64 {
    if n < MIN_OVERLAP_SAMPLES {
        return f64::NAN;
    }
    let covariance = sum_ab - sum_a * sum_b / n;
    let var_a = sum_aa - sum_a * sum_a / n;
    let var_b = sum_bb - sum_b * sum_b / n;
    // Relative floor: FFT round-off leaves ~1e-12 of the energy in a constant signal.
    let floor_a = 1e-9 * sum_aa.abs().max(f64::MIN_POSITIVE);
    let floor_b = 1e-9 * sum_bb.abs().max(f64::MIN_POSITIVE);
    if var_a <= floor_a || var_b <= floor_b {
        return f64::NAN;
    }
    (covariance / (var_a * var_b).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_shared_and_the_least_recently_used_goes_first() {
        let mut kept: Vec<(usize, Arc<usize>)> = Vec::new();
        let mut made = 0;
        let mut get = |kept: &mut Vec<(usize, Arc<usize>)>, n: usize| {
            kept_plan(kept, n, || {
                made += 1;
                Arc::new(n)
            })
        };
        let first = get(&mut kept, 100);
        assert!(Arc::ptr_eq(&first, &get(&mut kept, 100)), "the same length is made once");
        for n in 101..100 + KEPT_PLANS {
            get(&mut kept, n);
        }
        get(&mut kept, 100); // used again: now the most recent
        get(&mut kept, 1000); // one too many: 101, the least recently used, goes
        assert_eq!(kept.len(), KEPT_PLANS);
        let lengths: Vec<usize> = kept.iter().map(|(n, _)| *n).collect();
        assert!(lengths.contains(&100) && !lengths.contains(&101), "{lengths:?}");
        assert_eq!(made, KEPT_PLANS + 1);
    }

    /// Deterministic broadband test signal.
    fn noise(len: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
            })
            .collect()
    }

    /// `signal` delayed by a fractional number of samples (windowed-sinc interpolation).
    fn delayed(signal: &[f64], delay: f64) -> Vec<f64> {
        const HALF_WIDTH: isize = 64;
        (0..signal.len() as isize)
            .map(|t| {
                let centre = t as f64 - delay;
                let base = centre.floor() as isize;
                (base - HALF_WIDTH..=base + HALF_WIDTH)
                    .filter(|&i| i >= 0 && (i as usize) < signal.len())
                    .map(|i| {
                        let x = centre - i as f64;
                        let sinc = if x.abs() < 1e-12 {
                            1.0
                        } else {
                            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                        };
                        let window = 0.5
                            + 0.5 * (std::f64::consts::PI * x / (HALF_WIDTH as f64 + 1.0)).cos();
                        signal[i as usize] * sinc * window
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn fast_lengths_are_smooth_and_sufficient() {
        for n in [1, 7, 97, 1000, 1025, 48_001] {
            let len = fast_len(n);
            assert!(len >= n);
            let mut m = len;
            for p in [2, 3, 5] {
                while m % p == 0 {
                    m /= p;
                }
            }
            assert_eq!(m, 1, "{len} is not 5-smooth");
        }
        assert_eq!(fast_len(1000), 1000);
        assert_eq!(fast_len(1025), 1080);
    }

    #[test]
    fn plain_correlation_matches_the_direct_sum() {
        let a = noise(50, 1);
        let b = noise(40, 2);
        let curve = Correlator::new().cross_correlate(&a, &b, 12, Weighting::None);
        for lag in -12isize..=12 {
            let direct: f64 = (0..b.len() as isize)
                .filter(|t| t + lag >= 0 && ((t + lag) as usize) < a.len())
                .map(|t| a[(t + lag) as usize] * b[t as usize])
                .sum();
            assert!((curve.at(lag).unwrap() - direct).abs() < 1e-9, "lag {lag}");
        }
    }

    #[test]
    fn normalized_correlation_finds_integer_and_fractional_delays() {
        let b = noise(4000, 3);
        let mut correlator = Correlator::new();
        for delay in [0.0, 17.0, -23.0, 5.25, -8.6] {
            let a = delayed(&b, delay);
            let peak = correlator.normalized(&a, &b, 40).peak().unwrap();
            // White noise has the sharpest possible peak, so a parabola biases the fraction a
            // little (hence 0.15 samples) and a half-sample delay halves the height (sinc).
            assert!((peak.lag - delay).abs() < 0.15, "delay {delay}: found {}", peak.lag);
            assert!(peak.value > 0.6, "delay {delay}: peak {}", peak.value);
        }
    }

    #[test]
    fn masked_samples_do_not_count() {
        let b = noise(2000, 4);
        let mut a = delayed(&b, 9.0);
        let mut a_mask = vec![1.0; a.len()];
        // Garbage where the face was lost: masked out, it must not move or weaken the peak.
        for t in 600..900 {
            a[t] = 100.0 * (t as f64).sin();
            a_mask[t] = 0.0;
        }
        let b_mask = vec![1.0; b.len()];
        let curve = Correlator::new().normalized_masked(&a, &a_mask, &b, &b_mask, 30);
        let peak = curve.peak().unwrap();
        assert!((peak.lag - 9.0).abs() < 0.05, "found {}", peak.lag);
        assert!(peak.value > 0.99, "peak {}", peak.value);
    }

    #[test]
    fn long_signals_are_summed_block_by_block_as_one() {
        // Three blocks, with masked holes across the block joints.
        let len = 2 * BLOCK_SAMPLES + 777;
        let b = noise(len, 6);
        let a: Vec<f64> =
            (0..len).map(|t| if t >= 3 { b[t - 3] } else { 0.0 } + 0.3 * b[t]).collect();
        let hole = |centre: usize| centre - 40..centre + 40;
        let mut a_mask = vec![1.0; len];
        let mut b_mask = vec![1.0; len];
        hole(BLOCK_SAMPLES).for_each(|t| a_mask[t] = 0.0);
        hole(2 * BLOCK_SAMPLES + 10).for_each(|t| b_mask[t] = 0.0);
        let max_lag = 12;
        let curve = Correlator::new().normalized_masked(&a, &a_mask, &b, &b_mask, max_lag);
        for lag in -12isize..=12 {
            let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for t in 0..len as isize {
                let Some(i) = usize::try_from(t + lag).ok().filter(|&i| i < len) else { continue };
                let w = a_mask[i] * b_mask[t as usize];
                let (x, y) = (a[i], b[t as usize]);
                (n, sa, sb) = (n + w, sa + w * x, sb + w * y);
                (saa, sbb, sab) = (saa + w * x * x, sbb + w * y * y, sab + w * x * y);
            }
            let direct = pearson(n, sa, sb, saa, sbb, sab);
            let blocked = curve.at(lag).unwrap();
            assert!((blocked - direct).abs() < 1e-9, "lag {lag}: {blocked} vs {direct}");
        }
        assert_eq!(curve.peak().unwrap().lag.round(), 3.0);
    }

    #[test]
    fn phat_weighting_sharpens_a_coloured_signal() {
        // Low-passed noise has a broad plain-correlation peak; PHAT makes it one sample wide.
        let white = noise(8000, 5);
        let coloured: Vec<f64> = white
            .iter()
            .scan(0.0, |state, &x| {
                *state = 0.95 * *state + x;
                Some(*state)
            })
            .collect();
        let a = delayed(&coloured, 31.0);
        let curve = Correlator::new().cross_correlate(&a, &coloured, 100, Weighting::Phat);
        let peak = curve.peak().unwrap();
        assert!((peak.lag - 31.0).abs() < 0.05, "found {}", peak.lag);
        let neighbour = curve.at(33).unwrap();
        assert!(neighbour < 0.2 * peak.value, "peak {} neighbour {neighbour}", peak.value);
    }
}
