//! `avsync.toml`: defaults for a CI job, overridden by the command line.
//!
//! Read from `--config PATH`, or from `avsync.toml` in the working directory when present.
//! Every key is optional:
//!
//! ```toml
//! [grade]
//! profiles = ["broadcast", "cinema", "+40/-60"]  # names or custom +early/-late limits
//! window_policy = "stray"        # any | stray | ignore
//! window_confidence = 0.5        # windows below this are not graded
//! marginal = "central"           # central | fail | inconclusive
//! max_damaged_share = 0.01       # above this share of damaged packets: inconclusive
//!
//! [analysis]
//! window = "4s"                  # length of the per-window analysis (check, compare)
//! search_range = "1s"            # offsets searched: ±1 s (check; compare searches it all)
//!
//! [output]
//! dir = "reports"                # where the formats below go by default
//! formats = ["junit", "html"]    # any of json, junit, html, png
//! json_plots = false             # keep plot data in the JSON
//! ```
//!
//! With `output.dir` and `output.formats`, a run writes `DIR/avsync.json`, `DIR/junit.xml`,
//! `DIR/index.html` with one page per input, and `DIR/png/`, unless the command line names a
//! path for that format.

use crate::error::{Error, Result};
use crate::grade::Profile;
use crate::limits::{self, DurationRange};
use crate::report::{MarginalPolicy, WindowPolicy};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file read from the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "avsync.toml";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The file it was read from; `None` when no file was found.
    pub path: Option<PathBuf>,
    pub grade: GradeConfig,
    pub analysis: AnalysisConfig,
    pub output: OutputConfig,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GradeConfig {
    /// Profiles to grade against; empty means the command line's or the default.
    pub profiles: Vec<Profile>,
    pub window_policy: Option<WindowPolicy>,
    pub window_confidence: Option<f64>,
    pub marginal: Option<MarginalPolicy>,
    /// Share (0–1) of a stream's packets that may be damaged before timing verdicts are
    /// inconclusive (`crate::media::DEFAULT_MAX_DAMAGED_SHARE` when absent).
    pub max_damaged_share: Option<f64>,
}

/// Analysis settings for the measuring commands (`check`, `compare`): each reads them as
/// `cli_value.or(config.analysis.window_s).unwrap_or(ITS_DEFAULT)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalysisConfig {
    /// Length of one analysis window, in seconds (`window = "4s"`).
    pub window_s: Option<f64>,
    /// The largest offset searched, either way, in ms (`search_range = "1s"`).
    pub max_offset_ms: Option<f64>,
}

impl AnalysisConfig {
    /// The config's window for `command`, when `--window` was not given: the config accepts
    /// any length either command takes, so it is checked here against `command`'s own `range`
    /// (a usage error outside it).
    pub fn window_for(
        &self,
        command: &str,
        range: DurationRange,
        cli_window_s: Option<f64>,
    ) -> Result<Option<f64>> {
        if cli_window_s.is_some() {
            return Ok(None);
        }
        self.window_s
            .map(|s| {
                range.check(s).map_err(|range| {
                    Error::usage(format!(
                        "the config's analysis.window ({s} s) is outside {range} of {command} --window"
                    ))
                })
            })
            .transpose()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputConfig {
    pub dir: Option<PathBuf>,
    pub formats: Vec<Format>,
    pub json_plots: Option<bool>,
}

/// A report format that `output.formats` can switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Junit,
    Html,
    Png,
}

impl Format {
    /// Where this format goes inside the output directory.
    pub fn default_path(self, dir: &Path) -> PathBuf {
        match self {
            Format::Json => dir.join("avsync.json"),
            Format::Junit => dir.join("junit.xml"),
            // A directory: index.html plus one page per input.
            Format::Html => dir.to_path_buf(),
            Format::Png => dir.join("png"),
        }
    }
}

/// The file's layout, as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    grade: RawGrade,
    #[serde(default)]
    analysis: RawAnalysis,
    #[serde(default)]
    output: RawOutput,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    #[serde(default)]
    profiles: Vec<String>,
    window_policy: Option<WindowPolicy>,
    window_confidence: Option<f64>,
    marginal: Option<MarginalPolicy>,
    max_damaged_share: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAnalysis {
    window: Option<String>,
    search_range: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    dir: Option<PathBuf>,
    #[serde(default)]
    formats: Vec<Format>,
    json_plots: Option<bool>,
}

impl Config {
    /// Reads `explicit` (an error if it cannot be read), else `avsync.toml` in the working
    /// directory if there is one, else nothing.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let default = PathBuf::from(DEFAULT_CONFIG_FILE);
                if !default.is_file() {
                    return Ok(Config::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::usage(format!("cannot read config {}: {e}", path.display())))?;
        let mut config = Config::parse(&text)
            .map_err(|problem| Error::usage(format!("config {}: {problem}", path.display())))?;
        config.path = Some(path);
        Ok(config)
    }

