//! Per-stream features: what the correlator compares.

pub mod face;
