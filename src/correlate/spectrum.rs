//! Cross-spectra kept in the frequency domain, so that a correlation can be read at any
//! fractional lag rather than interpolated between samples.
//!
//! A zero-padded cross-spectrum of length `n` defines the correlation at every real lag `τ` as a
//! trigonometric polynomial, `r(τ) = (1/n) Σ_k X_k e^{2πikτ/n}`: the band-limited (sinc)
//! interpolation of the sampled curve. Maximising it with Newton's method gives the sub-sample
//! peak without the bias a parabola has on the narrow peaks of GCC-PHAT.

use super::peak::Peak;
use super::Weighting;
use realfft::num_complex::Complex;
use std::f64::consts::PI;

/// The forward FFT of one zero-padded signal.
#[derive(Clone, Debug)]
pub struct Spectrum {
    /// FFT length (the signal was zero-padded to it).
    pub n: usize,
    /// Bins `0..=n/2` of the real-input FFT.
    pub bins: Vec<Complex<f64>>,
}

impl Spectrum {
    /// The phase alone (unit magnitude) within `band`, zero elsewhere: the spectrum of the
    /// signal whitened as GCC-PHAT sees it. Returns it and the number of bins kept.
    pub fn whitened(&self, band: Band) -> (Spectrum, usize) {
        let range = band.bins(self.n);
        let mut kept = 0;
        let bins = self
            .bins
            .iter()
            .enumerate()
            .map(|(k, x)| {
                // Not `norm()`: its `hypot` guards against overflow that audio spectra never
                // approach, at several times the cost of the plain root.
                let magnitude = x.norm_sqr().sqrt();
                if range.contains(&k) && magnitude > 0.0 {
                    kept += 1;
                    x / magnitude
                } else {
                    Complex::default()
                }
            })
            .collect();
        (Spectrum { n: self.n, bins }, kept)
    }
}

/// A range of frequencies in cycles per sample (0 to 0.5). Bins outside it do not count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub low: f64,
    pub high: f64,
}

impl Band {
    /// Every bin except DC and Nyquist, which carry no usable phase.
    pub const FULL: Band = Band { low: 0.0, high: 0.5 };

    fn bins(&self, n: usize) -> std::ops::Range<usize> {
        let half = n / 2;
        let low = ((self.low * n as f64).ceil() as usize).max(1);
        let high = ((self.high * n as f64).floor() as usize).min(half.saturating_sub(1));
        low..(high + 1).max(low)
    }
}

/// `A · conj(B)` (optionally PHAT-weighted) over a band: the spectrum of `Σ_t a[t + τ]·b[t]`.
#[derive(Clone, Debug)]
pub struct CrossSpectrum {
    pub n: usize,
    /// Bins `0..=n/2`; zero outside the band.
    pub bins: Vec<Complex<f64>>,
    /// Number of non-zero bins: a PHAT curve of two identical signals peaks at `used / (n/2)`
    /// before [`CrossSpectrum::coherence_scale`] is applied.
    pub used: usize,
}

impl CrossSpectrum {
    /// The weighted cross-spectrum of `a` and `b` (which must share a length), within `band`.
    pub fn new(a: &Spectrum, b: &Spectrum, weighting: Weighting, band: Band) -> Self {
        assert_eq!(a.n, b.n, "spectra of different FFT lengths");
        let n = a.n;
        let range = band.bins(n);
        let mut used = 0;
        let bins = a
            .bins
            .iter()
            .zip(&b.bins)
            .enumerate()
            .map(|(k, (x, y))| {
                if !range.contains(&k) {
                    return Complex::default();
                }
                let product = x * y.conj();
                match weighting {
                    Weighting::None => {
                        used += 1;
                        product
                    }
                    Weighting::Phat => {
                        // The plain root, as in `Spectrum::whitened`.
                        let magnitude = product.norm_sqr().sqrt();
                        if magnitude > 0.0 {
                            used += 1;
                            product / magnitude
                        } else {
                            Complex::default()
                        }
                    }
                }
            })
            .collect();
        CrossSpectrum { n, bins, used }
    }

