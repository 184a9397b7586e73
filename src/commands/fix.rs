//! `avsync fix`: a file whose offset is corrected, not just a number.
//!
//! A constant offset: the audio's timestamps move against the picture's (stream copy through
//! [`media::remux::shift_audio`]): no picture or sound is re-encoded, so the fix costs no quality
//! and takes seconds. A drift (`--drift`, from a report that measured one): the sound is played
//! at the corrected speed ([`media::remux::retime_audio`]), so the audio alone is decoded and
//! encoded again; the picture is still copied. The fixed file is then measured again with the
//! method that found the offset, and graded: the exit code says whether the result is within the
//! profiles.

use crate::cli::{GradeArgs, OutputArgs};
use crate::commands::{check, compare, pattern, report as saved};
use crate::error::{Error, Result};
use crate::features::face::FaceModels;
use crate::grade::GradeOptions;
use crate::media::{self, remux::RemuxSummary, retime::Retiming};
use crate::report::{describe_offset, format_signed, Method, Report, MS_PER_MIN_PER_PPM};
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
    /// Also correct the drift the report (--from-report) measured: the sound is played at the
    /// corrected speed, so the audio is decoded and encoded again (AAC); the picture is still
    /// copied.
    #[arg(long, conflicts_with = "offset_ms")]
    pub drift: bool,
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
    /// The drift the report measured, if it measured one.
    pub drift: Option<DriftLine>,
    /// Whether to correct the drift too (`--drift`).
    pub correct_drift: bool,
}

/// A measured drift, as the line through the offset that retiming follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriftLine {
    pub ppm: f64,
    /// Half-width of its 95% interval, where the method knows it.
    pub uncertainty_ppm: Option<f64>,
    /// The time (s) at which the line passes through the plan's offset.
    pub reference_s: f64,
    /// How long the measurement covers, in seconds.
    pub span_s: f64,
}

/// The least change of offset over the measured span that makes a drift worth correcting: a
/// retime re-encodes the audio, which a fraction of a millisecond does not justify.
pub const MIN_DRIFT_TO_CORRECT_MS: f64 = 1.0;

impl DriftLine {
    /// A drift worth correcting: its 95% interval leaves out zero (or its method gives no
    /// interval), and it moves the offset by [`MIN_DRIFT_TO_CORRECT_MS`] or more over the span.
    pub fn matters(&self) -> bool {
        let significant = self.uncertainty_ppm.is_none_or(|u| self.ppm.abs() > u);
        significant && self.ppm.abs() * 1e-6 * self.span_s * 1e3 >= MIN_DRIFT_TO_CORRECT_MS
    }

    /// "+300.0 ppm (+18.00 ms/min)", with the interval where it is known.
    fn describe(&self) -> String {
        let interval = self.uncertainty_ppm.map_or(String::new(), |u| format!(" ±{u:.1}"));
        format!(
            "{}{interval} ppm ({} ms/min)",
            format_signed(self.ppm, 1),
            format_signed(self.ppm * MS_PER_MIN_PER_PPM, 2)
        )
    }
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
    pub remux: RemuxSummary,
    pub after: Report,
}

