//! The `avsync` command line: argument parsing and exit codes over the library.

use avsync::commands;
use avsync::error::{Error, EXIT_USAGE};
use avsync::grade::{Profile, DEFAULT_PROFILE};
use avsync::report::OutputOptions;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Measure whether sound and picture are in sync, grade it and report it.
///
/// Sign convention: a positive offset means the audio is early (leads the picture).
#[derive(Parser)]
#[command(name = "avsync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a file's container, streams, start times and warnings.
    Probe {
        input: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Grading options shared by every measuring command.
#[derive(Args, Clone, Debug)]
struct GradeArgs {
    /// Tolerance profile to grade against; repeat for several. One of broadcast (default),
    /// cinema, ebu-r37, atsc, bt1359-detect, bt1359-accept.
    #[arg(long = "profile", value_name = "P")]
    profiles: Vec<String>,
    /// Custom limits in ms, audio early/late, e.g. +40/-60; repeatable.
    #[arg(long = "tolerance", value_name = "+A/-B", allow_hyphen_values = true)]
    tolerances: Vec<String>,
}

#[expect(dead_code, reason = "the measuring commands land next and use it")]
impl GradeArgs {
    /// The profiles named, or the default profile when none is.
    fn profiles(&self) -> Result<Vec<Profile>, Error> {
        let mut profiles =
            self.profiles.iter().map(|p| Profile::parse(p)).collect::<Result<Vec<_>, _>>()?;
        for tolerance in &self.tolerances {
            profiles.push(Profile::parse_tolerance(tolerance)?);
        }
        if profiles.is_empty() {
            profiles.push(Profile::parse(DEFAULT_PROFILE)?);
        }
        Ok(profiles)
    }
}

/// Output options shared by every measuring command.
#[derive(Args, Clone, Debug)]
struct OutputArgs {
    /// Write the JSON report to PATH, or to stdout (and nothing else there) with `-`.
    #[arg(long, value_name = "PATH|-")]
    json: Option<PathBuf>,
    /// Print nothing; the exit code tells the outcome.
    #[arg(long, short)]
    quiet: bool,
}

#[expect(dead_code, reason = "the measuring commands land next and use it")]
impl OutputArgs {
    fn options(&self) -> OutputOptions {
        OutputOptions { json: self.json.clone(), quiet: self.quiet }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            return ExitCode::from(if usage_error { EXIT_USAGE } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("avsync: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Probe { input, json } => {
            let info = commands::probe::run(&input)?;
            if json {
                println!("{}", to_json(&info)?);
            } else {
                print!("{}", commands::probe::render_text(&info));
            }
            Ok(0)
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Processing(format!("JSON output: {e}")))
}
