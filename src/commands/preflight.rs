//! `avsync preflight`: checks the inputs of a lip-sync job against a service's published limits
//! before the job is paid for and queued. A Kling job takes minutes to queue and costs money; a
//! rejected input wastes both.
//!
//! The limits live in one table, [`TARGETS`]: a new service is a few lines there. The container
//! is judged by the file's content (an MP4 renamed `.mov` is an MP4), and a disagreement with
//! the extension is pointed out.

use super::preflight_faces::{self, SoundPlacement};
use crate::batch::summary::Row;
use crate::batch::{BatchResult, Columns, Job, Runner};
use crate::error::{Error, Result};
use crate::features::face::FaceAppearance;
use crate::media::{self, MediaInfo};
use crate::report::{escape_control, xml_escape, Outcome};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Version tag of the preflight JSON.
pub const SCHEMA: &str = "avsync-preflight/1";

/// The services' "MB" is taken as 10^6 bytes: the stricter reading, so that a file that passes
/// here is not refused there.
const MB: u64 = 1_000_000;

/// What one input of a job must satisfy. `None` means no limit.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Containers accepted, by content: `mp4`, `mov`, `mp3`, `wav`, `ogg`, `m4a`, `aac`, ...
    pub formats: Option<&'static [&'static str]>,
    pub max_bytes: Option<u64>,
    pub min_duration_s: Option<f64>,
    pub max_duration_s: Option<f64>,
    /// Bounds on both the width and the height of the picture, in pixels.
    pub min_side_px: Option<u32>,
    pub max_side_px: Option<u32>,
}

impl Limits {
    const NONE: Limits = Limits {
        formats: None,
        max_bytes: None,
        min_duration_s: None,
        max_duration_s: None,
        min_side_px: None,
        max_side_px: None,
    };
}

/// A lip-sync service and its input limits.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub name: &'static str,
    pub description: &'static str,
    pub video: Limits,
    /// Limits for the separate audio file; `None` when the service takes none.
    pub audio: Option<Limits>,
    /// The video must show a clear frontal face.
    pub frontal_face: bool,
    /// The sound is placed by `sound_insert_time`, `sound_start_time` and `sound_end_time`
    /// (the Kling API), with the rules of [`preflight_faces::sound_rules`].
    pub sound_placement: bool,
}

/// The services, from their published API limits.
pub const TARGETS: &[Target] = &[
    Target {
        name: "kling-fal",
        description: "Kling lip-sync on fal.ai (fal-ai/kling-video/lipsync/audio-to-video)",
        video: Limits {
            formats: Some(&["mp4", "mov"]),
            max_bytes: Some(100 * MB),
            min_duration_s: Some(2.0),
            max_duration_s: Some(10.0),
            min_side_px: Some(720),
            max_side_px: Some(1920),
        },
        audio: Some(Limits {
            formats: Some(&["mp3", "wav", "ogg", "m4a", "aac"]),
            max_bytes: Some(5 * MB),
            min_duration_s: Some(2.0),
            max_duration_s: Some(60.0),
            ..Limits::NONE
        }),
        frontal_face: false,
        sound_placement: false,
    },
    Target {
        name: "kling-api",
        description: "Kling official API (identify-face + advanced lip-sync)",
        video: Limits {
            formats: Some(&["mp4", "mov"]),
            max_bytes: Some(100 * MB),
            min_duration_s: Some(2.0),
            max_duration_s: Some(60.0),
            min_side_px: Some(512),
            max_side_px: Some(2160),
        },
        audio: Some(Limits {
            formats: Some(&["mp3", "wav", "m4a", "aac"]),
            max_bytes: Some(5 * MB),
            min_duration_s: Some(2.0),
            max_duration_s: Some(60.0),
            ..Limits::NONE
        }),
        frontal_face: false,
        sound_placement: true,
    },
    Target {
        name: "useapi",
        description: "useapi.net Kling lip-sync endpoint",
        video: Limits { max_duration_s: Some(60.0), ..Limits::NONE },
        audio: None,
        frontal_face: true,
        sound_placement: false,
    },
];

