//! `avsync compare`: an output measured against the audio (and video) that went into it.

use crate::batch::{BatchArgs, Columns, Job, Runner};
use crate::cli::{AudioArgs, GradeArgs, OutputArgs};
use crate::commands::plan;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::estimate::reference::{
    align_audio_f64, align_video,
    audio::to_f64,
    curve, reference_details,
    stitched::{read_stitched, StitchedPlan},
    AudioAlignOptions, AudioAlignment, Timelines, VideoAlignOptions, VideoAlignment,
};
use crate::features::fingerprint::{Fingerprint, FingerprintSink};
use crate::grade::{grade, GradeOptions};
use crate::limits;
use crate::media::{
    self, Audio, AudioOptions, ChannelSelect, DecodeOptions, FrameSize, MediaInfo, SampleRate,
    VideoOptions,
};
use crate::report::{
    describe_offset, format_clock, format_signed, CorrelationCurve, Drift, InputSummary, Method,
    Placement, Plots, ReasonCode, ReferenceDetails, Report, SeamKind, Signal, SignalPair, Window,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Longest side of the frames fingerprinted: the fingerprint is 32×32 cells, and scaling in
/// the decoder to this size first is much cheaper than scaling full frames in Rust.
const FINGERPRINT_SOURCE_SIDE: u32 = 128;

/// Most samples of each signal (output, reference) that compare holds: about 12 bytes each in
/// the alignment, so the two signals of any length stay under 300 MB. Longer audio is
/// compared at a lower rate (see [`analysis_rate`]).
const MAX_ANALYSIS_SAMPLES: f64 = 12e6;
/// The rates longer audio is compared at, highest first.
const REDUCED_RATES_HZ: [u32; 9] =
    [32_000, 24_000, 16_000, 12_000, 8_000, 6_000, 4_000, 3_000, 2_000];

/// The rate to compare at: the output's own, unless `longest_s` of audio at that rate would
/// exceed [`MAX_ANALYSIS_SAMPLES`]; then the highest of [`REDUCED_RATES_HZ`] that fits (the
/// lowest for audio longer than that allows: 100 minutes at 2 kHz).
pub fn analysis_rate(native_hz: u32, longest_s: f64) -> u32 {
    if f64::from(native_hz) * longest_s <= MAX_ANALYSIS_SAMPLES {
        return native_hz;
    }
    REDUCED_RATES_HZ
        .into_iter()
        .filter(|&r| r < native_hz)
        .find(|&r| f64::from(r) * longest_s <= MAX_ANALYSIS_SAMPLES)
        .unwrap_or(REDUCED_RATES_HZ[REDUCED_RATES_HZ.len() - 1].min(native_hz))
}

#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub output: PathBuf,
    pub audio_ref: PathBuf,
    pub video_ref: Option<PathBuf>,
    /// Where the reference audio was meant to go in the output.
    pub expected: Placement,
    pub audio: AudioAlignOptions,
    pub video: VideoAlignOptions,
    /// Which of the output's audio streams to use (default: FFmpeg's best).
    pub output_stream: Option<usize>,
    /// Which channel of the output's audio to use.
    pub output_channel: ChannelSelect,
    /// The whole reference audio must play in the output (`--require-reference`).
    pub require_reference: bool,
    /// Keep plot data (correlation curve, audio envelopes) in the report.
    pub plots: bool,
    /// The plan a stitched output was made from (`--plan`).
    pub stitched: Option<StitchedPlan>,
}

impl CompareOptions {
    pub fn new(output: PathBuf, audio_ref: PathBuf) -> Self {
        CompareOptions {
            output,
            audio_ref,
            video_ref: None,
            expected: Placement::default(),
            audio: AudioAlignOptions::default(),
            video: VideoAlignOptions::default(),
            output_stream: None,
            output_channel: ChannelSelect::Downmix,
            require_reference: false,
            plots: false,
            stitched: None,
        }
    }
}

