//! `avsync check` end to end on generated talking-face clips (examples/talking_sample.rs: a
//! still face whose mouth follows espeak-ng speech, with a known audio offset), and its errors.

mod common;
mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use support::schema::{assert_valid, validator};

/// The sample's mouth is driven by loudness, not by a real speaker: content mode reads it a
/// few ms off, the same at every offset. Error allowed against the known offset (ms).
const SAMPLE_TOLERANCE_MS: f64 = 15.0;

fn avsync(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_avsync")).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn speech_wav() -> PathBuf {
    common::fixtures();
    common::repo().join("testdata/generated/speech.wav")
}

fn json_reports(args: &[&str]) -> (i32, Vec<Value>, String) {
    let (code, stdout, stderr) = avsync(&[&["check", "--json", "-"], args].concat());
    let reports: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stderr}"));
    // One input gives one JSON object, several an array.
    let reports = reports.as_array().cloned().unwrap_or_else(|| vec![reports]);
    (code, reports, stderr)
}

#[test]
fn known_offsets_of_the_talking_sample_are_measured_and_graded() {
    // (offset, exit code under broadcast +30/-90, exit code under cinema ±22)
    for (offset_ms, broadcast_exit, cinema_exit) in [(0, 0, 0), (120, 1, 1), (-60, 0, 1)] {
        let clip = common::talking_sample(offset_ms);
        let path = clip.to_str().unwrap();
        let (code, reports, _) = json_reports(&[path]);
        let report = &reports[0];
        assert_valid(&validator(), report);
        let measured = report["offset_ms"]
            .as_f64()
            .unwrap_or_else(|| panic!("{offset_ms}: inconclusive: {}", report["reason"]));
        assert!(
            (measured - f64::from(offset_ms)).abs() <= SAMPLE_TOLERANCE_MS,
            "{offset_ms} ms: measured {measured:.1} ms"
        );
        assert_eq!(code, broadcast_exit, "{offset_ms} ms under broadcast: {}", report["reason"]);
        assert_eq!(report["method"], "content");
        assert!(report["confidence"].as_f64().unwrap() > 0.5);
        assert!(report["content"]["z"].as_f64().unwrap() > 2.2);
        let (code, _, _) = avsync(&["check", "--quiet", "--profile", "cinema", path]);
        assert_eq!(code, cinema_exit, "{offset_ms} ms under cinema");
    }
}

