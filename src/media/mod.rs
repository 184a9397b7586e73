//! Decoding with true presentation times.
//!
//! Everything later in the pipeline stands on knowing exactly when each video frame and each
//! audio sample is presented. This layer therefore reports times taken from the streams'
//! presentation timestamps (stream start times, edit lists and variable frame rate included),
//! never from frame or sample counts.
//!
//! Decoding is streamed into a [`MediaSink`]: a caller keeps only what it needs (compact
//! per-frame features, or the audio at an analysis rate), so memory does not grow with the
//! length of the file beyond that.
//!
//! Files with video go through FFmpeg ([`ffmpeg`]). Standalone audio files go through symphonia
//! where it can read them, with FFmpeg as the fallback.

mod audio;
mod audio_file;
mod clock;
pub mod cut;
pub mod encode;
mod ffmpeg;
mod health;
mod mono_output;
pub mod mp4;
mod probe;
pub mod remux;
pub mod retime;
mod still;

pub use audio::{downmix_or_pick, Audio, AudioCollector, ChannelSelect};
pub use ffmpeg::NO_AUDIO_IN_VIDEO;
pub use health::{MediaHealth, StreamHealth, DEFAULT_MAX_DAMAGED_SHARE};
pub use probe::{
    extension_formats, extension_mismatch, open, probe, AudioStreamInfo, MediaInfo, Opened,
    StreamInfo, VideoStreamInfo,
};
pub use still::{decode_rgb_frame, RgbFrame};

use crate::error::{Error, Result};
use std::path::Path;

/// One decoded video frame as 8-bit luma, tightly packed (row stride = `width`).
#[derive(Clone, Debug)]
pub struct LumaFrame {
    /// Presentation time of the frame in seconds, from its PTS and the stream time base.
    pub pts_s: f64,
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl LumaFrame {
    /// The luma value at column `x`, row `y`.
    pub fn at(&self, x: u32, y: u32) -> u8 {
        self.pixels[(y * self.width + x) as usize]
    }

    /// Mean luma over the whole frame, 0–255.
    pub fn mean(&self) -> f64 {
        let sum: u64 = self.pixels.iter().map(|&p| u64::from(p)).sum();
        sum as f64 / self.pixels.len().max(1) as f64
    }
}

/// A run of consecutive mono samples and the presentation time of the first one.
#[derive(Clone, Copy, Debug)]
pub struct AudioChunk<'a> {
    pub start_s: f64,
    pub sample_rate: u32,
    pub samples: &'a [f32],
}

/// Receives decoded media as it is produced.
pub trait MediaSink {
    /// Called for each video frame in presentation order.
    fn video_frame(&mut self, frame: LumaFrame) -> Result<()>;
    /// Called for each run of decoded (mono, resampled) audio.
    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()>;
}

/// The size at which video frames are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameSize {
    /// Scale so that the longer side is at most this many pixels (never upscale).
    LongestSide(u32),
    /// The coded resolution.
    Native,
}

/// The rate at which audio is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleRate {
    Hz(u32),
    /// The stream's own rate, for reference and pattern work where every sample counts.
    Native,
}

#[derive(Clone, Debug)]
pub struct VideoOptions {
    pub size: FrameSize,
    /// Skip the in-loop deblocking filter: faster, and the features tolerate it.
    pub skip_loop_filter: bool,
    /// Decoder threads; 0 lets FFmpeg choose.
    pub threads: usize,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions { size: FrameSize::LongestSide(320), skip_loop_filter: false, threads: 0 }
    }
}

#[derive(Clone, Debug)]
pub struct AudioOptions {
    pub sample_rate: SampleRate,
    /// Which audio stream to use, counted among the audio streams from 0; default: FFmpeg's
    /// best audio stream.
    pub stream: Option<usize>,
    pub channel: ChannelSelect,
}

impl Default for AudioOptions {
    fn default() -> Self {
        AudioOptions {
            sample_rate: SampleRate::Hz(16_000),
            stream: None,
            channel: ChannelSelect::Downmix,
        }
    }
}

/// What to decode. `None` skips that medium entirely (it is not even decoded).
#[derive(Clone, Debug, Default)]
pub struct DecodeOptions {
    pub video: Option<VideoOptions>,
    pub audio: Option<AudioOptions>,
}

/// Checks that `path` names a readable, non-empty regular file, with the error messages a
/// user needs for the common mistakes (typo, directory, empty file, no permission). Pipes and
/// devices are refused before anything opens them: a fifo would block the open, `/dev/zero`
/// never ends, and every command reads its inputs more than once (probe, then decode).
pub fn check_readable_file(path: &Path) -> Result<u64> {
    let cannot_read = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(path, "no such file"),
        std::io::ErrorKind::PermissionDenied => Error::input(path, "permission denied"),
        _ => Error::input(path, format!("cannot read: {e}")),
    };
    let meta = std::fs::metadata(path).map_err(cannot_read)?;
    if meta.is_dir() {
        return Err(Error::input(path, "is a directory, not a media file"));
    }
    // A fifo or a device has no length to check and may never end (/dev/zero): reading one
    // could hang a pipeline or fill memory.
    if !meta.is_file() {
        return Err(Error::input(path, "is not a regular file (a fifo, device or socket)"));
    }
    if meta.len() == 0 {
        return Err(Error::input(path, "file is empty"));
    }
    std::fs::File::open(path).map_err(cannot_read)?;
    Ok(meta.len())
}

/// Decoded media may end this much before the end its container declares without being called
/// truncated: container durations legitimately differ from the decoded media by a frame or
/// two, a block of codec padding, or a long last frame.
const TRUNCATED_GAP_S: f64 = 0.5;
/// ... or by this share of the declared duration, whichever is more.
const TRUNCATED_GAP_FRACTION: f64 = 0.02;