/// The target called `name`, or a usage error listing the known ones.
pub fn target(name: &str) -> Result<&'static Target> {
    TARGETS.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        Error::usage(format!("unknown target '{name}': use one of {}", names.join(", ")))
    })
}

/// The outcome of one rule on a measured value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleCheck {
    pub status: Status,
    /// What was measured, in words with units.
    pub measured: String,
    /// The measured number, in `unit`, for programs (absent for a format or an unchecked
    /// rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The unit of `value`: `s`, `bytes`, `px` or `share` (0–1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The rule could not be checked (no AUDIO given, or no face detector yet).
    NotChecked,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// `video` or `audio`.
    pub input: Cow<'static, str>,
    /// `format`, `size`, `duration`, `width`, `height`, `fits_video`, `frontal_face`, or with a
    /// sound placement `sound_crop`, `insert_range` and `face_overlap`.
    pub rule: Cow<'static, str>,
    /// The limit in words, e.g. `2–10 s`.
    pub limit: String,
    #[serde(flatten)]
    pub check: RuleCheck,
}

impl Rule {
    /// The rule as people read it: `frontal face`, `fits video` (JSON keeps the key).
    pub fn label(&self) -> String {
        self.rule.replace('_', " ")
    }
}

/// The preflight of one job (JSON as written; read back by a batch's `--resume`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Preflight {
    pub schema: Cow<'static, str>,
    pub target: Cow<'static, str>,
    pub description: Cow<'static, str>,
    pub video: String,
    pub audio: Option<String>,
    /// The faces found, most seen first, when a rule needed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces: Option<Vec<FaceAppearance>>,
    pub rules: Vec<Rule>,
    /// `pass` when no rule failed, `fail` when one did, `error` when the inputs could not be
    /// checked (in a batch; see `error`).
    pub verdict: Outcome,
    /// Why the job could not be checked (a batch's error row; a single job fails instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Preflight {
    /// The process exit code: 0 when no rule failed, 1 otherwise, 4 for an error.
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
    }

    /// The stand-in for a job whose inputs could not be checked.
    fn error(video: String, reason: String) -> Preflight {
        Preflight {
            schema: SCHEMA.into(),
            target: Cow::Borrowed(""),
            description: Cow::Borrowed(""),
            video,
            audio: None,
            faces: None,
            rules: Vec::new(),
            verdict: Outcome::Error,
            error: Some(reason),
        }
    }

    /// The failed rules, as `video duration, audio size`.
    pub fn failed_rules(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.check.status == Status::Fail)
            .map(|r| format!("{} {}", r.input, r.label()))
            .collect()
    }
}

impl BatchResult for Preflight {
    fn error(input: String, reason: String) -> Self {
        Preflight::error(input, reason)
    }
    fn input(&self) -> &str {
        &self.video
    }
    fn outcome(&self) -> Outcome {
        self.verdict
    }
    fn json_line(&self, _plots: bool) -> Result<String> {
        serde_json::to_string(self)
            .map(|line| line + "\n")
            .map_err(|e| Error::Processing(format!("cannot serialise the preflight: {e}")))
    }
    fn row(&self, _expected_offset_ms: Option<f64>, saved: Option<&Path>, summary: &Path) -> Row {
        let failed = self.failed_rules();
        let reason = match &self.error {
            Some(error) => error.clone(),
            None if failed.is_empty() => format!("{}: no rule failed", self.target),
            None => format!("{}: failed {}", self.target, failed.join(", ")),
        };
        Row::unmeasured(&self.video, self.verdict, reason, saved, summary)
    }
}

