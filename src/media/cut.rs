//! A span of a video written as a file of its own, for `avsync plan --write`: the picture of
//! one lip-sync job.
//!
//! The cut keeps every frame presented during the span, each at its own time less the span's
//! start (the first, begun before the span, is shown from 0), so that the chunk's picture
//! meets the chunk's sound exactly as in the whole. Packets are copied when the span begins
//! and ends on key frames of a stream without reordered frames; otherwise the span is decoded
//! and encoded again (H.264, [`super::encode::H264_CRF`]), since a copy could only start on a
//! key frame.

use super::encode::{VideoCodec, VideoEncoder};
use super::ffmpeg::{best_stream, init, open_decoder, open_input, seconds};
use super::remux::{add_copy_stream, open_output};
use crate::error::{Error, Result};
use crate::safe_write::PendingFile;
use ff::{format, media, software::scaling, util, Rational};
use ffmpeg_next as ff;
use std::path::Path;

/// The frames of a video stream in presentation order, read from its packets (nothing is
/// decoded): where copying can start and stop.
#[derive(Clone, Debug)]
pub struct FrameIndex {
    stream: usize,
    time_base: Rational,
    /// Presentation timestamps (stream ticks), ascending, with whether each is a key frame.
    frames: Vec<(i64, bool)>,
    /// Some frame is presented before one decoded ahead of it (B-frames): packets cannot be
    /// cut by their times alone.
    reordered: bool,
}

/// How a span was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutMethod {
    /// Packets copied: nothing re-encoded.
    Copied,
    /// Decoded and encoded again.
    Encoded,
}

impl FrameIndex {
    /// Reads the packets of `path`'s main video stream.
    pub fn read(path: &Path) -> Result<FrameIndex> {
        init();
        let mut input = open_input(path)?;
        let stream = best_stream(&input, media::Type::Video)
            .ok_or_else(|| Error::input(path, "has no video stream"))?;
        let time_base = input.stream(stream).expect("found above").time_base();
        let (mut frames, mut reordered, mut latest) = (Vec::new(), false, i64::MIN);
        for (packet_stream, packet) in input.packets() {
            if packet_stream.index() != stream {
                continue;
            }
            if let Some(pts) = packet.pts() {
                reordered |= pts < latest;
                latest = latest.max(pts);
                frames.push((pts, packet.is_key()));
            }
        }
        if frames.is_empty() {
            return Err(Error::input(path, "its video stream has no timed frames"));
        }
        frames.sort_unstable();
        Ok(FrameIndex { stream, time_base, frames, reordered })
    }

    /// The time (s) of the first frame: a video's time 0 for its sound.
    pub fn first_s(&self) -> f64 {
        seconds(self.frames[0].0, self.time_base)
    }

    /// The frames presented during `[from, to)` ticks: from the one shown at `from` to the last
    /// starting before `to`, as indices into `frames`.
    fn span(&self, from: i64, to: i64) -> std::ops::Range<usize> {
        let first = self.frames.partition_point(|&(pts, _)| pts <= from).saturating_sub(1);
        let end = self.frames.partition_point(|&(pts, _)| pts < to).max(first + 1);
        first..end
    }

    /// Whether packets alone can make the span: it starts and ends on key frames (or the end)
    /// and no frame is reordered.
    fn copyable(&self, span: &std::ops::Range<usize>) -> bool {
        !self.reordered
            && self.frames[span.start].1
            && self.frames.get(span.end).is_none_or(|&(_, key)| key)
    }
}

