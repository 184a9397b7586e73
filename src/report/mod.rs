//! The one report every mode produces, and its renderings.
//!
//! `Report` is what JSON readers see (schema `avsync/1`, see design.md); text and the other
//! formats are rendered from it, so every output says the same thing.
//!
//! The data model (`Report` here, each mode's details in `content`, `pattern` and `reference`,
//! the rules it was graded under in `grading`) sits below both the estimators that fill it in
//! and the renderers (`text`, `output`, `junit`, `html`, `charts`) that draw it, and imports
//! neither.

mod charts;
mod content;
mod grading;
mod html;
mod junit;
mod output;
mod pattern;
mod plots;
mod reference;
mod text;

pub use content::{
    describe_face, Calibration, CalibrationUsed, ContentDetails, FacePosition, Span,
};
pub use grading::{GradePolicy, MarginalPolicy, WindowPolicy, DEFAULT_WINDOW_CONFIDENCE};
pub use html::{render_html_page, write_html};
pub(crate) use junit::escape as xml_escape;
pub use junit::render_junit;
pub use output::{
    emit, emit_with_details, render_json_line, write_text, ColorChoice, OutputOptions,
};
pub use pattern::{PatternDetails, PatternEvent};
pub use plots::{CorrelationCurve, Plots, Region, Signal, SignalPair, Thumbnail};
pub use reference::{
    ChunkVerdict, FrameEvent, FrameRateChange, FrozenSpan, Placement, ReferenceDetails, Seam,
    SeamKind, SegmentReport, Splice, SpliceKind, StitchedChunk, REFERENCE_MISSING_TOLERANCE_S,
};
pub use text::{
    describe_offset, escape_control, format_against, format_clock, format_clock_to, format_signed,
    format_uncertainty_ms, summary_line, summary_table,
};

use crate::media::{MediaHealth, MediaInfo, StreamInfo};
use serde::{Deserialize, Serialize};

/// Version tag of the JSON layout; bump when a field changes meaning or goes away.
pub const SCHEMA: &str = "avsync/1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub input: InputSummary,
    pub method: Method,
    /// Whole-clip offset in ms; `> 0` = audio early. `None` when inconclusive.
    pub offset_ms: Option<f64>,
    /// Half-width of the 95% interval around `offset_ms`, in ms.
    pub uncertainty_ms: Option<f64>,
    /// 0–1: how sure the measurement is (its meaning is documented per method).
    pub confidence: f64,
    pub drift: Option<Drift>,
    pub windows: Vec<Window>,
    pub verdicts: Vec<Verdict>,
    pub verdict: Outcome,
    /// True when `verdict` rests on a marginal grade: a profile with that result whose 95%
    /// interval reaches across a limit. CI reads the top level; a marginal pass is not clean.
    #[serde(default)]
    pub marginal: bool,
    /// Why the overall verdict is what it is, in words.
    pub reason: String,
    /// Why the measurement is inconclusive or failed a policy, as a code for programs (the
    /// words in `reason` may change; the codes do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ReasonCode>,
    pub warnings: Vec<String>,
    /// The rules the verdicts were graded under; set by [`crate::grade::grade`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<GradePolicy>,
    /// Seconds the measurement took (JUnit `time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// The data behind the HTML and PNG plots. Measuring commands fill it only when a rich
    /// output is asked for ([`OutputOptions::wants_plots`]); JSON leaves it out unless
    /// `--json-plots` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plots: Option<Plots>,
    /// Flash/beep events, pairing and frame counters (`method: pattern` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<PatternDetails>,
    /// What `compare` found against the reference audio and video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceDetails>,
    /// What `check` matched: the face, the speech, the peak and its null distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentDetails>,
    /// What the decoder met in the measured file: damaged packets skipped, concealed or
    /// dropped frames, timestamp discontinuities. Set with [`Report::set_media_health`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_health: Option<MediaHealth>,
}

