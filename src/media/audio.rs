//! Mono audio in memory, channel selection, and a sink that gathers decoded chunks.

use super::{AudioChunk, LumaFrame, MediaSink};
use crate::error::{Error, Result};

/// Mono audio at a fixed rate with the presentation time of its first sample.
#[derive(Clone, Debug, Default)]
pub struct Audio {
    pub sample_rate: u32,
    /// Presentation time of `samples[0]` in seconds.
    pub start_s: f64,
    pub samples: Vec<f32>,
}

impl Audio {
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Presentation time of sample `index`.
    pub fn time_of(&self, index: usize) -> f64 {
        self.start_s + index as f64 / f64::from(self.sample_rate)
    }
}

/// Which channel of a multichannel stream to analyse.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ChannelSelect {
    /// Average of all channels except LFE.
    #[default]
    Downmix,
    /// A channel by its index in the stream's channel order, from 0.
    Index(usize),
    /// A channel by its FFmpeg name (`FL`, `FR`, `FC`, `LFE`, `BL`, `BR`, `SL`, `SR`, ...),
    /// e.g. `FC` for the dialogue channel of 5.1.
    Named(String),
}

impl std::str::FromStr for ChannelSelect {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("downmix") || text.eq_ignore_ascii_case("mix") {
            return Ok(ChannelSelect::Downmix);
        }
        if let Ok(index) = text.parse::<usize>() {
            return Ok(ChannelSelect::Index(index));
        }
        let name = text.to_ascii_uppercase();
        if channel_bit(&name).is_none() {
            return Err(format!(
                "unknown channel '{text}': use downmix, an index from 0, or a name such as FL, FR, FC, LFE, BL, BR, SL, SR"
            ));
        }
        Ok(ChannelSelect::Named(name))
    }
}

/// FFmpeg's channel-mask bit for a channel name (libavutil/channel_layout.h order).
fn channel_bit(name: &str) -> Option<u32> {
    const NAMES: [&str; 18] = [
        "FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC",
        "TFR", "TBL", "TBC", "TBR",
    ];
    NAMES.iter().position(|&n| n == name).map(|bit| bit as u32)
}

/// Turns interleaved samples into mono: the average of the non-LFE channels, or one channel.
///
/// `layout_mask` is FFmpeg's channel mask (0 when unknown: channels are then taken in order and
/// only index selection works). `channels` is the interleave count.
pub fn downmix_or_pick(
    interleaved: &[f32],
    channels: usize,
    layout_mask: u64,
    select: &ChannelSelect,
    out: &mut Vec<f32>,
) -> Result<(), String> {
    let channel_index = |bit: u32| -> Option<usize> {
        if layout_mask & (1u64 << bit) == 0 {
            return None;
        }
        // A channel's index is the number of lower mask bits that are set.
        Some((layout_mask & ((1u64 << bit) - 1)).count_ones() as usize)
    };
    match select {
        ChannelSelect::Downmix => {
            let lfe = channel_index(3).filter(|_| channels > 2);
            let used = channels - usize::from(lfe.is_some());
            let scale = 1.0 / used.max(1) as f32;
            out.extend(interleaved.chunks_exact(channels).map(|frame| {
                let sum: f32 = frame
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != lfe)
                    .map(|(_, &s)| s)
                    .sum();
                sum * scale
            }));
        }
        ChannelSelect::Index(index) => {
            if *index >= channels {
                return Err(format!(
                    "channel {index} does not exist: the stream has {channels} channel(s), numbered from 0"
                ));
            }
            out.extend(interleaved.chunks_exact(channels).map(|frame| frame[*index]));
        }
        ChannelSelect::Named(name) => {
            let bit = channel_bit(name).ok_or_else(|| format!("unknown channel name '{name}'"))?;
            let index = channel_index(bit).filter(|&i| i < channels).ok_or_else(|| {
                format!("the stream's channel layout has no {name} channel ({channels} channel(s))")
            })?;
            out.extend(interleaved.chunks_exact(channels).map(|frame| frame[index]));
        }
    }
    Ok(())
}

/// Largest gap (or overlap) between consecutive chunks, in samples, that is treated as
/// timestamp jitter rather than a real discontinuity.
const CONTIGUITY_TOLERANCE_SAMPLES: f64 = 2.0;