/// Fails when a stream's decoded media ends well before the end its container declares: a file
/// cut short whose header survived (an MP4 with its index at the front, a WAV).
pub(crate) fn check_complete(
    path: &Path,
    what: &str,
    decoded_end_s: f64,
    declared_end_s: Option<f64>,
) -> Result<()> {
    let Some(declared) = declared_end_s else { return Ok(()) };
    let allowed = TRUNCATED_GAP_S.max(TRUNCATED_GAP_FRACTION * declared);
    if declared - decoded_end_s > allowed {
        return Err(Error::input(
            path,
            format!(
                "truncated: the {what} ends at {decoded_end_s:.2} s but the file declares \
                 {declared:.2} s"
            ),
        ));
    }
    Ok(())
}

/// Which library decodes a standalone audio file (one without video).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AudioBackend {
    /// symphonia where it can read the file, FFmpeg otherwise.
    #[default]
    Auto,
    /// symphonia only: an error where it cannot read the file. (Files with video always go
    /// through FFmpeg.)
    Symphonia,
    /// FFmpeg only.
    Ffmpeg,
}

/// Decodes the requested media of `path` into `sink`, in one pass over the file, and returns
/// the decoder's health counts (damaged packets are skipped, not fatal).
///
/// Files with a video stream, or whenever video is asked for, go through FFmpeg. A standalone
/// audio file goes through symphonia, with FFmpeg as the fallback for what symphonia cannot
/// read; both put the samples on the same timeline. Only FFmpeg's decodes are counted: a file
/// symphonia reads gets an empty [`MediaHealth`].
pub fn decode(
    path: &Path,
    options: &DecodeOptions,
    sink: &mut dyn MediaSink,
) -> Result<MediaHealth> {
    decode_with(path, options, AudioBackend::Auto, sink)
}

/// [`decode`] with the choice of library for standalone audio files.
pub fn decode_with(
    path: &Path,
    options: &DecodeOptions,
    backend: AudioBackend,
    sink: &mut dyn MediaSink,
) -> Result<MediaHealth> {
    decode_opened(path, ffmpeg::open_input(path)?, options, backend, sink)
}

/// [`decode_with`] on `path` already opened by FFmpeg: each open probes the file again
/// (milliseconds for a WAV).
fn decode_opened(
    path: &Path,
    input: ffmpeg_next::format::context::Input,
    options: &DecodeOptions,
    backend: AudioBackend,
    sink: &mut dyn MediaSink,
) -> Result<MediaHealth> {
    let standalone_audio = options.video.is_none() && !ffmpeg::has_real_video(&input);
    if let (true, Some(audio), AudioBackend::Auto | AudioBackend::Symphonia) =
        (standalone_audio, &options.audio, backend)
    {
        match audio_file::decode(path, audio, sink)? {
            audio_file::Outcome::Decoded { end_s: Some(end_s) } => {
                check_complete(path, "audio", end_s, ffmpeg::declared_end_s(&input, None))?;
                return Ok(MediaHealth::default());
            }
            audio_file::Outcome::Decoded { end_s: None } => {
                return Err(Error::input(
                    path,
                    "audio stream decoded to no samples (corrupt or truncated)",
                ));
            }
            audio_file::Outcome::Unsupported if backend == AudioBackend::Symphonia => {
                return Err(Error::input(path, "symphonia cannot decode this audio"));
            }
            audio_file::Outcome::Unsupported => {}
        }
    }
    ffmpeg::decode_input(path, input, options, sink)
}

/// Decodes the whole audio track of `path` into memory at the requested rate, with times on the
/// file's own timeline (the one its video, if any, shares).
pub fn decode_audio(path: &Path, options: &AudioOptions) -> Result<Audio> {
    decode_audio_with(path, options, AudioBackend::Auto)
}

/// [`decode_audio`] with the choice of library for standalone audio files.
pub fn decode_audio_with(
    path: &Path,
    options: &AudioOptions,
    backend: AudioBackend,
) -> Result<Audio> {
    decode_opened_audio(path, ffmpeg::open_input(path)?, options, backend)
}

fn decode_opened_audio(
    path: &Path,
    input: ffmpeg_next::format::context::Input,
    options: &AudioOptions,
    backend: AudioBackend,
) -> Result<Audio> {
    let mut collector = AudioCollector::default();
    let options = DecodeOptions { video: None, audio: Some(options.clone()) };
    decode_opened(path, input, &options, backend, &mut collector)?;
    collector.finish().ok_or_else(|| Error::input(path, "audio stream decoded to no samples"))
}

/// Decodes an audio file that goes with a picture from another file (`--audio`,
/// `--audio-ref`): its timeline starts at the file's start, so that its first presented sample
/// meets the video's time 0.
///
/// That is how FFmpeg lines up separate inputs when it muxes them, and how a player plays an
/// audio file. The file's own timestamps may start later: FFmpeg presents the first sample of
/// an MP3 at its encoder delay (25 ms for LAME at 44.1 kHz), which would otherwise read as
/// audio 25 ms late.
pub fn decode_external_audio(path: &Path, options: &AudioOptions) -> Result<Audio> {
    decode_opened_external_audio(path, ffmpeg::open_input(path)?, options)
}

fn decode_opened_external_audio(
    path: &Path,
    input: ffmpeg_next::format::context::Input,
    options: &AudioOptions,
) -> Result<Audio> {
    let file_start_s = ffmpeg::container_start_s(&input);
    let mut audio = decode_opened_audio(path, input, options, AudioBackend::Auto)?;
    audio.start_s -= file_start_s;
    Ok(audio)
}
