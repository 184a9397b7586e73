//! Writes the sample reports (in sync, audio 200 ms late, foreign audio, drifting) in every
//! format, for looking at the outputs without media: `cargo run --example report_samples
//! [DIR]` (default `reports/samples`).

#[path = "../tests/support/sample_reports.rs"]
mod sample_reports;

use avsync::report::{emit, ColorChoice, OutputOptions};
use sample_reports::{measure, profiles, standard_set, DRIFTING};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "reports/samples".into()));
    let mut reports = standard_set();
    reports.push(measure(&DRIFTING, &profiles(&["broadcast", "cinema", "ebu-r37"])));
    for (report, name) in reports.iter().zip(["in-sync", "late-200", "foreign", "drifting"]) {
        let options = OutputOptions {
            html: Some(dir.join(format!("{name}.html"))),
            json: Some(dir.join(format!("{name}.json"))),
            color: ColorChoice::Never,
            ..OutputOptions::default()
        };
        emit(std::slice::from_ref(report), &options)?;
    }
    let batch = OutputOptions {
        html: Some(dir.join("batch")),
        junit: Some(dir.join("junit.xml")),
        png: Some(dir.join("png")),
        color: ColorChoice::Never,
        ..OutputOptions::default()
    };
    let outcome = emit(&reports, &batch)?;
    println!("worst outcome: {} (exit code {})", outcome.as_str(), outcome.exit_code());
    Ok(())
}
