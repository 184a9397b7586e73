//! `avsync compare` on inputs generated at test time: speech from espeak-ng, pictures from
//! FFmpeg's lavfi sources, shifted, resampled, spliced, mixed and re-encoded by ffmpeg and sox.
//! The truth is what those commands were told to do; every test asserts an error bound.

mod common;
mod support;

use avsync::commands::compare::{run, CompareOptions};
use avsync::grade::GradeOptions;
use avsync::report::{Outcome, Report};
use avsync::report::{Placement, SpliceKind};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::schema::{assert_valid, validator};

/// Required accuracy of the audio offset (the bound).
const AUDIO_TOLERANCE_MS: f64 = 0.1;
/// Required accuracy of the drift.
const DRIFT_TOLERANCE_PPM: f64 = 1.0;

const SENTENCES: &str = "Reference comparison finds where the audio that went into a \
    pipeline sits in what came out. The quick brown fox jumps over the lazy dog, and the five \
    boxing wizards jump quickly. Pack my box with five dozen liquor jugs.";

const OTHER_SENTENCES: &str = "This is the original soundtrack of the source video. It talks \
    about something else entirely, at another pitch, for long enough to cover the clip from its \
    first frame to its last, and then a little more.";

/// Runs a tool and panics with its stderr if it fails or is missing.
fn tool(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed for this test (see README set-up): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn s(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Spoken `text` as a mono WAV at `rate` Hz.
fn speech(dir: &Path, name: &str, text: &str, voice: &str, rate: u32) -> PathBuf {
    let raw = dir.join(format!("{name}-espeak.wav"));
    tool("espeak-ng", &["-v", voice, "-s", "150", "-w", s(&raw), text]);
    let out = dir.join(format!("{name}.wav"));
    common::ffmpeg(&["-i", s(&raw), "-ar", &rate.to_string(), "-ac", "1", s(&out)]);
    out
}

fn compare(options: &CompareOptions) -> Report {
    let broadcast = GradeOptions::default();
    let report = run(options, &broadcast).unwrap_or_else(|e| panic!("compare failed: {e}"));
    assert_valid(&validator(), &serde_json::to_value(&report).unwrap());
    report
}

/// An MP4 as a pipeline returns it: a 12 s test picture in H.264 and, in AAC, the audio that
/// `filter` makes of `inputs` (`[1:a]`, `[2:a]`... in order, ending in `[a]`); `extra` adds
/// output options (bitrate, length).
fn pipeline_output(output: &Path, inputs: &[&Path], filter: &str, extra: &[&str]) {
    let mut args = vec!["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=12"];
    for input in inputs {
        args.extend(["-i", s(input)]);
    }
    args.extend(["-filter_complex", filter, "-map", "0:v", "-map", "[a]"]);
    args.extend(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]);
    args.extend(extra);
    args.push(s(output));
    common::ffmpeg(&args);
}

fn audio_offset_ms(output: &Path, reference: &Path) -> f64 {
    let report = compare(&CompareOptions::new(output.into(), reference.into()));
    report.reference.unwrap().audio_offset_ms.expect("the reference is found")
}

#[test]
fn audio_offsets_are_exact_for_whole_fractional_and_large_shifts() {
    let dir = tempfile::tempdir().unwrap();
    let reference = speech(dir.path(), "ref", SENTENCES, "en", 48_000);
    // (name, ffmpeg audio filter on the 48 kHz reference, output rate, true offset in ms).
    // adelay/atrim by whole 48 kHz samples, then resampling, make fractional shifts.
    let cases: [(&str, &str, u32, f64); 6] = [
        ("early-40ms", "atrim=start_sample=1920,asetpts=PTS-STARTPTS", 48_000, 40.0),
        ("late-1500ms", "adelay=delays=72000S:all=1", 48_000, -1500.0),
        ("early-1200ms", "atrim=start_sample=57600,asetpts=PTS-STARTPTS", 48_000, 1200.0),
        ("late-7-samples-at-16k", "adelay=delays=7S:all=1", 16_000, -7.0 / 48.0),
        (
            "early-5-samples-at-44k1",
            "atrim=start_sample=5,asetpts=PTS-STARTPTS",
            44_100,
            5.0 / 48.0,
        ),
        (
            "late-1s-and-3-samples-at-22k05",
            "adelay=delays=48003S:all=1",
            22_050,
            -1000.0 - 3.0 / 48.0,
        ),
    ];
    for (name, filter, rate, truth_ms) in cases {
        let output = dir.path().join(format!("{name}.mp4"));
        let filter = format!("[1:a]{filter},aresample={rate}[a]");
        pipeline_output(&output, &[&reference], &filter, &["-b:a", "160k"]);
        let found = audio_offset_ms(&output, &reference);
        assert!(
            (found - truth_ms).abs() <= AUDIO_TOLERANCE_MS,
            "{name}: found {found:.4} ms, truth {truth_ms:.4} ms"
        );
    }
}

#[test]
fn mp3_and_m4a_references_agree_with_their_wav() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [16_000, 44_100] {
        let wav = speech(dir.path(), &format!("ref{rate}"), SENTENCES, "en", rate);
        let mp3 = dir.path().join(format!("ref{rate}.mp3"));
        let m4a = dir.path().join(format!("ref{rate}.m4a"));
        common::ffmpeg(&["-i", s(&wav), "-c:a", "libmp3lame", "-b:a", "64k", s(&mp3)]);
        common::ffmpeg(&["-i", s(&wav), "-c:a", "aac", "-b:a", "96k", s(&m4a)]);
        let output = dir.path().join(format!("out{rate}.mp4"));
        pipeline_output(&output, &[&wav], "[1:a]adelay=delays=321S:all=1[a]", &[]);
        let from_wav = audio_offset_ms(&output, &wav);
        for reference in [&mp3, &m4a] {
            let found = audio_offset_ms(&output, reference);
            assert!(
                (found - from_wav).abs() <= AUDIO_TOLERANCE_MS,
                "{}: {found:.4} ms, from the WAV {from_wav:.4} ms",
                reference.display()
            );
        }
    }
}

