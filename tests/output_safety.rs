//! Inputs are never modified: every output option of every command refuses an input's path
//! (by its name, a hard link or a symlink) before any work, with exit 2; a failed write leaves
//! an existing file as it was, after an error or Ctrl-C; two runs writing one report leave one
//! whole report.

mod common;

use common::{avsync, fixture};
use std::path::{Path, PathBuf};

/// A private copy of a fixture in a fresh directory, so tests can link to it freely.
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(&fixture(name).path, &path).unwrap();
    (dir, path)
}

fn refused(args: &[&str], input: &Path) {
    let before = std::fs::read(input).unwrap();
    let (code, _, stderr) = avsync(args);
    assert_eq!(code, 2, "{args:?}: exit {code}, stderr {stderr}");
    assert!(stderr.contains("refusing to"), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert_eq!(std::fs::read(input).unwrap(), before, "{args:?} modified its input");
}

#[test]
fn no_output_option_of_any_command_overwrites_an_input() {
    let (dir, clip) = copy_of("h264_aac_25.mp4");
    let c = clip.to_str().unwrap();
    let audio = dir.path().join("ref.wav");
    std::fs::copy(&fixture("click_s16.wav").path, &audio).unwrap();
    let a = audio.to_str().unwrap();
    let saved = dir.path().join("saved.json");
    let (code, _, stderr) = avsync(&["pattern", "analyze", c, "--json", saved.to_str().unwrap()]);
    assert!(code != 4 && code != 2, "{stderr}");
    let s = saved.to_str().unwrap();

    for option in ["--json", "--junit", "--html", "--png"] {
        refused(&["check", c, option, c], &clip);
        refused(&["check", c, "--audio", a, option, a], &audio);
        refused(&["compare", c, "--audio-ref", a, option, a], &audio);
        refused(&["compare", c, "--audio-ref", a, option, c], &clip);
        refused(&["pattern", "analyze", c, option, c], &clip);
        refused(&["report", s, option, s], &saved);
    }
    refused(&["preflight", c, a, "--target", "kling-fal", "--json", a], &audio);
    refused(&["preflight", c, "--target", "kling-fal", "--json", c], &clip);
    // The config file is an input too.
    let config = dir.path().join("avsync.toml");
    std::fs::write(&config, "[grade]\nprofiles = [\"cinema\"]\n").unwrap();
    refused(
        &["--config", config.to_str().unwrap(), "pattern", "analyze", c, "--junit"]
            .into_iter()
            .chain([config.to_str().unwrap()])
            .collect::<Vec<_>>(),
        &config,
    );
    // Through the config file's output directory (HTML goes to the directory's path itself).
    let config_dir = dir.path().join("dir.toml");
    std::fs::write(&config_dir, format!("[output]\ndir = \"{c}\"\nformats = [\"html\"]\n"))
        .unwrap();
    refused(&["--config", config_dir.to_str().unwrap(), "pattern", "analyze", c], &clip);
}

#[cfg(unix)]
#[test]
fn links_to_an_input_are_refused() {
    let (dir, clip) = copy_of("h264_aac_25.mp4");
    let c = clip.to_str().unwrap();
    let hard = dir.path().join("hard.json");
    std::fs::hard_link(&clip, &hard).unwrap();
    let soft = dir.path().join("soft.xml");
    std::os::unix::fs::symlink(&clip, &soft).unwrap();
    refused(&["pattern", "analyze", c, "--json", hard.to_str().unwrap()], &clip);
    refused(&["pattern", "analyze", c, "--junit", soft.to_str().unwrap()], &clip);
    let dotted = dir.path().join("x/../h264_aac_25.mp4");
    std::fs::create_dir(dir.path().join("x")).unwrap();
    refused(&["check", c, "--json", dotted.to_str().unwrap()], &clip);
}

#[test]
fn a_failed_pattern_generate_keeps_the_file_it_would_replace() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.mp4");
    std::fs::write(&keep, b"an earlier clip").unwrap();
    let k = keep.to_str().unwrap();
    // FFV1 cannot go into MP4: the muxer refuses after the file was opened.
    let (code, _, stderr) = avsync(&["pattern", "generate", k, "--video-codec", "ffv1"]);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(std::fs::read(&keep).unwrap(), b"an earlier clip");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(left, std::slice::from_ref(&keep), "a temporary file was left behind");
    // A successful run replaces it whole.
    let (code, _, stderr) = avsync(&["pattern", "generate", k, "--duration", "2s"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::metadata(&keep).unwrap().len() > 1000);
}

#[test]
fn two_runs_writing_one_report_leave_one_whole_report() {
    let (dir, clip) = copy_of("h264_aac_25.mp4");
    let saved = dir.path().join("saved.json");
    let (code, _, stderr) = avsync(&[
        "pattern",
        "analyze",
        clip.to_str().unwrap(),
        "--json",
        saved.to_str().unwrap(),
        "--json-plots",
    ]);
    assert!(code != 4 && code != 2, "{stderr}");
    let out = dir.path().join("out.html");
    let exe = env!("CARGO_BIN_EXE_avsync");
    for _ in 0..5 {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(exe)
                    .args(["report", saved.to_str().unwrap(), "-q", "--html"])
                    .arg(&out)
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut run in runs {
            assert!(run.wait().unwrap().code().is_some());
        }
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..html.len().min(80)]);
        assert_eq!(html.matches("</html>").count(), 1, "a mix of two reports");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 3, "temporary files were left behind");
}

#[test]
fn an_unwritable_output_is_found_before_any_work() {
    let (dir, clip) = copy_of("h264_aac_25.mp4");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let under_a_file = blocker.join("report.json");
    let (code, stdout, stderr) =
        avsync(&["check", clip.to_str().unwrap(), "--json", under_a_file.to_str().unwrap()]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("cannot write") && stderr.contains("report.json"), "{stderr}");
    assert!(stdout.is_empty(), "measured before refusing: {stdout}");
}

#[test]
fn an_interrupted_pattern_generate_keeps_the_file_it_would_replace() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.mp4");
    std::fs::write(&keep, b"an earlier clip").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(["pattern", "generate", keep.to_str().unwrap(), "--duration", "2h"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let others = || -> Vec<PathBuf> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| *p != keep)
            .collect()
    };
    // Interrupt once the run is writing its temporary file (a two-hour clip takes minutes).
    let writing = (0..1200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        !others().is_empty()
    });
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(writing, "no temporary file appeared within 60 s");
    assert!(killed.success());
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(std::fs::read(&keep).unwrap(), b"an earlier clip");
    assert_eq!(others(), Vec::<PathBuf>::new(), "the interrupted run left a file behind");
}
