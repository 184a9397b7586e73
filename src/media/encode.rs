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
use std::ops::DerefMut;
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
    video: VideoEncoder,
    audio: AudioEncoder,
    width: u32,
    height: u32,
    frames_written: i64,
}

/// One encoder feeding one stream of a muxer: what [`VideoEncoder`] and [`AudioEncoder`] share.
struct StreamEncoder<E> {
    /// The file written, for messages.
    path: PathBuf,
    /// "video" or "audio", for messages.
    medium: &'static str,
    index: usize,
    encoder: E,
    /// The encoder's time base (frame or sample units).
    time_base: Rational,
    /// The stream's time base as the muxer fixed it.
    stream_time_base: Rational,
}

/// An opened encoder (`encoder::Video`, `encoder::Audio`): one deref to its kind's encoder, a
/// second to FFmpeg's common one.
impl<E> StreamEncoder<E>
where
    E: DerefMut,
    E::Target: DerefMut<Target = encoder::Encoder>,
{
    fn new(
        path: &Path,
        medium: &'static str,
        index: usize,
        encoder: E,
        time_base: Rational,
    ) -> Self {
        let path = path.to_path_buf();
        StreamEncoder { path, medium, index, encoder, time_base, stream_time_base: time_base }
    }

    /// Takes the stream's time base as the muxer fixed it when it wrote the header.
    fn header_written(&mut self, output: &format::context::Output) {
        self.stream_time_base = output.stream(self.index).expect("stream added").time_base();
    }

    /// Encodes a frame (its pts in the encoder's time base) and writes the packets it completes.
    fn send(
        &mut self,
        frame: &util::frame::Frame,
        output: &mut format::context::Output,
    ) -> Result<()> {
        self.encoder
            .send_frame(frame)
            .map_err(|e| write_error(&self.path, &format!("{} encoding failed", self.medium), e))?;
        self.drain(output)
    }

    /// Flushes the encoder and writes its last packets.
    fn finish(&mut self, output: &mut format::context::Output) -> Result<()> {
        self.encoder
            .send_eof()
            .map_err(|e| write_error(&self.path, "cannot flush the encoder", e))?;
        self.drain(output)
    }

    /// Moves every packet the encoder has ready into the muxer.
    fn drain(&mut self, output: &mut format::context::Output) -> Result<()> {
        let mut packet = codec::packet::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {}
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    return Ok(())
                }
                Err(e) => return Err(write_error(&self.path, "encoding failed", e)),
            }
            packet.set_stream(self.index);
            packet.rescale_ts(self.time_base, self.stream_time_base);
            packet
                .write_interleaved(output)
                .map_err(|e| write_error(&self.path, "cannot write a packet", e))?;
        }
    }
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
        let (num, den) = settings.frame_rate;
        let frame_rate = Rational::new(num as i32, den as i32);
        let mut video = VideoEncoder::add(
            path,
            &mut output,
            settings.video,
            (settings.width, settings.height),
            frame_rate.invert(),
            Some(frame_rate),
        )?;
        let video_name = settings.video.name();
        let mut audio = AudioEncoder::add(
            path,
            &mut output,
            settings.audio,
            settings.sample_rate,
            1,
            AAC_BITRATE,
        )?;
        let audio_name = settings.audio.name();

        let container = output.format().name().to_string();
        output.write_header().map_err(|e| {
            Error::output(
                path,
                format!(
                    "the {container} muxer refused {video_name} with {audio_name} ({e}): FFV1 and PCM need .mov or .mkv"
                ),
            )
        })?;
        audio.header_written(&output);
        video.header_written(&output);
        Ok(MediaWriter {
            path: path.to_path_buf(),
            file,
            video,
            audio,
            output,
            width: settings.width,
            height: settings.height,
            frames_written: 0,
        })
    }

    /// The presentation time frame `index` will carry in the file: the rate's exact time,
    /// rounded to the stream's time base as the muxer stores it.
    pub fn video_time_s(&self, index: u64) -> f64 {
        // Rounded to nearest, as av_packet_rescale_ts rounds the packet's time.
        let stream = &self.video.stream;
        let stored = (index as i64).rescale(stream.time_base, stream.stream_time_base);
        stored as f64 * f64::from(stream.stream_time_base)
    }

    /// Why this file's timing cannot be exact, if it cannot: an audio codec with priming
    /// samples (AAC's 1024) in a container whose audio time base cannot express them
    /// (Matroska's milliseconds) makes the muxer shift the streams by a rounded amount. (MP4
    /// and MOV skip the priming with an edit list in the audio's own time base: exact, whatever
    /// the video's time base.)
    pub fn timing_warning(&self) -> Option<String> {
        let priming = self.audio.priming_samples();
        if priming <= 0 {
            return None;
        }
        let rate = i64::from(self.audio.sample_rate);
        let inexact = Some(self.audio.stream.stream_time_base).filter(|tb| {
            (i64::from(priming) * i64::from(tb.denominator())) % (rate * i64::from(tb.numerator()))
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
        self.audio.next_time_s()
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
        self.video.send(&frame, &mut self.output)
    }

    /// Queues mono samples for encoding; they are encoded a codec frame at a time.
    pub fn push_audio(&mut self, samples: &[f32]) -> Result<()> {
        self.audio.push(&[samples], &mut self.output)
    }

    /// Flushes the encoders and writes the trailer.
    pub fn finish(mut self) -> Result<()> {
        self.audio.finish(&mut self.output)?;
        self.video.finish(&mut self.output)?;
        self.output
            .write_trailer()
            .map_err(|e| write_error(&self.path, "cannot finish the file", e))?;
        let MediaWriter { output, file, .. } = self;
        drop(output); // closes the temporary file
        file.commit()
    }
}

impl VideoCodec {
    /// The codec's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "H.264 (libx264)",
            VideoCodec::Ffv1 => "FFV1",
        }
    }
}

