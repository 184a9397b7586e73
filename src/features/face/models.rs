//! The two ONNX models, embedded in the binary, loaded and optimised once, shared by threads.

use std::sync::{Arc, OnceLock};

use tract_onnx::prelude::*;

use super::detector::{self, Detection, DETECTOR_INPUT, NUM_ANCHORS, VALUES_PER_ANCHOR};
use super::geometry::{GrayImage, Point, Region};
use super::landmarks::{self, Landmarks, LANDMARK_INPUT, NUM_LANDMARKS};
use super::FaceError;

/// MediaPipe short-range face detector, converted by `tools/models/build_models.py`.
static DETECTOR_ONNX: &[u8] = include_bytes!("../../../models/face_detection_short_range.onnx");
/// MediaPipe 468-point face landmark model, converted the same way.
static LANDMARK_ONNX: &[u8] = include_bytes!("../../../models/face_landmark.onnx");

type Plan = TypedSimplePlan;
type State = TypedSimpleState;

/// The optimised models. Cloning is cheap (two `Arc`s); every thread makes its own
/// [`ModelRunner`] from them.
#[derive(Clone)]
pub struct FaceModels {
    detector: Arc<Plan>,
    landmarker: Arc<Plan>,
    anchors: Arc<Vec<Point>>,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceModels")
    }
}

fn load_plan(bytes: &[u8], what: &'static str) -> Result<Arc<Plan>, FaceError> {
    let err = |e: TractError| FaceError::Model { model: what, message: format!("{e:#}") };
    tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(err)
}

impl FaceModels {
    /// Parses and optimises both models (a few hundred milliseconds). Prefer [`FaceModels::shared`].
    pub fn load() -> Result<Self, FaceError> {
        Ok(FaceModels {
            detector: load_plan(DETECTOR_ONNX, "face detector")?,
            landmarker: load_plan(LANDMARK_ONNX, "face landmarks")?,
            anchors: Arc::new(detector::anchors()),
        })
    }

    /// The models of this process, loaded on first use.
    pub fn shared() -> Result<Self, FaceError> {
        static SHARED: OnceLock<Result<FaceModels, FaceError>> = OnceLock::new();
        SHARED.get_or_init(FaceModels::load).clone()
    }

    /// Per-thread execution state with its own input and output buffers.
    pub fn runner(&self) -> Result<ModelRunner, FaceError> {
        let spawn = |plan: &Arc<Plan>, what| {
            plan.spawn().map_err(|e| FaceError::Model { model: what, message: format!("{e:#}") })
        };
        Ok(ModelRunner {
            detector: spawn(&self.detector, "face detector")?,
            landmarker: spawn(&self.landmarker, "face landmarks")?,
            anchors: Arc::clone(&self.anchors),
            det_input: vec![0.0; 3 * DETECTOR_INPUT * DETECTOR_INPUT],
            lm_input: vec![0.0; 3 * LANDMARK_INPUT * LANDMARK_INPUT],
        })
    }
}

/// Runs the two models on one thread: one detector pass over a whole frame, or one landmark
/// pass over a face region.
pub struct ModelRunner {
    detector: State,
    landmarker: State,
    anchors: Arc<Vec<Point>>,
    det_input: Vec<f32>,
    lm_input: Vec<f32>,
}

/// Fills plane 0 of an NCHW [1, 3, n, n] buffer with `fill`, copies it to planes 1 and 2 (grey
/// replicated as RGB), and makes the model input.
fn gray_as_rgb_input(
    data: &mut [f32],
    n: usize,
    fill: impl FnOnce(&mut [f32]),
) -> TractResult<TValue> {
    let plane = n * n;
    let (first, rest) = data.split_at_mut(plane);
    fill(first);
    rest[..plane].copy_from_slice(first);
    rest[plane..].copy_from_slice(first);
    Ok(Tensor::from_shape(&[1, 3, n, n], data)?.into_tvalue())
}

fn run_err(what: &'static str) -> impl Fn(TractError) -> FaceError {
    move |e| FaceError::Model { model: what, message: format!("{e:#}") }
}

fn floats(v: &TValue) -> TractResult<&[f32]> {
    v.try_as_plain_ram()?.as_slice::<f32>()
}

impl ModelRunner {
    /// Faces in the square `region` of the frame with detector score at least `min_score`,
    /// before non-maximum suppression.
    pub fn detect_in(
        &mut self,
        img: &GrayImage,
        region: &Region,
        min_score: f32,
    ) -> Result<Vec<Detection>, FaceError> {
        let err = run_err("face detector");
        let input = gray_as_rgb_input(&mut self.det_input, DETECTOR_INPUT, |p| {
            detector::preprocess(img, region, p)
        })
        .map_err(&err)?;
        let out = self.detector.run(tvec![input]).map_err(&err)?;
        let regressors = floats(&out[0]).map_err(&err)?;
        let scores = floats(&out[1]).map_err(&err)?;
        debug_assert_eq!(regressors.len(), NUM_ANCHORS * VALUES_PER_ANCHOR);
        Ok(detector::decode(regressors, scores, &self.anchors, region, min_score))
    }

    /// Faces in the frame: the detector on each level of [`detector::search_levels`], coarse
    /// to fine, then with `small_faces` on [`detector::small_face_tiles`] (several times the
    /// cost). Detections are merged by weighted non-maximum suppression within a level; a finer
    /// level only adds faces the coarser ones missed, so a face seen whole keeps MediaPipe's box.
    pub fn detect(
        &mut self,
        img: &GrayImage,
        min_score: f32,
        small_faces: bool,
    ) -> Result<Vec<Detection>, FaceError> {
        let mut found = Vec::new();
        for level in detector::search_levels(img.width(), img.height()) {
            self.add_faces(img, &level, min_score, &mut found)?;
        }
        if small_faces {
            self.find_small_faces(img, min_score, &mut found)?;
        }
        Ok(found)
    }

    /// Adds to `found` the faces that [`detector::small_face_tiles`] finds and it lacks.
    pub fn find_small_faces(
        &mut self,
        img: &GrayImage,
        min_score: f32,
        found: &mut Vec<Detection>,
    ) -> Result<(), FaceError> {
        let tiles = detector::small_face_tiles(img.width(), img.height());
        self.add_faces(img, &tiles, min_score, found)
    }

    fn add_faces(
        &mut self,
        img: &GrayImage,
        regions: &[Region],
        min_score: f32,
        found: &mut Vec<Detection>,
    ) -> Result<(), FaceError> {
        let mut dets = Vec::new();
        for region in regions {
            dets.extend(self.detect_in(img, region, min_score)?);
        }
        for det in detector::weighted_nms(dets) {
            if found.iter().all(|f| f.bbox.iou(&det.bbox) <= detector::NMS_IOU) {
                found.push(det);
            }
        }
        Ok(())
    }

    /// The 468 landmarks of the face in `region`, in frame pixels, with the presence score.
    pub fn landmarks(&mut self, img: &GrayImage, region: &Region) -> Result<Landmarks, FaceError> {
        let err = run_err("face landmarks");
        let input = gray_as_rgb_input(&mut self.lm_input, LANDMARK_INPUT, |p| {
            landmarks::preprocess(img, region, p)
        })
        .map_err(&err)?;
        let out = self.landmarker.run(tvec![input]).map_err(&err)?;
        let raw = floats(&out[0]).map_err(&err)?;
        let score = floats(&out[1]).map_err(&err)?;
        debug_assert_eq!(raw.len(), NUM_LANDMARKS * 3);
        Ok(landmarks::project(raw, score[0], region))
    }
}
