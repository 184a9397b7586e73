//! Decoder health: how much of a stream the decoder could not read cleanly.
//!
//! A damaged packet is skipped, as players skip it, rather than failing the whole file (a single
//! bad AAC packet used to end a run with exit 4). Skipping silently is not right either: a clip
//! with 20 kB of garbage in its H.264 stream was measured and passed with no word said. So every
//! decode counts what went wrong, the report carries the counts (`media_health`), and above
//! [`DEFAULT_MAX_DAMAGED_SHARE`] of a stream's packets (configurable) the timing verdict is
//! inconclusive: concealed pictures and skipped audio move the very features that are timed.

use serde::{Deserialize, Serialize};

/// Share of a stream's packets that may be damaged (corrupt, undecodable, concealed or dropped)
/// before a timing verdict is no longer trusted: 1%, one damaged frame in four seconds of
/// 25 fps video. Config key `grade.max_damaged_share`.
pub const DEFAULT_MAX_DAMAGED_SHARE: f64 = 0.01;

/// What one stream's decode met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHealth {
    /// Packets of the stream read from the container.
    pub packets: u64,
    /// Packets the demuxer flagged as corrupt.
    pub corrupt_packets: u64,
    /// Packets or frames the decoder refused with an error; they were skipped.
    pub decode_errors: u64,
    /// Frames delivered with damage concealed by the decoder, or flagged corrupt.
    pub concealed_frames: u64,
    /// Frames lost: without a timestamp, or (in a stream that also had errors) packets that
    /// gave no frame. Healthy streams have packets without a frame of their own (edit-list
    /// trims, field pairs), so those count only where errors say why.
    pub dropped_frames: u64,
    /// Timestamps that went backwards, or jumped forward past a gap (video: more than
    /// [`GAP_FRAME_DURATIONS`] frame durations; audio: off the count of samples). Times come
    /// from the timestamps, so these do not skew a measurement by themselves: warned about,
    /// not graded.
    pub timestamp_discontinuities: u64,
}

/// A video frame more than this many frame durations after the previous one follows a gap.
pub const GAP_FRAME_DURATIONS: f64 = 2.5;

impl StreamHealth {
    /// Packets damaged one way or another (one bad packet may count under several headings,
    /// so this is capped at the packet count).
    pub fn damaged(&self) -> u64 {
        let sum =
            self.corrupt_packets + self.decode_errors + self.concealed_frames + self.dropped_frames;
        sum.min(self.packets.max(1))
    }

    /// [`damaged`](Self::damaged) as a share of the packets, 0–1.
    pub fn damaged_share(&self) -> f64 {
        self.damaged() as f64 / self.packets.max(1) as f64
    }

    /// What went wrong, in words, or `None` for a clean stream.
    fn describe(&self, what: &str) -> Option<String> {
        let counts = [
            (self.corrupt_packets, "corrupt packet(s)"),
            (self.decode_errors, "decode error(s) skipped"),
            (self.concealed_frames, "concealed frame(s)"),
            (self.dropped_frames, "dropped frame(s)"),
            (self.timestamp_discontinuities, "timestamp discontinuity(ies)"),
        ];
        let parts: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, label)| format!("{n} {label}"))
            .collect();
        (!parts.is_empty())
            .then(|| format!("{what} stream: {} in {} packets", parts.join(", "), self.packets))
    }
}

/// Decoder health of the file a report measures: one entry per decoded medium.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaHealth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<StreamHealth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<StreamHealth>,
}

impl MediaHealth {
    fn streams(&self) -> impl Iterator<Item = (&'static str, &StreamHealth)> {
        [("video", &self.video), ("audio", &self.audio)]
            .into_iter()
            .filter_map(|(what, health)| health.as_ref().map(|h| (what, h)))
    }

    /// One warning per stream that met any trouble.
    pub fn warnings(&self) -> Vec<String> {
        self.streams().filter_map(|(what, h)| h.describe(what)).collect()
    }

    /// Why a timing verdict cannot be trusted: the first stream whose damaged share is above
    /// `max_share`, in words; `None` when every stream is within it.
    pub fn untrusted_reason(&self, max_share: f64) -> Option<String> {
        self.streams().find(|(_, h)| h.damaged_share() > max_share).map(|(what, h)| {
            format!(
                "the {what} stream is damaged: {} of {} packets ({:.1}%) were corrupt, \
                 undecodable, concealed or dropped, above the {}% a timing verdict allows \
                 (grade.max_damaged_share)",
                h.damaged(),
                h.packets,
                h.damaged_share() * 100.0,
                max_share * 100.0
            )
        })
    }

    /// Compact counts for a JUnit property, e.g. `video 3/75 damaged, audio 0/141 damaged`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .streams()
            .map(|(what, h)| {
                format!(
                    "{what} {}/{} damaged, {} discontinuities",
                    h.damaged(),
                    h.packets,
                    h.timestamp_discontinuities
                )
            })
            .collect();
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_above_the_share_makes_a_reason_and_warnings_name_the_counts() {
        let video = StreamHealth {
            packets: 75,
            decode_errors: 2,
            concealed_frames: 1,
            ..Default::default()
        };
        let audio =
            StreamHealth { packets: 141, timestamp_discontinuities: 1, ..Default::default() };
        let health = MediaHealth { video: Some(video), audio: Some(audio) };
        let reason = health.untrusted_reason(DEFAULT_MAX_DAMAGED_SHARE).unwrap();
        assert!(
            reason.starts_with("the video stream is damaged: 3 of 75 packets (4.0%)"),
            "{reason}"
        );
        assert_eq!(health.untrusted_reason(0.05), None);
        let warnings = health.warnings();
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("2 decode error(s) skipped, 1 concealed frame(s)"));
        assert!(warnings[1].contains("1 timestamp discontinuity(ies) in 141 packets"));
        let clean = MediaHealth {
            video: Some(StreamHealth { packets: 10, ..Default::default() }),
            audio: None,
        };
        assert!(clean.warnings().is_empty());
    }
}
