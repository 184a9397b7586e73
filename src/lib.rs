//! avsync measures whether sound and picture are in sync, grades the result against industry
//! tolerances, and reports it.
//!
//! The pipeline, one module per stage:
//! [`media`] (decode with true timestamps) → features → correlate → estimate → grade → report.
//!
//! Sign convention everywhere: `offset_ms > 0` means the audio is early (leads the picture),
//! `< 0` means it is late (ITU-R BT.1359 / EBU).

pub mod batch;
pub mod cli;
pub mod commands;
pub mod config;
pub mod correlate;
pub mod error;
pub mod estimate;
pub mod features;
pub mod grade;
pub mod limits;
pub mod media;
pub mod plan;
pub mod report;
pub mod safe_write;
pub mod units;

pub use error::{Error, Result};
