//! `avsync probe`: what a file contains and how its streams are timed.

use crate::error::{Error, Result};
use crate::media::{self, MediaInfo};
use crate::report::escape_control;
use std::fmt::Write as _;
use std::path::Path;

/// Probes `path`; the caller renders the result as text or JSON.
pub fn run(path: &Path) -> Result<MediaInfo> {
    media::probe(path)
}

/// The JSON for `infos`: an object for one file, an array for several (as the reports).
pub fn render_json(infos: &[MediaInfo]) -> Result<String> {
    let text = match infos {
        [one] => serde_json::to_string_pretty(one),
        many => serde_json::to_string_pretty(many),
    };
    text.map(|t| t + "\n")
        .map_err(|e| Error::Processing(format!("cannot serialise the probe result: {e}")))
}

/// Human-readable probe output.
pub fn render_text(info: &MediaInfo) -> String {
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
