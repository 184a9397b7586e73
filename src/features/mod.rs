//! Features: what the analysis measures in each stream.
//!
//! [`face`]: faces and lip geometry per video frame (MediaPipe models run by tract).
//! [`pattern`]: flash and beep onsets of test patterns, and frame counters.

pub mod face;
pub mod pattern;
