//! Shared test helpers: the generated fixtures and their ground truth, ffprobe as the reference,
//! the corpus, and detectors for the flash, the beep and the click.
#![allow(dead_code)] // each test binary uses its own share of these helpers

use avsync::media::{Audio, AudioChunk, LumaFrame, MediaSink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The beep of `testdata/generate.sh`: a Hann-windowed linear chirp.
pub const BEEP_F0_HZ: f64 = 500.0;
pub const BEEP_F1_HZ: f64 = 3500.0;
pub const BEEP_LEN_S: f64 = 0.02;

/// One row of `testdata/generated/fixtures.tsv`.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub path: PathBuf,
    pub kind: String,
    pub flash_s: Option<f64>,
    pub beep_s: Option<f64>,
    pub click_s: Option<f64>,
    pub note: String,
}

impl Fixture {
    pub fn name(&self) -> String {
        self.path.file_name().unwrap().to_string_lossy().into_owned()
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Generates the fixtures once (the script caches them across runs) and lists them.
pub fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = repo().join("testdata/generated");
        let status = Command::new("bash")
            .arg(repo().join("testdata/generate.sh"))
            .arg(&dir)
            .status()
            .expect("run testdata/generate.sh (needs bash and ffmpeg)");
        assert!(status.success(), "testdata/generate.sh failed");
        let manifest = std::fs::read_to_string(dir.join("fixtures.tsv")).unwrap();
        let number = |s: &str| (s != "-").then(|| s.parse::<f64>().unwrap());
        manifest
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                Fixture {
                    path: dir.join(f[0]),
                    kind: f[1].to_string(),
                    flash_s: number(f[2]),
                    beep_s: number(f[3]),
                    click_s: number(f[4]),
                    note: f[5].to_string(),
                }
            })
            .collect()
    })
}

pub fn fixture(name: &str) -> &'static Fixture {
    fixtures().iter().find(|f| f.name() == name).unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The shared corpus (`../shared/corpus`), or `None` with a message saying the test is skipped.
pub fn corpus(test: &str) -> Option<PathBuf> {
    let dir = repo().join("../shared/corpus");
    if dir.join("manifest.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED {test}: the corpus {} is absent", dir.display());
        None
    }
}

/// Every media file of the corpus.
pub fn corpus_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("media"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs ffprobe with `args` on `path` and returns its stdout.
pub fn ffprobe(path: &Path, args: &[&str]) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}

/// ffprobe's best-effort timestamps (seconds) of the decoded frames of stream `selector`
/// (`v:0`, `a:0`), with each frame's sample count (0 for video).
pub fn ffprobe_frames(path: &Path, selector: &str) -> Vec<(f64, usize)> {
    ffprobe(
        path,
        &[
            "-select_streams",
            selector,
            "-show_frames",
            "-show_entries",
            "frame=best_effort_timestamp_time,nb_samples",
            "-of",
            "csv=p=0",
        ],
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|line| {
        let mut fields = line.split(',');
        let t = fields.next().unwrap().parse().unwrap();
        let n = fields.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        (t, n)
    })
    .collect()
}

/// A sink that keeps every frame's time and mean luma, and every audio chunk's start and size.
#[derive(Default)]
pub struct Recorder {
    pub frames: Vec<(f64, f64)>,
    pub chunks: Vec<(f64, u32, usize)>,
    pub audio: Vec<f32>,
}

