//! `avsync check`: content mode. The speech in the audio against the lips of the talking face,
//! with no reference.
//!
//! One pass over each file: a decoding thread turns the audio into speech features as it goes
//! and hands the video frames (luma, [`ANALYSIS_SIDE_PX`]) through a short queue to the face
//! tracker, which runs on the rayon pool in batches while the next frames decode. Only the
//! features are kept, so memory does not grow with the clip beyond a few numbers per frame.

use crate::cli::{AudioArgs, GradeArgs, OutputArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::estimate::content::{self, ContentEstimate, ContentOptions};
use crate::features::audio::AudioFeatures;
use crate::features::face::{
    track_frames_parallel, FaceModels, LipSeries, PixelBox, TrackLinker, TrackerConfig,
};
use crate::features::speech::SpeechAnalyzer;
use crate::grade::{grade, GradeOptions};
use crate::media::{
    self, AudioChunk, AudioOptions, DecodeOptions, FrameSize, LumaFrame, MediaSink, VideoOptions,
    NO_AUDIO_IN_VIDEO,
};
use crate::report::{
    describe_offset, format_against, format_clock, format_uncertainty_ms, InputSummary, Method,
    Plots, Region, Report, Thumbnail,
};
use crate::units;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Instant;

/// Longest side of the frames the face tracker sees: the landmark model looks at a 192×192
/// crop, and the detector finds faces down to about a tenth of the frame at this size.
pub const ANALYSIS_SIDE_PX: u32 = 640;
/// Frames tracked per batch: enough for every rayon thread to take a chunk.
const BATCH_FRAMES_PER_THREAD: usize = 24;
/// Decoded frames queued ahead of the tracker.
const QUEUE_FRAMES: usize = 32;
/// A face in less than this share of the frames is worth a warning.
const LOW_FACE_SHARE: f64 = 0.5;

/// `check` options.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Clips of a person (or a lip-sync model's character) talking.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Measure the video against this audio file instead of its own track (a silent video and
    /// its driving audio); the file's first sample meets the video's time 0.
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,
    /// Offsets searched, ± this much [default: the config's analysis.search_range, else 500ms].
    #[arg(long, value_name = "DURATION", value_parser = units::parse_positive_duration_s)]
    pub search: Option<f64>,
    /// Length of the windows that show where in the clip the offset changes [default: the
    /// config's analysis.window, else 8s].
    #[arg(long, value_name = "DURATION", value_parser = units::parse_positive_duration_s)]
    pub window: Option<f64>,
    /// Step between windows.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = units::parse_positive_duration_s)]
    pub hop: f64,
    /// Which stream and channel of the audio to use.
    #[command(flatten)]
    pub audio_args: AudioArgs,
    #[command(flatten)]
    pub grade: GradeArgs,
    #[command(flatten)]
    pub output_args: OutputArgs,
}

/// What to measure and how.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    pub content: ContentOptions,
    /// External audio (`--audio`) instead of the input's own track.
    pub audio_file: Option<PathBuf>,
    /// Stream and channel of the audio (the input's or the external file's).
    pub audio: AudioOptions,
    /// Keep plot data (correlation, signals, thumbnail) in the report.
    pub plots: bool,
}

impl CheckArgs {
    /// The options: each analysis setting from the command line, else the config's
    /// `[analysis]`, else content mode's default.
    pub fn options(&self, plots: bool, config: &Config) -> CheckOptions {
        let defaults = ContentOptions::default();
        CheckOptions {
            content: ContentOptions {
                search_ms: self
                    .search
                    .map(|s| s * 1000.0)
                    .or(config.analysis.max_offset_ms)
                    .unwrap_or(defaults.search_ms),
                window_s: self.window.or(config.analysis.window_s).unwrap_or(defaults.window_s),
                hop_s: self.hop,
                ..defaults
            },
            audio_file: self.audio.clone(),
            audio: self.audio_args.options(),
            plots,
        }
    }
}

/// Checks every input, in parallel, with a progress bar on `progress` (hidden when not a
/// terminal). An input that fails gets an error report; the others go on.
pub fn run_all(
    inputs: &[PathBuf],
    options: &CheckOptions,
    grading: &GradeOptions,
    progress: &ProgressBar,
) -> Vec<Report> {
    let models = FaceModels::shared();
    progress.set_length(inputs.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{spinner} checking {pos}/{len} [{elapsed}] {wide_msg}")
            .expect("valid template"),
    );
    progress.enable_steady_tick(std::time::Duration::from_millis(200));
    let reports = inputs
        .par_iter()
        .map(|input| {
            let report = match &models {
                Ok(models) => run(input, models, options, grading),
                Err(e) => Err(Error::Processing(format!("face models: {e}"))),
            };
            progress.inc(1);
            progress.set_message(input.display().to_string());
            report.unwrap_or_else(|e| Report::error(input.display().to_string(), problem(&e)))
        })
        .collect();
    progress.finish_and_clear();
    reports
}

