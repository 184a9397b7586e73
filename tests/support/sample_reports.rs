//! Realistic reports built in code, for testing and demonstrating the outputs before (and
//! independently of) the measuring commands.
//!
//! A synthetic talk: syllable bursts (4–5 per second) in phrases with pauses make the speech
//! envelope; the mouth opening follows it on the video's frame times, moved by a known offset
//! (and, for the drifting clip, a growing one), with noise. The offset, windows and correlation
//! curve are then measured from those signals by plain cross-correlation, so the plots show
//! what a real measurement would: a clear peak at the true offset, or none for foreign audio.

#![allow(dead_code)]

use avsync::grade::{grade, GradeOptions, Profile};
use avsync::media::{AudioStreamInfo, StreamInfo, VideoStreamInfo};
use avsync::report::{
    CorrelationCurve, Drift, InputSummary, Method, Plots, Region, Report, Signal, SignalPair,
    Thumbnail, Window, MS_PER_MIN_PER_PPM,
};

pub const ENVELOPE_RATE_HZ: f64 = 100.0;
pub const FPS: f64 = 25.0;
pub const WINDOW_S: f64 = 4.0;
pub const HOP_S: f64 = 2.0;
pub const MAX_LAG_MS: f64 = 500.0;
pub const LAG_STEP_MS: f64 = 5.0;
/// A whole-clip peak must beat the noise level by this much to count.
pub const MIN_PEAK_OVER_NOISE: f64 = 0.2;

/// A small deterministic generator, so every run builds the same reports.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next()
    }
}

/// The speech envelope of a synthetic talk, at [`ENVELOPE_RATE_HZ`].
fn speech_envelope(duration_s: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let n = (duration_s * ENVELOPE_RATE_HZ) as usize;
    let mut env = vec![0.0; n];
    let mut t = rng.range(0.2, 0.5);
    while t < duration_s {
        let phrase_end = t + rng.range(1.5, 3.5);
        while t < phrase_end.min(duration_s) {
            let amplitude = rng.range(0.4, 1.0);
            let start = (t * ENVELOPE_RATE_HZ) as usize;
            for (k, value) in env.iter_mut().enumerate().skip(start).take(40) {
                let dt = (k - start) as f64 / ENVELOPE_RATE_HZ;
                let attack = (dt / 0.03).min(1.0);
                *value += amplitude * attack * (-dt / 0.07).exp();
            }
            t += rng.range(0.17, 0.3);
        }
        t += rng.range(0.3, 0.8);
    }
    for value in &mut env {
        *value += 0.02 * rng.next();
    }
    env
}

/// `env` (sampled at [`ENVELOPE_RATE_HZ`]) at time `t`, linearly interpolated.
fn sample(env: &[f64], t: f64) -> Option<f64> {
    let x = t * ENVELOPE_RATE_HZ;
    if x < 0.0 || x >= (env.len() - 1) as f64 {
        return None;
    }
    let i = x.floor() as usize;
    let frac = x - i as f64;
    Some(env[i] * (1.0 - frac) + env[i + 1] * frac)
}

