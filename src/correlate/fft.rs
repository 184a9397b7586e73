//! The FFT engine behind every correlation: realfft plans cached per length, buffers reused.

use super::spectrum::{Band, CrossSpectrum, Spectrum};
use super::{LagCurve, Weighting};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

/// Below this many overlapping samples a normalized correlation is not defined (NaN).
const MIN_OVERLAP_SAMPLES: f64 = 2.0;

/// Cross-correlates real signals by FFT. Keep one per thread and reuse it: plans and buffers
/// are made on first use of each length and kept.
pub struct Correlator {
    planner: RealFftPlanner<f64>,
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
        Correlator { planner: RealFftPlanner::new(), time: Vec::new(), scratch: Vec::new() }
    }

    /// FFT length that holds lags `-max_lag..=max_lag` of signals this long without wrap-around.
    pub fn fft_len(a_len: usize, b_len: usize, max_lag: usize) -> usize {
        fast_len(a_len.max(b_len) + max_lag + 1)
    }

    /// The forward FFT of `signal` zero-padded to `n` (see [`Correlator::fft_len`]).
    pub fn spectrum(&mut self, signal: &[f64], n: usize) -> Spectrum {
        assert!(signal.len() <= n, "signal longer than the FFT length");
        let fft = self.planner.plan_fft_forward(n);
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
        let inverse = self.planner.plan_fft_inverse(n);
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
        let ones_a = vec![1.0; a.len()];
        let ones_b = vec![1.0; b.len()];
        self.normalized_masked(a, &ones_a, b, &ones_b, max_lag)
    }

    /// Pearson correlation per lag counting only samples where both masks are non-zero (masks
    /// are weights, usually 0 or 1: a frame without a face, a stretch without speech).
    ///
    /// This is masked normalized cross-correlation (Padfield 2010): six correlations of the
    /// masked signals, their squares and the masks give each lag's overlap count, means and
    /// variances. Lags with too little overlap or no variance are NaN.
    pub fn normalized_masked(
        &mut self,
        a: &[f64],
        a_mask: &[f64],
        b: &[f64],
        b_mask: &[f64],
        max_lag: usize,
    ) -> LagCurve {
        assert_eq!(a.len(), a_mask.len(), "signal and mask lengths differ");
        assert_eq!(b.len(), b_mask.len(), "signal and mask lengths differ");
        let n = Self::fft_len(a.len(), b.len(), max_lag);
        let weighted = |x: &[f64], w: &[f64], power: i32| -> Vec<f64> {
            x.iter().zip(w).map(|(v, m)| v.powi(power) * m).collect()
        };
        let wa = self.spectrum(a_mask, n);
        let a1 = self.spectrum(&weighted(a, a_mask, 1), n);
        let a2 = self.spectrum(&weighted(a, a_mask, 2), n);
        let wb = self.spectrum(b_mask, n);
        let b1 = self.spectrum(&weighted(b, b_mask, 1), n);
        let b2 = self.spectrum(&weighted(b, b_mask, 2), n);
        let none = Weighting::None;
        let count = self.inverse_product(&wa, &wb, max_lag, none);
        let sum_a = self.inverse_product(&a1, &wb, max_lag, none);
        let sum_b = self.inverse_product(&wa, &b1, max_lag, none);
        let sum_aa = self.inverse_product(&a2, &wb, max_lag, none);
        let sum_bb = self.inverse_product(&wa, &b2, max_lag, none);
        let sum_ab = self.inverse_product(&a1, &b1, max_lag, none);
        let values = (0..count.len())
            .map(|i| {
                let n = count[i];
                if n < MIN_OVERLAP_SAMPLES {
                    return f64::NAN;
                }
                let covariance = sum_ab[i] - sum_a[i] * sum_b[i] / n;
                let var_a = sum_aa[i] - sum_a[i] * sum_a[i] / n;
                let var_b = sum_bb[i] - sum_b[i] * sum_b[i] / n;
                // Relative floor: FFT round-off leaves ~1e-12 of the energy in a constant signal.
                let floor_a = 1e-9 * sum_aa[i].abs().max(f64::MIN_POSITIVE);
                let floor_b = 1e-9 * sum_bb[i].abs().max(f64::MIN_POSITIVE);
                if var_a <= floor_a || var_b <= floor_b {
                    return f64::NAN;
                }
                (covariance / (var_a * var_b).sqrt()).clamp(-1.0, 1.0)
            })
            .collect();
        LagCurve { max_lag, values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
