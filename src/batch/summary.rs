//! `--summary PATH`: the batch's table, one row an input, as CSV, JSON Lines or a
//! self-contained HTML page (by the extension), for a spreadsheet, a pipeline or a person.

use crate::error::{Error, Result};
use crate::report::{describe_offset, format_uncertainty_ms, xml_escape, Outcome, Report};
use crate::safe_write;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// The summary formats, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
    Html,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl" | "ndjson") => Ok(Format::JsonLines),
            Some("html" | "htm") => Ok(Format::Html),
            _ => Err(Error::usage(format!(
                "--summary {}: the extension says the format: .csv, .jsonl or .html",
                path.display()
            ))),
        }
    }
}

/// One input's line of the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub input: String,
    pub verdict: Outcome,
    pub marginal: bool,
    /// Positive: the audio is early.
    pub offset_ms: Option<f64>,
    pub uncertainty_ms: Option<f64>,
    /// None for commands that grade rules, not a measurement (probe, preflight).
    pub confidence: Option<f64>,
    /// The offset the manifest says the input has.
    pub expected_offset_ms: Option<f64>,
    pub reason: String,
    /// The input's own report, relative to the summary file (for the HTML's links).
    pub report: Option<String>,
}

impl Row {
    /// The row of `report`; `saved` is where its own report was written, if it was.
    pub fn new(
        report: &Report,
        expected_offset_ms: Option<f64>,
        saved: Option<&Path>,
        summary: &Path,
    ) -> Row {
        Row {
            input: report.input.path.clone(),
            verdict: report.verdict,
            marginal: report.marginal,
            offset_ms: report.offset_ms,
            uncertainty_ms: report.uncertainty_ms,
            confidence: Some(report.confidence),
            expected_offset_ms,
            reason: report.reason.clone(),
            report: saved.map(|s| relative_to(s, summary.parent().unwrap_or(Path::new("")))),
        }
    }

    /// The row of a result with a verdict and no offset (probe, preflight); the arguments
    /// after `reason` as for [`Row::new`].
    pub fn unmeasured(
        input: &str,
        verdict: Outcome,
        reason: String,
        saved: Option<&Path>,
        summary: &Path,
    ) -> Row {
        Row {
            input: input.to_string(),
            verdict,
            marginal: false,
            offset_ms: None,
            uncertainty_ms: None,
            confidence: None,
            expected_offset_ms: None,
            reason,
            report: saved.map(|s| relative_to(s, summary.parent().unwrap_or(Path::new("")))),
        }
    }
}

/// Checks, before any work is done, that `path` has a summary extension and can be written.
pub fn check(path: &Path) -> Result<()> {
    Format::of(path)?;
    safe_write::check_output(path)
}

/// Writes `rows` to `path` in the format its extension names.
pub fn write(path: &Path, rows: &[Row]) -> Result<()> {
    let text = match Format::of(path)? {
        Format::Csv => render_csv(rows)?,
        Format::JsonLines => render_jsonl(rows)?,
        Format::Html => render_html(rows),
    };
    safe_write::write_file(path, text.as_bytes())
}

