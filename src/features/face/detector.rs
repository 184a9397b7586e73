//! MediaPipe's short-range face detector (BlazeFace, 128x128): anchors, decoding and weighted
//! non-maximum suppression, as in `face_detection_short_range.pbtxt`.

use super::geometry::{warp_region, Border, GrayImage, PixelBox, Point, Region};

/// Model input side in pixels.
pub const DETECTOR_INPUT: usize = 128;
/// Anchors: 16x16 cells with 2 anchors (stride 8), then 8x8 cells with 6 (three stride-16
/// layers merged).
pub const NUM_ANCHORS: usize = 896;
/// Values per anchor: box (cx, cy, w, h) then 6 keypoints (x, y).
pub const VALUES_PER_ANCHOR: usize = 16;
pub const NUM_KEYPOINTS: usize = 6;
/// Raw logits are clipped to this before the sigmoid (MediaPipe's `score_clipping_thresh`).
const SCORE_CLIP: f32 = 100.0;
/// MediaPipe's `min_suppression_threshold` for the weighted NMS.
pub const NMS_IOU: f32 = 0.3;

/// One face found by the detector, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub score: f32,
    pub bbox: PixelBox,
    /// Right eye, left eye (subject's), nose tip, mouth centre, right ear, left ear.
    pub keypoints: [Point; NUM_KEYPOINTS],
}

impl Detection {
    /// The landmark model's input region: rotated by the eye line (keypoints 0 to 1), square,
    /// 1.5 times the box (`face_detection_front_detection_to_roi`).
    pub fn region(&self) -> Region {
        Region::from_box_and_eyes(
            &self.bbox,
            self.keypoints[0],
            self.keypoints[1],
            super::ROI_SCALE,
        )
    }
}

/// Anchor centres in model-input units (0..1); all anchors are 1x1 (`fixed_anchor_size`).
pub fn anchors() -> Vec<Point> {
    // (grid cells per side, anchors per cell) of the two output resolutions
    const LAYERS: [(usize, usize); 2] = [(16, 2), (8, 6)];
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    for (cells, per_cell) in LAYERS {
        for y in 0..cells {
            for x in 0..cells {
                let p =
                    Point::new((x as f32 + 0.5) / cells as f32, (y as f32 + 0.5) / cells as f32);
                out.extend(std::iter::repeat_n(p, per_cell));
            }
        }
    }
    out
}

/// The square that letterboxes the whole frame: the frame centred in a square of its longer
/// side, padded with black (`keep_aspect_ratio`, `BORDER_ZERO`).
pub fn letterbox(width: usize, height: usize) -> Region {
    Region {
        center: Point::new(width as f32 / 2.0, height as f32 / 2.0),
        size: width.max(height) as f32,
        rotation: 0.0,
    }
}

/// A frame at least this much longer than wide (or wider than long) is also searched in
/// squares of its shorter side: the short-range model misses faces below about a fifth of its
/// input.
const TILE_ASPECT: f32 = 1.25;
/// Overlap of neighbouring tiles, as a share of the tile side, so a face near a tile edge is
/// whole in the next tile.
const TILE_OVERLAP: f32 = 0.4;

/// Square regions for the usual detector search, coarse to fine: the letterboxed frame, then
/// squares of the shorter side along the longer one when the frame is far from square.
pub fn search_levels(width: usize, height: usize) -> Vec<Vec<Region>> {
    let (w, h) = (width as f32, height as f32);
    let short = w.min(h);
    let mut levels = vec![vec![letterbox(width, height)]];
    if w.max(h) > short * TILE_ASPECT {
        levels.push(tiles(w, h, short));
    }
    levels
}

/// Squares of half the frame's shorter side over the whole frame: the search for small faces
/// (composites, wide shots), about 20 detector passes on a 16:9 frame.
pub fn small_face_tiles(width: usize, height: usize) -> Vec<Region> {
    let (w, h) = (width as f32, height as f32);
    tiles(w, h, w.min(h) / 2.0)
}

/// Squares of `side` covering a `w` x `h` frame, overlapping by at least [`TILE_OVERLAP`].
fn tiles(w: f32, h: f32, side: f32) -> Vec<Region> {
    let centers = |len: f32| -> Vec<f32> {
        if len <= side {
            return vec![len / 2.0];
        }
        let n = ((len - side) / (side * (1.0 - TILE_OVERLAP))).ceil() as usize + 1;
        let step = (len - side) / (n - 1) as f32;
        (0..n).map(|i| side / 2.0 + step * i as f32).collect()
    };
    let xs = centers(w);
    centers(h)
        .into_iter()
        .flat_map(|y| {
            xs.iter().map(move |&x| Region { center: Point::new(x, y), size: side, rotation: 0.0 })
        })
        .collect()
}

