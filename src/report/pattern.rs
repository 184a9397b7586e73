//! What a test-pattern measurement found (`pattern analyze`): the report's `pattern` object.

use crate::features::pattern::CounterStats;
use serde::{Deserialize, Serialize};

/// One flash paired with its beep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatternEvent {
    pub flash_s: f64,
    pub beep_s: f64,
    /// `flash − beep` in ms: `> 0` when the audio is early.
    pub offset_ms: f64,
    /// Share of its first lit frame the flash filled: 1 for a flash that fills the frame.
    pub flash_fraction: f64,
    /// Off the clip's offset line by more than the scatter of the others.
    pub outlier: bool,
}

/// What a pattern measurement found, beyond the report's common fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternDetails {
    pub flashes: usize,
    pub beeps: usize,
    /// Median time between flashes (or beeps when there are too few flashes).
    pub period_s: Option<f64>,
    /// Median frequency of the beeps.
    pub tone_hz: Option<f64>,
    /// True when every beep started at one phase, so the phase refined the onsets.
    pub tone_phase_locked: bool,
    /// Share of the picture that flashes.
    pub flash_region_share: f64,
    pub events: Vec<PatternEvent>,
    /// Flashes no beep belongs to, and beeps no flash belongs to (times in s).
    pub unpaired_flashes_s: Vec<f64>,
    pub unpaired_beeps_s: Vec<f64>,
    /// Periods with neither flash nor beep, when the pattern is regular.
    pub missing_events: Option<usize>,
    /// Dropped and repeated frames, when the frames carry avsync's counter.
    pub frames: Option<CounterStats>,
}
