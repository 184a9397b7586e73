//! Copying a file's streams into a new file without decoding them (FFmpeg stream copy), with the
//! audio moved on the timeline against the picture: how `avsync fix` corrects a constant offset
//! without re-encoding a single picture or sound frame.
//!
//! Only timestamps change. Every packet's data is written as it was read, so the coded pictures
//! and sounds are bit-identical to the input's. A drift cannot be fixed that way: for it
//! [`retime_audio`] decodes the sound, plays it at the corrected speed ([`super::retime`]) and
//! encodes it again, the picture still copied packet for packet.

use super::encode::{AudioCodec, AudioEncoder};
use super::ffmpeg::{best_stream, init, open_decoder, open_input, seconds};
use super::retime::{retime, Retimed, Retiming, MAX_SPEED_CHANGE};
use super::{decode_audio, AudioOptions, ChannelSelect, SampleRate};
use crate::error::{Error, Result};
use crate::safe_write::PendingFile;
use ff::{codec, encoder, format, media, Rational};
use ffmpeg_next as ff;
use std::path::Path;

/// AAC bit rate per channel of a retimed sound: transparent, so that the second generation of
/// coding costs as little as it can. (The input's own rate is no guide: FFmpeg reports what a
/// stream used, 20 kb/s for a tone.)
const AAC_BIT_RATE_PER_CHANNEL: usize = 128_000;
/// How far ahead of the picture packets the re-encoded sound is written, in seconds: enough for
/// the muxer to interleave without holding much of either stream.
const AUDIO_LEAD_S: f64 = 0.5;

/// What [`shift_audio`] or [`retime_audio`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct RemuxSummary {
    /// How much later the audio is presented than in the input (negative: earlier), in seconds:
    /// every packet's, after rounding to the audio stream's time base, for a shift; at the
    /// retiming's reference time for a retime.
    pub audio_delay_s: f64,
    /// Streams copied packet for packet.
    pub streams_copied: usize,
    /// Streams left out (subtitles, data, attachments, and with a retime the other audio
    /// tracks): the muxer may not take them.
    pub streams_dropped: usize,
    /// The audio, when it was decoded and encoded again.
    pub audio_encoded: Option<EncodedAudio>,
}

/// The re-encoded audio of a retime.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedAudio {
    pub codec: &'static str,
    pub channels: usize,
    pub sample_rate: u32,
    pub bit_rate: usize,
    /// The speed change applied: the retiming's slope, in ppm (> 0: played slower).
    pub speed_change_ppm: f64,
}

/// What the output's audio stream is made of.
enum AudioTrack {
    /// Every audio stream copied, its packets presented this many seconds later.
    Shifted(f64),
    /// This input audio stream replaced by the retimed sound, encoded as AAC.
    Replaced { stream: usize, audio: Retimed, bit_rate: usize, retiming: Retiming },
}

/// Copies the audio and video streams of `input` into `output` (container chosen by the
/// output's extension), with the audio presented `audio_delay_s` later against the picture
/// (negative: earlier). Written through [`PendingFile`]: refused on an input's path, and
/// renamed into place only when complete.
///
/// Audio moved earlier starts before time 0: MP4 and MOV keep the picture's timeline and skip
/// the audio's first moments with an edit list (as they do for AAC's priming), so what plays
/// at time 0 is the audio from `-audio_delay_s` on. Containers without negative timestamps
/// (Matroska) shift every stream instead, which moves the picture later by as much.
pub fn shift_audio(input: &Path, output: &Path, audio_delay_s: f64) -> Result<RemuxSummary> {
    remux(input, output, AudioTrack::Shifted(audio_delay_s))
}

/// Copies the video streams of `input` into `output` and replaces its audio with the sound of
/// its main audio stream retimed by `retiming` (played at the corrected speed, every channel,
/// at the stream's own rate, from time 0) and encoded as AAC. Sound moved before time 0 is cut;
/// other audio streams are left out. Written through [`PendingFile`] like [`shift_audio`].
pub fn retime_audio(input: &Path, output: &Path, retiming: &Retiming) -> Result<RemuxSummary> {
    if retiming.slope.abs() > MAX_SPEED_CHANGE {
        return Err(Error::input(
            input,
            format!(
                "a drift of {:+.0} ppm is beyond what retiming corrects (±{:.0} ppm): that is \
                 not a clock drift",
                retiming.slope * 1e6,
                MAX_SPEED_CHANGE * 1e6
            ),
        ));
    }
    init();
    let (stream, channels) = {
        let source = open_input(input)?;
        let stream = best_stream(&source, media::Type::Audio)
            .ok_or_else(|| Error::input(input, "has no audio stream to retime"))?;
        let decoder = open_decoder(input, &source, stream, 1)?
            .0
            .audio()
            .map_err(|e| Error::input(input, format!("cannot decode its audio: {e}")))?;
        (stream, usize::from(decoder.channels()).max(1))
    };
    let mut start_s = 0.0;
    let mut sample_rate = 0;
    let mut planes = Vec::with_capacity(channels);
    for channel in 0..channels {
        let options = AudioOptions {
            sample_rate: SampleRate::Native,
            stream: None,
            channel: ChannelSelect::Index(channel),
        };
        let decoded = decode_audio(input, &options)?;
        (start_s, sample_rate) = (decoded.start_s, decoded.sample_rate);
        planes.push(decoded.samples);
    }
    let audio = retime(&planes, start_s, sample_rate, retiming);
    drop(planes);
    if audio.channels[0].is_empty() {
        return Err(Error::input(input, "no sound is left after retiming it"));
    }
    let bit_rate = AAC_BIT_RATE_PER_CHANNEL * channels;
    remux(input, output, AudioTrack::Replaced { stream, audio, bit_rate, retiming: *retiming })
}

