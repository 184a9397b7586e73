//! Writes a talking-face sample clip with a known audio/video offset, for the demo and the
//! end-to-end tests of content-mode sync checking.
//!
//! cargo run --release --example talking_sample -- OUT.mp4 [--offset-ms N] [--speech WAV]
//!     [--lip-lead-ms MS] [--face PNG] [--drive TSV] [--verify]
//!
//! The picture is a still face (default `testdata/face/astronaut.png`) whose mouth opens and
//! closes with the speech (default `testdata/generated/speech.wav`, made by
//! `testdata/generate.sh` when missing): the landmark model runs once on the still to find the
//! lips, then each frame pulls the lower lip and jaw down by an amount driven by the speech's
//! loudness in the 300-3000 Hz band (smoothed over about 30 ms, normalised; silence closes the
//! mouth) and fills the gap with a dark mouth interior.
//!
//! Timing: the mouth leads its own sound by `--lip-lead-ms` (by default the lead content mode
//! takes off, `SPEECH_LIP_LEAD_MS`, as lips move before the sound in real speech); frame n,
//! shown at t_n, is drawn from the speech at t_n + lead. `--offset-ms N` then moves the sound by N ms against the picture with the
//! project's sign convention: N > 0 means the audio is early (the speech sample of time s is
//! heard at s - N), N < 0 late. Samples moved out are dropped and the gap is filled with
//! silence, so the sound is exactly as long as the picture: 320x320 H.264 at 25 fps and 16 kHz
//! mono AAC, through the library's writer.
//!
//! stdout says what was written (frames, duration, offset, where the speech starts and ends in
//! the picture and in the sound). `--drive TSV` writes the mouth opening of every frame;
//! `--verify` decodes the written clip and reports the share of frames with a face, the
//! correlation of the measured inner-lip gap with the drive, and the lag between the picture
//! and the sound measured from the file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use avsync::features::face::{
    track_frames_parallel, FaceModels, FaceTracker, GrayImage, Landmarks, TrackLinker,
    TrackerConfig,
};
use avsync::media::encode::{AudioCodec, MediaWriter, VideoCodec, WriterSettings};
use avsync::media::{self, AudioCollector, AudioOptions, DecodeOptions, SampleRate};
use clap::Parser;

#[path = "../tests/support/luma_frames.rs"]
mod luma_frames;

const FPS: u32 = 25;
const SAMPLE_RATE: u32 = 16_000;
/// The speech envelope's band and smoothing.
const BAND_LOW_HZ: f64 = 300.0;
const BAND_HIGH_HZ: f64 = 3000.0;
/// Full width at half maximum of the Hann window that smooths the band power.
const SMOOTH_FWHM_S: f64 = 0.030;
/// Step of the envelope grid.
const ENVELOPE_STEP_S: f64 = 0.001;
/// Envelope levels, relative to the loud-speech reference, below which the mouth stays shut.
const CLOSED_BELOW: f64 = 0.08;
/// Widest inner-lip gap, as a share of the mouth width (outer corners).
const MAX_GAP_OF_WIDTH: f32 = 0.36;
/// Luma of the mouth interior, at its centre and at its edges.
const INTERIOR_DARK: f32 = 18.0;
const INTERIOR_EDGE: f32 = 45.0;

