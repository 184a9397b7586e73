//! `avsync pattern`: round trips through the generator, FFmpeg re-encodes and third-party
//! patterns made with plain FFmpeg filters, with the accuracy the README states.
//!
//! Needs the `ffmpeg` command line (installed with the FFmpeg development libraries).

mod common;
mod support;

use avsync::commands::pattern::{analyze, generate, GenerateOptions};
use avsync::features::pattern::PatternSpec;
use avsync::grade::GradeOptions;
use avsync::media::encode::{AudioCodec, VideoCodec};
use avsync::report::{Outcome, Report};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::schema::{assert_valid, validator};

fn spec(fps: &str, audio_offset_ms: f64, drift_ppm: f64, duration_s: f64) -> PatternSpec {
    PatternSpec {
        width: 320,
        height: 180,
        frame_rate: fps.parse().unwrap(),
        duration_s,
        period_s: 1.0,
        sample_rate: 48_000,
        audio_offset_ms,
        drift_ppm,
        tone_hz: 1000.0,
    }
}

fn make(
    dir: &Path,
    name: &str,
    spec: PatternSpec,
    video: VideoCodec,
    audio: AudioCodec,
) -> PathBuf {
    let output = dir.join(name);
    let options =
        GenerateOptions { output: output.clone(), spec, video_codec: video, audio_codec: audio };
    let summary = generate(&options).unwrap_or_else(|e| panic!("generate {name}: {e}"));
    assert!(!summary.events.is_empty());
    output
}

fn measure(path: &Path) -> Report {
    let report = analyze(path, &GradeOptions::default(), true)
        .unwrap_or_else(|e| panic!("analyze {}: {e}", path.display()));
    assert!(report.offset_ms.is_some(), "{}: inconclusive: {}", path.display(), report.reason);
    assert_valid(&validator(), &serde_json::to_value(&report).unwrap());
    report
}

/// Asserts the clip's offset and every event's offset are within `max_error_ms` of `truth_ms`.
fn assert_offset(report: &Report, truth_ms: f64, max_error_ms: f64) {
    let offset = report.offset_ms.unwrap();
    let error = offset - truth_ms;
    assert!(
        error.abs() <= max_error_ms,
        "{}: offset {offset:.4} ms, truth {truth_ms} ms, error {error:.4} ms > {max_error_ms} ms",
        report.input.path
    );
    let details = report.pattern.as_ref().unwrap();
    for event in &details.events {
        let error = event.offset_ms - truth_ms;
        assert!(
            error.abs() <= max_error_ms,
            "{}: event at {:.3} s off by {error:.4} ms",
            report.input.path,
            event.flash_s
        );
    }
}

#[test]
fn lossless_ffv1_pcm_is_within_50_microseconds_at_fractional_and_integer_rates() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("24000/1001", 12.345, "a.mov"),
        ("25", -0.321, "b.mov"),
        ("30000/1001", 7.777, "c.mkv"),
        ("50", -33.3, "d.mov"),
        ("60000/1001", 0.04, "e.mov"),
    ];
    for (fps, offset_ms, name) in cases {
        let path = make(
            dir.path(),
            name,
            spec(fps, offset_ms, 0.0, 4.0),
            VideoCodec::Ffv1,
            AudioCodec::Pcm,
        );
        let report = measure(&path);
        assert_offset(&report, offset_ms, 0.05);
        let details = report.pattern.as_ref().unwrap();
        assert_eq!(details.events.len(), 4, "{name}");
        assert!(details.tone_phase_locked, "{name}");
        let frames = details.frames.as_ref().expect("avsync's pattern carries counters");
        assert_eq!((frames.unreadable, frames.dropped, frames.repeated), (0, 0, 0), "{name}");
        assert_eq!(report.verdict, Outcome::Pass, "{name}");
    }
}

#[test]
fn h264_aac_is_within_half_a_millisecond_from_the_generator_and_after_an_ffmpeg_reencode() {
    let dir = tempfile::tempdir().unwrap();
    // Straight from the generator: AAC's 1024-sample priming must be undone by the MP4 edit
    // list, or every beep would appear 21.3 ms late.
    let direct = make(
        dir.path(),
        "direct.mp4",
        spec("30000/1001", -23.456, 0.0, 5.0),
        VideoCodec::H264,
        AudioCodec::Aac,
    );
    assert_offset(&measure(&direct), -23.456, 0.5);
    // A lossless master re-encoded by FFmpeg with its default H.264 and AAC settings.
    let master = make(
        dir.path(),
        "master.mov",
        spec("25", 41.7, 0.0, 5.0),
        VideoCodec::Ffv1,
        AudioCodec::Pcm,
    );
    let reencoded = dir.path().join("reencoded.mp4");
    common::ffmpeg(&[
        "-i",
        master.to_str().unwrap(),
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        reencoded.to_str().unwrap(),
    ]);
    let report = measure(&reencoded);
    assert_offset(&report, 41.7, 0.5);
    assert_eq!(report.pattern.as_ref().unwrap().frames.as_ref().unwrap().dropped, 0);
}

