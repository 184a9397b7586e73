//! Detect, then track from landmarks; several faces at once, each with a stable id.

use rayon::prelude::*;

use super::geometry::{GrayImage, PixelBox, Region};
use super::landmarks::Landmarks;
use super::lips::{mouth_box, LipFeatures};
use super::models::{FaceModels, ModelRunner};
use super::FaceError;

/// Identifies one face across frames. Unique within one [`FaceTracker`] run, or across a whole
/// clip after [`TrackLinker`].
pub type TrackId = u32;

/// Tracking rules. The defaults follow MediaPipe's face mesh where it has a value.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Most faces tracked at once (side-by-side panels, composites).
    pub max_faces: usize,
    /// Detector score for a new face (MediaPipe `min_detection_confidence`).
    pub min_detection_score: f32,
    /// Landmark presence score below which a track is lost (MediaPipe `min_tracking_confidence`).
    pub min_presence_score: f32,
    /// Run the detector at least this often while tracking, to pick up new faces.
    pub redetect_interval_s: f64,
    /// Search for small faces (detector on tiles of half the frame's shorter side, about 20
    /// passes on a 16:9 frame) when the usual search finds none, at most this often.
    pub small_face_search_interval_s: f64,
    /// While faces are tracked, search for more small ones this often (composites), counted
    /// from the tracker's first frame; also after every cut.
    pub small_face_rescan_interval_s: f64,
    /// Mean absolute change of the frame thumbnail (0..255) that counts as a cut: all tracks
    /// end and the detector runs.
    pub cut_mean_abs_diff: f32,
    /// A region that moves by more than this many region sizes, or grows or shrinks by more
    /// than this ratio, between two frames means tracking slipped: the detector runs.
    pub max_region_jump: f32,
    /// Keep the 468 landmarks in each observation (tests, debugging); off, only the lip
    /// features are kept.
    pub keep_landmarks: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            max_faces: 4,
            min_detection_score: 0.5,
            min_presence_score: 0.5,
            redetect_interval_s: 0.5,
            small_face_search_interval_s: 2.0,
            small_face_rescan_interval_s: 10.0,
            cut_mean_abs_diff: 30.0,
            max_region_jump: 0.5,
            keep_landmarks: false,
        }
    }
}

/// A lost face is first looked for in a square this many times its last region, centred on
/// it: the face fills about a third of the detector's input, where the short-range model is
/// at its best.
const LOST_RESCAN_SCALE: f32 = 2.0;
/// Detections and tracks overlapping by more than this (region bounds) are the same face.
const SAME_FACE_IOU: f32 = 0.3;
/// Side of the thumbnail compared for cut detection.
const THUMB_SIDE: usize = 16;
/// Pixels sampled per thumbnail cell side.
const THUMB_SAMPLES: usize = 4;

/// One face in one frame.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FaceObservation {
    pub track: TrackId,
    /// Landmark model's face presence probability.
    pub score: f32,
    pub lips: LipFeatures,
    /// Outer lip contour's box in frame pixels.
    pub mouth_box: PixelBox,
    /// All landmarks' box in frame pixels.
    pub face_box: PixelBox,
    #[serde(skip)]
    pub landmarks: Option<Landmarks>,
}

/// The faces of one frame; an empty list marks a frame without a face.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FrameFaces {
    pub time_s: f64,
    pub faces: Vec<FaceObservation>,
    /// The detector ran on this frame.
    pub detected: bool,
}

struct Track {
    id: TrackId,
    region: Region,
}

/// Tracks faces through consecutive frames on one thread. Make one per thread from shared
/// [`FaceModels`]; call [`FaceTracker::reset`] before an unrelated run of frames.
pub struct FaceTracker {
    runner: ModelRunner,
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: TrackId,
    last_detection_s: Option<f64>,
    /// Last small-face search, or the first frame before any.
    last_small_search_s: Option<f64>,
    thumb: Option<Vec<f32>>,
}

impl FaceTracker {
    pub fn new(models: &FaceModels, config: TrackerConfig) -> Result<Self, FaceError> {
        Ok(FaceTracker {
            runner: models.runner()?,
            config,
            tracks: Vec::new(),
            next_id: 0,
            last_detection_s: None,
            last_small_search_s: None,
            thumb: None,
        })
    }