#[derive(Parser)]
struct Args {
    /// The clip to write (.mp4 or .mov for exact timing).
    out: PathBuf,
    /// Audio/video offset to build in, in ms: > 0 the audio is early (leads the picture),
    /// < 0 late.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    offset_ms: f64,
    /// Speech, any format the library decodes; default testdata/generated/speech.wav.
    #[arg(long)]
    speech: Option<PathBuf>,
    /// How long the mouth movement comes before its sound, in ms.
    #[arg(long, default_value_t = avsync::estimate::content::SPEECH_LIP_LEAD_MS, allow_negative_numbers = true)]
    lip_lead_ms: f64,
    /// The still face; default testdata/face/astronaut.png.
    #[arg(long)]
    face: Option<PathBuf>,
    /// Write the drive of every frame (frame, time_s, drive 0..1, gap_px) to this TSV file.
    #[arg(long)]
    drive: Option<PathBuf>,
    /// Decode the written clip, track the face and check the mouth and the sound against the
    /// drive.
    #[arg(long)]
    verify: bool,
}

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let t0 = Instant::now();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let face_path = args.face.clone().unwrap_or_else(|| repo.join("testdata/face/astronaut.png"));
    let speech_path = match &args.speech {
        Some(p) => p.clone(),
        None => default_speech(repo)?,
    };

    let still =
        image::open(&face_path).map_err(|e| format!("{}: {e}", face_path.display()))?.to_luma8();
    let (width, height) = still.dimensions();
    if width % 2 != 0 || height % 2 != 0 {
        return Err(
            format!("{}: {width}x{height}: the sides must be even", face_path.display()).into()
        );
    }
    let models = FaceModels::shared()?;
    let mouth = Mouth::find(&models, &still, width as usize, height as usize)
        .ok_or_else(|| format!("{}: no face found", face_path.display()))?;

    let speech = decode_speech(&speech_path)?;
    let speech_env = Envelope::of(&speech);

    // Picture: as many frames as the speech lasts; sound: exactly as long.
    let n_frames = (speech.len() as u64 * u64::from(FPS)).div_ceil(u64::from(SAMPLE_RATE));
    let mut writer = MediaWriter::create(
        &args.out,
        &WriterSettings {
            width,
            height,
            frame_rate: (FPS, 1),
            sample_rate: SAMPLE_RATE,
            video: VideoCodec::H264,
            audio: AudioCodec::Aac,
        },
    )?;
    let frame_times: Vec<f64> = (0..=n_frames).map(|n| writer.video_time_s(n)).collect();
    let n_samples = (frame_times[n_frames as usize] * f64::from(SAMPLE_RATE)).round() as usize;
    let shift = (args.offset_ms * 1e-3 * f64::from(SAMPLE_RATE)).round() as i64;
    // Sample i of the file is speech sample i + shift.
    let sound: Vec<f32> = (0..n_samples as i64)
        .map(|i| {
            usize::try_from(i + shift).ok().and_then(|j| speech.get(j)).copied().unwrap_or(0.0)
        })
        .collect();

    let lead_s = args.lip_lead_ms * 1e-3;
    let drive: Vec<f64> =
        frame_times[..n_frames as usize].iter().map(|&t| speech_env.level_at(t + lead_s)).collect();
    let max_gap = MAX_GAP_OF_WIDTH * mouth.width;

    let mut luma = vec![0u8; (width * height) as usize];
    let mut written = 0usize;
    for (n, &d) in drive.iter().enumerate() {
        // The sound up to this frame's end first: the muxer gets both streams in time order.
        let end = ((frame_times[n + 1] * f64::from(SAMPLE_RATE)).round() as usize).min(n_samples);
        writer.push_audio(&sound[written..end])?;
        written = end;
        mouth.draw(&still, d as f32 * max_gap, &mut luma);
        writer.push_video(&luma)?;
    }
    writer.push_audio(&sound[written..])?;
    let warning = writer.timing_warning();
    writer.finish()?;
    let size = std::fs::metadata(&args.out)?.len();

    if let Some(path) = &args.drive {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(f, "frame\ttime_s\tdrive\tgap_px")?;
        for (n, &d) in drive.iter().enumerate() {
            writeln!(f, "{n}\t{:.4}\t{d:.4}\t{:.2}", frame_times[n], d as f32 * max_gap)?;
        }
    }

    // The description.
    let frame_s = 1.0 / f64::from(FPS);
    let duration_s = frame_times[n_frames as usize];
    let (first, last) = speech_env.active_span();
    let words = if args.offset_ms > 0.0 {
        format!("audio {:.0} ms early (it leads the picture)", args.offset_ms)
    } else if args.offset_ms < 0.0 {
        format!("audio {:.0} ms late (it lags the picture)", -args.offset_ms)
    } else {
        "audio in sync".to_string()
    };
    let moving: Vec<usize> = (0..drive.len()).filter(|&n| drive[n] > 0.0).collect();
    println!("file        {} ({size} bytes)", args.out.display());
    println!(
        "picture     {width}x{height} H.264, {FPS} fps, {n_frames} frames (0 to {}), {duration_s:.3} s; face {}",
        n_frames - 1,
        face_path.display()
    );
    println!(
        "sound       AAC {SAMPLE_RATE} Hz mono, {n_samples} samples, {:.3} s; speech {}",
        n_samples as f64 / f64::from(SAMPLE_RATE),
        speech_path.display()
    );
    println!("offset_ms   {:+.0}: {words}", args.offset_ms);
    println!(
        "lip_lead_ms {:.0}: frame n (shown at n/{FPS} s) is drawn from the speech at n/{FPS} s + {:.3} s",
        args.lip_lead_ms, lead_s
    );
    println!("speech      sounds (above the closed-mouth level) from {first:.3} s to {last:.3} s of the speech file");
    println!(
        "  heard     {:.3} s to {:.3} s of the file",
        first - args.offset_ms * 1e-3,
        last - args.offset_ms * 1e-3
    );
    if let (Some(a), Some(b)) = (moving.first(), moving.last()) {
        println!(
            "  mouth     moves from frame {a} ({:.3} s) to frame {b} ({:.3} s); {} of {n_frames} frames open",
            frame_times[*a],
            frame_times[*b],
            moving.len()
        );
    }
    println!(
        "mouth       {:.1} px wide, opens up to {max_gap:.1} px; frame period {:.0} ms",
        mouth.width,
        frame_s * 1e3
    );
    if let Some(w) = warning {
        println!("warning     {w}");
    }
    println!("made in     {:.1} s", t0.elapsed().as_secs_f64());

    if args.verify {
        verify(&args, &models, &drive, &frame_times, &speech_env, lead_s)?;
    }
    Ok(())
}