impl Report {
    /// A report for `input` with nothing measured yet: inconclusive, no offset, no verdicts.
    /// Measuring commands fill it in, then call [`crate::grade::grade`].
    pub fn new(input: InputSummary, method: Method) -> Report {
        Report {
            schema: SCHEMA.to_string(),
            input,
            method,
            offset_ms: None,
            uncertainty_ms: None,
            confidence: 0.0,
            drift: None,
            windows: Vec::new(),
            verdicts: Vec::new(),
            verdict: Outcome::Inconclusive,
            marginal: false,
            reason: String::new(),
            reason_code: None,
            warnings: Vec::new(),
            pattern: None,
            reference: None,
            content: None,
            grading: None,
            elapsed_s: None,
            plots: None,
            media_health: None,
        }
    }

    /// Records the decoder's health counts and warns about every stream that met trouble;
    /// grading then decides whether the damage leaves the timing verdict trustworthy.
    pub fn set_media_health(&mut self, health: MediaHealth) {
        self.warnings.extend(health.warnings());
        self.media_health = Some(health);
    }

    /// The report for an input that could not be processed, so that a batch goes on with the
    /// other inputs: verdict `error` (exit 4, a JUnit `<error>`), `problem` as its reason.
    pub fn error(path: impl Into<String>, problem: impl Into<String>) -> Report {
        let input = InputSummary::path_only(path);
        Report {
            verdict: Outcome::Error,
            reason: problem.into(),
            ..Report::new(input, Method::Content)
        }
    }

    /// The time span the measurement covers: from the first window's start to the last
    /// window's end, or the whole duration when there are no windows.
    pub fn measured_span_s(&self) -> Option<(f64, f64)> {
        match (self.windows.first(), self.windows.last()) {
            (Some(first), Some(last)) => Some((first.start_s, last.end_s)),
            _ => self.input.duration_s.map(|d| (0.0, d)),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputSummary {
    pub path: String,
    pub duration_s: Option<f64>,
    pub video: Option<StreamInfo>,
    pub audio: Option<StreamInfo>,
    /// The separate file the audio came from (`--audio`), when not the input's own track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_path: Option<String>,
}

impl InputSummary {
    /// An input known only by its path: one that could not be read, or a test's.
    pub fn path_only(path: impl Into<String>) -> Self {
        InputSummary {
            path: path.into(),
            duration_s: None,
            video: None,
            audio: None,
            audio_path: None,
        }
    }

    /// The analysed streams of a probed file.
    pub fn from_media(info: &MediaInfo) -> Self {
        let stream = |index: Option<usize>| index.map(|i| info.streams[i].clone());
        InputSummary {
            path: info.path.clone(),
            duration_s: info.duration_s,
            video: stream(info.analysed_video),
            audio: stream(info.analysed_audio),
            audio_path: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Content,
    Reference,
    Pattern,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Content => "content",
            Method::Reference => "reference",
            Method::Pattern => "pattern",
        }
    }

    /// The command that measures this way, as a user types it.
    pub fn command(self) -> &'static str {
        match self {
            Method::Content => "check",
            Method::Reference => "compare",
            Method::Pattern => "pattern analyze",
        }
    }
}

/// Drift of 1 ppm (1 µs per s) in ms per minute: 1e-6 × 60 s × 1000 ms/s.
pub const MS_PER_MIN_PER_PPM: f64 = 0.06;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub ms_per_min: f64,
    pub ppm: f64,
    /// Half-width of the 95% interval around `ppm`.
    pub uncertainty_ppm: Option<f64>,
    /// The time (s) at which the drift line passes through the whole-clip `offset_ms`; `None`
    /// means the middle of the measured span. Grading follows this line to find where the
    /// offset leaves tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_s: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
    pub offset_ms: Option<f64>,
    pub confidence: f64,
    /// Half-width of the 95% interval around `offset_ms`, where the method knows it; grading
    /// counts a window outside a profile only when its whole interval is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty_ms: Option<f64>,
    /// Content mode: how well the lips follow the speech in this window, 0–100 whatever the
    /// offset (see `estimate::content::match_score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_score: Option<f64>,
}

/// The grade against one profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub profile: String,
    pub early_ms: f64,
    pub late_ms: f64,
    pub result: Outcome,
    pub reason: String,
    /// The offset's 95% interval reaches across a limit: the result rests on the central value
    /// (or on the marginal policy) and is not a clean pass or fail.
    #[serde(default)]
    pub marginal: bool,
    /// Indices into `windows` of the confident windows outside this profile's limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside_windows: Vec<usize>,
    /// When the drift carries the offset outside the limits: the time (s) it leaves them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves_tolerance_at_s: Option<f64>,
}

