//! Features: what the analysis measures in each stream.
//!
//! [`audio`]: speech-band and formant-band energies, the first formant and voice activity at
//! 100 Hz.
//! [`face`]: faces and lip geometry per video frame (MediaPipe models run by tract).
//! [`phones`]: phones recognised in the speech and the mouth opening each implies.
//! [`speech`]: the audio features and phones together, streamed from decoded audio.
//! [`fingerprint`]: compact per-frame video fingerprints for reference alignment.
//! [`pattern`]: flash and beep onsets of test patterns, and frame counters.

pub mod audio;
pub mod face;
pub mod fingerprint;
pub mod pattern;
pub mod phones;
pub mod speech;