/// testdata/generated/speech.wav, made by testdata/generate.sh if it is missing.
fn default_speech(repo: &Path) -> Result<PathBuf, BoxError> {
    let path = repo.join("testdata/generated/speech.wav");
    if !path.is_file() {
        let status = std::process::Command::new("bash")
            .arg(repo.join("testdata/generate.sh"))
            .arg(repo.join("testdata/generated"))
            .status()?;
        if !status.success() || !path.is_file() {
            return Err(
                "testdata/generate.sh did not make speech.wav: is espeak-ng installed? (delete testdata/generated/.stamp to make it run again)".into()
            );
        }
    }
    Ok(path)
}

/// The speech as mono samples at [`SAMPLE_RATE`], its first sample at time 0.
fn decode_speech(path: &Path) -> Result<Vec<f32>, BoxError> {
    let mut sink = AudioCollector::default();
    let options = DecodeOptions {
        video: None,
        audio: Some(AudioOptions {
            sample_rate: SampleRate::Hz(SAMPLE_RATE),
            ..Default::default()
        }),
    };
    media::decode(path, &options, &mut sink)?;
    let audio = sink.finish().ok_or_else(|| format!("{}: no audio", path.display()))?;
    // Put the first sample at 0 (a file's audio may start later).
    let lead = (audio.start_s * f64::from(SAMPLE_RATE)).round();
    let mut samples = vec![0.0; lead.max(0.0) as usize];
    samples.extend_from_slice(&audio.samples[(-lead).max(0.0) as usize..]);
    Ok(samples)
}

/// The speech's loudness over time: the 300-3000 Hz band's amplitude, smoothed and scaled so
/// that loud speech is about 1 and silence 0.
struct Envelope {
    /// Levels 0..1 every [`ENVELOPE_STEP_S`] from time 0.
    levels: Vec<f64>,
}

