//! Writing reports where the user asked: terminal text, JSON, JUnit XML, HTML and PNG.

use super::{charts, html, junit, summary_line, summary_table, Outcome, Report};
use crate::error::{Error, Result};
use crate::safe_write;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// True for the path `-`, which means standard output.
fn is_stdout(path: Option<&Path>) -> bool {
    path == Some(Path::new("-"))
}

/// Where to write what. `-` as a path means standard output (JSON and JUnit only).
#[derive(Clone, Debug, Default)]
pub struct OutputOptions {
    /// JSON: one object for one input, an array for several (or lines with `jsonl`).
    pub json: Option<PathBuf>,
    /// Write JSON lines, one compact object per input, instead of an array.
    pub jsonl: bool,
    /// Keep the plot data (`plots`) in the JSON; left out by default because it is bulky.
    pub json_plots: bool,
    /// JUnit XML: one testcase per input and profile.
    pub junit: Option<PathBuf>,
    /// HTML: a file, or a directory (existing, ending in `/`, or without extension) that gets
    /// `index.html` and one page per input.
    pub html: Option<PathBuf>,
    /// A directory for the plots as PNG files.
    pub png: Option<PathBuf>,
    /// Print nothing; the exit code alone tells the outcome.
    pub quiet: bool,
    pub color: ColorChoice,
}

impl OutputOptions {
    /// True when an output needs the plot data, so the measuring command should fill
    /// `Report::plots` (it costs memory and time otherwise spent for nothing).
    pub fn wants_plots(&self) -> bool {
        self.html.is_some() || self.png.is_some() || (self.json.is_some() && self.json_plots)
    }

    /// Checks every output path before any work is done: none is an input of the run, and
    /// each can be written (see [`safe_write::check_output`]).
    pub fn check(&self) -> Result<()> {
        if is_stdout(self.json.as_deref()) && is_stdout(self.junit.as_deref()) {
            return Err(Error::usage(
                "JSON and JUnit cannot both go to standard output (--json - or --jsonl, and \
                 --junit -): write one of them to a file",
            ));
        }
        for (option, path) in [("--html", &self.html), ("--png", &self.png)] {
            if is_stdout(path.as_deref()) {
                return Err(Error::usage(format!(
                    "{option} cannot write to standard output: give a file or directory name"
                )));
            }
        }
        for path in [&self.json, &self.junit].into_iter().flatten() {
            if path != Path::new("-") {
                safe_write::check_output(path)?;
            }
        }
        if let Some(path) = &self.html {
            if html::is_directory_output(path) {
                safe_write::check_output_dir(path)?;
            } else {
                safe_write::check_output(path)?;
            }
        }
        if let Some(dir) = &self.png {
            safe_write::check_output_dir(dir)?;
        }
        Ok(())
    }

    /// True when a report format goes to standard output (`-`): then nothing else may.
    pub fn stdout_taken(&self) -> bool {
        [&self.json, &self.junit].into_iter().any(|p| is_stdout(p.as_deref()))
    }
}

/// Whether terminal text is coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
            ColorChoice::Always => true,
            ColorChoice::Never => false,
        }
    }
}

/// Writes every requested output for `reports` and returns the worst outcome among them.
pub fn emit(reports: &[Report], options: &OutputOptions) -> Result<Outcome> {
    emit_with_details(reports, options, |_| String::new())
}