/// Pearson correlation of the mouth track against the envelope moved by `lag_ms`, over the
/// frames whose time lies in `[from, to)`.
fn correlation(env: &[f64], frames: &[(f64, f64)], lag_ms: f64, from: f64, to: f64) -> f64 {
    let pairs: Vec<(f64, f64)> = frames
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .filter_map(|&(t, m)| sample(env, t - lag_ms / 1000.0).map(|a| (a, m)))
        .collect();
    let n = pairs.len() as f64;
    if n < 3.0 {
        return 0.0;
    }
    let (ma, mm) =
        (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let cov: f64 = pairs.iter().map(|(a, m)| (a - ma) * (m - mm)).sum();
    let va: f64 = pairs.iter().map(|(a, _)| (a - ma).powi(2)).sum();
    let vm: f64 = pairs.iter().map(|(_, m)| (m - mm).powi(2)).sum();
    cov / (va * vm).sqrt().max(1e-12)
}

fn lags() -> Vec<f64> {
    let steps = (2.0 * MAX_LAG_MS / LAG_STEP_MS) as i64;
    (0..=steps).map(|i| -MAX_LAG_MS + i as f64 * LAG_STEP_MS).collect()
}

/// The lag of the highest score, refined by a parabola through its neighbours.
fn peak(lags: &[f64], scores: &[f64]) -> (f64, f64) {
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
    if best == 0 || best + 1 == scores.len() {
        return (lags[best], scores[best]);
    }
    let (l, c, r) = (scores[best - 1], scores[best], scores[best + 1]);
    let denom = l - 2.0 * c + r;
    let shift = if denom.abs() > 1e-12 { 0.5 * (l - r) / denom } else { 0.0 };
    (lags[best] + shift * LAG_STEP_MS, c)
}

/// A synthetic face: the frame the thumbnail shows, with face and mouth boxes.
fn face_thumbnail(time_s: f64) -> Thumbnail {
    let (w, h) = (320u32, 180u32);
    let mut img = image::GrayImage::new(w, h);
    let inside = |x: f64, y: f64, cx: f64, cy: f64, rx: f64, ry: f64| {
        ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
    };
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (xf, yf) = (x as f64, y as f64);
        let mut v = 60.0 + 40.0 * yf / h as f64;
        if inside(xf, yf, 160.0, 140.0, 90.0, 40.0) {
            v = 90.0; // shoulders
        }
        if inside(xf, yf, 160.0, 82.0, 42.0, 56.0) {
            v = 185.0; // face
        }
        if inside(xf, yf, 145.0, 68.0, 7.0, 4.0) || inside(xf, yf, 175.0, 68.0, 7.0, 4.0) {
            v = 40.0; // eyes
        }
        if inside(xf, yf, 160.0, 110.0, 14.0, 6.0) {
            v = 50.0; // open mouth
        }
        *p = image::Luma([v as u8]);
    }
    Thumbnail::from_image(
        time_s,
        &image::DynamicImage::ImageLuma8(img),
        vec![
            Region { label: "face".into(), x: 116, y: 24, width: 88, height: 116 },
            Region { label: "mouth".into(), x: 140, y: 100, width: 40, height: 21 },
        ],
    )
    .unwrap()
}

fn input(path: &str, duration_s: f64) -> InputSummary {
    InputSummary {
        path: path.to_string(),
        duration_s: Some(duration_s),
        video: Some(StreamInfo {
            index: 0,
            kind: "video".into(),
            codec: "h264".into(),
            start_s: Some(0.0),
            duration_s: Some(duration_s),
            video: Some(VideoStreamInfo {
                width: 1280,
                height: 720,
                nominal_fps: "25/1".into(),
                average_fps: Some(FPS),
                variable_frame_rate: false,
                rotation_deg: None,
                attached_picture: false,
            }),
            audio: None,
        }),
        audio: Some(StreamInfo {
            index: 1,
            kind: "audio".into(),
            codec: "aac".into(),
            start_s: Some(0.0),
            duration_s: Some(duration_s),
            video: None,
            audio: Some(AudioStreamInfo { sample_rate: 48_000, channels: 2 }),
        }),
        audio_path: None,
    }
}

/// What a synthetic clip is made of.
pub struct Clip {
    pub path: &'static str,
    pub duration_s: f64,
    /// True offset at t = 0 in ms (`> 0` = audio early).
    pub offset_ms: f64,
    /// Change of the true offset per minute, in ms.
    pub drift_ms_per_min: f64,
    /// The audio is from another talk: nothing should be measured.
    pub foreign_audio: bool,
}