/// `compare` options.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The files that came out of the pipeline: files, globs, or directories (searched
    /// recursively for --ext files), each compared with the same references.
    #[arg(value_name = "OUTPUT", required_unless_present = "manifest")]
    pub outputs: Vec<PathBuf>,
    /// The audio that went in (any audio or video file; its audio track is used). A
    /// manifest's `audio_ref` column replaces it for its row.
    #[arg(long, value_name = "FILE", required_unless_present = "manifest")]
    pub audio_ref: Option<PathBuf>,
    /// The video that went in.
    #[arg(long, value_name = "FILE")]
    pub video_ref: Option<PathBuf>,
    /// Where the reference audio was meant to start in the output (Kling's sound_insert_time),
    /// e.g. 1s. Offsets are measured from there.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = |s: &str| limits::REF_TIME.parse(s))]
    pub ref_insert_time: f64,
    /// Where the section meant to be used starts in the reference (Kling's sound_start_time).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = |s: &str| limits::REF_TIME.parse(s))]
    pub ref_start_time: f64,
    /// Length of the analysis windows the output audio is cut into (500 ms to 60 s)
    /// [default: the config's analysis.window, else 2s].
    #[arg(long, value_name = "DURATION", value_parser = |s: &str| limits::COMPARE_WINDOW.parse(s))]
    pub window: Option<f64>,
    /// Fail when the output lacks the reference audio or plays only part of it (from
    /// --ref-start-time to its end), rather than calling a missing reference inconclusive.
    #[arg(long)]
    pub require_reference: bool,
    /// The plan a stitched output was made from (`avsync plan --json`): each chunk is measured
    /// on its own (offset, drift, a verdict per profile) and each joint's jump is reported.
    /// The plan's times are the output's.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Which stream and channel of the output to compare.
    #[command(flatten)]
    pub audio: AudioArgs,
    #[command(flatten)]
    pub grade: GradeArgs,
    #[command(flatten)]
    pub output_args: OutputArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
}

/// The manifest columns `compare` reads besides `input`.
pub const MANIFEST_COLUMNS: Columns = &["audio_ref", "video_ref", "profile", "expected_offset_ms"];

impl CompareArgs {
    /// The options shared by every job, their files left for [`CompareOptions::for_job`] to
    /// fill: the window from the command line, else the config's `analysis.window`, else 2 s.
    /// (`analysis.search_range` does not apply: the whole reference is searched.) A config
    /// window outside `--window`'s bounds is a usage error. `plots` keeps the plot data
    /// ([`crate::report::OutputOptions::wants_plots`]).
    pub fn options(&self, plots: bool, config: &Config) -> Result<CompareOptions> {
        let mut options = CompareOptions::new(PathBuf::new(), PathBuf::new());
        options.expected =
            Placement { output_start_s: self.ref_insert_time, ref_start_s: self.ref_start_time };
        // Checked only when used: a command-line --window overrides a config value that
        // suits the other command.
        let config_window =
            config.analysis.window_for("compare", limits::COMPARE_WINDOW, self.window)?;
        options.audio.window_s = self.window.or(config_window).unwrap_or(options.audio.window_s);
        let selection = self.audio.options();
        options.output_stream = selection.stream;
        options.output_channel = selection.channel;
        options.require_reference = self.require_reference;
        options.plots = plots;
        options.stitched = self.plan.as_deref().map(plan::load_stitched).transpose()?;
        Ok(options)
    }
}

impl CompareOptions {
    /// These options for one job of a batch: its output, and its manifest row's references in
    /// place of the command line's.
    pub fn for_job(&self, job: &Job, args: &CompareArgs) -> Result<CompareOptions> {
        let audio_ref = job.audio_ref.as_ref().or(args.audio_ref.as_ref()).ok_or_else(|| {
            Error::input(
                &job.input,
                "has no reference audio: give --audio-ref or an audio_ref column",
            )
        })?;
        Ok(CompareOptions {
            output: job.input.clone(),
            audio_ref: audio_ref.clone(),
            video_ref: job.video_ref.clone().or_else(|| args.video_ref.clone()),
            ..self.clone()
        })
    }
}

/// Compares every job on `runner` (in parallel, each result written as it is ready); a job
/// that fails gets an error report and the others go on.
pub fn run_all(
    jobs: &[Job],
    args: &CompareArgs,
    options: &CompareOptions,
    grading: &GradeOptions,
    runner: &Runner,
) -> Result<Vec<Report>> {
    // References named on the command line serve every job: one that cannot be read fails
    // the run at once, before anything is decoded.
    for reference in args.audio_ref.iter().chain(&args.video_ref) {
        media::check_readable_file(reference)?;
    }
    runner.run(jobs, "comparing", |job| run(&options.for_job(job, args)?, &job.grading(grading)?))
}