    /// Parses the text of a config file; the error is one line saying what and where.
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| 1 + text[..span.start].matches('\n').count());
            let message = e.message().trim().replace('\n', " ");
            match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            }
        })?;
        let profiles = raw
            .grade
            .profiles
            .iter()
            .map(|p| Profile::parse(p).map_err(|e| format!("grade.profiles: {e}")))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for (key, value) in [
            ("window_confidence", raw.grade.window_confidence),
            ("max_damaged_share", raw.grade.max_damaged_share),
        ] {
            if let Some(c) = value.filter(|c| !(0.0..=1.0).contains(c)) {
                return Err(format!("grade.{key} must be between 0 and 1, not {c}"));
            }
        }
        let duration = |key: &str, value: &Option<String>, range: DurationRange| {
            value
                .as_deref()
                .map(|text| range.parse(text))
                .transpose()
                .map_err(|e| format!("analysis.{key}: {e}"))
        };
        Ok(Config {
            path: None,
            grade: GradeConfig {
                profiles,
                window_policy: raw.grade.window_policy,
                window_confidence: raw.grade.window_confidence,
                marginal: raw.grade.marginal,
                max_damaged_share: raw.grade.max_damaged_share,
            },
            analysis: AnalysisConfig {
                window_s: duration("window", &raw.analysis.window, limits::CONFIG_WINDOW)?,
                max_offset_ms: duration(
                    "search_range",
                    &raw.analysis.search_range,
                    limits::CHECK_SEARCH,
                )?
                .map(|s| s * 1000.0),
            },
            output: OutputConfig {
                dir: raw.output.dir,
                formats: raw.output.formats,
                json_plots: raw.output.json_plots,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_parses() {
        let config = Config::parse(
            r#"
            [grade]
            profiles = ["cinema", "+40/-60"]
            window_policy = "any"
            window_confidence = 0.7
            marginal = "fail"
            [analysis]
            window = "4s"
            search_range = "500ms"
            [output]
            dir = "reports"
            formats = ["junit", "html"]
            "#,
        )
        .unwrap();
        assert_eq!(config.grade.profiles.len(), 2);
        assert_eq!(config.grade.profiles[1].early_ms, 40.0);
        assert_eq!(config.grade.window_policy, Some(WindowPolicy::Any));
        assert_eq!(config.grade.marginal, Some(MarginalPolicy::Fail));
        assert_eq!(config.analysis.window_s, Some(4.0));
        assert_eq!(config.analysis.max_offset_ms, Some(500.0));
        assert_eq!(config.output.formats, [Format::Junit, Format::Html]);
        assert_eq!(
            Format::Junit.default_path(Path::new("reports")),
            Path::new("reports/junit.xml")
        );
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let err = Config::parse("[grade]\nprofile = [\"cinema\"]\n").unwrap_err();
        assert!(err.starts_with("line 2:") && err.contains("profile"), "{err}");
        let err = Config::parse("[grade]\nprofiles = [\"tv\"]\n").unwrap_err();
        assert!(err.contains("unknown profile 'tv'"), "{err}");
        let err = Config::parse("[analysis]\nwindow = \"4\"\n").unwrap_err();
        assert!(err.contains("analysis.window") && err.contains("needs a unit"), "{err}");
        let err = Config::parse("[analysis]\nsearch_range = \"1e9s\"\n").unwrap_err();
        assert!(err.contains("analysis.search_range") && err.contains("40 ms to 10 s"), "{err}");
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }
}