#[test]
fn drift_made_by_resampling_is_recovered_within_one_ppm() {
    let dir = tempfile::tempdir().unwrap();
    // About 65 s of speech at 16 kHz.
    let text = [SENTENCES, OTHER_SENTENCES].join(" ").repeat(3);
    let reference = speech(dir.path(), "long", &text, "en", 16_000);
    for ppm in [10.0, 250.0, 1000.0] {
        // sox's speed plays the audio `ppm` fast and resamples back to 16 kHz.
        let output = dir.path().join(format!("speed{ppm}.wav"));
        let factor = format!("{:.7}", 1.0 + ppm * 1e-6);
        tool("sox", &[s(&reference), s(&output), "speed", &factor]);
        let report = compare(&CompareOptions::new(output.clone(), reference.clone()));
        let drift = report.drift.expect("drift is measured").ppm;
        assert!((drift - ppm).abs() <= DRIFT_TOLERANCE_PPM, "{ppm} ppm: found {drift:.3}");
    }
}

#[test]
fn kling_style_insert_crop_and_mix_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let reference = speech(dir.path(), "driving", SENTENCES, "en", 44_100);
    let original = speech(dir.path(), "original", OTHER_SENTENCES, "en+f3", 44_100);
    // Kling: crop the reference to [sound_start, sound_end], insert it at sound_insert_time,
    // mix with the original track at original_audio_volume.
    let cases = [(0.0, 1.0, 0.0), (1.0, 1.0, 1.0), (2.0, 1.5, 2.0), (2.0, 0.5, 0.5)];
    for (original_volume, insert_s, crop_start_s) in cases {
        let output = dir.path().join(format!("kling-{original_volume}-{insert_s}.mp4"));
        let delay_ms = (insert_s * 1000.0) as u32;
        let filter = format!(
            "[1:a]volume={original_volume},apad[o];\
             [2:a]atrim=start={crop_start_s}:end=7,asetpts=PTS-STARTPTS,\
             adelay={delay_ms}:all=1[r];\
             [o][r]amix=inputs=2:duration=first:normalize=0[a]"
        );
        pipeline_output(&output, &[&original, &reference], &filter, &["-t", "12", "-b:a", "128k"]);
        let mut options = CompareOptions::new(output, reference.clone());
        options.expected = Placement { output_start_s: insert_s, ref_start_s: crop_start_s };
        let report = compare(&options);
        let case = format!("volume {original_volume}, insert {insert_s} s, crop {crop_start_s} s");
        let details = report.reference.as_ref().unwrap();
        let offset = details.audio_offset_ms.unwrap_or_else(|| panic!("{case}: not found"));
        assert!(offset.abs() <= AUDIO_TOLERANCE_MS, "{case}: offset {offset} ms");
        assert_eq!(report.verdict, Outcome::Pass, "{case}");
        // Edges of the section found: within 50 ms where speech decides them (the starts
        // here; under twice-as-loud AAC-coded audio the first quiet syllable edge is blurred);
        // an edge in a pause can sit anywhere in it (the end at 7 s falls in one).
        let output_start = details.output_start_s.unwrap();
        let ref_start = details.ref_start_s.unwrap();
        assert!((output_start - insert_s).abs() < 0.05, "{case}: starts at {output_start}");
        assert!((ref_start - crop_start_s).abs() < 0.05, "{case}: from {ref_start}");
        let duration = details.duration_s.unwrap();
        assert!((duration - (7.0 - crop_start_s)).abs() < 0.25, "{case}: lasts {duration}");
        // The gain is the reference's level as carried: alone, it is the level it went in at.
        // Under a louder mix, AAC masks part of it (-1.2 dB at volume 2 and 128 kb/s, against
        // -0.3 dB in PCM), so only the unmixed case is held to it.
        let gain = details.gain_db.unwrap();
        if original_volume == 0.0 {
            assert!(gain.abs() < 0.5, "{case}: gain {gain} dB");
        }
    }
}

