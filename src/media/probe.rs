//! What a media file contains, as FFmpeg reads it: container, duration, streams and timing.

use super::ffmpeg::{best_stream, is_real_video, open_input, seconds};
use super::mp4;
use crate::error::{Error, Result};
use ff::{format, media, Rational};
use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A clip shorter than this cannot hold enough speech for a content measurement.
pub const VERY_SHORT_S: f64 = 2.0;
/// Average and nominal frame rates further apart than this (relative) mark variable frame rate.
const VFR_RATE_TOLERANCE: f64 = 0.01;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MediaInfo {
    pub path: String,
    /// FFmpeg's short names for the container, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    /// The container as the file's content says, whatever its name: `mp4`, `mov`, `m4a`,
    /// `3gp`, `matroska`, `webm`, `mp3`, `wav`, `ogg`, `flac`, `aac`, ... (FFmpeg's first name
    /// where nothing finer is known).
    pub format: String,
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
    /// Audio end minus video end (start + duration of each analysed stream), in seconds:
    /// positive when the audio ends later.
    #[serde(default)]
    pub audio_minus_video_end_s: Option<f64>,
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
    /// Display rotation in degrees, as ffprobe reports it (its `rotation`: the display
    /// matrix's angle, counter-clockwise), or the legacy `rotate` tag.
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
    open(path).map(|opened| opened.info)
}

/// A file probed and left open for one decode ([`Opened::decode`]): FFmpeg probes a file again
/// each time it opens it, which for a WAV costs milliseconds, as much as decoding seconds of it.
pub struct Opened {
    pub info: MediaInfo,
    path: PathBuf,
    input: format::context::Input,
}

impl Opened {
    /// [`super::decode`] on the open file.
    pub fn decode(
        self,
        options: &super::DecodeOptions,
        sink: &mut dyn super::MediaSink,
    ) -> Result<super::MediaHealth> {
        super::decode_opened(&self.path, self.input, options, super::AudioBackend::Auto, sink)
    }

    /// [`super::decode_external_audio`] on the open file.
    pub fn decode_external_audio(self, options: &super::AudioOptions) -> Result<super::Audio> {
        super::decode_opened_external_audio(&self.path, self.input, options)
    }
}

/// [`probe`], keeping the file open.
pub fn open(path: &Path) -> Result<Opened> {
    let size_bytes = super::check_readable_file(path)?;
    let input = open_input(path)?;
    let av_time_base = Rational::new(1, ff::ffi::AV_TIME_BASE);
    let duration_s = stream_time(input.duration(), av_time_base).filter(|d| *d >= 0.0);
    // SAFETY: reading a plain field of the open format context.
    let start_raw = unsafe { (*input.as_ptr()).start_time };
    let start_s = stream_time(start_raw, av_time_base);

    let boxes = mp4::read(path);
    let declared = match &boxes {
        Some(boxes) => Some(size_bytes + boxes.missing_bytes),
        None => declared_length(path),
    };
    if let Some(declared) = declared.filter(|d| *d > size_bytes) {
        return Err(Error::input(
            path,
            format!(
                "truncated: the file has {size_bytes} bytes but its header declares {declared}"
            ),
        ));
    }
    let streams: Vec<StreamInfo> = input.streams().map(|s| stream_info(&s)).collect();
    let analysed_video = best_stream(&input, media::Type::Video);
    let analysed_audio = best_stream(&input, media::Type::Audio);
    // FFmpeg passes over an audio stream of 0 channels or 0 Hz when it picks the best one;
    // when no other is left, the file is broken, not merely silent.
    let empty_audio = streams.iter().find_map(|s| {
        s.audio.as_ref().filter(|a| a.channels == 0 || a.sample_rate == 0).map(|a| (s.index, a))
    });
    if let Some((index, audio)) = empty_audio.filter(|_| analysed_audio.is_none()) {
        return Err(Error::input(
            path,
            format!(
                "audio stream {index} declares {} channel(s) at {} Hz: there is nothing to decode",
                audio.channels, audio.sample_rate
            ),
        ));
    }
    let audio_minus_video_start_s = match (analysed_audio, analysed_video) {
        (Some(a), Some(v)) => match (streams[a].start_s, streams[v].start_s) {
            (Some(a), Some(v)) => Some(a - v),
            _ => None,
        },
        _ => None,
    };
    let end = |i: usize| Some(streams[i].start_s? + streams[i].duration_s?);
    let audio_minus_video_end_s = match (analysed_audio, analysed_video) {
        (Some(a), Some(v)) => end(a).zip(end(v)).map(|(a, v)| a - v),
        _ => None,
    };

    let mut info = MediaInfo {
        path: path.display().to_string(),
        container: input.format().name().to_string(),
        format: content_format(path, input.format().name(), boxes.as_ref()),
        duration_s,
        size_bytes,
        start_s,
        streams,
        analysed_video,
        analysed_audio,
        audio_minus_video_start_s,
        audio_minus_video_end_s,
        warnings: Vec::new(),
    };
    info.warnings = warnings(&info);
    Ok(Opened { info, path: path.to_path_buf(), input })
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
                    return Some(angle);
                }
            }
        }
    }
    stream.metadata().get("rotate").and_then(|r| r.parse::<f64>().ok()).filter(|r| *r != 0.0)
}