/// A [`MediaSink`] that keeps the audio in memory and ignores video.
///
/// Chunks are laid end to end on the timeline of the first one. A real gap in the timestamps is
/// filled with silence and a real overlap drops the repeated samples, so that sample `i` is
/// always presented at `start_s + i / rate`.
#[derive(Debug, Default)]
pub struct AudioCollector {
    audio: Option<Audio>,
}

impl AudioCollector {
    /// The gathered audio, or `None` if no samples arrived.
    pub fn finish(self) -> Option<Audio> {
        let mut audio = self.audio.filter(|a| !a.samples.is_empty())?;
        // Growth leaves up to half as much again unused; long audio is kept for a while.
        audio.samples.shrink_to_fit();
        Some(audio)
    }
}

impl MediaSink for AudioCollector {
    fn video_frame(&mut self, _frame: LumaFrame) -> Result<()> {
        Ok(())
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        let audio = self.audio.get_or_insert_with(|| Audio {
            sample_rate: chunk.sample_rate,
            start_s: chunk.start_s,
            samples: Vec::new(),
        });
        if audio.sample_rate != chunk.sample_rate {
            return Err(Error::Processing(format!(
                "audio sample rate changed mid-stream from {} to {} Hz",
                audio.sample_rate, chunk.sample_rate
            )));
        }
        let expected = audio.samples.len() as f64;
        let at = (chunk.start_s - audio.start_s) * f64::from(audio.sample_rate);
        let skip = if (at - expected).abs() <= CONTIGUITY_TOLERANCE_SAMPLES {
            0
        } else if at > expected {
            let gap = (at - expected).round() as usize;
            audio.samples.resize(audio.samples.len() + gap, 0.0);
            0
        } else {
            ((expected - at).round() as usize).min(chunk.samples.len())
        };
        audio.samples.extend_from_slice(&chunk.samples[skip..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT_5_1: u64 = 0b1111 | (1 << 9) | (1 << 10); // FL FR FC LFE SL SR

    #[test]
    fn downmix_skips_lfe_and_picks_named_channels() {
        let frame = [1.0, 2.0, 3.0, 100.0, 5.0, 6.0];
        let mut out = Vec::new();
        downmix_or_pick(&frame, 6, LAYOUT_5_1, &ChannelSelect::Downmix, &mut out).unwrap();
        assert!((out[0] - (1.0 + 2.0 + 3.0 + 5.0 + 6.0) / 5.0).abs() < 1e-6);
        out.clear();
        downmix_or_pick(&frame, 6, LAYOUT_5_1, &ChannelSelect::Named("FC".into()), &mut out)
            .unwrap();
        assert_eq!(out, [3.0]);
        out.clear();
        downmix_or_pick(&frame, 6, LAYOUT_5_1, &ChannelSelect::Named("SR".into()), &mut out)
            .unwrap();
        assert_eq!(out, [6.0]);
    }

    #[test]
    fn picking_a_missing_channel_says_so() {
        let mut out = Vec::new();
        let err =
            downmix_or_pick(&[0.0, 0.0], 2, 0b11, &ChannelSelect::Named("FC".into()), &mut out)
                .unwrap_err();
        assert!(err.contains("no FC channel"), "{err}");
        let err =
            downmix_or_pick(&[0.0, 0.0], 2, 0b11, &ChannelSelect::Index(2), &mut out).unwrap_err();
        assert!(err.contains("has 2 channel"), "{err}");
    }

    #[test]
    fn collector_fills_gaps_and_drops_overlaps() {
        let mut sink = AudioCollector::default();
        let ones = [1.0f32; 100];
        sink.audio_chunk(AudioChunk { start_s: 1.0, sample_rate: 100, samples: &ones }).unwrap();
        // 0.5 s gap: 50 samples of silence.
        sink.audio_chunk(AudioChunk { start_s: 2.5, sample_rate: 100, samples: &ones }).unwrap();
        // Overlaps the last 10 samples.
        sink.audio_chunk(AudioChunk { start_s: 3.4, sample_rate: 100, samples: &ones }).unwrap();
        let audio = sink.finish().unwrap();
        assert_eq!(audio.start_s, 1.0);
        assert_eq!(audio.samples.len(), 100 + 50 + 100 + 90);
        assert_eq!(audio.samples[120], 0.0);
        assert_eq!(audio.samples[160], 1.0);
    }
}