impl Envelope {
    fn of(samples: &[f32]) -> Self {
        let raw = band_amplitude(samples, f64::from(SAMPLE_RATE));
        let mut voiced: Vec<f64> = raw.iter().copied().filter(|&a| a > 0.0).collect();
        voiced.sort_by(f64::total_cmp);
        // the loud-speech reference: the 95th percentile of the sounding part
        let peak = voiced.last().copied().unwrap_or(0.0);
        let sounding: Vec<f64> = voiced.iter().copied().filter(|&a| a > 0.05 * peak).collect();
        let reference =
            sounding.get(sounding.len() * 95 / 100).copied().unwrap_or(peak).max(f64::MIN_POSITIVE);
        let levels = raw
            .iter()
            .map(|a| ((a / reference - CLOSED_BELOW) / (1.0 - CLOSED_BELOW)).clamp(0.0, 1.0))
            .collect();
        Envelope { levels }
    }

    /// The level at `t_s` (linear between grid points; 0 outside the speech).
    fn level_at(&self, t_s: f64) -> f64 {
        let x = t_s / ENVELOPE_STEP_S;
        if x < 0.0 {
            return 0.0;
        }
        let i = x.floor() as usize;
        let frac = x - i as f64;
        let a = self.levels.get(i).copied().unwrap_or(0.0);
        let b = self.levels.get(i + 1).copied().unwrap_or(0.0);
        a + (b - a) * frac
    }

    /// First and last time with a non-zero level.
    fn active_span(&self) -> (f64, f64) {
        let first = self.levels.iter().position(|&l| l > 0.0).unwrap_or(0);
        let last = self.levels.iter().rposition(|&l| l > 0.0).unwrap_or(0);
        (first as f64 * ENVELOPE_STEP_S, last as f64 * ENVELOPE_STEP_S)
    }
}

/// RMS amplitude in the 300-3000 Hz band every [`ENVELOPE_STEP_S`], from a zero-phase band-pass
/// (second-order Butterworth high- and low-pass, run forwards and backwards) and a centred Hann
/// window of [`SMOOTH_FWHM_S`] half width.
fn band_amplitude(samples: &[f32], rate: f64) -> Vec<f64> {
    let mut x: Vec<f64> = samples.iter().map(|&s| f64::from(s)).collect();
    for (kind, f0) in [(Pass::High, BAND_LOW_HZ), (Pass::Low, BAND_HIGH_HZ)] {
        let biquad = Biquad::new(kind, f0, rate);
        biquad.run(x.iter_mut());
        biquad.run(x.iter_mut().rev());
    }
    let power: Vec<f64> = x.iter().map(|v| v * v).collect();
    // Hann window of length 2 * FWHM: its half-maximum width is FWHM.
    let half = (SMOOTH_FWHM_S * rate).round() as i64;
    let window: Vec<f64> = (-half..=half)
        .map(|k| 0.5 * (1.0 + (std::f64::consts::PI * k as f64 / half as f64).cos()))
        .collect();
    let step = ENVELOPE_STEP_S * rate;
    let n_points = (samples.len() as f64 / step).ceil() as usize + 1;
    (0..n_points)
        .map(|p| {
            let centre = (p as f64 * step).round() as i64;
            let (mut sum, mut weight) = (0.0, 0.0);
            for (k, w) in (-half..=half).zip(&window) {
                let i = centre + k;
                if i >= 0 && (i as usize) < power.len() {
                    sum += w * power[i as usize];
                }
                weight += w;
            }
            (sum / weight).sqrt()
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Pass {
    High,
    Low,
}

/// RBJ cookbook biquad, Q = 1/sqrt(2).
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    fn new(kind: Pass, f0: f64, rate: f64) -> Self {
        let w0 = 2.0 * std::f64::consts::PI * f0 / rate;
        let alpha = w0.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        let b = match kind {
            Pass::Low => [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0],
            Pass::High => [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0],
        };
        Biquad { b: b.map(|v| v / a0), a: [-2.0 * cos / a0, (1.0 - alpha) / a0] }
    }

    fn run<'a>(&self, samples: impl Iterator<Item = &'a mut f64>) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for s in samples {
            let x0 = *s;
            let y0 =
                self.b[0] * x0 + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            (x2, x1, y2, y1) = (x1, x0, y1, y0);
            *s = y0;
        }
    }
}