/// Measures and grades the output against its references.
pub fn run(options: &CompareOptions, grading: &GradeOptions) -> Result<Report> {
    let started = Instant::now();
    // Every input is read before any is decoded, so that an error names the right file at once
    // (the output's first when both are bad). Both stay open for their decode. The reference is
    // probed too: its truncation and stream errors are found as the output's are (decoding
    // alone does not see a WAV cut short). The two are probed, and then decoded, side by side:
    // each is a few milliseconds of FFmpeg's or symphonia's work on one file.
    let (output, reference) =
        rayon::join(|| media::open(&options.output), || media::open(&options.audio_ref));
    let (output, reference) = (output?, reference?);
    let (info, reference_info) = (output.info.clone(), reference.info.clone());
    if let Some(video_ref) = &options.video_ref {
        media::probe(video_ref)?;
    }
    check_placement(options, &info, &reference_info)?;
    let output_stream = match options.output_stream {
        Some(n) => info.streams.iter().filter(|s| s.audio.is_some()).nth(n).map(|s| s.index),
        None => info.analysed_audio,
    };
    let native_rate = output_stream
        .and_then(|i| info.streams[i].audio.as_ref())
        .map(|a| a.sample_rate)
        .ok_or_else(|| {
            Error::input(&options.output, "has no audio stream to compare with the reference")
        })?;
    let longest_s = info.duration_s.unwrap_or(0.0).max(reference_info.duration_s.unwrap_or(0.0));
    let rate = analysis_rate(native_rate, longest_s);
    let audio_options =
        |sample_rate| AudioOptions { sample_rate, stream: None, channel: ChannelSelect::Downmix };
    let video_options = VideoOptions {
        size: FrameSize::LongestSide(FINGERPRINT_SOURCE_SIDE),
        ..VideoOptions::default()
    };

    // The output in one pass: audio at its own rate, fingerprints when a video reference is
    // given. The reference audio at the output's rate.
    let mut sink = FingerprintSink::default();
    let decode = DecodeOptions {
        video: options.video_ref.as_ref().map(|_| video_options.clone()),
        audio: Some(AudioOptions {
            stream: options.output_stream,
            channel: options.output_channel.clone(),
            sample_rate: if rate == native_rate {
                SampleRate::Native
            } else {
                SampleRate::Hz(rate)
            },
        }),
    };
    let (health, reference_audio) = rayon::join(
        || output.decode(&decode, &mut sink),
        || reference.decode_external_audio(&audio_options(SampleRate::Hz(rate))),
    );
    let health = health?;
    let output_frames = std::mem::take(&mut sink.frames);
    let mut output_audio = sink
        .audio
        .finish()
        .ok_or_else(|| Error::input(&options.output, "audio stream decoded to no samples"))?;
    // The alignment works in f64; the f32 samples are kept only for the plots, so that long
    // audio is held once.
    let output_f64 = to_f64(&output_audio.samples);
    if !options.plots {
        output_audio.samples = Vec::new();
    }
    // The reference's timeline starts at its file's start, as when FFmpeg muxes it beside a
    // picture (an MP3's first sample is not dated at its trimmed encoder delay).
    let mut reference_audio = reference_audio?;
    let reference_length_s = reference_audio.duration_s();
    let reference_f64 = to_f64(&reference_audio.samples);
    if !options.plots {
        reference_audio.samples = Vec::new();
    }

    let audio =
        align_audio_f64(output_f64, reference_f64, output_audio.sample_rate, &options.audio);
    let video = match &options.video_ref {
        Some(path) => {
            let frames = fingerprints(path, &video_options)?;
            Some((path, align_video(&output_frames, &frames, &options.video)))
        }
        None => None,
    };
    let mut details = reference_details(
        options.audio_ref.display().to_string(),
        &audio,
        video.as_ref().map(|(p, v)| (p.display().to_string(), v)),
        Timelines {
            output_audio_start_s: output_audio.start_s,
            ref_audio_start_s: reference_audio.start_s,
        },
        options.expected,
    );
    details.set_reference_length(reference_length_s);
    details.required = options.require_reference;

    let relative_ms = |offset_s: f64| {
        (offset_s + reference_audio.start_s - output_audio.start_s - options.expected.ref_start_s
            + options.expected.output_start_s)
            * 1e3
    };
    let windows: Vec<Window> = audio
        .windows
        .iter()
        .map(|w| Window {
            start_s: w.out_start_s + output_audio.start_s,
            end_s: w.out_end_s + output_audio.start_s,
            offset_ms: w.segment.and(w.offset_s).map(relative_ms),
            confidence: w.confidence,
            uncertainty_ms: None,
            match_score: None,
        })
        .collect();
    let main = audio.main.map(|m| &audio.segments[m]);
    let drift = main.and_then(|m| {
        m.drift_ppm.map(|ppm| Drift {
            ms_per_min: ppm * 60.0 * 1e-3,
            ppm,
            uncertainty_ppm: m.drift_uncertainty_ppm,
            // The segment's offset is its line's value at its centre.
            reference_s: Some(m.centre_s + output_audio.start_s),
        })
    });
    let (offset_ms, reason, reason_code) =
        combine(&details, &audio, video.as_ref().map(|(_, v)| v));
    let mut input = InputSummary::from_media(&info);
    input.audio_path = Some(options.audio_ref.display().to_string());
    let mut report = Report::new(input, Method::Reference);
    report.offset_ms = offset_ms;
    report.uncertainty_ms = offset_ms.and(details.audio_offset_uncertainty_ms);
    report.confidence = details.audio_confidence;
    report.drift = drift;
    report.windows = windows;
    report.reason = reason;
    report.reason_code = reason_code;
    report.warnings = warnings(&details, video.as_ref().map(|(_, v)| v));
    if rate < native_rate {
        report.warnings.push(format!(
            "audio compared at {rate} Hz, not its own {native_rate} Hz: {longest_s:.0} s of \
             audio at the full rate would take more memory than avsync allows itself"
        ));
    }
    report.set_media_health(health);
    if options.plots {
        let expected = options.expected;
        report.plots = Some(plots(&output_audio, &reference_audio, &audio, expected, relative_ms));
    }
    if let Some(plan) = &options.stitched {
        (details.chunks, details.seams) = read_stitched(&report.windows, plan);
    }
    report.reference = Some(details);
    report.elapsed_s = Some(started.elapsed().as_secs_f64());
    grade(&mut report, grading);
    Ok(report)
}

