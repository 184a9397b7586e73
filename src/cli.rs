//! Command-line options shared by every measuring command (`check`, `compare`,
//! `pattern analyze`, `report`): flatten [`GradeArgs`] and [`OutputArgs`] into the command's
//! clap struct and turn them into options with the loaded [`Config`]:
//!
//! ```ignore
//! #[derive(clap::Args)]
//! struct CheckArgs {
//!     inputs: Vec<PathBuf>,
//!     #[command(flatten)]
//!     grade: GradeArgs,
//!     #[command(flatten)]
//!     output: OutputArgs,
//! }
//! let grading = args.grade.options(&config)?;
//! let outputs = args.output.options(&config);
//! // measure, keeping plot data only if outputs.wants_plots(), then:
//! grade(&mut report, &grading);
//! let outcome = emit(&reports, &outputs)?;
//! ```
//!
//! Command-line values override the config file, which overrides the built-in defaults.

use crate::config::{Config, Format};
use crate::error::Result;
use crate::grade::{GradeOptions, Profile, DEFAULT_PROFILE};
use crate::media::{AudioOptions, ChannelSelect};
use crate::report::{ColorChoice, OutputOptions};
use crate::report::{MarginalPolicy, WindowPolicy};
use clap::Args;
use std::path::PathBuf;

/// Grading options.
#[derive(Args, Clone, Debug, Default)]
pub struct GradeArgs {
    /// Tolerance profile to grade against; repeat for several. One of broadcast (default,
    /// +30/-90 ms), cinema (±22), ebu-r37 (+40/-60), atsc (+15/-45), bt1359-detect
    /// (+45/-125), bt1359-accept (+90/-185).
    #[arg(long = "profile", value_name = "P")]
    pub profiles: Vec<String>,
    /// Custom limits in ms, audio early/late, e.g. +40/-60; repeatable.
    #[arg(long = "tolerance", value_name = "+A/-B", allow_hyphen_values = true)]
    pub tolerances: Vec<String>,
    /// How confident windows outside the limits count: any (one fails), stray (default:
    /// isolated strays are forgiven; outside windows back to back over two window lengths, or
    /// more than 20% of them, fail), ignore.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub window_policy: Option<WindowPolicy>,
    /// Windows with a confidence below this (0–1) are shown but not graded [default: 0.5].
    #[arg(long, value_name = "C", value_parser = parse_unit_interval)]
    pub window_confidence: Option<f64>,
    /// What a verdict whose 95% interval straddles a limit becomes: central (default: pass or
    /// fail by the central value, flagged marginal), fail, inconclusive.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub marginal: Option<MarginalPolicy>,
}

impl GradeArgs {
    /// The grading options: profiles from the command line, else from the config, else the
    /// default profile; each policy likewise.
    pub fn options(&self, config: &Config) -> Result<GradeOptions> {
        let mut profiles =
            self.profiles.iter().map(|p| Profile::parse(p)).collect::<Result<Vec<_>>>()?;
        for tolerance in &self.tolerances {
            profiles.push(Profile::parse_tolerance(tolerance)?);
        }
        if profiles.is_empty() {
            profiles = config.grade.profiles.clone();
        }
        if profiles.is_empty() {
            profiles.push(Profile::parse(DEFAULT_PROFILE)?);
        }
        let defaults = GradeOptions::default();
        Ok(GradeOptions {
            profiles,
            window_policy: self
                .window_policy
                .or(config.grade.window_policy)
                .unwrap_or(defaults.window_policy),
            window_confidence: self
                .window_confidence
                .or(config.grade.window_confidence)
                .unwrap_or(defaults.window_confidence),
            marginal: self.marginal.or(config.grade.marginal).unwrap_or(defaults.marginal),
            max_damaged_share: config.grade.max_damaged_share.unwrap_or(defaults.max_damaged_share),
        })
    }
}

