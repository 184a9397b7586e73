//! Writing reports where the user asked: terminal text, JSON file or stdout.

use super::{summary_line, Outcome, Report};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where to write what. `-` as a path means standard output.
#[derive(Clone, Debug, Default)]
pub struct OutputOptions {
    /// JSON: one object for one input, an array for several.
    pub json: Option<PathBuf>,
    /// Print nothing; the exit code alone tells the outcome.
    pub quiet: bool,
}

impl OutputOptions {
    fn json_to_stdout(&self) -> bool {
        self.json.as_deref() == Some(Path::new("-"))
    }
}

/// Writes every requested output for `reports` and returns the worst outcome among them.
pub fn emit(reports: &[Report], options: &OutputOptions) -> Result<Outcome> {
    if let Some(path) = &options.json {
        let json = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])
        } else {
            serde_json::to_string_pretty(reports)
        }
        .map_err(|e| Error::Processing(format!("cannot serialise the report: {e}")))?;
        write_text(path, &(json + "\n"))?;
    }
    // `--json -` writes JSON to stdout and nothing else.
    if !options.quiet && !options.json_to_stdout() {
        let mut stdout = std::io::stdout().lock();
        for report in reports {
            let _ = writeln!(stdout, "{}", summary_line(report));
        }
    }
    Ok(Outcome::worst(reports.iter().map(|r| r.verdict)))
}

/// Writes `text` to `path`, or to stdout for `-`.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    if path == Path::new("-") {
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| Error::output("standard output", e.to_string()))
    } else {
        std::fs::write(path, text).map_err(|e| Error::output(path, e.to_string()))
    }
}