/// The manifest columns preflight reads: the job's separate audio (`audio_ref`) and its
/// service (`target`), in place of the command line's.
pub const MANIFEST_COLUMNS: Columns = &["audio_ref", "target"];

/// Preflights every job against its manifest row's target and audio, or else `target` and
/// `audio` from the command line (see [`Runner::run`]).
pub fn run_all(
    jobs: &[Job],
    target: Option<&str>,
    audio: Option<&Path>,
    placement: &SoundPlacement,
    runner: &Runner,
) -> Result<Vec<Preflight>> {
    // Options every job shares are checked once, before any job runs.
    if let Some(name) = target {
        self::target(name)?;
    }
    runner.run(jobs, "preflighting", |job| {
        let name = job.target.as_deref().or(target).ok_or_else(|| {
            Error::usage("no target: give --target, or a target column in the manifest")
        })?;
        run(self::target(name)?, &job.input, job.audio_ref.as_deref().or(audio), placement)
    })
}

/// Extensions of audio-only files: a second path with one of them in `preflight VIDEO AUDIO`
/// is the job's audio, not a second video.
const AUDIO_EXTENSIONS: [&str; 12] =
    ["wav", "mp3", "m4a", "aac", "flac", "ogg", "oga", "opus", "wma", "aif", "aiff", "caf"];

/// Takes the job's audio out of `inputs` for the one-job form `preflight VIDEO AUDIO`: two
/// paths, the second an audio file by its extension, and no `--audio`.
pub fn take_audio_argument(
    inputs: &mut Vec<std::path::PathBuf>,
    audio: &mut Option<std::path::PathBuf>,
) {
    let is_audio = |path: &Path| {
        path.extension().is_some_and(|e| {
            AUDIO_EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str())
        })
    };
    if let ([_, second], None) = (inputs.as_slice(), &audio) {
        if is_audio(second) {
            *audio = inputs.pop();
        }
    }
}

/// Checks `video` (and `audio`, when given) against `target`; the face tracker runs when a
/// rule needs the faces.
pub fn run(
    target: &'static Target,
    video: &Path,
    audio: Option<&Path>,
    placement: &SoundPlacement,
) -> Result<Preflight> {
    if placement.is_given() && !target.sound_placement {
        return Err(Error::usage(format!(
            "--sound-insert-time, --sound-start-time and --sound-end-time are the Kling API's \
             (target kling-api), not {}'s",
            target.name
        )));
    }
    // Both inputs are checked before either is used, so that an error names the right file.
    let video_info = media::probe(video)?;
    if let Some(path) = audio {
        media::check_readable_file(path)?;
    }
    if video_info.analysed_video.is_none() {
        return Err(Error::input(video, "has no video stream"));
    }
    let mut rules = limit_rules("video", &target.video, &video_info);
    // A given AUDIO is always probed and checked, whether or not the target limits it alone.
    let audio_info = match audio {
        Some(path) => {
            let info = media::probe(path)?;
            if info.analysed_audio.is_none() {
                return Err(Error::input(path, "has no audio stream"));
            }
            Some(info)
        }
        None => None,
    };
    if let Some(limits) = &target.audio {
        match &audio_info {
            Some(info) => rules.extend(limit_rules("audio", limits, info)),
            None => rules.extend(
                limit_rules("audio", limits, &video_info)
                    .into_iter()
                    .map(|rule| Rule { check: not_checked("no AUDIO given"), ..rule }),
            ),
        }
    }
    rules.push(Rule {
        input: "audio".into(),
        rule: "fits_video".into(),
        limit: "no longer than the video".to_string(),
        check: match &audio_info {
            // The service plays only the cropped sound, placed as the rules below check.
            Some(_) if placement.is_given() => not_checked("the sound placement's rules apply"),
            Some(info) => fits_video(info, &video_info),
            None => not_checked("no AUDIO given"),
        },
    });
    let faces = if target.frontal_face || placement.is_given() {
        Some(preflight_faces::find_faces(video)?)
    } else {
        None
    };
    if target.frontal_face {
        rules.push(Rule {
            input: "video".into(),
            rule: "frontal_face".into(),
            limit: "a clear frontal face".to_string(),
            check: preflight_faces::frontal_face(faces.as_deref().unwrap_or_default()),
        });
    }
    if placement.is_given() {
        let video_ms = video_info.duration_s.unwrap_or(0.0) * 1000.0;
        let audio_ms = audio
            .zip(audio_info.as_ref().and_then(|i| i.duration_s))
            .map(|(path, s)| (path, s * 1000.0));
        rules.extend(preflight_faces::sound_rules(
            placement,
            (video, video_ms),
            audio_ms,
            faces.as_deref().unwrap_or_default(),
        )?);
    }
    let verdict = if rules.iter().any(|r| r.check.status == Status::Fail) {
        Outcome::Fail
    } else {
        Outcome::Pass
    };
    Ok(Preflight {
        schema: SCHEMA.into(),
        target: target.name.into(),
        description: target.description.into(),
        video: video.display().to_string(),
        audio: audio.map(|a| a.display().to_string()),
        faces,
        rules,
        verdict,
        error: None,
    })
}

