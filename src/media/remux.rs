//! Copying a file's streams into a new file without decoding them (FFmpeg stream copy), with the
//! audio moved on the timeline against the picture: how `avsync fix` corrects a constant offset
//! without re-encoding a single picture or sound frame.
//!
//! Only timestamps change. Every packet's data is written as it was read, so the coded pictures
//! and sounds are bit-identical to the input's.

use super::ffmpeg::{init, open_input, seconds};
use crate::error::{Error, Result};
use crate::safe_write::PendingFile;
use ff::{codec, encoder, format, media, Rational};
use ffmpeg_next as ff;
use std::path::Path;

/// What [`shift_audio`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftSummary {
    /// How much later every audio packet is presented than in the input (negative: earlier),
    /// in seconds, after rounding to the audio stream's time base.
    pub audio_delay_s: f64,
    /// Streams copied (audio and video).
    pub streams_copied: usize,
    /// Streams left out (subtitles, data, attachments): the muxer may not take them.
    pub streams_dropped: usize,
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
pub fn shift_audio(input: &Path, output: &Path, audio_delay_s: f64) -> Result<ShiftSummary> {
    init();
    let mut source = open_input(input)?;
    let file = PendingFile::create(output)?;
    let mut sink = format::output(&file.path()).map_err(|e| {
        Error::output(output, format!("no container for this file name ({e}): use .mp4 or .mov"))
    })?;
    let fail = |what: &str, e: ff::Error| Error::output(output, format!("{what}: {e}"));

    // Per input stream: the output stream, the shift in the input stream's time base, and
    // that time base.
    let mut mapping: Vec<Option<(usize, i64, Rational)>> = Vec::new();
    let mut summary = ShiftSummary { audio_delay_s: 0.0, streams_copied: 0, streams_dropped: 0 };
    for stream in source.streams() {
        let medium = stream.parameters().medium();
        if !matches!(medium, media::Type::Audio | media::Type::Video) {
            mapping.push(None);
            summary.streams_dropped += 1;
            continue;
        }
        let time_base = stream.time_base();
        let shift_ticks = if medium == media::Type::Audio {
            let ticks = (audio_delay_s / f64::from(time_base)).round() as i64;
            summary.audio_delay_s = seconds(ticks, time_base);
            ticks
        } else {
            0
        };
        let mut copy =
            sink.add_stream(encoder::find(codec::Id::None)).map_err(|e| fail("add a stream", e))?;
        copy.set_parameters(stream.parameters());
        copy.set_time_base(time_base);
        // SAFETY: clearing a plain field of the stream's own parameters: the input container's
        // codec tag may mean nothing in the output's, and 0 lets the muxer choose.
        unsafe {
            (*copy.parameters().as_mut_ptr()).codec_tag = 0;
        }
        mapping.push(Some((copy.index(), shift_ticks, time_base)));
        summary.streams_copied += 1;
    }
    sink.set_metadata(source.metadata().to_owned());
    sink.write_header().map_err(|e| fail("the muxer refused these streams", e))?;

    for (stream, mut packet) in source.packets() {
        let Some((index, shift_ticks, time_base)) = mapping[stream.index()] else { continue };
        packet.set_pts(packet.pts().map(|t| t + shift_ticks));
        packet.set_dts(packet.dts().map(|t| t + shift_ticks));
        let out_time_base = sink.stream(index).expect("stream added above").time_base();
        packet.rescale_ts(time_base, out_time_base);
        packet.set_position(-1);
        packet.set_stream(index);
        packet.write_interleaved(&mut sink).map_err(|e| fail("cannot write a packet", e))?;
    }
    sink.write_trailer().map_err(|e| fail("cannot finish the file", e))?;
    drop(sink); // closes the temporary file
    file.commit()?;
    Ok(summary)
}
