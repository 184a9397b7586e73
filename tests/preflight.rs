//! `avsync preflight`: every rule reported with its measured value, exit 1 when one fails.

mod common;

use common::{avsync, corpus, fixture};
use std::path::{Path, PathBuf};
use std::process::Command;

fn preflight_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["preflight"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "-"]);
    let (code, stdout, stderr) = avsync(&all);
    assert!(code == 0 || code == 1, "{args:?}: exit {code}: {stderr}");
    (code, serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

fn status_of<'a>(report: &'a serde_json::Value, input: &str, rule: &str) -> &'a str {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["input"] == input && r["rule"] == rule)
        .unwrap_or_else(|| panic!("no {input} {rule} rule in {report}"))["status"]
        .as_str()
        .unwrap()
}

#[test]
fn a_30_s_video_fails_kling_fal_on_its_duration_alone() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("long.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg("color=c=gray:s=1280x720:r=5:d=30")
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .arg(&video)
        .status()
        .unwrap();
    assert!(status.success());
    let audio = fixture("click_s16.wav").path.display().to_string();
    let video_arg = video.display().to_string();
    let (code, report) = preflight_json(&[&video_arg, &audio, "--target", "kling-fal"]);
    assert_eq!(code, 1);
    assert_eq!(report["verdict"], "fail");
    assert_eq!(status_of(&report, "video", "duration"), "fail");
    let duration = report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "duration");
    assert_eq!(duration.unwrap()["measured"], "30.00 s");
    for rule in ["format", "size", "width", "height"] {
        assert_eq!(status_of(&report, "video", rule), "pass", "video {rule}");
    }
    for rule in ["format", "size", "duration"] {
        assert_eq!(status_of(&report, "audio", rule), "pass", "audio {rule}");
    }
    // The same video is fine for the official API, which takes up to 60 s.
    let (code, report) = preflight_json(&[&video_arg, &audio, "--target", "kling-api"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn the_container_decides_the_format_and_a_wrong_extension_is_pointed_out() {
    let dir = tempfile::tempdir().unwrap();
    // An MP4 named .mov passes (MP4 is accepted) with a note; named .mkv it still passes.
    for name in ["clip.mov", "clip.mkv"] {
        let renamed = dir.path().join(name);
        std::fs::copy(&fixture("h264_aac_25.mp4").path, &renamed).unwrap();
        let (_, report) = preflight_json(&[renamed.to_str().unwrap(), "--target", "kling-fal"]);
        let format = report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "format");
        let format = format.unwrap();
        assert_eq!(format["status"], "pass");
        assert_eq!(format["measured"], "MP4");
        let ext = name.rsplit('.').next().unwrap();
        assert_eq!(format["note"], format!("the extension says .{ext} but the container is MP4"));
    }
    // A WebM is no MP4, whatever its name.
    let webm = dir.path().join("clip.mp4");
    std::fs::copy(&fixture("vp9_opus_30.webm").path, &webm).unwrap();
    let (code, report) = preflight_json(&[webm.to_str().unwrap(), "--target", "kling-fal"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "video", "format"), "fail");
}

#[test]
fn a_video_without_a_face_fails_the_face_rule() {
    let video = fixture("h264_aac_25.mp4").path.display().to_string();
    let (code, report) = preflight_json(&[&video, "--target", "useapi"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "video", "duration"), "pass");
    assert_eq!(status_of(&report, "video", "frontal_face"), "fail");
    assert_eq!(report["faces"], serde_json::json!([]));
    let (code, stdout, _) = avsync(&["preflight", &video, "--target", "useapi"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("faces  none found") && stdout.contains("no face found"), "{stdout}");
    assert!(stdout.contains("frontal face") && !stdout.contains("frontal_face"), "{stdout}");
}

/// The talking sample, its face blacked out from [`FACE_GONE_S`] to its end at
/// [`FACE_CLIP_S`]: the face leaves the frame.
const FACE_GONE_S: f64 = 6.0;
const FACE_CLIP_S: f64 = 10.0;

fn face_leaving_clip(dir: &Path) -> PathBuf {
    let sample = common::talking_sample(0);
    let clip = dir.join("face_leaves.mp4");
    let black =
        format!("drawbox=enable='gte(t,{FACE_GONE_S})':x=0:y=0:w=iw:h=ih:color=black:t=fill");
    let seconds = FACE_CLIP_S.to_string();
    common::refilter_video(&sample, &["-t", &seconds, "-vf", &black], &clip);
    clip
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn face_tracks_follow_the_face_leaving_the_frame_and_the_sound_rules_use_them() {
    let dir = tempfile::tempdir().unwrap();
    let clip = face_leaving_clip(dir.path());
    let (code, report) = preflight_json(&[s(&clip), "--target", "useapi"]);
    assert_eq!(code, 1, "seen in 60% of the frames is not a clear face: {report}");
    let faces = report["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{report}");
    let (start_ms, end_ms) =
        (faces[0]["start_ms"].as_f64().unwrap(), faces[0]["end_ms"].as_f64().unwrap());
    // One frame is 40 ms; the tracker may see the face up to a frame before it goes.
    assert!(
        start_ms < 40.0 && (end_ms - FACE_GONE_S * 1000.0).abs() <= 80.0,
        "{start_ms}–{end_ms}"
    );
    let seen = faces[0]["seen_share"].as_f64().unwrap();
    assert!((seen - FACE_GONE_S / FACE_CLIP_S).abs() < 0.02, "seen {seen}");
    assert_eq!(status_of(&report, "video", "frontal_face"), "fail");

    // kling-api: 4 s of speech inserted at 5 s overlaps the face (0–6 s) by 1 s; at 1 s, by 4 s.
    let audio = common::repo().join("testdata/generated/speech.wav");
    let placed = |insert_ms: &str| {
        preflight_json(&[
            s(&clip),
            s(&audio),
            "--target",
            "kling-api",
            "--sound-start-time",
            "0",
            "--sound-end-time",
            "4000",
            "--sound-insert-time",
            insert_ms,
        ])
        .1
    };
    let late = placed("5000");
    assert_eq!(status_of(&late, "audio", "face_overlap"), "fail", "{late}");
    assert_eq!(status_of(&late, "audio", "sound_crop"), "pass");
    assert_eq!(status_of(&late, "audio", "insert_range"), "pass");
    // The 25 s AUDIO is longer than the video, but only its 4 s crop is played.
    assert_eq!(status_of(&late, "audio", "fits_video"), "not_checked");
    let early = placed("1000");
    assert_eq!(status_of(&early, "audio", "face_overlap"), "pass", "{early}");

    // An insert time outside the video is an input error naming the video, and no report is
    // written.
    let json = dir.path().join("preflight.json");
    let (code, _, stderr) = avsync(&[
        "preflight",
        s(&clip),
        s(&audio),
        "--target",
        "kling-api",
        "--sound-insert-time",
        "12000",
        "--json",
        s(&json),
    ]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("face_leaves.mp4") && stderr.contains("outside the video"), "{stderr}");
    assert!(!json.exists());
}

#[test]
fn a_given_audio_is_checked_against_the_video_with_numbers_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let video = fixture("h264_aac_25.mp4").path.display().to_string();
    let long_audio = dir.path().join("long.wav");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg("sine=f=440:sample_rate=16000:d=70")
        .arg(&long_audio)
        .status()
        .unwrap();
    assert!(status.success());
    let audio = long_audio.display().to_string();
    let junit = dir.path().join("preflight.xml");
    // useapi limits no audio of its own, but a given AUDIO is still checked: 70 s of audio
    // does not fit the video.
    let (code, report) =
        preflight_json(&[&video, &audio, "--target", "useapi", "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(status_of(&report, "audio", "fits_video"), "fail");
    let fits = report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "fits_video");
    let fits = fits.unwrap();
    assert!((fits["value"].as_f64().unwrap() - 70.0).abs() < 0.1, "{fits}");
    assert_eq!(fits["unit"], "s");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), report["rules"].as_array().unwrap().len());
    let failed = cases.iter().find(|c| c.attribute("name") == Some("audio fits video")).unwrap();
    assert!(failed.children().any(|n| n.has_tag_name("failure")));
    // Numbers with units for the size and duration rules too.
    let (_, report) = preflight_json(&[&video, "--target", "kling-fal"]);
    let size = report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "size").unwrap();
    assert_eq!(size["unit"], "bytes");
    assert!(size["value"].as_f64().unwrap() > 1000.0);
}

