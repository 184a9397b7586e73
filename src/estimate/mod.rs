//! From features and correlation curves to measurements: offsets, drift, segments, confidence,
//! and the inconclusive outcome when there is nothing to measure.
//!
//! [`pattern`]: flash/beep pairing for test patterns.
//! [`reference`]: alignment of an output against the audio and video that went in.
//! [`significance`]: robust statistics for telling a real peak from chance.

pub mod pattern;
pub mod reference;
pub mod significance;
