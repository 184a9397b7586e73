//! `avsync probe`: what a file contains and how its streams are timed.

use crate::batch::summary::Row;
use crate::batch::{BatchResult, Columns, Job, Runner};
use crate::error::{Error, Result};
use crate::media::{self, MediaInfo};
use crate::report::{escape_control, Outcome};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Probe reads no manifest column besides `input`.
pub const MANIFEST_COLUMNS: Columns = &[];

/// One input of a probe: what it contains, or, in a batch, why it could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Probed {
    Info(MediaInfo),
    Failed { path: String, error: String },
}

/// Probes `path`; the caller renders the result as text or JSON.
pub fn run(path: &Path) -> Result<MediaInfo> {
    media::probe(path)
}

/// Probes every job (see [`Runner::run`]).
pub fn run_all(jobs: &[Job], runner: &Runner) -> Result<Vec<Probed>> {
    runner.run(jobs, "probing", |job| run(&job.input).map(Probed::Info))
}

impl BatchResult for Probed {
    fn error(input: String, reason: String) -> Self {
        Probed::Failed { path: input, error: reason }
    }
    fn input(&self) -> &str {
        match self {
            Probed::Info(info) => &info.path,
            Probed::Failed { path, .. } => path,
        }
    }
    /// `pass` for a file that could be read, whatever its warnings; `error` otherwise.
    fn outcome(&self) -> Outcome {
        match self {
            Probed::Info(_) => Outcome::Pass,
            Probed::Failed { .. } => Outcome::Error,
        }
    }
    fn json_line(&self, _plots: bool) -> Result<String> {
        serde_json::to_string(self).map(|line| line + "\n").map_err(serialise_failed)
    }
    fn row(&self, _expected_offset_ms: Option<f64>, saved: Option<&Path>, summary: &Path) -> Row {
        let reason = match self {
            Probed::Info(info) => std::iter::once(describe(info))
                .chain(info.warnings.iter().map(|w| format!("warning: {w}")))
                .collect::<Vec<_>>()
                .join("; "),
            Probed::Failed { error, .. } => error.clone(),
        };
        Row::unmeasured(self.input(), self.outcome(), reason, saved, summary)
    }
}

/// `MP4, 12.000 s, h264 1920x1080, aac 48000 Hz`: a probe in one line, for the summary.
fn describe(info: &MediaInfo) -> String {
    let mut parts = vec![info.format.to_uppercase()];
    parts.extend(info.duration_s.map(|d| format!("{d:.3} s")));
    for stream in &info.streams {
        if let Some(v) = &stream.video {
            parts.push(format!("{} {}x{}", stream.codec, v.width, v.height));
        } else if let Some(a) = &stream.audio {
            parts.push(format!("{} {} Hz", stream.codec, a.sample_rate));
        }
    }
    parts.join(", ")
}

/// The JSON for `probed`: an object for one file, an array for several (as the reports), or
/// JSON lines.
pub fn render_json(probed: &[Probed], lines: bool) -> Result<String> {
    if lines {
        return probed.iter().map(|p| p.json_line(false)).collect();
    }
    let text = match probed {
        [one] => serde_json::to_string_pretty(one),
        many => serde_json::to_string_pretty(many),
    };
    text.map(|t| t + "\n").map_err(serialise_failed)
}

fn serialise_failed(e: serde_json::Error) -> Error {
    Error::Processing(format!("cannot serialise the probe result: {e}"))
}

/// Human-readable output for one input.
pub fn render_text(probed: &Probed) -> String {
    match probed {
        Probed::Info(info) => render_info(info),
        Probed::Failed { path, error } => {
            format!("{}\n  error: {}\n", escape_control(path), escape_control(error))
        }
    }
}

/// Human-readable probe output of a file that could be read.
fn render_info(info: &MediaInfo) -> String {
    let mut out = String::new();
    let duration = info.duration_s.map_or("unknown".to_string(), |d| format!("{d:.3} s"));
    let _ = writeln!(out, "{}", escape_control(&info.path));
    let _ = writeln!(
        out,
        "  container  {} (FFmpeg: {}), {duration}, {} bytes",
        info.format.to_uppercase(),
        info.container,
        info.size_bytes
    );
    for stream in &info.streams {
        let start = stream.start_s.map_or("-".to_string(), |s| format!("{s:.3} s"));
        let analysed = if Some(stream.index) == info.analysed_video
            || Some(stream.index) == info.analysed_audio
        {
            "  (analysed)"
        } else {
            ""
        };
        let detail = if let Some(v) = &stream.video {
            format!(
                "{}x{}, {} fps nominal, {} average{}",
                v.width,
                v.height,
                v.nominal_fps,
                v.average_fps.map_or("-".to_string(), |f| format!("{f:.3}")),
                if v.variable_frame_rate { ", VFR" } else { "" }
            )
        } else if let Some(a) = &stream.audio {
            format!("{} Hz, {} channel(s)", a.sample_rate, a.channels)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  stream {}  {} {} {detail}, starts at {start}{analysed}",
            stream.index, stream.kind, stream.codec
        );
    }
    if let Some(diff) = info.audio_minus_video_start_s.filter(|d| *d != 0.0) {
        let _ = writeln!(
            out,
            "  audio starts {:.3} s {} the video",
            diff.abs(),
            if diff >= 0.0 { "after" } else { "before" }
        );
    }
    for warning in &info.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}
