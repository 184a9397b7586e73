//! Demuxing and decoding through FFmpeg (libavformat, libavcodec, libswscale, libswresample).
//!
//! Times come from each frame's best-effort timestamp and its stream's time base. FFmpeg
//! applies edit lists and encoder-delay skips (`AV_PKT_DATA_SKIP_SAMPLES`) in the demuxer and
//! decoder, and moves the frame timestamps with them, as long as the decoder knows the packet
//! time base: that is why it is set below.

use super::health::{MediaHealth, StreamHealth, GAP_FRAME_DURATIONS};
use super::mono_output::MonoOutput;
use super::{
    check_complete, check_readable_file, downmix_or_pick, AudioOptions, ChannelSelect,
    DecodeOptions, FrameSize, LumaFrame, MediaSink, VideoOptions,
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

/// Opens `path` read-only as a container, with a plain-words error when FFmpeg cannot or when
/// what it finds is not audio or video.
pub(crate) fn open_input(path: &Path) -> Result<format::context::Input> {
    check_readable_file(path)?;
    crate::safe_write::protect_input(path);
    init();
    let input = open_format(path).map_err(|e| Error::input(path, describe_open_error(path, &e)))?;
    // FFmpeg renders text files as "ANSI art" video; nobody measures lip sync on that.
    if TEXT_FORMATS.contains(&input.format().name()) {
        return Err(Error::input(path, TEXT_FILE));
    }
    let has_media = input.streams().any(|s| {
        let p = s.parameters();
        matches!(p.medium(), media::Type::Audio | media::Type::Video) && p.id() != codec::Id::None
    });
    if !has_media {
        return Err(Error::input(
            path,
            "contains no audio or video stream (not a media file, or corrupt)",
        ));
    }
    Ok(input)
}

/// Opens `path` with libavformat. ffmpeg-next passes file names as UTF-8 and panics on any
/// other: a name that is not UTF-8 is opened through its descriptor's `/proc/self/fd` link,
/// which FFmpeg opens anew, so the descriptor can be closed once it has.
fn open_format(path: &Path) -> std::result::Result<format::context::Input, ff::Error> {
    if path.to_str().is_some() {
        return format::input(&path);
    }
    use std::os::fd::AsRawFd as _;
    let file = std::fs::File::open(path).map_err(|e| ff::Error::Other {
        errno: e.raw_os_error().unwrap_or(ff::util::error::EIO),
    })?;
    format::input(&format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// FFmpeg demuxers that accept plain text.
const TEXT_FORMATS: &[&str] = &["tty"];

const TEXT_FILE: &str = "is a text file, not a media file";

/// How much of a file is looked at to tell text from media.
const TEXT_SNIFF_BYTES: usize = 4096;

/// True when the start of the file is plain text (UTF-8 without control characters other than
/// whitespace). Media files start with binary headers.
fn looks_like_text(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(TEXT_SNIFF_BYTES);
    let Ok(file) = std::fs::File::open(path) else { return false };
    if file.take(TEXT_SNIFF_BYTES as u64).read_to_end(&mut head).is_err() || head.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(&head) {
        Ok(text) => text,
        // A character cut at the end of the sniffed bytes is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).expect("valid prefix")
        }
        Err(_) => return false,
    };
    text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

fn describe_open_error(path: &Path, error: &ff::Error) -> String {
    if looks_like_text(path) {
        return TEXT_FILE.to_string();
    }
    // An MP4/MOV whose `moov` index sits at the end is unreadable when cut short before it.
    if let Some(boxes) = super::mp4::read(path) {
        if !boxes.has_moov {
            return "MP4/MOV file without its index (moov box): truncated, or still being \
                    written"
                .to_string();
        }
        if boxes.missing_bytes > 0 {
            return format!(
                "truncated: the file ends {} bytes short of what its header declares",
                boxes.missing_bytes
            );
        }
    }
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

/// True when the file has a picture sequence (not only cover art).
pub(crate) fn has_real_video(input: &format::context::Input) -> bool {
    input.streams().any(|s| is_real_video(&s))
}

/// The container's start time in seconds (ffprobe's `format=start_time`), 0 when unknown.
pub(crate) fn container_start_s(input: &format::context::Input) -> f64 {
    // SAFETY: reading a plain field of the open format context.
    let start = unsafe { (*input.as_ptr()).start_time };
    if start == ff::ffi::AV_NOPTS_VALUE {
        0.0
    } else {
        seconds(start, Rational::new(1, ff::ffi::AV_TIME_BASE))
    }
}

/// Read errors in a row after which the demuxer is taken to be stuck on unreadable data rather
/// than resynchronising.
const MAX_READ_ERRORS_IN_A_ROW: u32 = 1000;
/// Decoder errors in a row, on receiving frames, after which the decoder is taken to be stuck.
const MAX_RECEIVE_ERRORS_IN_A_ROW: u32 = 1000;

/// Decodes the requested media of an input opened by [`open_input`] into `sink`, in one pass,
/// and returns what the decoders met (damaged packets are skipped and counted).
pub(crate) fn decode_input(
    path: &Path,
    mut input: format::context::Input,
    options: &DecodeOptions,
    sink: &mut dyn MediaSink,
) -> Result<MediaHealth> {
    let mut video = match &options.video {
        Some(video_options) => Some(VideoDecoder::open(path, &input, video_options)?),
        None => None,
    };
    let mut audio = match &options.audio {
        Some(audio_options) => Some(AudioDecoder::open(path, &input, audio_options)?),
        None => None,
    };

    let mut read_errors_in_a_row = 0;
    loop {
        // A fresh packet each time: av_read_frame does not release the buffer of the packet
        // it fills, so reusing one kept every packet of the file in memory (1.2 GB for an hour
        // of 1080p).
        let mut packet = codec::packet::Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => read_errors_in_a_row = 0,
            Err(ff::Error::Eof) => break,
            // A demuxer resynchronises after a corrupt packet.
            Err(ff::Error::InvalidData) if read_errors_in_a_row < MAX_READ_ERRORS_IN_A_ROW => {
                read_errors_in_a_row += 1;
                continue;
            }
            Err(e) => return Err(Error::input(path, format!("read error: {e}"))),
        }
        let index = packet.stream();
        if let Some(v) = video.as_mut().filter(|v| v.stream_index == index) {
            v.send(path, &packet, sink)?;
        } else if let Some(a) = audio.as_mut().filter(|a| a.stream_index == index) {
            a.send(path, &packet, sink)?;
        }
    }
    let mut health = MediaHealth::default();
    if let Some(v) = video.as_mut() {
        v.finish(path, sink)?;
        let Some(end_s) = v.end_s else {
            return Err(Error::input(
                path,
                format!("video stream decoded to no frames ({})", v.tally.why_nothing()),
            ));
        };
        check_complete(path, "video", end_s, declared_end_s(&input, Some(v.stream_index)))?;
        health.video = Some(v.tally.finish());
    }
    if let Some(a) = audio.as_mut() {
        a.finish(path, sink)?;
        let Some(end_s) = a.output.delivered().end_s else {
            return Err(Error::input(
                path,
                format!("audio stream decoded to no samples ({})", a.tally.why_nothing()),
            ));
        };
        check_complete(path, "audio", end_s, declared_end_s(&input, Some(a.stream_index)))?;
        let mut audio_health = a.tally.finish();
        audio_health.timestamp_discontinuities += a.output.discontinuities();
        health.audio = Some(audio_health);
    }
    Ok(health)
}

/// Counts what one stream's decode meets, for [`StreamHealth`].
#[derive(Default)]
struct HealthTally {
    health: StreamHealth,
    /// Packets the decoder accepted that should give a frame, and frames it gave back: their
    /// difference is the frames dropped, where errors say the stream is damaged.
    accepted: u64,
    /// The packet being sent is marked for discarding (an edit list trims it): no frame is due.
    discarded: bool,
    frames: u64,
    /// Errors on receiving frames: each stands for a packet already counted as an error.
    receive_errors: u64,
    receive_errors_in_a_row: u32,
    /// Presentation time and duration of the last video frame, to find discontinuities.
    last_frame: Option<(f64, f64)>,
    last_error: Option<ff::Error>,
}

impl HealthTally {
    fn packet(&mut self, packet: &codec::packet::Packet) {
        self.health.packets += 1;
        if packet.is_corrupt() {
            self.health.corrupt_packets += 1;
        }
        use ff::packet::Ref as _;
        // SAFETY: reading a plain field of a packet we hold.
        let flags = unsafe { (*packet.as_ptr()).flags };
        self.discarded = flags & ff::ffi::AV_PKT_FLAG_DISCARD != 0;
    }

    /// Counts the decoder's answer to a packet; only running out of memory stops the decode.
    fn sent(
        &mut self,
        result: std::result::Result<(), ff::Error>,
    ) -> std::result::Result<(), ff::Error> {
        match result {
            Ok(()) => self.accepted += u64::from(!self.discarded),
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => {
                self.health.decode_errors += 1;
                self.last_error = Some(e);
            }
        }
        Ok(())
    }

    /// Counts an error on receiving a frame; `Err` when it must stop the decode.
    fn receive_error(&mut self, e: ff::Error) -> std::result::Result<(), ff::Error> {
        self.receive_errors_in_a_row += 1;
        if is_fatal(&e) || self.receive_errors_in_a_row > MAX_RECEIVE_ERRORS_IN_A_ROW {
            return Err(e);
        }
        self.health.decode_errors += 1;
        self.receive_errors += 1;
        self.last_error = Some(e);
        Ok(())
    }

    /// Counts a received frame and passes on its `timestamp`; one without is dropped.
    fn frame(&mut self, frame: &util::frame::Frame, timestamp: Option<i64>) -> Option<i64> {
        self.frames += 1;
        self.receive_errors_in_a_row = 0;
        if frame.is_corrupt() || !frame.decode_error_flags().is_empty() {
            self.health.concealed_frames += 1;
        }
        if timestamp.is_none() {
            self.health.dropped_frames += 1;
        }
        timestamp
    }

    /// Counts a video frame at `pts_s` lasting `duration_s` that goes backwards or follows a gap.
    fn video_time(&mut self, pts_s: f64, duration_s: f64) {
        if let Some((last_s, last_duration_s)) = self.last_frame {
            let spacing_s = if last_duration_s > 0.0 { last_duration_s } else { duration_s };
            if pts_s <= last_s
                || (spacing_s > 0.0 && pts_s - last_s > GAP_FRAME_DURATIONS * spacing_s)
            {
                self.health.timestamp_discontinuities += 1;
            }
        }
        self.last_frame = Some((pts_s, duration_s));
    }

    /// Why a stream gave nothing, for the error message.
    fn why_nothing(&self) -> String {
        match &self.last_error {
            Some(e) => format!("corrupt or truncated; the decoder said: {e}"),
            None => "corrupt or truncated".to_string(),
        }
    }

    fn finish(&mut self) -> StreamHealth {
        let mut health = self.health;
        if health.decode_errors + health.corrupt_packets + health.concealed_frames > 0 {
            health.dropped_frames +=
                self.accepted.saturating_sub(self.frames + self.receive_errors);
        }
        health
    }
}

/// Errors that stop a decode; any other is a damaged packet, skipped and counted.
fn is_fatal(error: &ff::Error) -> bool {
    matches!(error, ff::Error::Other { errno } if *errno == ff::util::error::ENOMEM)
}

/// Where the container says a stream (or, for `None`, the whole file) ends, in seconds; `None`
/// where it does not know, or only guesses from the bit rate.
pub(crate) fn declared_end_s(
    input: &format::context::Input,
    stream_index: Option<usize>,
) -> Option<f64> {
    // SAFETY: reading a plain field of the open format context.
    let method = unsafe { (*input.as_ptr()).duration_estimation_method };
    if method == ff::ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE {
        return None;
    }
    let known = |ts: i64| ts != ff::ffi::AV_NOPTS_VALUE;
    if let Some(stream) = stream_index.and_then(|i| input.stream(i)) {
        if known(stream.duration()) && stream.duration() > 0 {
            let start = if known(stream.start_time()) { stream.start_time() } else { 0 };
            return Some(seconds(start + stream.duration(), stream.time_base()));
        }
    }
    (known(input.duration()) && input.duration() > 0).then(|| {
        container_start_s(input)
            + seconds(input.duration(), Rational::new(1, ff::ffi::AV_TIME_BASE))
    })
}

/// The stream FFmpeg would pick for `kind`, skipping cover art for video.
pub(crate) fn best_stream(input: &format::context::Input, kind: media::Type) -> Option<usize> {
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

/// Largest picture decoded, in pixels: 8K (8192×4320). A header declaring more is refused
/// before the decoder allocates a frame for it (65535×65535 would be 6 GB a frame).
const MAX_FRAME_PIXELS: i64 = 8192 * 4320;
/// Longest side of a picture decoded.
const MAX_FRAME_SIDE: i32 = 16_384;
/// Most audio channels decoded (22.2 has 24).
const MAX_CHANNELS: i32 = 64;
/// Highest audio sample rate decoded (DXD and 384 kHz studio masters are below it).
const MAX_SAMPLE_RATE_HZ: i32 = 768_000;

/// Refuses a stream whose header declares a picture, channel count or sample rate beyond what
/// avsync decodes, before any decoder allocates for it.
fn check_allocation_limits(path: &Path, parameters: &codec::Parameters) -> Result<()> {
    // SAFETY: reading plain fields of the stream's codec parameters, which the open input owns.
    let (kind, width, height, rate, channels) = unsafe {
        let p = &*parameters.as_ptr();
        (p.codec_type, p.width, p.height, p.sample_rate, p.ch_layout.nb_channels)
    };
    let refuse = |what: String| Err(Error::input(path, what));
    if kind == ff::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO
        && (width > MAX_FRAME_SIDE
            || height > MAX_FRAME_SIDE
            || i64::from(width) * i64::from(height) > MAX_FRAME_PIXELS)
    {
        return refuse(format!(
            "declares a {width}×{height} picture, beyond the {MAX_FRAME_SIDE}-pixel sides and \
             8192×4320 area avsync decodes (a corrupt header?)"
        ));
    }
    if kind == ff::ffi::AVMediaType::AVMEDIA_TYPE_AUDIO {
        if channels > MAX_CHANNELS {
            return refuse(format!(
                "declares {channels} audio channels, more than the {MAX_CHANNELS} avsync decodes"
            ));
        }
        if rate <= 0 || rate > MAX_SAMPLE_RATE_HZ {
            return refuse(format!(
                "declares an audio sample rate of {rate} Hz (avsync decodes 1 Hz to \
                 {MAX_SAMPLE_RATE_HZ} Hz)"
            ));
        }
    }
    Ok(())
}

/// Opens a decoder for `stream_index` with frame threading and the packet time base set.
pub(super) fn open_decoder(
    path: &Path,
    input: &format::context::Input,
    stream_index: usize,
    threads: usize,
) -> Result<(decoder::Decoder, Rational)> {
    let stream = input.stream(stream_index).expect("stream index came from this input");
    check_allocation_limits(path, &stream.parameters())?;
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
    /// Presentation time just past the last frame delivered (its time plus its duration).
    end_s: Option<f64>,
    tally: HealthTally,
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
            end_s: None,
            tally: HealthTally::default(),
        })
    }

    fn send(
        &mut self,
        path: &Path,
        packet: &codec::packet::Packet,
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        // A damaged packet is skipped, as players do, and counted; a file with nothing
        // decodable is reported after the loop.
        self.tally.packet(packet);
        self.tally
            .sent(self.decoder.send_packet(packet))
            .map_err(|e| Error::input(path, format!("video decode error: {e}")))?;
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
                Err(e) => {
                    self.tally
                        .receive_error(e)
                        .map_err(|e| Error::input(path, format!("video decode error: {e}")))?;
                    continue;
                }
            }
            let Some(ts) = self.tally.frame(&self.decoded, self.decoded.timestamp()) else {
                continue;
            };
            let pts_s = seconds(ts, self.time_base);
            let duration_s = seconds(self.decoded.packet().duration.max(0), self.time_base);
            self.tally.video_time(pts_s, duration_s);
            self.end_s = Some(pts_s + duration_s);
            let frame = self.scale_to_luma(path, pts_s)?;
            sink.video_frame(frame)?;
        }
    }

    /// Scales the decoded frame to 8-bit luma at the requested size.
    fn scale_to_luma(&mut self, path: &Path, pts_s: f64) -> Result<LumaFrame> {
        let (format, width, height) =
            (self.decoded.format(), self.decoded.width(), self.decoded.height());
        let (out_w, out_h) = analysis_size(width, height, self.size);
        if (out_w, out_h) == (width, height) {
            if let Some(range) = LumaPlane::of(format) {
                let pixels =
                    range.copy(self.decoded.data(0), self.decoded.stride(0), width, height);
                return Ok(LumaFrame { pts_s, width, height, pixels });
            }
        }
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

/// Pixel formats whose first plane is 8-bit luma, and how its values map to full-range grey.
///
/// At the native size the grey frame is that plane, so it is copied instead of run through
/// libswscale, which spent a third of `check`'s CPU time on 1080p doing exactly this. The range
/// expansion matches libswscale's (a test compares every value), so the face models see the
/// same pixels either way.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LumaPlane {
    /// Studio range, 16–235, as libswscale reads every YUV format without a J.
    Limited,
    /// Full range, 0–255 (the YUVJ formats and grey).
    Full,
}