/// A video encoder feeding one stream of a muxer: YUV 4:2:0 frames in, packets out.
pub(crate) struct VideoEncoder {
    stream: StreamEncoder<encoder::Video>,
}

impl VideoEncoder {
    /// Opens an encoder for `(width, height)` pictures whose timestamps count `time_base`
    /// units, and adds its stream to `output`, whose header is not written yet.
    pub(crate) fn add(
        path: &Path,
        output: &mut format::context::Output,
        codec: VideoCodec,
        (width, height): (u32, u32),
        time_base: Rational,
        frame_rate: Option<Rational>,
    ) -> Result<Self> {
        let found = match codec {
            VideoCodec::H264 => encoder::find_by_name("libx264"),
            VideoCodec::Ffv1 => encoder::find(codec::Id::FFV1),
        }
        .ok_or_else(|| {
            Error::output(path, format!("this FFmpeg has no {} encoder", codec.name()))
        })?;
        let mut context = codec::context::Context::new_with_codec(found)
            .encoder()
            .video()
            .map_err(|e| write_error(path, "cannot set up the video encoder", e))?;
        context.set_width(width);
        context.set_height(height);
        context.set_format(format::Pixel::YUV420P);
        context.set_time_base(time_base);
        context.set_frame_rate(frame_rate);
        if output.format().flags().contains(format::Flags::GLOBAL_HEADER) {
            context.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        if codec == VideoCodec::H264 {
            options.set("crf", H264_CRF);
            options.set("preset", H264_PRESET);
        }
        let encoder = context
            .open_as_with(found, options)
            .map_err(|e| write_error(path, "cannot open the video encoder", e))?;
        let index = {
            let mut stream = output
                .add_stream(found)
                .map_err(|e| write_error(path, "cannot add the video stream", e))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(time_base);
            if let Some(rate) = frame_rate {
                stream.set_rate(rate);
                stream.set_avg_frame_rate(rate);
            }
            stream.index()
        };
        Ok(VideoEncoder { stream: StreamEncoder::new(path, "video", index, encoder, time_base) })
    }

    /// Takes the stream's time base as the muxer fixed it when it wrote the header.
    pub(crate) fn header_written(&mut self, output: &format::context::Output) {
        self.stream.header_written(output);
    }

    /// Encodes a YUV 4:2:0 frame of the encoder's size, its pts in the encoder's time base.
    pub(crate) fn send(
        &mut self,
        frame: &util::frame::Video,
        output: &mut format::context::Output,
    ) -> Result<()> {
        self.stream.send(frame, output)
    }

    /// Flushes the encoder and writes its last packets.
    pub(crate) fn finish(&mut self, output: &mut format::context::Output) -> Result<()> {
        self.stream.finish(output)
    }
}

impl AudioCodec {
    /// The codec's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Aac => "AAC",
            AudioCodec::Pcm => "16-bit PCM",
        }
    }
}

/// An audio encoder feeding one stream of a muxer: planar f32 samples in, packets out, their
/// times counted in samples from the first one's.
pub(crate) struct AudioEncoder {
    stream: StreamEncoder<encoder::Audio>,
    sample_rate: u32,
    layout: ChannelLayout,
    format: format::Sample,
    frame_samples: usize,
    /// Per channel, the samples waiting to fill a codec frame.
    pending: Vec<Vec<f32>>,
    /// The time, in samples, of the first pending sample.
    next_pts: i64,
}

