//! The `avsync` command line: argument parsing and exit codes over the library.

use avsync::commands;
use avsync::error::{Error, EXIT_USAGE};
use avsync::grade::{Profile, DEFAULT_PROFILE};
use avsync::media::{AudioOptions, ChannelSelect};
use avsync::report::{self, OutputOptions};
use clap::{Args, Parser, Subcommand};
use std::io::Write as _;
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
    /// Check the inputs of a lip-sync job against a service's limits before paying for it.
    ///
    /// Exit code 0 when no rule fails, 1 when one does.
    Preflight {
        /// The video the job will lip-sync.
        video: PathBuf,
        /// The separate audio file the job will use.
        audio: Option<PathBuf>,
        /// The service: kling-fal, kling-api or useapi.
        #[arg(long, value_name = "T")]
        target: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// Audio selection options shared by every command that decodes audio.
#[derive(Args, Clone, Debug)]
struct AudioArgs {
    /// Which audio stream to analyse, counted among the audio streams from 0 (default: the
    /// one FFmpeg picks as best).
    #[arg(long, value_name = "N")]
    audio_stream: Option<usize>,
    /// Which channel to analyse: downmix (default), an index from 0, or a name such as FL, FR,
    /// FC (the dialogue channel of 5.1), LFE, SL, SR.
    #[arg(long, value_name = "CH", default_value = "downmix")]
    audio_channel: ChannelSelect,
}

#[cfg_attr(not(test), expect(dead_code, reason = "the measuring commands land next and use it"))]
impl AudioArgs {
    /// Decoding options at the default analysis rate.
    fn options(&self) -> AudioOptions {
        AudioOptions {
            stream: self.audio_stream,
            channel: self.audio_channel.clone(),
            ..AudioOptions::default()
        }
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
                print_stdout(&(to_json(&info)? + "\n"))?;
            } else {
                print_stdout(&commands::probe::render_text(&info))?;
            }
            Ok(0)
        }
        Command::Preflight { video, audio, target, output } => {
            let target = commands::preflight::target(&target)?;
            let preflight = commands::preflight::run(target, &video, audio.as_deref(), None)?;
            if let Some(path) = &output.json {
                report::write_text(path, &(to_json(&preflight)? + "\n"))?;
            }
            if !output.quiet && output.json.as_deref() != Some(Path::new("-")) {
                print_stdout(&commands::preflight::render_text(&preflight))?;
            }
            Ok(preflight.exit_code())
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A command that flattens the audio options, as the measuring commands will.
    #[derive(Parser)]
    struct WithAudio {
        #[command(flatten)]
        audio: AudioArgs,
    }

    #[test]
    fn audio_options_parse_streams_and_channels() {
        let parsed = WithAudio::try_parse_from(["x"]).unwrap().audio.options();
        assert_eq!((parsed.stream, parsed.channel), (None, ChannelSelect::Downmix));
        let args = ["x", "--audio-stream", "1", "--audio-channel", "fc"];
        let parsed = WithAudio::try_parse_from(args).unwrap().audio.options();
        assert_eq!((parsed.stream, parsed.channel), (Some(1), ChannelSelect::Named("FC".into())));
        let parsed = WithAudio::try_parse_from(["x", "--audio-channel", "2"]).unwrap();
        assert_eq!(parsed.audio.options().channel, ChannelSelect::Index(2));
        let err = WithAudio::try_parse_from(["x", "--audio-channel", "XYZ"]).err().unwrap();
        assert!(err.to_string().contains("unknown channel 'XYZ'"), "{err}");
    }
}