/// Builds the report a measurement of `clip` gives, graded with `options`.
pub fn measure(clip: &Clip, options: &GradeOptions) -> Report {
    let env = speech_envelope(clip.duration_s, 7);
    let mouth_source =
        if clip.foreign_audio { speech_envelope(clip.duration_s, 99) } else { env.clone() };
    let mut rng = Rng(3);
    let true_offset = |t: f64| clip.offset_ms + clip.drift_ms_per_min * t / 60.0;
    let frames: Vec<(f64, f64)> = (0..(clip.duration_s * FPS) as usize)
        .map(|k| k as f64 / FPS)
        .map(|t| {
            // Lips move slower than the envelope: average over ~60 ms.
            let shifted = t - true_offset(t) / 1000.0;
            let smooth: f64 = (-3..=3)
                .filter_map(|d| sample(&mouth_source, shifted + d as f64 * 0.01))
                .sum::<f64>()
                / 7.0;
            (t, 0.15 + 0.8 * smooth + 0.06 * rng.next())
        })
        .collect();
    let lags = lags();
    let scores: Vec<f64> =
        lags.iter().map(|&l| correlation(&env, &frames, l, 0.0, clip.duration_s)).collect();
    let (peak_ms, peak_score) = peak(&lags, &scores);
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    let noise = sorted[sorted.len() * 90 / 100];
    let found = peak_score - noise >= MIN_PEAK_OVER_NOISE;

    let mut report = Report::new(input(clip.path, clip.duration_s), Method::Content);
    let mut start = 0.0;
    while start + WINDOW_S <= clip.duration_s + 1e-9 {
        let window_scores: Vec<f64> =
            lags.iter().map(|&l| correlation(&env, &frames, l, start, start + WINDOW_S)).collect();
        let (offset, score) = peak(&lags, &window_scores);
        report.windows.push(Window {
            start_s: start,
            end_s: start + WINDOW_S,
            offset_ms: found.then_some(offset),
            confidence: score.clamp(0.0, 1.0),
            uncertainty_ms: None,
            match_score: None,
        });
        start += HOP_S;
    }
    report.confidence = ((peak_score - noise) / (1.0 - noise)).clamp(0.0, 1.0);
    if found {
        let confident: Vec<(f64, f64)> = report
            .windows
            .iter()
            .filter(|w| w.confidence >= options.window_confidence)
            .map(|w| ((w.start_s + w.end_s) / 2.0, w.offset_ms.unwrap()))
            .collect();
        let n = confident.len() as f64;
        let mean_t = confident.iter().map(|p| p.0).sum::<f64>() / n;
        let mean_o = confident.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = confident.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
        let slope = confident.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_o)).sum::<f64>() / sxx;
        let residual = (confident
            .iter()
            .map(|p| (p.1 - mean_o - slope * (p.0 - mean_t)).powi(2))
            .sum::<f64>()
            / (n - 2.0).max(1.0))
        .sqrt();
        let slope_error = 1.96 * residual / sxx.sqrt();
        let ms_per_min = slope * 60.0;
        report.offset_ms = Some(peak_ms);
        report.uncertainty_ms = Some((1.96 * residual / n.sqrt()).max(LAG_STEP_MS / 2.0));
        report.drift = Some(Drift {
            ms_per_min,
            ppm: ms_per_min / MS_PER_MIN_PER_PPM,
            uncertainty_ppm: Some(slope_error * 60.0 / MS_PER_MIN_PER_PPM),
            reference_s: Some(mean_t),
        });
        report.reason = "measured".into();
    } else {
        report.reason = format!(
            "no lag stands out: the best correlation ({peak_score:.2}) is within {MIN_PEAK_OVER_NOISE} \
             of the noise level ({noise:.2}); the audio does not appear to belong to the picture"
        );
        report.warnings.push("speech was found, but the lips do not follow it".into());
    }
    report.elapsed_s = Some(1.25);
    report.plots = Some(Plots {
        correlation: Some(CorrelationCurve {
            label: "normalised cross-correlation".into(),
            lags_ms: lags,
            scores,
            peak_ms: found.then_some(peak_ms),
            noise_level: Some(noise),
        }),
        signals: Some(SignalPair {
            audio: Signal::uniform(
                "speech envelope",
                0.0,
                ENVELOPE_RATE_HZ,
                env.iter().map(|&v| v as f32).collect(),
            ),
            reference: Signal {
                label: "mouth opening".into(),
                times_s: frames.iter().map(|f| f.0).collect(),
                values: frames.iter().map(|f| f.1 as f32).collect(),
            },
        }),
        thumbnail: Some(face_thumbnail(clip.duration_s / 2.0)),
    });
    grade(&mut report, options);
    report
}

pub const IN_SYNC: Clip = Clip {
    path: "clips/interview-in-sync.mp4",
    duration_s: 24.0,
    offset_ms: 0.0,
    drift_ms_per_min: 0.0,
    foreign_audio: false,
};
pub const LATE_200: Clip = Clip {
    path: "clips/interview-audio-200ms-late.mp4",
    duration_s: 24.0,
    offset_ms: -200.0,
    drift_ms_per_min: 0.0,
    foreign_audio: false,
};
pub const FOREIGN: Clip = Clip {
    path: "clips/interview-foreign-audio.mp4",
    duration_s: 24.0,
    offset_ms: 0.0,
    drift_ms_per_min: 0.0,
    foreign_audio: true,
};
/// Starts in sync and slips 120 ms later per minute over a minute.
pub const DRIFTING: Clip = Clip {
    path: "clips/lecture-drifting.mp4",
    duration_s: 60.0,
    offset_ms: 0.0,
    drift_ms_per_min: -120.0,
    foreign_audio: false,
};

/// Grading options for `profiles` with the default policies.
pub fn profiles(names: &[&str]) -> GradeOptions {
    GradeOptions {
        profiles: names.iter().map(|p| Profile::parse(p).unwrap()).collect(),
        ..GradeOptions::default()
    }
}

/// The three clips the issue names, graded against broadcast and cinema.
pub fn standard_set() -> Vec<Report> {
    let options = profiles(&["broadcast", "cinema"]);
    [IN_SYNC, LATE_200, FOREIGN].iter().map(|c| measure(c, &options)).collect()
}