#[test]
fn foreign_audio_is_inconclusive_not_a_forced_match() {
    let dir = tempfile::tempdir().unwrap();
    let reference = speech(dir.path(), "driving", SENTENCES, "en", 16_000);
    let other = speech(dir.path(), "other", OTHER_SENTENCES, "en+f3", 16_000);
    let report = compare(&CompareOptions::new(other, reference));
    assert_eq!(report.verdict, Outcome::Inconclusive);
    assert!(report.offset_ms.is_none());
    assert!(report.reason.contains("does not occur"), "{}", report.reason);
}

#[test]
fn a_truncated_reference_is_warned_about_and_fails_when_required() {
    let dir = tempfile::tempdir().unwrap();
    let reference = speech(dir.path(), "driving", SENTENCES, "en", 16_000);
    let truncated = dir.path().join("truncated.wav");
    common::ffmpeg(&["-i", s(&reference), "-af", "atrim=0:4", s(&truncated)]);
    let report = compare(&CompareOptions::new(truncated.clone(), reference.clone()));
    let details = report.reference.as_ref().unwrap();
    let section = details.ref_section_s.unwrap();
    let share = details.ref_found_share.unwrap();
    assert!((share * section - 4.0).abs() < 0.1, "{share} of {section} s");
    assert!(
        report.warnings.iter().any(|w| w.contains("reference audio") && w.contains("plays 4.0")),
        "{:?}",
        report.warnings
    );
    assert_eq!(report.verdict, Outcome::Pass, "without --require-reference it only warns");

    let avsync = env!("CARGO_BIN_EXE_avsync");
    let junit = dir.path().join("junit.xml");
    let required = Command::new(avsync)
        .args(["compare", s(&truncated), "--audio-ref", s(&reference), "--require-reference"])
        .args(["--json", "-", "--junit", s(&junit)])
        .output()
        .unwrap();
    assert_eq!(required.status.code(), Some(1), "{}", String::from_utf8_lossy(&required.stderr));
    let json: serde_json::Value = serde_json::from_slice(&required.stdout).unwrap();
    assert_valid(&validator(), &json);
    assert_eq!(json["reason_code"], "reference_partial");
    assert!(json["reason"].as_str().unwrap().contains("%)"), "{}", json["reason"]);
    // The measurement's time is in the JSON and the JUnit.
    assert!(json["elapsed_s"].as_f64().unwrap() > 0.0);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(!xml.contains("time=\"-0.000\"") && !xml.contains("time=\"0.000\""), "{xml}");

    let other = speech(dir.path(), "other", OTHER_SENTENCES, "en+f3", 16_000);
    let foreign = Command::new(avsync)
        .args(["compare", s(&other), "--audio-ref", s(&reference), "--require-reference"])
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert_eq!(foreign.status.code(), Some(1), "absent reference audio fails when required");
    let json: serde_json::Value = serde_json::from_slice(&foreign.stdout).unwrap();
    assert_eq!(json["reason_code"], "reference_not_found");
}

