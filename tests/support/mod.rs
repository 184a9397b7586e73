//! Code shared by the integration tests.

pub mod sample_reports;
