//! The report's plots, drawn once with plotters for both SVG (inlined in the HTML) and PNG.
//!
//! Text is laid out with the embedded DejaVu Sans (see `assets/fonts/`), so nothing depends on
//! fontconfig or freetype being installed.

use super::output::file_stems;
use super::{
    describe_offset, format_signed, format_uncertainty_ms, CorrelationCurve, Report, SignalPair,
    DEFAULT_WINDOW_CONFIDENCE,
};
use crate::error::{Error, Result};
use crate::safe_write::write_file;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans, Bitstream Vera licence (assets/fonts/DejaVuSans-LICENSE.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";

/// Plot sizes in pixels (SVG scales to the page; PNG is written at this size).
const OFFSET_SIZE: (u32, u32) = (1000, 460);
const CORRELATION_SIZE: (u32, u32) = (1000, 300);
const SIGNALS_SIZE: (u32, u32) = (1000, 420);

/// Length of the excerpt the signal overlay shows: a few seconds keep syllables (4–5 Hz)
/// apart by eye.
const SIGNAL_EXCERPT_S: f64 = 5.0;

/// Colours of the tolerance bands, in the order the profiles were requested.
const PROFILE_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(148, 103, 189),
    RGBColor(44, 160, 44),
    RGBColor(214, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];
const WINDOW_IN: RGBColor = RGBColor(20, 40, 90);
const WINDOW_OUT: RGBColor = RGBColor(214, 39, 40);
const OFFSET_LINE: RGBColor = RGBColor(0, 0, 0);
const DRIFT_LINE: RGBColor = RGBColor(230, 85, 13);
const AUDIO_COLOUR: RGBColor = RGBColor(31, 119, 180);
const REFERENCE_COLOUR: RGBColor = RGBColor(255, 127, 14);
const GRID: RGBColor = RGBColor(225, 225, 225);
/// A stitched output's chunk lines and seams (`compare --plan`).
const CHUNK_LINE: RGBColor = RGBColor(44, 160, 44);
const SEAM_LINE: RGBColor = RGBColor(148, 103, 189);

pub(crate) fn profile_colour(index: usize) -> RGBColor {
    PROFILE_COLOURS[index % PROFILE_COLOURS.len()]
}

/// `#rrggbb` of a profile's colour, for the HTML legend and banners.
pub(crate) fn profile_colour_hex(index: usize) -> String {
    let RGBColor(r, g, b) = profile_colour(index);
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is compiled in and known to parse; a failure would only lose text.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

/// Which plots a report can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chart {
    Offset,
    Correlation,
    Signals,
}

impl Chart {
    pub(crate) fn file_suffix(self) -> &'static str {
        match self {
            Chart::Offset => "offset",
            Chart::Correlation => "correlation",
            Chart::Signals => "signals",
        }
    }

    fn size(self) -> (u32, u32) {
        match self {
            Chart::Offset => OFFSET_SIZE,
            Chart::Correlation => CORRELATION_SIZE,
            Chart::Signals => SIGNALS_SIZE,
        }
    }

    /// The charts that `report` has the data for: the offset plot always (it is drawn from
    /// the windows and verdicts), the others when the measuring command kept their data.
    pub(crate) fn available(report: &Report) -> Vec<Chart> {
        let plots = report.plots.as_ref();
        let mut charts = vec![Chart::Offset];
        if plots.is_some_and(|p| p.correlation.as_ref().is_some_and(|c| !c.lags_ms.is_empty())) {
            charts.push(Chart::Correlation);
        }
        if plots.is_some_and(|p| p.signals.is_some()) {
            charts.push(Chart::Signals);
        }
        charts
    }
}

/// `chart` of `report` as an SVG document.
pub(crate) fn svg(report: &Report, chart: Chart) -> Result<String> {
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, chart.size()).into_drawing_area();
        draw(&root, report, chart).map_err(|e| plot_error(chart, e))?;
        root.present().map_err(|e| plot_error(chart, e))?;
    }
    Ok(text)
}

