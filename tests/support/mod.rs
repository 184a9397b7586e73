//! Code shared by the integration tests (and, by path, the examples).

pub mod ffmpeg_gray;
pub mod sample_reports;
pub mod schema;