impl FixArgs {
    /// The offset and the measurement, from the command line or from the report.
    pub fn plan(&self) -> Result<FixPlan> {
        match (&self.from_report, self.offset_ms) {
            (Some(path), _) => {
                Ok(FixPlan { correct_drift: self.drift, ..plan_from_report(path, &self.input)? })
            }
            (None, Some(offset_ms)) => Ok(FixPlan {
                offset_ms,
                source: "--offset-ms".to_string(),
                verify: match self.measure.unwrap_or(MeasureWith::Content) {
                    MeasureWith::Content => Verify::Content,
                    MeasureWith::Pattern => Verify::Pattern,
                },
                drift: None,
                correct_drift: false,
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
    let drift = report.drift.and_then(|drift| {
        let (start_s, end_s) = report.measured_span_s()?;
        Some(DriftLine {
            ppm: drift.ppm,
            uncertainty_ppm: drift.uncertainty_ppm,
            reference_s: drift.reference_s.unwrap_or((start_s + end_s) / 2.0),
            span_s: end_s - start_s,
        })
    });
    Ok(FixPlan {
        offset_ms,
        source: path.display().to_string(),
        verify,
        drift,
        correct_drift: false,
    })
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
    let remux = match plan.drift_to_correct() {
        Some(drift) => {
            let retiming = Retiming {
                offset_s: plan.offset_ms / 1e3,
                slope: drift.ppm * 1e-6,
                reference_s: drift.reference_s,
            };
            media::remux::retime_audio(input, output, &retiming)?
        }
        // The audio is early by offset_ms: it moves later by as much.
        None => media::remux::shift_audio(input, output, plan.offset_ms / 1e3)?,
    };
    let after = measure(output, &plan.verify, grading)?;
    Ok(FixOutcome { plan: plan.clone(), remux, after })
}

impl FixPlan {
    /// The drift to correct: asked for, measured, and worth it ([`DriftLine::matters`]).
    pub fn drift_to_correct(&self) -> Option<DriftLine> {
        self.drift.filter(|d| self.correct_drift && d.matters())
    }
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
    let plan = &outcome.plan;
    let remux = &outcome.remux;
    let before = plan.offset_ms;
    let drift = |line: Option<DriftLine>| {
        line.map_or(String::new(), |d| format!(", drift {}", d.describe()))
    };
    let after = match outcome.after.offset_ms {
        Some(ms) => {
            let after_drift =
                outcome.after.drift.filter(|_| plan.drift.is_some()).map(|d| DriftLine {
                    ppm: d.ppm,
                    uncertainty_ppm: d.uncertainty_ppm,
                    reference_s: 0.0,
                    span_s: 0.0,
                });
            format!("{} ({} ms){}", describe_offset(ms), format_signed(ms, 1), drift(after_drift))
        }
        None => format!("not measured: {}", outcome.after.reason),
    };
    let moved_ms = remux.audio_delay_s * 1e3;
    let moved = format!(
        "audio moved {:.3} ms {}",
        moved_ms.abs(),
        if moved_ms >= 0.0 { "later" } else { "earlier" }
    );
    let written = match (&remux.audio_encoded, plan.drift_to_correct()) {
        (Some(encoded), Some(line)) => format!(
            "{moved} at {:.1} s and played {:.1} ppm {}; audio re-encoded ({}, {} channel(s), {} Hz, {} kb/s), video copied",
            line.reference_s,
            encoded.speed_change_ppm.abs(),
            if encoded.speed_change_ppm >= 0.0 { "slower" } else { "faster" },
            encoded.codec,
            encoded.channels,
            encoded.sample_rate,
            encoded.bit_rate / 1000,
        ),
        _ => format!("{moved} against the picture; streams copied, nothing re-encoded"),
    };
    let mut text = format!(
        "before: {} ({} ms, from {}){}\n\
         wrote {}: {written}\n\
         after:  {after}\n",
        describe_offset(before),
        format_signed(before, 1),
        plan.source,
        drift(plan.drift),
        output.display(),
    );
    match plan.drift {
        Some(line) if plan.correct_drift && !line.matters() => text.push_str(&format!(
            "  note: the drift is too small to correct (not significant, or under {MIN_DRIFT_TO_CORRECT_MS} ms \
             over the measured span): only the offset was corrected\n"
        )),
        None if plan.correct_drift => text.push_str(
            "  note: the report measured no drift: only the offset was corrected\n",
        ),
        Some(line) if !plan.correct_drift && line.matters() => text.push_str(
            "  note: the drift is left as it was; --drift corrects it too (re-encoding the audio)\n",
        ),
        _ => {}
    }
    if remux.streams_dropped > 0 {
        text.push_str(&format!(
            "  warning: {} stream(s) were left out (subtitles, data{})\n",
            remux.streams_dropped,
            if remux.audio_encoded.is_some() { ", other audio tracks" } else { "" }
        ));
    }
    text
}