impl LumaPlane {
    fn of(format: format::Pixel) -> Option<LumaPlane> {
        use format::Pixel as P;
        match format {
            P::YUV420P | P::YUV422P | P::YUV444P | P::YUV440P | P::YUV411P | P::NV12 | P::NV21 => {
                Some(LumaPlane::Limited)
            }
            P::YUVJ420P | P::YUVJ422P | P::YUVJ444P | P::YUVJ440P | P::GRAY8 => {
                Some(LumaPlane::Full)
            }
            _ => None,
        }
    }

    /// The plane's `width`×`height` pixels, rows packed, in full range.
    fn copy(self, data: &[u8], stride: usize, width: u32, height: u32) -> Vec<u8> {
        let (width, height) = (width as usize, height as usize);
        let mut pixels = Vec::with_capacity(width * height);
        let rows = data.chunks(stride).take(height).map(|row| &row[..width]);
        match self {
            LumaPlane::Full => rows.for_each(|row| pixels.extend_from_slice(row)),
            LumaPlane::Limited => rows.for_each(|row| extend_limited_to_full(row, &mut pixels)),
        }
        pixels
    }
}

/// Studio-range luma (16–235) stretched to 0–255 and clipped, `(y − 16) · 255 / 219` rounded,
/// in libswscale's fixed point (255 / 219 ≈ 19077 / 2¹⁴).
fn limited_to_full(y: u8) -> u8 {
    ((u32::from(y.saturating_sub(16)) * 19077 + (1 << 13)) >> 14).min(255) as u8
}