/// The problem of an error without the path (the report names the input).
fn problem(error: &Error) -> String {
    match error {
        Error::Input { problem, .. } => problem.clone(),
        other => other.to_string(),
    }
}

/// Measures and grades one clip.
pub fn run(
    input: &Path,
    models: &FaceModels,
    options: &CheckOptions,
    grading: &GradeOptions,
) -> Result<Report> {
    let started = Instant::now();
    let info = media::probe(input)?;
    if info.analysed_video.is_none() {
        return Err(Error::input(input, "has no video stream: check needs a face to watch"));
    }
    if options.audio_file.is_none() && info.analysed_audio.is_none() {
        return Err(Error::input(input, NO_AUDIO_IN_VIDEO));
    }
    let measured = measure(input, models, options)?;
    let estimate = content::estimate(&measured.audio, &measured.lips, &options.content);

    let mut summary = InputSummary::from_media(&info);
    if let Some(audio) = &options.audio_file {
        summary.audio_path = Some(audio.display().to_string());
        let audio_info = media::probe(audio)?;
        summary.audio = audio_info.analysed_audio.map(|i| audio_info.streams[i].clone());
    }
    let mut report = Report::new(summary, Method::Content);
    report.warnings = warnings(&estimate, &measured.lips);
    let ContentEstimate {
        offset_ms,
        uncertainty_ms,
        confidence,
        drift,
        windows,
        reason,
        reason_code,
        details,
        curve,
        signals,
    } = estimate;
    report.offset_ms = offset_ms;
    report.uncertainty_ms = uncertainty_ms;
    report.confidence = confidence;
    report.drift = drift;
    report.windows = windows;
    report.reason = reason;
    report.reason_code = reason_code;
    report.content = Some(details);
    if options.plots {
        report.plots = Some(Plots { correlation: curve, signals, thumbnail: measured.thumbnail });
    }
    report.elapsed_s = Some(started.elapsed().as_secs_f64());
    grade(&mut report, grading);
    Ok(report)
}

fn warnings(estimate: &ContentEstimate, lips: &LipSeries) -> Vec<String> {
    let mut warnings: Vec<String> = estimate
        .details
        .unmatched
        .iter()
        .map(|span| {
            format!(
                "lips do not follow the speech from {} to {}",
                format_clock(span.start_s),
                format_clock(span.end_s)
            )
        })
        .collect();
    let share = lips.face_presence();
    if share > 0.0 && share < LOW_FACE_SHARE {
        warnings.push(format!(
            "a face was seen in only {:.0}% of the frames; the rest was not measured",
            share * 100.0
        ));
    }
    if lips.tracks.len() > 1 {
        warnings.push(match estimate.details.face.as_deref() {
            Some(face) => format!(
                "{} faces were tracked; the one whose lips match the speech best was used \
                 ({face})",
                lips.tracks.len()
            ),
            None => format!(
                "{} faces were tracked; none had a moving mouth to match the speech",
                lips.tracks.len()
            ),
        });
    }
    warnings
}

/// What one pass over a clip keeps.
pub struct Measured {
    pub audio: AudioFeatures,
    pub lips: LipSeries,
    /// The frame with the mouth widest open, when plots are asked for.
    pub thumbnail: Option<Thumbnail>,
}

/// Forwards frames to the tracker and turns audio into features on the decoding thread.
struct Forward {
    frames: SyncSender<LumaFrame>,
    audio: Option<SpeechAnalyzer>,
}

impl MediaSink for Forward {
    fn video_frame(&mut self, frame: LumaFrame) -> Result<()> {
        self.frames
            .send(frame)
            .map_err(|_| Error::Processing("the face tracker stopped reading frames".into()))
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        let analyzer = match &mut self.audio {
            Some(analyzer) => analyzer,
            None => self.audio.insert(SpeechAnalyzer::new(chunk.sample_rate)?),
        };
        analyzer.push(chunk.start_s, chunk.samples);
        Ok(())
    }
}

/// Decodes `input` once: speech features of its audio (or of `--audio`) and lip features of
/// its faces.
pub fn measure(input: &Path, models: &FaceModels, options: &CheckOptions) -> Result<Measured> {
    let own_audio = options.audio_file.is_none();
    let decode = DecodeOptions {
        video: Some(VideoOptions {
            size: FrameSize::LongestSide(ANALYSIS_SIDE_PX),
            skip_loop_filter: true,
            threads: 0,
        }),
        audio: own_audio.then(|| options.audio.clone()),
    };
    let (sender, frames) = sync_channel(QUEUE_FRAMES);
    let path = input.to_path_buf();
    let decoder = std::thread::spawn(move || -> Result<Option<AudioFeatures>> {
        let mut sink = Forward { frames: sender, audio: None };
        media::decode(&path, &decode, &mut sink)?;
        sink.audio.map(SpeechAnalyzer::finish).transpose()
    });
    let tracked = track(frames, models, options.plots);
    let decoded = decoder.join().map_err(|_| Error::Processing("the decoder panicked".into()))?;
    let own_features = decoded?;
    let (lips, thumbnail) = tracked?;
    let audio = match &options.audio_file {
        Some(file) => {
            let audio = media::decode_external_audio(file, &options.audio)?;
            SpeechAnalyzer::of_samples(audio.sample_rate, audio.start_s, &audio.samples)?
        }
        None => {
            own_features.ok_or_else(|| Error::input(input, "audio stream decoded to no samples"))?
        }
    };
    if lips.is_empty() {
        return Err(Error::input(input, "video stream decoded to no frames"));
    }
    Ok(Measured { audio, lips, thumbnail })
}

