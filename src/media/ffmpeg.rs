//! Demuxing and decoding through FFmpeg (libavformat, libavcodec, libswscale, libswresample).
//!
//! Times come from each frame's best-effort timestamp and its stream's time base. FFmpeg
//! applies edit lists and encoder-delay skips (`AV_PKT_DATA_SKIP_SAMPLES`) in the demuxer and
//! decoder, and moves the frame timestamps with them, as long as the decoder knows the packet
//! time base: that is why it is set below.

use super::{
    check_readable_file, downmix_or_pick, AudioChunk, AudioOptions, ChannelSelect, DecodeOptions,
    FrameSize, LumaFrame, MediaSink, SampleRate, VideoOptions,
};
use crate::error::{Error, Result};
use ff::{codec, decoder, format, media, software, util, Rational};
use ffmpeg_next as ff;
use std::path::Path;
use std::sync::Once;

/// Initialises FFmpeg once per process and keeps its own logging quiet: avsync reports problems
/// itself, in one line per file.
pub(crate) fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // av_register_all is gone in FFmpeg >= 4; init only sets up networking, which we never
        // use, so its result does not matter.
        let _ = ff::init();
        util::log::set_level(util::log::Level::Fatal);
    });
}

/// Opens `path` read-only as a container, with a plain-words error when FFmpeg cannot.
pub(crate) fn open_input(path: &Path) -> Result<format::context::Input> {
    check_readable_file(path)?;
    init();
    format::input(&path).map_err(|e| Error::input(path, describe_open_error(&e)))
}

fn describe_open_error(error: &ff::Error) -> String {
    match error {
        ff::Error::InvalidData => {
            "not a media file FFmpeg can read (unrecognised or corrupt data)".to_string()
        }
        ff::Error::Eof => "file ends before its header is complete (truncated?)".to_string(),
        other => format!("cannot open as media: {other}"),
    }
}

/// True for a video stream that is a real picture sequence, not cover art.
pub(crate) fn is_real_video(stream: &format::stream::Stream) -> bool {
    stream.parameters().medium() == media::Type::Video
        && !stream.disposition().contains(format::stream::Disposition::ATTACHED_PIC)
}

/// Seconds for a timestamp in `time_base` units.
pub(crate) fn seconds(ts: i64, time_base: Rational) -> f64 {
    ts as f64 * f64::from(time_base.numerator()) / f64::from(time_base.denominator())
}

/// Decodes the requested media of `path` into `sink`, in one pass over the file.
pub fn decode(path: &Path, options: &DecodeOptions, sink: &mut dyn MediaSink) -> Result<()> {
    let mut input = open_input(path)?;

    let mut video = match &options.video {
        Some(video_options) => Some(VideoDecoder::open(path, &input, video_options)?),
        None => None,
    };
    let mut audio = match &options.audio {
        Some(audio_options) => Some(AudioDecoder::open(path, &input, audio_options)?),
        None => None,
    };

    let mut packet = codec::packet::Packet::empty();
    loop {
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ff::Error::Eof) => break,
            // A demuxer resynchronises after one corrupt packet.
            Err(ff::Error::InvalidData) => continue,
            Err(e) => return Err(Error::input(path, format!("read error: {e}"))),
        }
        let index = packet.stream();
        if let Some(v) = video.as_mut().filter(|v| v.stream_index == index) {
            v.send(path, &packet, sink)?;
        } else if let Some(a) = audio.as_mut().filter(|a| a.stream_index == index) {
            a.send(path, &packet, sink)?;
        }
    }
    if let Some(v) = video.as_mut() {
        v.finish(path, sink)?;
        if v.frames == 0 {
            return Err(Error::input(
                path,
                "video stream decoded to no frames (corrupt or truncated)",
            ));
        }
    }
    if let Some(a) = audio.as_mut() {
        a.finish(path, sink)?;
        if a.samples_out == 0 {
            return Err(Error::input(
                path,
                "audio stream decoded to no samples (corrupt or truncated)",
            ));
        }
    }
    Ok(())
}