/// [`limited_to_full`] of each pixel of `row`, appended to `pixels`: 16 at a time with SSE2 on
/// x86-64, where the compiler's own vectorisation of the scalar loop is 2.4× slower (0.62 against
/// 0.26 ms a 1080p frame on this project's machine; the expansion was a tenth of `check`'s CPU).
fn extend_limited_to_full(row: &[u8], pixels: &mut Vec<u8>) {
    #[cfg(target_arch = "x86_64")]
    let row = {
        let mut chunks = row.chunks_exact(16);
        for chunk in &mut chunks {
            let chunk = chunk.try_into().expect("chunks of 16");
            pixels.extend_from_slice(&sse2::limited_to_full_16(chunk));
        }
        chunks.remainder()
    };
    pixels.extend(row.iter().map(|&y| limited_to_full(y)));
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi16, _mm_loadu_si128, _mm_mulhi_epu16, _mm_mullo_epi16,
        _mm_packus_epi16, _mm_set1_epi16, _mm_set1_epi8, _mm_setzero_si128, _mm_slli_epi16,
        _mm_srli_epi16, _mm_storeu_si128, _mm_subs_epu8, _mm_unpackhi_epi8, _mm_unpacklo_epi8,
    };

    /// [`super::limited_to_full`] of 16 pixels, bit for bit: `(x · 19077 + 2¹³) >> 14` is
    /// `(4x · 19077 + 2¹⁵) >> 16`, the high half of one 16-bit product plus the top bit of its
    /// low half, and the pack to bytes clips at 255.
    pub(super) fn limited_to_full_16(luma: &[u8; 16]) -> [u8; 16] {
        let mut full = [0u8; 16];
        // SAFETY: SSE2 is part of the x86-64 baseline, so every CPU this is compiled for has
        // these instructions; the unaligned load and store read and write exactly the 16 bytes
        // of `luma` and `full`.
        unsafe {
            let above_black =
                _mm_subs_epu8(_mm_loadu_si128(luma.as_ptr().cast()), _mm_set1_epi8(16));
            let gain = _mm_set1_epi16(19077);
            let stretch = |y: __m128i| {
                let y4 = _mm_slli_epi16(y, 2);
                let rounding = _mm_srli_epi16(_mm_mullo_epi16(y4, gain), 15);
                _mm_add_epi16(_mm_mulhi_epu16(y4, gain), rounding)
            };
            let zero = _mm_setzero_si128();
            let stretched = _mm_packus_epi16(
                stretch(_mm_unpacklo_epi8(above_black, zero)),
                stretch(_mm_unpackhi_epi8(above_black, zero)),
            );
            _mm_storeu_si128(full.as_mut_ptr().cast(), stretched);
        }
        full
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
    channel: ChannelSelect,
    decoded: util::frame::Audio,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    output: MonoOutput,
    tally: HealthTally,
}

