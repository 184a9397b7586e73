//! The two face models, embedded in the binary, loaded once and shared by threads, on one of
//! two backends: LiteRT (the `.tflite` files MediaPipe ships, run by XNNPACK from a library
//! loaded at run time, see [`super::litert`]) or tract (the same models converted to ONNX, pure
//! Rust). `AVSYNC_FACE_BACKEND` picks one: `auto` (the default: LiteRT when its library
//! loads, else tract), `litert` or `tract`.

use std::sync::{Arc, OnceLock};

use tract_onnx::prelude::*;

use super::detector::{self, Detection, DETECTOR_INPUT, NUM_ANCHORS, VALUES_PER_ANCHOR};
use super::geometry::{GrayImage, Point, Region};
use super::landmarks::{self, Landmarks, LANDMARK_INPUT, NUM_LANDMARKS};
use super::litert;
use super::FaceError;

/// MediaPipe short-range face detector, converted by `tools/models/build_models.py`.
static DETECTOR_ONNX: &[u8] = include_bytes!("../../../models/face_detection_short_range.onnx");
/// MediaPipe 468-point face landmark model, converted the same way.
static LANDMARK_ONNX: &[u8] = include_bytes!("../../../models/face_landmark.onnx");
/// The same two models as MediaPipe ships them, for LiteRT.
static DETECTOR_TFLITE: &[u8] = include_bytes!("../../../models/face_detection_short_range.tflite");
static LANDMARK_TFLITE: &[u8] = include_bytes!("../../../models/face_landmark.tflite");

/// Environment variable that picks the backend.
pub const BACKEND_ENV: &str = "AVSYNC_FACE_BACKEND";

type Plan = TypedSimplePlan;
type State = TypedSimpleState;

/// What runs the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// LiteRT with XNNPACK, loaded at run time; about 3.5 times tract's speed.
    LiteRt,
    /// tract, pure Rust, always there.
    Tract,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::LiteRt => "LiteRT",
            Backend::Tract => "tract",
        })
    }
}

/// The shared, loaded form of each backend.
#[derive(Clone)]
enum Engines {
    LiteRt(Arc<litert::Api>),
    Tract { detector: Arc<Plan>, landmarker: Arc<Plan> },
}

/// The loaded models. Cloning is cheap (`Arc`s); every thread makes its own [`ModelRunner`]
/// from them.
#[derive(Clone)]
pub struct FaceModels {
    engines: Engines,
    anchors: Arc<Vec<Point>>,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaceModels({})", self.backend())
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
    /// The backend [`BACKEND_ENV`] asks for: `auto` (or unset) tries LiteRT, then tract; an
    /// explicit `litert` fails when its library does not load. Tract parses and optimises
    /// both models (a few hundred milliseconds).
    pub fn load() -> Result<Self, FaceError> {
        let choice = std::env::var(BACKEND_ENV).unwrap_or_default();
        match choice.to_ascii_lowercase().as_str() {
            "" | "auto" => {
                Self::load_backend(Backend::LiteRt).or_else(|_| Self::load_backend(Backend::Tract))
            }
            "litert" => Self::load_backend(Backend::LiteRt),
            "tract" => Self::load_backend(Backend::Tract),
            other => Err(FaceError::Model {
                model: "face models",
                message: format!("{BACKEND_ENV}={other}: expected auto, litert or tract"),
            }),
        }
    }

    /// The models on `backend`. LiteRT is checked by compiling both models once, so a
    /// library that loads but cannot run them is refused here, not on the first frame.
    pub fn load_backend(backend: Backend) -> Result<Self, FaceError> {
        let engines = match backend {
            Backend::LiteRt => {
                let api = litert::Api::load(&litert::Api::library_path())?;
                litert::Network::new(&api, DETECTOR_TFLITE, "face detector")?;
                litert::Network::new(&api, LANDMARK_TFLITE, "face landmarks")?;
                Engines::LiteRt(api)
            }
            Backend::Tract => Engines::Tract {
                detector: load_plan(DETECTOR_ONNX, "face detector")?,
                landmarker: load_plan(LANDMARK_ONNX, "face landmarks")?,
            },
        };
        Ok(FaceModels { engines, anchors: Arc::new(detector::anchors()) })
    }

    /// The models of this process, loaded on first use.
    pub fn shared() -> Result<Self, FaceError> {
        static SHARED: OnceLock<Result<FaceModels, FaceError>> = OnceLock::new();
        SHARED.get_or_init(FaceModels::load).clone()
    }

    pub fn backend(&self) -> Backend {
        match self.engines {
            Engines::LiteRt(_) => Backend::LiteRt,
            Engines::Tract { .. } => Backend::Tract,
        }
    }

