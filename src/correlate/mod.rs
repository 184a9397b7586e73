//! FFT cross-correlation: plain, normalized (Pearson per lag, with masks for missing data) and
//! GCC-PHAT, plus sub-sample peak refinement (parabolic on sampled curves, exact on
//! cross-spectra kept in the frequency domain: [`CrossSpectrum::refine_peak`]).
//!
//! Lag convention: the value at lag `k` compares `a[t + k]` with `b[t]`, so if `a` is `b`
//! delayed by `k0` samples (`a[t] = b[t - k0]`), the peak is at `k = +k0`.
//!
//! FFT plans are made once per length for the whole process, and buffers are reused: a
//! [`Correlator`] is meant to live as long as a batch of windows (one per rayon thread).

mod fft;
pub mod peak;
mod spectrum;

pub use fft::{Correlator, Samples};
pub use spectrum::{Band, CrossSpectrum, Spectrum};

/// The normalised sinc, `sin(πx) / (πx)`: the kernel of band-limited filters and
/// interpolation.
pub fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
    }
}

/// `Σ a[i]·b[i]` over the shorter of the two. Eight running sums, so that each addition need
/// not wait for the one before (one sum is a chain of dependent additions, which the compiler
/// may not reorder for floats): several times faster on long filters.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (a[..n].chunks_exact(LANES), b[..n].chunks_exact(LANES));
    let tail: f64 = a.remainder().iter().zip(b.remainder()).map(|(x, y)| x * y).sum();
    let mut sums = [0.0; LANES];
    for (x, y) in a.zip(b) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    sums.iter().sum::<f64>() + tail
}

/// Correlation values over a symmetric lag range `-max_lag..=max_lag`.
#[derive(Clone, Debug, PartialEq)]
pub struct LagCurve {
    pub max_lag: usize,
    /// `values[i]` is the value at lag `i - max_lag`.
    pub values: Vec<f64>,
}

impl LagCurve {
    /// The lag (in samples) of index `i`.
    pub fn lag_of(&self, index: usize) -> isize {
        index as isize - self.max_lag as isize
    }

    /// The value at `lag`, if within range.
    pub fn at(&self, lag: isize) -> Option<f64> {
        let index = lag + self.max_lag as isize;
        (index >= 0).then(|| self.values.get(index as usize).copied()).flatten()
    }

    /// The highest value, refined to a fractional lag.
    pub fn peak(&self) -> Option<peak::Peak> {
        let index = peak::argmax(&self.values)?;
        let refined = peak::refine_parabolic(&self.values, index);
        Some(peak::Peak { lag: refined.position - self.max_lag as f64, value: refined.value })
    }
}

/// How the cross-spectrum is weighted before the inverse FFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weighting {
    /// Plain cross-correlation.
    None,
    /// Phase transform (GCC-PHAT): every frequency counts equally, which makes the peak sharp
    /// for broadband signals such as a copy of the same audio.
    Phat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_is_the_sum_of_products_over_the_shorter_slice() {
        let a: Vec<f64> = (0..21).map(|i| (i as f64 * 0.7).sin()).collect();
        let b: Vec<f64> = (0..19).map(|i| 1.0 + i as f64 * 0.25).collect();
        for len in [0, 1, 7, 8, 9, 16, 19] {
            let plain: f64 = a[..len].iter().zip(&b[..len]).map(|(x, y)| x * y).sum();
            assert!((dot(&a[..len], &b[..len]) - plain).abs() < 1e-12, "length {len}");
        }
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-12);
    }
}
