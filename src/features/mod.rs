//! Features: what the analysis measures in each stream.
//!
//! [`audio`]: speech-band energy, formant energy, onsets and voice activity at 100 Hz.
//! [`face`]: faces and lip geometry per video frame (MediaPipe models run by tract).
//! [`fingerprint`]: compact per-frame video fingerprints for reference alignment.
//! [`pattern`]: flash and beep onsets of test patterns, and frame counters.

pub mod audio;
pub mod face;
pub mod fingerprint;
pub mod pattern;
