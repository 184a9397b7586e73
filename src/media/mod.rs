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
pub mod encode;
mod ffmpeg;
mod probe;

pub use audio::{downmix_or_pick, Audio, AudioCollector, ChannelSelect};
pub use ffmpeg::decode;
pub use probe::{probe, AudioStreamInfo, MediaInfo, StreamInfo, VideoStreamInfo};

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
/// user needs for the common mistakes (typo, directory, empty file).
pub fn check_readable_file(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(path, "no such file"),
        std::io::ErrorKind::PermissionDenied => Error::input(path, "permission denied"),
        _ => Error::input(path, format!("cannot read: {e}")),
    })?;
    if meta.is_dir() {
        return Err(Error::input(path, "is a directory, not a media file"));
    }
    if meta.len() == 0 {
        return Err(Error::input(path, "file is empty"));
    }
    Ok(meta.len())
}

/// Decodes the whole audio track of `path` into memory at the requested rate.
pub fn decode_audio(path: &Path, options: &AudioOptions) -> Result<Audio> {
    let mut collector = AudioCollector::default();
    decode(path, &DecodeOptions { video: None, audio: Some(options.clone()) }, &mut collector)?;
    collector.finish().ok_or_else(|| Error::input(path, "audio stream decoded to no samples"))
}