/// [`emit`], with each input's terminal line followed at once by its `details` (the measuring
/// command's extra lines), so that with several inputs each file's details sit under its own
/// line rather than after the summary table.
pub fn emit_with_details(
    reports: &[Report],
    options: &OutputOptions,
    details: impl Fn(&Report) -> String,
) -> Result<Outcome> {
    if let Some(path) = &options.json {
        write_text(path, &render_json(reports, options)?)?;
    }
    if let Some(path) = &options.junit {
        write_text(path, &junit::render_junit(reports))?;
    }
    if let Some(path) = &options.html {
        html::write_html(path, reports)?;
    }
    if let Some(dir) = &options.png {
        charts::write_pngs(dir, reports)?;
    }
    // `--json -` (or `--junit -`) writes that format to stdout and nothing else.
    if !options.quiet && !options.stdout_taken() {
        let text = terminal_text(reports, options.color.enabled(), details);
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    Ok(Outcome::worst(reports.iter().map(|r| r.verdict)))
}

/// What the terminal shows: each input's line with its details under it, then, for several
/// inputs, the summary table.
fn terminal_text(reports: &[Report], color: bool, details: impl Fn(&Report) -> String) -> String {
    let mut text = String::new();
    for report in reports {
        text.push_str(&summary_line(report, color));
        text.push('\n');
        text.push_str(&details(report));
    }
    if reports.len() > 1 {
        text.push('\n');
        text.push_str(&summary_table(reports, color));
    }
    text
}

/// The JSON text for `reports`: an object for one, an array for several, or JSON lines.
fn render_json(reports: &[Report], options: &OutputOptions) -> Result<String> {
    if options.jsonl {
        let lines = reports.iter().map(|r| render_json_line(r, options.json_plots));
        return lines.collect();
    }
    let stripped: Vec<Report>;
    let reports = if options.json_plots || reports.iter().all(|r| r.plots.is_none()) {
        reports
    } else {
        stripped = reports.iter().map(|r| Report { plots: None, ..r.clone() }).collect();
        &stripped
    };
    let text = if reports.len() == 1 {
        serde_json::to_string_pretty(&reports[0]).map_err(failed)?
    } else {
        serde_json::to_string_pretty(reports).map_err(failed)?
    };
    Ok(text + "\n")
}

/// One report as a JSON line (with its newline), its plot data kept only with `json_plots`.
pub fn render_json_line(report: &Report, json_plots: bool) -> Result<String> {
    let line = if json_plots || report.plots.is_none() {
        serde_json::to_string(report)
    } else {
        serde_json::to_string(&Report { plots: None, ..report.clone() })
    };
    Ok(line.map_err(failed)? + "\n")
}

fn failed(e: serde_json::Error) -> Error {
    Error::Processing(format!("cannot serialise the report: {e}"))
}

/// Writes `text` to `path` (through [`crate::safe_write`]: never onto an input, whole or not at
/// all), or to stdout for `-`. Missing parent directories are created.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    if path == Path::new("-") {
        return std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| Error::output("standard output", e.to_string()));
    }
    safe_write::write_file(path, text.as_bytes())
}

/// A distinct, filesystem-safe name for each report's files in a batch directory, from the
/// input's file name (`talk.mp4` → `talk`), never `index`.
pub(crate) fn file_stems(reports: &[Report]) -> Vec<String> {
    let mut taken: Vec<String> = vec!["index".into()];
    reports
        .iter()
        .map(|report| {
            let path = Path::new(&report.input.path);
            let stem = path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
            let mut safe: String = stem
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
                .collect();
            if safe.trim_matches(['_', '.']).is_empty() {
                safe = "input".into();
            }
            let mut name = safe.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{safe}-{n}");
                n += 1;
            }
            taken.push(name.clone());
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{InputSummary, Method};

    #[test]
    fn each_input_has_its_details_under_its_own_line() {
        let report = |path: &str| Report::new(InputSummary::path_only(path), Method::Content);
        let reports = [report("a.mp4"), report("b.mp4")];
        let text = terminal_text(&reports, false, |r| format!("  details of {}\n", r.input.path));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("a.mp4") && lines[1] == "  details of a.mp4", "{text}");
        assert!(lines[2].starts_with("b.mp4") && lines[3] == "  details of b.mp4", "{text}");
        assert!(text.trim_end().ends_with("2 inputs: 2 inconclusive"), "{text}");
    }
}
