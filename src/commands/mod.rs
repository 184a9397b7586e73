//! One module per subcommand: each turns options into a result, leaving argument parsing and
//! process exit to `main.rs`.

pub mod check;
pub mod compare;
pub mod fix;
pub mod merge;
pub mod pattern;
pub mod plan;
pub mod preflight;
pub mod preflight_faces;
pub mod probe;
pub mod report;
