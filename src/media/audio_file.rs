//! Standalone audio files (WAV, MP3, FLAC, Ogg Vorbis, AAC/M4A) through symphonia.
//!
//! The samples must land on FFmpeg's timeline, so that an audio file measures the same whichever
//! decoder read it:
//! - MP3: symphonia trims the LAME encoder delay and padding itself and counts time from the
//!   first kept sample; FFmpeg trims the same samples but keeps their time, so its first sample
//!   is presented at `delay / rate` (25 ms for LAME at 44.1 kHz). That offset is added here.
//! - MP4/M4A: symphonia ignores the edit list, which is where an AAC encoder's 1024 priming
//!   samples are skipped (and leading gaps and trailing padding are declared). The edit list is
//!   read here ([`super::mp4`]) and applied.
//!
//! What symphonia cannot open or decode (Opus, for one) is reported as [`Outcome::Unsupported`]
//! so that the caller falls back to FFmpeg.

use super::mono_output::MonoOutput;
use super::mp4;
use super::{downmix_or_pick, AudioOptions, MediaSink};
use crate::error::{Error, Result};
use std::fs::File;
use std::path::Path;
use symphonia::core::codecs::audio::well_known::CODEC_ID_MP3;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, Track, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// Channel positions 0–17 are the WAVE channel mask in symphonia and FFmpeg alike.
const WAVE_CHANNEL_MASK: u64 = (1 << 18) - 1;

/// How a decode attempt ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Every sample went to the sink; `end_s` is the presentation time just past the last one.
    Decoded { end_s: Option<f64> },
    /// symphonia cannot read this file; nothing went to the sink.
    Unsupported,
}

/// Decodes the chosen audio track of `path` into `sink`. Where symphonia cannot read the file or
/// the track asked for, nothing is decoded and FFmpeg gets the job (and says what is wrong).
pub(crate) fn decode(
    path: &Path,
    options: &AudioOptions,
    sink: &mut dyn MediaSink,
) -> Result<Outcome> {
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot read: {e}")))?;
    crate::safe_write::protect_input(path);
    let source = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let probed = symphonia::default::get_probe().probe(
        &hint,
        source,
        FormatOptions::default(),
        MetadataOptions::default(),
    );
    let mut format = match probed {
        Ok(format) => format,
        Err(_) => return Ok(Outcome::Unsupported),
    };
    let is_mp4 = format.format_info().short_name == "isomp4";

    let track = match options.stream {
        None => format.default_track(TrackType::Audio),
        Some(n) => format
            .tracks()
            .iter()
            .filter(|t| matches!(t.codec_params, Some(CodecParameters::Audio(_))))
            .nth(n),
    };
    let Some(track) = track.cloned() else {
        return Ok(Outcome::Unsupported);
    };
    let Some(CodecParameters::Audio(params)) = &track.codec_params else {
        return Ok(Outcome::Unsupported);
    };
    let mut decoder = match symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
    {
        Ok(decoder) => decoder,
        Err(_) => return Ok(Outcome::Unsupported),
    };
    let Some(timeline) = Timeline::new(path, is_mp4, &track, params) else {
        return Ok(Outcome::Unsupported);
    };

    let mut output = MonoOutput::new(options.sample_rate, timeline.tick_s);
    let mut interleaved: Vec<f32> = Vec::new();
    let mut mono: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            // A chained Ogg stream starting over, or a file cut short: what came before stands,
            // and a cut is caught by the caller's completeness check.
            Ok(None) | Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break
            }
            Err(e) => return Err(Error::input(path, format!("read error: {e}"))),
        };
        if packet.track_id != track.id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            // A damaged packet is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(Error::input(path, format!("audio decode error: {e}"))),
        };
        let rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count().max(1);
        let mask = match buffer.spec().channels() {
            symphonia::core::audio::Channels::Positioned(p) if p.bits() <= WAVE_CHANNEL_MASK => {
                p.bits()
            }
            _ => 0,
        };
        buffer.copy_to_vec_interleaved(&mut interleaved);
        let frames = interleaved.len() / channels;
        // The packet time is that of its first decoded sample, delay included. Decoders that
        // do not trim (AAC, FLAC, PCM) return the whole block; trim it here.
        let (trim_start, trim_end) = (packet.trim_start.get(), packet.trim_end.get());
        let (mut first, mut last) = (0, frames);
        if trim_start + trim_end > 0 && frames == timeline.samples(packet.block_dur().get(), rate) {
            first = timeline.samples(trim_start, rate).min(frames);
            last = frames.saturating_sub(timeline.samples(trim_end, rate)).max(first);
        }
        let media_s = timeline.seconds(packet.pts.get()) + timeline.seconds(trim_start as i64);
        let Some((keep, start_s)) = timeline.present(media_s, rate, last - first) else {
            continue;
        };
        let samples = &interleaved[(first + keep.start) * channels..(first + keep.end) * channels];
        mono.clear();
        downmix_or_pick(samples, channels, mask, &options.channel, &mut mono)
            .map_err(|problem| Error::input(path, problem))?;
        output.push(start_s, rate, &mono, sink)?;
    }
    output.finish(sink)?;
    Ok(Outcome::Decoded { end_s: output.delivered().end_s })
}

