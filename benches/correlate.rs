//! The content-mode correlation core: one masked normalised cross-correlation over ±500 ms at
//! 100 Hz (a 60 s clip and an 8 s window), and a whole content estimate (whole clip with its
//! 24-track null and the windows) on 60 s of synthetic speech features and lips; and the
//! reference alignment of `compare` (coarse, fine and edge passes) on a 12 s output at 48 kHz.
//! cargo bench --bench correlate

use avsync::correlate::Correlator;
use avsync::estimate::content::{estimate, ContentOptions};
use avsync::estimate::reference::{align_audio, AudioAlignOptions};
use avsync::features::audio::AudioFeatures;
use avsync::features::face::{LipSample, LipSeries};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

/// A speech-like envelope: syllables at about 4–5 Hz with pauses.
fn envelope(n: usize, rate: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            let syllables = (2.0 * std::f64::consts::PI * 4.3 * t).sin().max(0.0);
            let phrases = ((2.0 * std::f64::consts::PI * 0.23 * t).sin() + 0.3).max(0.0);
            syllables * phrases
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rate = 100.0;
    let max_lag = 50;
    let mut correlator = Correlator::new();
    for (label, seconds) in [("60 s clip", 60.0), ("8 s window", 8.0)] {
        let n = (seconds * rate) as usize;
        let a = envelope(n, rate);
        let b: Vec<f64> = a.iter().skip(5).chain(std::iter::repeat_n(&0.0, 5)).copied().collect();
        let (mask_a, mask_b) = (vec![1.0; n], vec![1.0; n]);
        c.bench_function(&format!("masked NCC ±500 ms at 100 Hz, {label}"), |bench| {
            bench.iter(|| {
                correlator.normalized_masked(
                    black_box(&a),
                    &mask_a,
                    black_box(&b),
                    &mask_b,
                    max_lag,
                )
            })
        });
    }

    // 60 s of 16 kHz "speech": noise shaped by the envelope; lips following it 60 ms ahead.
    let sample_rate = 16_000u32;
    let env = envelope(60 * sample_rate as usize, f64::from(sample_rate));
    let samples = shaped_noise(&env);
    let audio = AudioFeatures::of_samples(sample_rate, 0.0, &samples);
    let times: Vec<f64> = (0..1500).map(|i| i as f64 / 25.0).collect();
    let openings = times
        .iter()
        .map(|t| {
            let i = (((t + 0.06) * f64::from(sample_rate)) as usize).min(env.len() - 1);
            Some(LipSample::with_opening(env[i]))
        })
        .collect();
    let lips = LipSeries::single_face(times, openings);
    let options = ContentOptions::default();
    c.bench_function("speech features of 60 s at 16 kHz", |bench| {
        bench.iter(|| AudioFeatures::of_samples(sample_rate, 0.0, black_box(&samples)))
    });
    c.bench_function("content estimate, 60 s (whole clip, null, windows)", |bench| {
        bench.iter(|| estimate(black_box(&audio), black_box(&lips), &options))
    });

    // compare's alignment: a 10 s reference found 40 ms early in a 12 s output, both at 48 kHz
    // (`compare`'s usual pair, as in benches/compare_vs_syncstart.sh).
    let rate = 48_000usize;
    let reference = shaped_noise(&envelope(10 * rate, rate as f64));
    let early = rate * 40 / 1000;
    let mut output = reference[early..].to_vec();
    output.resize(12 * rate, 0.0);
    let options = AudioAlignOptions::default();
    c.bench_function("compare alignment, 12 s output against 10 s reference at 48 kHz", |b| {
        b.iter(|| align_audio(black_box(&output), black_box(&reference), rate as u32, &options))
    });
}

/// Uniform noise shaped by `envelope`: speech-like audio with a known rhythm.
fn shaped_noise(envelope: &[f64]) -> Vec<f32> {
    let mut state = 1u64;
    envelope
        .iter()
        .map(|e| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (e * (((state >> 40) as f64 / (1u64 << 24) as f64) - 0.5)) as f32
        })
        .collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).without_plots();
    targets = bench
}
criterion_main!(benches);