/// `chart` of `report` as an RGB image.
pub(crate) fn bitmap(report: &Report, chart: Chart) -> Result<image::RgbImage> {
    register_font();
    let (w, h) = chart.size();
    let mut buffer = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        draw(&root, report, chart).map_err(|e| plot_error(chart, e))?;
        root.present().map_err(|e| plot_error(chart, e))?;
    }
    image::RgbImage::from_raw(w, h, buffer)
        .ok_or_else(|| Error::Processing("plot buffer has the wrong size".into()))
}

fn plot_error(chart: Chart, e: impl std::fmt::Display) -> Error {
    Error::Processing(format!("cannot draw the {} plot: {e}", chart.file_suffix()))
}

/// Writes each report's plots (and its thumbnail, boxed) as PNG files into `dir`:
/// `<name>-offset.png`, `<name>-correlation.png`, `<name>-signals.png`,
/// `<name>-thumbnail.png`, where `<name>` comes from the input's file name.
pub(crate) fn write_pngs(dir: &Path, reports: &[Report]) -> Result<()> {
    for (report, stem) in reports.iter().zip(file_stems(reports)) {
        for chart in Chart::available(report) {
            let path = dir.join(format!("{stem}-{}.png", chart.file_suffix()));
            write_file(&path, &png_bytes(&bitmap(report, chart)?)?)?;
        }
        if let Some(thumbnail) = report.plots.as_ref().and_then(|p| p.thumbnail.as_ref()) {
            let path = dir.join(format!("{stem}-thumbnail.png"));
            write_file(&path, &png_bytes(&thumbnail.boxed()?)?)?;
        }
    }
    Ok(())
}

/// `image` encoded as PNG.
pub(crate) fn png_bytes(image: &image::RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::Processing(format!("cannot encode PNG: {e}")))?;
    Ok(bytes)
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &Report,
    chart: Chart,
) -> DrawResult<DB> {
    area.fill(&WHITE)?;
    let plots = report.plots.as_ref();
    match chart {
        Chart::Offset => draw_offset(area, report),
        Chart::Correlation => match plots.and_then(|p| p.correlation.as_ref()) {
            Some(curve) => draw_correlation(area, report, curve),
            None => Ok(()),
        },
        Chart::Signals => match plots.and_then(|p| p.signals.as_ref()) {
            Some(pair) => draw_signals(area, report, pair),
            None => Ok(()),
        },
    }
}

/// Width of the legend column to the right of each plot, in pixels.
const LEGEND_WIDTH: u32 = 250;
/// Legend lines longer than this many characters wrap once.
const LEGEND_WRAP_CHARS: usize = 30;

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Mark {
    Band,
    Line,
    Dashed,
    Dot,
    HollowDot,
}

/// Legend entries collected while drawing, drawn in a column beside the plot so that they
/// never hide data.
#[derive(Default)]
struct Legend(Vec<(Mark, RGBAColor, String)>);

impl Legend {
    fn add(&mut self, mark: Mark, colour: impl Color, text: impl Into<String>) {
        self.0.push((mark, colour.to_rgba(), text.into()));
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, top: i32) -> DrawResult<DB> {
        let mut y = top;
        for (mark, colour, text) in &self.0 {
            let (x, mid) = (8, y + 7);
            match mark {
                Mark::Band => {
                    area.draw(&Rectangle::new([(x, y + 1), (x + 22, y + 13)], colour.filled()))?
                }
                Mark::Line => {
                    area.draw(&PathElement::new([(x, mid), (x + 22, mid)], colour.stroke_width(3)))?
                }
                Mark::Dashed => {
                    for dash in [0, 9, 18] {
                        area.draw(&PathElement::new(
                            [(x + dash, mid), (x + dash + 5, mid)],
                            colour.stroke_width(2),
                        ))?;
                    }
                }
                Mark::Dot => area.draw(&Circle::new((x + 11, mid), 5, colour.filled()))?,
                Mark::HollowDot => {
                    area.draw(&Circle::new((x + 11, mid), 5, colour.stroke_width(1)))?
                }
            }
            for line in wrap(text) {
                area.draw(&Text::new(line, (x + 30, y), font(14.0)))?;
                y += 17;
            }
            y += 6;
        }
        Ok(())
    }
}