/// The file length that a RIFF (WAV, AVI) or Matroska header declares, where it declares one:
/// a cheap way to tell a file cut short without decoding it.
fn declared_length(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).ok()?.take(EBML_HEADER_BYTES).read_to_end(&mut head).ok()?;
    if head.len() >= 12 && (&head[..4] == b"RIFF") {
        let size = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        // Streaming writers leave 0 or 0xFFFFFFFF (and RF64 files say so) for "unknown".
        return (size != 0 && size != u32::MAX).then(|| u64::from(size) + 8);
    }
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        // EBML header: id, size, payload; then the Segment: id 0x18538067, size.
        let (header_len, header_size_len) = ebml_vint(&head[4..])?;
        let segment_at = 4 + header_size_len + usize::try_from(header_len?).ok()?;
        if head.get(segment_at..segment_at + 4)? != [0x18, 0x53, 0x80, 0x67] {
            return None;
        }
        let (segment_len, size_len) = ebml_vint(&head[segment_at + 4..])?;
        return segment_len.map(|len| (segment_at + 4 + size_len) as u64 + len);
    }
    None
}

/// An EBML variable-length size: (value, `None` when "unknown"; bytes it takes).
fn ebml_vint(bytes: &[u8]) -> Option<(Option<u64>, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = u64::from(first) & (0xff >> len);
    for &b in bytes.get(1..len)? {
        value = (value << 8) | u64::from(b);
    }
    let all_ones = (1u64 << (7 * len)) - 1;
    Some(((value != all_ones).then_some(value), len))
}

/// The container named from the file's content: the ISO brand tells MP4 from MOV and M4A, the
/// EBML doc type tells WebM from Matroska; otherwise FFmpeg's demuxer name.
fn content_format(path: &Path, ffmpeg_name: &str, boxes: Option<&mp4::Mp4Boxes>) -> String {
    if let Some(boxes) = boxes.filter(|_| ffmpeg_name.contains("mp4")) {
        let brand = boxes.major_brand.as_deref().unwrap_or("qt  ");
        return match brand {
            "qt  " => "mov",
            "M4A " | "M4B " | "M4P " => "m4a",
            b if b.starts_with("3gp") || b.starts_with("3ge") || b.starts_with("3gg") => "3gp",
            b if b.starts_with("3g2") => "3g2",
            _ => "mp4",
        }
        .to_string();
    }
    if ffmpeg_name.contains("matroska") {
        return matroska_doc_type(path).unwrap_or_else(|| "matroska".to_string());
    }
    ffmpeg_name.split(',').next().unwrap_or(ffmpeg_name).to_string()
}

/// How far into a Matroska file the EBML header's doc type is looked for.
const EBML_HEADER_BYTES: u64 = 64;

/// The EBML doc type (`webm` or `matroska`) from the file header.
fn matroska_doc_type(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).ok()?.take(EBML_HEADER_BYTES).read_to_end(&mut head).ok()?;
    // DocType element id 0x4282, then a one-byte size (0x80 | length) and the ASCII name.
    let at = head.windows(2).position(|w| w == [0x42, 0x82])?;
    let len = usize::from(*head.get(at + 2)? & 0x7f);
    let name = head.get(at + 3..at + 3 + len)?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// The containers a file extension stands for; `None` for extensions with no fixed meaning.