#[test]
fn cut_and_repeated_audio_are_reported_as_splices() {
    let dir = tempfile::tempdir().unwrap();
    let reference = speech(dir.path(), "ref", SENTENCES, "en", 16_000);
    // Reference 0–4 s, then 5–8 s (1 s cut), then 7.5 s to the end (0.5 s repeated).
    let output = dir.path().join("spliced.wav");
    common::ffmpeg(&[
        "-i",
        s(&reference),
        "-filter_complex",
        "[0:a]asplit=3[a][b][c];[a]atrim=0:4[a1];[b]atrim=5:8,asetpts=PTS-STARTPTS[b1];\
         [c]atrim=start=7.5,asetpts=PTS-STARTPTS[c1];[a1][b1][c1]concat=n=3:v=0:a=1[out]",
        "-map",
        "[out]",
        s(&output),
    ]);
    let report = compare(&CompareOptions::new(output, reference));
    let details = report.reference.unwrap();
    let kinds: Vec<SpliceKind> = details.splices.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [SpliceKind::Cut, SpliceKind::Repeat], "{:?}", details.splices);
    let (cut, repeat) = (&details.splices[0], &details.splices[1]);
    assert!((cut.duration_s - 1.0).abs() < 1e-3, "{cut:?}");
    assert!((cut.output_time_s - 4.0).abs() < 0.05, "{cut:?}");
    assert!((repeat.duration_s - 0.5).abs() < 1e-3, "{repeat:?}");
    assert!((repeat.output_time_s - 7.0).abs() < 0.05, "{repeat:?}");
}

#[test]
fn video_alignment_is_frame_exact_on_a_rescaled_reencoded_copy() {
    let dir = tempfile::tempdir().unwrap();
    let audio = speech(dir.path(), "driving", SENTENCES, "en", 16_000);
    let source = dir.path().join("source.mp4");
    // A moving picture whose neighbouring frames differ only a little.
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=25",
        "-i",
        s(&audio),
        "-t",
        "8",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "12",
        "-c:a",
        "aac",
        s(&source),
    ]);
    // The output: frame 50 dropped, frame 120 shown twice, rescaled, a box painted over the
    // lower middle (a repainted mouth), re-encoded, timestamps renumbered; audio 40 ms late.
    let output = dir.path().join("output.mp4");
    common::ffmpeg(&[
        "-i",
        s(&source),
        "-i",
        s(&audio),
        "-filter_complex",
        "[0:v]select='not(eq(n\\,50))',setpts=N/25/TB,split[a][b];\
         [a]trim=end_frame=120[a1];[b]trim=start_frame=119,setpts=PTS-STARTPTS[b1];\
         [a1][b1]concat=n=2:v=1:a=0,setpts=N/25/TB,scale=200:150,\
         drawbox=x=70:y=95:w=60:h=30:color=white@0.8:t=fill:enable='mod(n\\,2)'[v];\
         [1:a]adelay=40:all=1[au]",
        "-map",
        "[v]",
        "-map",
        "[au]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "26",
        "-c:a",
        "aac",
        s(&output),
    ]);
    let mut options = CompareOptions::new(output, audio);
    options.video_ref = Some(source);
    let report = compare(&options);
    let details = report.reference.as_ref().unwrap();
    // Output frame 50 shows source frame 51: one frame dropped after output frame 49.
    assert_eq!(details.dropped_frames.len(), 1, "{:?}", details.dropped_frames);
    let dropped = &details.dropped_frames[0];
    assert_eq!(dropped.frames, 1);
    assert!((dropped.output_time_s - 49.0 / 25.0).abs() < 1e-6, "{dropped:?}");
    assert!((dropped.ref_time_s - 50.0 / 25.0).abs() < 1e-6, "{dropped:?}");
    // Output frames 119 and 120 both show source frame 120.
    assert_eq!(details.repeated_frames.len(), 1, "{:?}", details.repeated_frames);
    let repeated = &details.repeated_frames[0];
    assert!((repeated.output_time_s - 119.0 / 25.0).abs() < 1e-6, "{repeated:?}");
    assert!((repeated.ref_time_s - 120.0 / 25.0).abs() < 1e-6, "{repeated:?}");
    assert!(details.frozen_frames.is_empty() && details.frame_rate_change.is_none());
    // Most frames (those after the drop and before the repeat are one ahead) are in place.
    assert_eq!(details.video_offset_ms, Some(0.0));
    let offset = report.offset_ms.unwrap();
    assert!((offset + 40.0).abs() <= AUDIO_TOLERANCE_MS, "A/V offset {offset} ms");
}

