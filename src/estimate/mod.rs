//! Estimates: from features to an offset, a drift and a confidence.
//!
//! [`pattern`]: flash/beep pairing for test patterns.

pub mod pattern;