#[test]
fn rescaled_quieted_noisy_low_bitrate_copy_is_within_a_millisecond() {
    let dir = tempfile::tempdir().unwrap();
    let master = make(
        dir.path(),
        "master.mov",
        spec("30000/1001", 12.5, 0.0, 6.0),
        VideoCodec::Ffv1,
        AudioCodec::Pcm,
    );
    // The beep is 0.5 peak; −30 dB leaves an RMS of 0.0112. Uniform noise of amplitude a has
    // an RMS of a/√3: 0.00194 puts it 20 dB below the beep.
    let degraded = dir.path().join("degraded.mp4");
    common::ffmpeg(&[
        "-i",
        master.to_str().unwrap(),
        "-filter_complex",
        "[0:v]scale=426:240[v];[0:a]volume=-30dB[q];\
         anoisesrc=color=white:amplitude=0.00194:sample_rate=48000:seed=7[n];\
         [q][n]amix=inputs=2:normalize=0:duration=first[a]",
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        degraded.to_str().unwrap(),
    ]);
    assert_offset(&measure(&degraded), 12.5, 1.0);
}

#[test]
fn drift_from_10_to_1000_ppm_is_recovered_within_2_ppm() {
    let dir = tempfile::tempdir().unwrap();
    for (drift_ppm, video, audio, name) in [
        (10.0, VideoCodec::H264, AudioCodec::Aac, "d10.mp4"),
        (-250.0, VideoCodec::Ffv1, AudioCodec::Pcm, "d250.mov"),
        (1000.0, VideoCodec::H264, AudioCodec::Aac, "d1000.mp4"),
    ] {
        let path = make(dir.path(), name, spec("24000/1001", 3.0, drift_ppm, 20.0), video, audio);
        let report = measure(&path);
        let drift = report.drift.expect("20 events over 19 s give a drift");
        assert!(
            (drift.ppm - drift_ppm).abs() <= 2.0,
            "{name}: drift {:.3} ppm, truth {drift_ppm} ppm",
            drift.ppm
        );
        assert!((drift.ms_per_min - drift_ppm * 0.06).abs() <= 2.0 * 0.06);
    }
}

#[test]
fn third_party_full_frame_flash_with_gated_sine_through_h264_aac() {
    // A white frame each second from lavfi `color` + `drawbox`; a 1 kHz `sine` gated on for
    // 100 ms each second by an `aevalsrc` square wave, then delayed 40 ms: audio 40 ms late.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clapper.mp4");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=320x240:r=25:d=6,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t,1),0.12)'",
        "-f",
        "lavfi",
        "-i",
        "sine=f=1000:sample_rate=48000:d=6",
        "-f",
        "lavfi",
        "-i",
        "aevalsrc='lt(mod(t,1),0.1)':s=48000:d=6",
        "-filter_complex",
        "[1:a][2:a]amultiply,volume=0.5,adelay=40[a]",
        "-map",
        "0:v",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        path.to_str().unwrap(),
    ]);
    let report = measure(&path);
    assert_offset(&report, -40.0, 0.5);
    let details = report.pattern.as_ref().unwrap();
    assert_eq!(details.events.len(), 6);
    assert!((details.tone_hz.unwrap() - 1000.0).abs() < 1.0);
    assert!(details.frames.is_none(), "no counters in a third-party clip");
}

#[test]
fn third_party_partial_frame_flash_in_a_corner_with_an_unlocked_tone() {
    // A 40×40 square on grey lights up at 0.3123 s + 0.8 s·k, part-way through a 29.97 fps
    // frame, as a camera would catch it: each frame shows the share of its interval the light
    // was on. A 2997 Hz tone (a different phase each time) switches on at 0.333 s + 0.8 s·k.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera.mov");
    let frame = "0.033366666666666664";
    let onset = format!("(0.3123+0.8*floor((T+{frame}-0.3123)/0.8))");
    let lit = format!("clip((min(T+{frame},{onset}+0.1)-max(T,{onset}))/{frame},0,1)");
    let video = format!(
        "color=c=0x646464:s=320x180:r=30000/1001:d=6,format=gray,\
         geq=lum='if(between(X,W-60,W-21)*between(Y,20,59),100+135*{lit},100)'"
    );
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &video,
        "-f",
        "lavfi",
        "-i",
        "aevalsrc='if(lt(mod(t-0.333,0.8),0.06),0.3*sin(2*PI*2997*t),0)':s=48000:d=6",
        "-c:v",
        "ffv1",
        "-c:a",
        "pcm_s16le",
        path.to_str().unwrap(),
    ]);
    let report = measure(&path);
    // 8-bit levels place a partial flash to about 1/270 of a frame (0.12 ms).
    assert_offset(&report, 312.3 - 333.0, 0.3);
    let details = report.pattern.as_ref().unwrap();
    assert_eq!(details.events.len(), 8);
    assert!(!details.tone_phase_locked);
    assert!(details.events.iter().all(|e| e.flash_fraction > 0.5 && e.flash_fraction < 0.95));
    assert!(details.flash_region_share < 0.1);
}

