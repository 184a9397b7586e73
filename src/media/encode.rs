//! Writing a video-and-audio file through FFmpeg (libavcodec encoders, libavformat muxers), with
//! timestamps set exactly from the frame rate and the sample count.
//!
//! Used by `avsync pattern generate`. The container follows the output's extension; a codec the
//! container cannot hold is refused when the header is written. After the header is written
//! the muxer has fixed each stream's time base (Matroska rounds to milliseconds, MOV/MP4 keep
//! the rate's own), and [`MediaWriter::video_time_s`] says what time a frame will really carry.

use super::ffmpeg::init;
use crate::error::{Error, Result};
use crate::safe_write::PendingFile;
use ff::{codec, encoder, format, util, ChannelLayout, Dictionary, Rational, Rescale};
use ffmpeg_next as ff;
use std::path::{Path, PathBuf};

/// Video codecs the writer offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264 through libx264 (CRF [`H264_CRF`], preset [`H264_PRESET`]).
    H264,
    /// FFV1, lossless.
    Ffv1,
}

/// Audio codecs the writer offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// AAC-LC through FFmpeg's native encoder at [`AAC_BITRATE`].
    Aac,
    /// 16-bit PCM, lossless at this depth.
    Pcm,
}

/// x264's constant-quality setting: visually lossless for flat test pictures.
pub const H264_CRF: &str = "18";
pub const H264_PRESET: &str = "medium";
/// AAC bit rate for a mono track: transparent for a tone.
pub const AAC_BITRATE: usize = 192_000;
/// Samples per audio frame when the codec takes any size (PCM).
const PCM_FRAME_SAMPLES: usize = 1024;

/// What to write.
#[derive(Clone, Debug)]
pub struct WriterSettings {
    pub width: u32,
    pub height: u32,
    /// Frames per second as `(numerator, denominator)`.
    pub frame_rate: (u32, u32),
    pub sample_rate: u32,
    pub video: VideoCodec,
    pub audio: AudioCodec,
}

/// An open output file taking luma frames and mono samples in order.
pub struct MediaWriter {
    path: PathBuf,
    output: format::context::Output,
    /// The temporary file FFmpeg writes, renamed onto `path` by [`MediaWriter::finish`].
    file: PendingFile,
    video: StreamEncoder<encoder::Video>,
    audio: StreamEncoder<encoder::Audio>,
    width: u32,
    height: u32,
    sample_rate: u32,
    audio_frame_samples: usize,
    audio_format: format::Sample,
    /// Samples waiting to fill an audio frame.
    pending: Vec<f32>,
    frames_written: i64,
    samples_written: i64,
}

struct StreamEncoder<E> {
    index: usize,
    encoder: E,
    /// The encoder's time base (frame or sample units).
    time_base: Rational,
    /// The stream's time base as the muxer fixed it.
    stream_time_base: Rational,
}

fn write_error(path: &Path, what: &str, e: ff::Error) -> Error {
    Error::output(path, format!("{what}: {e}"))
}

impl MediaWriter {
    /// Starts the file for `path` and writes its header. Until [`finish`](Self::finish) the
    /// content goes to a temporary file beside it ([`PendingFile`]): a file already at `path`
    /// stays as it was if anything fails or the writer is dropped.
    pub fn create(path: &Path, settings: &WriterSettings) -> Result<Self> {
        init();
        let file = PendingFile::create(path)?;
        let output = format::output(&file.path()).map_err(|e| {
            Error::output(
                path,
                format!("no container for this file name ({e}): use .mov, .mkv or .mp4"),
            )
        })?;
        Self::set_up(path, output, file, settings)
    }