/// The stream FFmpeg would pick for `kind`, skipping cover art for video.
fn best_stream(input: &format::context::Input, kind: media::Type) -> Option<usize> {
    match kind {
        media::Type::Video => input
            .streams()
            .best(kind)
            .filter(is_real_video)
            .map(|s| s.index())
            .or_else(|| input.streams().find(is_real_video).map(|s| s.index())),
        _ => input.streams().best(kind).map(|s| s.index()),
    }
}

/// Opens a decoder for `stream_index` with frame threading and the packet time base set.
fn open_decoder(
    path: &Path,
    input: &format::context::Input,
    stream_index: usize,
    threads: usize,
) -> Result<(decoder::Decoder, Rational)> {
    let stream = input.stream(stream_index).expect("stream index came from this input");
    let time_base = stream.time_base();
    let mut context = codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| Error::input(path, format!("cannot set up decoder: {e}")))?;
    // libavcodec decodes on one thread unless told otherwise.
    context.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: threads,
        ..Default::default()
    });
    let mut decoder = context.decoder();
    decoder.set_packet_time_base(time_base);
    Ok((decoder, time_base))
}

fn unsupported_codec(path: &Path, what: &str, e: ff::Error) -> Error {
    Error::input(path, format!("cannot decode the {what} stream: {e} (codec not supported?)"))
}

struct VideoDecoder {
    stream_index: usize,
    time_base: Rational,
    decoder: decoder::Video,
    size: FrameSize,
    scaler: Option<(software::scaling::Context, (format::Pixel, u32, u32))>,
    decoded: util::frame::Video,
    scaled: util::frame::Video,
    frames: usize,
}

impl VideoDecoder {
    fn open(path: &Path, input: &format::context::Input, options: &VideoOptions) -> Result<Self> {
        let stream_index = best_stream(input, media::Type::Video)
            .ok_or_else(|| Error::input(path, "has no video stream"))?;
        let (decoder, time_base) = open_decoder(path, input, stream_index, options.threads)?;
        let mut decoder = decoder.video().map_err(|e| unsupported_codec(path, "video", e))?;
        if options.skip_loop_filter {
            decoder.skip_loop_filter(codec::discard::Discard::All);
        }
        Ok(VideoDecoder {
            stream_index,
            time_base,
            decoder,
            size: options.size,
            scaler: None,
            decoded: util::frame::Video::empty(),
            scaled: util::frame::Video::empty(),
            frames: 0,
        })
    }

    fn send(
        &mut self,
        path: &Path,
        packet: &codec::packet::Packet,
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        match self.decoder.send_packet(packet) {
            // A damaged packet is skipped, as players do; a file with nothing decodable is
            // reported after the loop.
            Ok(()) | Err(ff::Error::InvalidData) => {}
            Err(e) => return Err(Error::input(path, format!("video decode error: {e}"))),
        }
        self.drain(path, sink)
    }

    fn finish(&mut self, path: &Path, sink: &mut dyn MediaSink) -> Result<()> {
        // Sending EOF twice is harmless; the error is only "already flushing".
        let _ = self.decoder.send_eof();
        self.drain(path, sink)
    }