/// The plot data: the GCC-PHAT curve of the most confident window, and both audio envelopes
/// with the reference where it was meant to play in the output, so that the output's audio
/// moved by the offset lines up with it. `to_report_ms` turns a `t_ref − t_out` into the
/// report's offset.
fn plots(
    output: &Audio,
    reference: &Audio,
    alignment: &AudioAlignment,
    expected: Placement,
    to_report_ms: impl Fn(f64) -> f64,
) -> Plots {
    let correlation = curve::plotted_window(alignment).and_then(|window| {
        let points = curve::window_curve(&output.samples, &reference.samples, alignment, window)?;
        let (lags_ms, scores) = points.into_iter().map(|(t, v)| (to_report_ms(t), v)).unzip();
        Some(CorrelationCurve {
            label: format!(
                "GCC-PHAT, output window {}–{}",
                format_clock(window.out_start_s + output.start_s),
                format_clock(window.out_end_s + output.start_s)
            ),
            lags_ms,
            scores,
            peak_ms: window.offset_s.map(&to_report_ms),
            noise_level: None,
        })
    });
    let rate = f64::from(output.sample_rate);
    let placed_s = reference.start_s - expected.ref_start_s + expected.output_start_s;
    let signals = SignalPair {
        audio: Signal::rms_envelope("output audio loudness", output.start_s, rate, &output.samples),
        reference: Signal::rms_envelope(
            "reference audio loudness",
            placed_s,
            f64::from(reference.sample_rate),
            &reference.samples,
        ),
    };
    Plots { correlation, signals: Some(signals), thumbnail: None }
}

/// Refuses an expected placement outside the files: a reference section that starts past the
/// end of the reference, or an insertion point past the end of the output, can only produce a
/// meaningless offset (`--ref-start-time 99999s` read as "99999000 ms late").
fn check_placement(
    options: &CompareOptions,
    output: &MediaInfo,
    reference: &MediaInfo,
) -> Result<()> {
    let checks = [
        ("--ref-start-time", options.expected.ref_start_s, reference, "reference"),
        ("--ref-insert-time", options.expected.output_start_s, output, "output"),
    ];
    for (option, time_s, file, what) in checks {
        let Some(duration_s) = file.duration_s else { continue };
        if time_s >= duration_s {
            return Err(Error::usage(format!(
                "{option} {time_s} s is past the end of the {what} {} ({duration_s:.3} s long)",
                file.path
            )));
        }
    }
    Ok(())
}

/// Fingerprints of every frame of `path`'s video.
fn fingerprints(path: &Path, video: &VideoOptions) -> Result<Vec<Fingerprint>> {
    let mut sink = FingerprintSink::default();
    let decode = DecodeOptions { video: Some(video.clone()), audio: None };
    media::decode(path, &decode, &mut sink)?;
    Ok(sink.frames)
}

