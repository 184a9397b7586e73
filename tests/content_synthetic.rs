//! The content estimator in memory, with exact ground truth: real speech (espeak-ng), and a
//! lip-opening track derived from that speech's loudness with a known lag, drift and noise,
//! sampled at video frame times. No face and no FFmpeg are involved.

use avsync::estimate::content::{estimate, ContentOptions};
use avsync::features::audio::AudioFeatures;
use avsync::features::face::{LipSample, LipSeries};
use avsync::media::{decode_audio_with, AudioBackend, AudioOptions, SampleRate};
use std::path::Path;
use std::process::Command;

const RATE: u32 = 16_000;
/// Lips lead the sound by this much in the synthetic tracks (and the estimator is told so).
const LEAD_MS: f64 = 52.0;
/// Amplitude of the uniform noise added to the lip opening (eye distances; speech opens the
/// lips by up to 0.3).
const NOISE: f64 = 0.003;

const TEXT_A: &str = "The quick brown fox jumps over the lazy dog. Peter Piper picked a peck of \
    pickled peppers. She sells sea shells by the sea shore, and the shells she sells are surely \
    sea shells. How much wood would a woodchuck chuck if a woodchuck could chuck wood? Many \
    mumbling mice are making merry music in the moonlight. A big black bear sat on a big black \
    rug, while a box of biscuits and a batch of mixed biscuits waited by the window.";
const TEXT_B: &str = "Four score and seven years ago our fathers brought forth on this \
    continent a new nation, conceived in liberty, and dedicated to the proposition that all \
    men are created equal. Now we are engaged in a great civil war, testing whether that \
    nation, or any nation so conceived and so dedicated, can long endure.";

