//! One video frame in colour, for the report's thumbnail.
//!
//! The analysis reads luma alone. The frame the report shows is decoded again, once, by
//! seeking to it, rather than converting every frame of the clip to RGB on the way; it is
//! scaled to the size asked, so boxes found on the analysed frame scale with it.

use super::ffmpeg::{best_stream, open_decoder, open_input, seconds};
use crate::error::{Error, Result};
use ff::{codec, format, media, software, util};
use ffmpeg_next as ff;
use std::path::Path;

/// A frame is taken as the one at the time asked when it is presented at most this much
/// before it: the time came from the same stream, so only float rounding separates them.
const TIME_TOLERANCE_S: f64 = 1e-3;

/// One decoded video frame as packed 8-bit RGB (row stride = 3 × `width`).
#[derive(Clone, Debug)]
pub struct RgbFrame {
    /// Presentation time of the frame in seconds.
    pub pts_s: f64,
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// The frame of `path`'s video presented at `time_s` (the first at or after it; the last one
/// when the video ends before), in colour, scaled to `width`×`height`.
pub fn decode_rgb_frame(path: &Path, time_s: f64, width: u32, height: u32) -> Result<RgbFrame> {
    let mut input = open_input(path)?;
    let stream_index = best_stream(&input, media::Type::Video)
        .ok_or_else(|| Error::input(path, "has no video stream"))?;
    let (decoder, time_base) = open_decoder(path, &input, stream_index, 0)?;
    let mut decoder = decoder.video().map_err(|e| decode_error(path, e))?;
    // To the key frame at or before the time; from the start when the file cannot seek.
    let target_us = (time_s * f64::from(ff::ffi::AV_TIME_BASE)).floor() as i64;
    let _ = input.seek(target_us, ..target_us);
    let mut decoded = util::frame::Video::empty();
    let mut latest: Option<(f64, util::frame::Video)> = None;
    let mut receive = |decoder: &mut ff::decoder::Video| -> bool {
        while decoder.receive_frame(&mut decoded).is_ok() {
            let Some(ts) = decoded.timestamp() else { continue };
            let pts_s = seconds(ts, time_base);
            latest = Some((pts_s, decoded.clone()));
            if pts_s >= time_s - TIME_TOLERANCE_S {
                return true;
            }
        }
        false
    };
    let mut found = false;
    let mut packet = codec::packet::Packet::empty();
    while !found {
        match packet.read(&mut input) {
            Ok(()) if packet.stream() == stream_index => {
                // A damaged packet is skipped, as in the analysis.
                let _ = decoder.send_packet(&packet);
                found = receive(&mut decoder);
            }
            Ok(()) | Err(ff::Error::InvalidData) => {}
            Err(_) => break,
        }
    }
    if !found {
        let _ = decoder.send_eof();
        receive(&mut decoder);
    }
    let (pts_s, frame) =
        latest.ok_or_else(|| Error::input(path, format!("no video frame at {time_s:.3} s")))?;
    to_rgb(path, &frame, pts_s, width, height)
}

fn decode_error(path: &Path, e: ff::Error) -> Error {
    Error::input(path, format!("cannot decode the video stream: {e}"))
}

/// `frame` scaled to `width`×`height` RGB.
fn to_rgb(
    path: &Path,
    frame: &util::frame::Video,
    pts_s: f64,
    width: u32,
    height: u32,
) -> Result<RgbFrame> {
    let scale_error = |e: ff::Error| Error::input(path, format!("cannot scale a video frame: {e}"));
    let mut scaler = software::scaling::Context::get(
        frame.format(),
        frame.width(),
        frame.height(),
        format::Pixel::RGB24,
        width,
        height,
        software::scaling::Flags::AREA,
    )
    .map_err(scale_error)?;
    let mut rgb = util::frame::Video::empty();
    scaler.run(frame, &mut rgb).map_err(scale_error)?;
    let (stride, row) = (rgb.stride(0), 3 * width as usize);
    let data = rgb.data(0);
    let pixels = (0..height as usize).flat_map(|y| &data[y * stride..y * stride + row]).copied();
    Ok(RgbFrame { pts_s, width, height, pixels: pixels.collect() })
}
