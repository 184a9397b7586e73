//! `avsync fix` end to end: flash/beep clips made by the pattern generator with a known offset
//! are fixed and measured again; the coded packets must come through untouched.
//!
//! Needs the `ffmpeg`/`ffprobe` command line (installed with the FFmpeg development libraries).

mod common;
mod support;

use avsync::commands::pattern::{generate, GenerateOptions};
use avsync::features::pattern::PatternSpec;
use avsync::media::encode::{AudioCodec, VideoCodec};
use common::avsync;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::schema::{assert_valid, validator};

/// The bound on the fixed file's offset.
const FIXED_WITHIN_MS: f64 = 5.0;

fn s(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// An 8 s H.264/AAC MP4 flash/beep clip with the audio `offset_ms` early.
fn pattern_clip(dir: &Path, offset_ms: f64) -> PathBuf {
    drifting_pattern_clip(dir, offset_ms, 0.0, 8.0)
}

/// An H.264/AAC MP4 flash/beep clip with the audio `offset_ms` early at the start, gaining
/// `drift_ppm`.
fn drifting_pattern_clip(dir: &Path, offset_ms: f64, drift_ppm: f64, duration_s: f64) -> PathBuf {
    let output = dir.join(format!("pattern{offset_ms:+}{drift_ppm:+}ppm.mp4"));
    let spec = PatternSpec {
        width: 320,
        height: 180,
        frame_rate: "25".parse().unwrap(),
        duration_s,
        period_s: 1.0,
        sample_rate: 48_000,
        audio_offset_ms: offset_ms,
        drift_ppm,
        tone_hz: 1000.0,
    };
    let options = GenerateOptions {
        output: output.clone(),
        spec,
        video_codec: VideoCodec::H264,
        audio_codec: AudioCodec::Aac,
    };
    generate(&options).unwrap();
    output
}

/// The MD5 of every packet of stream `selector` (`v:0`, `a:0`), in order. (A packet with side
/// data, AAC's first, spreads over two lines, so the digests are picked out as tokens.)
fn packet_digests(path: &Path, selector: &str) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", selector, "-show_data_hash", "MD5"])
        .args(["-show_entries", "packet=data_hash", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe is needed for this test");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .split(|c: char| c == ',' || c == '|' || c.is_whitespace())
        .filter(|token| token.starts_with("MD5:"))
        .map(str::to_string)
        .collect()
}

/// Runs `avsync fix ARGS --json -` and returns the exit code and the fixed file's report.
fn fix(args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = avsync(&[&["fix", "--json", "-"], args].concat());
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stderr}"));
    assert_valid(&validator(), &report);
    (code, report)
}

#[test]
fn an_early_clip_is_fixed_within_5_ms_by_stream_copy() {
    let dir = tempfile::tempdir().unwrap();
    let clip = pattern_clip(dir.path(), 200.0);
    let fixed = dir.path().join("fixed.mp4");
    let (code, report) =
        fix(&[s(&clip), "-o", s(&fixed), "--offset-ms", "200", "--measure", "pattern"]);
    let after = report["offset_ms"].as_f64().expect("the fixed clip is measured");
    assert!(after.abs() <= FIXED_WITHIN_MS, "after the fix: {after:.3} ms");
    assert_eq!(code, 0, "the fixed clip passes broadcast");
    assert_eq!(report["method"], "pattern");
    for stream in ["v:0", "a:0"] {
        let before = packet_digests(&clip, stream);
        assert!(before.len() > 100, "{stream}: {} packets", before.len());
        assert!(before == packet_digests(&fixed, stream), "{stream} packets changed");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("avsync-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_late_clip_is_fixed_from_its_pattern_report_and_the_text_says_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let clip = pattern_clip(dir.path(), -120.0);
    let saved = dir.path().join("before.json");
    let (code, _, stderr) = avsync(&["pattern", "analyze", s(&clip), "--json", s(&saved)]);
    assert_eq!(code, 1, "120 ms late fails broadcast: {stderr}");
    let fixed = dir.path().join("fixed.mov");
    let (code, report) = fix(&[s(&clip), "-o", s(&fixed), "--from-report", s(&saved)]);
    let after = report["offset_ms"].as_f64().expect("the fixed clip is measured");
    assert!(after.abs() <= FIXED_WITHIN_MS, "after the fix: {after:.3} ms");
    assert_eq!(code, 0);
    assert_eq!(report["method"], "pattern", "measured again the way the report was");
    assert_eq!(packet_digests(&clip, "v:0"), packet_digests(&fixed, "v:0"));

    let again = dir.path().join("again.mp4");
    let (code, text, _) = avsync(&["fix", s(&clip), "-o", s(&again), "--from-report", s(&saved)]);
    assert_eq!(code, 0);
    assert!(text.contains("before: audio 120 ms late"), "{text}");
    assert!(text.contains("audio moved 120.000 ms earlier"), "{text}");
    assert!(text.contains("nothing re-encoded"), "{text}");
    assert!(text.contains("after:  audio in sync"), "{text}");
}

/// The number of audio channels of `path`'s first audio stream.
fn audio_channels(path: &Path) -> u32 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe is needed for this test");
    String::from_utf8(out.stdout).unwrap().trim().parse().expect("a channel count")
}

#[test]
fn a_drifting_stereo_clip_is_retimed_with_drift_and_only_its_audio_is_re_encoded() {
    // 40 ms early at the start and gaining 500 ppm: 50 ms early after 20 s. Made stereo by
    // FFmpeg, so that every channel has to be retimed.
    let dir = tempfile::tempdir().unwrap();
    let mono = drifting_pattern_clip(dir.path(), 40.0, 500.0, 20.0);
    let clip = dir.path().join("stereo.mp4");
    let stereo = ["-c:v", "copy", "-ac", "2", "-c:a", "aac", "-b:a", "192k"];
    tool("ffmpeg", &[&["-v", "error", "-i", s(&mono)], &stereo[..], &[s(&clip)]].concat());
    let saved = dir.path().join("before.json");
    let (code, _, stderr) = avsync(&["pattern", "analyze", s(&clip), "--json", s(&saved)]);
    assert!(code <= 1, "{stderr}");

    // Without --drift only the offset moves, and the text says the drift is left.
    let shifted = dir.path().join("shifted.mp4");
    let (_, text, stderr) =
        avsync(&["fix", s(&clip), "-o", s(&shifted), "--from-report", s(&saved)]);
    assert!(text.contains("nothing re-encoded"), "{text}{stderr}");
    assert!(text.contains("--drift corrects it"), "{text}");

    let fixed = dir.path().join("fixed.mp4");
    let (code, report) = fix(&[s(&clip), "-o", s(&fixed), "--from-report", s(&saved), "--drift"]);
    let after = report["offset_ms"].as_f64().expect("the fixed clip is measured");
    let after_ppm = report["drift"]["ppm"].as_f64().expect("and its drift");
    assert!(after.abs() <= 0.5, "after the fix: {after:.3} ms");
    assert!(after_ppm.abs() <= 2.0, "after the fix: drift {after_ppm:.2} ppm");
    assert_eq!(code, 0);
    assert_eq!(audio_channels(&fixed), 2, "every channel kept");
    assert_eq!(packet_digests(&clip, "v:0"), packet_digests(&fixed, "v:0"), "video copied");
    assert_ne!(packet_digests(&clip, "a:0"), packet_digests(&fixed, "a:0"));

    let again = dir.path().join("again.mp4");
    let (code, text, _) =
        avsync(&["fix", s(&clip), "-o", s(&again), "--from-report", s(&saved), "--drift"]);
    assert_eq!(code, 0);
    assert!(text.contains("ppm slower; audio re-encoded (AAC, 2 channel(s), 48000 Hz"), "{text}");
    assert!(text.contains("video copied"), "{text}");

    // --drift needs a report that measured the drift.
    let (code, _, stderr) =
        avsync(&["fix", s(&clip), "-o", s(&again), "--offset-ms", "40", "--drift"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn bad_reports_and_outputs_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let clip = pattern_clip(dir.path(), 60.0);
    let fixed = dir.path().join("fixed.mp4");

    // A report from another command (preflight's rules), and one that is not JSON.
    let preflight = dir.path().join("preflight.json");
    let (_, _, stderr) =
        avsync(&["preflight", s(&clip), "--target", "kling-fal", "--json", s(&preflight)]);
    assert!(preflight.exists(), "{stderr}");
    let (code, _, stderr) =
        avsync(&["fix", s(&clip), "-o", s(&fixed), "--from-report", s(&preflight)]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("preflight.json") && stderr.contains("not an avsync JSON report"));
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    // The input as the output, and neither offset nor report.
    let (code, _, stderr) = avsync(&["fix", s(&clip), "-o", s(&clip), "--offset-ms", "60"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("it is an input"), "{stderr}");
    let (code, _, _) = avsync(&["fix", s(&clip), "-o", s(&fixed)]);
    assert_eq!(code, 2);

    // An input that is not media.
    let (code, _, stderr) = avsync(&["fix", s(&preflight), "-o", s(&fixed), "--offset-ms", "60"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(!fixed.exists(), "nothing written");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 2, "only the clip and the preflight report");
}

fn tool(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program} is needed for this test (see README set-up): {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

#[test]
fn a_late_output_is_fixed_from_its_compare_report_against_the_same_reference() {
    let dir = tempfile::tempdir().unwrap();
    let spoken = dir.path().join("spoken.wav");
    let text = "The reference audio went into the pipeline, and came out of it late.";
    tool("espeak-ng", &["-v", "en", "-w", s(&spoken), text]);
    let reference = dir.path().join("reference.wav");
    tool("ffmpeg", &["-v", "error", "-y", "-i", s(&spoken), "-ar", "48000", s(&reference)]);
    // The output: a picture with the reference 150 ms late under it.
    let output = dir.path().join("output.mp4");
    #[rustfmt::skip]
    tool(
        "ffmpeg",
        &[
            "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
            "-i", s(&reference), "-af", "adelay=150:all=1", "-shortest", "-c:v", "libx264",
            "-c:a", "aac", s(&output),
        ],
    );
    let before = dir.path().join("before.json");
    let (code, _, stderr) =
        avsync(&["compare", s(&output), "--audio-ref", s(&reference), "--json", s(&before)]);
    assert_eq!(code, 1, "150 ms late fails broadcast: {stderr}");
    let fixed = dir.path().join("fixed.mp4");
    let (code, report) = fix(&[s(&output), "-o", s(&fixed), "--from-report", s(&before)]);
    assert_eq!(report["method"], "reference", "measured against the same reference");
    let after = report["offset_ms"].as_f64().expect("the reference is found");
    assert!(after.abs() <= FIXED_WITHIN_MS, "after the fix: {after:.3} ms");
    assert_eq!(code, 0);
    assert!(packet_digests(&output, "v:0") == packet_digests(&fixed, "v:0"));
}