    fn drain(&mut self, path: &Path, sink: &mut dyn MediaSink) -> Result<()> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {}
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    return Ok(())
                }
                Err(ff::Error::InvalidData) => continue,
                Err(e) => return Err(Error::input(path, format!("video decode error: {e}"))),
            }
            let Some(ts) = self.decoded.timestamp() else { continue };
            let frame = self.scale_to_luma(path, seconds(ts, self.time_base))?;
            self.frames += 1;
            sink.video_frame(frame)?;
        }
    }

    /// Scales the decoded frame to 8-bit luma at the requested size.
    fn scale_to_luma(&mut self, path: &Path, pts_s: f64) -> Result<LumaFrame> {
        let (format, width, height) =
            (self.decoded.format(), self.decoded.width(), self.decoded.height());
        let (out_w, out_h) = analysis_size(width, height, self.size);
        let input_key = (format, width, height);
        if self.scaler.as_ref().map(|(_, key)| *key) != Some(input_key) {
            let scaler = software::scaling::Context::get(
                format,
                width,
                height,
                format::Pixel::GRAY8,
                out_w,
                out_h,
                software::scaling::Flags::AREA,
            )
            .map_err(|e| Error::input(path, format!("cannot scale video frames: {e}")))?;
            self.scaler = Some((scaler, input_key));
            self.scaled = util::frame::Video::empty();
        }
        let (scaler, _) = self.scaler.as_mut().expect("scaler set above");
        scaler
            .run(&self.decoded, &mut self.scaled)
            .map_err(|e| Error::input(path, format!("cannot scale video frames: {e}")))?;
        let stride = self.scaled.stride(0);
        let data = self.scaled.data(0);
        let mut pixels = Vec::with_capacity((out_w * out_h) as usize);
        for row in 0..out_h as usize {
            pixels.extend_from_slice(&data[row * stride..row * stride + out_w as usize]);
        }
        Ok(LumaFrame { pts_s, width: out_w, height: out_h, pixels })
    }
}

/// The delivered frame size: the longer side at most `limit`, even dimensions, never upscaled.
fn analysis_size(width: u32, height: u32, size: FrameSize) -> (u32, u32) {
    match size {
        FrameSize::Native => (width, height),
        FrameSize::LongestSide(limit) => {
            let longest = width.max(height);
            if longest <= limit {
                return (width, height);
            }
            let scale = f64::from(limit) / f64::from(longest);
            let even = |v: u32| ((f64::from(v) * scale / 2.0).round() as u32 * 2).max(2);
            (even(width), even(height))
        }
    }
}

struct AudioDecoder {
    stream_index: usize,
    time_base: Rational,
    decoder: decoder::Audio,
    target: SampleRate,
    channel: ChannelSelect,
    decoded: util::frame::Audio,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    resampler: Option<MonoResampler>,
    samples_out: usize,
}

impl AudioDecoder {
    fn open(path: &Path, input: &format::context::Input, options: &AudioOptions) -> Result<Self> {
        let stream_index = match options.stream {
            None => best_stream(input, media::Type::Audio)
                .ok_or_else(|| Error::input(path, "has no audio stream"))?,
            Some(n) => {
                let audio_streams: Vec<usize> = input
                    .streams()
                    .filter(|s| s.parameters().medium() == media::Type::Audio)
                    .map(|s| s.index())
                    .collect();
                *audio_streams.get(n).ok_or_else(|| {
                    Error::input(
                        path,
                        format!(
                            "has no audio stream {n}: it has {} audio stream(s), numbered from 0",
                            audio_streams.len()
                        ),
                    )
                })?
            }
        };
        let (decoder, time_base) = open_decoder(path, input, stream_index, 0)?;
        let decoder = decoder.audio().map_err(|e| unsupported_codec(path, "audio", e))?;
        Ok(AudioDecoder {
            stream_index,
            time_base,
            decoder,
            target: options.sample_rate,
            channel: options.channel.clone(),
            decoded: util::frame::Audio::empty(),
            interleaved: Vec::new(),
            mono: Vec::new(),
            resampler: None,
            samples_out: 0,
        })
    }

    fn send(
        &mut self,
        path: &Path,
        packet: &codec::packet::Packet,
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        match self.decoder.send_packet(packet) {
            Ok(()) | Err(ff::Error::InvalidData) => {}
            Err(e) => return Err(Error::input(path, format!("audio decode error: {e}"))),
        }
        self.drain(path, sink)
    }

    fn finish(&mut self, path: &Path, sink: &mut dyn MediaSink) -> Result<()> {
        let _ = self.decoder.send_eof();
        self.drain(path, sink)?;
        if let Some(resampler) = self.resampler.as_mut() {
            let (start_s, rate) = (resampler.next_output_s(), resampler.output_rate);
            let tail = resampler.flush()?;
            if !tail.is_empty() {
                self.samples_out += tail.len();
                sink.audio_chunk(AudioChunk { start_s, sample_rate: rate, samples: &tail })?;
            }
        }
        Ok(())
    }

