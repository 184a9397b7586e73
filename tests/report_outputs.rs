//! The outputs rendered from one Report: JSON (against the published schema), JUnit XML, HTML
//! (escaping, self-containment), PNG, the terminal text, and the `avsync report` command with
//! its exit codes and config file.

mod support;

use avsync::commands::report::load;
use avsync::report::{emit, ColorChoice, OutputOptions, Report};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::sample_reports::{measure, profiles, standard_set, IN_SYNC};
use support::schema::{assert_valid, validator};

const XSS_NAME: &str = "<img src=x onerror=alert(1)>.mp4";

fn quiet(options: OutputOptions) -> OutputOptions {
    OutputOptions { quiet: true, color: ColorChoice::Never, ..options }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn json_follows_the_published_schema_in_every_shape() {
    let dir = tempfile::tempdir().unwrap();
    let reports = standard_set();
    let validator = validator();

    let one = dir.path().join("one.json");
    emit(&reports[..1], &quiet(OutputOptions { json: Some(one.clone()), ..Default::default() }))
        .unwrap();
    let value = read_json(&one);
    assert_valid(&validator, &value);
    assert_eq!(value["schema"], "avsync/1");
    assert!(value.get("plots").is_none(), "plot data stays out of JSON unless asked for");

    let many = dir.path().join("many.json");
    emit(
        &reports,
        &quiet(OutputOptions { json: Some(many.clone()), json_plots: true, ..Default::default() }),
    )
    .unwrap();
    let value = read_json(&many);
    assert_valid(&validator, &value);
    assert_eq!(value.as_array().unwrap().len(), 3);
    assert!(value[0]["plots"]["correlation"]["scores"].as_array().unwrap().len() > 100);
    assert!(value[2]["offset_ms"].is_null(), "foreign audio has no offset");
    assert!(value[2]["windows"][0]["offset_ms"].is_null());

    let lines = dir.path().join("lines.jsonl");
    emit(
        &reports,
        &quiet(OutputOptions { json: Some(lines.clone()), jsonl: true, ..Default::default() }),
    )
    .unwrap();
    let text = std::fs::read_to_string(&lines).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        assert_valid(&validator, &serde_json::from_str(line).unwrap());
    }

    // The schema is not vacuous: a wrong verdict, a missing field or an unknown one fail it.
    let mut bad = read_json(&one);
    bad["verdict"] = "maybe".into();
    assert!(!validator.is_valid(&bad));
    let mut bad = read_json(&one);
    bad.as_object_mut().unwrap().remove("offset_ms");
    assert!(!validator.is_valid(&bad));
    let mut bad = read_json(&one);
    bad["offset"] = 3.into();
    assert!(!validator.is_valid(&bad));
    let mut bad = read_json(&one);
    bad["pattern"] = serde_json::json!({ "flashes": "many" });
    assert!(!validator.is_valid(&bad), "method sections are checked too");
    // The content section is declared, open for its details.
    let mut content = read_json(&one);
    content["content"] = serde_json::json!({ "faces": 1 });
    assert_valid(&validator, &content);
}

#[test]
fn saved_json_reads_back_with_its_plots() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = standard_set();
    // A gap in a signal (no face in a frame) is NaN, which JSON writes as null.
    let signals = reports[1].plots.as_mut().unwrap().signals.as_mut().unwrap();
    signals.reference.values[3] = f32::NAN;
    let path = dir.path().join("all.json");
    emit(
        &reports,
        &quiet(OutputOptions { json: Some(path.clone()), json_plots: true, ..Default::default() }),
    )
    .unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("null"));
    let back: Vec<Report> = load(&path).unwrap();
    assert_eq!(back.len(), 3);
    assert_eq!(back[1].offset_ms, reports[1].offset_ms);
    let values =
        |r: &Report| r.plots.as_ref().unwrap().signals.as_ref().unwrap().reference.values.clone();
    assert!(values(&back[1])[3].is_nan(), "a null value reads back as a gap");
    let mut plots = back[1].plots.clone().unwrap();
    plots.signals.as_mut().unwrap().reference.values[3] = 0.0;
    let mut original = reports[1].plots.clone().unwrap();
    original.signals.as_mut().unwrap().reference.values[3] = 0.0;
    assert_eq!(plots, original, "plots, thumbnail included, survive JSON");
}

