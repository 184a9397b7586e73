//! Hostile input (issue 17): option values that would exhaust memory or mean nothing, errors
//! that must name the right file, inputs that are not files. Each case failed before its fix.

mod common;
mod support;

use common::{avsync, fixture};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A case that takes longer than this has hung (the fifo case blocked forever before its fix).
const HANG_LIMIT_S: u64 = 60;

/// Runs `avsync ARGS`, killing it after [`HANG_LIMIT_S`]; returns (exit code, stdout, stderr),
/// with exit code `None` when it had to be killed.
fn avsync_or_kill(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(HANG_LIMIT_S);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `args` is a usage error (exit 2) whose message contains `says`, printed without a panic.
fn usage_error(args: &[&str], says: &str) {
    let (code, _, stderr) = avsync(args);
    assert_eq!(code, 2, "{args:?}: exit {code}, stderr {stderr}");
    assert!(stderr.contains(says), "{args:?}: expected '{says}' in: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

/// `args` fails with exit 4 and one line on stderr that names `file`.
fn input_error(args: &[&str], file: &Path, says: &str) {
    let (code, stdout, stderr) = avsync_or_kill(args);
    assert_eq!(code, Some(4), "{args:?}: exit {code:?}, stderr {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: not one line: {stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{args:?}: wrong file: {stderr}");
    assert!(stderr.contains(says), "{args:?}: expected '{says}' in: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: printed {stdout}");
}

#[test]
fn durations_counts_and_sizes_outside_their_range_are_usage_errors() {
    // Each of these allocated gigabytes, aborted or panicked before it was bounded.
    usage_error(&["check", "x.mp4", "--search=1e9s"], "40 ms to 10 s");
    usage_error(&["check", "x.mp4", "--search", "1e308s"], "40 ms to 10 s");
    usage_error(&["check", "x.mp4", "--search=100000s"], "40 ms to 10 s");
    usage_error(&["check", "x.mp4", "--window", "1e6s"], "1 s to 10 min");
    usage_error(&["check", "x.mp4", "--hop", "1us"], "100 ms to 10 min");
    usage_error(
        &["compare", "x.mp4", "--audio-ref", "r.wav", "--window", "1e6s"],
        "500 ms to 60 s",
    );
    usage_error(&["compare", "x.mp4", "--audio-ref", "r.wav", "--window=1e12s"], "500 ms to 60 s");
    // Too short to measure anything: it read an in-sync clip as 1558 ms early, FAIL.
    usage_error(&["compare", "x.mp4", "--audio-ref", "r.wav", "--window", "1ms"], "500 ms to 60 s");
    usage_error(
        &["compare", "x.mp4", "--audio-ref", "r.wav", "--ref-start-time", "1e9s"],
        "to 24 h",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.mp4");
    let out = out.to_str().unwrap();
    usage_error(&["pattern", "generate", out, "--duration", "1e9s"], "1 s to 24 h");
    usage_error(&["pattern", "generate", out, "--period", "1h"], "10 ms to 60 s");
    usage_error(&["pattern", "generate", out, "--size", "65534x65534"], "to 7680x4320");
    assert!(!Path::new(out).exists());
    usage_error(&["report", "x.json", "--tolerance", "+1e300/-90"], "at most 10000 ms");
    // The same bounds hold for the config file's keys.
    let config = dir.path().join("avsync.toml");
    std::fs::write(&config, "[analysis]\nsearch_range = \"1e9s\"\n").unwrap();
    usage_error(
        &["--config", config.to_str().unwrap(), "report", "x.json"],
        "analysis.search_range: '1e9s' is outside the allowed range 40 ms to 10 s",
    );
}

#[test]
fn a_reference_section_past_the_end_of_the_reference_is_a_usage_error() {
    let clip = fixture("h264_aac_25.mp4").path.to_str().unwrap();
    let reference = fixture("click_s16.wav").path.to_str().unwrap();
    // It used to measure "99999000 ms late" and FAIL.
    let args = ["compare", clip, "--audio-ref", reference, "--ref-start-time", "99999s"];
    usage_error(&args, "outside the allowed range -24 h to 24 h");
    let args = ["compare", clip, "--audio-ref", reference, "--ref-start-time", "9999s"];
    usage_error(&args, "--ref-start-time 9999 s is past the end of the reference");
    let args = ["compare", clip, "--audio-ref", reference, "--ref-insert-time", "1h"];
    usage_error(&args, "--ref-insert-time 3600 s is past the end of the output");
}

#[test]
fn errors_name_the_file_at_fault_before_anything_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    let m = missing.to_str().unwrap();
    let clip = fixture("h264_aac_25.mp4").path.to_str().unwrap();
    let wav = fixture("click_s16.wav").path.to_str().unwrap();
    // It said "h264_aac_25.mp4: no such file", after decoding the whole video.
    input_error(&["check", clip, "--audio", m], &missing, "no such file");
    input_error(&["compare", clip, "--audio-ref", m], &missing, "no such file");
    input_error(&["compare", clip, "--audio-ref", wav, "--video-ref", m], &missing, "no such file");
    input_error(&["compare", m, "--audio-ref", wav], &missing, "no such file");
    for target in ["kling-fal", "kling-api", "useapi"] {
        input_error(&["preflight", clip, m, "--target", target], &missing, "no such file");
    }
}

#[cfg(unix)]
#[test]
fn pipes_devices_and_unreadable_files_are_refused_without_opening_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.mp4");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Opening a fifo blocks until something writes to it: this hung before.
    input_error(&["probe", fifo.to_str().unwrap()], &fifo, "not a regular file");
    input_error(&["probe", "/dev/zero"], Path::new("/dev/zero"), "not a regular file");

    let locked = dir.path().join("locked.mp4");
    std::fs::copy(&fixture("h264_aac_25.mp4").path, &locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file; the check only means something for other users.
    if std::fs::File::open(&locked).is_err() {
        input_error(&["probe", locked.to_str().unwrap()], &locked, "permission denied");
    }
}

/// A report saved by `pattern analyze`, as JSON, with `field` set to `value`.
fn saved_report_with(dir: &Path, field: &str, value: serde_json::Value) -> std::path::PathBuf {
    let saved = dir.join("saved.json");
    let clip = fixture("h264_aac_25.mp4").path.to_str().unwrap();
    let (code, _, stderr) =
        avsync(&["pattern", "analyze", clip, "--json", saved.to_str().unwrap()]);
    assert!(code != 2 && code != 4, "{stderr}");
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    report[field] = value;
    let edited = dir.join(format!("{field}.json"));
    std::fs::write(&edited, serde_json::to_string(&report).unwrap()).unwrap();
    edited
}

#[test]
fn saved_reports_with_absurd_numbers_are_refused_and_charts_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("out.html");
    let png = dir.path().join("png");
    let (h, p) = (html.to_str().unwrap(), png.to_str().unwrap());
    // An offset of 1e308 ms spun for ever making HTML or PNG.
    let absurd = saved_report_with(dir.path(), "offset_ms", serde_json::json!(1e308));
    input_error(
        &["report", absurd.to_str().unwrap(), "--html", h, "--png", p, "-q"],
        &absurd,
        "offset_ms = 1e+308 is out of range",
    );
    assert!(!html.exists());
    // The largest numbers a report may hold still render, in bounded time.
    let large = saved_report_with(dir.path(), "offset_ms", serde_json::json!(1e15));
    let (code, _, stderr) =
        avsync_or_kill(&["report", large.to_str().unwrap(), "--html", h, "--png", p]);
    assert!(matches!(code, Some(0 | 1 | 3)), "exit {code:?}: {stderr}");
    assert!(html.is_file());
}

/// Runs avsync in `dir` (so that a stray output named `-` would land there).
fn avsync_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_avsync")).args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn standard_output_takes_one_format_and_html_or_png_never() {
    let dir = tempfile::tempdir().unwrap();
    let clip = fixture("h264_aac_25.mp4").path.to_str().unwrap();
    for args in [
        // JSON and XML mixed on stdout before.
        vec!["pattern", "analyze", clip, "--json", "-", "--junit", "-"],
        vec!["pattern", "analyze", clip, "--jsonl", "--junit", "-"],
    ] {
        let (code, stdout, stderr) = avsync_in(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("cannot both go to standard output"), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
    }
    // These created a directory named `-`.
    for option in ["--html", "--png"] {
        let (code, _, stderr) = avsync_in(dir.path(), &["pattern", "analyze", clip, option, "-"]);
        assert_eq!(code, 2, "{option}: {stderr}");
        assert!(stderr.contains("cannot write to standard output"), "{stderr}");
        assert!(!dir.path().join("-").exists(), "{option} - made a file or directory named -");
    }
    // JUnit alone on stdout is the whole of stdout: no summary line after the XML.
    let (_, stdout, stderr) = avsync_in(dir.path(), &["pattern", "analyze", clip, "--junit", "-"]);
    assert!(
        stdout.starts_with("<?xml") && stdout.trim_end().ends_with("</testsuites>"),
        "{stdout}{stderr}"
    );
}

#[test]
fn control_characters_in_file_names_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = "bad\u{1b}[31mname\nsecond line.mp4";
    let clip = dir.path().join(name);
    std::fs::copy(&fixture("h264_aac_25.mp4").path, &clip).unwrap();
    let (code, stdout, stderr) = avsync(&["probe", clip.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('\u{1b}'), "raw escape in {stdout:?}");
    assert!(stdout.contains("bad\\u{1b}[31mname\\nsecond line.mp4"), "{stdout:?}");
    let (code, stdout, _) = avsync(&["pattern", "analyze", clip.to_str().unwrap()]);
    assert!(code != 4, "{stdout}");
    assert!(!stdout.contains('\u{1b}') && stdout.contains("name\\nsecond"), "{stdout:?}");
    // An error about such a file is still one line.
    let missing = dir.path().join("gone\nfake: error.mp4");
    let (code, _, stderr) = avsync(&["probe", missing.to_str().unwrap()]);
    assert_eq!(code, 4);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("gone\\nfake: error.mp4: no such file"), "{stderr:?}");
}

/// A 4 s clip with moving video (H.264) and pink noise (AAC), so that both streams have
/// packets large enough to damage and content `compare` can align.
fn busy_clip(dir: &Path) -> std::path::PathBuf {
    let clip = dir.join("clean.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4"])
        .args(["-f", "lavfi", "-i", "anoisesrc=d=4:c=pink:r=48000:a=0.3:seed=7"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p"])
        .args(["-threads", "1", "-c:a", "aac", "-b:a", "96k", "-shortest"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    clip
}

/// A copy of `clip` with the payload of `count` packets of stream `stream`, from the middle on,
/// overwritten by deterministic noise (the container still finds every packet where it was).
fn damaged_copy(clip: &Path, stream: usize, count: usize, name: &str) -> std::path::PathBuf {
    let packets: Vec<(usize, usize, usize)> =
        common::ffprobe(clip, &["-show_entries", "packet=stream_index,size,pos", "-of", "csv=p=0"])
            .lines()
            .filter_map(|line| {
                let f: Vec<usize> = line.split(',').filter_map(|x| x.parse().ok()).collect();
                (f.len() >= 3).then(|| (f[0], f[1], f[2]))
            })
            .filter(|p| p.0 == stream)
            .collect();
    let mut bytes = std::fs::read(clip).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for &(_, size, pos) in &packets[packets.len() / 2..][..count] {
        // Past the first bytes (an H.264 NAL length and header): the packet stays one packet.
        for byte in &mut bytes[pos + 8..pos + size] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
    }
    let damaged = clip.with_file_name(name);
    std::fs::write(&damaged, bytes).unwrap();
    damaged
}

/// `compare` of `output` against `reference` (audio and video), as JSON; the exit code too.
fn compare_json(output: &Path, reference: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let (o, r) = (output.to_str().unwrap(), reference.to_str().unwrap());
    let mut args = vec!["compare", o, "--audio-ref", r, "--video-ref", r, "--json", "-"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = avsync(&args);
    assert!(code != 2 && code != 4, "exit {code}: {stderr}");
    (code, serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

fn damaged(stream: &serde_json::Value) -> u64 {
    ["corrupt_packets", "decode_errors", "concealed_frames", "dropped_frames"]
        .iter()
        .map(|k| stream[k].as_u64().unwrap())
        .sum()
}

#[test]
fn damaged_packets_are_skipped_counted_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let clean = busy_clip(dir.path());

    let (code, report) = compare_json(&clean, &clean, &[]);
    assert_eq!(code, 0, "{report}");
    let health = &report["media_health"];
    assert_eq!(damaged(&health["video"]), 0, "{health}");
    assert_eq!(damaged(&health["audio"]), 0, "{health}");
    assert_eq!(health["video"]["packets"], 100, "{health}");

    // One bad AAC packet: skipped and counted, not a failed file; under the 1% threshold.
    let bad_audio = damaged_copy(&clean, 1, 1, "bad_audio.mp4");
    let (code, report) = compare_json(&bad_audio, &clean, &[]);
    let health = &report["media_health"];
    assert!(damaged(&health["audio"]) >= 1, "{health}");
    assert_eq!(code, 0, "{report}");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("audio stream:") && warnings.contains("decode error"), "{warnings}");
    let offset = report["offset_ms"].as_f64().unwrap();
    assert!(offset.abs() < 1.0, "offset {offset} ms from an in-sync copy");

    // Three bad pictures in 100: above 1%, inconclusive.
    let bad_video = damaged_copy(&clean, 0, 3, "bad_video.mp4");
    let (code, report) = compare_json(&bad_video, &clean, &[]);
    let health = &report["media_health"];
    assert!(damaged(&health["video"]) >= 2, "{health}");
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["verdict"], "inconclusive");
    support::schema::assert_valid(&support::schema::validator(), &report);
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("the video stream is damaged"), "{reason}");
    assert_eq!(report["reason_code"], "damaged_media", "{report}");
    assert!(report["warnings"].to_string().contains("video stream:"), "{report}");

    // The threshold is the config's: a looser one lets the verdict through.
    let config = dir.path().join("avsync.toml");
    std::fs::write(&config, "[grade]\nmax_damaged_share = 0.5\n").unwrap();
    let (code, report) = compare_json(&bad_video, &clean, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(report.get("reason_code").is_none(), "{report}");

    // JUnit carries the counts as a property.
    let (_, junit, _) = avsync(&[
        "compare",
        bad_video.to_str().unwrap(),
        "--audio-ref",
        clean.to_str().unwrap(),
        "--video-ref",
        clean.to_str().unwrap(),
        "--junit",
        "-",
    ]);
    assert!(junit.contains("<property name=\"media_health\" value=\"video "), "{junit}");
}