pub fn extension_formats(extension: &str) -> Option<&'static [&'static str]> {
    Some(match extension.to_ascii_lowercase().as_str() {
        // An M4A is an MP4 holding audio; the two brands are used for either.
        "mp4" | "m4v" => &["mp4", "m4a"],
        "m4a" => &["m4a", "mp4"],
        "mov" | "qt" => &["mov"],
        "3gp" => &["3gp"],
        "mkv" | "mka" => &["matroska"],
        "webm" => &["webm"],
        "mp3" => &["mp3"],
        "wav" => &["wav"],
        "ogg" | "oga" | "opus" => &["ogg"],
        "flac" => &["flac"],
        "aac" => &["aac"],
        "avi" => &["avi"],
        _ => return None,
    })
}

/// A warning when the file's extension names another container than its content.
pub fn extension_mismatch(info: &MediaInfo) -> Option<String> {
    let extension = Path::new(&info.path).extension()?.to_str()?;
    let expected = extension_formats(extension)?;
    (!expected.contains(&info.format.as_str())).then(|| {
        format!(
            "the extension says .{extension} but the container is {}",
            info.format.to_uppercase()
        )
    })
}

/// Frames per second assumed when a video stream states no rate, to size "one frame".
const FALLBACK_FPS: f64 = 25.0;

/// When the analysed audio and video end more than one frame apart, that in words: a clip
/// whose audio stops early (or runs on) was often cut or muxed carelessly.
pub fn end_mismatch(info: &MediaInfo) -> Option<String> {
    let difference_s = info.audio_minus_video_end_s?;
    let video = info.streams.get(info.analysed_video?)?.video.as_ref()?;
    let fps = video.average_fps.filter(|f| *f > 0.0).unwrap_or(FALLBACK_FPS);
    (difference_s.abs() > 1.0 / fps).then(|| {
        format!(
            "the audio ends {:.3} s {} the video (more than one frame)",
            difference_s.abs(),
            if difference_s > 0.0 { "after" } else { "before" }
        )
    })
}

fn warnings(info: &MediaInfo) -> Vec<String> {
    let mut warnings: Vec<String> = extension_mismatch(info).into_iter().collect();
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
    warnings.extend(end_mismatch(info));
    if let Some(duration) = info.duration_s.filter(|d| *d < VERY_SHORT_S) {
        warnings.push(format!(
            "very short: {duration:.2} s (content measurements need at least {VERY_SHORT_S} s of speech)"
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(audio_end_s: f64) -> MediaInfo {
        let stream = |index: usize, kind: &str, duration_s: f64| StreamInfo {
            index,
            kind: kind.to_string(),
            codec: String::new(),
            start_s: Some(0.0),
            duration_s: Some(duration_s),
            video: (kind == "video").then(|| VideoStreamInfo {
                width: 640,
                height: 360,
                nominal_fps: "25/1".to_string(),
                average_fps: Some(25.0),
                variable_frame_rate: false,
                rotation_deg: None,
                attached_picture: false,
            }),
            audio: None,
        };
        MediaInfo {
            path: "clip.mp4".to_string(),
            container: "mov,mp4".to_string(),
            format: "mp4".to_string(),
            duration_s: Some(5.0),
            size_bytes: 1,
            start_s: Some(0.0),
            streams: vec![stream(0, "video", 5.0), stream(1, "audio", audio_end_s)],
            analysed_video: Some(0),
            analysed_audio: Some(1),
            audio_minus_video_start_s: Some(0.0),
            audio_minus_video_end_s: Some(audio_end_s - 5.0),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn audio_and_video_ending_more_than_a_frame_apart_is_warned_about() {
        let warning = end_mismatch(&clip(4.87)).unwrap();
        assert_eq!(warning, "the audio ends 0.130 s before the video (more than one frame)");
        assert!(end_mismatch(&clip(5.3)).unwrap().contains("0.300 s after"));
        assert_eq!(end_mismatch(&clip(5.03)), None, "within one 40 ms frame");
    }
}