#[test]
fn junit_has_a_testcase_per_input_and_profile() {
    let xml = avsync::report::render_junit(&standard_set());
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("6"));
    assert_eq!(root.attribute("failures"), Some("2"));
    assert_eq!(root.attribute("skipped"), Some("2"));
    assert_eq!(root.attribute("errors"), Some("0"));
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 3);
    assert_eq!(suites[1].attribute("name"), Some("clips/interview-audio-200ms-late.mp4"));
    let cases: Vec<_> = root.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 6);
    for case in &cases {
        assert!(case.attribute("classname").unwrap().starts_with("avsync.content."));
        assert!(case.attribute("time").unwrap().parse::<f64>().is_ok());
    }
    assert_eq!(cases[2].attribute("name"), Some("clips/interview-audio-200ms-late.mp4: broadcast"));
    let failure = cases[2].children().find(|n| n.has_tag_name("failure")).expect("a failure");
    let message = failure.attribute("message").unwrap();
    assert!(message.contains("audio 197 ms late"), "{message}");
    assert!(message.contains("limits +30/-90 ms (broadcast)"), "{message}");
    assert!(message.contains("is outside broadcast"), "{message}");
    let skipped = cases[4].children().find(|n| n.has_tag_name("skipped")).expect("skipped");
    assert!(skipped.attribute("message").unwrap().contains("does not appear to belong"));
    assert!(cases[0].children().all(|n| !n.has_tag_name("failure") && !n.has_tag_name("skipped")));

    // An input that could not be processed is one <error> case, and exit 4 for the batch.
    let mut reports = standard_set();
    reports.push(Report::error("broken.mp4", "broken.mp4: no video or audio stream"));
    let xml = avsync::report::render_junit(&reports);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
    let error = doc.descendants().find(|n| n.has_tag_name("error")).expect("an error case");
    assert!(error.attribute("message").unwrap().contains("no video or audio stream"));
    let outcome = emit(&reports, &quiet(OutputOptions::default())).unwrap();
    assert_eq!(outcome.exit_code(), 4);
    assert_eq!(
        avsync::report::summary_line(&reports[3], false),
        "broken.mp4  ERROR, not measured: broken.mp4: no video or audio stream"
    );
}

#[test]
fn html_is_self_contained_and_escapes_every_file_string() {
    let mut report = measure(&IN_SYNC, &profiles(&["broadcast", "+40/-60"]));
    report.input.path = format!("clips/{XSS_NAME}");
    report.warnings.push(format!("title metadata: <script>alert(2)</script> in {XSS_NAME}"));
    let page = avsync::report::render_html_page(std::slice::from_ref(&report)).unwrap();
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.mp4"));
    assert!(!page.contains("<img src=x"), "the file name must not become markup");
    assert!(!page.contains("<script"), "no script at all, injected or own");
    for external in ["src=\"http", "href=\"http", "url(", "<link", "@import"] {
        assert!(!page.contains(external), "external reference {external}");
    }
    assert_eq!(page.matches("<svg").count(), 3, "offset, correlation and signal plots");
    assert!(page.contains("src=\"data:image/png;base64,"), "thumbnail inline");

    // A batch directory: index plus one page per input, names made safe.
    let dir = tempfile::tempdir().unwrap();
    let mut reports = standard_set();
    reports.push(report);
    let out = dir.path().join("html");
    emit(&reports, &quiet(OutputOptions { html: Some(out.clone()), ..Default::default() }))
        .unwrap();
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("&lt;img src=x onerror=alert(1)&gt;.mp4"));
    assert!(!index.contains("<img src=x"));
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "_img_src_x_onerror_alert_1__.html",
            "index.html",
            "interview-audio-200ms-late.html",
            "interview-foreign-audio.html",
            "interview-in-sync.html"
        ]
    );
    for page in &pages[..1] {
        assert!(index.contains(&format!("href=\"{page}\"")));
    }
}

#[test]
fn png_plots_are_written_per_input() {
    let dir = tempfile::tempdir().unwrap();
    let reports = standard_set();
    emit(
        &reports,
        &quiet(OutputOptions { png: Some(dir.path().to_path_buf()), ..Default::default() }),
    )
    .unwrap();
    for chart in ["offset", "correlation", "signals", "thumbnail"] {
        let path = dir.path().join(format!("interview-in-sync-{chart}.png"));
        let image = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(image.width() >= 320, "{chart}");
    }
    let offset = image::open(dir.path().join("interview-in-sync-offset.png")).unwrap().to_rgb8();
    let distinct: std::collections::HashSet<[u8; 3]> = offset.pixels().map(|p| p.0).collect();
    assert!(distinct.len() > 20, "the plot is drawn, text and all, not a blank canvas");
}

