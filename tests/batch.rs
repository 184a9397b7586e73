//! Batches: directories, globs and manifests as inputs, parallel jobs, the summary table,
//! CI shards and `avsync merge`, streaming and `--resume`.
//!
//! The 3 s fixtures hold no talking face, so `check` finds them inconclusive in a moment: these
//! tests are about what a batch does with its inputs, not about measuring.

mod common;

use common::avsync;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

const CLIPS: [&str; 3] = ["h264_aac_25.mp4", "vp9_opus_30.webm", "mpeg4_pcm16k_50.mov"];

/// A directory with the three fixture clips (one in a subdirectory), a file that is not
/// media but has a media extension, and a text file that the extension filter leaves out.
fn batch_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    for (i, name) in CLIPS.iter().enumerate() {
        let to = if i == 2 { dir.path().join("sub").join(name) } else { dir.path().join(name) };
        fs::copy(&common::fixture(name).path, to).unwrap();
    }
    fs::write(dir.path().join("bad.mp4"), b"not a video at all").unwrap();
    fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn inputs_of(reports: &[Value]) -> Vec<String> {
    let mut inputs: Vec<String> =
        reports.iter().map(|r| r["input"]["path"].as_str().unwrap().to_string()).collect();
    inputs.sort();
    inputs
}

#[test]
fn a_directory_of_three_clips_and_a_bad_file_gives_four_rows_and_exit_4() {
    let dir = batch_dir();
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.csv");
    let (code, stdout, stderr) =
        avsync(&["check", s(dir.path()), "--jobs", "2", "--summary", s(&summary)]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    assert!(stdout.contains("4 inputs: 3 inconclusive, 1 error"), "{stdout}");
    assert!(!stdout.contains("notes.txt"), "{stdout}");

    let mut reader = csv::Reader::from_path(&summary).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let verdicts: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(verdicts.iter().filter(|v| **v == "error").count(), 1, "{verdicts:?}");
    let bad = rows.iter().find(|r| r[0].ends_with("bad.mp4")).unwrap();
    assert_eq!(&bad[1], "error");

    // A glob takes the same files, without the extension filter of a directory.
    let pattern = dir.path().join("*.mp4");
    let (code, stdout, _) = avsync(&["check", s(&pattern), "--jsonl"]);
    assert_eq!(code, 4);
    let names = inputs_of(&json_lines(&stdout));
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".mp4")));
}

