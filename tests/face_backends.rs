//! The two face-model backends give the same lips: LiteRT (the `.tflite` models as MediaPipe
//! ships them, XNNPACK) against tract (the ONNX conversion), frame by frame, on the still face
//! of the talking sample moved about a canvas and, when `../shared/corpus` is there, on the
//! first seconds of a corpus clip. Skips, saying why, when LiteRT is not installed, unless
//! `AVSYNC_REQUIRE_LITERT` is set (CI sets it: `scripts/install-deps.sh` installs it).

use std::path::Path;

use avsync::features::face::{Backend, FaceModels, FaceTracker, FrameFaces, GrayImage, LumaFrame};

mod support;
use support::luma_frames::DecodedFrames;

/// Largest difference allowed in a lip gap (inner and outer, in eye distances) and in the outer
/// lip area (squared eye distances): well under the frame-to-frame noise of the landmarks
/// (an SD of 0.015-0.038 eye distances on the corpus, tools/models/README.md).
const MAX_LIP_DIFF: f32 = 0.01;

fn litert() -> Option<FaceModels> {
    match FaceModels::load_backend(Backend::LiteRt) {
        Ok(models) => Some(models),
        Err(e) if std::env::var_os("AVSYNC_REQUIRE_LITERT").is_none() => {
            eprintln!("SKIPPED: LiteRT does not load ({e}); scripts/install-deps.sh installs it");
            None
        }
        Err(e) => panic!("AVSYNC_REQUIRE_LITERT is set but LiteRT does not load: {e}"),
    }
}

/// Runs one tracker over the frames (luma, width, height, time).
fn track(models: &FaceModels, frames: &[(Vec<u8>, usize, usize, f64)]) -> Vec<FrameFaces> {
    let mut tracker = FaceTracker::new(models, Default::default()).unwrap();
    frames
        .iter()
        .map(|(px, w, h, t)| tracker.process(&GrayImage::new(px, *w, *h, *w).unwrap(), *t).unwrap())
        .collect()
}

/// The largest lip difference between the two runs; panics when they do not see the same
/// faces.
fn worst_lip_difference(a: &[FrameFaces], b: &[FrameFaces]) -> f32 {
    let mut worst = 0.0f32;
    for (fa, fb) in a.iter().zip(b) {
        assert_eq!(fa.faces.len(), fb.faces.len(), "faces at {:.2} s", fa.time_s);
        for (x, y) in fa.faces.iter().zip(&fb.faces) {
            let (l, m) = (&x.lips, &y.lips);
            for d in
                [l.inner_gap - m.inner_gap, l.outer_gap - m.outer_gap, l.outer_area - m.outer_area]
            {
                worst = worst.max(d.abs());
            }
        }
    }
    worst
}

/// The sample's still face (320x320) pasted into a 480x400 grey canvas, moving 2 px right and
/// 1 px down a frame, 25 frames a second.
fn moving_still() -> Vec<(Vec<u8>, usize, usize, f64)> {
    let face =
        image::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/face/astronaut.png"))
            .unwrap()
            .to_luma8();
    let (w, h) = (480usize, 400usize);
    (0..30)
        .map(|i| {
            let mut canvas = vec![128u8; w * h];
            let (x0, y0) = (40 + 2 * i, 20 + i);
            for (y, row) in face.rows().enumerate() {
                for (x, p) in row.enumerate() {
                    canvas[(y0 + y) * w + x0 + x] = p.0[0];
                }
            }
            (canvas, w, h, i as f64 / 25.0)
        })
        .collect()
}

#[test]
fn litert_and_tract_measure_the_same_lips() {
    let Some(fast) = litert() else { return };
    let tract = FaceModels::load_backend(Backend::Tract).unwrap();
    let mut clips = vec![("moving still", moving_still())];
    let corpus_clip =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/media/aoc-hdtf.mp4");
    if corpus_clip.exists() {
        let frames = DecodedFrames::open(&corpus_clip, None)
            .take(75)
            .map(|f| {
                let f = f.unwrap();
                let img = f.luma();
                (img.data().to_vec(), img.width(), img.height(), f.time_s())
            })
            .collect();
        clips.push(("aoc-hdtf, 75 frames", frames));
    } else {
        eprintln!("no corpus clip at {}: the moving still only", corpus_clip.display());
    }
    for (name, frames) in clips {
        let a = track(&fast, &frames);
        let b = track(&tract, &frames);
        let seen = a.iter().filter(|f| !f.faces.is_empty()).count();
        assert!(
            seen * 10 >= frames.len() * 9,
            "{name}: a face in only {seen} of {} frames",
            frames.len()
        );
        let worst = worst_lip_difference(&a, &b);
        eprintln!(
            "{name}: largest lip difference LiteRT - tract {worst:.4} over {} frames",
            frames.len()
        );
        assert!(worst <= MAX_LIP_DIFF, "{name}: lips differ by {worst} (at most {MAX_LIP_DIFF})");
    }
}