fn parse_unit_interval(text: &str) -> std::result::Result<f64, String> {
    let value: f64 = text.parse().map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

/// Audio selection options shared by every command that decodes audio.
#[derive(Args, Clone, Debug)]
pub struct AudioArgs {
    /// Which audio stream to analyse, counted among the audio streams from 0 (default: the
    /// one FFmpeg picks as best).
    #[arg(long, value_name = "N")]
    pub audio_stream: Option<usize>,
    /// Which channel to analyse: downmix (default), an index from 0, or a name such as FL, FR,
    /// FC (the dialogue channel of 5.1), LFE, SL, SR.
    #[arg(long, value_name = "CH", default_value = "downmix")]
    pub audio_channel: ChannelSelect,
}

impl AudioArgs {
    /// Decoding options at the default analysis rate.
    pub fn options(&self) -> AudioOptions {
        AudioOptions {
            stream: self.audio_stream,
            channel: self.audio_channel.clone(),
            ..AudioOptions::default()
        }
    }
}

/// Output options.
#[derive(Args, Clone, Debug, Default)]
pub struct OutputArgs {
    /// Write the JSON report to PATH, or to stdout (and nothing else there) with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<PathBuf>,
    /// Write JSON lines (one object per input) instead of an array; to stdout unless --json
    /// names a file.
    #[arg(long)]
    pub jsonl: bool,
    /// Keep the plot data (correlation curve, signals, thumbnail) in the JSON.
    #[arg(long)]
    pub json_plots: bool,
    /// Write JUnit XML (one testcase per input and profile) to PATH.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report to PATH; a directory (or a path without extension)
    /// gets index.html and one page per input.
    #[arg(long, value_name = "PATH|DIR")]
    pub html: Option<PathBuf>,
    /// Write the plots as PNG files into DIR.
    #[arg(long, value_name = "DIR")]
    pub png: Option<PathBuf>,
    /// Where the formats listed in the config's `output.formats` go (overrides `output.dir`).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Print nothing; the exit code tells the outcome.
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour the terminal verdicts.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

impl OutputArgs {
    /// The outputs to write: paths from the command line, else the config's output directory
    /// for each format it lists.
    pub fn options(&self, config: &Config) -> OutputOptions {
        let dir = self.output_dir.as_ref().or(config.output.dir.as_ref());
        let from_config = |format: Format| {
            dir.filter(|_| config.output.formats.contains(&format)).map(|d| format.default_path(d))
        };
        let json = self.json.clone().or_else(|| from_config(Format::Json));
        OutputOptions {
            json: json.or_else(|| self.jsonl.then(|| PathBuf::from("-"))),
            jsonl: self.jsonl,
            json_plots: self.json_plots || config.output.json_plots.unwrap_or(false),
            junit: self.junit.clone().or_else(|| from_config(Format::Junit)),
            html: self.html.clone().or_else(|| from_config(Format::Html)),
            png: self.png.clone().or_else(|| from_config(Format::Png)),
            quiet: self.quiet,
            color: self.color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    #[test]
    fn command_line_overrides_config_which_overrides_defaults() {
        let config = Config::parse(
            "[grade]\nprofiles = [\"cinema\"]\nwindow_policy = \"any\"\n\
             [output]\ndir = \"out\"\nformats = [\"junit\", \"html\"]\n",
        )
        .unwrap();
        let from_config = GradeArgs::default().options(&config).unwrap();
        assert_eq!(from_config.profiles[0].name, "cinema");
        assert_eq!(from_config.window_policy, WindowPolicy::Any);
        assert_eq!(from_config.marginal, MarginalPolicy::Central);

        let cli = GradeArgs {
            profiles: vec!["atsc".into()],
            tolerances: vec!["+10/-20".into()],
            window_policy: Some(WindowPolicy::Ignore),
            ..GradeArgs::default()
        };
        let from_cli = cli.options(&config).unwrap();
        let names: Vec<&str> = from_cli.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["atsc", "+10/-20"]);
        assert_eq!(from_cli.window_policy, WindowPolicy::Ignore);

        let none = GradeArgs::default().options(&Config::default()).unwrap();
        assert_eq!(none, GradeOptions::default());

        let outputs =
            OutputArgs { junit: Some("my.xml".into()), ..OutputArgs::default() }.options(&config);
        assert_eq!(outputs.junit.as_deref(), Some(Path::new("my.xml")));
        assert_eq!(outputs.html.as_deref(), Some(Path::new("out")));
        assert_eq!(outputs.json, None);
        assert!(outputs.wants_plots());
    }

    #[test]
    fn every_grade_and_output_key_of_the_config_is_honoured() {
        let config = Config::parse(
            "[grade]\nwindow_confidence = 0.8\nmarginal = \"fail\"\n\
             [output]\ndir = \"out\"\nformats = [\"json\", \"png\"]\njson_plots = true\n",
        )
        .unwrap();
        let grading = GradeArgs::default().options(&config).unwrap();
        assert_eq!((grading.window_confidence, grading.marginal), (0.8, MarginalPolicy::Fail));
        let outputs = OutputArgs::default().options(&config);
        assert_eq!(outputs.json.as_deref(), Some(Path::new("out/avsync.json")));
        assert_eq!(outputs.png.as_deref(), Some(Path::new("out/png")));
        assert!(outputs.json_plots);
        let cli = GradeArgs {
            window_confidence: Some(0.3),
            marginal: Some(MarginalPolicy::Inconclusive),
            ..GradeArgs::default()
        };
        let grading = cli.options(&config).unwrap();
        assert_eq!(
            (grading.window_confidence, grading.marginal),
            (0.3, MarginalPolicy::Inconclusive)
        );
    }

    /// A command that flattens the audio options, as the measuring commands do.
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