/// `text` on one line, or on two split at a space near the middle when it is long.
fn wrap(text: &str) -> Vec<String> {
    if text.chars().count() <= LEGEND_WRAP_CHARS {
        return vec![text.to_string()];
    }
    let middle = text.len() / 2;
    let split = text
        .match_indices(' ')
        .map(|(i, _)| i)
        .min_by_key(|&i| i.abs_diff(middle))
        .unwrap_or(text.len());
    let (first, rest) = text.split_at(split);
    vec![first.to_string(), rest.trim_start().to_string()]
}

/// Splits `area` into the plot and the legend column beside it.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (w, _) = area.dim_in_pixel();
    area.split_horizontally(w.saturating_sub(LEGEND_WIDTH))
}

/// Axis numbers without needless decimals.
fn axis_number(value: &f64) -> String {
    // A tick a rounding error below zero would read "-0".
    let value = &if value.abs() < 1e-9 { 0.0 } else { *value };
    // Ticks such as 0.7 arrive as 0.7000000001 or 0.6999999999: both are one decimal.
    let whole = |v: f64| (v - v.round()).abs() < 1e-6;
    if whole(*value) {
        format!("{value:.0}")
    } else if whole(value * 10.0) {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().into()
}

/// The largest value an axis reaches either way. Saved reports are checked on load, but a chart
/// must end whatever it is given: plotters steps through tick candidates, and over a range that
/// is not finite, or too narrow for its magnitude, that never ended (a report with an offset of
/// 1e308 ms spun for ever).
const AXIS_LIMIT: f64 = 1e12;

/// `low..high` made drawable: finite, within ±[`AXIS_LIMIT`], and at least a millionth of its
/// magnitude wide, so that plotters can place a bounded number of ticks on it.
fn axis(low: f64, high: f64) -> std::ops::Range<f64> {
    let bound = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(-AXIS_LIMIT, AXIS_LIMIT) };
    let (low, high) = (bound(low.min(high)), bound(low.max(high)));
    let min_width = (low.abs().max(high.abs()) * 1e-6).max(1e-6);
    if high - low >= min_width {
        low..high
    } else {
        low..low + min_width
    }
}

/// `(low, high)` widened by a margin so that nothing sits on the frame.
fn padded(low: f64, high: f64, min_pad: f64) -> (f64, f64) {
    let pad = ((high - low) * 0.08).max(min_pad);
    (low - pad, high + pad)
}

