//! Self-contained HTML: inline CSS, plots as inline SVG, the thumbnail as a `data:` PNG. No
//! script and no external fetch, so the file reads offline and can be attached to a ticket.
//!
//! Every string that comes from a file or a measurement (path, codec, reason, warning, label)
//! passes through [`escape`].

use super::charts::{self, profile_colour_hex, Chart};
use super::output::{file_stems, write_text};
use super::plots::{to_base64, REGION_COLOURS};
use super::{
    describe_face, describe_offset, format_clock, format_clock_to, format_signed,
    format_uncertainty_ms, Method, Outcome, Report, SeamKind, StreamInfo, Verdict,
};
use crate::error::Result;
use std::fmt::Write as _;
use std::path::Path;

/// Writes the HTML for `reports` to `path`.
///
/// When `path` is a directory (it exists as one, ends with a separator, or has no extension),
/// it gets `index.html` with a summary table and one page per input linked from it. Otherwise
/// `path` is one file: the report's page, or for several inputs a summary table followed by
/// every report.
pub fn write_html(path: &Path, reports: &[Report]) -> Result<()> {
    if !is_directory_output(path) {
        return write_text(path, &render_html_page(reports)?);
    }
    let stems = file_stems(reports);
    let pages: Vec<String> = stems.iter().map(|s| format!("{s}.html")).collect();
    for (report, page) in reports.iter().zip(&pages) {
        let body =
            format!("<nav><a href=\"index.html\">← all inputs</a></nav>\n{}", article(report, "")?);
        write_text(&path.join(page), &document(&page_title(std::slice::from_ref(report)), &body))?;
    }
    let index = summary_section(reports, &pages);
    write_text(&path.join("index.html"), &document(&page_title(reports), &index))
}

/// Whether `--html PATH` names a directory: it exists as one, ends with a separator, or has
/// no extension.
pub(crate) fn is_directory_output(path: &Path) -> bool {
    path.is_dir()
        || path.as_os_str().to_string_lossy().ends_with(std::path::MAIN_SEPARATOR)
        || path.as_os_str().to_string_lossy().ends_with('/')
        || path.extension().is_none()
}

/// One HTML document for `reports`: the report's page for one input; a summary table linking
/// to each report below it for several.
pub fn render_html_page(reports: &[Report]) -> Result<String> {
    let mut body = String::new();
    if reports.len() > 1 {
        let anchors: Vec<String> =
            (0..reports.len()).map(|i| format!("#input-{}", i + 1)).collect();
        body.push_str(&summary_section(reports, &anchors));
    }
    for (i, report) in reports.iter().enumerate() {
        let id = if reports.len() > 1 { format!("input-{}", i + 1) } else { String::new() };
        body.push_str(&article(report, &id)?);
    }
    Ok(document(&page_title(reports), &body))
}

/// HTML-escapes text for element content and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page_title(reports: &[Report]) -> String {
    match reports {
        [one] => format!("avsync: {}", file_name(&one.input.path)),
        many => format!("avsync: {} inputs", many.len()),
    }
}

fn file_name(path: &str) -> String {
    Path::new(path).file_name().map_or(path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"avsync {version}\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\
         <footer>Made by avsync {version}. Sign convention: a positive offset means the audio is \
         early (leads the picture), a negative one that it is late.</footer>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(title),
    )
}