#[test]
fn shards_are_disjoint_and_merge_joins_them_with_the_worst_exit_code() {
    let dir = batch_dir();
    let out = tempfile::tempdir().unwrap();
    let mut shards = Vec::new();
    for k in 1..=2 {
        let reports = out.path().join(format!("shard{k}"));
        let (code, stdout, stderr) = avsync(&[
            "check",
            s(dir.path()),
            "--shard",
            &format!("{k}/2"),
            "--report-dir",
            s(&reports),
            "--jsonl",
        ]);
        assert!(code == 3 || code == 4, "{stderr}");
        shards.push(inputs_of(&json_lines(&stdout)));
    }
    assert_eq!(shards[0].len() + shards[1].len(), 4, "{shards:?}");
    assert!(shards[0].iter().all(|input| !shards[1].contains(input)), "{shards:?}");

    let junit = out.path().join("merged.xml");
    let summary = out.path().join("merged.html");
    let (code, stdout, stderr) = avsync(&[
        "merge",
        s(&out.path().join("shard1")),
        s(&out.path().join("shard2")),
        "--junit",
        s(&junit),
        "--summary",
        s(&summary),
    ]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    assert!(stdout.contains("4 inputs: 3 inconclusive, 1 error"), "{stdout}");
    let xml = fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases = doc.descendants().filter(|n| n.has_tag_name("testcase")).count();
    assert_eq!(cases, 4, "{xml}");
    let html = fs::read_to_string(&summary).unwrap();
    assert!(html.find("bad.mp4").unwrap() < html.find("h264_aac_25.mp4").unwrap(), "worst first");
    assert!(html.contains("href=\"shard"), "rows link to their reports: {html}");

    // The merge of the inconclusive shard alone exits 3.
    let inconclusive_only = if shards[0].iter().any(|i| i.ends_with("bad.mp4")) { 2 } else { 1 };
    let (code, _, _) = avsync(&["merge", s(&out.path().join(format!("shard{inconclusive_only}")))]);
    assert_eq!(code, 3);
}

#[test]
fn a_manifest_row_with_a_bad_path_is_an_error_row_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::fixture(CLIPS[0]).path.clone();
    let manifest = dir.path().join("jobs.csv");
    fs::write(
        &manifest,
        format!("input,profile,expected_offset_ms\n{},cinema,40\nmissing.mp4,,\n", s(&clip)),
    )
    .unwrap();
    let (code, stdout, _) = avsync(&["check", "--manifest", s(&manifest), "--json", "-"]);
    assert_eq!(code, 4, "{stdout}");
    let reports: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(reports[0]["verdicts"][0]["profile"], "cinema", "the row's profile");
    assert_eq!(reports[1]["verdict"], "error");
    let reason = reports[1]["reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("{} line 3: ", manifest.display())), "{reason}");

    // Rows the manifest cannot hold (a wrong type, an unknown column, a bad line) are error
    // rows naming the file and line; the good row around them is still measured.
    fs::write(
        &manifest,
        format!("input,expected_offset_ms,speed\na.mp4,soon,\n{},,\nb.mp4,,fast\n", s(&clip)),
    )
    .unwrap();
    let (code, stdout, stderr) = avsync(&["check", "--manifest", s(&manifest), "--json", "-"]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    let reports: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let reasons: Vec<&str> = reports.iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert!(reasons[0].contains("jobs.csv line 2: expected_offset_ms 'soon' is not a number"));
    assert_eq!(reports[1]["verdict"], "inconclusive", "{}", reasons[1]);
    assert!(reasons[2].contains("jobs.csv line 4: unknown column 'speed'"), "{}", reasons[2]);
    assert!(stderr.contains("line 2: expected_offset_ms 'soon'"), "{stderr}");
}

/// A flash/beep pattern clip with its audio `offset_ms` early, made by avsync itself.
fn pattern_clip(dir: &Path, name: &str, offset_ms: &str) -> PathBuf {
    let path = dir.join(name);
    let (code, stdout, stderr) = avsync(&[
        "pattern",
        "generate",
        s(&path),
        "--duration",
        "4s",
        "--size",
        "320x180",
        "--audio-offset",
        offset_ms,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    path
}

#[test]
fn pattern_analyze_and_compare_take_batches_too() {
    let dir = tempfile::tempdir().unwrap();
    let early = pattern_clip(dir.path(), "early.mp4", "40ms");
    pattern_clip(dir.path(), "late.mp4", "-60ms");
    let (code, stdout, stderr) =
        avsync(&["pattern", "analyze", s(dir.path()), "--jobs", "2", "--jsonl", "--json", "-"]);
    assert_eq!(code, 1, "late by 60 ms fails cinema: {stdout}{stderr}");
    let mut reports = json_lines(&stdout);
    reports.sort_by_key(|r| r["input"]["path"].as_str().unwrap().to_string());
    let offsets: Vec<f64> = reports.iter().map(|r| r["offset_ms"].as_f64().unwrap()).collect();
    assert!((offsets[0] - 40.0).abs() < 2.0 && (offsets[1] + 60.0).abs() < 2.0, "{offsets:?}");

    // compare: each row its own reference; a row without one is an error row, the rest go on.
    let reference = dir.path().join("ref.wav");
    common::ffmpeg(&["-i", s(&early), "-vn", s(&reference)]);
    let manifest = dir.path().join("pairs.jsonl");
    fs::write(
        &manifest,
        "{\"input\": \"early.mp4\", \"audio_ref\": \"ref.wav\", \"expected_offset_ms\": 0}\n\
         {\"input\": \"late.mp4\"}\n",
    )
    .unwrap();
    let summary = dir.path().join("summary.jsonl");
    let (code, stdout, stderr) =
        avsync(&["compare", "--manifest", s(&manifest), "--summary", s(&summary), "--json", "-"]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    let reports: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert!(reports[0]["offset_ms"].as_f64().unwrap().abs() < 1.0, "{}", reports[0]);
    assert!(
        reports[1]["reason"].as_str().unwrap().contains("no reference audio"),
        "{}",
        reports[1]
    );
    let rows = json_lines(&fs::read_to_string(&summary).unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.iter().filter(|r| r["expected_offset_ms"] == 0.0).count(), 1);
}

#[test]
fn resume_takes_the_saved_reports_and_measures_the_rest_again() {
    let dir = batch_dir();
    let out = tempfile::tempdir().unwrap();
    let reports = out.path().join("reports");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> =
            ["check", s(dir.path()), "--report-dir", s(&reports), "--jsonl"]
                .map(String::from)
                .into();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        avsync(&refs)
    };
    let (code, stdout, _) = run(args(&[]));
    assert_eq!((code, json_lines(&stdout).len()), (4, 4));
    let saved: Vec<PathBuf> = fs::read_dir(&reports).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(saved.len(), 4);

    // Mark the saved reports, then resume: the marked ones come back as saved; the error is
    // measured again (what failed may have been fixed) and its file rewritten.
    for path in &saved {
        let mut report: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        report["warnings"] = serde_json::json!(["from the first run"]);
        fs::write(path, serde_json::to_string(&report).unwrap()).unwrap();
    }
    let (code, stdout, _) = run(args(&["--resume"]));
    assert_eq!(code, 4);
    let resumed = json_lines(&stdout);
    assert_eq!(resumed.len(), 4);
    for report in &resumed {
        let kept = report["warnings"] == serde_json::json!(["from the first run"]);
        assert_eq!(kept, report["verdict"] != "error", "{report}");
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_every_finished_row() {
    let dir = tempfile::tempdir().unwrap();
    let clip = &common::fixture(CLIPS[0]).path;
    for i in 0..8 {
        fs::copy(clip, dir.path().join(format!("clip{i}.mp4"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let reports = out.path().join("reports");
    let summary = out.path().join("summary.csv");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(["check", s(dir.path()), "-j", "1", "-q", "--report-dir", s(&reports)])
        .args(["--summary", s(&summary)])
        .spawn()
        .unwrap();
    // Reports only: a report being written is a hidden temporary file until it is whole.
    let finished = || {
        fs::read_dir(&reports).map_or(0, |d| {
            d.filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.'))
                .count()
        })
    };
    let started = std::time::Instant::now();
    while finished() < 2 && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the child we started and have not waited for.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));

    let saved = finished();
    assert!((2..8).contains(&saved), "{saved} reports: interrupted after two");
    let mut reader = csv::Reader::from_path(&summary).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // A row is written just after its report: the interrupt may fall between the two.
    assert!(rows.len() + 1 >= saved && rows.len() <= saved, "{} rows, {saved} reports", rows.len());
    for row in &rows {
        assert!(out.path().join(&row[8]).is_file(), "each row's report is there: {row:?}");
    }
    let leftovers = fs::read_dir(out.path()).unwrap().chain(fs::read_dir(&reports).unwrap());
    assert!(leftovers
        .map(|e| e.unwrap().file_name())
        .all(|n| !n.to_string_lossy().starts_with('.')));
}

#[test]
fn probe_and_preflight_take_batches_too() {
    let dir = batch_dir();
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("probe.html");
    let reports = out.path().join("probes");
    let probe = |extra: &[&str]| {
        let mut args = vec!["probe", s(dir.path()), "--jsonl", "--report-dir", s(&reports)];
        args.extend_from_slice(extra);
        avsync(&args)
    };
    let table = out.path().join("probe.csv");
    let (code, stdout, stderr) = probe(&["--summary", s(&summary), "--summary", s(&table)]);
    assert_eq!(code, 4, "one file is not media: {stdout}{stderr}");
    let probes = json_lines(&stdout);
    assert_eq!(probes.len(), 4, "{stdout}");
    let bad = probes.iter().find(|p| p["path"].as_str().unwrap().ends_with("bad.mp4")).unwrap();
    assert!(bad["error"].as_str().is_some_and(|e| !e.is_empty()), "{bad}");
    assert!(stderr.contains("bad.mp4"), "the failure is said on stderr: {stderr}");
    assert_eq!(probes.iter().filter(|p| p["streams"].as_array().is_some()).count(), 3);
    let html = fs::read_to_string(&summary).unwrap();
    assert!(html.contains("4 inputs: 3 pass, 1 error"), "{html}");
    assert_eq!(csv::Reader::from_path(&table).unwrap().records().count(), 4);

    // --resume takes the saved probes of the files that could be read.
    for entry in fs::read_dir(&reports).unwrap() {
        let path = entry.unwrap().path();
        let mut saved: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        if saved.get("streams").is_some() {
            saved["warnings"] = serde_json::json!(["from the first run"]);
        }
        fs::write(&path, serde_json::to_string(&saved).unwrap()).unwrap();
    }
    let (code, stdout, _) = probe(&["--resume"]);
    assert_eq!(code, 4);
    let marked = json_lines(&stdout)
        .iter()
        .filter(|p| p["warnings"] == serde_json::json!(["from the first run"]))
        .count();
    assert_eq!(marked, 3, "{stdout}");

    // preflight: each manifest row its own target; a missing file and an unknown target are
    // error rows naming their line, and the others are checked.
    let manifest = dir.path().join("jobs.csv");
    fs::write(
        &manifest,
        "input,target\nh264_aac_25.mp4,kling-fal\nvp9_opus_30.webm,kling-fal\n\
         missing.mp4,kling-fal\nh264_aac_25.mp4,nowhere\n",
    )
    .unwrap();
    let junit = out.path().join("preflight.xml");
    let (code, stdout, stderr) = avsync(&[
        "preflight",
        "--manifest",
        s(&manifest),
        "--audio",
        s(&common::fixture("click.mp3").path),
        "--json",
        "-",
        "--junit",
        s(&junit),
    ]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    let preflights: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let verdicts: Vec<&str> = preflights.iter().map(|p| p["verdict"].as_str().unwrap()).collect();
    // The fixtures are 160x120, under kling-fal's 720 px: both clips fail, for their size; the
    // WebM fails for its container too.
    assert_eq!(verdicts, ["fail", "fail", "error", "error"], "{stdout}");
    assert_eq!(preflights[0]["audio"].as_str().map(|a| a.ends_with("click.mp3")), Some(true));
    let status = |p: &Value, rule: &str| {
        let rules = p["rules"].as_array().unwrap();
        rules.iter().find(|r| r["rule"] == rule && r["input"] == "video").unwrap()["status"].clone()
    };
    assert_eq!(
        (status(&preflights[0], "format"), status(&preflights[0], "width")),
        ("pass".into(), "fail".into())
    );
    assert_eq!(status(&preflights[1], "format"), "fail", "kling-fal takes no WebM");
    assert!(preflights[2]["error"].as_str().unwrap().contains("jobs.csv line 4"), "{stdout}");
    assert!(preflights[3]["error"].as_str().unwrap().contains("unknown target"), "{stdout}");
    let xml = fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 4, "{xml}");
    assert!(xml.contains("errors=\"2\""), "{xml}");

    // The one-job form `preflight VIDEO AUDIO` is unchanged.
    let (code, stdout, stderr) = avsync(&[
        "preflight",
        s(&dir.path().join(CLIPS[0])),
        s(&common::fixture("click.mp3").path),
        "--target",
        "kling-fal",
        "--json",
        "-",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let one: Value = serde_json::from_str(&stdout).unwrap();
    assert!(one["audio"].as_str().unwrap().ends_with("click.mp3"), "{one}");
}