impl AudioDecoder {
    fn open(path: &Path, input: &format::context::Input, options: &AudioOptions) -> Result<Self> {
        let stream_index = match options.stream {
            None => best_stream(input, media::Type::Audio).ok_or_else(|| no_audio(path, input))?,
            Some(n) => {
                let audio_streams: Vec<usize> = input
                    .streams()
                    .filter(|s| s.parameters().medium() == media::Type::Audio)
                    .map(|s| s.index())
                    .collect();
                if audio_streams.is_empty() {
                    return Err(no_audio(path, input));
                }
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
            channel: options.channel.clone(),
            decoded: util::frame::Audio::empty(),
            interleaved: Vec::new(),
            mono: Vec::new(),
            output: MonoOutput::new(options.sample_rate, seconds(1, time_base)),
            tally: HealthTally::default(),
        })
    }

    fn send(
        &mut self,
        path: &Path,
        packet: &codec::packet::Packet,
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        // A single bad AAC packet used to fail the whole file; it is skipped and counted.
        self.tally.packet(packet);
        self.tally
            .sent(self.decoder.send_packet(packet))
            .map_err(|e| Error::input(path, format!("audio decode error: {e}")))?;
        self.drain(path, sink)
    }

    fn finish(&mut self, path: &Path, sink: &mut dyn MediaSink) -> Result<()> {
        let _ = self.decoder.send_eof();
        self.drain(path, sink)?;
        self.output.finish(sink)
    }