/// Writes the frames of `input` presented from `from_s` to `to_s` (on the video's own
/// timeline, seconds) into a pending `output`, starting at 0. Video only; the caller commits
/// the file.
pub fn cut_video(
    input: &Path,
    index: &FrameIndex,
    output: &Path,
    from_s: f64,
    to_s: f64,
) -> Result<(PendingFile, CutMethod)> {
    let ticks = |s: f64| (s / f64::from(index.time_base)).round() as i64;
    let (from, to) = (ticks(from_s), ticks(to_s));
    let span = index.span(from, to);
    let (first_pts, end_pts) =
        (index.frames[span.start].0, index.frames.get(span.end).map(|f| f.0));
    let method = if index.copyable(&span) { CutMethod::Copied } else { CutMethod::Encoded };

    let mut source = open_input(input)?;
    let (file, mut sink) = open_output(output)?;
    let fail = |what: &str, e: ff::Error| Error::output(output, format!("{what}: {e}"));
    let in_stream = source.stream(index.stream).expect("indexed stream");
    let frame_rate = Some(in_stream.avg_frame_rate()).filter(|r| r.numerator() > 0);
    let in_span = |pts: i64| pts >= first_pts && end_pts.is_none_or(|end| pts < end);

    match method {
        CutMethod::Copied => {
            let copy = add_copy_stream(output, &mut sink, &in_stream)?;
            sink.write_header().map_err(|e| fail("the muxer refused the video", e))?;
            let out_time_base = sink.stream(copy).expect("stream added").time_base();
            seek_before(&mut source, first_pts, index.time_base);
            for (stream, mut packet) in source.packets() {
                let Some(pts) = packet.pts().filter(|_| stream.index() == index.stream) else {
                    continue;
                };
                if end_pts.is_some_and(|end| pts >= end) {
                    break;
                }
                if !in_span(pts) {
                    continue;
                }
                // The first frame may begin before the span: it is shown from 0.
                packet.set_pts(Some((pts - from).max(0)));
                packet.set_dts(packet.dts().map(|d| (d - from).max(0)));
                packet.rescale_ts(index.time_base, out_time_base);
                packet.set_position(-1);
                packet.set_stream(copy);
                packet
                    .write_interleaved(&mut sink)
                    .map_err(|e| fail("cannot write a packet", e))?;
            }
        }
        CutMethod::Encoded => {
            let mut decoder = open_decoder(input, &source, index.stream, 0)?
                .0
                .video()
                .map_err(|e| Error::input(input, format!("cannot decode its video: {e}")))?;
            let (width, height) = (decoder.width(), decoder.height());
            let mut encoder = VideoEncoder::add(
                output,
                &mut sink,
                VideoCodec::H264,
                (width, height),
                index.time_base,
                frame_rate,
            )?;
            sink.write_header().map_err(|e| fail("the muxer refused H.264", e))?;
            encoder.header_written(&sink);
            seek_before(&mut source, first_pts, index.time_base);
            let mut scaler: Option<scaling::Context> = None;
            let mut decoded = util::frame::Video::empty();
            let mut last_pts = None;
            let mut receive = |decoder: &mut ff::decoder::Video,
                               sink: &mut format::context::Output|
             -> Result<bool> {
                while decoder.receive_frame(&mut decoded).is_ok() {
                    let Some(pts) = decoded.timestamp() else { continue };
                    if end_pts.is_some_and(|end| pts >= end) {
                        return Ok(true);
                    }
                    if !in_span(pts) {
                        continue;
                    }
                    if scaler.is_none() {
                        let context = scaling::Context::get(
                            decoded.format(),
                            decoded.width(),
                            decoded.height(),
                            format::Pixel::YUV420P,
                            width,
                            height,
                            scaling::Flags::BICUBIC,
                        );
                        scaler = Some(context.map_err(|e| fail("cannot convert the pictures", e))?);
                    }
                    let scale = scaler.as_mut().expect("made above");
                    let mut picture = util::frame::Video::empty();
                    scale.run(&decoded, &mut picture).map_err(|e| fail("cannot convert", e))?;
                    // The first frame may begin before the span: it is shown from 0.
                    let out_pts = (pts - from).max(0);
                    if last_pts.is_some_and(|last| out_pts <= last) {
                        continue;
                    }
                    last_pts = Some(out_pts);
                    picture.set_pts(Some(out_pts));
                    encoder.send(&picture, sink)?;
                }
                Ok(false)
            };
            let mut done = false;
            for (stream, packet) in source.packets() {
                if stream.index() != index.stream {
                    continue;
                }
                // A damaged packet is skipped: the frames around it still come.
                let _ = decoder.send_packet(&packet);
                if receive(&mut decoder, &mut sink)? {
                    done = true;
                    break;
                }
            }
            if !done {
                let _ = decoder.send_eof();
                receive(&mut decoder, &mut sink)?;
            }
            encoder.finish(&mut sink)?;
        }
    }
    sink.write_trailer().map_err(|e| fail("cannot finish the file", e))?;
    drop(sink); // closes the temporary file
    Ok((file, method))
}

/// Moves a freshly opened `input` to the key frame at or before `pts` (stream ticks); where the
/// demuxer cannot seek it stays at the start, and reading on from there gets the same frames.
fn seek_before(input: &mut format::context::Input, pts: i64, time_base: Rational) {
    let target_us = (seconds(pts, time_base) * f64::from(ff::ffi::AV_TIME_BASE)).floor() as i64;
    let _ = input.seek(target_us, ..target_us);
}