    /// Forgets all tracks and restarts ids at 0.
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.next_id = 0;
        self.last_detection_s = None;
        self.last_small_search_s = None;
        self.thumb = None;
    }

    /// Finds or follows the faces of the next frame, presented at `time_s`.
    pub fn process(&mut self, img: &GrayImage, time_s: f64) -> Result<FrameFaces, FaceError> {
        let thumb = thumbnail(img);
        let cut = self
            .thumb
            .as_ref()
            .is_some_and(|prev| mean_abs_diff(prev, &thumb) > self.config.cut_mean_abs_diff);
        self.thumb = Some(thumb);
        if cut {
            self.tracks.clear();
        }

        // a full search when nothing is tracked, and periodically for new faces while there
        // is room for them (MediaPipe skips detection once it tracks `max_num_faces`)
        let mut must_detect = self.tracks.is_empty()
            || (self.tracks.len() < self.config.max_faces
                && elapsed(self.last_detection_s, time_s) >= self.config.redetect_interval_s);

        // follow existing tracks from their predicted regions
        let mut found: Vec<(TrackId, Landmarks)> = Vec::new();
        // tracks that slipped this frame: a detection at the same place keeps their id
        let mut lost: Vec<Track> = Vec::new();
        for track in std::mem::take(&mut self.tracks) {
            let lm = self.runner.landmarks(img, &track.region)?;
            if lm.score < self.config.min_presence_score
                || jumped(&track.region, &lm.next_region(), self.config.max_region_jump)
            {
                lost.push(track);
            } else {
                found.push((track.id, lm));
            }
        }

        // a lost face is looked for where it was first; the whole frame only when that fails
        let mut dets = Vec::new();
        let mut detected = false;
        if !must_detect && !lost.is_empty() {
            detected = true;
            for track in &lost {
                let around = Region {
                    center: track.region.center,
                    size: track.region.size * LOST_RESCAN_SCALE,
                    rotation: 0.0,
                };
                dets.extend(self.runner.detect_around(
                    img,
                    &around,
                    self.config.min_detection_score,
                )?);
            }
            must_detect = dets.is_empty();
        }

        if must_detect {
            detected = true;
            self.last_detection_s = Some(time_s);
            dets = self.runner.detect(img, self.config.min_detection_score, false)?;
            let since_small = elapsed(self.last_small_search_s, time_s);
            let starved = found.is_empty()
                && dets.is_empty()
                && since_small >= self.config.small_face_search_interval_s;
            let rescan = self.last_small_search_s.is_some()
                && since_small >= self.config.small_face_rescan_interval_s;
            if cut || starved || rescan {
                self.runner.find_small_faces(img, self.config.min_detection_score, &mut dets)?;
                self.last_small_search_s = Some(time_s);
            }
            self.last_small_search_s.get_or_insert(time_s);
        }
        for det in dets {
            if found.len() >= self.config.max_faces {
                break;
            }
            let region = det.region();
            let bounds = region.bounds();
            if found.iter().any(|(_, lm)| lm.next_region().bounds().iou(&bounds) > SAME_FACE_IOU) {
                continue;
            }
            let lm = self.runner.landmarks(img, &region)?;
            if lm.score < self.config.min_presence_score {
                continue;
            }
            let id = match lost.iter().position(|t| t.region.bounds().iou(&bounds) > SAME_FACE_IOU)
            {
                Some(i) => lost.swap_remove(i).id,
                None => {
                    self.next_id += 1;
                    self.next_id - 1
                }
            };
            found.push((id, lm));
        }

        // two tracks that converged on one face: keep the older
        found.sort_by_key(|(id, _)| *id);
        let mut kept: Vec<(TrackId, Landmarks, Region)> = Vec::with_capacity(found.len());
        for (id, lm) in found {
            let region = lm.next_region();
            if kept.iter().all(|(_, _, r)| r.bounds().iou(&region.bounds()) <= SAME_FACE_IOU) {
                kept.push((id, lm, region));
            }
        }

        let mut faces = Vec::with_capacity(kept.len());
        for (id, lm, region) in kept {
            self.tracks.push(Track { id, region });
            faces.push(FaceObservation {
                track: id,
                score: lm.score,
                lips: LipFeatures::from_landmarks(&lm),
                mouth_box: mouth_box(&lm),
                face_box: lm.bbox(),
                landmarks: self.config.keep_landmarks.then_some(lm),
            });
        }
        Ok(FrameFaces { time_s, faces, detected })
    }
}

