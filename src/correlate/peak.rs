//! Peak picking and sub-sample refinement on sampled curves.

/// A peak at a fractional position (a lag, in samples, when it comes from a [`super::LagCurve`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    pub lag: f64,
    pub value: f64,
}

/// A refined extremum: fractional index and interpolated height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refined {
    pub position: f64,
    pub value: f64,
}

/// Index of the largest finite value.
pub fn argmax(values: &[f64]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// Fits a parabola through `values[index]` and its two neighbours and returns its vertex.
///
/// At the ends of the curve, or where the three points are not a maximum, the sample itself is
/// returned: extrapolating would invent precision.
pub fn refine_parabolic(values: &[f64], index: usize) -> Refined {
    let centre = values[index];
    if index == 0 || index + 1 >= values.len() {
        return Refined { position: index as f64, value: centre };
    }
    let (left, right) = (values[index - 1], values[index + 1]);
    let curvature = left - 2.0 * centre + right;
    let is_maximum = curvature < 0.0 && left.is_finite() && right.is_finite();
    if !is_maximum {
        return Refined { position: index as f64, value: centre };
    }
    let delta = (0.5 * (left - right) / curvature).clamp(-0.5, 0.5);
    Refined { position: index as f64 + delta, value: centre - 0.25 * (left - right) * delta }
}

/// Least-squares parabola through `values[index]` and its two neighbours on each side; its
/// vertex. For broad peaks (smooth signals, such as speech envelopes against lip movement) it
/// averages out the noise of single points that the three-point fit follows. Falls back to
/// [`refine_parabolic`] near the ends, at non-finite values or where the fit is not a maximum.
pub fn refine_quadratic5(values: &[f64], index: usize) -> Refined {
    if index < 2 || index + 2 >= values.len() {
        return refine_parabolic(values, index);
    }
    let y = &values[index - 2..=index + 2];
    if y.iter().any(|v| !v.is_finite()) {
        return refine_parabolic(values, index);
    }
    // Orthogonal polynomials on x = -2..2: slope Σx·y/10, curvature Σ(x²-2)·y/14.
    let slope = (-2.0 * y[0] - y[1] + y[3] + 2.0 * y[4]) / 10.0;
    let curvature = (2.0 * y[0] - y[1] - 2.0 * y[2] - y[3] + 2.0 * y[4]) / 14.0;
    if curvature >= 0.0 {
        return refine_parabolic(values, index);
    }
    let delta = (-slope / (2.0 * curvature)).clamp(-1.0, 1.0);
    let mean = y.iter().sum::<f64>() / 5.0;
    let value = mean + slope * delta + curvature * (delta * delta - 2.0);
    Refined { position: index as f64 + delta, value }
}

/// Local maxima of `values`, highest first, at least `min_separation` samples apart.
pub fn local_maxima(values: &[f64], min_separation: usize, count: usize) -> Vec<usize> {
    let mut candidates: Vec<usize> = (0..values.len())
        .filter(|&i| {
            let v = values[i];
            v.is_finite()
                && (i == 0 || v >= values[i - 1])
                && (i + 1 == values.len() || v > values[i + 1])
        })
        .collect();
    candidates.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut kept: Vec<usize> = Vec::with_capacity(count);
    for i in candidates {
        if kept.len() == count {
            break;
        }
        if kept.iter().all(|&k| k.abs_diff(i) >= min_separation) {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parabolic_refinement_recovers_a_parabola_vertex() {
        let vertex = 10.3;
        let values: Vec<f64> = (0..20).map(|i| 5.0 - (i as f64 - vertex).powi(2)).collect();
        let refined = refine_parabolic(&values, argmax(&values).unwrap());
        assert!((refined.position - vertex).abs() < 1e-9);
        assert!((refined.value - 5.0).abs() < 1e-9);
    }

    #[test]
    fn five_point_refinement_recovers_a_parabola_vertex() {
        let vertex = 10.3;
        let values: Vec<f64> = (0..20).map(|i| 5.0 - (i as f64 - vertex).powi(2)).collect();
        let refined = refine_quadratic5(&values, argmax(&values).unwrap());
        assert!((refined.position - vertex).abs() < 1e-9);
        assert!((refined.value - 5.0).abs() < 1e-9);
    }

    #[test]
    fn local_maxima_are_separated_and_ordered() {
        let values = [0.0, 3.0, 0.0, 2.9, 0.0, 0.0, 1.0, 0.0];
        assert_eq!(local_maxima(&values, 3, 3), vec![1, 6]);
        assert_eq!(local_maxima(&values, 1, 3), vec![1, 3, 6]);
    }
}