    fn drain(&mut self, path: &Path, sink: &mut dyn MediaSink) -> Result<()> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {}
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    return Ok(())
                }
                Err(e) => {
                    self.tally
                        .receive_error(e)
                        .map_err(|e| Error::input(path, format!("audio decode error: {e}")))?;
                    continue;
                }
            }
            let Some(ts) = self.tally.frame(&self.decoded, self.decoded.timestamp()) else {
                continue;
            };
            let start_s = seconds(ts, self.time_base);
            let channels = usize::from(self.decoded.channels());
            interleave_f32(&self.decoded, &mut self.interleaved);
            self.mono.clear();
            let mask = self.decoded.channel_layout().bits();
            downmix_or_pick(&self.interleaved, channels, mask, &self.channel, &mut self.mono)
                .map_err(|problem| Error::input(path, problem))?;
            self.output.push(start_s, self.decoded.rate(), &self.mono, sink)?;
        }
    }
}

/// The error for a file without the audio a command needs. A silent video is the common case,
/// and `--audio FILE` is how to measure it.
fn no_audio(path: &Path, input: &format::context::Input) -> Error {
    if input.streams().any(|s| is_real_video(&s)) {
        Error::input(path, NO_AUDIO_IN_VIDEO)
    } else {
        Error::input(path, "has no audio stream")
    }
}