/// Speech from espeak-ng at 16 kHz (decoded by symphonia).
fn speech(text: &str, name: &str) -> Vec<f32> {
    let dir = std::env::temp_dir().join(format!("avsync-content-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join(format!("{name}.wav"));
    let status = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "165", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng is needed for this test (scripts/install-deps.sh installs it)");
    assert!(status.success(), "espeak-ng failed");
    let options = AudioOptions { sample_rate: SampleRate::Hz(RATE), ..AudioOptions::default() };
    decode_audio_with(Path::new(&wav), &options, AudioBackend::Symphonia).unwrap().samples
}

/// Loudness of `samples` at time `t_s` (RMS over a centred 30 ms window).
fn loudness(samples: &[f32], t_s: f64) -> f64 {
    let centre = (t_s * f64::from(RATE)) as isize;
    let half = (0.015 * f64::from(RATE)) as isize;
    let (lo, hi) = ((centre - half).max(0) as usize, (centre + half).max(0) as usize);
    let hi = hi.min(samples.len());
    if lo >= hi {
        return 0.0;
    }
    (samples[lo..hi].iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / (hi - lo) as f64).sqrt()
}

/// Deterministic noise in [-0.5, 0.5).
fn noise(state: &mut u64) -> f64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

/// A lip track that follows `samples`: the lips at video time `t` show the loudness of the
/// sound presented at `t·(1 + drift_ppm·1e-6) + lead − offset` (offset > 0: audio early), plus
/// [`NOISE`].
fn lips_following(samples: &[f32], fps: f64, offset_ms: f64, drift_ppm: f64) -> LipSeries {
    let duration_s = samples.len() as f64 / f64::from(RATE);
    let frames = (duration_s * fps) as usize;
    let times: Vec<f64> = (0..frames).map(|i| i as f64 / fps).collect();
    let scale = samples.iter().map(|s| s.abs()).fold(0.0f32, f32::max).max(1e-6) as f64;
    let mut state = 7;
    let track = times
        .iter()
        .map(|&t| {
            let sound_t = t * (1.0 + drift_ppm * 1e-6) + (LEAD_MS - offset_ms) / 1000.0;
            let opening = 0.3 * loudness(samples, sound_t) / scale + NOISE * noise(&mut state);
            Some(LipSample::with_opening(opening))
        })
        .collect();
    LipSeries::single_face(times, track)
}

fn options() -> ContentOptions {
    ContentOptions { lip_lead_ms: LEAD_MS, ..ContentOptions::default() }
}

#[test]
fn known_offsets_are_recovered_within_2_ms() {
    let samples = speech(TEXT_A, "a");
    let audio = AudioFeatures::of_samples(RATE, 0.0, &samples);
    for (offset_ms, fps) in [
        (-150.0, 25.0),
        (-40.0, 30_000.0 / 1001.0),
        (0.0, 24_000.0 / 1001.0),
        (35.0, 60.0),
        (220.0, 30.0),
    ] {
        let lips = lips_following(&samples, fps, offset_ms, 0.0);
        let found = estimate(&audio, &lips, &options());
        let measured =
            found.offset_ms.unwrap_or_else(|| panic!("{offset_ms} ms: {}", found.reason));
        assert!(
            (measured - offset_ms).abs() <= 2.0,
            "{offset_ms} ms at {fps:.3} fps: measured {measured:.2} ms ({})",
            found.reason
        );
        assert!(found.confidence > 0.9, "{offset_ms} ms: confidence {}", found.confidence);
        assert!(found.drift.is_none(), "{offset_ms} ms: drift reported on a 25 s clip");
    }
}

#[test]
fn a_short_clip_is_measured_in_short_windows() {
    // 6 s, as lip-sync services return: 2 s windows every 0.5 s instead of 8 s ones.
    let samples = speech(TEXT_A, "a");
    let samples = &samples[..6 * RATE as usize];
    let audio = AudioFeatures::of_samples(RATE, 0.0, samples);
    let lips = lips_following(samples, 25.0, -40.0, 0.0);
    let found = estimate(&audio, &lips, &options());
    let measured = found.offset_ms.unwrap_or_else(|| panic!("{}", found.reason));
    // Six seconds hold fewer syllables than the 25 s clips above: 5 ms, not 2.
    assert!((measured + 40.0).abs() <= 5.0, "measured {measured:.2} ms ({})", found.reason);
    assert_eq!((found.details.window_s, found.details.hop_s), (2.0, 0.5));
    let offsets: Vec<f64> = found.windows.iter().filter_map(|w| w.offset_ms).collect();
    assert!(found.windows.len() >= 8, "{} windows", found.windows.len());
    assert!(
        offsets.len() * 2 >= found.windows.len(),
        "{} of {} measured",
        offsets.len(),
        found.windows.len()
    );
    for offset in offsets {
        assert!((offset + 40.0).abs() <= 10.0, "a window read {offset:.1} ms");
    }
}

#[test]
fn a_timestamp_shift_of_the_audio_moves_the_offset() {
    let samples = speech(TEXT_A, "a");
    let lips = lips_following(&samples, 25.0, 0.0, 0.0);
    // The same audio presented 80 ms later: audio 80 ms late.
    let audio = AudioFeatures::of_samples(RATE, 0.080, &samples);
    let measured = estimate(&audio, &lips, &options()).offset_ms.unwrap();
    assert!((measured + 80.0).abs() <= 2.0, "measured {measured:.2} ms");
}

#[test]
fn drift_is_recovered_within_5_ppm() {
    let once = speech(TEXT_A, "a");
    // Drift shows over minutes: 2.5 min of speech (the passage six times).
    let samples: Vec<f32> = (0..6).flat_map(|_| once.iter().copied()).collect();
    let audio = AudioFeatures::of_samples(RATE, 0.0, &samples);
    for drift_ppm in [150.0, -150.0] {
        let lips = lips_following(&samples, 25.0, 20.0, drift_ppm);
        let found = estimate(&audio, &lips, &options());
        let drift =
            found.drift.unwrap_or_else(|| panic!("{drift_ppm} ppm: no drift ({})", found.reason));
        // The sound for the lips at t comes drift·t later: the audio falls behind (the offset
        // decreases) at drift_ppm.
        assert!((drift.ppm + drift_ppm).abs() <= 5.0, "{drift_ppm} ppm: measured {:.1}", drift.ppm);
        let reference_s = drift.reference_s.unwrap();
        let truth = 20.0 - drift_ppm * 1e-3 * reference_s;
        let measured = found.offset_ms.unwrap();
        assert!(
            (measured - truth).abs() <= 2.0,
            "offset {measured:.2} at {reference_s:.1} s, truth {truth:.2}"
        );
    }
}

#[test]
fn foreign_audio_is_inconclusive() {
    let own = speech(TEXT_A, "a");
    let foreign = speech(TEXT_B, "b");
    let lips = lips_following(&own, 25.0, 0.0, 0.0);
    let found = estimate(&AudioFeatures::of_samples(RATE, 0.0, &foreign), &lips, &options());
    assert_eq!(found.offset_ms, None, "foreign audio gave an offset: {}", found.reason);
    assert!(found.reason.contains("no better than unrelated audio"), "{}", found.reason);
    assert!(found.confidence < 0.5);
}

#[test]
fn silence_a_still_mouth_and_no_face_say_why() {
    let samples = speech(TEXT_A, "a");
    let audio = AudioFeatures::of_samples(RATE, 0.0, &samples);
    let lips = lips_following(&samples, 25.0, 0.0, 0.0);

    let silence = AudioFeatures::of_samples(RATE, 0.0, &vec![0.0; samples.len()]);
    let found = estimate(&silence, &lips, &options());
    assert!(found.offset_ms.is_none() && found.reason.starts_with("no speech"), "{}", found.reason);

    let still: Vec<Option<LipSample>> =
        lips.frame_times_s.iter().map(|_| Some(LipSample::with_opening(0.1))).collect();
    let found =
        estimate(&audio, &LipSeries::single_face(lips.frame_times_s.clone(), still), &options());
    assert!(
        found.offset_ms.is_none() && found.reason.contains("does not move"),
        "{}",
        found.reason
    );

    let unseen = vec![None; lips.frame_times_s.len()];
    let empty = LipSeries::single_face(lips.frame_times_s.clone(), unseen);
    let found = estimate(&audio, &empty, &options());
    assert!(found.offset_ms.is_none() && found.reason.starts_with("no face"), "{}", found.reason);
}