#[test]
fn dropped_and_repeated_frames_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let master = make(
        dir.path(),
        "master.mov",
        spec("25", 0.0, 0.0, 4.0),
        VideoCodec::Ffv1,
        AudioCodec::Pcm,
    );
    let master = master.to_str().unwrap();
    let dropped = dir.path().join("dropped.mov");
    common::ffmpeg(&[
        "-i",
        master,
        "-vf",
        "select='not(between(n,40,41))'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "ffv1",
        "-c:a",
        "copy",
        dropped.to_str().unwrap(),
    ]);
    let report = measure(&dropped);
    let frames = report.pattern.as_ref().unwrap().frames.clone().unwrap();
    assert_eq!((frames.dropped, frames.repeated), (2, 0));
    // Frames 40 and 41 (1.60 and 1.64 s) are gone: the next one shown is frame 42 at 1.68 s.
    assert_eq!(frames.dropped_at_s.len(), 1);
    assert!((frames.dropped_at_s[0] - 1.68).abs() < 0.001, "{:?}", frames.dropped_at_s);
    assert!(report.warnings.iter().any(|w| w.contains("at 1.680 s")), "{:?}", report.warnings);
    let repeated = dir.path().join("repeated.mov");
    common::ffmpeg(&[
        "-i",
        master,
        "-vf",
        "fps=30",
        "-c:v",
        "ffv1",
        "-c:a",
        "copy",
        repeated.to_str().unwrap(),
    ]);
    let report = measure(&repeated);
    let frames = report.pattern.unwrap().frames.unwrap();
    assert_eq!(frames.dropped, 0);
    assert!((19..=21).contains(&frames.repeated), "{frames:?}");
    assert!(report.warnings.iter().any(|w| w.contains("repeated")));
}

#[test]
fn a_clip_without_flashes_or_beeps_is_inconclusive_with_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steady.mp4");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=160x120:r=25:d=3",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:sample_rate=48000:d=3",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        path.to_str().unwrap(),
    ]);
    let report = analyze(&path, &GradeOptions::default(), false).unwrap();
    assert_eq!(report.offset_ms, None);
    assert_eq!(report.verdict, Outcome::Inconclusive);
    assert!(report.reason.contains("no flashes"), "{}", report.reason);
    let output = Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(["pattern", "analyze", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn command_line_round_trip_json_grading_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mov");
    let avsync = || Command::new(env!("CARGO_BIN_EXE_avsync"));
    let generated = avsync()
        .args(["pattern", "generate", clip.to_str().unwrap(), "--fps", "50", "--duration", "3s"])
        .args(["--size", "256x144", "--period", "500ms", "--audio-offset", "-12.5"])
        .args(["--video-codec", "ffv1", "--audio-codec", "pcm", "--tone", "2500"])
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    assert!(String::from_utf8_lossy(&generated.stdout).contains("audio 12 ms late"));

    let analyzed = avsync()
        .args(["pattern", "analyze", clip.to_str().unwrap(), "--json", "-"])
        .args(["--profile", "broadcast", "--tolerance", "+5/-5"])
        .output()
        .unwrap();
    // 12.5 ms late passes broadcast and fails ±5 ms: the worst verdict (fail) sets the exit.
    assert_eq!(analyzed.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&analyzed.stdout).unwrap();
    assert_valid(&validator(), &json);
    assert_eq!(json["method"], "pattern");
    assert!((json["offset_ms"].as_f64().unwrap() + 12.5).abs() < 0.05);
    assert_eq!(json["verdicts"][0]["result"], "pass");
    assert_eq!(json["verdicts"][1]["result"], "fail");
    assert_eq!(json["pattern"]["events"].as_array().unwrap().len(), 5);
    assert!((json["pattern"]["tone_hz"].as_f64().unwrap() - 2500.0).abs() < 1.0);
    assert_eq!(json["windows"].as_array().unwrap().len(), 5);

    let missing = avsync().args(["pattern", "analyze", "no/such/file.mp4"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such file"));
    let ambiguous = avsync()
        .args(["pattern", "generate", clip.to_str().unwrap(), "--audio-offset", "600"])
        .output()
        .unwrap();
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("half the period"));
    let bad_rate = avsync()
        .args(["pattern", "generate", clip.to_str().unwrap(), "--fps", "fast"])
        .output()
        .unwrap();
    assert_eq!(bad_rate.status.code(), Some(2));
}