/// Starts `output` as a pending file (refused on an input's path, renamed into place by the
/// caller) with the muxer its extension names.
pub(super) fn open_output(output: &Path) -> Result<(PendingFile, format::context::Output)> {
    let file = PendingFile::create(output)?;
    let sink = format::output(&file.path()).map_err(|e| {
        Error::output(output, format!("no container for this file name ({e}): use .mp4 or .mov"))
    })?;
    Ok((file, sink))
}

/// Adds to `sink` a stream that takes `stream`'s packets as they are, in `stream`'s time base;
/// returns its index.
pub(super) fn add_copy_stream(
    output: &Path,
    sink: &mut format::context::Output,
    stream: &format::stream::Stream,
) -> Result<usize> {
    let mut copy = sink
        .add_stream(encoder::find(codec::Id::None))
        .map_err(|e| Error::output(output, format!("add a stream: {e}")))?;
    copy.set_parameters(stream.parameters());
    copy.set_time_base(stream.time_base());
    // SAFETY: clearing a plain field of the stream's own parameters: the input container's
    // codec tag may mean nothing in the output's, and 0 lets the muxer choose.
    unsafe {
        (*copy.parameters().as_mut_ptr()).codec_tag = 0;
    }
    Ok(copy.index())
}

fn remux(input: &Path, output: &Path, mut track: AudioTrack) -> Result<RemuxSummary> {
    init();
    let mut source = open_input(input)?;
    let (file, mut sink) = open_output(output)?;
    let fail = |what: &str, e: ff::Error| Error::output(output, format!("{what}: {e}"));

    // Per input stream: the output stream, the shift in the input stream's time base, and
    // that time base.
    let mut mapping: Vec<Option<(usize, i64, Rational)>> = Vec::new();
    let mut summary = RemuxSummary {
        audio_delay_s: 0.0,
        streams_copied: 0,
        streams_dropped: 0,
        audio_encoded: None,
    };
    let mut audio_encoder = None;
    for stream in source.streams() {
        let medium = stream.parameters().medium();
        let time_base = stream.time_base();
        let shift_ticks = match (&track, medium) {
            (AudioTrack::Shifted(delay_s), media::Type::Audio) => {
                let ticks = (delay_s / f64::from(time_base)).round() as i64;
                summary.audio_delay_s = seconds(ticks, time_base);
                ticks
            }
            (AudioTrack::Replaced { stream: replaced, audio, bit_rate, retiming }, _)
                if stream.index() == *replaced =>
            {
                let channels = audio.channels.len();
                let rate = audio.sample_rate;
                audio_encoder = Some(AudioEncoder::add(
                    output,
                    &mut sink,
                    AudioCodec::Aac,
                    rate,
                    channels,
                    *bit_rate,
                )?);
                let t = retiming.reference_s;
                summary.audio_delay_s = t - retiming.source_time_s(t);
                summary.audio_encoded = Some(EncodedAudio {
                    codec: AudioCodec::Aac.name(),
                    channels,
                    sample_rate: rate,
                    bit_rate: *bit_rate,
                    speed_change_ppm: retiming.slope * 1e6,
                });
                mapping.push(None);
                continue;
            }
            (_, media::Type::Video) => 0,
            _ => {
                mapping.push(None);
                summary.streams_dropped += 1;
                continue;
            }
        };
        let copy = add_copy_stream(output, &mut sink, &stream)?;
        mapping.push(Some((copy, shift_ticks, time_base)));
        summary.streams_copied += 1;
    }
    sink.set_metadata(source.metadata().to_owned());
    sink.write_header().map_err(|e| fail("the muxer refused these streams", e))?;
    if let Some(encoder) = audio_encoder.as_mut() {
        encoder.header_written(&sink);
    }
    // With a retime: the retimed sound, and how much of it is encoded.
    let mut sound = match &mut track {
        AudioTrack::Replaced { audio, .. } => Some((std::mem::take(audio), 0usize)),
        AudioTrack::Shifted(_) => None,
    };
    let mut feed_until = |until_s: f64, sink: &mut format::context::Output| -> Result<()> {
        let (Some(encoder), Some((audio, fed))) = (audio_encoder.as_mut(), sound.as_mut()) else {
            return Ok(());
        };
        let until_tick = (until_s * f64::from(audio.sample_rate)).ceil().max(0.0) as usize;
        let until = until_tick.min(audio.channels[0].len());
        if until > *fed {
            let planes: Vec<&[f32]> = audio.channels.iter().map(|c| &c[*fed..until]).collect();
            encoder.push(&planes, sink)?;
            *fed = until;
        }
        Ok(())
    };

    for (stream, mut packet) in source.packets() {
        let Some((index, shift_ticks, time_base)) = mapping[stream.index()] else { continue };
        if let Some(pts) = packet.pts().or(packet.dts()) {
            feed_until(seconds(pts, time_base) + AUDIO_LEAD_S, &mut sink)?;
        }
        packet.set_pts(packet.pts().map(|t| t + shift_ticks));
        packet.set_dts(packet.dts().map(|t| t + shift_ticks));
        let out_time_base = sink.stream(index).expect("stream added above").time_base();
        packet.rescale_ts(time_base, out_time_base);
        packet.set_position(-1);
        packet.set_stream(index);
        packet.write_interleaved(&mut sink).map_err(|e| fail("cannot write a packet", e))?;
    }
    feed_until(f64::INFINITY, &mut sink)?;
    if let Some(encoder) = audio_encoder.as_mut() {
        encoder.finish(&mut sink)?;
    }
    sink.write_trailer().map_err(|e| fail("cannot finish the file", e))?;
    drop(sink); // closes the temporary file
    file.commit()?;
    Ok(summary)
}
