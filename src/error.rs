//! The one error type of avsync, and how each kind maps to an exit code.
//!
//! Every message is one line that names the file (where there is one) and says what is wrong
//! in plain words, so a CI log shows the cause without a backtrace.

use std::path::{Path, PathBuf};

/// Exit code for a usage error (bad option or argument).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for an input or processing error.
pub const EXIT_ERROR: u8 = 4;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file that cannot be read, decoded or used as asked.
    #[error("{}: {problem}", path.display())]
    Input { path: PathBuf, problem: String },
    /// An output file that cannot be written.
    #[error("cannot write {}: {problem}", path.display())]
    Output { path: PathBuf, problem: String },
    /// The command line or a configuration value is wrong.
    #[error("{0}")]
    Usage(String),
    /// Analysis failed for a reason that is not the input's fault.
    #[error("{0}")]
    Processing(String),
}

impl Error {
    /// An input error for `path` with a plain-words `problem`.
    pub fn input(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Input { path: path.as_ref().to_path_buf(), problem: problem.into() }
    }

    /// An output error for `path` with a plain-words `problem`.
    pub fn output(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Output { path: path.as_ref().to_path_buf(), problem: problem.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// The process exit code this error maps to (2 for usage, 4 for everything else).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            _ => EXIT_ERROR,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
