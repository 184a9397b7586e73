//! FFT cross-correlation: plain, normalized (Pearson per lag, with masks for missing data) and
//! GCC-PHAT, plus sub-sample peak refinement (parabolic on sampled curves, exact on
//! cross-spectra kept in the frequency domain: [`CrossSpectrum::refine_peak`]).
//!
//! Lag convention: the value at lag `k` compares `a[t + k]` with `b[t]`, so if `a` is `b`
//! delayed by `k0` samples (`a[t] = b[t - k0]`), the peak is at `k = +k0`.
//!
//! FFT plans are made once per length and reused, and so are the buffers: a [`Correlator`]
//! is meant to live as long as a batch of windows (one per rayon thread).

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
