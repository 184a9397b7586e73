//! `avsync fix`: a file whose constant offset is corrected, not just a number.
//!
//! The audio's timestamps move against the picture's (stream copy through
//! [`media::remux::shift_audio`]): no picture or sound is re-encoded, so the fix costs no quality
//! and takes seconds. The fixed file is then measured again with the method that found the offset,
//! and graded: the exit code says whether the result is within the profiles.

use crate::cli::{GradeArgs, OutputArgs};
use crate::commands::{check, compare, pattern, report as saved};
use crate::error::{Error, Result};
use crate::features::face::FaceModels;
use crate::grade::GradeOptions;
use crate::media::{self, remux::ShiftSummary};
use crate::report::{describe_offset, Method, Report};
use std::path::{Path, PathBuf};

/// `fix` options.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["offset_ms", "from_report"])))]
pub struct FixArgs {
    /// The file whose audio is out of sync.
    pub input: PathBuf,
    /// Where to write the fixed file (never the input; the container follows the extension).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// The offset to correct, in ms, with the usual sign: > 0 the audio is early (it is moved
    /// later), < 0 late.
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    pub offset_ms: Option<f64>,
    /// Take the offset from a JSON report of `check`, `compare` or `pattern analyze` on INPUT;
    /// the fixed file is measured again the same way.
    #[arg(long, value_name = "R.json")]
    pub from_report: Option<PathBuf>,
    /// How to measure the fixed file with --offset-ms [default: content]; with --from-report
    /// the report's own method is used.
    #[arg(long, value_enum, value_name = "METHOD", conflicts_with = "from_report")]
    pub measure: Option<MeasureWith>,
    #[command(flatten)]
    pub grade: GradeArgs,
    #[command(flatten)]
    pub output_args: OutputArgs,
}

/// How the fixed file is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MeasureWith {
    /// `check`: the speech against the talking face's lips.
    Content,
    /// `pattern analyze`: a flash/beep test pattern.
    Pattern,
}

/// The offset to correct and how to measure the result.
#[derive(Clone, Debug)]
pub struct FixPlan {
    pub offset_ms: f64,
    /// Where the offset came from, in words ("--offset-ms", the report's path).
    pub source: String,
    pub verify: Verify,
}

/// The measurement run on the fixed file.
#[derive(Clone, Debug)]
pub enum Verify {
    Content,
    Pattern,
    /// `compare` against the same reference, with the same expected placement.
    Reference(Box<compare::CompareOptions>),
}

/// What `fix` did: the shift written and the fixed file measured and graded.
#[derive(Clone, Debug)]
pub struct FixOutcome {
    pub plan: FixPlan,
    pub shift: ShiftSummary,
    pub after: Report,
}

impl FixArgs {
    /// The offset and the measurement, from the command line or from the report.
    pub fn plan(&self) -> Result<FixPlan> {
        match (&self.from_report, self.offset_ms) {
            (Some(path), _) => plan_from_report(path, &self.input),
            (None, Some(offset_ms)) => Ok(FixPlan {
                offset_ms,
                source: "--offset-ms".to_string(),
                verify: match self.measure.unwrap_or(MeasureWith::Content) {
                    MeasureWith::Content => Verify::Content,
                    MeasureWith::Pattern => Verify::Pattern,
                },
            }),
            (None, None) => Err(Error::usage("give --offset-ms or --from-report")),
        }
    }
}

/// Reads the offset and its method from a saved report on `input`. Refused (input error,
/// exit 4) when the file is not a measuring report, has no offset, or measured something that
/// moving the input's own audio cannot fix.
pub fn plan_from_report(path: &Path, input: &Path) -> Result<FixPlan> {
    let reports = saved::load(path)?;
    let report = pick_report(path, &reports, input)?;
    let offset_ms = report.offset_ms.ok_or_else(|| {
        Error::input(path, format!("the report has no offset to fix: {}", report.reason))
    })?;
    let verify = match report.method {
        Method::Content if report.input.audio_path.is_some() => {
            return Err(Error::input(
                path,
                "the report measured the video against a separate audio file (--audio); fix \
                 moves the input's own audio track",
            ))
        }
        Method::Content => Verify::Content,
        Method::Pattern => Verify::Pattern,
        Method::Reference => {
            let details = report.reference.as_ref().ok_or_else(|| {
                Error::input(path, "a compare report without its reference details")
            })?;
            let mut options =
                compare::CompareOptions::new(PathBuf::new(), PathBuf::from(&details.audio_ref));
            options.video_ref = details.video_ref.as_ref().map(PathBuf::from);
            options.expected = details.expected;
            Verify::Reference(Box::new(options))
        }
    };
    Ok(FixPlan { offset_ms, source: path.display().to_string(), verify })
}

/// The report on `input` in a file of one or several reports.
fn pick_report<'a>(path: &Path, reports: &'a [Report], input: &Path) -> Result<&'a Report> {
    let same = |r: &&Report| {
        let measured = Path::new(&r.input.path);
        measured == input
            || std::fs::canonicalize(measured)
                .ok()
                .is_some_and(|m| std::fs::canonicalize(input).ok().is_some_and(|i| i == m))
    };
    match reports {
        [only] => Ok(only),
        several => several.iter().find(same).ok_or_else(|| {
            Error::input(
                path,
                format!("holds {} reports and none is about {}", several.len(), input.display()),
            )
        }),
    }
}

/// Writes `output` with the offset corrected, then measures and grades it.
pub fn run(
    input: &Path,
    output: &Path,
    plan: &FixPlan,
    grading: &GradeOptions,
) -> Result<FixOutcome> {
    // The audio is early by offset_ms: it moves later by as much.
    let shift = media::remux::shift_audio(input, output, plan.offset_ms / 1e3)?;
    let after = measure(output, &plan.verify, grading)?;
    Ok(FixOutcome { plan: plan.clone(), shift, after })
}

/// Measures `path` the way `verify` says.
fn measure(path: &Path, verify: &Verify, grading: &GradeOptions) -> Result<Report> {
    match verify {
        Verify::Content => {
            let models =
                FaceModels::shared().map_err(|e| Error::Processing(format!("face models: {e}")))?;
            check::run(path, &models, &check::CheckOptions::default(), grading)
        }
        Verify::Pattern => pattern::analyze(path, grading, false),
        Verify::Reference(options) => {
            let options =
                compare::CompareOptions { output: path.to_path_buf(), ..(**options).clone() };
            compare::run(&options, grading)
        }
    }
}

/// The lines printed above the fixed file's summary line: before, what was written, after.
pub fn render_text(outcome: &FixOutcome, output: &Path) -> String {
    let before = outcome.plan.offset_ms;
    let moved_ms = outcome.shift.audio_delay_s * 1e3;
    let after = match outcome.after.offset_ms {
        Some(ms) => format!("{} ({ms:+.1} ms)", describe_offset(ms)),
        None => format!("not measured: {}", outcome.after.reason),
    };
    let mut text = format!(
        "before: {} ({before:+.1} ms, from {})\n\
         wrote {}: audio moved {:.3} ms {} against the picture; streams copied, nothing re-encoded\n\
         after:  {after}\n",
        describe_offset(before),
        outcome.plan.source,
        output.display(),
        moved_ms.abs(),
        if moved_ms >= 0.0 { "later" } else { "earlier" },
    );
    if outcome.shift.streams_dropped > 0 {
        text.push_str(&format!(
            "  warning: {} stream(s) other than audio and video were left out\n",
            outcome.shift.streams_dropped
        ));
    }
    text
}