    fn set_up(
        path: &Path,
        mut output: format::context::Output,
        file: PendingFile,
        settings: &WriterSettings,
    ) -> Result<Self> {
        let (video_codec, video_name) = match settings.video {
            VideoCodec::H264 => (encoder::find_by_name("libx264"), "H.264 (libx264)"),
            VideoCodec::Ffv1 => (encoder::find(codec::Id::FFV1), "FFV1"),
        };
        let (audio_codec, audio_name, audio_format) = match settings.audio {
            AudioCodec::Aac => (
                encoder::find(codec::Id::AAC),
                "AAC",
                format::Sample::F32(format::sample::Type::Planar),
            ),
            AudioCodec::Pcm => (
                encoder::find(codec::Id::PCM_S16LE),
                "16-bit PCM",
                format::Sample::I16(format::sample::Type::Packed),
            ),
        };
        let video_codec = video_codec.ok_or_else(|| {
            Error::output(path, format!("this FFmpeg has no {video_name} encoder"))
        })?;
        let audio_codec = audio_codec.ok_or_else(|| {
            Error::output(path, format!("this FFmpeg has no {audio_name} encoder"))
        })?;
        let global_header = output.format().flags().contains(format::Flags::GLOBAL_HEADER);

        let (num, den) = settings.frame_rate;
        let frame_time_base = Rational::new(den as i32, num as i32);
        let mut video = codec::context::Context::new_with_codec(video_codec)
            .encoder()
            .video()
            .map_err(|e| write_error(path, "cannot set up the video encoder", e))?;
        video.set_width(settings.width);
        video.set_height(settings.height);
        video.set_format(format::Pixel::YUV420P);
        video.set_time_base(frame_time_base);
        video.set_frame_rate(Some(Rational::new(num as i32, den as i32)));
        if global_header {
            video.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        if settings.video == VideoCodec::H264 {
            options.set("crf", H264_CRF);
            options.set("preset", H264_PRESET);
        }
        let video = video
            .open_as_with(video_codec, options)
            .map_err(|e| write_error(path, "cannot open the video encoder", e))?;
        let video_index = {
            let mut stream = output
                .add_stream(video_codec)
                .map_err(|e| write_error(path, "cannot add the video stream", e))?;
            stream.set_parameters(&video);
            stream.set_time_base(frame_time_base);
            stream.set_rate(Rational::new(num as i32, den as i32));
            stream.set_avg_frame_rate(Rational::new(num as i32, den as i32));
            stream.index()
        };

        let sample_time_base = Rational::new(1, settings.sample_rate as i32);
        let mut audio = codec::context::Context::new_with_codec(audio_codec)
            .encoder()
            .audio()
            .map_err(|e| write_error(path, "cannot set up the audio encoder", e))?;
        audio.set_rate(settings.sample_rate as i32);
        audio.set_channel_layout(ChannelLayout::MONO);
        audio.set_channels(1);
        audio.set_format(audio_format);
        audio.set_time_base(sample_time_base);
        if settings.audio == AudioCodec::Aac {
            audio.set_bit_rate(AAC_BITRATE);
        }
        if global_header {
            audio.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let audio = audio
            .open_as(audio_codec)
            .map_err(|e| write_error(path, "cannot open the audio encoder", e))?;
        let audio_index = {
            let mut stream = output
                .add_stream(audio_codec)
                .map_err(|e| write_error(path, "cannot add the audio stream", e))?;
            stream.set_parameters(&audio);
            stream.set_time_base(sample_time_base);
            stream.index()
        };

        let container = output.format().name().to_string();
        output.write_header().map_err(|e| {
            Error::output(
                path,
                format!(
                    "the {container} muxer refused {video_name} with {audio_name} ({e}): FFV1 and PCM need .mov or .mkv"
                ),
            )
        })?;
        let stream_time_base =
            |index: usize| output.stream(index).expect("stream added above").time_base();
        let audio_frame_samples = match audio.frame_size() {
            0 => PCM_FRAME_SAMPLES,
            n => n as usize,
        };
        Ok(MediaWriter {
            path: path.to_path_buf(),
            file,
            video: StreamEncoder {
                index: video_index,
                encoder: video,
                time_base: frame_time_base,
                stream_time_base: stream_time_base(video_index),
            },
            audio: StreamEncoder {
                index: audio_index,
                encoder: audio,
                time_base: sample_time_base,
                stream_time_base: stream_time_base(audio_index),
            },
            output,
            width: settings.width,
            height: settings.height,
            sample_rate: settings.sample_rate,
            audio_frame_samples,
            audio_format,
            pending: Vec::new(),
            frames_written: 0,
            samples_written: 0,
        })
    }

    /// The presentation time frame `index` will carry in the file: the rate's exact time,
    /// rounded to the stream's time base as the muxer stores it.
    pub fn video_time_s(&self, index: u64) -> f64 {
        // Rounded to nearest, as av_packet_rescale_ts rounds the packet's time.
        let stored = (index as i64).rescale(self.video.time_base, self.video.stream_time_base);
        stored as f64 * f64::from(self.video.stream_time_base)
    }

    /// Why this file's timing cannot be exact, if it cannot: an audio codec with priming
    /// samples (AAC's 1024) in a container whose time base cannot express them (Matroska's
    /// milliseconds) makes the muxer shift the streams by a rounded amount.
    pub fn timing_warning(&self) -> Option<String> {
        // SAFETY: reading a plain field of the open encoder context.
        let priming = unsafe { (*self.audio.encoder.as_ptr()).initial_padding };
        if priming <= 0 {
            return None;
        }
        let rate = i64::from(self.sample_rate);
        let inexact =
            [self.video.stream_time_base, self.audio.stream_time_base].into_iter().find(|tb| {
                (i64::from(priming) * i64::from(tb.denominator()))
                    % (rate * i64::from(tb.numerator()))
                    != 0
            })?;
        Some(format!(
            "the {} container keeps times in units of {}/{} s, which cannot express the audio codec's {priming}-sample priming: the file's offset may differ from the one asked for by up to half a unit ({:.3} ms); use .mp4 or .mov for exact timing",
            self.output.format().name(),
            inexact.numerator(),
            inexact.denominator(),
            f64::from(inexact) * 500.0
        ))
    }

    /// Presentation time of the next audio sample to be written.
    pub fn audio_time_s(&self) -> f64 {
        (self.samples_written + self.pending.len() as i64) as f64 / f64::from(self.sample_rate)
    }

    /// Encodes the next frame, given as tightly packed 8-bit luma; chroma is neutral grey.
    pub fn push_video(&mut self, luma: &[u8]) -> Result<()> {
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(luma.len(), w * h, "a frame is width × height luma samples");
        let mut frame = util::frame::Video::new(format::Pixel::YUV420P, self.width, self.height);
        let stride = frame.stride(0);
        let plane = frame.data_mut(0);
        for (row, pixels) in luma.chunks_exact(w).enumerate() {
            plane[row * stride..row * stride + w].copy_from_slice(pixels);
        }
        for chroma in 1..3 {
            frame.data_mut(chroma).fill(128);
        }
        frame.set_pts(Some(self.frames_written));
        self.frames_written += 1;
        self.video
            .encoder
            .send_frame(&frame)
            .map_err(|e| write_error(&self.path, "video encoding failed", e))?;
        drain(
            &self.path,
            &mut self.video.encoder,
            self.video.index,
            self.video.time_base,
            self.video.stream_time_base,
            &mut self.output,
        )
    }

    /// Queues mono samples for encoding; they are encoded a codec frame at a time.
    pub fn push_audio(&mut self, samples: &[f32]) -> Result<()> {
        self.pending.extend_from_slice(samples);
        while self.pending.len() >= self.audio_frame_samples {
            let rest = self.pending.split_off(self.audio_frame_samples);
            let frame = std::mem::replace(&mut self.pending, rest);
            self.encode_audio(&frame)?;
        }
        Ok(())
    }

    fn encode_audio(&mut self, samples: &[f32]) -> Result<()> {
        let mut frame =
            util::frame::Audio::new(self.audio_format, samples.len(), ChannelLayout::MONO);
        frame.set_channels(1);
        frame.set_rate(self.sample_rate);
        match self.audio_format {
            format::Sample::I16(_) => {
                for (out, &s) in frame.plane_mut::<i16>(0).iter_mut().zip(samples) {
                    *out = (f64::from(s) * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
                }
            }
            _ => frame.plane_mut::<f32>(0).copy_from_slice(samples),
        }
        frame.set_pts(Some(self.samples_written));
        self.samples_written += samples.len() as i64;
        self.audio
            .encoder
            .send_frame(&frame)
            .map_err(|e| write_error(&self.path, "audio encoding failed", e))?;
        drain(
            &self.path,
            &mut self.audio.encoder,
            self.audio.index,
            self.audio.time_base,
            self.audio.stream_time_base,
            &mut self.output,
        )
    }

    /// Flushes the encoders and writes the trailer.
    pub fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.encode_audio(&last)?;
        }
        let (video, audio) = (&mut self.video, &mut self.audio);
        for (encoder, index, time_base, stream_time_base) in [
            (&mut **video.encoder, video.index, video.time_base, video.stream_time_base),
            (&mut **audio.encoder, audio.index, audio.time_base, audio.stream_time_base),
        ] {
            encoder
                .send_eof()
                .map_err(|e| write_error(&self.path, "cannot flush the encoder", e))?;
            drain(&self.path, encoder, index, time_base, stream_time_base, &mut self.output)?;
        }
        self.output
            .write_trailer()
            .map_err(|e| write_error(&self.path, "cannot finish the file", e))?;
        let MediaWriter { output, file, .. } = self;
        drop(output); // closes the temporary file
        file.commit()
    }
}

/// Moves every packet the encoder has ready into the muxer.
fn drain(
    path: &Path,
    encoder: &mut encoder::Encoder,
    index: usize,
    time_base: Rational,
    stream_time_base: Rational,
    output: &mut format::context::Output,
) -> Result<()> {
    let mut packet = codec::packet::Packet::empty();
    loop {
        match encoder.receive_packet(&mut packet) {
            Ok(()) => {}
            Err(ff::Error::Eof) => return Ok(()),
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
            Err(e) => return Err(write_error(path, "encoding failed", e)),
        }
        packet.set_stream(index);
        packet.rescale_ts(time_base, stream_time_base);
        packet
            .write_interleaved(output)
            .map_err(|e| write_error(path, "cannot write a packet", e))?;
    }
}
