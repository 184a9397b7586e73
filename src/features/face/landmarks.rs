//! MediaPipe's 468-point face landmark model (192x192): input crop, output projection and the
//! tracking region built from the points (`face_landmark_landmarks_to_roi.pbtxt`).

use super::geometry::{warp_region, Border, GrayImage, PixelBox, Point, Region};

/// Model input side in pixels.
pub const LANDMARK_INPUT: usize = 192;
pub const NUM_LANDMARKS: usize = 468;
/// Outer eye corners (subject's right, left): the rotation and the face-size unit.
pub const EYE_RIGHT_OUTER: usize = 33;
pub const EYE_LEFT_OUTER: usize = 263;

/// 468 face-mesh points in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmarks {
    pub points: Vec<Point>,
    /// Each point's depth in frame pixels, on the scale of x (the model's z: smaller is nearer
    /// the camera, 0 about the head's centre); empty where unknown. It gives the head's pose.
    pub depths: Vec<f32>,
    /// Face presence probability (sigmoid of the model's score logit).
    pub score: f32,
}

impl Landmarks {
    /// The region for the next frame: the points' box, rotated by the outer eye corners,
    /// square, 1.5 times.
    pub fn next_region(&self) -> Region {
        Region::from_box_and_eyes(
            &self.bbox(),
            self.points[EYE_RIGHT_OUTER],
            self.points[EYE_LEFT_OUTER],
            super::ROI_SCALE,
        )
    }

    /// The axis-aligned box of all points.
    pub fn bbox(&self) -> PixelBox {
        PixelBox::around(self.points.iter().copied())
    }

    /// Distance between the outer eye corners, the unit that normalises lip features.
    pub fn eye_distance(&self) -> f32 {
        self.points[EYE_RIGHT_OUTER].dist(self.points[EYE_LEFT_OUTER])
    }
}

/// Fills one input plane (values in [0, 1]) from `region` of the frame; the model's three
/// channels are this plane three times.
/// Sampled as MediaPipe samples it (bilinear from the full frame, no prefilter): a crop reduced
/// by block means first moved the mouth opening by up to 0.028 eye distances against MediaPipe
/// on grey (`tests/face_corpus.rs`), so it was not kept.
pub fn preprocess(img: &GrayImage, region: &Region, plane: &mut [f32]) {
    warp_region(img, region, LANDMARK_INPUT, Border::Replicate, plane);
    for v in plane.iter_mut() {
        *v /= 255.0;
    }
}

/// Maps the model's raw outputs (1404 values in input pixels, one score logit) to frame pixels.
pub fn project(raw: &[f32], score_logit: f32, region: &Region) -> Landmarks {
    assert_eq!(raw.len(), NUM_LANDMARKS * 3);
    let scale = LANDMARK_INPUT as f32;
    let points = raw.chunks_exact(3).map(|p| region.to_frame(p[0] / scale, p[1] / scale)).collect();
    let depths = raw.chunks_exact(3).map(|p| p[2] / scale * region.size).collect();
    Landmarks { points, depths, score: 1.0 / (1.0 + (-score_logit).exp()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_inverts_the_crop() {
        // a rotated region; a point at input pixel (u, v) lands where the warp read it from
        let region = Region { center: Point::new(300.0, 200.0), size: 96.0, rotation: 0.3 };
        let mut raw = vec![0.0; NUM_LANDMARKS * 3];
        raw[0] = 96.0; // centre of the input
        raw[1] = 96.0;
        raw[3] = 0.0; // top-left corner
        raw[4] = 0.0;
        let lm = project(&raw, 0.0, &region);
        assert!((lm.score - 0.5).abs() < 1e-6);
        assert!(lm.points[0].dist(region.center) < 1e-3);
        assert!(lm.points[1].dist(region.to_frame(0.0, 0.0)) < 1e-3);
        // the top-left corner is half a diagonal from the centre
        assert!((lm.points[1].dist(region.center) - 96.0 / 2f32.sqrt()).abs() < 1e-3);
    }

    #[test]
    fn next_region_is_square_scaled_and_level_for_level_eyes() {
        let mut points = vec![Point::new(50.0, 50.0); NUM_LANDMARKS];
        points[0] = Point::new(0.0, 0.0);
        points[1] = Point::new(100.0, 80.0);
        points[EYE_RIGHT_OUTER] = Point::new(20.0, 30.0);
        points[EYE_LEFT_OUTER] = Point::new(80.0, 30.0);
        let lm = Landmarks { points, depths: Vec::new(), score: 1.0 };
        let r = lm.next_region();
        assert_eq!(r.rotation, 0.0);
        assert_eq!(r.center, Point::new(50.0, 40.0));
        assert_eq!(r.size, 150.0);
        assert_eq!(lm.eye_distance(), 60.0);
    }
}
