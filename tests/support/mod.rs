//! Code shared by the integration tests (and, by path, the examples).

pub mod luma_frames;
pub mod sample_reports;
pub mod schema;
