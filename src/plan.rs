//! Splitting a long voice-over into lip-sync jobs a service accepts, cutting only in the pauses
//! between words.
//!
//! Pure: it works on the voice-activity flags of [`crate::features::audio::AudioFeatures`]
//! (100 per second), so it is tested without decoding anything. `avsync plan`
//! ([`crate::commands::plan`]) decodes, applies the target's limits and writes the chunks.

use serde::{Deserialize, Serialize};

/// A stretch without voice at least this long is a pause a cut may fall in: longer than the
/// stops inside words (plosive closures, 50–120 ms), shorter than the breath between phrases.
pub const MIN_PAUSE_S: f64 = 0.15;
/// Overlap the long-form practice uses between neighbouring chunks, so that a stitcher can
/// cross-fade: allowed range and the default.
pub const MIN_OVERLAP_S: f64 = 0.2;
pub const MAX_OVERLAP_S: f64 = 0.5;

/// A stretch of the audio, in seconds on its timeline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub start_s: f64,
    pub end_s: f64,
}

impl Pause {
    pub fn middle_s(&self) -> f64 {
        (self.start_s + self.end_s) / 2.0
    }

    pub fn len_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// The pauses in voice-activity flags at `rate_hz` (flag `j` covers the frame centred at
/// `start_s + j / rate_hz`): runs of unvoiced frames at least [`MIN_PAUSE_S`] long, including
/// the silence before the first word and after the last.
pub fn pauses(voiced: &[bool], rate_hz: f64, start_s: f64) -> Vec<Pause> {
    let min_frames = (MIN_PAUSE_S * rate_hz).ceil() as usize;
    let time = |j: usize| start_s + j as f64 / rate_hz;
    let mut found = Vec::new();
    let mut run_start = None;
    for (j, &v) in voiced.iter().chain(std::iter::once(&true)).enumerate() {
        match (v, run_start) {
            (false, None) => run_start = Some(j),
            (true, Some(s)) => {
                if j - s >= min_frames {
                    found.push(Pause { start_s: time(s), end_s: time(j) });
                }
                run_start = None;
            }
            _ => {}
        }
    }
    found
}

/// How long each chunk may be, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkLimits {
    pub min_s: f64,
    pub max_s: f64,
}

/// One job's share of the audio: `start_s..end_s` (overlap included), cut in the middle of the
/// pauses at `cut_start_s` and `cut_end_s`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub start_s: f64,
    pub end_s: f64,
    pub cut_start_s: f64,
    pub cut_end_s: f64,
}

impl Chunk {
    pub fn len_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// Why the audio cannot be split.
#[derive(Clone, Debug, PartialEq)]
pub enum SplitError {
    /// The whole audio is shorter than a chunk may be.
    TooShort { duration_s: f64, min_s: f64 },
    /// No pause in this stretch to cut at without a chunk going out of limits.
    NoPause { from_s: f64, to_s: f64 },
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitError::TooShort { duration_s, min_s } => write!(
                f,
                "the audio lasts {duration_s:.2} s, shorter than the {min_s:.0} s a job needs"
            ),
            SplitError::NoPause { from_s, to_s } => write!(
                f,
                "no pause of {:.0} ms or more between {from_s:.1} s and {to_s:.1} s to cut at \
                 without cutting a word",
                MIN_PAUSE_S * 1e3
            ),
        }
    }
}