/// Offset over time: each window's offset (filled when confident, hollow when not, red when
/// outside the first profile), the whole-clip offset with its 95% band, the drift line, the
/// tolerance band of every requested profile, a stitched output's chunk lines and seams, and a
/// confidence strip underneath.
fn draw_offset<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &Report,
) -> DrawResult<DB> {
    let (plot, legend_area) = with_legend(area);
    let (_, h) = plot.dim_in_pixel();
    let (upper, lower) = plot.split_vertically(h * 70 / 100);
    let mut legend = Legend::default();
    let threshold = report.grading.map_or(DEFAULT_WINDOW_CONFIDENCE, |g| g.window_confidence);
    let (start_s, end_s) = report.measured_span_s().unwrap_or((0.0, 1.0));
    let x_end = report.input.duration_s.unwrap_or(end_s).max(end_s).max(start_s + 1e-3);

    let mut values: Vec<f64> = report.windows.iter().filter_map(|w| w.offset_ms).collect();
    for v in &report.verdicts {
        values.extend([v.early_ms, -v.late_ms]);
    }
    if let Some(o) = report.offset_ms {
        let u = report.uncertainty_ms.unwrap_or(0.0);
        values.extend([o - u, o + u]);
    }
    values.push(0.0);
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (y_low, y_high) = padded(low, high, 10.0);

    let caption = match report.offset_ms {
        Some(o) => format!("Offset over time (whole clip: {})", describe_offset(o)),
        None => "Offset over time (no offset measured)".to_string(),
    };
    let mut chart = ChartBuilder::on(&upper)
        .caption(caption, font(20.0))
        .margin(12)
        .x_label_area_size(0)
        .y_label_area_size(70)
        .build_cartesian_2d(axis(0.0, x_end), axis(y_low, y_high))?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .y_desc("ms (+ audio early, − late)")
        .y_label_formatter(&axis_number)
        .y_label_style(font(14.0))
        .axis_desc_style(font(14.0))
        .x_labels(0)
        .draw()?;

    // Tolerance bands, widest first so that narrower ones stay visible on top.
    let mut order: Vec<usize> = (0..report.verdicts.len()).collect();
    order.sort_by(|&a, &b| {
        let width = |i: usize| report.verdicts[i].early_ms + report.verdicts[i].late_ms;
        width(b).total_cmp(&width(a))
    });
    for &i in &order {
        let v = &report.verdicts[i];
        let colour = profile_colour(i);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, -v.late_ms), (x_end, v.early_ms)],
            colour.mix(0.07).filled(),
        )))?;
        for limit in [v.early_ms, -v.late_ms] {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, limit), (x_end, limit)],
                8,
                5,
                colour.stroke_width(2),
            ))?;
        }
        if let Some(t) = v.leaves_tolerance_at_s {
            chart
                .draw_series(LineSeries::new([(t, y_low), (t, y_high)], colour.stroke_width(2)))?;
        }
    }
    for (i, v) in report.verdicts.iter().enumerate() {
        let colour = profile_colour(i);
        legend.add(
            Mark::Band,
            colour.mix(0.5),
            format!("{} +{}/−{} ms", v.profile, v.early_ms, v.late_ms),
        );
        if let Some(t) = v.leaves_tolerance_at_s {
            legend.add(Mark::Line, colour, format!("leaves {} at {:.1} s", v.profile, t));
        }
    }
    chart.draw_series(LineSeries::new([(0.0, 0.0), (x_end, 0.0)], BLACK.mix(0.35)))?;

    if let Some(offset) = report.offset_ms {
        if let Some(u) = report.uncertainty_ms.filter(|u| *u > 0.0) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(start_s, offset - u), (end_s, offset + u)],
                OFFSET_LINE.mix(0.15).filled(),
            )))?;
            legend.add(
                Mark::Band,
                OFFSET_LINE.mix(0.25),
                format!("95% interval ±{}", format_uncertainty_ms(u)),
            );
        }
        chart.draw_series(LineSeries::new(
            [(start_s, offset), (end_s, offset)],
            OFFSET_LINE.stroke_width(2),
        ))?;
        legend.add(Mark::Line, OFFSET_LINE, format!("whole clip: {}", describe_offset(offset)));
        if let Some(drift) = report.drift {
            let significant = drift.uncertainty_ppm.is_none_or(|u| drift.ppm.abs() > u);
            let reference = drift.reference_s.unwrap_or((start_s + end_s) / 2.0);
            let at = |t: f64| offset + drift.ms_per_min / 60.0 * (t - reference);
            let colour = if significant { DRIFT_LINE.to_rgba() } else { DRIFT_LINE.mix(0.4) };
            chart.draw_series(DashedLineSeries::new(
                [(start_s, at(start_s)), (end_s, at(end_s))],
                10,
                4,
                colour.stroke_width(2),
            ))?;
            let note = if significant { "" } else { " (not significant)" };
            legend.add(
                Mark::Dashed,
                colour,
                format!("drift {} ms/min{note}", format_signed(drift.ms_per_min, 1)),
            );
        }
    }

    if let Some(details) = &report.reference {
        for chunk in &details.chunks {
            let ends = [chunk.start_s, chunk.end_s].map(|t| chunk.offset_at(t).map(|o| (t, o)));
            if let [Some(a), Some(b)] = ends {
                chart.draw_series(LineSeries::new([a, b], CHUNK_LINE.stroke_width(2)))?;
            }
        }
        if details.chunks.iter().any(|c| c.offset_ms.is_some()) {
            legend.add(Mark::Line, CHUNK_LINE, "each chunk's offset line");
        }
        for seam in &details.seams {
            chart.draw_series(DashedLineSeries::new(
                [(seam.time_s, y_low), (seam.time_s, y_high)],
                6,
                4,
                SEAM_LINE.stroke_width(2),
            ))?;
        }
        if !details.seams.is_empty() {
            legend.add(Mark::Dashed, SEAM_LINE, "seam between chunks");
        }
    }

    let outside: &[usize] = report.verdicts.first().map_or(&[], |v| &v.outside_windows);
    let mut shown = (false, false, false);
    for (i, w) in report.windows.iter().enumerate() {
        let Some(offset) = w.offset_ms else { continue };
        let confident = w.confidence >= threshold;
        let out = outside.contains(&i);
        let colour = if out { WINDOW_OUT } else { WINDOW_IN };
        let style =
            if confident { colour.stroke_width(3) } else { colour.mix(0.35).stroke_width(1) };
        chart.draw_series(LineSeries::new([(w.start_s, offset), (w.end_s, offset)], style))?;
        let centre = ((w.start_s + w.end_s) / 2.0, offset);
        let marker = if confident {
            Circle::new(centre, 4, colour.filled())
        } else {
            Circle::new(centre, 4, colour.mix(0.6).stroke_width(1))
        };
        chart.draw_series(std::iter::once(marker))?;
        match (confident, out) {
            (true, false) => shown.0 = true,
            (true, true) => shown.1 = true,
            (false, _) => shown.2 = true,
        }
    }
    if shown.0 {
        legend.add(Mark::Dot, WINDOW_IN, "window");
    }
    if shown.1 {
        legend.add(Mark::Dot, WINDOW_OUT, format!("window outside {}", report.verdicts[0].profile));
    }
    if shown.2 {
        legend.add(Mark::HollowDot, WINDOW_IN.mix(0.6), "window below the grading confidence");
    }

    // Confidence strip: one bar per window, as wide as the window; a light fill and an
    // outline keep overlapping windows apart.
    let mut strip = ChartBuilder::on(&lower)
        .margin_left(12)
        .margin_right(12)
        .margin_bottom(8)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(axis(0.0, x_end), 0.0..1.0)?;
    strip
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .y_labels(3)
        .x_desc("time in clip (s)")
        .y_desc("confidence")
        .x_label_formatter(&axis_number)
        .y_label_formatter(&axis_number)
        .label_style(font(14.0))
        .axis_desc_style(font(14.0))
        .draw()?;
    for w in &report.windows {
        let confident = w.confidence >= threshold && w.offset_ms.is_some();
        let (fill, edge) = if confident { (0.2, 0.8) } else { (0.06, 0.3) };
        let corners = [(w.start_s, 0.0), (w.end_s, w.confidence.clamp(0.0, 1.0))];
        strip
            .draw_series(std::iter::once(Rectangle::new(corners, WINDOW_IN.mix(fill).filled())))?;
        strip.draw_series(std::iter::once(Rectangle::new(
            corners,
            WINDOW_IN.mix(edge).stroke_width(1),
        )))?;
    }
    strip.draw_series(DashedLineSeries::new(
        [(0.0, threshold), (x_end, threshold)],
        6,
        4,
        BLACK.mix(0.6).stroke_width(1),
    ))?;
    legend.add(Mark::Band, WINDOW_IN.mix(0.6), "window confidence (bottom)");
    legend.add(Mark::Dashed, BLACK.mix(0.6), format!("graded from confidence {threshold:.2}"));
    legend.draw(&legend_area, 44)
}