/// The message for a video without sound.
pub const NO_AUDIO_IN_VIDEO: &str =
    "has no audio stream; to measure a silent video against its audio, use --audio FILE";

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

    /// Runs libswscale's conversion to grey on a frame whose luma plane holds every value.
    fn swscale_grey(format: format::Pixel) -> Vec<u8> {
        init();
        let (width, height) = (256, 2);
        let mut frame = util::frame::Video::new(format, width, height);
        let stride = frame.stride(0);
        for row in 0..height as usize {
            for x in 0..width as usize {
                frame.data_mut(0)[row * stride + x] = x as u8;
            }
        }
        let mut scaler = software::scaling::Context::get(
            format,
            width,
            height,
            format::Pixel::GRAY8,
            width,
            height,
            software::scaling::Flags::AREA,
        )
        .expect("scaler");
        let mut grey = util::frame::Video::empty();
        scaler.run(&frame, &mut grey).expect("scale");
        grey.data(0)[..width as usize].to_vec()
    }

    #[test]
    fn the_copied_luma_plane_matches_libswscale_for_every_value() {
        for format in [format::Pixel::YUV420P, format::Pixel::YUVJ420P] {
            let expected = swscale_grey(format);
            let plane: Vec<u8> = (0..=255).collect();
            let copied = LumaPlane::of(format).expect("luma first").copy(&plane, 256, 256, 1);
            let worst = copied.iter().zip(&expected).map(|(a, b)| a.abs_diff(*b)).max();
            assert_eq!(worst, Some(0), "{format:?}: ours {copied:?}\nlibswscale {expected:?}");
            // Rows whose width is no multiple of 16 (the vector code's tail), with padding past
            // each row: every value shifted by one from row to row.
            let (width, stride) = (250, 256);
            let plane: Vec<u8> = (0..3 * stride).map(|i| (i % stride + i / stride) as u8).collect();
            let copied =
                LumaPlane::of(format).expect("luma first").copy(&plane, stride, width as u32, 3);
            let swscale = &expected;
            let expected: Vec<u8> =
                (0..3).flat_map(|row| (0..width).map(move |x| swscale[(x + row) % 256])).collect();
            assert_eq!(copied, expected, "{format:?}: rows of {width} in a stride of {stride}");
        }
    }

    #[test]
    fn decoder_errors_are_counted_and_only_running_out_of_memory_stops_a_decode() {
        use ff::util::error::{ENOMEM, EPERM};
        let mut tally = HealthTally::default();
        // A bad AAC packet made the decoder answer EPERM ("Operation not permitted"), which
        // failed the whole file.
        assert!(tally.sent(Err(ff::Error::Other { errno: EPERM })).is_ok());
        assert!(tally.sent(Err(ff::Error::InvalidData)).is_ok());
        for _ in 0..3 {
            assert!(tally.sent(Ok(())).is_ok());
        }
        assert!(tally.receive_error(ff::Error::InvalidData).is_ok());
        assert_eq!(tally.frame(&util::frame::Audio::empty(), Some(0)), Some(0));
        assert!(tally.sent(Err(ff::Error::Other { errno: ENOMEM })).is_err());
        let health = tally.finish();
        assert_eq!(health.decode_errors, 3);
        // Of three packets accepted, one gave a frame and one an error: one was dropped.
        assert_eq!(health.dropped_frames, 1);
    }

    #[test]
    fn video_timestamps_that_go_back_or_jump_are_discontinuities() {
        let mut tally = HealthTally::default();
        for pts_s in [0.0, 0.04, 0.08, 0.08, 0.12, 0.5, 0.54] {
            tally.video_time(pts_s, 0.04);
        }
        // 0.08 twice (not forward), 0.12 -> 0.5 (a gap of over 2.5 frames).
        assert_eq!(tally.finish().timestamp_discontinuities, 2);
    }
}