const STYLE: &str = "
:root{--pass:#1a7f37;--fail:#cf222e;--inc:#6e7781;--err:#6639ba;--marg:#9a6700;--margfail:#bc4c00;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--ink);margin:0 auto;padding:24px;max-width:1100px;line-height:1.45;background:#fff}
h1{font-size:1.5rem;margin:0 0 4px;word-break:break-all}
h2{font-size:1.15rem;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.sub{color:var(--muted);margin:0 0 16px;word-break:break-all}
.banners{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px;margin:12px 0}
.banner{border-radius:8px;padding:10px 14px;color:#fff;border-left:8px solid rgba(0,0,0,.25)}
.banner.pass{background:var(--pass)}.banner.fail{background:var(--fail)}.banner.inconclusive{background:var(--inc)}.banner.error{background:var(--err)}
.banner.pass.marginal{background:var(--marg)}.banner.fail.marginal{background:var(--margfail)}
.banner .top{display:flex;justify-content:space-between;align-items:baseline;gap:8px}
.banner .name{font-weight:600;font-size:1.05em}.banner .limits{opacity:.9;font-size:.9em;white-space:nowrap}
.banner .result{font-size:1.3rem;font-weight:700;letter-spacing:.04em;margin-top:2px}
.banner p{margin:6px 0 0;font-size:.9em}
.headline{font-size:1.15rem;margin:14px 0}
.headline b{font-size:1.35rem}
.reason{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px 12px}
figure{margin:0}
svg{width:100%;height:auto;display:block}
figcaption,.note{color:var(--muted);font-size:.9em;margin-top:4px}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px;align-items:start}
@media (max-width:800px){.pair{grid-template-columns:1fr}}
.thumb img{width:100%;height:auto;image-rendering:auto;border:1px solid var(--line);border-radius:4px}
.key{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle;margin:0 4px 0 10px}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{color:var(--pass);font-weight:600}td.fail{color:var(--fail);font-weight:600}
td.inconclusive{color:var(--inc);font-weight:600}td.error{color:var(--err);font-weight:600}
td.pass.marginal{color:var(--marg)}td.fail.marginal{color:var(--margfail)}
tr.low td{color:var(--muted)}
.summary th,.summary td{white-space:nowrap}.summary tr:not(.why) td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:150px}
.summary{font-size:.86em}.summary th,.summary td{padding:4px 6px}
.scroll{overflow-x:auto}
.summary tr.why td{white-space:normal;color:var(--muted);font-size:.9em;padding-top:0}
.summary tr:has(+ tr.why) td{border-bottom:none}
.media th{width:34%}
.warnings li{color:#9a6700}
nav{margin-bottom:12px}
article{margin-bottom:48px}
footer{color:var(--muted);font-size:.85em;border-top:1px solid var(--line);margin-top:32px;padding-top:8px}
";

/// The CSS classes of a result: its outcome, plus `marginal` (a marginal pass and a marginal
/// fail get different colours).
fn result_class(result: Outcome, marginal: bool) -> String {
    if marginal {
        format!("{} marginal", result.as_str())
    } else {
        result.as_str().to_string()
    }
}

fn result_label(result: Outcome, marginal: bool) -> String {
    let word = result.as_str().to_ascii_uppercase();
    if marginal {
        format!("{word} (marginal)")
    } else {
        word
    }
}

/// The summary table of a batch, each input linking to `targets[i]`.
fn summary_section(reports: &[Report], targets: &[String]) -> String {
    let mut profiles: Vec<&str> = Vec::new();
    for v in reports.iter().flat_map(|r| &r.verdicts) {
        if !profiles.contains(&v.profile.as_str()) {
            profiles.push(&v.profile);
        }
    }
    let worst = Outcome::worst(reports.iter().map(|r| r.verdict));
    let mut html = format!(
        "<h1>avsync: {} inputs</h1>\n<p class=\"sub\">Overall: <b>{}</b>. {}</p>\n",
        reports.len(),
        worst.as_str().to_ascii_uppercase(),
        [Outcome::Pass, Outcome::Fail, Outcome::Inconclusive, Outcome::Error]
            .iter()
            .map(|o| (o, reports.iter().filter(|r| r.verdict == *o).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(o, n)| format!("{n} {}", o.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    html.push_str("<div class=\"scroll\"><table class=\"summary\">\n<tr><th>input</th><th>offset</th><th class=\"num\">±95%</th><th class=\"num\">drift</th><th class=\"num\">conf.</th>");
    for p in &profiles {
        let _ = write!(html, "<th>{}</th>", escape(p));
    }
    html.push_str("<th>verdict</th></tr>\n");
    let columns = 6 + profiles.len();
    for (report, target) in reports.iter().zip(targets) {
        let _ = write!(
            html,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td>",
            escape(target),
            escape(&report.input.path),
            report.offset_ms.map_or("–".into(), |o| escape(&describe_offset(o))),
            report.uncertainty_ms.map_or("–".into(), format_uncertainty_ms),
            report.drift.map_or("–".into(), |d| format!("{} ms/min", format_signed(d.ms_per_min, 1))),
            report.confidence,
        );
        for p in &profiles {
            match report.verdicts.iter().find(|v| v.profile == *p) {
                Some(v) => {
                    let _ = write!(
                        html,
                        "<td class=\"{}\">{}</td>",
                        result_class(v.result, v.marginal),
                        result_label(v.result, v.marginal)
                    );
                }
                None => html.push_str("<td>–</td>"),
            }
        }
        let _ = writeln!(
            html,
            "<td class=\"{}\">{}</td></tr>\n<tr class=\"why\"><td colspan=\"{columns}\">{}</td></tr>",
            result_class(report.verdict, report.marginal),
            result_label(report.verdict, report.marginal),
            escape(&report.reason)
        );
    }
    html.push_str("</table></div>\n");
    html
}

/// One report: banners, headline, plots, thumbnail, media information and windows.
fn article(report: &Report, id: &str) -> Result<String> {
    let mut html = String::new();
    if id.is_empty() {
        html.push_str("<article>\n");
    } else {
        let _ = writeln!(html, "<article id=\"{}\">", escape(id));
    }
    let _ = writeln!(
        html,
        "<h1>{}</h1>\n<p class=\"sub\">{} · method: {}{}</p>",
        escape(&file_name(&report.input.path)),
        escape(&report.input.path),
        report.method.as_str(),
        report
            .input
            .audio_path
            .as_ref()
            .map_or(String::new(), |a| format!(" · audio from {}", escape(a)))
    );

    html.push_str("<section class=\"banners\">\n");
    for (i, v) in report.verdicts.iter().enumerate() {
        html.push_str(&banner(v, i));
    }
    if report.verdicts.is_empty() {
        let _ = writeln!(
            html,
            "<div class=\"banner {0}\"><div class=\"top\"><span class=\"name\">verdict</span></div><div class=\"result\">{1}</div><p>{2}</p></div>",
            report.verdict.as_str(),
            report.verdict.as_str().to_ascii_uppercase(),
            escape(&report.reason)
        );
    }
    html.push_str("</section>\n");

    html.push_str(&headline(report));
    if report.verdict == Outcome::Error {
        // Nothing was measured: the reason says what went wrong.
        html.push_str(&media_table(report));
        html.push_str("</article>\n");
        return Ok(html);
    }

    for chart in Chart::available(report) {
        let (title, caption) = chart_text(report, chart);
        let _ = writeln!(
            html,
            "<section class=\"plot {}\"><h2>{title}</h2><figure>{}<figcaption>{}</figcaption></figure></section>",
            chart.file_suffix(),
            strip_xml_prolog(&charts::svg(report, chart)?),
            escape(&caption)
        );
    }
    let missing: Vec<&str> = [Chart::Correlation, Chart::Signals]
        .into_iter()
        .filter(|c| !Chart::available(report).contains(c))
        .map(|c| if c == Chart::Correlation { "correlation curve" } else { "signal overlay" })
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"note\">Not in this report: {} ({}).</p>",
            missing.join(", "),
            missing_plots_reason(report)
        );
    }

    html.push_str("<section class=\"pair\">\n");
    // Only `check` looks at a region of the picture; the others keep no frame to show.
    if report.method == Method::Content {
        html.push_str(&thumbnail(report)?);
    }
    html.push_str(&media_table(report));
    html.push_str("</section>\n");

    html.push_str(&chunks_table(report));
    html.push_str(&windows_table(report));

    if !report.warnings.is_empty() {
        html.push_str("<h2>Warnings</h2>\n<ul class=\"warnings\">\n");
        for w in &report.warnings {
            let _ = writeln!(html, "<li>{}</li>", escape(w));
        }
        html.push_str("</ul>\n");
    }
    if let Some(policy) = &report.grading {
        let _ = writeln!(
            html,
            "<p class=\"note\">Graded with window policy <b>{}</b> (windows with confidence \
             below {:.2} are shown but not graded) and marginal policy <b>{}</b>.</p>",
            policy.window_policy.as_str(),
            policy.window_confidence,
            policy.marginal.as_str()
        );
    }
    html.push_str("</article>\n");
    Ok(html)
}

/// Why a report lacks its correlation or signal plot, naming what would bring it back.
fn missing_plots_reason(report: &Report) -> String {
    if report.plots.is_some() {
        return "the measurement had nothing to correlate".to_string();
    }
    format!(
        "no plot data was kept: `{}` keeps it when run with --html, --png or --json-plots, and \
         `avsync report` can draw it only from JSON saved with --json-plots",
        report.method.command()
    )
}

fn banner(v: &Verdict, index: usize) -> String {
    let mut detail = escape(&v.reason);
    if let Some(t) = v.leaves_tolerance_at_s {
        let _ = write!(detail, " (leaves tolerance at {})", format_clock(t));
    }
    format!(
        "<div class=\"banner {}\" style=\"border-left-color:{}\"><div class=\"top\">\
         <span class=\"name\">{}</span><span class=\"limits\">+{}/−{} ms</span></div>\
         <div class=\"result\">{}</div><p>{}</p></div>\n",
        result_class(v.result, v.marginal),
        profile_colour_hex(index),
        escape(&v.profile),
        v.early_ms,
        v.late_ms,
        result_label(v.result, v.marginal),
        detail
    )
}

fn headline(report: &Report) -> String {
    let mut html = String::from("<p class=\"headline\">");
    match report.offset_ms {
        Some(offset) => {
            let _ = write!(html, "<b>{}</b>", escape(&describe_offset(offset)));
            if let Some(u) = report.uncertainty_ms {
                let _ = write!(html, " ±{} (95%)", format_uncertainty_ms(u));
            }
            let _ = write!(html, " · offset_ms {offset:+.1}");
        }
        None => html.push_str("<b>no offset measured</b>"),
    }
    let _ = write!(html, " · confidence {:.2}", report.confidence);
    if let Some(d) = report.drift {
        let _ = write!(
            html,
            " · drift {} ms/min ({} ppm",
            format_signed(d.ms_per_min, 2),
            format_signed(d.ppm, 1)
        );
        if let Some(u) = d.uncertainty_ppm {
            let _ = write!(html, " ±{u:.1}");
            if d.ppm.abs() <= u {
                html.push_str(", not significant");
            }
        }
        html.push(')');
    }
    html.push_str("</p>\n");
    let _ = writeln!(html, "<p class=\"reason\">{}</p>", escape(&report.reason));
    html
}

fn chart_text(report: &Report, chart: Chart) -> (&'static str, String) {
    match chart {
        Chart::Offset => ("Offset over time", offset_caption(report)),
        Chart::Correlation => {
            // compare correlates its most confident window, the others the whole clip.
            let title = match report.method {
                Method::Reference => "Correlation of one window",
                Method::Content | Method::Pattern => "Whole-clip correlation",
            };
            (title, correlation_caption(report))
        }
        Chart::Signals => {
            let labels = report
                .plots
                .as_ref()
                .and_then(|p| p.signals.as_ref())
                .map(|s| format!("{} (blue) and {} (orange)", s.audio.label, s.reference.label))
                .unwrap_or_default();
            (
                "Signals",
                format!(
                    "{labels}, over a few seconds. Top: as recorded. Bottom: the audio moved by \
                     the measured offset; when the measurement is right, the peaks line up there."
                ),
            )
        }
    }
}

/// The offset plot's caption: only what the plot draws for this report.
fn offset_caption(report: &Report) -> String {
    let mut parts =
        vec!["Each bar is one analysis window at its measured offset (hollow: below the grading \
         confidence; red: outside the first profile). Shaded bands and dashed lines are the \
         tolerance of each requested profile."
            .to_string()];
    if report.offset_ms.is_some() {
        let band = if report.uncertainty_ms.is_some_and(|u| u > 0.0) {
            " and the grey band its 95% interval"
        } else {
            ""
        };
        parts.push(format!("The black line is the whole-clip offset{band}."));
        if report.drift.is_some() {
            parts.push("The orange dashed line is the drift.".to_string());
        }
    }
    if report.reference.as_ref().is_some_and(|d| !d.seams.is_empty()) {
        parts.push(
            "Green lines are each chunk's own offset line, purple dashed lines the seams of the \
             plan."
                .to_string(),
        );
    }
    parts.push("Bottom: each window's confidence, as wide as the window.".to_string());
    parts.join(" ")
}

/// The correlation plot's caption: only what the plot draws for this report.
fn correlation_caption(report: &Report) -> String {
    let curve = report.plots.as_ref().and_then(|p| p.correlation.as_ref());
    let mut parts = vec!["How well the two signals match at each candidate offset.".to_string()];
    if curve.is_some_and(|c| c.peak_ms.is_some()) {
        let band = if report.uncertainty_ms.is_some_and(|u| u > 0.0) {
            ", the shaded band its 95% interval"
        } else {
            ""
        };
        parts.push(format!("The red dot is the chosen peak{band}."));
    } else {
        parts.push("No peak was accepted.".to_string());
    }
    if curve.is_some_and(|c| c.noise_level.is_some()) {
        parts.push(
            "A peak that does not stand above the dashed noise level is not trusted.".to_string(),
        );
    }
    parts.join(" ")
}

/// Plotters writes a bare `<svg>` element, but strip any XML prolog so it inlines cleanly.
fn strip_xml_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    }
}

/// Which face `check` measured, by its place in the picture ("right face (face 1)").
fn face_note(report: &Report) -> String {
    let Some(details) = &report.content else { return String::new() };
    details.face.as_deref().map_or(String::new(), |face| {
        let face = describe_face(face, details.face_position);
        format!("<p class=\"note face\">Face measured: {}.</p>", escape(&face))
    })
}

fn thumbnail(report: &Report) -> Result<String> {
    let Some(thumb) = report.plots.as_ref().and_then(|p| p.thumbnail.as_ref()) else {
        return Ok(format!(
            "<figure class=\"thumb\"><h2>Analysed region</h2>{}<p class=\"note\">No frame \
             kept in this report.</p></figure>\n",
            face_note(report)
        ));
    };
    let png = charts::png_bytes(&thumb.boxed()?)?;
    let mut keys = String::new();
    for (i, region) in thumb.regions.iter().enumerate() {
        let [r, g, b] = REGION_COLOURS[i % REGION_COLOURS.len()];
        let _ = write!(
            keys,
            "<span class=\"key\" style=\"background:#{r:02x}{g:02x}{b:02x}\"></span>{}",
            escape(&region.label)
        );
    }
    Ok(format!(
        "<figure class=\"thumb\"><h2>Analysed region</h2>{}<img alt=\"frame at {} with the analysed \
         region boxed\" width=\"{}\" height=\"{}\" src=\"data:image/png;base64,{}\">\
         <figcaption>Frame at {}.{}</figcaption></figure>\n",
        face_note(report),
        format_clock(thumb.time_s),
        thumb.width,
        thumb.height,
        to_base64(&png),
        format_clock(thumb.time_s),
        keys
    ))
}

fn media_table(report: &Report) -> String {
    let input = &report.input;
    let mut rows: Vec<(String, String)> = vec![("file".into(), input.path.clone())];
    if let Some(d) = input.duration_s {
        rows.push(("duration".into(), format!("{d:.3} s ({})", format_clock(d))));
    }
    let describe = |s: &StreamInfo| {
        let mut text = format!("#{} {}", s.index, s.codec);
        if let Some(v) = &s.video {
            let _ = write!(text, ", {}×{}, {} fps", v.width, v.height, v.nominal_fps);
            if let Some(avg) = v.average_fps {
                let _ = write!(text, " (average {avg:.3})");
            }
            if v.variable_frame_rate {
                text.push_str(", variable frame rate");
            }
            if let Some(r) = v.rotation_deg.filter(|r| *r != 0.0) {
                let _ = write!(text, ", rotated {r}°");
            }
        }
        if let Some(a) = &s.audio {
            let _ = write!(text, ", {} Hz, {} channel(s)", a.sample_rate, a.channels);
        }
        if let Some(start) = s.start_s {
            let _ = write!(text, ", starts at {start:.3} s");
        }
        text
    };
    if let Some(v) = &input.video {
        rows.push(("video".into(), describe(v)));
    }
    if let Some(a) = &input.audio {
        rows.push(("audio".into(), describe(a)));
    }
    if let Some(path) = &input.audio_path {
        rows.push(("audio file".into(), path.clone()));
    }
    if let Some(e) = report.elapsed_s {
        rows.push(("analysis time".into(), format!("{e:.2} s")));
    }
    let mut html = String::from("<div><h2>Media</h2><table class=\"media\">\n");
    for (k, v) in rows {
        let _ = writeln!(html, "<tr><th>{}</th><td>{}</td></tr>", escape(&k), escape(&v));
    }
    html.push_str("</table></div>\n");
    html
}

/// A stitched output's chunks (offset, drift, grade per profile) and seams (`compare --plan`).
fn chunks_table(report: &Report) -> String {
    let Some(details) = report.reference.as_ref().filter(|d| !d.chunks.is_empty()) else {
        return String::new();
    };
    let mut html = String::from(
        "<h2>Chunks</h2>\n<table class=\"windows\">\n<tr><th class=\"num\">#</th><th class=\"num\">from</th><th class=\"num\">to</th><th>offset</th><th class=\"num\">offset_ms</th><th class=\"num\">drift ppm</th>",
    );
    for v in &report.verdicts {
        let _ = write!(html, "<th>{}</th>", escape(&v.profile));
    }
    html.push_str("</tr>\n");
    for chunk in &details.chunks {
        let _ = write!(
            html,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            chunk.index,
            format_clock(chunk.start_s),
            format_clock(chunk.end_s),
            chunk.offset_ms.map_or("–".into(), describe_offset),
            chunk.offset_ms.map_or("–".into(), |o| format_signed(o, 3)),
            chunk.drift.map_or("–".into(), |d| format_signed(d.ppm, 1)),
        );
        for v in &chunk.verdicts {
            let _ = write!(html, "<td class=\"{}\">{}</td>", v.result.as_str(), v.result.as_str());
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    if !details.seams.is_empty() {
        html.push_str("<h2>Seams</h2>\n<table class=\"windows\">\n<tr><th>between</th><th class=\"num\">at</th><th class=\"num\">jump ms</th><th>kind</th><th>cross-fade</th></tr>\n");
        for seam in &details.seams {
            let _ = writeln!(
                html,
                "<tr><td>{}|{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                seam.after - 1,
                seam.after,
                format_clock(seam.time_s),
                seam.jump_ms.map_or("–".into(), |j| format_signed(j, 2)),
                seam.kind.map_or("–", |k| match k {
                    SeamKind::Clean => "clean",
                    SeamKind::Gap => "gap (later chunk late)",
                    SeamKind::Overlap => "overlap (later chunk early)",
                }),
                match (seam.kind, seam.crossfade_hides) {
                    (Some(SeamKind::Clean), _) | (None, _) | (_, None) => "–",
                    (_, Some(true)) => "hides the jump",
                    (_, Some(false)) => "shorter than the jump",
                },
            );
        }
        html.push_str("</table>\n");
    }
    html
}

fn windows_table(report: &Report) -> String {
    if report.windows.is_empty() {
        return String::new();
    }
    let threshold = report.grading.map(|g| g.window_confidence);
    let mut html = String::from("<h2>Windows</h2>\n<table class=\"windows\">\n<tr><th class=\"num\">#</th><th class=\"num\">from</th><th class=\"num\">to</th><th>offset</th><th class=\"num\">offset_ms</th><th class=\"num\">confidence</th>");
    for v in &report.verdicts {
        let _ = write!(html, "<th>{}</th>", escape(&v.profile));
    }
    html.push_str("</tr>\n");
    // Windows shorter than a second (a test pattern's flash and beep) need milliseconds to
    // tell their ends apart.
    let decimals = if report.windows.iter().any(|w| w.end_s - w.start_s < 1.0) { 3 } else { 1 };
    for (i, w) in report.windows.iter().enumerate() {
        let graded = w.offset_ms.is_some() && threshold.is_none_or(|t| w.confidence >= t);
        let _ = write!(
            html,
            "<tr{}><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td>",
            if graded { "" } else { " class=\"low\"" },
            i + 1,
            format_clock_to(w.start_s, decimals),
            format_clock_to(w.end_s, decimals),
            w.offset_ms.map_or("–".into(), describe_offset),
            w.offset_ms.map_or("–".into(), |o| format_signed(o, 1)),
            w.confidence
        );
        for v in &report.verdicts {
            let cell = match w.offset_ms {
                None => "<td>–</td>".to_string(),
                Some(_) if !graded => "<td>not graded</td>".to_string(),
                Some(_) if v.outside_windows.contains(&i) => {
                    "<td class=\"fail\">outside</td>".into()
                }
                Some(_) => "<td class=\"pass\">within</td>".into(),
            };
            html.push_str(&cell);
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marginal_pass_and_fail_and_an_error_each_have_their_own_colour() {
        assert_eq!(result_class(Outcome::Pass, true), "pass marginal");
        assert_eq!(result_class(Outcome::Fail, true), "fail marginal");
        for rule in [
            ".banner.pass.marginal{background:var(--marg)}",
            ".banner.fail.marginal{background:var(--margfail)}",
            ".banner.error{background:var(--err)}",
            "td.num,th.num{text-align:right",
        ] {
            assert!(STYLE.contains(rule), "{rule}");
        }
        assert!(!STYLE.contains(".banner.inconclusive,.banner.error"));
    }

    #[test]
    fn the_missing_plots_note_names_what_would_bring_them_back() {
        let input = super::super::InputSummary::path_only("clip.mp4");
        let pattern = Report::new(input.clone(), Method::Pattern);
        assert!(missing_plots_reason(&pattern).contains("`pattern analyze` keeps it"));
        // Nothing measured: the captions describe no offset line, drift or peak.
        assert!(!offset_caption(&pattern).contains("drift"));
        assert!(!offset_caption(&pattern).contains("black line"));
        assert!(correlation_caption(&pattern).contains("No peak"));
        let compare = Report::new(input.clone(), Method::Reference);
        assert!(missing_plots_reason(&compare).contains("`compare` keeps it"));
        let content = Report::new(input, Method::Content);
        assert!(missing_plots_reason(&content).contains("saved with --json-plots"));
    }

    #[test]
    fn escaping_turns_markup_into_text() {
        assert_eq!(
            escape("<img src=x onerror=alert(1)>.mp4"),
            "&lt;img src=x onerror=alert(1)&gt;.mp4"
        );
        assert_eq!(escape("a&b \"c\" 'd'"), "a&amp;b &quot;c&quot; &#39;d&#39;");
    }
}