/// The whole-clip correlation against lag, with the chosen peak and its 95% interval, and
/// the noise level when given.
fn draw_correlation<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &Report,
    curve: &CorrelationCurve,
) -> DrawResult<DB> {
    let (plot, legend_area) = with_legend(area);
    let mut legend = Legend::default();
    let lag_low = curve.lags_ms.iter().copied().fold(f64::INFINITY, f64::min);
    let lag_high = curve.lags_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let score_low = curve.scores.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let score_high = curve.scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (y_low, y_high) = padded(score_low, score_high.max(score_low + 1e-6), 0.02);
    let caption = match curve.peak_ms {
        Some(peak) => format!("{} (peak: {})", curve.label, describe_offset(peak)),
        None => format!("{} (no peak accepted)", curve.label),
    };
    let mut chart = ChartBuilder::on(&plot)
        .caption(caption, font(20.0))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(axis(lag_low, lag_high), axis(y_low, y_high))?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("lag (ms, + audio early, − late)")
        .y_desc("score")
        .x_label_formatter(&axis_number)
        .y_label_formatter(&axis_number)
        .label_style(font(14.0))
        .axis_desc_style(font(14.0))
        .draw()?;
    chart.draw_series(LineSeries::new([(0.0, y_low), (0.0, y_high)], BLACK.mix(0.3)))?;
    if let (Some(peak), Some(u)) = (curve.peak_ms, report.uncertainty_ms.filter(|u| *u > 0.0)) {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(peak - u, y_low), (peak + u, y_high)],
            WINDOW_OUT.mix(0.18).filled(),
        )))?;
        legend.add(
            Mark::Band,
            WINDOW_OUT.mix(0.3),
            format!("95% interval ±{}", format_uncertainty_ms(u)),
        );
    }
    if let Some(noise) = curve.noise_level {
        chart.draw_series(DashedLineSeries::new(
            [(lag_low, noise), (lag_high, noise)],
            6,
            4,
            BLACK.mix(0.55).stroke_width(1),
        ))?;
        legend.add(Mark::Dashed, BLACK.mix(0.55), "noise level");
    }
    chart.draw_series(LineSeries::new(
        curve.lags_ms.iter().copied().zip(curve.scores.iter().copied()),
        AUDIO_COLOUR.stroke_width(2),
    ))?;
    legend.add(Mark::Line, AUDIO_COLOUR, "score at each lag");
    if let Some(peak) = curve.peak_ms {
        let score = nearest(&curve.lags_ms, &curve.scores, peak);
        chart.draw_series(std::iter::once(Circle::new((peak, score), 6, WINDOW_OUT.filled())))?;
        legend.add(Mark::Dot, WINDOW_OUT, format!("chosen peak: {}", describe_offset(peak)));
    }
    legend.draw(&legend_area, 44)
}