    /// Per-thread execution state with its own input and output buffers.
    pub fn runner(&self) -> Result<ModelRunner, FaceError> {
        let (detector, landmarker) = match &self.engines {
            Engines::LiteRt(api) => (
                Net::LiteRt(litert::Network::new(api, DETECTOR_TFLITE, "face detector")?),
                Net::LiteRt(litert::Network::new(api, LANDMARK_TFLITE, "face landmarks")?),
            ),
            Engines::Tract { detector, landmarker } => {
                let spawn = |plan: &Arc<Plan>, what| {
                    plan.spawn()
                        .map_err(|e| FaceError::Model { model: what, message: format!("{e:#}") })
                };
                (
                    Net::Tract(spawn(detector, "face detector")?),
                    Net::Tract(spawn(landmarker, "face landmarks")?),
                )
            }
        };
        Ok(ModelRunner {
            detector,
            landmarker,
            anchors: Arc::clone(&self.anchors),
            plane: vec![0.0; LANDMARK_INPUT * LANDMARK_INPUT],
            tract_input: Vec::new(),
            outputs: [Vec::new(), Vec::new()],
        })
    }
}

fn floats(v: &TValue) -> TractResult<&[f32]> {
    v.try_as_plain_ram()?.as_slice::<f32>()
}

/// One model on one thread.
enum Net {
    LiteRt(litert::Network),
    Tract(State),
}

impl Net {
    /// Runs the model on the grey `n` x `n` `plane` (the models take RGB: the plane is
    /// replicated to three channels) and copies its two outputs, `lens` values each, in that
    /// order, into `outputs`. `scratch` holds tract's NCHW input.
    fn run(
        &mut self,
        plane: &[f32],
        lens: [usize; 2],
        outputs: &mut [Vec<f32>; 2],
        scratch: &mut Vec<f32>,
        what: &'static str,
    ) -> Result<(), FaceError> {
        let err = move |e: TractError| FaceError::Model { model: what, message: format!("{e:#}") };
        match self {
            Net::LiteRt(net) => {
                // NHWC: each grey value three times
                let input = net.input_mut()?;
                for (rgb, &v) in input.chunks_exact_mut(3).zip(plane) {
                    rgb.fill(v);
                }
                net.run()?;
                for (out, len) in outputs.iter_mut().zip(lens) {
                    out.clear();
                    out.extend_from_slice(net.output(len)?);
                }
            }
            Net::Tract(state) => {
                // NCHW: the plane three times
                let n = (plane.len() as f64).sqrt() as usize;
                scratch.clear();
                for _ in 0..3 {
                    scratch.extend_from_slice(plane);
                }
                let input = Tensor::from_shape(&[1, 3, n, n], scratch.as_slice())
                    .map_err(err)?
                    .into_tvalue();
                let out = state.run(tvec![input]).map_err(err)?;
                for ((dst, value), len) in outputs.iter_mut().zip(out.iter()).zip(lens) {
                    let values = floats(value).map_err(err)?;
                    if values.len() != len {
                        return Err(FaceError::Model {
                            model: what,
                            message: format!(
                                "an output of {} values, expected {len}",
                                values.len()
                            ),
                        });
                    }
                    dst.clear();
                    dst.extend_from_slice(values);
                }
            }
        }
        Ok(())
    }
}

/// Runs the two models on one thread: one detector pass over a whole frame, or one landmark
/// pass over a face region.
pub struct ModelRunner {
    detector: Net,
    landmarker: Net,
    anchors: Arc<Vec<Point>>,
    /// One grey input plane, sized for the larger model.
    plane: Vec<f32>,
    tract_input: Vec<f32>,
    outputs: [Vec<f32>; 2],
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
        let plane = &mut self.plane[..DETECTOR_INPUT * DETECTOR_INPUT];
        detector::preprocess(img, region, plane);
        self.detector.run(
            plane,
            [NUM_ANCHORS * VALUES_PER_ANCHOR, NUM_ANCHORS],
            &mut self.outputs,
            &mut self.tract_input,
            "face detector",
        )?;
        let [regressors, scores] = &self.outputs;
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

    /// Faces in one square `region` (where a tracked face was lost), merged by weighted
    /// non-maximum suppression: one detector pass instead of a search of the whole frame.
    pub fn detect_around(
        &mut self,
        img: &GrayImage,
        region: &Region,
        min_score: f32,
    ) -> Result<Vec<Detection>, FaceError> {
        Ok(detector::weighted_nms(self.detect_in(img, region, min_score)?))
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
        landmarks::preprocess(img, region, &mut self.plane);
        self.landmarker.run(
            &self.plane,
            [NUM_LANDMARKS * 3, 1],
            &mut self.outputs,
            &mut self.tract_input,
            "face landmarks",
        )?;
        let [raw, score] = &self.outputs;
        Ok(landmarks::project(raw, score[0], region))
    }
}
