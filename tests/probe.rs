//! `avsync probe`: what every file contains, with ffprobe's durations.

mod common;

use common::{avsync, corpus, corpus_files, ffprobe, fixture, fixtures};
use std::path::Path;

/// `duration_s` must match ffprobe's format duration to this (seconds).
const DURATION_TOLERANCE_S: f64 = 0.010;

fn probe_json(path: &Path) -> serde_json::Value {
    let (code, stdout, stderr) = avsync(&["probe", path.to_str().unwrap(), "--json", "-"]);
    assert_eq!(code, 0, "probe {}: {stderr}", path.display());
    serde_json::from_str(&stdout).unwrap()
}

fn ffprobe_duration_s(path: &Path) -> f64 {
    ffprobe(path, &["-show_entries", "format=duration", "-of", "csv=p=0"]).trim().parse().unwrap()
}

fn durations_match(files: &[std::path::PathBuf]) {
    for path in files {
        let ours = probe_json(path)["duration_s"].as_f64().unwrap();
        let theirs = ffprobe_duration_s(path);
        assert!(
            (ours - theirs).abs() <= DURATION_TOLERANCE_S,
            "{}: duration {ours} s, ffprobe {theirs} s",
            path.display()
        );
    }
}

#[test]
fn durations_match_ffprobe_on_every_fixture() {
    let files: Vec<_> = fixtures().iter().map(|f| f.path.clone()).collect();
    durations_match(&files);
}

#[test]
fn durations_match_ffprobe_on_every_corpus_file() {
    let Some(corpus) = corpus("durations_match_ffprobe_on_every_corpus_file") else { return };
    let files = corpus_files(&corpus);
    assert!(files.len() > 10, "corpus looks empty");
    durations_match(&files);
}

#[test]
fn streams_start_times_and_warnings_are_reported() {
    let late = probe_json(&fixture("video_late_085.mp4").path);
    assert_eq!(late["format"], "mp4");
    let diff = late["audio_minus_video_start_s"].as_f64().unwrap();
    assert!((diff + 0.85).abs() < 1e-3, "audio starts 0.85 s before the video: {diff}");
    assert_eq!(late["analysed_video"], 0);
    assert_eq!(late["analysed_audio"], 1);

    let vfr = probe_json(&fixture("vfr_h264.mp4").path);
    let warnings = vfr["warnings"].to_string();
    assert!(vfr["streams"][0]["video"]["variable_frame_rate"] == true, "{vfr}");
    assert!(warnings.contains("variable frame rate"), "{warnings}");

    // Audio-only files probe too, and say what they lack.
    let mp3 = probe_json(&fixture("click.mp3").path);
    assert_eq!(mp3["format"], "mp3");
    assert_eq!(mp3["analysed_video"], serde_json::Value::Null);
    assert_eq!(mp3["streams"][0]["audio"]["sample_rate"], 44_100);
    assert!(mp3["warnings"].to_string().contains("no video stream"));

    let surround = probe_json(&fixture("h264_aac51_30.mp4").path);
    assert_eq!(surround["streams"][1]["audio"]["channels"], 6);

    let webm = probe_json(&fixture("vp9_opus_30.webm").path);
    assert_eq!(webm["format"], "webm");
    assert_eq!(webm["streams"][0]["codec"], "vp9");

    let (code, text, _) = avsync(&["probe", fixture("h264_aac_23976.mp4").path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(text.contains("24000/1001 fps nominal"), "{text}");
    assert!(text.contains("MP4 (FFmpeg: mov,mp4,m4a,3gp,3g2,mj2)"), "{text}");
}

#[test]
fn several_files_probe_at_once_into_a_json_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("probe.json");
    let (a, b) = (&fixture("click.mp3").path, &fixture("vp9_opus_30.webm").path);
    let (code, text, stderr) = avsync(&[
        "probe",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("click.mp3") && text.contains("vp9_opus_30.webm"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["format"], "webm");
}

#[test]
fn rotation_and_very_short_clips_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let rotated = dir.path().join("rotated.mp4");
    let source = fixture("h264_aac_25.mp4").path.to_str().unwrap().to_string();
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-i", &source, "-t", "1", "-c", "copy", "-metadata:s:v:0", "rotate=90"])
        .arg(&rotated)
        .status()
        .unwrap();
    assert!(status.success());
    let info = probe_json(&rotated);
    let warnings = info["warnings"].to_string();
    assert!(warnings.contains("rotation metadata of"), "{warnings}");
    assert!(warnings.contains("very short"), "{warnings}");
    assert!(info["streams"][0]["video"]["rotation_deg"].as_f64().unwrap().abs() == 90.0);
}

#[test]
fn rotation_has_the_sign_ffprobe_reports() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("h264_aac_25.mp4").path.to_str().unwrap().to_string();
    for degrees in ["90", "270"] {
        let rotated = dir.path().join(format!("rotated{degrees}.mp4"));
        let status = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(["-i", &source, "-c", "copy", "-metadata:s:v:0"])
            .arg(format!("rotate={degrees}"))
            .arg(&rotated)
            .status()
            .unwrap();
        assert!(status.success());
        let theirs: f64 = ffprobe(
            &rotated,
            &[
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream_side_data=rotation",
                "-of",
                "csv=p=0",
            ],
        )
        .trim()
        .trim_matches(',')
        .parse()
        .unwrap();
        let ours = probe_json(&rotated)["streams"][0]["video"]["rotation_deg"].as_f64().unwrap();
        // It printed -90 where ffprobe says 90.
        assert_eq!(ours, theirs, "rotate={degrees}");
    }
}

#[test]
fn an_audio_stream_with_no_channels_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("no_channels.wav");
    // A PCM WAV header that declares 0 channels, then a second of (unplayable) data.
    let (rate, bits, data_len) = (48_000u32, 16u16, 96_000u32);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&0u16.to_le_bytes()); // channels
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&bits.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    bytes.resize(bytes.len() + data_len as usize, 0);
    std::fs::write(&wav, bytes).unwrap();
    // It exited 0 and showed "0 channel(s)".
    let (code, stdout, stderr) = avsync(&["probe", wav.to_str().unwrap()]);
    assert_eq!(code, 4, "exit {code}: {stdout}{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no_channels.wav") && stderr.contains("0 channel"), "{stderr}");
}