/// The still's mouth, in a frame along the mouth: u runs from the right mouth corner to the
/// left one (image left to right for an upright face), v downwards across it.
struct Mouth {
    centre: (f32, f32),
    /// Unit vectors of u and v in image coordinates.
    eu: (f32, f32),
    ev: (f32, f32),
    /// Half the distance between the inner lip corners: the gap closes there.
    half_inner: f32,
    /// Outer corner distance.
    width: f32,
    /// The inner lower lip as (u, v) points sorted by u: the mouth splits along it.
    split: Vec<(f32, f32)>,
    /// Below the split, the jaw moves fully down to this depth, then less and less down to
    /// `release`.
    hold: f32,
    release: f32,
    /// Image rows and columns that drawing may change.
    bounds: (usize, usize, usize, usize),
    width_px: usize,
    height_px: usize,
}

/// MediaPipe face-mesh indices (see `avsync::features::face` lips).
const INNER_LOWER: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
const CORNER_RIGHT: usize = 61;
const CORNER_LEFT: usize = 291;
const INNER_CORNER_RIGHT: usize = 78;
const INNER_CORNER_LEFT: usize = 308;
const CHIN: usize = 152;

impl Mouth {
    /// Runs the detector and the landmark model on the still.
    fn find(
        models: &FaceModels,
        still: &image::GrayImage,
        width: usize,
        height: usize,
    ) -> Option<Mouth> {
        let config = TrackerConfig { keep_landmarks: true, ..Default::default() };
        let mut tracker = FaceTracker::new(models, config).ok()?;
        let img = GrayImage::new(still.as_raw(), width, height, width).ok()?;
        let faces = tracker.process(&img, 0.0).ok()?;
        let face = faces.faces.into_iter().max_by(|a, b| a.score.total_cmp(&b.score))?;
        Some(Mouth::from_landmarks(&face.landmarks?, width, height))
    }