/// Fills one input plane (values in [-1, 1]) from a square `region` of the frame (black outside
/// it); the model's three channels are this plane three times.
pub fn preprocess(img: &GrayImage, region: &Region, plane: &mut [f32]) {
    warp_region(img, region, DETECTOR_INPUT, Border::Zero, plane);
    for v in plane.iter_mut() {
        *v = *v / 127.5 - 1.0;
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Decodes the model's outputs for the input cut from `region` into detections above
/// `min_score`, in frame pixels, before NMS. `regressors` holds `NUM_ANCHORS * 16` values,
/// `scores` `NUM_ANCHORS` logits.
pub fn decode(
    regressors: &[f32],
    scores: &[f32],
    anchors: &[Point],
    region: &Region,
    min_score: f32,
) -> Vec<Detection> {
    assert_eq!(regressors.len(), NUM_ANCHORS * VALUES_PER_ANCHOR);
    assert_eq!(scores.len(), NUM_ANCHORS);
    let scale = DETECTOR_INPUT as f32;
    // model units (pixels of the 128 input) -> frame pixels, via the input region
    let to_frame = |a: Point, dx: f32, dy: f32| region.to_frame(a.x + dx / scale, a.y + dy / scale);
    let mut found = Vec::new();
    for (i, (&logit, &anchor)) in scores.iter().zip(anchors).enumerate() {
        let score = sigmoid(logit.clamp(-SCORE_CLIP, SCORE_CLIP));
        if score < min_score {
            continue;
        }
        let r = &regressors[i * VALUES_PER_ANCHOR..(i + 1) * VALUES_PER_ANCHOR];
        let (cx, cy, w, h) = (r[0], r[1], r[2], r[3]);
        let top_left = to_frame(anchor, cx - w / 2.0, cy - h / 2.0);
        let bottom_right = to_frame(anchor, cx + w / 2.0, cy + h / 2.0);
        let mut keypoints = [Point::default(); NUM_KEYPOINTS];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = to_frame(anchor, r[4 + 2 * k], r[5 + 2 * k]);
        }
        found.push(Detection {
            score,
            bbox: PixelBox {
                x_min: top_left.x,
                y_min: top_left.y,
                x_max: bottom_right.x,
                y_max: bottom_right.y,
            },
            keypoints,
        });
    }
    found
}

/// MediaPipe's weighted non-maximum suppression: the best remaining detection absorbs every
/// other one overlapping it by more than [`NMS_IOU`], and its box and keypoints become their
/// score-weighted mean; its score stays.
pub fn weighted_nms(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !dets.is_empty() {
        let top = dets[0].clone();
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) =
            dets.into_iter().partition(|d| d.bbox.iou(&top.bbox) > NMS_IOU || *d == top);
        dets = rest;
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mean = |f: &dyn Fn(&Detection) -> f32| {
            cluster.iter().map(|d| f(d) * d.score).sum::<f32>() / total
        };
        let mut merged = top.clone();
        merged.bbox = PixelBox {
            x_min: mean(&|d| d.bbox.x_min),
            y_min: mean(&|d| d.bbox.y_min),
            x_max: mean(&|d| d.bbox.x_max),
            y_max: mean(&|d| d.bbox.y_max),
        };
        for k in 0..NUM_KEYPOINTS {
            merged.keypoints[k] =
                Point::new(mean(&|d| d.keypoints[k].x), mean(&|d| d.keypoints[k].y));
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_grid_matches_mediapipe() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        // first layer: 2 anchors per cell of a 16x16 grid
        assert_eq!(a[0], Point::new(0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], Point::new(1.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[511], Point::new(15.5 / 16.0, 15.5 / 16.0));
        // second layer: 6 anchors per cell of an 8x8 grid
        assert_eq!(a[512], Point::new(0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[517], a[512]);
        assert_eq!(a[518], Point::new(1.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[895], Point::new(7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn letterbox_centres_the_frame() {
        let r = letterbox(1080, 1920);
        assert_eq!(r.size, 1920.0);
        // model-input x = 0 lies 420 px left of the frame
        assert_eq!(r.to_frame(0.0, 0.0), Point::new(-420.0, 0.0));
        assert_eq!(r.to_frame(1.0, 1.0), Point::new(1500.0, 1920.0));
    }

    #[test]
    fn search_levels_tile_tall_frames_and_small_faces() {
        // square frame: the letterbox only; small-face search in 3x3 half-side tiles
        assert_eq!(search_levels(512, 512).len(), 1);
        let small = small_face_tiles(512, 512);
        assert_eq!(small.len(), 9);
        assert_eq!(small[0].size, 256.0);
        assert_eq!(small[0].center, Point::new(128.0, 128.0));
        assert_eq!(small[8].center, Point::new(384.0, 384.0));
        // 1080x1920: three 1080 squares down the frame, first and last flush with its edges
        let tall = &search_levels(1080, 1920)[1];
        assert_eq!(tall.len(), 3);
        assert_eq!(tall[0].center, Point::new(540.0, 540.0));
        assert_eq!(tall[2].center, Point::new(540.0, 1380.0));
        // neighbours overlap by at least TILE_OVERLAP of the side
        let step = tall[1].center.y - tall[0].center.y;
        assert!(step <= 1080.0 * (1.0 - TILE_OVERLAP));
        // every row is in some tile
        for y in [0.0, 700.0, 1919.0] {
            assert!(tall.iter().any(|r| (r.center.y - y).abs() <= r.size / 2.0));
        }
    }

    /// One anchor with a known box offset decodes to the expected frame box and keypoints.
    #[test]
    fn decode_maps_offsets_through_anchor_and_letterbox() {
        let a = anchors();
        let mut reg = vec![0.0; NUM_ANCHORS * VALUES_PER_ANCHOR];
        let mut logits = vec![-10.0; NUM_ANCHORS];
        // anchor 600: second layer, cell index (600 - 512) / 6 = 14 -> x = 6, y = 1
        let i = 600;
        assert_eq!(a[i], Point::new(6.5 / 8.0, 1.5 / 8.0));
        logits[i] = 2.0;
        let r = &mut reg[i * 16..(i + 1) * 16];
        r[0] = 4.0; // centre 4 input pixels right of the anchor
        r[1] = -8.0;
        r[2] = 32.0;
        r[3] = 16.0;
        r[4] = 1.0; // keypoint 0
        r[5] = 2.0;
        // a 256x128 frame: letterbox square 256, the frame's top 64 px below the square's top
        let lb = letterbox(256, 128);
        let dets = decode(&reg, &logits, &a, &lb, 0.5);
        assert_eq!(dets.len(), 1);
        let d = &dets[0];
        assert!((d.score - sigmoid(2.0)).abs() < 1e-6);
        // input pixels -> frame pixels: x2, then y - 64
        let cx = (6.5 / 8.0 * 128.0 + 4.0) * 2.0;
        let cy = (1.5 / 8.0 * 128.0 - 8.0) * 2.0 - 64.0;
        assert!((d.bbox.center().x - cx).abs() < 1e-3);
        assert!((d.bbox.center().y - cy).abs() < 1e-3);
        assert!((d.bbox.width() - 64.0).abs() < 1e-3);
        assert!((d.bbox.height() - 32.0).abs() < 1e-3);
        assert!((d.keypoints[0].x - (6.5 / 8.0 * 128.0 + 1.0) * 2.0).abs() < 1e-3);
        assert!((d.keypoints[0].y - ((1.5 / 8.0 * 128.0 + 2.0) * 2.0 - 64.0)).abs() < 1e-3);
    }

    fn det(score: f32, x: f32) -> Detection {
        Detection {
            score,
            bbox: PixelBox { x_min: x, y_min: 0.0, x_max: x + 10.0, y_max: 10.0 },
            keypoints: [Point::new(x, 0.0); NUM_KEYPOINTS],
        }
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_the_rest() {
        let out = weighted_nms(vec![det(0.6, 2.0), det(0.9, 0.0), det(0.8, 50.0)]);
        assert_eq!(out.len(), 2);
        // the 0.9 box absorbed the 0.6 box 2 px away: x_min = (0.9*0 + 0.6*2) / 1.5
        assert_eq!(out[0].score, 0.9);
        assert!((out[0].bbox.x_min - 0.8).abs() < 1e-5);
        assert!((out[0].keypoints[3].x - 0.8).abs() < 1e-5);
        assert_eq!(out[1], det(0.8, 50.0));
    }
}