/// Tracks faces in the frames as they arrive, batch by batch on the rayon pool.
fn track(
    frames: Receiver<LumaFrame>,
    models: &FaceModels,
    keep_thumbnail: bool,
) -> Result<(LipSeries, Option<Thumbnail>)> {
    let config = TrackerConfig::default();
    let threads = rayon::current_num_threads().max(1);
    let batch_len = BATCH_FRAMES_PER_THREAD * threads;
    let mut linker = TrackLinker::new();
    let mut lips = LipSeries::default();
    let mut thumbnail = None;
    let mut batch = Vec::with_capacity(batch_len);
    let mut frames = frames.into_iter().peekable();
    while frames.peek().is_some() {
        batch.clear();
        batch.extend(frames.by_ref().take(batch_len));
        let faces =
            track_frames_parallel(models, &config, &batch, BATCH_FRAMES_PER_THREAD, &mut linker)
                .map_err(|e| Error::Processing(format!("face tracking: {e}")))?;
        let widest_before = lips.widest_mouth;
        for frame in &faces {
            lips.push(frame);
        }
        if keep_thumbnail && lips.widest_mouth != widest_before {
            if let Some(view) = lips.widest_mouth {
                let frame = batch.iter().find(|f| f.pts_s == view.time_s);
                thumbnail = frame.map(|f| mouth_thumbnail(f, view.mouth_box)).transpose()?;
            }
        }
    }
    Ok((lips.finish(), thumbnail))
}

fn mouth_thumbnail(frame: &LumaFrame, mouth: PixelBox) -> Result<Thumbnail> {
    let region = Region {
        label: "mouth".to_string(),
        x: mouth.x_min.max(0.0) as u32,
        y: mouth.y_min.max(0.0) as u32,
        width: (mouth.x_max - mouth.x_min).max(1.0) as u32,
        height: (mouth.y_max - mouth.y_min).max(1.0) as u32,
    };
    Thumbnail::from_luma(frame, vec![region])
}

/// The content-specific lines printed under the summary line.
pub fn render_details(report: &Report) -> String {
    let mut out = String::new();
    let Some(d) = &report.content else { return out };
    if let Some(offset) = report.offset_ms {
        let _ = writeln!(
            out,
            "  {} ({offset:+.0} ms ±{}), lips matched with z {}",
            describe_offset(offset),
            format_uncertainty_ms(report.uncertainty_ms.unwrap_or(0.0)),
            format_against(d.z.unwrap_or(0.0), d.min_z).0
        );
    }
    if let Some(drift) = &report.drift {
        let _ = writeln!(out, "  drift {:+.1} ppm ({:+.2} ms/min)", drift.ppm, drift.ms_per_min);
    }
    if let Some(score) = d.match_score {
        let _ = writeln!(out, "  lip-sync match score {score:.0}/100");
    }
    let measured = report.windows.iter().filter(|w| w.offset_ms.is_some()).count();
    let _ = writeln!(
        out,
        "  {}; face in {:.0}% of frames; {:.1} s of speech; {}; lip lead {:.0} ms taken off",
        d.face.as_deref().unwrap_or("no face used"),
        d.face_share * 100.0,
        d.speech_s,
        content::windows_measured(measured, report.windows.len()),
        d.lip_lead_ms
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Check {
        #[command(flatten)]
        args: CheckArgs,
    }

    #[test]
    fn analysis_keys_of_the_config_are_honoured_and_the_command_line_wins() {
        let config = Config::parse("[analysis]\nwindow = \"4s\"\nsearch_range = \"1s\"\n").unwrap();
        let parse = |args: &[&str]| Check::try_parse_from(args).unwrap().args;
        let from_config = parse(&["check", "a.mp4"]).options(false, &config).content;
        assert_eq!((from_config.window_s, from_config.search_ms), (4.0, 1000.0));
        let from_cli = parse(&["check", "a.mp4", "--window", "6s", "--search", "300ms"])
            .options(false, &config)
            .content;
        assert_eq!((from_cli.window_s, from_cli.search_ms), (6.0, 300.0));
        let defaults = parse(&["check", "a.mp4"]).options(false, &Config::default()).content;
        assert_eq!(defaults, ContentOptions::default());
    }
}