/// The A/V offset the pipeline introduced, or why there is none (in words and as a code).
fn combine(
    details: &ReferenceDetails,
    audio: &crate::estimate::reference::AudioAlignment,
    video: Option<&VideoAlignment>,
) -> (Option<f64>, String, Option<ReasonCode>) {
    let Some(audio_ms) = details.audio_offset_ms else {
        return (
            None,
            format!(
                "the reference audio does not occur in the output: its best match could be \
                 chance (p = {:.2}; a match needs p ≤ {:.1e})",
                audio.best_p, audio.per_window_p
            ),
            Some(ReasonCode::ReferenceNotFound),
        );
    };
    match video {
        None => (Some(audio_ms), String::new(), None),
        Some(v) if v.still => (Some(audio_ms), String::new(), None),
        Some(v) => match details.video_offset_ms {
            Some(video_ms) => (Some(audio_ms - video_ms), String::new(), None),
            None => (
                None,
                format!(
                    "the reference video does not occur in the output: only {} of {} output \
                     frames match it",
                    v.matched_frames, v.output_frames
                ),
                Some(ReasonCode::VideoReferenceNotFound),
            ),
        },
    }
}

/// Things the reader must know beyond the offset.
fn warnings(details: &ReferenceDetails, video: Option<&VideoAlignment>) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(shortfall) = details.shortfall().filter(|_| details.audio_offset_ms.is_some()) {
        warnings.push(shortfall);
    }
    for splice in &details.splices {
        warnings.push(format!(
            "audio splice ({:?}) at {:.3} s in the output: {:.3} s",
            splice.kind, splice.output_time_s, splice.duration_s
        ));
    }
    if details.polarity_inverted {
        warnings.push("the output carries the reference audio with inverted polarity".into());
    }
    if let Some(v) = video {
        if v.still {
            warnings.push(format!(
                "the reference video is a still picture (distinctness {:.2}): its offset \
                 cannot be measured, and the video timeline is assumed kept",
                v.distinctness
            ));
        }
        let dropped: usize = v.dropped.iter().map(|e| e.frames).sum();
        let repeated: usize = v.repeated.iter().map(|e| e.frames).sum();
        if dropped + repeated > 0 {
            warnings.push(format!("video: {dropped} frame(s) dropped, {repeated} repeated"));
        }
        if !v.frozen.is_empty() {
            warnings.push(format!("video: {} frozen stretch(es)", v.frozen.len()));
        }
        if let Some(change) = v.rate_change {
            warnings.push(format!(
                "video frame rate changed from {:.3} to {:.3} fps",
                change.ref_fps, change.output_fps
            ));
        }
    }
    warnings
}