impl AudioEncoder {
    /// Opens an encoder for `channels` channels at `sample_rate` and adds its stream to
    /// `output`, whose header is not written yet. The first sample pushed is presented at time
    /// 0 (the codec's own priming comes before it, and the muxer accounts for it).
    pub(crate) fn add(
        path: &Path,
        output: &mut format::context::Output,
        codec: AudioCodec,
        sample_rate: u32,
        channels: usize,
        aac_bit_rate: usize,
    ) -> Result<Self> {
        let (found, format) = match codec {
            AudioCodec::Aac => {
                (encoder::find(codec::Id::AAC), format::Sample::F32(format::sample::Type::Planar))
            }
            AudioCodec::Pcm => (
                encoder::find(codec::Id::PCM_S16LE),
                format::Sample::I16(format::sample::Type::Packed),
            ),
        };
        let found = found.ok_or_else(|| {
            Error::output(path, format!("this FFmpeg has no {} encoder", codec.name()))
        })?;
        let layout = ChannelLayout::default(channels as i32);
        let time_base = Rational::new(1, sample_rate as i32);
        let mut context = codec::context::Context::new_with_codec(found)
            .encoder()
            .audio()
            .map_err(|e| write_error(path, "cannot set up the audio encoder", e))?;
        context.set_rate(sample_rate as i32);
        context.set_channel_layout(layout);
        context.set_channels(channels as i32);
        context.set_format(format);
        context.set_time_base(time_base);
        if codec == AudioCodec::Aac {
            context.set_bit_rate(aac_bit_rate);
        }
        if output.format().flags().contains(format::Flags::GLOBAL_HEADER) {
            context.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = context
            .open_as(found)
            .map_err(|e| write_error(path, "cannot open the audio encoder", e))?;
        let index = {
            let mut stream = output
                .add_stream(found)
                .map_err(|e| write_error(path, "cannot add the audio stream", e))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(time_base);
            stream.index()
        };
        let frame_samples = match encoder.frame_size() {
            0 => PCM_FRAME_SAMPLES,
            n => n as usize,
        };
        Ok(AudioEncoder {
            stream: StreamEncoder::new(path, "audio", index, encoder, time_base),
            sample_rate,
            layout,
            format,
            frame_samples,
            pending: vec![Vec::new(); channels],
            next_pts: 0,
        })
    }

    /// Takes the stream's time base as the muxer fixed it when it wrote the header.
    pub(crate) fn header_written(&mut self, output: &format::context::Output) {
        self.stream.header_written(output);
    }

    /// The samples the codec adds before the first one (AAC's 1024), which the muxer hides.
    pub(crate) fn priming_samples(&self) -> i32 {
        // SAFETY: reading a plain field of the open encoder context.
        unsafe { (*self.stream.encoder.as_ptr()).initial_padding }
    }

    /// Presentation time of the next sample to be pushed.
    pub(crate) fn next_time_s(&self) -> f64 {
        let pending = self.pending.first().map_or(0, Vec::len);
        (self.next_pts + pending as i64) as f64 / f64::from(self.sample_rate)
    }

    /// Queues one slice per channel, all of the same length; whole codec frames are encoded.
    pub(crate) fn push(
        &mut self,
        planes: &[&[f32]],
        output: &mut format::context::Output,
    ) -> Result<()> {
        assert_eq!(planes.len(), self.pending.len(), "one slice per channel");
        for (pending, plane) in self.pending.iter_mut().zip(planes) {
            pending.extend_from_slice(plane);
        }
        let mut encoded = 0;
        while self.pending[0].len() - encoded >= self.frame_samples {
            self.encode_frame(encoded..encoded + self.frame_samples, output)?;
            encoded += self.frame_samples;
        }
        for pending in &mut self.pending {
            pending.drain(..encoded);
        }
        Ok(())
    }

    /// Encodes what is pending, flushes the encoder and writes its last packets.
    pub(crate) fn finish(&mut self, output: &mut format::context::Output) -> Result<()> {
        let rest = self.pending[0].len();
        if rest > 0 {
            self.encode_frame(0..rest, output)?;
            self.pending.iter_mut().for_each(Vec::clear);
        }
        self.stream.finish(output)
    }

    /// Encodes the pending samples in `range` of every channel as one frame.
    fn encode_frame(
        &mut self,
        range: std::ops::Range<usize>,
        output: &mut format::context::Output,
    ) -> Result<()> {
        let channels = self.pending.len();
        let samples = range.len();
        let mut frame = util::frame::Audio::new(self.format, samples, self.layout);
        frame.set_channels(channels as u16);
        frame.set_rate(self.sample_rate);
        let quantise = |s: f32| (f64::from(s) * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        match self.format {
            format::Sample::I16(_) => {
                let interleaved = frame.plane_mut::<i16>(0);
                for (c, pending) in self.pending.iter().enumerate() {
                    for (i, &s) in pending[range.clone()].iter().enumerate() {
                        interleaved[i * channels + c] = quantise(s);
                    }
                }
            }
            _ => {
                for (c, pending) in self.pending.iter().enumerate() {
                    frame.plane_mut::<f32>(c).copy_from_slice(&pending[range.clone()]);
                }
            }
        }
        frame.set_pts(Some(self.next_pts));
        self.next_pts += samples as i64;
        self.stream.send(&frame, output)
    }
}
