//! A robust straight line through offsets over time: the whole-clip offset and its drift.
//!
//! Theil–Sen finds the line without being pulled by stray points; points far from it (in
//! robust standard deviations) are outliers; least squares over the rest gives the offset at
//! their mean time, the slope (drift) and the scatter.

use super::significance::{median_in_place, MAD_TO_SIGMA};
use crate::report::Drift;

/// 95% two-sided normal quantile.
pub const Z_95: f64 = 1.96;

/// How strict the fit is; each method states its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineRules {
    /// A point further than this many robust standard deviations from the line is an outlier...
    pub outlier_sigmas: f64,
    /// ...but never for less than this many ms.
    pub outlier_floor_ms: f64,
    /// A slope (drift) is fitted only from at least this many inliers...
    pub min_drift_points: usize,
    /// ...spread over at least this many seconds; otherwise the offset is taken as constant.
    pub min_drift_span_s: f64,
    /// Theil–Sen uses at most this many points (evenly spaced) to bound its quadratic cost.
    pub max_theil_sen_points: usize,
}

pub struct LineFit {
    /// Offset at the mean time of the inliers.
    pub offset_ms: f64,
    pub inliers: Vec<bool>,
    /// Scatter of the inliers about the line; `None` from fewer than three.
    pub sigma_ms: Option<f64>,
    pub drift: Option<Drift>,
}

/// Robust line through `(time_s, offset_ms)` points (at least one).
pub fn fit_offset_line(points: &[(f64, f64)], rules: &LineRules) -> LineFit {
    let slope = theil_sen_slope(points, rules.max_theil_sen_points);
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
    let mut offsets_at_mean: Vec<f64> =
        points.iter().map(|&(t, o)| o - slope * (t - mean_t)).collect();
    let intercept = median_in_place(&mut offsets_at_mean);
    let residuals: Vec<f64> =
        points.iter().map(|&(t, o)| o - intercept - slope * (t - mean_t)).collect();
    let mut deviations: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    let robust_sigma = MAD_TO_SIGMA * median_in_place(&mut deviations);
    let limit = (rules.outlier_sigmas * robust_sigma).max(rules.outlier_floor_ms);
    let inliers: Vec<bool> = residuals.iter().map(|r| r.abs() <= limit).collect();
    let kept: Vec<(f64, f64)> =
        points.iter().zip(&inliers).filter(|(_, &i)| i).map(|(p, _)| *p).collect();
    let n = kept.len() as f64;
    let mean_t = kept.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_o = kept.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = kept.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    let span = kept.iter().map(|p| p.0).fold(f64::MIN, f64::max)
        - kept.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let fit_slope =
        kept.len() >= rules.min_drift_points && span >= rules.min_drift_span_s && sxx > 0.0;
    let slope = if fit_slope {
        kept.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_o)).sum::<f64>() / sxx
    } else {
        0.0
    };
    let dof = kept.len().saturating_sub(if fit_slope { 2 } else { 1 });
    let sigma_ms = (dof > 0 && kept.len() >= 3).then(|| {
        let ss: f64 = kept.iter().map(|p| (p.1 - mean_o - slope * (p.0 - mean_t)).powi(2)).sum();
        (ss / dof as f64).sqrt()
    });
    // slope is in ms per second: 1 ms/s is 1000 µs/s, 1000 ppm.
    let drift = fit_slope.then(|| Drift {
        ms_per_min: slope * 60.0,
        ppm: slope * 1000.0,
        uncertainty_ppm: sigma_ms.map(|s| Z_95 * s / sxx.sqrt() * 1000.0),
        // The fitted line passes through the points' mean time and mean offset.
        reference_s: Some(mean_t),
    });
    LineFit { offset_ms: mean_o, inliers, sigma_ms, drift }
}

/// Median of pairwise slopes (0 with fewer than two distinct times).
fn theil_sen_slope(points: &[(f64, f64)], max_points: usize) -> f64 {
    let step = points.len().div_ceil(max_points).max(1);
    let sample: Vec<(f64, f64)> = points.iter().step_by(step).copied().collect();
    let mut slopes = Vec::with_capacity(sample.len() * sample.len() / 2);
    for (i, a) in sample.iter().enumerate() {
        for b in &sample[i + 1..] {
            if (b.0 - a.0).abs() > 1e-9 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    if slopes.is_empty() {
        0.0
    } else {
        median_in_place(&mut slopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: LineRules = LineRules {
        outlier_sigmas: 4.0,
        outlier_floor_ms: 1.0,
        min_drift_points: 3,
        min_drift_span_s: 2.0,
        max_theil_sen_points: 1000,
    };

    #[test]
    fn line_with_an_outlier() {
        // 10 ms + 2 ms/s (2000 ppm), one stray point.
        let mut points: Vec<(f64, f64)> =
            (0..10).map(|i| (i as f64, 10.0 + 2.0 * i as f64)).collect();
        points[4].1 += 50.0;
        let fit = fit_offset_line(&points, &RULES);
        assert!(!fit.inliers[4]);
        let drift = fit.drift.unwrap();
        assert!((drift.ppm - 2000.0).abs() < 1e-6);
        let t = drift.reference_s.unwrap();
        assert!((fit.offset_ms - (10.0 + 2.0 * t)).abs() < 1e-9);
    }

    #[test]
    fn short_span_means_no_drift() {
        let points = [(0.0, 5.0), (0.5, 6.0), (1.0, 7.0)];
        let fit = fit_offset_line(&points, &RULES);
        assert!(fit.drift.is_none());
        assert!((fit.offset_ms - 6.0).abs() < 1e-9);
    }
}