/// Seconds since `since`; infinite when it never happened.
fn elapsed(since: Option<f64>, now: f64) -> f64 {
    since.map_or(f64::INFINITY, |t| (now - t).abs())
}

/// The tracked region moved or changed size too much for one frame step.
fn jumped(prev: &Region, next: &Region, max_jump: f32) -> bool {
    let moved = prev.center.dist(next.center) / prev.size.max(1.0);
    let ratio = next.size / prev.size.max(1.0);
    moved > max_jump || ratio > 1.0 + max_jump || ratio < 1.0 / (1.0 + max_jump)
}

/// A coarse thumbnail (cell means over a sparse sample grid) for cut detection.
fn thumbnail(img: &GrayImage) -> Vec<f32> {
    let n = THUMB_SIDE * THUMB_SAMPLES;
    let data = img.data();
    let mut cells = vec![0.0f32; THUMB_SIDE * THUMB_SIDE];
    for sy in 0..n {
        let y = (sy * 2 + 1) * img.height() / (2 * n);
        let row = &data[y * img.stride()..];
        for sx in 0..n {
            let x = (sx * 2 + 1) * img.width() / (2 * n);
            cells[(sy / THUMB_SAMPLES) * THUMB_SIDE + sx / THUMB_SAMPLES] += f32::from(row[x]);
        }
    }
    let per_cell = (THUMB_SAMPLES * THUMB_SAMPLES) as f32;
    cells.iter_mut().for_each(|c| *c /= per_cell);
    cells
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

/// Joins the local track ids of consecutive, independently tracked chunks into ids that hold
/// across the clip. A track on the last frame of one chunk continues in the next chunk's track
/// whose face box on its first frame overlaps it best (IoU above [`LINK_IOU`]).
#[derive(Debug, Default)]
pub struct TrackLinker {
    next_id: TrackId,
    /// Global ids and face boxes on the last frame linked so far.
    tail: Vec<(TrackId, PixelBox)>,
}

/// Overlap of face boxes across a chunk boundary that continues a track.
pub const LINK_IOU: f32 = 0.3;

impl TrackLinker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rewrites the chunk's local ids into clip-wide ids, in place.
    pub fn link(&mut self, chunk: &mut [FrameFaces]) {
        let mut map: Vec<(TrackId, TrackId)> = Vec::new();
        if let Some(first) = chunk.first() {
            let mut pairs: Vec<(f32, TrackId, TrackId)> = Vec::new();
            for face in &first.faces {
                for (global, b) in &self.tail {
                    let iou = face.face_box.iou(b);
                    if iou > LINK_IOU {
                        pairs.push((iou, face.track, *global));
                    }
                }
            }
            pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (_, local, global) in pairs {
                if map.iter().all(|(l, g)| *l != local && *g != global) {
                    map.push((local, global));
                }
            }
        }
        for frame in chunk.iter_mut() {
            for face in &mut frame.faces {
                let global = match map.iter().find(|(l, _)| *l == face.track) {
                    Some((_, g)) => *g,
                    None => {
                        let g = self.next_id;
                        self.next_id += 1;
                        map.push((face.track, g));
                        g
                    }
                };
                face.track = global;
            }
        }
        if let Some(last) = chunk.last() {
            self.tail = last.faces.iter().map(|f| (f.track, f.face_box)).collect();
        }
    }
}

/// A decoded luma frame with its presentation time, as the media layer delivers it.
pub trait LumaFrame {
    fn luma(&self) -> GrayImage<'_>;
    fn time_s(&self) -> f64;
}

impl LumaFrame for crate::media::LumaFrame {
    fn luma(&self) -> GrayImage<'_> {
        let width = self.width as usize;
        GrayImage::new(&self.pixels, width, self.height as usize, width)
            .expect("frame buffer sized by the decoder")
    }

    fn time_s(&self) -> f64 {
        self.pts_s
    }
}

