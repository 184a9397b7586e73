//! From features and correlation curves to measurements: offsets, drift, segments, confidence,
//! and the inconclusive outcome when there is nothing to measure.
//!
//! [`content`]: speech against lip movement, with no reference (`avsync check`).
//! [`face_position`]: the measured face named by where it sits in the picture.
//! [`line`]: robust offset-over-time lines (offset and drift).
//! [`pattern`]: flash/beep pairing for test patterns.
//! [`reference`]: alignment of an output against the audio and video that went in.
//! [`significance`]: robust statistics for telling a real peak from chance.

pub mod content;
pub mod face_position;
pub mod line;
pub mod pattern;
pub mod reference;
pub mod significance;
