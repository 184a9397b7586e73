//! What a media file contains, as FFmpeg reads it: container, duration, streams and timing.

use super::ffmpeg::{is_real_video, open_input, seconds};
use crate::error::Result;
use ff::{format, media, Rational};
use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A clip shorter than this cannot hold enough speech for a content measurement.
pub const VERY_SHORT_S: f64 = 2.0;
/// Average and nominal frame rates further apart than this (relative) mark variable frame rate.
const VFR_RATE_TOLERANCE: f64 = 0.01;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MediaInfo {
    pub path: String,
    /// FFmpeg's short names for the container, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    /// The container's duration in seconds, as ffprobe's `format=duration`.
    pub duration_s: Option<f64>,
    pub size_bytes: u64,
    /// The container's start time in seconds (ffprobe's `format=start_time`).
    pub start_s: Option<f64>,
    pub streams: Vec<StreamInfo>,
    /// Index (in `streams`) of the video stream that will be analysed.
    pub analysed_video: Option<usize>,
    /// Index (in `streams`) of the audio stream that will be analysed.
    pub analysed_audio: Option<usize>,
    /// Audio start minus video start, in seconds: positive when the audio starts later.
    pub audio_minus_video_start_s: Option<f64>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StreamInfo {
    pub index: usize,
    /// `video`, `audio`, `subtitle`, `data` or `attachment`.
    pub kind: String,
    pub codec: String,
    /// Presentation time of the stream's first frame or sample, in seconds.
    pub start_s: Option<f64>,
    pub duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoStreamInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioStreamInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct VideoStreamInfo {
    pub width: u32,
    pub height: u32,
    /// The stream's nominal (base) rate, ffprobe's `r_frame_rate`, as `num/den`.
    pub nominal_fps: String,
    /// Frames per second on average, ffprobe's `avg_frame_rate`.
    pub average_fps: Option<f64>,
    /// True when the frame times do not follow one fixed rate.
    pub variable_frame_rate: bool,
    /// Display rotation in degrees from the stream's metadata or display matrix.
    pub rotation_deg: Option<f64>,
    /// True for cover art rather than a picture sequence.
    pub attached_picture: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AudioStreamInfo {
    pub sample_rate: u32,
    pub channels: u16,
}

fn rational_f64(r: Rational) -> Option<f64> {
    (r.denominator() != 0 && r.numerator() > 0)
        .then(|| f64::from(r.numerator()) / f64::from(r.denominator()))
}

fn stream_time(ts: i64, time_base: Rational) -> Option<f64> {
    (ts != ff::ffi::AV_NOPTS_VALUE).then(|| seconds(ts, time_base))
}

/// Reads the container and stream headers of `path` (no decoding).
pub fn probe(path: &Path) -> Result<MediaInfo> {
    let size_bytes = super::check_readable_file(path)?;
    let input = open_input(path)?;
    let av_time_base = Rational::new(1, ff::ffi::AV_TIME_BASE);
    let duration_s = stream_time(input.duration(), av_time_base).filter(|d| *d >= 0.0);
    // SAFETY: reading a plain field of the open format context.
    let start_raw = unsafe { (*input.as_ptr()).start_time };
    let start_s = stream_time(start_raw, av_time_base);

    let streams: Vec<StreamInfo> = input.streams().map(|s| stream_info(&s)).collect();
    let analysed_video = input
        .streams()
        .best(media::Type::Video)
        .filter(is_real_video)
        .map(|s| s.index())
        .or_else(|| input.streams().find(is_real_video).map(|s| s.index()));
    let analysed_audio = input.streams().best(media::Type::Audio).map(|s| s.index());
    let audio_minus_video_start_s = match (analysed_audio, analysed_video) {
        (Some(a), Some(v)) => match (streams[a].start_s, streams[v].start_s) {
            (Some(a), Some(v)) => Some(a - v),
            _ => None,
        },
        _ => None,
    };

    let mut info = MediaInfo {
        path: path.display().to_string(),
        container: input.format().name().to_string(),
        duration_s,
        size_bytes,
        start_s,
        streams,
        analysed_video,
        analysed_audio,
        audio_minus_video_start_s,
        warnings: Vec::new(),
    };
    info.warnings = warnings(&info);
    Ok(info)
}

fn stream_info(stream: &format::stream::Stream) -> StreamInfo {
    let parameters = stream.parameters();
    let time_base = stream.time_base();
    let kind = match parameters.medium() {
        media::Type::Video => "video",
        media::Type::Audio => "audio",
        media::Type::Subtitle => "subtitle",
        media::Type::Attachment => "attachment",
        _ => "data",
    };
    // SAFETY: reading plain fields of the stream's codec parameters.
    let (width, height, sample_rate, channels) = unsafe {
        let p = &*parameters.as_ptr();
        (p.width.max(0) as u32, p.height.max(0) as u32, p.sample_rate.max(0) as u32, p.channels)
    };
    let video = (kind == "video").then(|| {
        let nominal = stream.rate();
        let average_fps = rational_f64(stream.avg_frame_rate());
        let variable_frame_rate = match (rational_f64(nominal), average_fps) {
            (Some(n), Some(a)) => (n - a).abs() / n > VFR_RATE_TOLERANCE,
            _ => false,
        };
        VideoStreamInfo {
            width,
            height,
            nominal_fps: format!("{}/{}", nominal.numerator(), nominal.denominator()),
            average_fps,
            variable_frame_rate,
            rotation_deg: rotation_deg(stream),
            attached_picture: !is_real_video(stream),
        }
    });
    let audio = (kind == "audio")
        .then(|| AudioStreamInfo { sample_rate, channels: channels.max(0) as u16 });
    StreamInfo {
        index: stream.index(),
        kind: kind.to_string(),
        codec: parameters.id().name().to_string(),
        start_s: stream_time(stream.start_time(), time_base),
        duration_s: stream_time(stream.duration(), time_base),
        video,
        audio,
    }
}

/// Rotation from the display matrix side data, or the legacy `rotate` tag.
fn rotation_deg(stream: &format::stream::Stream) -> Option<f64> {
    for side_data in stream.side_data() {
        if side_data.kind() == ff::codec::packet::side_data::Type::DisplayMatrix {
            let data = side_data.data();
            if data.len() >= 36 {
                // SAFETY: the display matrix is nine i32 values, checked above.
                let angle =
                    unsafe { ff::ffi::av_display_rotation_get(data.as_ptr().cast::<i32>()) };
                if angle.is_finite() && angle.abs() > 0.5 {
                    return Some(-angle);
                }
            }
        }
    }
    stream.metadata().get("rotate").and_then(|r| r.parse::<f64>().ok()).filter(|r| *r != 0.0)
}

fn warnings(info: &MediaInfo) -> Vec<String> {
    let mut warnings = Vec::new();
    if info.analysed_video.is_none() {
        warnings.push("no video stream".to_string());
    }
    if info.analysed_audio.is_none() {
        warnings.push("no audio stream".to_string());
    }
    for stream in &info.streams {
        if let Some(video) = &stream.video {
            if video.variable_frame_rate {
                warnings.push(format!(
                    "stream {}: variable frame rate (nominal {}, average {:.3} fps); per-frame times are used",
                    stream.index,
                    video.nominal_fps,
                    video.average_fps.unwrap_or(0.0)
                ));
            }
            if let Some(rotation) = video.rotation_deg {
                warnings.push(format!(
                    "stream {}: rotation metadata of {rotation:.0} degrees",
                    stream.index
                ));
            }
        }
    }
    if let Some(duration) = info.duration_s.filter(|d| *d < VERY_SHORT_S) {
        warnings.push(format!(
            "very short: {duration:.2} s (content measurements need at least {VERY_SHORT_S} s of speech)"
        ));
    }
    warnings
}