    fn drain(&mut self, path: &Path, sink: &mut dyn MediaSink) -> Result<()> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {}
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    return Ok(())
                }
                Err(ff::Error::InvalidData) => continue,
                Err(e) => return Err(Error::input(path, format!("audio decode error: {e}"))),
            }
            let Some(ts) = self.decoded.timestamp() else { continue };
            let start_s = seconds(ts, self.time_base);
            let rate = self.decoded.rate();
            let channels = usize::from(self.decoded.channels());
            interleave_f32(&self.decoded, &mut self.interleaved);
            self.mono.clear();
            let mask = self.decoded.channel_layout().bits();
            downmix_or_pick(&self.interleaved, channels, mask, &self.channel, &mut self.mono)
                .map_err(|problem| Error::input(path, problem))?;

            let out_rate = match self.target {
                SampleRate::Native => rate,
                SampleRate::Hz(hz) => hz,
            };
            if out_rate == rate {
                self.samples_out += self.mono.len();
                sink.audio_chunk(AudioChunk { start_s, sample_rate: rate, samples: &self.mono })?;
                continue;
            }
            let resampler = match self.resampler.as_mut() {
                Some(r) if r.input_rate == rate => r,
                _ => self.resampler.insert(MonoResampler::new(rate, out_rate, start_s)?),
            };
            let chunk_start_s = resampler.next_output_s();
            let out = resampler.push(&self.mono)?;
            if !out.is_empty() {
                self.samples_out += out.len();
                sink.audio_chunk(AudioChunk {
                    start_s: chunk_start_s,
                    sample_rate: out_rate,
                    samples: out,
                })?;
            }
        }
    }
}

/// Converts any FFmpeg sample format (packed or planar) to interleaved f32.
fn interleave_f32(frame: &util::frame::Audio, out: &mut Vec<f32>) {
    use format::sample::Sample;
    let samples = frame.samples();
    let channels = usize::from(frame.channels()).max(1);
    let format = frame.format();
    let bytes = format.bytes();
    let read = |raw: &[u8]| -> f32 {
        match format {
            Sample::U8(_) => (f32::from(raw[0]) - 128.0) / 128.0,
            Sample::I16(_) => f32::from(i16::from_ne_bytes([raw[0], raw[1]])) / 32768.0,
            Sample::I32(_) => {
                i32::from_ne_bytes(raw[..4].try_into().expect("4 bytes")) as f32 / 2_147_483_648.0
            }
            Sample::I64(_) => {
                i64::from_ne_bytes(raw[..8].try_into().expect("8 bytes")) as f32
                    / 9_223_372_036_854_775_808.0
            }
            Sample::F32(_) => f32::from_ne_bytes(raw[..4].try_into().expect("4 bytes")),
            Sample::F64(_) => f64::from_ne_bytes(raw[..8].try_into().expect("8 bytes")) as f32,
            Sample::None => 0.0,
        }
    };
    out.clear();
    out.resize(samples * channels, 0.0);
    if format.is_planar() {
        for channel in 0..channels {
            let plane = &frame.data(channel)[..samples * bytes];
            for (i, raw) in plane.chunks_exact(bytes).enumerate() {
                out[i * channels + channel] = read(raw);
            }
        }
    } else if !matches!(format, Sample::None) {
        let data = &frame.data(0)[..samples * channels * bytes];
        for (value, raw) in out.iter_mut().zip(data.chunks_exact(bytes)) {
            *value = read(raw);
        }
    }
}

/// Mono f32 rate conversion through libswresample, keeping track of output time.
///
/// libswresample compensates its filter delay, so output sample `k` is presented at the first
/// input sample's time plus `k / output_rate`; the tests check this on a click.
struct MonoResampler {
    context: *mut ff::ffi::SwrContext,
    input_rate: u32,
    output_rate: u32,
    first_input_s: f64,
    produced: usize,
    buffer: Vec<f32>,
}

// The context is owned exclusively by this struct and never shared.
unsafe impl Send for MonoResampler {}

