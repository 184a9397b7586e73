//! Features: what the analysis measures in each stream.
//!
//! [`pattern`]: flash and beep onsets of test patterns, and frame counters.

pub mod pattern;