pub(crate) fn not_checked(why: &str) -> RuleCheck {
    RuleCheck {
        status: Status::NotChecked,
        measured: "-".to_string(),
        value: None,
        unit: None,
        note: Some(why.to_string()),
    }
}

pub(crate) fn judged(pass: bool, measured: String) -> RuleCheck {
    RuleCheck {
        status: if pass { Status::Pass } else { Status::Fail },
        measured,
        value: None,
        unit: None,
        note: None,
    }
}

/// A judged number: `value` in `unit`, shown as `measured`.
pub(crate) fn judged_value(
    pass: bool,
    measured: String,
    value: f64,
    unit: &'static str,
) -> RuleCheck {
    RuleCheck { value: Some(value), unit: Some(unit.into()), ..judged(pass, measured) }
}

/// The audio may run at most this much (s) past the video: a frame's worth of AAC padding.
const FIT_TOLERANCE_S: f64 = 0.05;

/// Whether the audio fits the video: a lip-sync job animates the video for as long as the
/// audio runs, and audio longer than the video is refused or cut off.
fn fits_video(audio: &MediaInfo, video: &MediaInfo) -> RuleCheck {
    match (audio.duration_s, video.duration_s) {
        (Some(a), Some(v)) => {
            let mut check =
                judged_value(a <= v + FIT_TOLERANCE_S, format!("{a:.2} s of audio"), a, "s");
            check.note = Some(format!("the video runs {v:.2} s"));
            check
        }
        _ => judged(false, "unknown".to_string()),
    }
}

