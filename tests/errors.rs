//! Bad input: every case exits 4 with one line on stderr that names the file, and never panics.

mod common;

use avsync::media::{self, AudioOptions, DecodeOptions, VideoOptions, NO_AUDIO_IN_VIDEO};
use common::{avsync, fixture};
use std::path::{Path, PathBuf};

/// Runs `avsync ARGS` and checks the error contract; returns stderr.
fn fails_with_one_line(args: &[&str], named: &Path, says: &str) -> String {
    let (code, stdout, stderr) = avsync(args);
    assert_eq!(code, 4, "{args:?}: exit {code}, stderr {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: not one line: {stderr}");
    assert!(stderr.contains(&named.display().to_string()), "{args:?}: no file name: {stderr}");
    assert!(stderr.contains(says), "{args:?}: expected '{says}' in: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: printed {stdout}");
    stderr
}

/// The first `share` of `source`'s bytes, written to `dir/name`.
fn cut(source: &Path, share: f64, dir: &Path, name: &str) -> PathBuf {
    let bytes = std::fs::read(source).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &bytes[..(bytes.len() as f64 * share) as usize]).unwrap();
    path
}

fn probe_args(path: &Path) -> Vec<String> {
    vec!["probe".to_string(), path.display().to_string()]
}

fn fails_to_probe(path: &Path, says: &str) {
    let args = probe_args(path);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fails_with_one_line(&args, path, says);
}

#[test]
fn unreadable_inputs_are_named_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.mp4");
    // Deterministic noise (xorshift), so a failure can be reproduced.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&random, noise).unwrap();
    fails_to_probe(&random, "not a media file");

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    fails_to_probe(&empty, "file is empty");

    for name in ["notes.txt", "notes.mp4"] {
        let text = dir.path().join(name);
        std::fs::write(&text, "Meeting notes\nnothing to see here\n").unwrap();
        fails_to_probe(&text, "is a text file");
    }

    fails_to_probe(&dir.path().join("missing.mp4"), "no such file");
    // A directory is searched for media (a batch); one with none is an error.
    let empty_dir = dir.path().join("nothing here");
    std::fs::create_dir(&empty_dir).unwrap();
    fails_to_probe(&empty_dir, "holds no file ending in .mp4");
}

#[test]
fn truncated_files_are_reported_whether_the_index_is_at_the_end_or_the_front() {
    let dir = tempfile::tempdir().unwrap();
    let source = &fixture("h264_aac_25.mp4").path;
    // FFmpeg writes the moov index after the media: cut before it, nothing is readable.
    let index_at_end = cut(source, 0.3, dir.path(), "index_at_end.mp4");
    fails_to_probe(&index_at_end, "without its index (moov box): truncated");
    let index_cut = cut(source, 0.8, dir.path(), "index_cut.mp4");
    fails_to_probe(&index_cut, "truncated");
    // With the index first (faststart) the header survives and declares more than is there.
    let faststart = dir.path().join("faststart.mp4");
    common::ffmpeg(&[
        "-i",
        source.to_str().unwrap(),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        faststart.to_str().unwrap(),
    ]);
    let front_cut = cut(&faststart, 0.85, dir.path(), "index_at_front.mp4");
    fails_to_probe(&front_cut, "truncated");
    // Decoding finds it too: the media ends well before the declared duration.
    let options = DecodeOptions {
        video: Some(VideoOptions::default()),
        audio: Some(AudioOptions::default()),
    };
    let err = media::decode(&front_cut, &options, &mut common::Recorder::default()).unwrap_err();
    assert!(err.to_string().contains("truncated: the video ends at"), "{err}");

    // Matroska and WAV declare their length in the header.
    let mkv = cut(&fixture("audio_late_050.mkv").path, 0.6, dir.path(), "cut.mkv");
    fails_to_probe(&mkv, "truncated");
    let err = media::decode(&mkv, &options, &mut common::Recorder::default()).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let wav = cut(&fixture("click_s16.wav").path, 0.5, dir.path(), "cut.wav");
    fails_to_probe(&wav, "truncated");
}

#[test]
fn missing_streams_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("silent.mp4");
    let source = fixture("h264_aac_25.mp4").path.to_str().unwrap().to_string();
    common::ffmpeg(&["-i", &source, "-an", "-c", "copy", silent.to_str().unwrap()]);

    // Decoding sound from a silent video points to --audio.
    let err = media::decode_audio(&silent, &AudioOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: {NO_AUDIO_IN_VIDEO}", silent.display()));

    // A job needs a video and an audio file; given the wrong kinds, preflight says so.
    let audio = fixture("click.mp3").path.clone();
    let audio_arg = audio.display().to_string();
    fails_with_one_line(
        &["preflight", &audio_arg, "--target", "kling-fal"],
        &audio,
        "has no video stream",
    );
    let silent_arg = silent.display().to_string();
    fails_with_one_line(
        &["preflight", &source, "--audio", &silent_arg, "--target", "kling-fal"],
        &silent,
        "has no audio stream",
    );
    // Decoding a picture from an audio file.
    let options = DecodeOptions { video: Some(VideoOptions::default()), audio: None };
    let err = media::decode(&audio, &options, &mut common::Recorder::default()).unwrap_err();
    assert!(err.to_string().ends_with("has no video stream"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = avsync(&["preflight", "x.mp4", "--target", "nowhere"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("kling-fal"), "{stderr}");
    let (code, _, _) = avsync(&["probe"]);
    assert_eq!(code, 2);
}

#[test]
fn compare_with_two_bad_inputs_names_the_output() {
    // The two are probed side by side; the error is still the output's, whichever is slower.
    // (A reference that cannot even be read fails the run before any job: it serves them all.)
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output.mp4");
    let reference = dir.path().join("reference.wav");
    std::fs::write(&output, b"").unwrap();
    std::fs::write(&reference, vec![0x5a; 4096]).unwrap();
    let (o, r) = (output.display().to_string(), reference.display().to_string());
    let stderr = fails_with_one_line(&["compare", &o, "--audio-ref", &r], &output, "file is empty");
    assert!(!stderr.contains("reference.wav"), "{stderr}");
}
