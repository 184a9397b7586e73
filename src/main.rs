//! The `avsync` command line: argument parsing and exit codes over the library.

use avsync::commands;
use avsync::commands::pattern::GenerateOptions;
use avsync::error::{Error, EXIT_USAGE};
use avsync::features::pattern::{FrameRate, PatternSpec};
use avsync::grade::{Profile, DEFAULT_PROFILE};
use avsync::media::encode::{AudioCodec, VideoCodec};
use avsync::report::OutputOptions;
use avsync::units::{parse_duration_s, parse_positive_duration_s};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
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
    /// Generate flash/beep test patterns, or measure a clip made from one.
    Pattern {
        #[command(subcommand)]
        command: PatternCommand,
    },
}

#[derive(Subcommand)]
enum PatternCommand {
    /// Write a flash/beep pattern with a known audio offset and drift.
    ///
    /// Each period the picture flashes white and a tone burst sounds; every frame carries a
    /// machine-readable frame counter and a timecode.
    Generate(GenerateArgs),
    /// Measure a flash/beep clip (avsync's own or any other): offset per event, drift, and
    /// dropped or repeated frames.
    Analyze {
        input: PathBuf,
        #[command(flatten)]
        grade: GradeArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Args)]
struct GenerateArgs {
    /// Output file; its extension picks the container (.mp4, .mov, .mkv).
    out: PathBuf,
    /// Frame rate, exact: 25, 50, 30000/1001, 24000/1001, 60000/1001, ...
    #[arg(long, default_value = "30000/1001")]
    fps: FrameRate,
    /// Length of the clip, e.g. 10s or 2min.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration_s)]
    duration: f64,
    /// Picture size, WIDTHxHEIGHT (even numbers).
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    size: (u32, u32),
    /// Time from one flash/beep to the next, e.g. 1s or 500ms.
    #[arg(long, default_value = "1s", value_parser = parse_positive_duration_s)]
    period: f64,
    /// Audio sample rate in Hz.
    #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    sample_rate: u32,
    /// Audio offset in ms, fractions allowed; positive = audio early (e.g. 12.5, -0.25, 40ms).
    #[arg(long, default_value = "0", value_name = "MS", allow_hyphen_values = true, value_parser = parse_offset_ms)]
    audio_offset: f64,
    /// Audio clock error in parts per million; positive = the audio gets ever earlier.
    #[arg(long, default_value_t = 0.0, value_name = "PPM", allow_hyphen_values = true)]
    drift_ppm: f64,
    /// Beep frequency in Hz.
    #[arg(long, default_value_t = 1000.0, value_name = "HZ")]
    tone: f64,
    #[arg(long, value_enum, default_value_t = VideoCodecArg::H264)]
    video_codec: VideoCodecArg,
    /// pcm needs .mov or .mkv; ffv1 + pcm is lossless.
    #[arg(long, value_enum, default_value_t = AudioCodecArg::Aac)]
    audio_codec: AudioCodecArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum VideoCodecArg {
    H264,
    Ffv1,
}

#[derive(Clone, Copy, ValueEnum)]
enum AudioCodecArg {
    Aac,
    Pcm,
}

impl GenerateArgs {
    fn options(&self) -> GenerateOptions {
        GenerateOptions {
            output: self.out.clone(),
            spec: PatternSpec {
                width: self.size.0,
                height: self.size.1,
                frame_rate: self.fps,
                duration_s: self.duration,
                period_s: self.period,
                sample_rate: self.sample_rate,
                audio_offset_ms: self.audio_offset,
                drift_ppm: self.drift_ppm,
                tone_hz: self.tone,
            },
            video_codec: match self.video_codec {
                VideoCodecArg::H264 => VideoCodec::H264,
                VideoCodecArg::Ffv1 => VideoCodec::Ffv1,
            },
            audio_codec: match self.audio_codec {
                AudioCodecArg::Aac => AudioCodec::Aac,
                AudioCodecArg::Pcm => AudioCodec::Pcm,
            },
        }
    }
}

/// `WIDTHxHEIGHT`, e.g. `640x360`.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{text}' is not a size: use WIDTHxHEIGHT, e.g. 640x360");
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    Ok((w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?))
}

/// An offset in ms: a plain number is milliseconds; a number with a unit is converted.
fn parse_offset_ms(text: &str) -> Result<f64, String> {
    let value = match text.trim().parse::<f64>() {
        Ok(ms) => ms,
        Err(_) => parse_duration_s(text)? * 1000.0,
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("'{text}' is not a finite offset"))
    }
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
        Command::Pattern { command: PatternCommand::Generate(args) } => {
            let options = args.options();
            let summary = commands::pattern::generate(&options)?;
            print!("{}", commands::pattern::render_generate_summary(&options, &summary));
            for warning in &summary.warnings {
                eprintln!("avsync: warning: {warning}");
            }
            Ok(0)
        }
        Command::Pattern { command: PatternCommand::Analyze { input, grade, output } } => {
            let profiles = grade.profiles()?;
            let options = output.options();
            let report = commands::pattern::analyze(&input, &profiles)?;
            let outcome = avsync::report::emit(std::slice::from_ref(&report), &options)?;
            if !options.quiet && options.json.as_deref() != Some(Path::new("-")) {
                print!("{}", commands::pattern::render_text(&report));
            }
            Ok(outcome.exit_code())
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Processing(format!("JSON output: {e}")))
}