impl MediaSink for Recorder {
    fn video_frame(&mut self, frame: LumaFrame) -> avsync::Result<()> {
        self.frames.push((frame.pts_s, frame.mean()));
        Ok(())
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> avsync::Result<()> {
        self.chunks.push((chunk.start_s, chunk.sample_rate, chunk.samples.len()));
        self.audio.extend_from_slice(chunk.samples);
        Ok(())
    }
}

/// Time of the brightest frame.
pub fn flash_s(frames: &[(f64, f64)]) -> f64 {
    frames.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0
}

/// The beep sampled at `rate`, from its onset.
pub fn beep_template(rate: u32) -> Vec<f32> {
    let n = (BEEP_LEN_S * f64::from(rate)).round() as usize;
    (0..n)
        .map(|k| {
            let t = k as f64 / f64::from(rate);
            let window = 0.5 * (1.0 - (2.0 * std::f64::consts::PI * t / BEEP_LEN_S).cos());
            let phase = BEEP_F0_HZ * t + (BEEP_F1_HZ - BEEP_F0_HZ) / (2.0 * BEEP_LEN_S) * t * t;
            (window * (2.0 * std::f64::consts::PI * phase).sin()) as f32
        })
        .collect()
}

/// Onset time of the beep: the loudest stretch locates it, a matched filter around there
/// places it to the sample.
pub fn beep_onset_s(audio: &Audio) -> f64 {
    let template = beep_template(audio.sample_rate);
    let loudest = loudest_index(&audio.samples);
    let from = loudest.saturating_sub(2 * template.len());
    let to = (loudest + template.len()).min(audio.samples.len().saturating_sub(template.len()));
    let best = (from..=to)
        .max_by(|&a, &b| {
            let score = |lag: usize| -> f32 {
                template.iter().zip(&audio.samples[lag..]).map(|(t, x)| t * x).sum()
            };
            score(a).total_cmp(&score(b))
        })
        .unwrap();
    audio.time_of(best)
}

/// Time of the click: the sample of greatest magnitude.
pub fn click_s(audio: &Audio) -> f64 {
    audio.time_of(loudest_index(&audio.samples))
}

fn loudest_index(samples: &[f32]) -> usize {
    samples.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).unwrap().0
}

/// Runs the ffmpeg command line quietly (no prompt, overwriting), failing the test with
/// ffmpeg's own message when it fails.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-nostdin"])
        .args(args)
        .output()
        .expect("the ffmpeg command line is needed for these tests (apt-get install ffmpeg)");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Re-encodes `input`'s picture through FFmpeg `filter` options (`["-vf", "fps=60"]`) with
/// H.264, copying its audio untouched, into `output`.
pub fn refilter_video(input: &Path, filter: &[&str], output: &Path) {
    let (input, output) = (input.to_str().unwrap(), output.to_str().unwrap());
    let mut args = vec!["-i", input];
    args.extend_from_slice(filter);
    args.extend_from_slice(&["-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy", output]);
    ffmpeg(&args);
}

/// Runs the avsync binary; returns (exit code, stdout, stderr).
pub fn avsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_avsync")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A directory for the clips of this test run.
pub fn work_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// A talking sample with the audio `offset_ms` early (`< 0`: late), made by the example that
/// `cargo test` builds beside the binary.
pub fn talking_sample(offset_ms: i32) -> PathBuf {
    talking_sample_with_lead(offset_ms, None)
}

/// [`talking_sample`] whose mouth leads its sound by `lip_lead_ms` (default: the population
/// lead content mode assumes).
pub fn talking_sample_with_lead(offset_ms: i32, lip_lead_ms: Option<i32>) -> PathBuf {
    fixtures(); // speech.wav
                // Tests run in parallel: one makes a sample while the others that want it wait.
    static MAKING: Mutex<()> = Mutex::new(());
    let _making = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let lead = lip_lead_ms.map_or(String::new(), |ms| format!("-lead{ms}"));
    let out = work_dir().join(format!("talking{offset_ms:+}{lead}.mp4"));
    if !out.exists() {
        let bin = Path::new(env!("CARGO_BIN_EXE_avsync"))
            .with_file_name("examples")
            .join("talking_sample");
        assert!(
            bin.exists(),
            "{} is missing: a plain `cargo test` builds the examples; with --test, run `cargo \
             build --example talking_sample` first",
            bin.display()
        );
        let status = Command::new(&bin)
            .arg(&out)
            .arg(format!("--offset-ms={offset_ms}"))
            .args(lip_lead_ms.map(|ms| format!("--lip-lead-ms={ms}")))
            .current_dir(repo())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "talking_sample failed");
    }
    out
}