/// The rules `limits` set, judged on the probed file.
fn limit_rules(input: &'static str, limits: &Limits, info: &MediaInfo) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut rule = |rule: &'static str, limit: String, check: RuleCheck| {
        rules.push(Rule { input: input.into(), rule: rule.into(), limit, check });
    };
    if let Some(formats) = limits.formats {
        let accepted = formats.contains(&info.format.as_str())
            // An audio-only MP4 is an M4A whatever its brand says.
            || (info.format == "mp4" && info.analysed_video.is_none() && formats.contains(&"m4a"));
        let mut check = judged(accepted, info.format.to_uppercase());
        check.note = media::extension_mismatch(info);
        rule("format", formats.join(", "), check);
    }
    if let Some(max) = limits.max_bytes {
        let measured = format!("{} ({} bytes)", megabytes(info.size_bytes), info.size_bytes);
        let limit = format!("at most {} MB", max as f64 / MB as f64);
        let bytes = info.size_bytes as f64;
        rule("size", limit, judged_value(info.size_bytes <= max, measured, bytes, "bytes"));
    }
    if limits.min_duration_s.is_some() || limits.max_duration_s.is_some() {
        let limit = range_words(limits.min_duration_s, limits.max_duration_s, "s");
        let check = match info.duration_s {
            Some(d) => judged_value(
                limits.min_duration_s.is_none_or(|min| d >= min)
                    && limits.max_duration_s.is_none_or(|max| d <= max),
                format!("{d:.2} s"),
                d,
                "s",
            ),
            None => judged(false, "unknown".to_string()),
        };
        rule("duration", limit, check);
    }
    if limits.min_side_px.is_some() || limits.max_side_px.is_some() {
        let limit =
            range_words(limits.min_side_px.map(f64::from), limits.max_side_px.map(f64::from), "px");
        let (width, height, rotated) = displayed_size(info);
        for (name, value) in [("width", width), ("height", height)] {
            let mut check = judged_value(
                limits.min_side_px.is_none_or(|min| value >= min)
                    && limits.max_side_px.is_none_or(|max| value <= max),
                format!("{value} px"),
                f64::from(value),
                "px",
            );
            if rotated {
                check.note = Some("as displayed (the stream carries a rotation)".to_string());
            }
            rule(name, limit.clone(), check);
        }
    }
    rules
}

/// The analysed video's width and height as displayed (swapped for a quarter-turn rotation).
fn displayed_size(info: &MediaInfo) -> (u32, u32, bool) {
    let Some(video) = info.analysed_video.and_then(|i| info.streams[i].video.as_ref()) else {
        return (0, 0, false);
    };
    let quarter_turn = video.rotation_deg.is_some_and(|r| (r.abs() - 90.0).abs() < 1.0);
    if quarter_turn {
        (video.height, video.width, true)
    } else {
        (video.width, video.height, false)
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / MB as f64)
}

/// `2–10 s`, `at least 2 s`, `at most 60 s`.
fn range_words(min: Option<f64>, max: Option<f64>, unit: &str) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min}–{max} {unit}"),
        (Some(min), None) => format!("at least {min} {unit}"),
        (None, Some(max)) => format!("at most {max} {unit}"),
        (None, None) => "any".to_string(),
    }
}

/// Human-readable preflight output: one line per rule, then the verdict.
pub fn render_text(preflight: &Preflight) -> String {
    let mut out = String::new();
    if let Some(error) = &preflight.error {
        let _ = writeln!(out, "preflight {}", escape_control(&preflight.video));
        let _ = writeln!(out, "ERROR: {}", escape_control(error));
        return out;
    }
    let _ = writeln!(out, "preflight {}: {}", preflight.target, preflight.description);
    let _ = writeln!(out, "  video  {}", escape_control(&preflight.video));
    if let Some(audio) = &preflight.audio {
        let _ = writeln!(out, "  audio  {audio}");
    }
    match preflight.faces.as_deref() {
        Some([]) => {
            let _ = writeln!(out, "  faces  none found");
        }
        Some(faces) => {
            for face in faces {
                let _ = writeln!(
                    out,
                    "  face {}  {:.0}–{:.0} ms, seen in {:.0}% of the frames, {:.0}% of the \
                     frame tall, yaw {:.0}°, pitch {:.0}°, frontal in {:.0}% of its frames",
                    face.track,
                    face.start_ms,
                    face.end_ms,
                    face.seen_share * 100.0,
                    face.height_share * 100.0,
                    face.median_yaw_deg,
                    face.median_pitch_deg,
                    face.frontal_share * 100.0
                );
            }
        }
        None => {}
    }
    for rule in &preflight.rules {
        let status = match rule.check.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotChecked => "NOT CHECKED",
        };
        let _ = write!(
            out,
            "  {status:<11}  {} {:<13}  {:<28}  limit: {}",
            rule.input,
            rule.label(),
            rule.check.measured,
            rule.limit
        );
        if let Some(note) = &rule.check.note {
            let _ = write!(out, "  ({note})");
        }
        out.push('\n');
    }
    let failed = preflight.failed_rules();
    let unchecked = preflight.rules.iter().filter(|r| r.check.status == Status::NotChecked).count();
    let mut verdict = if failed.is_empty() {
        "PASS: no rule failed".to_string()
    } else {
        format!(
            "FAIL: {} of {} rules failed ({})",
            failed.len(),
            preflight.rules.len(),
            failed.join(", ")
        )
    };
    if unchecked > 0 {
        let _ = write!(verdict, "; {unchecked} not checked");
    }
    let _ = writeln!(out, "{verdict}");
    out
}

