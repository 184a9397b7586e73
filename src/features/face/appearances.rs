//! Each face's time on screen and how it is seen: what a lip-sync service's face identification
//! step (Kling's identify-face) would find in a video, for `avsync preflight`.

use super::pose::head_pose;
use super::tracker::{FrameFaces, TrackId};
use serde::{Deserialize, Serialize};

/// Most a head may be turned (yaw) and still count as facing the camera. MediaPipe's mesh, and
/// lip-sync models trained on frontal talking heads (HDTF, VoxCeleb crops), lose the far lip
/// corner beyond about this.
pub const MAX_FRONTAL_YAW_DEG: f64 = 30.0;
/// Most a head may be nodded up or down (pitch) and still count as facing the camera.
pub const MAX_FRONTAL_PITCH_DEG: f64 = 25.0;

/// One face (a tracker id) over the video.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceAppearance {
    pub track: TrackId,
    /// First and last frame it is seen in, in ms of presentation time.
    pub start_ms: f64,
    pub end_ms: f64,
    /// Share of all the video's frames it is seen in.
    pub seen_share: f64,
    /// Median height of its landmarks' box over the frame height.
    pub height_share: f64,
    /// Median yaw and pitch, degrees ([`crate::features::face::HeadPose`]).
    pub median_yaw_deg: f64,
    pub median_pitch_deg: f64,
    /// Share of its frames in which it faces the camera (within [`MAX_FRONTAL_YAW_DEG`] and
    /// [`MAX_FRONTAL_PITCH_DEG`]).
    pub frontal_share: f64,
}

impl FaceAppearance {
    /// How long it is on screen, first to last frame, in ms.
    pub fn span_ms(&self) -> f64 {
        self.end_ms - self.start_ms
    }
}

/// Collects [`FaceAppearance`]s frame by frame, keeping a few numbers per face and frame (the
/// landmarks are not kept). The tracker must keep landmarks (`TrackerConfig::keep_landmarks`)
/// for the pose.
#[derive(Debug)]
pub struct AppearanceCollector {
    frame_height_px: f64,
    frames: usize,
    faces: Vec<Seen>,
}

#[derive(Debug)]
struct Seen {
    track: TrackId,
    times_s: Vec<f64>,
    heights: Vec<f64>,
    yaws_deg: Vec<f64>,
    pitches_deg: Vec<f64>,
}

impl AppearanceCollector {
    pub fn new(frame_height_px: u32) -> Self {
        AppearanceCollector {
            frame_height_px: f64::from(frame_height_px.max(1)),
            frames: 0,
            faces: Vec::new(),
        }
    }

    pub fn push(&mut self, frame: &FrameFaces) {
        self.frames += 1;
        for face in &frame.faces {
            let seen = match self.faces.iter().position(|s| s.track == face.track) {
                Some(i) => &mut self.faces[i],
                None => {
                    self.faces.push(Seen {
                        track: face.track,
                        times_s: Vec::new(),
                        heights: Vec::new(),
                        yaws_deg: Vec::new(),
                        pitches_deg: Vec::new(),
                    });
                    self.faces.last_mut().expect("just pushed")
                }
            };
            seen.times_s.push(frame.time_s);
            seen.heights.push(f64::from(face.face_box.height()) / self.frame_height_px);
            if let Some(pose) = face.landmarks.as_ref().and_then(head_pose) {
                seen.yaws_deg.push(f64::from(pose.yaw_deg));
                seen.pitches_deg.push(f64::from(pose.pitch_deg));
            }
        }
    }

    /// The faces, most seen first.
    pub fn finish(self) -> Vec<FaceAppearance> {
        let frames = self.frames.max(1) as f64;
        let mut out: Vec<FaceAppearance> = self
            .faces
            .into_iter()
            .map(|mut seen| {
                let frontal = seen
                    .yaws_deg
                    .iter()
                    .zip(&seen.pitches_deg)
                    .filter(|(y, p)| {
                        y.abs() <= MAX_FRONTAL_YAW_DEG && p.abs() <= MAX_FRONTAL_PITCH_DEG
                    })
                    .count();
                let first = seen.times_s.iter().copied().fold(f64::INFINITY, f64::min);
                let last = seen.times_s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                FaceAppearance {
                    track: seen.track,
                    start_ms: first * 1000.0,
                    end_ms: last * 1000.0,
                    seen_share: seen.times_s.len() as f64 / frames,
                    height_share: median(&mut seen.heights),
                    median_yaw_deg: median(&mut seen.yaws_deg),
                    median_pitch_deg: median(&mut seen.pitches_deg),
                    frontal_share: frontal as f64 / seen.times_s.len() as f64,
                }
            })
            .collect();
        out.sort_by(|a, b| b.seen_share.total_cmp(&a.seen_share));
        out
    }
}

/// The median, NaN when empty.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::face::{FaceObservation, LipFeatures, PixelBox};

    fn face(track: TrackId, height_px: f32) -> FaceObservation {
        let lips = LipFeatures { eye_distance_px: 1.0, ..LipFeatures::default() };
        let face_box = PixelBox { x_min: 0.0, y_min: 0.0, x_max: height_px, y_max: height_px };
        FaceObservation { track, score: 1.0, lips, mouth_box: face_box, face_box, landmarks: None }
    }

    #[test]
    fn a_face_seen_for_part_of_the_video_gets_its_times_and_shares() {
        let mut collector = AppearanceCollector::new(400);
        for i in 0..100 {
            let time_s = f64::from(i) / 25.0;
            let mut faces = vec![face(0, 200.0)];
            if (25..75).contains(&i) {
                faces.push(face(1, 100.0));
            }
            collector.push(&FrameFaces { time_s, faces, detected: false });
        }
        let found = collector.finish();
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].track, found[0].seen_share, found[0].height_share), (0, 1.0, 0.5));
        let second = &found[1];
        assert_eq!((second.start_ms, second.end_ms, second.seen_share), (1000.0, 2960.0, 0.5));
        assert_eq!(second.height_share, 0.25);
        // no landmarks kept: no pose, so nothing counts as frontal
        assert!(second.median_yaw_deg.is_nan());
        assert_eq!(second.frontal_share, 0.0);
    }
}