#[test]
fn a_frame_rate_change_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let audio = speech(dir.path(), "driving", SENTENCES, "en", 16_000);
    let source = dir.path().join("source30.mp4");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=30",
        "-i",
        s(&audio),
        "-t",
        "6",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "12",
        "-c:a",
        "aac",
        s(&source),
    ]);
    let output = dir.path().join("output25.mp4");
    common::ffmpeg(&[
        "-i",
        s(&source),
        "-vf",
        "fps=25",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "copy",
        s(&output),
    ]);
    let mut options = CompareOptions::new(output, audio);
    options.video_ref = Some(source);
    let report = compare(&options);
    let details = report.reference.unwrap();
    let change = details.frame_rate_change.expect("a frame-rate change");
    assert!((change.ref_fps - 30.0).abs() < 0.01 && (change.output_fps - 25.0).abs() < 0.01);
    // The conversion itself is not a list of drops.
    assert!(details.dropped_frames.is_empty(), "{:?}", details.dropped_frames);
    assert!(details.repeated_frames.is_empty(), "{:?}", details.repeated_frames);
    assert!(details.video_offset_ms.unwrap().abs() <= 1000.0 / 60.0);
}

#[test]
fn the_command_line_writes_the_plain_fields_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let reference = speech(dir.path(), "driving", SENTENCES, "en", 16_000);
    let output = dir.path().join("inserted.wav");
    common::ffmpeg(&["-i", s(&reference), "-af", "adelay=1000:all=1", s(&output)]);
    let avsync = env!("CARGO_BIN_EXE_avsync");
    let run_cli = |extra: &[&str]| {
        let mut args = vec!["compare", s(&output), "--audio-ref", s(&reference), "--json", "-"];
        args.extend_from_slice(extra);
        Command::new(avsync).args(&args).output().unwrap()
    };
    // Inserted at 1 s but expected at 0 s: 1000 ms late, a fail (exit 1).
    let late = run_cli(&[]);
    assert_eq!(late.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&late.stdout).unwrap();
    assert_valid(&validator(), &json);
    let reference_json = &json["reference"];
    assert!((reference_json["audio_offset_ms"].as_f64().unwrap() + 1000.0).abs() < 0.1);
    assert!((reference_json["output_start_s"].as_f64().unwrap() - 1.0).abs() < 0.02);
    assert!(reference_json["ref_start_s"].as_f64().unwrap().abs() < 0.02);
    assert!(reference_json["duration_s"].as_f64().unwrap() > 5.0);
    assert_eq!(json["method"], "reference");
    // Told where it belongs, it passes (exit 0).
    let placed = run_cli(&["--ref-insert-time", "1s"]);
    assert_eq!(placed.status.code(), Some(0), "{}", String::from_utf8_lossy(&placed.stderr));
    assert_valid(&validator(), &serde_json::from_slice(&placed.stdout).unwrap());
    // A missing reference is an input error (exit 4) naming the file.
    let missing = Command::new(avsync)
        .args(["compare", s(&output), "--audio-ref", "/nonexistent/ref.wav"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/ref.wav"));
}