#[test]
fn variable_frame_rate_video_is_timed_by_its_timestamps() {
    // Frames dropped in an irregular pattern, the rest keeping their presentation times: the
    // frame intervals vary between one and three periods. Counting frames at a nominal rate
    // would compress the picture's timeline by about a quarter.
    let clip = common::talking_sample(-60);
    let vfr = common::work_dir().join("vfr-60.mp4");
    common::refilter_video(
        &clip,
        &[
            "-vf",
            "select='not(eq(mod(n,5),2))*not(eq(mod(n,7),3))*not(eq(mod(n,11),6))'",
            "-fps_mode",
            "vfr",
        ],
        &vfr,
    );
    let times: Vec<f64> = common::ffprobe_frames(&vfr, "v:0").iter().map(|f| f.0).collect();
    let steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let (shortest, longest) =
        steps.iter().fold((f64::MAX, 0.0_f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    assert!(longest > 1.9 * shortest, "frame intervals {shortest:.3}..{longest:.3} s");
    let (_, reports, _) = json_reports(&[vfr.to_str().unwrap()]);
    let measured = reports[0]["offset_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("inconclusive: {}", reports[0]["reason"]));
    assert!((measured + 60.0).abs() <= SAMPLE_TOLERANCE_MS, "measured {measured:.1} ms");
}

#[test]
fn a_60_fps_clip_tracked_on_every_other_frame_measures_the_same() {
    let clip = common::talking_sample(-60);
    let fast = common::work_dir().join("fps60-60.mp4");
    common::refilter_video(&clip, &["-vf", "fps=60"], &fast);
    let (_, reports, _) = json_reports(&[fast.to_str().unwrap()]);
    let measured = reports[0]["offset_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("inconclusive: {}", reports[0]["reason"]));
    assert!((measured + 60.0).abs() <= SAMPLE_TOLERANCE_MS, "measured {measured:.1} ms");
}

#[test]
fn the_thumbnail_is_in_colour_and_the_measured_face_is_named_by_its_place() {
    // Two faces side by side, tinted: a still copy of the first frame on the left, the
    // talking one on the right.
    let clip = common::talking_sample(0);
    let pair = common::work_dir().join("two-faces-colour.mp4");
    common::refilter_video(
        &clip,
        &[
            "-filter_complex",
            "[0:v]split[a][b];[a]trim=end_frame=1,loop=loop=-1:size=1,setpts=N/FRAME_RATE/TB[still];\
             [still][b]hstack=shortest=1,format=rgb24,lutrgb=g=val*0.75:b=val*0.45,format=yuv420p",
        ],
        &pair,
    );
    let png = common::work_dir().join("two-faces-png");
    let html = common::work_dir().join("two-faces.html");
    let json = common::work_dir().join("two-faces.json");
    let (_, stdout, _) = avsync(&[
        "check",
        pair.to_str().unwrap(),
        "--color",
        "never",
        "--png",
        png.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(stdout.contains("used: right face (face "), "{stdout}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Face measured: right face (face "), "no face note in the HTML");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid(&validator(), &report);
    assert_eq!(report["content"]["face_position"], "right");
    assert!(report["content"]["face"].as_str().unwrap().starts_with("face "));

    // The thumbnail was grey: made from the luma the analysis decodes.
    let thumbnail = image::open(png.join("two-faces-colour-thumbnail.png")).unwrap().to_rgb8();
    let tinted = thumbnail.pixels().filter(|p| p[0] > 60 && p[0] as i32 - p[2] as i32 > 30);
    assert!(
        tinted.count() > (thumbnail.width() * thumbnail.height() / 4) as usize,
        "the thumbnail is not in colour"
    );
}

#[test]
fn the_text_summary_says_the_offset_in_words() {
    let clip = common::talking_sample(120);
    let (code, stdout, _) = avsync(&["check", clip.to_str().unwrap(), "--color", "never"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("early"), "{stdout}");
    assert!(stdout.contains("broadcast"), "{stdout}");
}

#[test]
fn a_silent_video_is_measured_against_its_audio_file() {
    let clip = common::talking_sample(0);
    let silent = common::work_dir().join("silent.mp4");
    common::ffmpeg(&["-i", clip.to_str().unwrap(), "-an", "-c", "copy", silent.to_str().unwrap()]);
    let silent = silent.to_str().unwrap();
    // Without --audio: an input error, exit 4, one line naming the file.
    let (code, _, stderr) = avsync(&["check", silent]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains(silent) && stderr.contains("--audio"), "{stderr}");
    // speech.wav's first sample meets the video's time 0, as in the sample: in sync.
    let (code, reports, _) = json_reports(&[silent, "--audio", speech_wav().to_str().unwrap()]);
    let offset = reports[0]["offset_ms"].as_f64().unwrap();
    assert!(offset.abs() <= SAMPLE_TOLERANCE_MS, "{offset}");
    assert_eq!(code, 0);
    assert_eq!(reports[0]["input"]["audio_path"], speech_wav().to_str().unwrap());
}

#[test]
fn no_speech_and_no_face_are_inconclusive_with_reasons() {
    let clip = common::talking_sample(0);
    let muted = common::work_dir().join("muted.mp4");
    common::ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-af",
        "volume=0",
        "-c:v",
        "copy",
        muted.to_str().unwrap(),
    ]);
    let faceless = common::work_dir().join("faceless.mp4");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=8",
        "-i",
        speech_wav().to_str().unwrap(),
        "-t",
        "8",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        faceless.to_str().unwrap(),
    ]);
    for (path, reason) in [(muted, "no speech"), (faceless, "no face")] {
        let (code, reports, _) = json_reports(&[path.to_str().unwrap()]);
        assert_eq!(code, 3, "{}", reports[0]);
        assert!(reports[0]["offset_ms"].is_null());
        assert_eq!(reports[0]["verdict"], "inconclusive");
        assert!(reports[0]["reason"].as_str().unwrap().starts_with(reason), "{}", reports[0]);
    }
}

#[test]
fn several_inputs_give_one_report_each_and_the_worst_exit_code() {
    let good = common::talking_sample(0);
    let missing = common::work_dir().join("missing.mp4");
    let speech = speech_wav();
    let (code, reports, stderr) = json_reports(&[
        good.to_str().unwrap(),
        missing.to_str().unwrap(),
        speech.to_str().unwrap(),
    ]);
    assert_eq!(code, 4);
    assert_eq!(reports.len(), 3);
    let schema = validator();
    reports.iter().for_each(|r| assert_valid(&schema, r));
    assert_eq!(reports[0]["verdict"], "pass");
    assert_eq!(reports[1]["verdict"], "error");
    assert!(reports[1]["reason"].as_str().unwrap().contains("no such file"));
    assert!(reports[2]["reason"].as_str().unwrap().contains("has no video stream"));
    assert!(stderr.contains(&format!("{}: no such file", missing.display())), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = avsync(&["check"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = avsync(&["check", "x.mp4", "--search", "500"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("needs a unit"), "{stderr}");
}

#[test]
fn lips_that_do_not_follow_the_words_score_low_and_say_where() {
    let clip = common::talking_sample(0);
    let (_, reports, _) = json_reports(&[clip.to_str().unwrap()]);
    let matched = reports[0]["content"]["match_score"].as_f64().unwrap();
    assert!(matched > 75.0, "in-sync sample scored {matched}");
    assert!(reports[0]["windows"].as_array().unwrap().iter().all(|w| w["match_score"].is_number()));

    // The same mouth against the speech played backwards: the rhythm of speech, other words.
    let reversed = common::work_dir().join("reversed.wav");
    common::ffmpeg(&[
        "-i",
        speech_wav().to_str().unwrap(),
        "-af",
        "areverse",
        reversed.to_str().unwrap(),
    ]);
    let (code, reports, _) =
        json_reports(&[clip.to_str().unwrap(), "--audio", reversed.to_str().unwrap()]);
    let report = &reports[0];
    assert_valid(&validator(), report);
    assert_eq!(code, 3, "{}", report["reason"]);
    let score = report["content"]["match_score"].as_f64().unwrap();
    assert!(score < 25.0, "reversed speech scored {score}");
    let warnings: Vec<&str> =
        report["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("lips do not follow the speech from 0:0")),
        "{warnings:?}"
    );
}

#[test]
fn a_speakers_own_lip_lead_from_an_in_sync_clip_calibrates_the_reading() {
    // A speaker whose lips lead their sound by 150 ms, far from the population's 60: without
    // calibration a clip 120 ms early reads about 90 ms less.
    const LEAD_MS: i32 = 150;
    let population_ms = avsync::estimate::content::SPEECH_LIP_LEAD_MS;
    let in_sync = common::talking_sample_with_lead(0, Some(LEAD_MS));
    let shifted = common::talking_sample_with_lead(120, Some(LEAD_MS));
    // One run: the JSON report to a file, the text to stdout.
    let json = common::work_dir().join("calibrated.json");
    let (code, text, stderr) = avsync(&[
        "check",
        "--json",
        json.to_str().unwrap(),
        "--calibrate-with",
        in_sync.to_str().unwrap(),
        shifted.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid(&validator(), &report);
    let calibration = &report["content"]["calibration"];
    assert_eq!(calibration["used"], "calibrated", "{stderr}");
    let value = |key: &str| calibration[key].as_f64().unwrap_or_else(|| panic!("{key}: {report}"));
    let lead = value("lip_lead_ms");
    assert!((lead - f64::from(LEAD_MS)).abs() <= SAMPLE_TOLERANCE_MS, "lead {lead:.1} ms");
    let calibrated = value("calibrated_offset_ms");
    assert!((calibrated - 120.0).abs() <= SAMPLE_TOLERANCE_MS, "calibrated {calibrated:.1} ms");
    assert_eq!(report["offset_ms"].as_f64(), Some(calibrated));
    let uncalibrated = value("uncalibrated_offset_ms");
    let expected_uncalibrated = 120.0 - (f64::from(LEAD_MS) - population_ms);
    assert!(
        (uncalibrated - expected_uncalibrated).abs() <= SAMPLE_TOLERANCE_MS,
        "uncalibrated {uncalibrated:.1} ms"
    );
    assert!(value("calibrated_uncertainty_ms") < value("uncalibrated_uncertainty_ms"));
    assert_eq!(report["uncertainty_ms"].as_f64(), Some(value("calibrated_uncertainty_ms")));
    assert_eq!(code, 1, "120 ms early fails broadcast");
    assert!(text.contains("calibrated with") && text.contains("calibrated used"), "{text}");
    eprintln!(
        "lead {lead:.1} ms; calibrated {calibrated:.1} ±{:.1} ms; uncalibrated {uncalibrated:.1} \
         ±{:.1} ms",
        value("calibrated_uncertainty_ms"),
        value("uncalibrated_uncertainty_ms")
    );
}

/// `measure` decodes a short clip's picture and sound in two passes side by side, a long
/// clip's in one: both give the same features and the health of both streams. When the sound's
/// pass fails, its error is the one returned (not the picture's pass stopping because of it).
#[test]
fn the_picture_and_the_sound_are_measured_in_passes_side_by_side() {
    use avsync::commands::check::{measure, CheckOptions};
    let models = avsync::features::face::FaceModels::load().unwrap();
    let clip = common::talking_sample(0);
    let info = avsync::media::probe(&clip).unwrap();
    let measured = measure(&clip, &info, &models, &CheckOptions::default()).unwrap();
    let (video, audio) = (measured.health.video.unwrap(), measured.health.audio.unwrap());
    assert!(video.packets > 0 && audio.packets > 0, "{video:?} {audio:?}");
    assert!(!measured.lips.is_empty() && !measured.audio.is_empty());
    let long = avsync::media::MediaInfo { duration_s: Some(3600.0), ..info.clone() };
    let one_pass = measure(&clip, &long, &models, &CheckOptions::default()).unwrap();
    assert_eq!(one_pass.health, measured.health);
    assert!(one_pass.audio == measured.audio && one_pass.lips == measured.lips);

    let not_audio = common::work_dir().join("not_audio.wav");
    std::fs::write(&not_audio, b"this is not a WAV file\n").unwrap();
    let options = CheckOptions { audio_file: Some(not_audio.clone()), ..CheckOptions::default() };
    let Err(err) = measure(&clip, &info, &models, &options) else {
        panic!("measured without audio")
    };
    let err = err.to_string();
    assert!(err.contains(not_audio.to_str().unwrap()) && !err.contains("stopped"), "{err}");
}
