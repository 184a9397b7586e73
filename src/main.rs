//! The `avsync` command line: argument parsing and exit codes over the library.

use avsync::commands;
use avsync::error::{Error, EXIT_USAGE};
use avsync::estimate::reference::Placement;
use avsync::grade::{Profile, DEFAULT_PROFILE};
use avsync::report::{self, OutputOptions};
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
    /// Measure an output against the audio (and video) that went into it: where the reference
    /// audio sits (sub-sample), drift, splices, gain; with --video-ref also the video offset,
    /// dropped, repeated and frozen frames. Grades audio offset minus video offset.
    Compare(CompareArgs),
}

#[derive(Args)]
struct CompareArgs {
    /// The file that came out of the pipeline.
    output: PathBuf,
    /// The audio that went in (any audio or video file; its audio track is used).
    #[arg(long, value_name = "FILE")]
    audio_ref: PathBuf,
    /// The video that went in.
    #[arg(long, value_name = "FILE")]
    video_ref: Option<PathBuf>,
    /// Where the reference audio was meant to start in the output (Kling's sound_insert_time),
    /// e.g. 1s. Offsets are measured from there.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_time_s)]
    ref_insert_time: f64,
    /// Where the section meant to be used starts in the reference (Kling's sound_start_time).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_time_s)]
    ref_start_time: f64,
    /// Length of the analysis windows the output audio is cut into.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_positive_s)]
    window: f64,
    #[command(flatten)]
    grade: GradeArgs,
    #[command(flatten)]
    output_args: OutputArgs,
}

fn parse_time_s(text: &str) -> Result<f64, String> {
    avsync::units::parse_duration_s(text)
}

fn parse_positive_s(text: &str) -> Result<f64, String> {
    avsync::units::parse_positive_duration_s(text)
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
        Command::Compare(args) => {
            let profiles = args.grade.profiles()?;
            let mut options = commands::compare::CompareOptions::new(args.output, args.audio_ref);
            options.video_ref = args.video_ref;
            options.expected = Placement {
                output_start_s: args.ref_insert_time,
                ref_start_s: args.ref_start_time,
            };
            options.audio.window_s = args.window;
            let report = commands::compare::run(&options, &profiles)?;
            let output = args.output_args.options();
            let outcome = report::emit(std::slice::from_ref(&report), &output)?;
            let json_to_stdout = output.json.as_deref() == Some(std::path::Path::new("-"));
            if !output.quiet && !json_to_stdout {
                print!("{}", commands::compare::render_details(&report));
            }
            Ok(outcome.exit_code())
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Processing(format!("JSON output: {e}")))
}
