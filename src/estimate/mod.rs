//! From correlation curves to measurements: offsets, drift, segments, confidence, and the
//! inconclusive outcome when there is nothing to measure.

pub mod reference;
pub mod significance;
