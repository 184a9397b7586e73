//! `avsync report`: grade saved JSON reports again and render them, without measuring again.
//!
//! A CI job can measure once (`--json`) and gate or render later under other profiles.

use crate::error::{Error, Result};
use crate::grade::{grade, GradeOptions};
use crate::report::{Report, SCHEMA};
use serde_json::Value;
use std::path::Path;

/// The largest magnitude a number in a saved report may have. What avsync writes stays far
/// below it (offsets in ms, times in s, byte counts); a larger number is a damaged or forged
/// report, and one of 1e308 made the charts' axis arithmetic overflow and loop for ever.
pub const MAX_REPORT_NUMBER: f64 = 1e15;

/// Reads the reports saved in `path`: one JSON object, an array of them, or JSON lines. Every
/// number is checked against [`MAX_REPORT_NUMBER`] before the report is used.
pub fn load(path: &Path) -> Result<Vec<Report>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e.to_string()))?;
    let bad = |e: serde_json::Error| Error::input(path, format!("not an avsync JSON report: {e}"));
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(bad)?
    } else {
        serde_json::Deserializer::from_str(trimmed)
            .into_iter::<Value>()
            .collect::<serde_json::Result<_>>()
            .map_err(bad)?
    };
    if values.is_empty() {
        return Err(Error::input(path, "holds no report"));
    }
    for value in &values {
        check_numbers(value, &mut String::new()).map_err(|problem| Error::input(path, problem))?;
    }
    let reports: Vec<Report> = values
        .into_iter()
        .map(serde_json::from_value)
        .collect::<serde_json::Result<_>>()
        .map_err(bad)?;
    if let Some(other) = reports.iter().find(|r| r.schema != SCHEMA) {
        return Err(Error::input(
            path,
            format!("schema '{}' is not the '{SCHEMA}' this avsync reads", other.schema),
        ));
    }
    Ok(reports)
}

/// Refuses a number beyond [`MAX_REPORT_NUMBER`] anywhere in `value`, naming its field
/// (`windows[2].offset_ms`); `at` is the path to `value`.
fn check_numbers(value: &Value, at: &mut String) -> std::result::Result<(), String> {
    let depth = at.len();
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::INFINITY);
            if !x.is_finite() || x.abs() > MAX_REPORT_NUMBER {
                return Err(format!(
                    "{at} = {n} is out of range: a report holds no number beyond ±{MAX_REPORT_NUMBER:e}"
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push_str(&format!("[{i}]"));
                check_numbers(item, at)?;
                at.truncate(depth);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(key);
                check_numbers(item, at)?;
                at.truncate(depth);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
    Ok(())
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