/// Why a measurement is inconclusive (or fails a policy), for programs that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Content: too little speech in the audio.
    NoSpeech,
    /// Content: no face in the video.
    NoFace,
    /// Content: a face whose mouth does not move.
    StillMouth,
    /// Content: lips and audio overlap too little to compare.
    NoOverlap,
    /// Content: the lips match the audio no better than other clips' audio does (z below the
    /// 95th percentile of unrelated audio): most likely the wrong audio or a lip-less face.
    UnrelatedAudio,
    /// Content: the lips follow the audio somewhat better than unrelated audio, but below the
    /// threshold: too little evidence to measure, not evidence of a mismatch.
    WeakEvidence,
    /// Content: the best match lies at the edge of the search range.
    SearchEdge,
    /// Pattern: no flashes or no beeps, or none near each other.
    NoEvents,
    /// Pattern: too few events pair up consistently.
    InconsistentEvents,
    /// Pattern: the offset is too large a share of the period to tell its direction.
    AmbiguousPeriod,
    /// Compare: the reference audio does not occur in the output.
    ReferenceNotFound,
    /// Compare: only part of the reference audio occurs in the output (`--require-reference`).
    ReferencePartial,
    /// Compare: the reference video does not occur in the output.
    VideoReferenceNotFound,
    /// Any mode: a stream has more damaged packets than a timing verdict allows
    /// (`grade.max_damaged_share`); set by grading over a measurement that had no code of its
    /// own, and cleared when a regrade allows the damage.
    DamagedMedia,
}

impl ReasonCode {
    /// The code as JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::NoSpeech => "no_speech",
            ReasonCode::NoFace => "no_face",
            ReasonCode::StillMouth => "still_mouth",
            ReasonCode::NoOverlap => "no_overlap",
            ReasonCode::UnrelatedAudio => "unrelated_audio",
            ReasonCode::WeakEvidence => "weak_evidence",
            ReasonCode::SearchEdge => "search_edge",
            ReasonCode::NoEvents => "no_events",
            ReasonCode::InconsistentEvents => "inconsistent_events",
            ReasonCode::AmbiguousPeriod => "ambiguous_period",
            ReasonCode::ReferenceNotFound => "reference_not_found",
            ReasonCode::ReferencePartial => "reference_partial",
            ReasonCode::VideoReferenceNotFound => "video_reference_not_found",
            ReasonCode::DamagedMedia => "damaged_media",
        }
    }
}

/// The outcome of a check; the order of severity for batches is error > fail > inconclusive >
/// pass (design.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
    Error,
}

impl Outcome {
    /// The process exit code (**fixed**: 0 pass, 1 fail, 3 inconclusive, 4 error).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Inconclusive => 3,
            Outcome::Error => 4,
        }
    }

    fn severity(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Inconclusive => 1,
            Outcome::Fail => 2,
            Outcome::Error => 3,
        }
    }

    /// The outcome that wins when several inputs are checked together.
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes.into_iter().max_by_key(|o| o.severity()).unwrap_or(Outcome::Pass)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_written_as_their_names() {
        for code in
            [ReasonCode::UnrelatedAudio, ReasonCode::AmbiguousPeriod, ReasonCode::DamagedMedia]
        {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn worst_outcome_follows_design_order() {
        use Outcome::*;
        assert_eq!(Outcome::worst([Pass, Inconclusive]), Inconclusive);
        assert_eq!(Outcome::worst([Inconclusive, Fail, Pass]), Fail);
        assert_eq!(Outcome::worst([Fail, Error]), Error);
        assert_eq!(Outcome::worst([]), Pass);
        assert_eq!([Pass, Fail, Inconclusive, Error].map(Outcome::exit_code), [0, 1, 3, 4]);
    }
}