    fn from_landmarks(lm: &Landmarks, width_px: usize, height_px: usize) -> Mouth {
        let p = |i: usize| (lm.points[i].x, lm.points[i].y);
        let (r, l) = (p(INNER_CORNER_RIGHT), p(INNER_CORNER_LEFT));
        let centre = ((r.0 + l.0) / 2.0, (r.1 + l.1) / 2.0);
        let len = ((l.0 - r.0).powi(2) + (l.1 - r.1).powi(2)).sqrt().max(1.0);
        let eu = ((l.0 - r.0) / len, (l.1 - r.1) / len);
        let ev = (-eu.1, eu.0);
        let to_uv = |q: (f32, f32)| {
            let (dx, dy) = (q.0 - centre.0, q.1 - centre.1);
            (dx * eu.0 + dy * eu.1, dx * ev.0 + dy * ev.1)
        };
        let mut split: Vec<(f32, f32)> = INNER_LOWER.iter().map(|&i| to_uv(p(i))).collect();
        split.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (ro, lo) = (p(CORNER_RIGHT), p(CORNER_LEFT));
        let width = ((lo.0 - ro.0).powi(2) + (lo.1 - ro.1).powi(2)).sqrt();
        let chin = to_uv(p(CHIN)).1;
        let hold = chin * 0.6;
        let release = chin * 1.6;
        // Everything drawing touches: the mouth's width and the jaw down to `release`.
        let reach = width * 0.8;
        let corners = [
            (-reach, -width * 0.3),
            (reach, -width * 0.3),
            (-reach, release + 2.0),
            (reach, release + 2.0),
        ];
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (u, v) in corners {
            let x = centre.0 + u * eu.0 + v * ev.0;
            let y = centre.1 + u * eu.1 + v * ev.1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let clampx = |v: f32| (v.max(0.0) as usize).min(width_px);
        let clampy = |v: f32| (v.max(0.0) as usize).min(height_px);
        Mouth {
            centre,
            eu,
            ev,
            half_inner: len / 2.0,
            width,
            split,
            hold,
            release,
            bounds: (
                clampx(x0.floor()),
                clampy(y0.floor()),
                clampx(x1.ceil() + 1.0),
                clampy(y1.ceil() + 1.0),
            ),
            width_px,
            height_px,
        }
    }

    /// The v of the inner lower lip at `u` (the end points beyond the corners).
    fn split_at(&self, u: f32) -> f32 {
        let s = &self.split;
        if u <= s[0].0 {
            return s[0].1;
        }
        for w in s.windows(2) {
            if u <= w[1].0 {
                let t = (u - w[0].0) / (w[1].0 - w[0].0).max(1e-6);
                return w[0].1 + t * (w[1].1 - w[0].1);
            }
        }
        s[s.len() - 1].1
    }

    /// The gap's height at `u` when the centre gap is `gap`: a lens closing at the inner
    /// corners.
    fn gap_at(&self, u: f32, gap: f32) -> f32 {
        let x = u / self.half_inner;
        if x.abs() >= 1.0 {
            0.0
        } else {
            gap * (1.0 - x * x).powf(0.6)
        }
    }

    /// How much of the gap a point `depth` below the split moves down: all of it near the lips,
    /// none below `release`.
    fn follow(&self, depth: f32) -> f32 {
        if depth <= self.hold {
            1.0
        } else if depth >= self.release {
            0.0
        } else {
            let t = (depth - self.hold) / (self.release - self.hold);
            0.5 * (1.0 + (std::f32::consts::PI * t).cos())
        }
    }

    /// Draws the still with the mouth open by `gap` pixels at its centre.
    fn draw(&self, still: &image::GrayImage, gap: f32, out: &mut [u8]) {
        out.copy_from_slice(still.as_raw());
        if gap <= 0.0 {
            return;
        }
        let src = still.as_raw();
        let (w, h) = (self.width_px, self.height_px);
        let sample = |x: f32, y: f32| -> f32 {
            let x = x.clamp(0.0, (w - 1) as f32);
            let y = y.clamp(0.0, (h - 1) as f32);
            let (xi, yi) = (x.floor() as usize, y.floor() as usize);
            let (x2, y2) = ((xi + 1).min(w - 1), (yi + 1).min(h - 1));
            let (fx, fy) = (x - xi as f32, y - yi as f32);
            let at = |xx: usize, yy: usize| f32::from(src[yy * w + xx]);
            let top = at(xi, yi) * (1.0 - fx) + at(x2, yi) * fx;
            let bottom = at(xi, y2) * (1.0 - fx) + at(x2, y2) * fx;
            top * (1.0 - fy) + bottom * fy
        };
        let (x0, y0, x1, y1) = self.bounds;
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f32 - self.centre.0, y as f32 - self.centre.1);
                let u = dx * self.eu.0 + dy * self.eu.1;
                let v = dx * self.ev.0 + dy * self.ev.1;
                let g = self.gap_at(u, gap);
                if g <= 0.0 {
                    continue;
                }
                let vs = self.split_at(u);
                if v < vs - 0.5 {
                    continue;
                }
                // Source of a point below the gap: solve v = v' + g * follow(v' - vs).
                let mut vsrc = v - g;
                for _ in 0..4 {
                    vsrc = v - g * self.follow((vsrc - vs).max(0.0));
                }
                let image_at = |vv: f32| {
                    sample(
                        self.centre.0 + u * self.eu.0 + vv * self.ev.0,
                        self.centre.1 + u * self.eu.1 + vv * self.ev.1,
                    )
                };
                // The pixel [v - 0.5, v + 0.5] against the interior [vs, vs + g].
                let cover = ((v + 0.5).min(vs + g) - (v - 0.5).max(vs)).clamp(0.0, 1.0);
                let outside = if v < vs + g / 2.0 { image_at(v) } else { image_at(vsrc) };
                // interior: darkest in the middle, lighter towards the lips
                let depth = 1.0 - ((v - vs - g / 2.0) / (g / 2.0 + 0.5)).abs().min(1.0);
                let interior = INTERIOR_EDGE + (INTERIOR_DARK - INTERIOR_EDGE) * depth;
                let value = cover * interior + (1.0 - cover) * outside;
                out[y * w + x] = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Decodes the written clip, tracks the face and compares the mouth and the sound with the
/// drive.
fn verify(
    args: &Args,
    models: &FaceModels,
    drive: &[f64],
    frame_times: &[f64],
    speech_env: &Envelope,
    lead_s: f64,
) -> Result<(), BoxError> {
    let t0 = Instant::now();
    let frames = luma_frames::decode_frames(&args.out, None)?;
    let faces = track_frames_parallel(
        models,
        &TrackerConfig::default(),
        &frames,
        50,
        &mut TrackLinker::new(),
    )?;
    let with_face = faces.iter().filter(|f| !f.faces.is_empty()).count();
    // Measured inner gap against the drive, frame by frame (matched by time).
    let period = 1.0 / f64::from(FPS);
    let mut pairs = Vec::new();
    for f in &faces {
        let n = (f.time_s / period).round() as usize;
        let Some(face) = f.faces.iter().max_by(|a, b| a.score.total_cmp(&b.score)) else {
            continue;
        };
        if n < drive.len() && (frame_times[n] - f.time_s).abs() < period / 4.0 {
            pairs.push((drive[n], f64::from(face.lips.inner_gap)));
        }
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let r = pearson(&xs, &ys);
    println!("verify      decoded {} frames in {:.1} s", frames.len(), t0.elapsed().as_secs_f64());
    println!(
        "  faces     {with_face} of {} frames ({:.1}%)",
        faces.len(),
        100.0 * with_face as f64 / faces.len().max(1) as f64
    );
    let (lo, hi) = ys.iter().fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    println!(
        "  mouth     inner_gap {lo:.3} to {hi:.3} eye distances; Pearson r with the drive {r:.3} over {} frames",
        pairs.len()
    );

    // The sound of the file against the picture: the decoded audio's envelope matches the
    // drive (picture time) at a lag; expected lag = offset - lead.
    let mut sink = AudioCollector::default();
    media::decode(
        &args.out,
        &DecodeOptions { video: None, audio: Some(AudioOptions::default()) },
        &mut sink,
    )?;
    let audio = sink.finish().ok_or("the clip has no audio")?;
    let heard = Envelope::of(&audio.samples);
    let step = ENVELOPE_STEP_S;
    let n = (frame_times[frame_times.len() - 1] / step) as usize;
    // picture-time drive on the fine grid
    let picture: Vec<f64> = (0..n).map(|k| speech_env.level_at(k as f64 * step + lead_s)).collect();
    // The lag (ms) at which series(t - lag) best matches target(t).
    let best_lag = |series: &dyn Fn(f64) -> f64, times: &[f64], target: &[f64]| {
        let mut best = (f64::MIN, 0i64);
        for lag_ms in -600i64..=600 {
            let lag = lag_ms as f64 * 1e-3;
            let xs: Vec<f64> = times.iter().map(|&t| series(t - lag)).collect();
            let r = pearson(&xs, target);
            if r > best.0 {
                best = (r, lag_ms);
            }
        }
        best
    };
    // With the sound A and the picture's drive P: A(t) = P(t + lag), lag = offset - lead.
    let heard_at = |t: f64| heard.level_at(t - audio.start_s);
    let grid: Vec<f64> = (0..n).map(|k| k as f64 * step).collect();
    let (r_audio, lag_audio) = best_lag(&heard_at, &grid, &picture);
    println!(
        "  sound     the file's sound follows the drive with a lag of {lag_audio:+} ms (r {r_audio:.3}): offset {:+.0} ms with the {:.0} ms lip lead ({:+.0} asked)",
        lag_audio as f64 + lead_s * 1e3,
        lead_s * 1e3,
        args.offset_ms,
    );
    // The measured mouth against the file's sound, at frame times.
    let (mouth_times, mouth): (Vec<f64>, Vec<f64>) = faces
        .iter()
        .filter_map(|f| f.faces.first().map(|o| (f.time_s, f64::from(o.lips.inner_gap))))
        .unzip();
    let (r_lips, lag_lips) = best_lag(&heard_at, &mouth_times, &mouth);
    println!(
        "  lips      the file's sound follows the measured mouth with a lag of {lag_lips:+} ms (r {r_lips:.3}): offset {:+.0} ms with the lip lead",
        lag_lips as f64 + lead_s * 1e3
    );
    Ok(())
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt().max(f64::MIN_POSITIVE)
}