/// The score at the lag nearest `lag`.
fn nearest(lags: &[f64], scores: &[f64], lag: f64) -> f64 {
    lags.iter()
        .zip(scores)
        .min_by(|a, b| (a.0 - lag).abs().total_cmp(&(b.0 - lag).abs()))
        .map_or(0.0, |(_, &s)| s)
}

/// The audio-side and reference signals over a short excerpt, as recorded (offset 0) and with
/// the audio moved by the measured offset.
fn draw_signals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &Report,
    pair: &SignalPair,
) -> DrawResult<DB> {
    let (plot, legend_area) = with_legend(area);
    let (from, to) = excerpt(report, pair);
    let panels: Vec<(String, f64)> = match report.offset_ms {
        Some(offset) => vec![
            ("as recorded (offset 0)".to_string(), 0.0),
            (format!("audio moved by the measured offset ({})", describe_offset(offset)), offset),
        ],
        None => vec![("as recorded (offset 0); no offset measured".to_string(), 0.0)],
    };
    let areas = plot.split_evenly((panels.len(), 1));
    for (panel, (title, shift_ms)) in areas.iter().zip(&panels) {
        let mut chart = ChartBuilder::on(panel)
            .caption(title, font(17.0))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(70)
            .build_cartesian_2d(axis(from, to), -0.05..1.1)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .y_labels(0)
            .x_desc("time in clip (s)")
            .y_desc("normalised")
            .x_label_formatter(&axis_number)
            .label_style(font(13.0))
            .axis_desc_style(font(13.0))
            .draw()?;
        let shift_s = shift_ms / 1000.0;
        let reference =
            excerpt_points(&pair.reference.times_s, &pair.reference.values, from, to, 0.0);
        let audio = excerpt_points(&pair.audio.times_s, &pair.audio.values, from, to, shift_s);
        chart.draw_series(LineSeries::new(reference, REFERENCE_COLOUR.stroke_width(2)))?;
        chart.draw_series(LineSeries::new(audio, AUDIO_COLOUR.stroke_width(2)))?;
    }
    let mut legend = Legend::default();
    legend.add(Mark::Line, AUDIO_COLOUR, pair.audio.label.clone());
    legend.add(Mark::Line, REFERENCE_COLOUR, pair.reference.label.clone());
    legend.draw(&legend_area, 40)
}

