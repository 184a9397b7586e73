//! `avsync report`: grade saved JSON reports again and render them, without measuring again.
//!
//! A CI job can measure once (`--json`) and gate or render later under other profiles.

use crate::error::{Error, Result};
use crate::grade::{grade, GradeOptions};
use crate::report::{Report, SCHEMA};
use std::path::Path;

/// Reads the reports saved in `path`: one JSON object, an array of them, or JSON lines.
pub fn load(path: &Path) -> Result<Vec<Report>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e.to_string()))?;
    let bad = |e: serde_json::Error| Error::input(path, format!("not an avsync JSON report: {e}"));
    let trimmed = text.trim_start();
    let reports: Vec<Report> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(bad)?
    } else {
        serde_json::Deserializer::from_str(trimmed)
            .into_iter::<Report>()
            .collect::<serde_json::Result<_>>()
            .map_err(bad)?
    };
    if reports.is_empty() {
        return Err(Error::input(path, "holds no report"));
    }
    if let Some(other) = reports.iter().find(|r| r.schema != SCHEMA) {
        return Err(Error::input(
            path,
            format!("schema '{}' is not the '{SCHEMA}' this avsync reads", other.schema),
        ));
    }
    Ok(reports)
}

/// Loads every file in `paths` and grades each report with `options`.
pub fn run(paths: &[impl AsRef<Path>], options: &GradeOptions) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    for path in paths {
        reports.extend(load(path.as_ref())?);
    }
    for report in &mut reports {
        grade(report, options);
    }
    Ok(reports)
}