/// The corpus videos the face rule is tried on: one in this many.
const FACE_RULE_EVERY_NTH_VIDEO: usize = 5;

#[test]
fn every_rule_of_every_target_is_reported_on_the_corpus() {
    let Some(corpus) = corpus("every_rule_of_every_target_is_reported_on_the_corpus") else {
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = manifest.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    let file_of = |id: &str| rows.iter().find(|r| r[0] == id).map(|r| corpus.join(r[1]));
    let mut failed = 0;
    let mut checked = 0;
    for (i, row) in rows.iter().filter(|r| !r[6].is_empty() && r[6] != "-").enumerate() {
        let video = corpus.join(row[1]);
        let audio = file_of(row[4]).filter(|_| !row[4].is_empty());
        // useapi's face rule runs the face tracker over every frame, slow in a debug build:
        // every fifth video (the face tests above measure it on clips with a known answer).
        let targets: &[(&str, usize)] = if i % FACE_RULE_EVERY_NTH_VIDEO == 0 {
            &[("kling-fal", 9), ("kling-api", 9), ("useapi", 3)]
        } else {
            &[("kling-fal", 9), ("kling-api", 9)]
        };
        for &(target, rules) in targets {
            let mut args = vec![video.to_str().unwrap()];
            if let Some(audio) = &audio {
                args.push(audio.to_str().unwrap());
            }
            args.extend_from_slice(&["--target", target]);
            let (code, report) = preflight_json(&args);
            let all = report["rules"].as_array().unwrap();
            assert_eq!(all.len(), rules, "{target} on {}: {report}", video.display());
            let any_fail = all.iter().any(|r| r["status"] == "fail");
            assert_eq!(code, i32::from(any_fail), "{target} on {}", video.display());
            for rule in all {
                assert!(rule["measured"].is_string() && rule["limit"].is_string(), "{rule}");
            }
            failed += usize::from(any_fail);
            checked += 1;
        }
    }
    eprintln!("preflight on the corpus: {failed} of {checked} runs failed a rule");
    assert!(checked > 0);
}