fn render_csv(rows: &[Row]) -> Result<String> {
    let failed = |e: csv::Error| Error::Processing(format!("summary CSV: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        // serde writes the header with the first row; an empty batch still gets its columns.
        writer.write_record(COLUMNS).map_err(failed)?;
    }
    for row in rows {
        writer.serialize(row).map_err(failed)?;
    }
    let bytes = writer.into_inner().map_err(|e| Error::Processing(format!("summary CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Processing(format!("summary CSV: {e}")))
}

/// The fields of [`Row`], in order: the CSV header.
const COLUMNS: [&str; 9] = [
    "input",
    "verdict",
    "marginal",
    "offset_ms",
    "uncertainty_ms",
    "confidence",
    "expected_offset_ms",
    "reason",
    "report",
];

fn render_jsonl(rows: &[Row]) -> Result<String> {
    let mut text = String::new();
    for row in rows {
        let line = serde_json::to_string(row)
            .map_err(|e| Error::Processing(format!("summary JSON: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// Severity for sorting: the rows that need a look come first.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Error => 0,
        Outcome::Fail => 1,
        Outcome::Inconclusive => 2,
        Outcome::Pass => 3,
    }
}

/// A self-contained page (inline CSS, no script): the counts by verdict, then the rows worst
/// first (errors, fails, inconclusive, passes; within each the largest offset first), each
/// input linked to its own report when one was written.
fn render_html(rows: &[Row]) -> String {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        let size = |r: &Row| r.offset_ms.map_or(f64::INFINITY, f64::abs);
        severity(a.verdict).cmp(&severity(b.verdict)).then(size(b).total_cmp(&size(a)))
    });
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>avsync batch summary</title>\n<style>\
         body{font-family:system-ui,sans-serif;margin:2em}\
         table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}\
         .pass{color:#1a7f37}.fail{color:#cf222e}.inconclusive{color:#9a6700}.error{color:#cf222e;font-weight:bold}\
         </style></head><body>\n<h1>avsync batch summary</h1>\n",
    );
    let _ = writeln!(html, "<p>{}</p>", xml_escape(&counts(rows)));
    html.push_str(
        "<table>\n<tr><th>input</th><th>verdict</th><th>offset</th><th>±95%</th>\
         <th>confidence</th><th>expected</th><th>reason</th></tr>\n",
    );
    for row in sorted {
        let input = match &row.report {
            Some(link) => format!(
                "<a href=\"{}\">{}</a>",
                xml_escape(&url_path(link)),
                xml_escape(&row.input)
            ),
            None => xml_escape(&row.input),
        };
        let verdict = format!("{}{}", row.verdict.as_str(), if row.marginal { "~" } else { "" });
        let _ = writeln!(
            html,
            "<tr><td>{input}</td><td class=\"{}\">{verdict}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            row.verdict.as_str(),
            row.offset_ms.map_or("-".into(), describe_offset),
            row.uncertainty_ms.map_or("-".into(), format_uncertainty_ms),
            row.confidence.map_or("-".into(), |c| format!("{c:.2}")),
            row.expected_offset_ms.map_or("-".into(), describe_offset),
            xml_escape(&row.reason),
        );
    }
    html.push_str("</table>\n</body></html>\n");
    html
}

/// The terminal's table for a batch of a command without offsets (probe, preflight): one
/// line an input (verdict, input, reason), then the counts.
pub fn render_text(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.input.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for row in rows {
        let input = crate::report::escape_control(&row.input);
        let reason = crate::report::escape_control(&row.reason);
        let _ = writeln!(text, "{:<12} {input:<width$}  {reason}", row.verdict.as_str());
    }
    let _ = writeln!(text, "{}", counts(rows));
    text
}

/// `12 inputs: 9 pass, 2 fail, 1 error`.
pub fn counts(rows: &[Row]) -> String {
    let tally: Vec<String> = [Outcome::Pass, Outcome::Fail, Outcome::Inconclusive, Outcome::Error]
        .into_iter()
        .map(|o| (o, rows.iter().filter(|r| r.verdict == o).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| format!("{n} {}", o.as_str()))
        .collect();
    format!("{} inputs: {}", rows.len(), tally.join(", "))
}

/// `path` as seen from the directory `from` (both taken from the working directory when
/// relative), with `/` separators: a link that works wherever the two are moved together.
fn relative_to(path: &Path, from: &Path) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (path, from) = (absolute(path), absolute(from));
    let (to, base): (Vec<Component>, Vec<Component>) =
        (path.components().collect(), from.components().collect());
    let common = to.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    relative.extend(&to[common..]);
    relative.to_string_lossy().replace('\\', "/")
}

/// A relative path as a URL path: characters other than letters, digits, `/` and `-._~`
/// percent-encoded, so a `#` or `?` in a file name does not end the link early.
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{InputSummary, Method};

    fn row(input: &str, verdict: Outcome, offset_ms: Option<f64>) -> Row {
        let mut report = Report::new(InputSummary::path_only(input), Method::Content);
        report.verdict = verdict;
        report.offset_ms = offset_ms;
        Row::new(&report, None, Some(Path::new("out/reports/x #1.json")), Path::new("out/s.html"))
    }

    #[test]
    fn the_html_puts_the_worst_first_and_links_each_report() {
        let rows = [
            row("pass.mp4", Outcome::Pass, Some(10.0)),
            row("small-fail.mp4", Outcome::Fail, Some(-100.0)),
            row("error.mp4", Outcome::Error, None),
            row("big-fail.mp4", Outcome::Fail, Some(300.0)),
        ];
        let html = render_html(&rows);
        let at = |name: &str| html.find(name).unwrap();
        assert!(at("error.mp4") < at("big-fail.mp4"), "{html}");
        assert!(at("big-fail.mp4") < at("small-fail.mp4") && at("small-fail.mp4") < at("pass.mp4"));
        assert!(html.contains("href=\"reports/x%20%231.json\""), "{html}");
        assert!(html.contains("4 inputs: 1 pass, 2 fail, 1 error"), "{html}");
        assert!(!html.contains("<script") && !html.contains("http"), "self-contained");
    }

    #[test]
    fn csv_and_json_lines_have_one_row_an_input() {
        let rows = [row("a, b.mp4", Outcome::Pass, Some(1.5)), row("c.mp4", Outcome::Error, None)];
        let csv = render_csv(&rows).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert!(lines[1].starts_with("\"a, b.mp4\",pass,false,1.5,"), "{csv}");
        assert_eq!(lines.len(), 3);
        assert_eq!(render_csv(&[]).unwrap().trim_end(), COLUMNS.join(","));
        let jsonl = render_jsonl(&rows).unwrap();
        let second: serde_json::Value =
            serde_json::from_str(jsonl.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["verdict"], "error");
        assert!(Format::of(Path::new("s.txt")).is_err());
    }
}
