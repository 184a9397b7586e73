//! Head pose (yaw and pitch) from the face mesh's 3-D points: is the face turned to the camera?
//!
//! The mesh's depth is on the scale of its x and y, so the angle of a line across the face
//! against the image plane is the head's rotation about the perpendicular axis: the line from
//! cheek to cheek gives the yaw, the line from forehead to chin the pitch. Both are measured in
//! the frame rotated by the eye line, so that a tilted (rolled) head reads as frontal.

use super::landmarks::{Landmarks, EYE_LEFT_OUTER, EYE_RIGHT_OUTER};

/// The cheek points at the face's outline (image left, image right for a frontal face).
const CHEEK_RIGHT: usize = 234;
const CHEEK_LEFT: usize = 454;
/// Top of the forehead and bottom of the chin on the face's midline.
const FOREHEAD: usize = 10;
const CHIN: usize = 152;

/// Rotation of the head away from facing the camera, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HeadPose {
    /// About the vertical axis: 0 facing the camera, ±90 in profile; positive when the
    /// subject's left cheek is farther from the camera than the right.
    pub yaw_deg: f32,
    /// About the horizontal axis: 0 level, positive when the chin is farther from the camera
    /// than the forehead (head tilted back).
    pub pitch_deg: f32,
}

/// The pose of `landmarks`; `None` without depths.
pub fn head_pose(landmarks: &Landmarks) -> Option<HeadPose> {
    let (points, depths) = (&landmarks.points, &landmarks.depths);
    if depths.len() != points.len() || points.len() <= CHEEK_LEFT {
        return None;
    }
    // the eye line's direction: x along it, y across it (downwards in the image)
    let (eye_r, eye_l) = (points[EYE_RIGHT_OUTER], points[EYE_LEFT_OUTER]);
    let roll = (eye_l.y - eye_r.y).atan2(eye_l.x - eye_r.x);
    let (sin, cos) = roll.sin_cos();
    let along = |a: usize, b: usize| {
        let (dx, dy) = (points[b].x - points[a].x, points[b].y - points[a].y);
        (dx * cos + dy * sin, -dx * sin + dy * cos, depths[b] - depths[a])
    };
    let (across, _, depth_across) = along(CHEEK_RIGHT, CHEEK_LEFT);
    let (_, down, depth_down) = along(FOREHEAD, CHIN);
    Some(HeadPose {
        yaw_deg: depth_across.atan2(across).to_degrees(),
        pitch_deg: depth_down.atan2(down).to_degrees(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::face::{Point, NUM_LANDMARKS};

    /// A face 200 px wide and 240 px tall whose mesh is flat except for the points used,
    /// turned by `yaw` and `pitch` (degrees) and rolled by `roll`, seen orthographically.
    fn turned(yaw: f32, pitch: f32, roll: f32) -> Landmarks {
        let mut head = vec![[0.0f32; 3]; NUM_LANDMARKS];
        head[CHEEK_RIGHT] = [-100.0, 0.0, 0.0];
        head[CHEEK_LEFT] = [100.0, 0.0, 0.0];
        head[FOREHEAD] = [0.0, -120.0, 0.0];
        head[CHIN] = [0.0, 120.0, 0.0];
        head[EYE_RIGHT_OUTER] = [-60.0, -30.0, 0.0];
        head[EYE_LEFT_OUTER] = [60.0, -30.0, 0.0];
        let (sy, cy) = yaw.to_radians().sin_cos();
        let (sp, cp) = pitch.to_radians().sin_cos();
        let (sr, cr) = roll.to_radians().sin_cos();
        let mut points = Vec::new();
        let mut depths = Vec::new();
        for [x, y, z] in head {
            // yaw about y, then pitch about x, then roll in the image plane
            let (x, z) = (x * cy - z * sy, x * sy + z * cy);
            let (y, z) = (y * cp - z * sp, y * sp + z * cp);
            let (x, y) = (x * cr - y * sr, x * sr + y * cr);
            points.push(Point::new(500.0 + x, 400.0 + y));
            depths.push(z);
        }
        Landmarks { points, depths, score: 1.0 }
    }

    #[test]
    fn yaw_and_pitch_are_recovered_whatever_the_roll() {
        for (yaw, pitch, roll) in
            [(0.0, 0.0, 0.0), (30.0, 0.0, 0.0), (-45.0, 10.0, 20.0), (10.0, -25.0, -15.0)]
        {
            let pose = head_pose(&turned(yaw, pitch, roll)).unwrap();
            // within 1.5°: a head both turned and nodded tilts its eye line a little, which
            // reads as roll
            assert!((pose.yaw_deg - yaw).abs() < 1.5, "{yaw} {pitch} {roll}: {pose:?}");
            assert!((pose.pitch_deg - pitch).abs() < 1.5, "{yaw} {pitch} {roll}: {pose:?}");
        }
    }

    #[test]
    fn no_depths_no_pose() {
        let mut flat = turned(0.0, 0.0, 0.0);
        flat.depths.clear();
        assert_eq!(head_pose(&flat), None);
    }
}
