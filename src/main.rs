//! The `avsync` command line: argument parsing and exit codes over the library.

use avsync::batch::{self, BatchResult};
use avsync::cli::{GradeArgs, OutputArgs};
use avsync::commands;
use avsync::config::Config;
use avsync::error::{Error, EXIT_USAGE};
use avsync::report::{self, emit, emit_with_details};
use avsync::safe_write;
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::path::{Path, PathBuf};
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
    /// Show each file's container, streams, start and end times and warnings.
    ///
    /// Exit code 0 when every file could be read, 4 when one could not.
    Probe {
        /// Files, globs, or directories (searched recursively for --ext files).
        #[arg(required_unless_present = "manifest")]
        inputs: Vec<PathBuf>,
        /// Write JSON (an object for one file, an array for several) to PATH, or to stdout
        /// (and nothing else there) with `-`.
        #[arg(long, value_name = "PATH|-")]
        json: Option<PathBuf>,
        /// Write JSON lines (one object per file) instead of an array; to stdout, streamed as
        /// files finish, unless --json names a file.
        #[arg(long)]
        jsonl: bool,
        #[command(flatten)]
        batch: batch::BatchArgs,
    },
    /// Check the inputs of a lip-sync job against a service's limits before paying for it.
    ///
    /// `preflight VIDEO AUDIO` (a second path with an audio file's extension) is the same as
    /// `preflight VIDEO --audio AUDIO`. Several videos, directories or a manifest make a batch.
    ///
    /// Exit code 0 when no rule fails, 1 when one does, 4 when an input cannot be read; the
    /// worst over all jobs.
    Preflight {
        /// The videos the jobs will lip-sync: files, globs, or directories (searched
        /// recursively for --ext files).
        #[arg(required_unless_present = "manifest", value_name = "VIDEO")]
        inputs: Vec<PathBuf>,
        /// The separate audio file the jobs will use (a manifest's audio_ref column replaces
        /// it for its row).
        #[arg(long, value_name = "FILE")]
        audio: Option<PathBuf>,
        /// The service: kling-fal, kling-api or useapi (a manifest's target column replaces
        /// it for its row).
        #[arg(long, value_name = "T", required_unless_present = "manifest")]
        target: Option<String>,
        /// Write the rules as JSON (an object for one job, an array for several) to PATH, or
        /// to stdout (and nothing else there) with `-`.
        #[arg(long, value_name = "PATH|-")]
        json: Option<PathBuf>,
        /// Write JSON lines (one object per job) instead of an array; to stdout, streamed as
        /// jobs finish, unless --json names a file.
        #[arg(long)]
        jsonl: bool,
        /// Write JUnit XML (one testcase per rule) to PATH.
        #[arg(long, value_name = "PATH")]
        junit: Option<PathBuf>,
        /// Print nothing; the exit code tells the outcome.
        #[arg(long, short)]
        quiet: bool,
        /// kling-api: where in the video the sound goes, in ms (`sound_insert_time`).
        #[arg(long, value_name = "MS")]
        sound_insert_time: Option<f64>,
        /// kling-api: where the cropped sound starts in AUDIO, in ms (`sound_start_time`).
        #[arg(long, value_name = "MS")]
        sound_start_time: Option<f64>,
        /// kling-api: where the cropped sound ends in AUDIO, in ms (`sound_end_time`)
        /// [default: AUDIO's end].
        #[arg(long, value_name = "MS")]
        sound_end_time: Option<f64>,
        #[command(flatten)]
        batch: batch::BatchArgs,
    },
    /// Measure the lip sync of clips of people talking, with no reference: the speech in the
    /// audio against the lip movement of the talking face.
    ///
    /// Exit code 0 pass, 1 fail, 3 inconclusive (no speech, no face, or lips that do not match
    /// the audio), 4 error; the worst over all inputs.
    Check(commands::check::CheckArgs),
    /// Measure an output against the audio (and video) that went into it: where the reference
    /// audio sits (sub-sample), drift, splices, gain; with --video-ref also the video offset,
    /// dropped, repeated and frozen frames. Grades audio offset minus video offset.
    Compare(commands::compare::CompareArgs),
    /// Correct a constant offset: write a copy of INPUT with its audio moved against the
    /// picture (stream copy, nothing re-encoded), then measure and grade the copy.
    ///
    /// Exit code 0 when the fixed file passes, 1 when it fails, 3 when it cannot be measured.
    Fix(commands::fix::FixArgs),
    /// Split a long voice-over into jobs the target accepts, cut in the pauses between words:
    /// a JSON/CSV plan, and with --write the chunk files.
    Plan(commands::plan::PlanArgs),
    /// Generate flash/beep test patterns, or measure a clip made from one.
    Pattern {
        #[command(subcommand)]
        command: PatternCommand,
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
    /// Join the JSON reports of a batch's shards (files, or directories such as
    /// --report-dir) into one summary and one JUnit file, as they were graded.
    ///
    /// Exit code: the worst outcome over all reports.
    Merge {
        /// JSON report files, or directories searched for .json and .jsonl files.
        #[arg(required = true, value_name = "REPORT|DIR")]
        reports: Vec<PathBuf>,
        /// Write the summary table to PATH: .csv, .jsonl or .html.
        #[arg(long, value_name = "PATH")]
        summary: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

// Parsed once per run: the size of its largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum PatternCommand {
    /// Write a flash/beep pattern with a known audio offset and drift.
    ///
    /// Each period the picture flashes white and a tone burst sounds; every frame carries a
    /// machine-readable frame counter and a timecode.
    Generate(commands::pattern::GenerateArgs),
    /// Measure a flash/beep clip (avsync's own or any other): offset per event, drift, and
    /// dropped or repeated frames.
    ///
    /// Exit code 0 pass, 1 fail, 3 inconclusive, 4 error; the worst over all inputs.
    Analyze {
        /// Clips: files, globs, or directories (searched recursively for --ext files).
        #[arg(required_unless_present = "manifest")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        grade: GradeArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        batch: batch::BatchArgs,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!("avsync: {}", one_line(&e.render().to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("avsync: {}", report::escape_control(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    safe_write::remove_pending_on_interrupt();
    if let Some(config) = &cli.config {
        safe_write::protect_input(config);
    }
    for input in cli.command.inputs() {
        safe_write::protect_input(input);
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Probe { inputs, json, jsonl, batch } => {
            let json = JsonTarget::new(json, jsonl)?;
            let mut runner = batch.plain_runner(json.streamed(), false)?;
            runner.lone_input_error_ends_run = true;
            let jobs = batch.jobs(&inputs, commands::probe::MANIFEST_COLUMNS)?;
            let probed = commands::probe::run_all(&jobs, &runner)?;
            print_failures(&probed);
            if let Some(path) = json.written_at_end() {
                report::write_text(path, &commands::probe::render_json(&probed, jsonl)?)?;
            }
            if !json.takes_stdout() {
                let text: String = probed.iter().map(commands::probe::render_text).collect();
                print_stdout(&(text + &batch_table(&probed)))?;
            }
            Ok(worst(&probed).exit_code())
        }
        Command::Preflight {
            mut inputs,
            mut audio,
            target,
            json,
            jsonl,
            junit,
            quiet,
            sound_insert_time,
            sound_start_time,
            sound_end_time,
            batch,
        } => {
            commands::preflight::take_audio_argument(&mut inputs, &mut audio);
            let json = JsonTarget::new(json, jsonl)?;
            if let Some(path) = junit.as_deref().filter(|p| *p != Path::new("-")) {
                safe_write::check_output(path)?;
            }
            let placement = commands::preflight_faces::SoundPlacement {
                insert_ms: sound_insert_time,
                start_ms: sound_start_time,
                end_ms: sound_end_time,
            };
            let mut runner = batch.plain_runner(json.streamed(), quiet)?;
            runner.lone_input_error_ends_run = true;
            let jobs = batch.jobs(&inputs, commands::preflight::MANIFEST_COLUMNS)?;
            let preflights = commands::preflight::run_all(
                &jobs,
                target.as_deref(),
                audio.as_deref(),
                &placement,
                &runner,
            )?;
            print_failures(&preflights);
            if let Some(path) = json.written_at_end() {
                let text = match preflights.as_slice() {
                    _ if jsonl => {
                        preflights.iter().map(|p| p.json_line(false)).collect::<Result<_, _>>()?
                    }
                    [one] => to_json(one)? + "\n",
                    many => to_json(&many)? + "\n",
                };
                report::write_text(path, &text)?;
            }
            if let Some(path) = &junit {
                report::write_text(path, &commands::preflight::render_junit(&preflights))?;
            }
            if !quiet && !json.takes_stdout() {
                let text: String =
                    preflights.iter().map(commands::preflight::render_text).collect();
                print_stdout(&(text + &batch_table(&preflights)))?;
            }
            Ok(worst(&preflights).exit_code())
        }
        Command::Check(args) => {
            let mut outputs = args.output_args.options(&config);
            outputs.check()?;
            let grading = args.grade.options(&config)?;
            let options = args.options(outputs.wants_plots(), &config)?;
            let runner = args.batch.runner(&mut outputs)?;
            let jobs = args.batch.jobs(&args.inputs, commands::check::MANIFEST_COLUMNS)?;
            let reports = commands::check::run_all(&jobs, &options, &grading, &runner)?;
            print_failures(&reports);
            let outcome = emit_with_details(&reports, &outputs, commands::check::render_details)?;
            Ok(outcome.exit_code())
        }
        Command::Compare(args) => {
            let mut outputs = args.output_args.options(&config);
            outputs.check()?;
            let grading = args.grade.options(&config)?;
            let options = args.options(outputs.wants_plots(), &config)?;
            let mut runner = args.batch.runner(&mut outputs)?;
            runner.lone_input_error_ends_run = true;
            let jobs = args.batch.jobs(&args.outputs, commands::compare::MANIFEST_COLUMNS)?;
            let reports = commands::compare::run_all(&jobs, &args, &options, &grading, &runner)?;
            print_failures(&reports);
            let outcome = emit_with_details(&reports, &outputs, commands::compare::render_details)?;
            Ok(outcome.exit_code())
        }
        Command::Fix(args) => {
            let outputs = args.output_args.options(&config);
            outputs.check()?;
            safe_write::check_output(&args.output)?;
            let grading = args.grade.options(&config)?;
            let plan = args.plan()?;
            let fixed = commands::fix::run(&args.input, &args.output, &plan, &grading)?;
            if !outputs.quiet && outputs.json.as_deref() != Some(Path::new("-")) {
                print_stdout(&commands::fix::render_text(&fixed, &args.output))?;
            }
            Ok(emit(std::slice::from_ref(&fixed.after), &outputs)?.exit_code())
        }
        Command::Plan(args) => {
            for path in [&args.json, &args.csv].into_iter().flatten() {
                if path != Path::new("-") {
                    safe_write::check_output(path)?;
                }
            }
            let plan = commands::plan::run(&args)?;
            if let Some(path) = &args.json {
                report::write_text(path, &(to_json(&plan)? + "\n"))?;
            }
            if let Some(path) = &args.csv {
                report::write_text(path, &commands::plan::render_csv(&plan))?;
            }
            let to_stdout =
                [&args.json, &args.csv].iter().any(|p| p.as_deref() == Some(Path::new("-")));
            if !args.quiet && !to_stdout {
                print_stdout(&commands::plan::render_text(&plan))?;
            }
            Ok(0)
        }
        Command::Pattern { command: PatternCommand::Generate(args) } => {
            let options = args.options();
            safe_write::check_output(&options.output)?;
            let summary = commands::pattern::generate(&options)?;
            print_stdout(&commands::pattern::render_generate_summary(&options, &summary))?;
            for warning in &summary.warnings {
                eprintln!("avsync: warning: {warning}");
            }
            Ok(0)
        }
        Command::Pattern { command: PatternCommand::Analyze { inputs, grade, output, batch } } => {
            let mut outputs = output.options(&config);
            outputs.check()?;
            let grading = grade.options(&config)?;
            let mut runner = batch.runner(&mut outputs)?;
            runner.lone_input_error_ends_run = true;
            let jobs = batch.jobs(&inputs, commands::pattern::MANIFEST_COLUMNS)?;
            let plots = outputs.wants_plots();
            let reports = runner.run(&jobs, "analysing", |job| {
                commands::pattern::analyze(&job.input, &job.grading(&grading)?, plots)
            })?;
            print_failures(&reports);
            let outcome = emit_with_details(&reports, &outputs, commands::pattern::render_text)?;
            Ok(outcome.exit_code())
        }
        Command::Merge { reports, summary, output } => {
            let outputs = output.options(&config);
            outputs.check()?;
            if let Some(path) = &summary {
                batch::summary::check(path)?;
            }
            let reports = commands::merge::run(&reports, summary.as_deref())?;
            Ok(emit(&reports, &outputs)?.exit_code())
        }
        Command::Report { reports, grade, output } => {
            let outputs = output.options(&config);
            outputs.check()?;
            let reports = commands::report::run(&reports, &grade.options(&config)?)?;
            Ok(emit(&reports, &outputs)?.exit_code())
        }
    }
}

impl Command {
    /// Every file the command reads: nothing it writes may land on one of them.
    fn inputs(&self) -> Vec<&Path> {
        match self {
            Command::Probe { inputs, .. } => inputs.iter().map(PathBuf::as_path).collect(),
            Command::Preflight { inputs, audio, .. } => {
                inputs.iter().map(PathBuf::as_path).chain(audio.as_deref()).collect()
            }
            Command::Check(args) => args
                .inputs
                .iter()
                .map(PathBuf::as_path)
                .chain(args.audio.as_deref())
                .chain(args.calibrate_with.as_deref())
                .collect(),
            Command::Compare(args) => args
                .outputs
                .iter()
                .map(PathBuf::as_path)
                .chain(args.audio_ref.as_deref())
                .chain(args.video_ref.as_deref())
                .chain(args.plan.as_deref())
                .collect(),
            Command::Fix(args) => {
                std::iter::once(args.input.as_path()).chain(args.from_report.as_deref()).collect()
            }
            Command::Plan(args) => {
                std::iter::once(args.audio.as_path()).chain(args.video.as_deref()).collect()
            }
            Command::Pattern { command: PatternCommand::Generate(_) } => Vec::new(),
            Command::Pattern { command: PatternCommand::Analyze { inputs, .. } } => {
                inputs.iter().map(PathBuf::as_path).collect()
            }
            Command::Report { reports, .. } | Command::Merge { reports, .. } => {
                reports.iter().map(PathBuf::as_path).collect()
            }
        }
    }
}

/// Says on standard error why each failed input of a batch failed (its report says it too).
fn print_failures<T: BatchResult>(results: &[T]) {
    for failed in results.iter().filter(|r| r.outcome() == report::Outcome::Error) {
        let row = failed.row(None, None, Path::new(""));
        let message = format!("{}: {}", row.input, row.reason);
        eprintln!("avsync: {}", report::escape_control(&message));
    }
}

/// The worst outcome of a batch.
fn worst<T: BatchResult>(results: &[T]) -> report::Outcome {
    report::Outcome::worst(results.iter().map(BatchResult::outcome))
}

/// For several inputs of a command that prints its own text (probe, preflight): a blank line
/// and the batch's table.
fn batch_table<T: BatchResult>(results: &[T]) -> String {
    if results.len() < 2 {
        return String::new();
    }
    let rows: Vec<_> = results.iter().map(|r| r.row(None, None, Path::new(""))).collect();
    format!("\n{}", batch::summary::render_text(&rows))
}

/// Where the JSON of a command with outputs of its own (probe, preflight) goes: `--json PATH`,
/// `--json -`, or `--jsonl` alone (JSON lines on standard output, streamed as inputs finish).
struct JsonTarget {
    path: Option<PathBuf>,
    lines: bool,
}

impl JsonTarget {
    /// Checks the path before any work is done.
    fn new(path: Option<PathBuf>, lines: bool) -> Result<JsonTarget, Error> {
        let path = path.or_else(|| lines.then(|| PathBuf::from("-")));
        if let Some(file) = path.as_deref().filter(|p| *p != Path::new("-")) {
            safe_write::check_output(file)?;
        }
        Ok(JsonTarget { path, lines })
    }

    fn takes_stdout(&self) -> bool {
        self.path.as_deref() == Some(Path::new("-"))
    }

    /// JSON lines on standard output go out as inputs finish.
    fn streamed(&self) -> bool {
        self.lines && self.takes_stdout()
    }

    /// The path written once every input is done (not when streamed).
    fn written_at_end(&self) -> Option<&Path> {
        self.path.as_deref().filter(|_| !self.streamed())
    }
}

/// A clap error on one line, as every avsync error is: its message and tip, without the usage
/// block and the pointer to --help that a CI log does not need.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<(), Error> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::output("standard output", e.to_string()))
        }
        _ => Ok(()),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Processing(format!("JSON output: {e}")))
}
