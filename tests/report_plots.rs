//! The plots `compare` and `pattern analyze` keep: the PNG files of `--png`, the plot data of
//! `--json-plots` (against the published schema), and the full HTML that `avsync report`
//! renders again from that JSON. (Until issue 16 both commands drew the offset plot alone.)

mod common;
mod support;

use common::avsync;
use serde_json::Value;
use std::path::Path;
use support::schema::{assert_valid, validator};

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs a measuring command with `--png DIR --json FILE --json-plots`; checks that every plot
/// kind is a PNG and is in the JSON with `labels`, and that `avsync report` draws the same
/// plots again from the JSON, without the "Not in this report" note.
fn assert_plots_kept(dir: &Path, name: &str, command: &[&str], labels: [&str; 3]) {
    let png = dir.join(format!("{name}-png"));
    let json = dir.join(format!("{name}.json"));
    let mut args = command.to_vec();
    args.extend(["-q", "--png", s(&png), "--json", s(&json), "--json-plots"]);
    let (code, _, stderr) = avsync(&args);
    assert!(code == 0 || code == 1, "{command:?}: exit {code}: {stderr}");
    for chart in ["offset", "correlation", "signals"] {
        let path = png.join(format!("{name}-{chart}.png"));
        let image = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let distinct: std::collections::HashSet<[u8; 3]> =
            image.to_rgb8().pixels().map(|p| p.0).collect();
        assert!(distinct.len() > 20, "{}: drawn, not blank", path.display());
    }

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid(&validator(), &report);
    let plots = &report["plots"];
    let correlation = &plots["correlation"];
    assert!(
        correlation["label"].as_str().unwrap().contains(labels[0]),
        "{name}: {}",
        correlation["label"]
    );
    let lags = correlation["lags_ms"].as_array().unwrap();
    assert!(lags.len() > 100, "{name}: {} lags", lags.len());
    assert_eq!(lags.len(), correlation["scores"].as_array().unwrap().len());
    // The curve peaks where the report says the offset is.
    let scores: Vec<f64> =
        correlation["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
    let offset = report["offset_ms"].as_f64().unwrap();
    assert!((lags[best].as_f64().unwrap() - offset).abs() < 1.0, "{name}: peak {}", lags[best]);
    for (side, label) in [("audio", labels[1]), ("reference", labels[2])] {
        let signal = &plots["signals"][side];
        assert_eq!(signal["label"], label, "{name}");
        assert!(signal["values"].as_array().unwrap().len() > 50, "{name} {side}");
    }

    let html = dir.join(format!("{name}-again.html"));
    let (code, _, stderr) = avsync(&["report", s(&json), "-q", "--html", s(&html)]);
    assert!(code == 0 || code == 1, "report {name}: exit {code}: {stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    for section in ["plot offset", "plot correlation", "plot signals"] {
        assert!(page.contains(section), "{name}: no {section} in the HTML again");
    }
    assert!(!page.contains("Not in this report"), "{name}");
    // Only check keeps a frame: no empty "Analysed region" box for the others.
    assert!(!page.contains("Analysed region"), "{name}");
}

#[test]
fn compare_and_pattern_keep_their_correlation_and_signal_plots() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // Pattern: a flash/beep clip with the audio 40 ms late.
    let clip = dir.join("pattern.mp4");
    let (code, _, stderr) =
        avsync(&["pattern", "generate", s(&clip), "--duration", "6s", "--audio-offset", "-40"]);
    assert_eq!(code, 0, "{stderr}");
    let labels = ["pairing score", "beep loudness", "flash luminance"];
    assert_plots_kept(dir, "pattern", &["pattern", "analyze", s(&clip)], labels);

    // Compare: noise that swells and fades, and a clip that plays it 120 ms late.
    let reference = dir.join("reference.wav");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=d=8:a=0.3:seed=7,aeval='val(0)*(0.6+0.4*sin(2*PI*1.5*t))'",
        "-ar",
        "48000",
        s(&reference),
    ]);
    let output = dir.join("output.mp4");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=d=8:s=160x120:r=25",
        "-itsoffset",
        "0.12",
        "-i",
        s(&reference),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        "-shortest",
        s(&output),
    ]);
    let labels = ["GCC-PHAT", "output audio loudness", "reference audio loudness"];
    assert_plots_kept(
        dir,
        "output",
        &["compare", s(&output), "--audio-ref", s(&reference)],
        labels,
    );
    let page = std::fs::read_to_string(dir.join("output-again.html")).unwrap();
    assert!(page.contains("Correlation of one window"), "compare's curve is of one window");
}

#[test]
fn without_plot_data_the_html_names_the_options_that_keep_it() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("pattern.mp4");
    let (code, _, stderr) = avsync(&["pattern", "generate", s(&clip), "--duration", "3s"]);
    assert_eq!(code, 0, "{stderr}");
    let json = dir.path().join("bare.json");
    let (code, _, stderr) = avsync(&["pattern", "analyze", s(&clip), "-q", "--json", s(&json)]);
    assert_eq!(code, 0, "{stderr}");
    let html = dir.path().join("bare.html");
    let (code, _, stderr) = avsync(&["report", s(&json), "-q", "--html", s(&html)]);
    assert_eq!(code, 0, "{stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("`pattern analyze` keeps it when run with --html, --png or --json-plots"),
        "{page}"
    );
}