/// Maps symphonia's media times to FFmpeg's presentation times.
struct Timeline {
    /// Seconds per timestamp tick.
    tick_s: f64,
    /// Added to a media time to get its presentation time.
    offset_s: f64,
    /// Media times outside `[keep_from_s, keep_until_s)` are not presented.
    keep_from_s: f64,
    keep_until_s: Option<f64>,
}

impl Timeline {
    fn new(
        path: &Path,
        is_mp4: bool,
        track: &Track,
        params: &AudioCodecParameters,
    ) -> Option<Self> {
        let tick_s =
            track.time_base.map(|tb| f64::from(tb.numer.get()) / f64::from(tb.denom.get()))?;
        let rate = f64::from(params.sample_rate?);
        let mut timeline =
            Timeline { tick_s, offset_s: 0.0, keep_from_s: f64::NEG_INFINITY, keep_until_s: None };
        if params.codec == CODEC_ID_MP3 {
            timeline.offset_s = f64::from(track.delay.unwrap_or(0)) / rate;
        }
        if is_mp4 {
            let boxes = mp4::read(path)?;
            let mp4_track = boxes.tracks.iter().find(|t| t.id == track.id)?;
            // An elaborate edit list (several segments) is left to FFmpeg.
            if let Some(edit) = mp4_track.audio_edit(boxes.movie_timescale).ok()? {
                timeline.offset_s = edit.start_s - edit.media_start_s;
                timeline.keep_from_s = edit.media_start_s;
                timeline.keep_until_s = edit.duration_s.map(|d| edit.media_start_s + d);
            }
        }
        Some(timeline)
    }

    fn seconds(&self, ts: i64) -> f64 {
        ts as f64 * self.tick_s
    }

    /// A duration in ticks as a number of samples at `rate`.
    fn samples(&self, ticks: u64, rate: u32) -> usize {
        (ticks as f64 * self.tick_s * f64::from(rate)).round() as usize
    }

    /// For `frames` samples at `rate` starting at media time `media_s`: the range of them that
    /// is presented and the presentation time of its first sample; `None` when none is.
    fn present(
        &self,
        media_s: f64,
        rate: u32,
        frames: usize,
    ) -> Option<(std::ops::Range<usize>, f64)> {
        let rate_f = f64::from(rate);
        let index_of = |t: f64| ((t - media_s) * rate_f).round().clamp(0.0, frames as f64) as usize;
        let start = if self.keep_from_s.is_finite() { index_of(self.keep_from_s) } else { 0 };
        let end = self.keep_until_s.map_or(frames, index_of);
        (start < end).then(|| (start..end, media_s + start as f64 / rate_f + self.offset_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_skips_priming_and_padding_and_moves_to_presentation_time() {
        // An M4A edit: 1024 priming samples at 48 kHz skipped, 1 s presented, after a 0.5 s gap.
        let timeline = Timeline {
            tick_s: 1.0 / 48_000.0,
            offset_s: 0.5 - 1024.0 / 48_000.0,
            keep_from_s: 1024.0 / 48_000.0,
            keep_until_s: Some(1024.0 / 48_000.0 + 1.0),
        };
        // The first packet is all priming.
        assert!(timeline.present(0.0, 48_000, 1024).is_none());
        // The second starts exactly at the first presented sample.
        let (range, start_s) = timeline.present(timeline.seconds(1024), 48_000, 1024).unwrap();
        assert_eq!(range, 0..1024);
        assert!((start_s - 0.5).abs() < 1e-12);
        // A packet straddling the end keeps only what the edit presents.
        let last = 1024 + 48_000 - 100;
        let (range, _) = timeline.present(timeline.seconds(last), 48_000, 1024).unwrap();
        assert_eq!(range, 0..100);
    }
}
