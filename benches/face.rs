//! One detector pass and one landmark pass, each with its pre- and post-processing, on one
//! thread, on a synthetic 1280x720 frame (speed does not depend on the content).
//! cargo bench --bench face

use avsync::features::face::{FaceModels, GrayImage, Point, Region};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let models = FaceModels::load().expect("models");
    let mut runner = models.runner().expect("runner");
    let (w, h) = (1280usize, 720usize);
    let data: Vec<u8> = (0..w * h).map(|i| ((i % w) ^ (i / w)) as u8).collect();
    let img = GrayImage::new(&data, w, h, w).unwrap();
    // the whole frame letterboxed into the detector's 128x128 input
    let letterbox = Region { center: Point::new(640.0, 360.0), size: 1280.0, rotation: 0.0 };
    // a rotated face region for the landmark model's 192x192 input
    let face = Region { center: Point::new(640.0, 360.0), size: 400.0, rotation: 0.1 };

    c.bench_function("face detector pass (letterbox -> 128, model, decode)", |b| {
        b.iter(|| runner.detect_in(std::hint::black_box(&img), &letterbox, 0.5).unwrap())
    });
    c.bench_function("face landmark pass (crop -> 192, model, project)", |b| {
        b.iter(|| runner.landmarks(std::hint::black_box(&img), &face).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(200);
    targets = bench
}
criterion_main!(benches);
