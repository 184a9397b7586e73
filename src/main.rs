//! The `avsync` command line: argument parsing and exit codes over the library.

use avsync::cli::{GradeArgs, OutputArgs};
use avsync::commands;
use avsync::config::Config;
use avsync::error::{Error, EXIT_USAGE};
use avsync::report::emit;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Measure whether sound and picture are in sync, grade it and report it.
///
/// Sign convention: a positive offset means the audio is early (leads the picture).
#[derive(Parser)]
#[command(name = "avsync", version, about)]
struct Cli {
    /// Read defaults (profiles, policies, output directory, ...) from this TOML file instead of
    /// ./avsync.toml. Command-line options override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
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
    /// Grade saved JSON reports again and render them (terminal, JSON, JUnit, HTML, PNG)
    /// without measuring again.
    Report {
        /// JSON files written by --json (an object, an array or JSON lines).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        #[command(flatten)]
        grade: GradeArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
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
    let config = Config::load(cli.config.as_deref())?;
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
        Command::Report { reports, grade, output } => {
            let reports = commands::report::run(&reports, &grade.options(&config)?)?;
            Ok(emit(&reports, &output.options(&config))?.exit_code())
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Processing(format!("JSON output: {e}")))
}
