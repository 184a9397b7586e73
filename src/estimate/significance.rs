//! Is a correlation peak real? Its height against the curve's own null distribution.
//!
//! Away from a true match, the values of a correlation curve over many lags are noise. Two
//! measures of the peak against them:
//!
//! - the robust z-score (height above the median, in units of the MAD-estimated spread), a
//!   readable figure of prominence;
//! - [`tail_p_value`], the decision: the chance that the curve's own noise reaches the peak
//!   somewhere, from an exponential fit to the upper tail of the off-peak values (peaks over
//!   threshold). A Gaussian bound on the z-score (`L · Q(z) = p`) is not safe: whitened audio
//!   is spiky at onsets, and its correlations have heavier tails than that; unrelated speech
//!   reached z = 7 in the tests.
//!
//! A peak that does not clear the bar is not a match, however it looks; nothing is forced.

/// MAD to standard deviation for Gaussian data.
pub const MAD_TO_SIGMA: f64 = 1.482_602_2;

/// The robust z-score of `peak` against `values` (median and MAD of all finite values).
///
/// Returns 0 when the values have no spread.
pub fn robust_z(values: &[f64], peak: f64) -> f64 {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 3 {
        return 0.0;
    }
    let (median, spread) = median_and_sigma(&mut finite);
    if spread <= 0.0 {
        return 0.0;
    }
    (peak - median) / spread
}

/// The median of `values` (reordered in place) and their standard deviation estimated from the
/// median absolute deviation, robust to outliers; NaN for none.
pub fn median_and_sigma(values: &mut [f64]) -> (f64, f64) {
    let median = median_in_place(values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    (median, MAD_TO_SIGMA * median_in_place(&mut deviations))
}

/// The median of `values` (reordered in place); NaN for none.
pub fn median_in_place(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mid = values.len() / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if values.len() % 2 == 1 {
        upper
    } else {
        let lower = values[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

/// Share of the off-peak values above the tail threshold (the 99th percentile).
const TAIL_SHARE: f64 = 0.01;
/// Fewest values above the threshold for a tail fit.
const MIN_TAIL_VALUES: usize = 10;

/// The chance that the noise of `values` reaches `values[peak]` at any lag: values within
/// `exclude` lags of the peak are its own shoulders and left out; above the 99th percentile
/// `u` of the rest, the tail is taken as exponential with the mean excess `β`, so the expected
/// number of noise lags above the peak is `n_u · exp(−(peak − u) / β)`.
///
/// Returns 1 when there are too few values to say.
pub fn tail_p_value(values: &[f64], peak: usize, exclude: usize) -> f64 {
    let height = values[peak];
    let mut off: Vec<f64> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| v.is_finite() && i.abs_diff(peak) > exclude)
        .map(|(_, &v)| v)
        .collect();
    let above = ((off.len() as f64 * TAIL_SHARE).floor() as usize).max(MIN_TAIL_VALUES);
    if off.len() < 2 * above || !height.is_finite() {
        return 1.0;
    }
    let cut = off.len() - above;
    off.select_nth_unstable_by(cut - 1, f64::total_cmp);
    let threshold = off[cut - 1];
    let excess = off[cut..].iter().map(|v| v - threshold).sum::<f64>() / above as f64;
    if excess <= 0.0 {
        return if height > threshold { 0.0 } else { 1.0 };
    }
    (above as f64 * (-(height - threshold) / excess).exp()).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_p_value_separates_a_real_peak_from_the_largest_noise_value() {
        // Heavy-tailed noise (Laplace-like, from a deterministic sequence) with one true peak.
        let mut state = 12345u64;
        let mut values: Vec<f64> = (0..40_000)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let u = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                if u < 0.5 {
                    (2.0 * u).ln()
                } else {
                    -(2.0 * (1.0 - u)).ln()
                }
            })
            .collect();
        let noise_max = crate::correlate::peak::argmax(&values).unwrap();
        let p_noise = tail_p_value(&values, noise_max, 5);
        assert!(p_noise > 0.05, "the noise maximum looks significant: p = {p_noise}");
        values[20_000] = 25.0;
        let p_real = tail_p_value(&values, 20_000, 5);
        assert!(p_real < 1e-4, "p = {p_real}");
    }

    #[test]
    fn robust_z_ignores_the_outlier_it_scores() {
        let mut values: Vec<f64> = (0..1001).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        values[500] = 50.0;
        let z = robust_z(&values, 50.0);
        // Uniform 0–1 values: median 0.5, MAD 0.25, so z ≈ 49.5 / (1.4826 · 0.25).
        assert!((z - 49.5 / (MAD_TO_SIGMA * 0.25)).abs() < 1.0, "{z}");
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