/// Splits audio lasting `duration_s` into chunks within `limits` (overlap included), cut in the
/// middle of `pauses`, each chunk reaching `overlap_s / 2` across each of its cuts.
///
/// Greedy from the start: each cut is the latest pause middle that keeps this chunk within
/// `max_s` and leaves the rest at least `min_s` long, so the jobs are as few as the pauses
/// allow. A pause shorter than the overlap puts the overlap's ends into the words beside it;
/// the stitcher's cross-fade covers that.
pub fn split(
    duration_s: f64,
    pauses: &[Pause],
    limits: ChunkLimits,
    overlap_s: f64,
) -> Result<Vec<Chunk>, SplitError> {
    if duration_s < limits.min_s {
        return Err(SplitError::TooShort { duration_s, min_s: limits.min_s });
    }
    let half = overlap_s / 2.0;
    let mut cuts = vec![0.0];
    loop {
        let from = *cuts.last().expect("starts with 0");
        let start = (from - half).max(0.0);
        if duration_s - start <= limits.max_s {
            break;
        }
        // The chunk from `start` to `cut + half` must be min_s..=max_s, and the rest from
        // `cut - half` to the end at least min_s.
        let cut = pauses
            .iter()
            .rev()
            .map(Pause::middle_s)
            .find(|&m| {
                let len = m + half - start;
                len >= limits.min_s
                    && len <= limits.max_s
                    && duration_s - (m - half) >= limits.min_s
            })
            .ok_or(SplitError::NoPause { from_s: from, to_s: start + limits.max_s })?;
        cuts.push(cut);
    }
    cuts.push(duration_s);
    Ok(cuts
        .windows(2)
        .map(|pair| Chunk {
            start_s: (pair[0] - half).max(0.0),
            end_s: (pair[1] + half).min(duration_s),
            cut_start_s: pair[0],
            cut_end_s: pair[1],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ChunkLimits = ChunkLimits { min_s: 2.0, max_s: 10.0 };

    #[test]
    fn pauses_are_runs_of_silence_long_enough_including_the_ends() {
        // 100 Hz: 0.2 s silence, 1 s voice, 0.1 s gap (a stop: no pause), 1 s voice, 0.3 s
        // silence to the end.
        let mut voiced = vec![false; 20];
        voiced.extend([true; 100]);
        voiced.extend([false; 10]);
        voiced.extend([true; 100]);
        voiced.extend([false; 30]);
        let found = pauses(&voiced, 100.0, 1.0);
        assert_eq!(
            found,
            [Pause { start_s: 1.0, end_s: 1.2 }, Pause { start_s: 3.3, end_s: 3.6 }],
            "{found:?}"
        );
    }

    #[test]
    fn chunks_are_cut_in_pauses_within_limits_with_the_overlap_across_each_cut() {
        // A pause every 3 s, 0.4 s long, over 31 s.
        let pauses: Vec<Pause> = (1..=10)
            .map(|k| Pause { start_s: 3.0 * k as f64 - 0.2, end_s: 3.0 * k as f64 + 0.2 })
            .collect();
        let chunks = split(31.0, &pauses, LIMITS, 0.3).unwrap();
        assert_eq!(chunks.first().unwrap().start_s, 0.0);
        assert_eq!(chunks.last().unwrap().end_s, 31.0);
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].cut_end_s, pair[1].cut_start_s);
            assert!((pair[0].end_s - pair[1].start_s - 0.3).abs() < 1e-9, "{pair:?}");
            assert!(pauses.iter().any(|p| p.middle_s() == pair[0].cut_end_s));
        }
        for chunk in &chunks {
            assert!((2.0..=10.0).contains(&chunk.len_s()), "{chunk:?}");
        }
        // Latest cut that fits: 9 s (9.15 ≤ 10), then 18, 27, then the rest.
        let cuts: Vec<f64> = chunks.iter().map(|c| c.cut_end_s).collect();
        assert_eq!(cuts, [9.0, 18.0, 27.0, 31.0]);
    }

    #[test]
    fn the_last_chunk_is_never_left_too_short() {
        // Pauses at 9.5 and 6; 11 s in all: cutting at 9.5 leaves 1.5 s, so the cut is at 6.
        let pauses = [Pause { start_s: 5.8, end_s: 6.2 }, Pause { start_s: 9.3, end_s: 9.7 }];
        let chunks = split(11.0, &pauses, LIMITS, 0.0).unwrap();
        assert_eq!(chunks.iter().map(|c| c.cut_end_s).collect::<Vec<_>>(), [6.0, 11.0]);
    }

    #[test]
    fn audio_too_short_or_without_pauses_cannot_be_split() {
        assert_eq!(
            split(1.5, &[], LIMITS, 0.3),
            Err(SplitError::TooShort { duration_s: 1.5, min_s: 2.0 })
        );
        assert_eq!(split(8.0, &[], LIMITS, 0.3).unwrap().len(), 1, "one chunk needs no cut");
        let err = split(25.0, &[Pause { start_s: 15.0, end_s: 15.5 }], LIMITS, 0.3).unwrap_err();
        assert_eq!(err, SplitError::NoPause { from_s: 0.0, to_s: 10.0 });
        assert!(err.to_string().contains("without cutting a word"), "{err}");
    }
}