    /// Factor that makes a PHAT curve read as coherence: 1 for two identical signals, about 0
    /// for unrelated ones, whatever the FFT length and band.
    pub fn coherence_scale(&self) -> f64 {
        if self.used == 0 {
            0.0
        } else {
            self.n as f64 / (2.0 * self.used as f64)
        }
    }

    /// The correlation at a fractional lag `tau` (in samples), with its first and second
    /// derivatives: the band-limited interpolation of the sampled curve.
    pub fn value_at(&self, tau: f64) -> (f64, f64, f64) {
        let omega = 2.0 * PI / self.n as f64;
        let step = Complex::from_polar(1.0, omega * tau);
        let mut phase = Complex::new(1.0, 0.0);
        let (mut value, mut first, mut second) = (0.0, 0.0, 0.0);
        for (k, x) in self.bins.iter().enumerate() {
            if k > 0 {
                phase *= step;
            }
            if x.re == 0.0 && x.im == 0.0 {
                continue;
            }
            // Bins between DC and Nyquist stand for themselves and their mirror image.
            let weight = if k == 0 || 2 * k == self.n { 1.0 } else { 2.0 };
            let term = x * phase;
            let w = omega * k as f64;
            value += weight * term.re;
            first -= weight * w * term.im;
            second -= weight * w * w * term.re;
        }
        let scale = 1.0 / self.n as f64;
        (value * scale, first * scale, second * scale)
    }

    /// Refines a peak near the integer lag `start` to the maximum of the interpolated curve.
    ///
    /// Newton's method on `r'(τ) = 0`, kept within half a sample of `start`; where the curve is
    /// not concave there, `start` itself is returned.
    pub fn refine_peak(&self, start: f64) -> Peak {
        const MAX_ITERATIONS: usize = 30;
        const TOLERANCE_SAMPLES: f64 = 1e-9;
        let mut tau = start;
        for _ in 0..MAX_ITERATIONS {
            let (_, first, second) = self.value_at(tau);
            if second >= 0.0 {
                break;
            }
            let next = (tau - first / second).clamp(start - 0.5, start + 0.5);
            let moved = (next - tau).abs();
            tau = next;
            if moved < TOLERANCE_SAMPLES {
                break;
            }
        }
        let (value, _, second) = self.value_at(tau);
        if second >= 0.0 {
            let (value, _, _) = self.value_at(start);
            return Peak { lag: start, value };
        }
        Peak { lag: tau, value }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Correlator;
    use super::*;

    #[test]
    fn band_excludes_dc_and_nyquist() {
        assert_eq!(Band::FULL.bins(16), 1..8);
        assert_eq!(Band { low: 0.25, high: 0.5 }.bins(16), 4..8);
    }

    #[test]
    fn interpolated_curve_matches_the_sampled_one_at_integer_lags() {
        let a: Vec<f64> = (0..64).map(|i| ((i * 7919) % 31) as f64 - 15.0).collect();
        let b: Vec<f64> = (0..48).map(|i| ((i * 104_729) % 17) as f64 - 8.0).collect();
        let mut correlator = Correlator::new();
        let n = Correlator::fft_len(a.len(), b.len(), 20);
        let spectrum_a = correlator.spectrum(&a, n);
        let spectrum_b = correlator.spectrum(&b, n);
        // Including DC and Nyquist, the interpolation reproduces the plain correlation exactly.
        let mut cross = CrossSpectrum::new(&spectrum_a, &spectrum_b, Weighting::None, Band::FULL);
        for (k, (x, y)) in spectrum_a.bins.iter().zip(&spectrum_b.bins).enumerate() {
            if k == 0 || k == n / 2 {
                cross.bins[k] = x * y.conj();
            }
        }
        let curve = correlator.cross_correlate(&a, &b, 20, Weighting::None);
        for lag in [-20isize, -3, 0, 5, 20] {
            let (value, _, _) = cross.value_at(lag as f64);
            assert!((value - curve.at(lag).unwrap()).abs() < 1e-6, "lag {lag}");
        }
    }
}