/// The excerpt to show: [`SIGNAL_EXCERPT_S`] around the middle of the most confident window
/// (or of the reference signal).
fn excerpt(report: &Report, pair: &SignalPair) -> (f64, f64) {
    let first = pair.reference.times_s.first().copied().unwrap_or(0.0);
    let last = pair.reference.times_s.last().copied().unwrap_or(first + SIGNAL_EXCERPT_S);
    let centre = report
        .windows
        .iter()
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .map_or((first + last) / 2.0, |w| (w.start_s + w.end_s) / 2.0);
    let half = SIGNAL_EXCERPT_S / 2.0;
    let from = (centre - half).clamp(first, (last - SIGNAL_EXCERPT_S).max(first));
    (from, (from + SIGNAL_EXCERPT_S).min(last.max(from + 1e-3)))
}

/// The points of a signal inside `[from, to]` after moving it by `shift_s`, scaled to 0–1 over
/// the excerpt.
fn excerpt_points(
    times: &[f64],
    values: &[f32],
    from: f64,
    to: f64,
    shift_s: f64,
) -> Vec<(f64, f64)> {
    let points: Vec<(f64, f64)> = times
        .iter()
        .zip(values)
        .map(|(&t, &v)| (t + shift_s, f64::from(v)))
        .filter(|(t, v)| *t >= from && *t <= to && v.is_finite())
        .collect();
    let low = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let range = (high - low).max(1e-12);
    points.into_iter().map(|(t, v)| (t, (v - low) / range)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_numbers_never_read_minus_zero() {
        assert_eq!(axis_number(&-1e-12), "0");
        assert_eq!(axis_number(&-0.0), "0");
        assert_eq!(axis_number(&-20.0), "-20");
        assert_eq!(axis_number(&0.5), "0.5");
        assert_eq!(axis_number(&0.7999999999999999), "0.8");
        assert_eq!(axis_number(&0.30000000000000004), "0.3");
        assert_eq!(axis_number(&0.25), "0.25");
    }

    #[test]
    fn axes_are_finite_bounded_and_never_empty() {
        assert_eq!(axis(-10.0, 40.0), -10.0..40.0);
        assert_eq!(axis(40.0, -10.0), -10.0..40.0);
        assert_eq!(axis(f64::NEG_INFINITY, f64::INFINITY), -AXIS_LIMIT..AXIS_LIMIT);
        // 1e308 plus a pad is still 1e308: a range of width 0 that plotters could not split.
        for (low, high) in [(1e308, 1e308), (f64::NAN, 1.0), (f64::NAN, f64::NAN), (5.0, 5.0)] {
            let range = axis(low, high);
            assert!(range.start.is_finite() && range.end.is_finite(), "{range:?}");
            assert!(range.end > range.start, "{low}..{high}: {range:?}");
        }
    }
}
