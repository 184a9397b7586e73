//! JUnit XML: one testcase per input × profile, readable by GitLab, Jenkins and GitHub test
//! reporters.
//!
//! A fail is a `<failure>` whose message carries the offset, the limits and the reason; an
//! inconclusive result is `<skipped>` with the reason; an input that could not be processed is
//! an `<error>`. Each input is a `<testsuite>` named after its path, so reporters group a
//! file's profiles together; the `classname` (`avsync.<method>.<path with dots and slashes as
//! _>`) gives Jenkins a package and class per file.

use super::{describe_offset, format_signed, format_uncertainty_ms, Outcome, Report, Verdict};
use std::fmt::Write as _;

/// The JUnit XML document for `reports`.
pub fn render_junit(reports: &[Report]) -> String {
    let cases: Vec<Vec<Case>> = reports.iter().map(cases).collect();
    let all = || cases.iter().flatten();
    let total = |outcome: Outcome| all().filter(|c| c.outcome == outcome).count();
    // A fold from +0: `sum` of no f64 is -0, which prints as "-0.000".
    let time = reports.iter().filter_map(|r| r.elapsed_s).fold(0.0, |total, t| total + t);

    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"avsync\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
        all().count(),
        total(Outcome::Fail),
        total(Outcome::Error),
        total(Outcome::Inconclusive),
    );
    for (report, cases) in reports.iter().zip(&cases) {
        let count = |outcome: Outcome| cases.iter().filter(|c| c.outcome == outcome).count();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            escape(&report.input.path),
            cases.len(),
            count(Outcome::Fail),
            count(Outcome::Error),
            count(Outcome::Inconclusive),
            report.elapsed_s.unwrap_or(0.0),
        );
        let _ = writeln!(xml, "    <properties>");
        for (name, value) in properties(report) {
            let _ = writeln!(xml, "      <property name=\"{name}\" value=\"{}\"/>", escape(&value));
        }
        let _ = writeln!(xml, "    </properties>");
        let classname = classname(report);
        let case_time = report.elapsed_s.unwrap_or(0.0) / cases.len().max(1) as f64;
        for case in cases {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{case_time:.3}\">",
                escape(&classname),
                escape(&case.name)
            );
            let message = escape(&case.message);
            match case.outcome {
                Outcome::Pass => {}
                Outcome::Fail => {
                    let _ = write!(
                        xml,
                        "\n      <failure message=\"{message}\" type=\"out-of-sync\">{}</failure>",
                        escape(&case.detail)
                    );
                }
                Outcome::Inconclusive => {
                    let _ = write!(xml, "\n      <skipped message=\"{message}\"/>");
                }
                Outcome::Error => {
                    let _ = write!(
                        xml,
                        "\n      <error message=\"{message}\" type=\"processing-error\"/>"
                    );
                }
            }
            let _ = writeln!(
                xml,
                "\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&case.detail)
            );
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    xml.push_str("</testsuites>\n");
    xml
}

struct Case {
    name: String,
    outcome: Outcome,
    message: String,
    detail: String,
}

fn cases(report: &Report) -> Vec<Case> {
    let detail = measurement_detail(report);
    if report.verdict == Outcome::Error || report.verdicts.is_empty() {
        return vec![Case {
            name: report.input.path.clone(),
            outcome: report.verdict,
            message: report.reason.clone(),
            detail,
        }];
    }
    report
        .verdicts
        .iter()
        .map(|verdict| Case {
            name: format!("{}: {}", report.input.path, verdict.profile),
            outcome: verdict.result,
            message: case_message(report, verdict),
            detail: detail.clone(),
        })
        .collect()
}

/// Offset, limits and reason, in one line.
fn case_message(report: &Report, verdict: &Verdict) -> String {
    let offset = match (report.offset_ms, report.uncertainty_ms) {
        (Some(o), Some(u)) => {
            format!("{} ±{} (offset_ms {o:+.1})", describe_offset(o), format_uncertainty_ms(u))
        }
        (Some(o), None) => format!("{} (offset_ms {o:+.1})", describe_offset(o)),
        (None, _) => "no offset measured".to_string(),
    };
    let marginal = if verdict.marginal { ", marginal" } else { "" };
    format!(
        "{offset}; limits +{}/-{} ms ({}{marginal}): {}",
        verdict.early_ms, verdict.late_ms, verdict.profile, verdict.reason
    )
}

/// The measurement as a few lines for `<system-out>` and the failure body.
fn measurement_detail(report: &Report) -> String {
    let mut text = format!("input: {}\nmethod: {}\n", report.input.path, report.method.as_str());
    match report.offset_ms {
        Some(offset) => {
            let _ = writeln!(text, "offset: {} (offset_ms {offset:+.2})", describe_offset(offset));
        }
        None => {
            let _ = writeln!(text, "offset: none ({})", report.reason);
        }
    }
    if let Some(u) = report.uncertainty_ms {
        let _ = writeln!(text, "95% interval: ±{u:.1} ms");
    }
    let _ = writeln!(text, "confidence: {:.2}", report.confidence);
    if let Some(drift) = &report.drift {
        let _ = writeln!(
            text,
            "drift: {} ms/min ({} ppm)",
            format_signed(drift.ms_per_min, 2),
            format_signed(drift.ppm, 1)
        );
    }
    for verdict in &report.verdicts {
        let _ =
            writeln!(text, "{}: {} - {}", verdict.profile, verdict.result.as_str(), verdict.reason);
    }
    for warning in &report.warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    text
}

fn properties(report: &Report) -> Vec<(&'static str, String)> {
    let mut props = vec![("method", report.method.as_str().to_string())];
    if let Some(offset) = report.offset_ms {
        props.push(("offset_ms", format!("{offset:.2}")));
    }
    if let Some(u) = report.uncertainty_ms {
        props.push(("uncertainty_ms", format!("{u:.2}")));
    }
    props.push(("confidence", format!("{:.3}", report.confidence)));
    if let Some(drift) = &report.drift {
        props.push(("drift_ppm", format!("{:.2}", drift.ppm)));
    }
    if let Some(health) = &report.media_health {
        props.push(("media_health", health.summary()));
    }
    props.push(("verdict", report.verdict.as_str().to_string()));
    props.push(("marginal", report.marginal.to_string()));
    if let Some(code) = report.reason_code {
        props.push(("reason_code", code.as_str().to_string()));
    }
    props
}

fn classname(report: &Report) -> String {
    let method = report.method.as_str();
    let file: String = report
        .input
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    format!("avsync.{method}.{file}")
}

/// XML-escapes `text` for attributes and content, dropping characters XML 1.0 cannot carry.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}