/// JUnit XML: a testsuite per job, named after the target and the video, with one testcase
/// per rule; a failed rule is a `<failure>`, an unchecked one `<skipped>`, and a job that could
/// not be checked one `<error>` testcase.
pub fn render_junit(preflights: &[Preflight]) -> String {
    let count = |status: Status| {
        preflights.iter().flat_map(|p| &p.rules).filter(|r| r.check.status == status).count()
    };
    let errors = preflights.iter().filter(|p| p.error.is_some()).count();
    let tests = preflights.iter().map(|p| p.rules.len()).sum::<usize>() + errors;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"avsync preflight\" tests=\"{tests}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\">",
        count(Status::Fail),
        count(Status::NotChecked)
    );
    for preflight in preflights {
        write_junit_suite(&mut xml, preflight);
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn write_junit_suite(xml: &mut String, preflight: &Preflight) {
    let count =
        |status: Status| preflight.rules.iter().filter(|r| r.check.status == status).count();
    let target = xml_escape(&preflight.target);
    let errors = usize::from(preflight.error.is_some());
    let _ = writeln!(
        xml,
        "  <testsuite name=\"preflight {target}: {}\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\">",
        xml_escape(&preflight.video),
        preflight.rules.len() + errors,
        count(Status::Fail),
        count(Status::NotChecked)
    );
    if let Some(error) = &preflight.error {
        let _ = writeln!(
            xml,
            "    <testcase classname=\"avsync.preflight.{target}\" name=\"inputs\">\
             <error message=\"{}\" type=\"input\"/></testcase>",
            xml_escape(error)
        );
    }
    for rule in &preflight.rules {
        let message = xml_escape(&format!(
            "{}; limit: {}{}",
            rule.check.measured,
            rule.limit,
            rule.check.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
        ));
        let _ = write!(
            xml,
            "    <testcase classname=\"avsync.preflight.{target}\" name=\"{} {}\">",
            rule.input,
            rule.label()
        );
        match rule.check.status {
            Status::Pass => {}
            Status::Fail => {
                let _ = write!(xml, "<failure message=\"{message}\" type=\"limit\"/>");
            }
            Status::NotChecked => {
                let _ = write!(xml, "<skipped message=\"{message}\"/>");
            }
        }
        xml.push_str("</testcase>\n");
    }
    xml.push_str("  </testsuite>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_unique_name_and_some_video_rule() {
        for (i, t) in TARGETS.iter().enumerate() {
            assert!(TARGETS[i + 1..].iter().all(|o| o.name != t.name), "{} twice", t.name);
            let v = &t.video;
            assert!(
                v.formats.is_some() || v.max_bytes.is_some() || v.max_duration_s.is_some(),
                "{} has no video limits",
                t.name
            );
        }
        assert!(target("kling-fal").is_ok());
        let err = target("kling").unwrap_err().to_string();
        assert!(err.contains("kling-fal, kling-api, useapi"), "{err}");
    }

    #[test]
    fn ranges_read_in_words() {
        assert_eq!(range_words(Some(2.0), Some(10.0), "s"), "2–10 s");
        assert_eq!(range_words(None, Some(60.0), "s"), "at most 60 s");
        assert_eq!(range_words(Some(720.0), Some(1920.0), "px"), "720–1920 px");
    }
}