impl MonoResampler {
    fn new(input_rate: u32, output_rate: u32, first_input_s: f64) -> Result<Self> {
        use ff::ffi;
        let mono = ff::ChannelLayout::MONO.bits() as i64;
        // SAFETY: plain constructor calls; the pointer is checked and owned by `Self`.
        let context = unsafe {
            let context = ffi::swr_alloc_set_opts(
                std::ptr::null_mut(),
                mono,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
                output_rate as i32,
                mono,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
                input_rate as i32,
                0,
                std::ptr::null_mut(),
            );
            if context.is_null() || ffi::swr_init(context) < 0 {
                if !context.is_null() {
                    let mut c = context;
                    ffi::swr_free(&mut c);
                }
                return Err(Error::Processing(format!(
                    "cannot resample audio from {input_rate} to {output_rate} Hz"
                )));
            }
            context
        };
        Ok(MonoResampler {
            context,
            input_rate,
            output_rate,
            first_input_s,
            produced: 0,
            buffer: Vec::new(),
        })
    }

    /// Presentation time of the next output sample.
    fn next_output_s(&self) -> f64 {
        self.first_input_s + self.produced as f64 / f64::from(self.output_rate)
    }

    /// Feeds `input`, which continues the previous input, and returns the samples ready so far.
    fn push(&mut self, input: &[f32]) -> Result<&[f32]> {
        self.convert(Some(input))
    }

    /// Drains the samples the filter still holds.
    fn flush(&mut self) -> Result<Vec<f32>> {
        self.convert(None).map(<[f32]>::to_vec)
    }

    fn convert(&mut self, input: Option<&[f32]>) -> Result<&[f32]> {
        let in_count = input.map_or(0, <[f32]>::len);
        // SAFETY: the context is valid; swr_get_out_samples only reads it.
        let capacity = unsafe { ff::ffi::swr_get_out_samples(self.context, in_count as i32) }.max(0)
            as usize
            + 16;
        self.buffer.resize(capacity, 0.0);
        let mut out_ptr = self.buffer.as_mut_ptr().cast::<u8>();
        let in_ptr = input.map_or(std::ptr::null(), |i| i.as_ptr().cast::<u8>());
        let mut in_planes = [in_ptr];
        // SAFETY: buffers are sized as swr_get_out_samples asks; a null input flushes.
        let produced = unsafe {
            ff::ffi::swr_convert(
                self.context,
                &mut out_ptr,
                capacity as i32,
                if input.is_some() { in_planes.as_mut_ptr() } else { std::ptr::null_mut() },
                in_count as i32,
            )
        };
        if produced < 0 {
            return Err(Error::Processing("audio resampling failed".to_string()));
        }
        self.produced += produced as usize;
        Ok(&self.buffer[..produced as usize])
    }
}

impl Drop for MonoResampler {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by swr_alloc_set_opts and is freed once.
        unsafe { ff::ffi::swr_free(&mut self.context) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_size_keeps_aspect_and_never_upscales() {
        assert_eq!(analysis_size(1920, 1080, FrameSize::LongestSide(320)), (320, 180));
        assert_eq!(analysis_size(1080, 1920, FrameSize::LongestSide(320)), (180, 320));
        assert_eq!(analysis_size(200, 278, FrameSize::LongestSide(320)), (200, 278));
        assert_eq!(analysis_size(1920, 1080, FrameSize::Native), (1920, 1080));
    }

    #[test]
    fn resampler_output_is_time_aligned_with_its_input() {
        // A click at sample 4800 of 48 kHz (0.1 s) must come out at sample 1600 of 16 kHz.
        let mut input = vec![0.0f32; 48_000];
        input[4800] = 1.0;
        let mut resampler = MonoResampler::new(48_000, 16_000, 0.0).unwrap();
        let mut out = resampler.push(&input[..10_000]).unwrap().to_vec();
        out.extend_from_slice(resampler.push(&input[10_000..]).unwrap());
        out.extend(resampler.flush().unwrap());
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        assert_eq!(peak, 1600);
        assert!((out.len() as i64 - 16_000).abs() <= 2, "{} samples", out.len());
    }
}
