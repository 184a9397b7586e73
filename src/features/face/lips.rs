//! Lip geometry from the face mesh: the per-frame signal the correlator compares with speech.

use super::geometry::{PixelBox, Point};
use super::landmarks::Landmarks;

/// Outer lip contour: lower lip from the right mouth corner (61) to the left (291), then the
/// upper lip from right to left. MediaPipe face-mesh indices.
pub const OUTER_LOWER: [usize; 11] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
pub const OUTER_UPPER: [usize; 9] = [185, 40, 39, 37, 0, 267, 269, 270, 409];
/// Inner lip contour, same order: lower (78..308), then upper.
pub const INNER_LOWER: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
pub const INNER_UPPER: [usize; 9] = [191, 80, 81, 82, 13, 312, 311, 310, 415];
/// Inner lip midpoints (upper, lower) and mouth corners.
pub const INNER_TOP: usize = 13;
pub const INNER_BOTTOM: usize = 14;
pub const OUTER_TOP: usize = 0;
pub const OUTER_BOTTOM: usize = 17;
pub const CORNER_RIGHT: usize = 61;
pub const CORNER_LEFT: usize = 291;
/// Below the nose and the bottom of the chin: their distance grows as the jaw drops.
pub const SUBNASALE: usize = 2;
pub const CHIN: usize = 152;

/// Lip features of one face in one frame. Lengths are in eye distances (outer eye corners
/// 33-263), areas in squared eye distances, so they do not depend on face size.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LipFeatures {
    /// Inner lip gap over mouth width: |13-14| / |61-291|.
    pub opening: f32,
    /// Inner lip gap |13-14|.
    pub inner_gap: f32,
    /// Outer lip gap |0-17|.
    pub outer_gap: f32,
    /// Area inside the inner lip contour.
    pub inner_area: f32,
    /// Mouth width |61-291|.
    pub width: f32,
    /// Area inside the outer lip contour: grows with opening and rounding alike.
    pub outer_area: f32,
    /// Jaw opening: |2-152|, nose base to chin.
    pub jaw: f32,
    /// The unit: outer eye-corner distance in frame pixels.
    pub eye_distance_px: f32,
}

impl LipFeatures {
    pub fn from_landmarks(lm: &Landmarks) -> Self {
        let p = &lm.points;
        let eye = lm.eye_distance().max(f32::EPSILON);
        let width_px = p[CORNER_RIGHT].dist(p[CORNER_LEFT]);
        let inner_gap_px = p[INNER_TOP].dist(p[INNER_BOTTOM]);
        LipFeatures {
            opening: inner_gap_px / width_px.max(f32::EPSILON),
            inner_gap: inner_gap_px / eye,
            outer_gap: p[OUTER_TOP].dist(p[OUTER_BOTTOM]) / eye,
            inner_area: polygon_area(inner_contour().map(|i| p[i])) / (eye * eye),
            width: width_px / eye,
            outer_area: polygon_area(outer_contour().map(|i| p[i])) / (eye * eye),
            jaw: p[SUBNASALE].dist(p[CHIN]) / eye,
            eye_distance_px: eye,
        }
    }
}

/// Indices of the inner contour as a closed polygon.
fn inner_contour() -> impl Iterator<Item = usize> {
    INNER_LOWER.into_iter().chain(INNER_UPPER.into_iter().rev())
}

/// Indices of the outer contour as a closed polygon.
fn outer_contour() -> impl Iterator<Item = usize> {
    OUTER_LOWER.into_iter().chain(OUTER_UPPER.into_iter().rev())
}

/// The axis-aligned box around the outer lip contour, in frame pixels.
pub fn mouth_box(lm: &Landmarks) -> PixelBox {
    PixelBox::around(OUTER_LOWER.iter().chain(&OUTER_UPPER).map(|&i| lm.points[i]))
}

/// Shoelace area of a closed polygon (absolute value).
pub fn polygon_area(points: impl Iterator<Item = Point>) -> f32 {
    let pts: Vec<Point> = points.collect();
    let n = pts.len();
    let twice: f32 = (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum();
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::face::landmarks::{EYE_LEFT_OUTER, EYE_RIGHT_OUTER, NUM_LANDMARKS};

    #[test]
    fn shoelace_area_of_a_square() {
        let sq = [
            Point::new(0.0, 0.0),
            Point::new(2.0, 0.0),
            Point::new(2.0, 2.0),
            Point::new(0.0, 2.0),
        ];
        assert_eq!(polygon_area(sq.into_iter()), 4.0);
        assert_eq!(polygon_area(sq.into_iter().rev()), 4.0);
    }

    /// A synthetic mouth: the inner contour is a diamond, the features follow from it.
    #[test]
    fn features_of_a_synthetic_mouth() {
        let mut points = vec![Point::new(0.0, 0.0); NUM_LANDMARKS];
        points[EYE_RIGHT_OUTER] = Point::new(0.0, 0.0);
        points[EYE_LEFT_OUTER] = Point::new(100.0, 0.0);
        points[CORNER_RIGHT] = Point::new(20.0, 100.0);
        points[CORNER_LEFT] = Point::new(80.0, 100.0);
        points[OUTER_TOP] = Point::new(50.0, 85.0);
        points[OUTER_BOTTOM] = Point::new(50.0, 120.0);
        points[SUBNASALE] = Point::new(50.0, 70.0);
        points[CHIN] = Point::new(50.0, 160.0);
        // inner lower lip: all on the lower diamond edges; inner upper lip on the upper ones
        for (k, &i) in INNER_LOWER.iter().enumerate() {
            let t = k as f32 / 10.0;
            let x = 25.0 + 50.0 * t;
            points[i] = Point::new(x, 100.0 + 10.0 * (1.0 - (2.0 * t - 1.0).abs()));
        }
        for (k, &i) in INNER_UPPER.iter().enumerate() {
            let t = (k + 1) as f32 / 10.0;
            let x = 25.0 + 50.0 * t;
            points[i] = Point::new(x, 100.0 - 10.0 * (1.0 - (2.0 * t - 1.0).abs()));
        }
        let f = LipFeatures::from_landmarks(&Landmarks { points, depths: Vec::new(), score: 1.0 });
        assert_eq!(f.eye_distance_px, 100.0);
        assert!((f.inner_gap - 0.2).abs() < 1e-5);
        assert!((f.opening - 20.0 / 60.0).abs() < 1e-5);
        assert!((f.width - 0.6).abs() < 1e-5);
        assert!((f.outer_gap - 0.35).abs() < 1e-5);
        assert!((f.jaw - 0.9).abs() < 1e-5);
        // diamond with diagonals 50 and 20: area 500 px^2 = 0.05 eye distances squared
        assert!((f.inner_area - 0.05).abs() < 1e-5);
    }
}