/// The compare-specific lines printed under the summary line.
pub fn render_details(report: &Report) -> String {
    let mut out = String::new();
    let Some(d) = &report.reference else { return out };
    match d.audio_offset_ms {
        Some(offset) => {
            let _ = writeln!(
                out,
                "  audio vs reference: {} ({:+.3} ms ±{:.3} ms), gain {:+.2} dB, {} Hz",
                describe_offset(offset),
                offset,
                d.audio_offset_uncertainty_ms.unwrap_or(0.0),
                d.gain_db.unwrap_or(0.0),
                d.sample_rate_hz
            );
            if let (Some(r), Some(o), Some(len)) = (d.ref_start_s, d.output_start_s, d.duration_s) {
                let _ = writeln!(
                    out,
                    "  reference from {r:.3} s plays at {o:.3} s in the output, {len:.3} s in all"
                );
            }
            if let (Some(section), Some(share)) = (d.ref_section_s, d.ref_found_share) {
                let _ = writeln!(
                    out,
                    "  {:.0}% of the {section:.3} s reference section is in the output",
                    share * 100.0
                );
            }
        }
        None => {
            let _ = writeln!(out, "  audio vs reference: not found");
        }
    }
    if let Some(drift) = &report.drift {
        let _ = writeln!(out, "  drift {:+.2} ppm ({:+.3} ms/min)", drift.ppm, drift.ms_per_min);
    }
    for chunk in &d.chunks {
        let reading = match chunk.offset_ms {
            Some(offset) => {
                format!("{} ({} ms)", describe_offset(offset), format_signed(offset, 3))
            }
            None => "no window between its cuts".to_string(),
        };
        let drift = chunk.drift.map_or(String::new(), |d| {
            let interval = d.uncertainty_ppm.map_or(String::new(), |u| format!(" ±{u:.1}"));
            format!(", drift {}{interval} ppm", format_signed(d.ppm, 1))
        });
        let grades: Vec<String> =
            chunk.verdicts.iter().map(|v| format!("{} {}", v.profile, v.result.as_str())).collect();
        let _ = writeln!(
            out,
            "  chunk {} {}–{}: {reading}{drift}{}{}",
            chunk.index,
            format_clock(chunk.start_s),
            format_clock(chunk.end_s),
            if grades.is_empty() { "" } else { ", " },
            grades.join(", ")
        );
    }
    for seam in &d.seams {
        let what = match (seam.jump_ms, seam.kind, seam.crossfade_hides) {
            (Some(jump), Some(kind), Some(hidden)) => format!(
                "jump {} ms{}{}",
                format_signed(jump, 2),
                match kind {
                    SeamKind::Clean => " (clean)".to_string(),
                    SeamKind::Gap => format!(
                        ": the later chunk's sound {:.1} ms late (a gap or a repeat)",
                        jump.abs()
                    ),
                    SeamKind::Overlap => format!(
                        ": the later chunk's sound {:.1} ms early (sound lost or overlapped)",
                        jump.abs()
                    ),
                },
                match (kind, hidden) {
                    (SeamKind::Clean, _) => "",
                    (_, true) => "; within the cross-fade",
                    (_, false) => "; longer than the cross-fade",
                }
            ),
            _ => "not measured (a chunk without an offset)".to_string(),
        };
        let _ = writeln!(
            out,
            "  seam {}|{} at {}: {what}",
            seam.after - 1,
            seam.after,
            format_clock(seam.time_s)
        );
    }
    if d.segments.len() > 1 {
        for s in &d.segments {
            let _ = writeln!(
                out,
                "  segment output {:.3}–{:.3} s = reference {:.3}–{:.3} s, {:+.3} ms",
                s.output_start_s, s.output_end_s, s.ref_start_s, s.ref_end_s, s.offset_ms
            );
        }
    }
    if let Some(video) = d.video_offset_ms {
        let _ = writeln!(
            out,
            "  video vs reference: {video:+.1} ms ({} of {} frames matched)",
            d.video_matched_frames.unwrap_or(0),
            d.video_output_frames.unwrap_or(0)
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    let _ = writeln!(out, "  {}", d.basis);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Compare {
        #[command(flatten)]
        args: CompareArgs,
    }

    #[test]
    fn the_config_window_is_honoured_and_the_command_line_wins() {
        let config = Config::parse("[analysis]\nwindow = \"4s\"\n").unwrap();
        let parse = |extra: &[&str]| {
            let mut args = vec!["compare", "out.mp4", "--audio-ref", "ref.wav"];
            args.extend_from_slice(extra);
            Compare::try_parse_from(args).unwrap().args
        };
        assert_eq!(parse(&[]).options(false, &config).unwrap().audio.window_s, 4.0);
        assert_eq!(parse(&["--window", "3s"]).options(false, &config).unwrap().audio.window_s, 3.0);
        assert_eq!(parse(&[]).options(false, &Config::default()).unwrap().audio.window_s, 2.0);
        assert!(parse(&["--require-reference"]).options(false, &config).unwrap().require_reference);
        // The config's window may suit check (up to 10 min) and still be too long for compare.
        let long = Config::parse("[analysis]\nwindow = \"5min\"\n").unwrap();
        let err = parse(&[]).options(false, &long).unwrap_err().to_string();
        assert!(err.contains("analysis.window") && err.contains("500 ms to 60 s"), "{err}");
        assert_eq!(parse(&["--window", "3s"]).options(false, &long).unwrap().audio.window_s, 3.0);
    }

    #[test]
    fn long_audio_is_compared_at_a_rate_that_fits_the_bound() {
        assert_eq!(analysis_rate(48_000, 60.0), 48_000);
        assert_eq!(analysis_rate(48_000, 600.0), 16_000);
        assert_eq!(analysis_rate(48_000, 3600.0), 3_000);
        assert_eq!(analysis_rate(44_100, 4.0 * 3600.0), 2_000);
        assert_eq!(analysis_rate(1_000, 4.0 * 3600.0), 1_000);
        for seconds in [300.0, 1000.0, 3600.0, 6000.0] {
            assert!(f64::from(analysis_rate(48_000, seconds)) * seconds <= MAX_ANALYSIS_SAMPLES);
        }
    }
}
