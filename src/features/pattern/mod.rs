//! Flash/beep test patterns: what avsync's pattern looks and sounds like, and how the events
//! of any flash/beep pattern are found again.
//!
//! - [`synth`]: the generator's events, frames and samples (exact times, sub-sample offsets).
//! - [`counter`] and [`font`]: the burnt-in frame counter and timecode.
//! - [`flash`]: flash onsets in video, for any sudden bright region.
//! - [`beep`]: beep onsets in audio, for any tone, to a fraction of a sample.

pub mod beep;
pub mod counter;
pub mod flash;
pub mod font;
pub mod synth;

pub use beep::{find_beeps, Beep, BeepAnalysis, BeepRecorder, BeepRecording, ToneBurst};
pub use counter::{read_counter, CounterStats, CounterTally};
pub use flash::{find_flashes, Flash, FlashAnalysis, FrameCells};
pub use synth::{FrameRate, PatternPlan, PatternSpec, PlannedEvent};