/// Tracks `frames` (consecutive, in presentation order) in chunks of `chunk_len` frames on the
/// rayon pool, then links the chunks' track ids. Each chunk starts with a detection, so a
/// chunk of about a second costs one extra detector pass per second.
pub fn track_frames_parallel<F: LumaFrame + Sync>(
    models: &FaceModels,
    config: &TrackerConfig,
    frames: &[F],
    chunk_len: usize,
    linker: &mut TrackLinker,
) -> Result<Vec<FrameFaces>, FaceError> {
    let chunks: Vec<Result<Vec<FrameFaces>, FaceError>> = frames
        .par_chunks(chunk_len.max(1))
        .map(|chunk| {
            let mut tracker = FaceTracker::new(models, config.clone())?;
            chunk.iter().map(|f| tracker.process(&f.luma(), f.time_s())).collect()
        })
        .collect();
    let mut out = Vec::with_capacity(frames.len());
    for chunk in chunks {
        let mut chunk = chunk?;
        linker.link(&mut chunk);
        out.extend(chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::face::geometry::Point;
    use crate::features::face::lips::LipFeatures;

    fn obs(track: TrackId, x: f32) -> FaceObservation {
        let b = PixelBox { x_min: x, y_min: 0.0, x_max: x + 100.0, y_max: 100.0 };
        FaceObservation {
            track,
            score: 1.0,
            lips: LipFeatures { eye_distance_px: 1.0, ..LipFeatures::default() },
            mouth_box: b,
            face_box: b,
            landmarks: None,
        }
    }

    fn frame(t: f64, faces: Vec<FaceObservation>) -> FrameFaces {
        FrameFaces { time_s: t, faces, detected: false }
    }

    #[test]
    fn linker_continues_overlapping_tracks_and_numbers_new_ones() {
        let mut linker = TrackLinker::new();
        // chunk 1: faces on the left (local 0) and right (local 1)
        let mut a = vec![
            frame(0.0, vec![obs(0, 0.0), obs(1, 500.0)]),
            frame(0.04, vec![obs(0, 2.0), obs(1, 500.0)]),
        ];
        linker.link(&mut a);
        assert_eq!(a[1].faces.iter().map(|f| f.track).collect::<Vec<_>>(), vec![0, 1]);
        // chunk 2 found them in the other order (right = local 0), plus a new face later
        let mut b = vec![
            frame(0.08, vec![obs(0, 505.0), obs(1, 4.0)]),
            frame(0.12, vec![obs(0, 505.0), obs(1, 4.0), obs(2, 1000.0)]),
        ];
        linker.link(&mut b);
        assert_eq!(b[0].faces.iter().map(|f| f.track).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(b[1].faces[2].track, 2);
        // chunk 3 starts with no face: everything after is new
        let mut c = vec![frame(0.16, vec![]), frame(0.2, vec![obs(0, 0.0)])];
        linker.link(&mut c);
        assert_eq!(c[1].faces[0].track, 3);
    }

    #[test]
    fn region_jumps() {
        let r = Region { center: Point::new(100.0, 100.0), size: 100.0, rotation: 0.0 };
        let moved = |dx: f32, size: f32| Region {
            center: Point::new(100.0 + dx, 100.0),
            size,
            rotation: 0.0,
        };
        assert!(!jumped(&r, &moved(10.0, 105.0), 0.5));
        assert!(jumped(&r, &moved(60.0, 100.0), 0.5));
        assert!(jumped(&r, &moved(0.0, 160.0), 0.5));
        assert!(jumped(&r, &moved(0.0, 60.0), 0.5));
    }

    #[test]
    fn thumbnail_sees_cuts_not_noise() {
        let (w, h) = (320usize, 180usize);
        let scene_a: Vec<u8> = (0..w * h).map(|i| ((i % w) * 255 / w) as u8).collect();
        let noisy: Vec<u8> =
            scene_a.iter().enumerate().map(|(i, &v)| v.saturating_add((i % 7) as u8)).collect();
        let scene_b: Vec<u8> = (0..w * h).map(|i| (255 - (i % w) * 255 / w) as u8).collect();
        let t = |d: &[u8]| thumbnail(&GrayImage::new(d, w, h, w).unwrap());
        let cut = TrackerConfig::default().cut_mean_abs_diff;
        assert!(mean_abs_diff(&t(&scene_a), &t(&noisy)) < cut);
        assert!(mean_abs_diff(&t(&scene_a), &t(&scene_b)) > cut);
    }
}
