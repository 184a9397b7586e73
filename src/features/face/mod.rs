//! Lip geometry per video frame from MediaPipe's face detector and 468-point face landmark
//! model, embedded in the binary and run on the CPU by LiteRT (XNNPACK, loaded at run time
//! when installed) or tract (pure Rust, always there): see [`models`](FaceModels).
//!
//! Pipeline per frame (see `research/content-baselines.md`, section 2):
//! 1. detect faces (128x128 input: the letterboxed frame, plus squares of its shorter side when
//!    it is far from square, plus half-size tiles when small faces are looked for) when there is
//!    nothing to track, after a cut, and every [`TrackerConfig::redetect_interval_s`] while
//!    fewer than [`TrackerConfig::max_faces`] are tracked; a face whose track is lost is first
//!    looked for in one square around its last place;
//! 2. for each tracked face, cut a rotated square region (192x192) around it, run the landmark
//!    model, and build the next frame's region from the landmarks;
//! 3. turn the lip points into [`LipFeatures`] normalised by the eye distance.
//!
//! Input frames are 8-bit luma planes ([`GrayImage`]) at any size: a model's input is sampled
//! (bilinear, as MediaPipe does) from the region it looks at; the whole frame is never scaled.
//! The models take RGB, so the plane is replicated to three channels.
//!
//! Threads: [`FaceModels`] is shared; each thread makes a [`FaceTracker`]. `avsync check` runs
//! one tracker per clip, overlapped with decoding. Independent chunks of a clip can also be
//! tracked in parallel and their track ids joined afterwards by [`TrackLinker`];
//! [`track_frames_parallel`] does both.

mod appearances;
mod detector;
mod geometry;
mod landmarks;
mod lips;
mod litert;
mod models;
mod pose;
mod series;
mod tracker;

pub use appearances::{
    AppearanceCollector, FaceAppearance, MAX_FRONTAL_PITCH_DEG, MAX_FRONTAL_YAW_DEG,
};
pub use detector::{Detection, DETECTOR_INPUT};
pub use geometry::{GrayImage, PixelBox, Point, Region};
pub use landmarks::{Landmarks, EYE_LEFT_OUTER, EYE_RIGHT_OUTER, LANDMARK_INPUT, NUM_LANDMARKS};
pub use lips::{mouth_box, LipFeatures};
pub use litert::{DEFAULT_LIBRARY as LITERT_DEFAULT_LIBRARY, LIBRARY_ENV as LITERT_LIBRARY_ENV};
pub use models::{Backend, FaceModels, ModelRunner, BACKEND_ENV};
pub use pose::{head_pose, HeadPose};
pub use series::{LipSample, LipSeries, LipTrack, MouthView};
pub use tracker::{
    track_frames_parallel, FaceObservation, FaceTracker, FrameFaces, LumaFrame, TrackId,
    TrackLinker, TrackerConfig,
};

/// Face regions are the face box (detector box or landmark box) made square and scaled by
/// this, as in MediaPipe's face mesh.
pub const ROI_SCALE: f32 = 1.5;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FaceError {
    #[error("{model} model: {message}")]
    Model { model: &'static str, message: String },
    #[error("bad image buffer: {width}x{height}, row stride {stride}, {len} bytes")]
    BadImage { width: usize, height: usize, stride: usize, len: usize },
}