fn avsync(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Saves the three standard reports as `in-sync.json`, `late.json`, `foreign.json` in `dir`.
fn saved_reports(dir: &Path) -> [PathBuf; 3] {
    let names = ["in-sync.json", "late.json", "foreign.json"];
    for (report, name) in standard_set().iter().zip(names) {
        let options = OutputOptions { json: Some(dir.join(name)), ..Default::default() };
        emit(std::slice::from_ref(report), &quiet(options)).unwrap();
    }
    names.map(|n| dir.join(n))
}

#[test]
fn report_command_exit_codes_follow_the_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    saved_reports(dir.path());
    let d = dir.path();
    assert_eq!(avsync(d, &["report", "in-sync.json"]).0, 0);
    assert_eq!(avsync(d, &["report", "late.json"]).0, 1);
    assert_eq!(avsync(d, &["report", "foreign.json"]).0, 3);
    assert_eq!(avsync(d, &["report", "in-sync.json", "foreign.json"]).0, 3);
    assert_eq!(avsync(d, &["report", "foreign.json", "late.json", "in-sync.json"]).0, 1);
    assert_eq!(avsync(d, &["report", "late.json", "--tolerance", "+10/-250"]).0, 0);
    assert_eq!(avsync(d, &["report", "late.json", "--profile", "bt1359-accept"]).0, 1);

    let (code, out, _) = avsync(
        d,
        &["report", "late.json", "in-sync.json", "--profile", "broadcast", "--profile", "cinema"],
    );
    assert_eq!(code, 1);
    assert!(out.contains("clips/interview-in-sync.mp4  audio 3.1 ms early"), "{out}");
    assert!(out.contains("broadcast FAIL, cinema FAIL"), "{out}");
    assert!(out.contains("2 inputs: 1 pass, 1 fail"), "summary table: {out}");
    assert!(!out.contains('\x1b'), "no colour when stdout is not a terminal");
    let (_, coloured, _) = avsync(d, &["report", "late.json", "--color", "always"]);
    assert!(coloured.contains("\x1b[1;31mFAIL"), "{coloured}");

    let (code, out, err) = avsync(d, &["report", "late.json", "--quiet"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", ""));

    let (code, out, _) = avsync(d, &["report", "late.json", "foreign.json", "--json", "-"]);
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON only");
    assert_valid(&validator(), &value);

    let (code, _, err) = avsync(d, &["report", "nothing.json"]);
    assert_eq!(code, 4);
    assert!(err.starts_with("avsync: nothing.json:") && err.lines().count() == 1, "{err}");
    std::fs::write(d.join("junk.json"), "{\"schema\": 5}").unwrap();
    let (code, _, err) = avsync(d, &["report", "junk.json"]);
    assert_eq!(code, 4);
    assert!(err.contains("junk.json: not an avsync JSON report"), "{err}");
    assert_eq!(avsync(d, &["report", "late.json", "--profile", "tv"]).0, 2);
}

#[test]
fn config_file_sets_ci_defaults_and_the_command_line_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    saved_reports(d);
    std::fs::write(
        d.join("avsync.toml"),
        "[grade]\nprofiles = [\"+10/-250\"]\n[output]\ndir = \"out\"\nformats = [\"junit\", \"html\", \"json\"]\n",
    )
    .unwrap();
    let (code, out, err) = avsync(d, &["report", "late.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("+10/-250 PASS"), "{out}");
    assert!(d.join("out/junit.xml").is_file());
    assert!(d.join("out/index.html").is_file());
    assert_valid(&validator(), &read_json(&d.join("out/avsync.json")));

    assert_eq!(avsync(d, &["report", "late.json", "--profile", "broadcast"]).0, 1);

    std::fs::write(d.join("strict.toml"), "[grade]\nprofiles = [\"cinema\"]\n").unwrap();
    assert_eq!(avsync(d, &["report", "in-sync.json", "--config", "strict.toml"]).0, 0);
    let (code, _, err) = avsync(d, &["report", "in-sync.json", "--config", "missing.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read config missing.toml"), "{err}");
    std::fs::write(d.join("bad.toml"), "[grade]\nprofile = \"cinema\"\n").unwrap();
    let (code, _, err) = avsync(d, &["report", "in-sync.json", "--config", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("config bad.toml: line 2"), "{err}");
}
