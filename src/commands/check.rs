//! `avsync check`: content mode. The speech in the audio against the lips of the talking face,
//! with no reference.
//!
//! One pass over each file: a decoding thread turns the audio into speech features as it goes
//! and hands the video frames (luma at the coded size, unscaled) through a short queue to one
//! face tracker for the clip, which runs while the next frames decode, so decoding and
//! inference overlap on two cores. The models' inputs are sampled straight from the face
//! region (or, when the detector must search, from the frame); no full frame is ever scaled. Only
//! the features are kept, so memory does not grow with the clip beyond a few numbers per
//! frame. The report's thumbnail is decoded again afterwards, in colour, at the one moment it
//! shows.

use crate::batch::{BatchArgs, Columns, Job, Runner};
use crate::cli::{AudioArgs, GradeArgs, OutputArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::estimate::content::{self, ContentEstimate, ContentOptions};
use crate::estimate::face_position::face_position;
use crate::features::audio::AudioFeatures;
use crate::features::face::{
    FaceModels, FaceObservation, FaceTracker, FrameFaces, LipSeries, LumaFrame as _, PixelBox,
    TrackId, TrackerConfig,
};
use crate::features::speech::SpeechAnalyzer;
use crate::grade::{grade, GradeOptions};
use crate::limits;
use crate::media::{
    self, AudioChunk, AudioOptions, DecodeOptions, FrameSize, LumaFrame, MediaHealth, MediaInfo,
    MediaSink, StreamHealth, VideoOptions, NO_AUDIO_IN_VIDEO,
};
use crate::report::{
    describe_face, describe_offset, format_against, format_clock, format_uncertainty_ms,
    Calibration, CalibrationUsed, FacePosition, InputSummary, Method, Plots, Region, Report,
    Thumbnail,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Instant;

/// Longest side of the report's thumbnail (the frame with the mouth widest open).
pub const THUMBNAIL_SIDE_PX: u32 = 640;
/// Decoded frames queued ahead of the tracker. The tracker is the slower stage, so the decoder
/// waits on a full queue whatever its length, and each queued frame is a full-resolution luma
/// plane (2 MB at 1080p, 8 MB at 4K). Measured on 60 s of 1080p30 (2 cores): 4 frames cost
/// 5 MB more than 2 and were no faster; 1 saves 2 MB more, at the same speed.
const QUEUE_FRAMES: usize = 1;
/// Cores the face tracker keeps busy while the decoder runs on its own thread.
const TRACKER_CORES: usize = 1;
/// A face in less than this share of the frames is worth a warning.
const LOW_FACE_SHARE: f64 = 0.5;

/// `check` options.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Clips of a person (or a lip-sync model's character) talking: files, globs, or
    /// directories (searched recursively for --ext files).
    #[arg(required_unless_present = "manifest")]
    pub inputs: Vec<PathBuf>,
    /// Measure the video against this audio file instead of its own track (a silent video and
    /// its driving audio); the file's first sample meets the video's time 0.
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,
    /// Offsets searched, ± this much (40 ms to 10 s) [default: the config's
    /// analysis.search_range, else 500ms].
    #[arg(long, value_name = "DURATION", value_parser = |s: &str| limits::CHECK_SEARCH.parse(s))]
    pub search: Option<f64>,
    /// Length of the windows that show where in the clip the offset changes (1 s to 10 min)
    /// [default: the config's analysis.window, else 8s, or 2s on clips under 15 s].
    #[arg(long, value_name = "DURATION", value_parser = |s: &str| limits::CHECK_WINDOW.parse(s))]
    pub window: Option<f64>,
    /// Step between windows (100 ms to 10 min) [default: 2s, or 500ms on clips under 15 s].
    #[arg(long, value_name = "DURATION", value_parser = |s: &str| limits::CHECK_HOP.parse(s))]
    pub hop: Option<f64>,
    /// A clip of the same speaker (or character) known to be in sync, e.g. a lip-sync job's
    /// source video with its original audio: their own lip lead is measured on it and used
    /// instead of the population's, and both readings are reported.
    #[arg(long, value_name = "CLIP")]
    pub calibrate_with: Option<PathBuf>,
    /// Which stream and channel of the audio to use.
    #[command(flatten)]
    pub audio_args: AudioArgs,
    #[command(flatten)]
    pub grade: GradeArgs,
    #[command(flatten)]
    pub output_args: OutputArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
}

/// The manifest columns `check` reads besides `input`.
pub const MANIFEST_COLUMNS: Columns = &["profile", "expected_offset_ms"];

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
    /// An in-sync clip of the same speaker to measure their lip lead on (`--calibrate-with`).
    pub calibrate_with: Option<PathBuf>,
}

impl CheckArgs {
    /// The options: each analysis setting from the command line, else the config's
    /// `[analysis]`, else content mode's default. The config's window may be as short as
    /// compare's (500 ms), which is too short for check: a usage error.
    pub fn options(&self, plots: bool, config: &Config) -> Result<CheckOptions> {
        let defaults = ContentOptions::default();
        // Checked only when used: a command-line --window overrides a config value that
        // suits the other command.
        let config_window_s =
            config.analysis.window_for("check", limits::CHECK_WINDOW, self.window)?;
        Ok(CheckOptions {
            content: ContentOptions {
                search_ms: self
                    .search
                    .map(|s| s * 1000.0)
                    .or(config.analysis.max_offset_ms)
                    .unwrap_or(defaults.search_ms),
                window_s: self.window.or(config_window_s),
                hop_s: self.hop,
                ..defaults
            },
            audio_file: self.audio.clone(),
            audio: self.audio_args.options(),
            plots,
            calibrate_with: self.calibrate_with.clone(),
        })
    }
}

/// Checks every job on `runner` (in parallel, each result written as it is ready). An input
/// that fails gets an error report; the others go on. An `--audio` file or a calibration clip
/// that cannot be read fails the run at once, before any decoding.
pub fn run_all(
    jobs: &[Job],
    options: &CheckOptions,
    grading: &GradeOptions,
    runner: &Runner,
) -> Result<Vec<Report>> {
    if let Some(audio) = &options.audio_file {
        media::check_readable_file(audio)?;
    }
    let models = FaceModels::shared();
    let calibration = match (&options.calibrate_with, &models) {
        (Some(clip), Ok(models)) => Some(calibrate(clip, models, options)?),
        _ => None,
    };
    runner.run(jobs, "checking", |job| match &models {
        Ok(models) => {
            run_calibrated(&job.input, models, options, calibration.clone(), &job.grading(grading)?)
        }
        Err(e) => Err(Error::Processing(format!("face models: {e}"))),
    })
}

/// Measures the lip lead of the speaker in `clip`, a clip known to be in sync.
pub fn calibrate(clip: &Path, models: &FaceModels, options: &CheckOptions) -> Result<Calibration> {
    let info = media::probe(clip)?;
    if info.analysed_video.is_none() || info.analysed_audio.is_none() {
        return Err(Error::input(
            clip,
            "a calibration clip needs both the talking face and its own sound",
        ));
    }
    let own = CheckOptions { audio_file: None, audio: AudioOptions::default(), ..options.clone() };
    let measured = measure(clip, &info, models, &own)?;
    let estimate = content::estimate_owned(measured.audio, &measured.lips, &options.content);
    Ok(content::calibration_from_clip(
        clip.display().to_string(),
        &estimate,
        options.content.lip_lead_ms,
    ))
}

/// Measures and grades one clip.
pub fn run(
    input: &Path,
    models: &FaceModels,
    options: &CheckOptions,
    grading: &GradeOptions,
) -> Result<Report> {
    run_calibrated(input, models, options, None, grading)
}

/// Measures and grades one clip, with the speaker's lip lead from `calibration` when given.
pub fn run_calibrated(
    input: &Path,
    models: &FaceModels,
    options: &CheckOptions,
    mut calibration: Option<Calibration>,
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
    let mut summary = InputSummary::from_media(&info);
    if let Some(audio) = &options.audio_file {
        // Probed before the video is decoded: its errors come at once and name it.
        summary.audio_path = Some(audio.display().to_string());
        let audio_info = media::probe(audio)?;
        summary.audio = audio_info.analysed_audio.map(|i| audio_info.streams[i].clone());
    }
    let Measured { audio, lips, places, thumbnail, health } =
        measure(input, &info, models, options)?;
    let population_ms = options.content.lip_lead_ms;
    let content_options = ContentOptions {
        lip_lead_ms: calibration.as_ref().map_or(population_ms, |c| c.lead_ms(population_ms)),
        ..options.content.clone()
    };
    let mut estimate = content::estimate_owned(audio, &lips, &content_options);
    estimate.details.face_position = estimate.face_track.and_then(|track| places.position(track));
    if let Some(calibration) = &mut calibration {
        content::record_readings(calibration, &estimate, population_ms);
    }

    let mut report = Report::new(summary, Method::Content);
    report.warnings = warnings(&estimate, &lips);
    if let Some(c) = calibration.as_ref().filter(|c| c.lip_lead_ms.is_none()) {
        report.warnings.push(format!(
            "the calibration clip {} could not be measured: the population's lip lead was used",
            c.clip
        ));
    }
    report.set_media_health(health);
    let ContentEstimate {
        offset_ms,
        mut uncertainty_ms,
        confidence,
        drift,
        windows,
        reason,
        reason_code,
        mut details,
        curve,
        signals,
        ..
    } = estimate;
    if let Some(calibration) = calibration {
        uncertainty_ms = offset_ms.and(calibration.used_uncertainty_ms());
        details.calibration = Some(calibration);
    }
    report.offset_ms = offset_ms;
    report.uncertainty_ms = uncertainty_ms;
    report.confidence = confidence;
    report.drift = drift;
    report.windows = windows;
    report.reason = reason;
    report.reason_code = reason_code;
    report.content = Some(details);
    if options.plots {
        report.plots = Some(Plots { correlation: curve, signals, thumbnail });
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
        let details = &estimate.details;
        warnings.push(match details.face.as_deref() {
            Some(face) => format!(
                "{} faces were tracked; the one whose lips match the speech best was used: {}",
                lips.tracks.len(),
                describe_face(face, details.face_position)
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
    /// Where each face sat in the picture.
    pub places: FacePlaces,
    /// The frame with the mouth widest open, in colour, when plots are asked for.
    pub thumbnail: Option<Thumbnail>,
    /// What the decoder met in the clip.
    pub health: MediaHealth,
}

/// Set by whichever of `measure`'s passes fails first, so that the others stop early instead of
/// decoding the rest of the file for nothing.
type Failed = AtomicBool;

/// The error of a pass that stopped because another failed; that one's error is reported.
fn stopped() -> Error {
    Error::Processing("stopped: another pass over the file failed".into())
}

/// Notes a pass's failure in `failed`.
fn noted<T>(failed: &Failed, result: Result<T>) -> Result<T> {
    if result.is_err() {
        failed.store(true, Ordering::Relaxed);
    }
    result
}

/// Forwards frames to the tracker, and the sound too when it comes in the same pass.
struct ForwardFrames<'a> {
    frames: SyncSender<LumaFrame>,
    sound: Option<Hear<'a>>,
    failed: &'a Failed,
    /// This pass stopped because another failed: its own error says nothing.
    stopped: bool,
}

impl MediaSink for ForwardFrames<'_> {
    fn video_frame(&mut self, frame: LumaFrame) -> Result<()> {
        if self.failed.load(Ordering::Relaxed) {
            self.stopped = true;
            return Err(stopped());
        }
        self.frames
            .send(frame)
            .map_err(|_| Error::Processing("the face tracker stopped reading frames".into()))
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        self.sound.as_mut().map_or(Ok(()), |sound| sound.audio_chunk(chunk))
    }
}

/// Turns decoded audio into speech features as it arrives.
struct Hear<'a> {
    analyzer: Option<SpeechAnalyzer>,
    failed: &'a Failed,
}

impl Hear<'_> {
    fn finish(self, input: &Path) -> Result<AudioFeatures> {
        let analyzer = self
            .analyzer
            .ok_or_else(|| Error::input(input, "audio stream decoded to no samples"))?;
        analyzer.finish()
    }
}

impl MediaSink for Hear<'_> {
    fn video_frame(&mut self, _: LumaFrame) -> Result<()> {
        Ok(())
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        let analyzer = match &mut self.analyzer {
            Some(analyzer) => analyzer,
            None => self.analyzer.insert(SpeechAnalyzer::new(chunk.sample_rate)?),
        };
        analyzer.push(chunk.start_s, chunk.samples);
        Ok(())
    }
}

/// The longest clip whose own sound is decoded in a pass of its own (see [`measure`]). A second
/// demuxer holds a second copy of the container's index, which grows with the clip (an MP4's:
/// 10.5 MB for 2 hours of 1080p30, about 1.5 KB a second), while the pass saves at most the
/// last utterance's recognition (under a second): a share worth having on a short clip and
/// noise on a long one.
const SOUND_PASS_APART_MAX_S: f64 = 600.0;

/// Decodes `input` (as `info` describes it) for speech features of its sound (or `--audio`'s)
/// and lip features of its faces, decoding each stream once.
///
/// A clip up to [`SOUND_PASS_APART_MAX_S`] long is read twice side by side, once for the
/// picture and once for the sound, so that the phone recogniser, which decodes its audio in
/// utterances of up to 20 s, starts at once and runs beside the picture's decoding and the
/// tracker. Interleaved with the picture, the last utterance's audio arrived with the last
/// frame and was recognised alone after it, on one core (0.8 s of 5.3 s on 60 s of 1080p;
/// all of the recognition for a clip under 20 s).
pub fn measure(
    input: &Path,
    info: &MediaInfo,
    models: &FaceModels,
    options: &CheckOptions,
) -> Result<Measured> {
    let sound_with_picture = options.audio_file.is_none()
        && info.duration_s.is_none_or(|duration_s| duration_s > SOUND_PASS_APART_MAX_S);
    let picture = DecodeOptions {
        video: Some(VideoOptions {
            size: FrameSize::Native,
            skip_loop_filter: true,
            threads: decode_threads(),
        }),
        audio: sound_with_picture.then(|| options.audio.clone()),
    };
    let failed = Failed::new(false);
    let (tracked, picture, sound_apart) = std::thread::scope(|scope| {
        let sound = (!sound_with_picture)
            .then(|| scope.spawn(|| noted(&failed, hear(input, options, &failed))));
        let (frames, received) = sync_channel(QUEUE_FRAMES);
        let decoder = scope.spawn(|| {
            let sound = sound_with_picture.then_some(Hear { analyzer: None, failed: &failed });
            let mut sink = ForwardFrames { frames, sound, failed: &failed, stopped: false };
            let health = noted(&failed, media::decode(input, &picture, &mut sink));
            (health, sink.stopped, sink.sound)
        });
        let tracked = noted(&failed, track(received, models));
        let panicked = |what: &str| Error::Processing(format!("the {what} panicked"));
        let picture = decoder.join().map_err(|_| panicked("picture's decoder"));
        let sound = sound.map(|sound| sound.join().map_err(|_| panicked("sound's decoder")));
        (tracked, picture, sound.transpose())
    });
    // The first failure is reported: the tracker's (the picture's decoder then only finds it
    // gone), the picture's unless it stopped for the sound's, then the sound's.
    let (lips, places, moment) = tracked?;
    let (picture, picture_stopped, sound_with_picture) = picture?;
    let mut health = match picture {
        Err(_) if picture_stopped => MediaHealth::default(),
        picture => picture?,
    };
    let audio = match (sound_apart?, sound_with_picture) {
        (Some(heard), _) => {
            let (audio, audio_health) = heard?;
            health.audio = audio_health;
            audio
        }
        (None, sound) => sound.expect("the sound comes with the picture").finish(input)?,
    };
    release_freed_memory();
    let thumbnail = match moment.filter(|_| options.plots) {
        Some(moment) => Some(moment.thumbnail(input)?),
        None => None,
    };
    if lips.is_empty() {
        return Err(Error::input(input, "video stream decoded to no frames"));
    }
    Ok(Measured { audio, lips, places, thumbnail, health })
}

/// The speech features of `input`'s own audio, with its decoder's health, or of `--audio`'s.
fn hear(
    input: &Path,
    options: &CheckOptions,
    failed: &Failed,
) -> Result<(AudioFeatures, Option<StreamHealth>)> {
    if let Some(file) = &options.audio_file {
        let audio = media::decode_external_audio(file, &options.audio)?;
        let features =
            SpeechAnalyzer::of_samples(audio.sample_rate, audio.start_s, &audio.samples)?;
        return Ok((features, None));
    }
    let sound = DecodeOptions { video: None, audio: Some(options.audio.clone()) };
    let mut sink = Hear { analyzer: None, failed };
    let health = media::decode(input, &sound, &mut sink)?;
    Ok((sink.finish(input)?, health.audio))
}

/// Decoding threads: the cores left beside the tracker's. FFmpeg's own choice (a frame thread
/// a core, plus one) contends with the tracker and holds a frame context per thread: on 2 cores,
/// 60 s of 1080p30 checked as fast with one decoding thread as with three, at 118 MB peak RSS
/// instead of 139 MB.
fn decode_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(TRACKER_CORES).max(1))
}

/// Hands the memory freed by the decoding threads back to the system before the estimate.
/// glibc keeps a thread's freed blocks in that thread's arena, where the estimating threads
/// cannot reuse them: without this, FFmpeg's frame pools (tens of MB at 1080p) stayed resident
/// under the estimate's own allocations.
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Tracks faces in the frames as they arrive, with one tracker for the whole clip: it runs
/// the detector only where tracking is lost (and periodically for new faces), never at chunk
/// boundaries.
/// Frames closer than this to the last tracked one are skipped: above 50 fps the lips are
/// measured on every other frame (60 fps gives 30 a second). Their features are resampled to
/// 100 Hz and smoothed over 50 ms anyway, and a 30 fps clip tracks as well; the 1 ms slack
/// keeps every frame of 50 fps with jittery timestamps.
const MIN_TRACKED_INTERVAL_S: f64 = 1.0 / 50.0 - 0.001;

/// Which frames are tracked: those at least [`MIN_TRACKED_INTERVAL_S`] after the last one kept.
#[derive(Default)]
struct FrameThinning {
    last_kept_s: Option<f64>,
}

impl FrameThinning {
    fn keep(&mut self, pts_s: f64) -> bool {
        let keep = self.last_kept_s.is_none_or(|t| (pts_s - t).abs() >= MIN_TRACKED_INTERVAL_S);
        if keep {
            self.last_kept_s = Some(pts_s);
        }
        keep
    }
}

fn track(
    frames: Receiver<LumaFrame>,
    models: &FaceModels,
) -> Result<(LipSeries, FacePlaces, Option<ThumbnailMoment>)> {
    let mut tracker = FaceTracker::new(models, TrackerConfig::default())
        .map_err(|e| Error::Processing(format!("face tracking: {e}")))?;
    let mut lips = LipSeries::default();
    let mut places = FacePlaces::default();
    let mut moment = None;
    let mut thinning = FrameThinning::default();
    for frame in frames.into_iter().filter(|f| thinning.keep(f.pts_s)) {
        let faces = tracker
            .process(&frame.luma(), frame.pts_s)
            .map_err(|e| Error::Processing(format!("face tracking: {e}")))?;
        let widest_before = lips.widest_mouth;
        lips.push(&faces);
        places.push(&faces, frame.width);
        if let Some(view) = lips.widest_mouth.filter(|_| lips.widest_mouth != widest_before) {
            let face = faces.faces.iter().find(|f| f.mouth_box == view.mouth_box);
            moment = face.map(|face| ThumbnailMoment {
                time_s: frame.pts_s,
                frame_size: (frame.width, frame.height),
                face_box: face.face_box,
                mouth_box: face.mouth_box,
            });
        }
    }
    Ok((lips.finish(), places, moment))
}

/// The moment the report's thumbnail shows: the largest face where its mouth was widest open,
/// with its boxes in the pixels of the analysed frame.
#[derive(Clone, Copy, Debug)]
struct ThumbnailMoment {
    time_s: f64,
    frame_size: (u32, u32),
    face_box: PixelBox,
    mouth_box: PixelBox,
}

impl ThumbnailMoment {
    /// The frame in colour, at most [`THUMBNAIL_SIDE_PX`] on its longer side, with the face and
    /// mouth boxed. Decoded again from `input` at the media edge: the analysis keeps no
    /// pictures.
    fn thumbnail(&self, input: &Path) -> Result<Thumbnail> {
        let (width, height) = self.frame_size;
        let scale = (f64::from(THUMBNAIL_SIDE_PX) / f64::from(width.max(height).max(1))).min(1.0);
        let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
        let frame = media::decode_rgb_frame(input, self.time_s, side(width), side(height))?;
        let (sx, sy) = (
            f64::from(frame.width) / f64::from(width),
            f64::from(frame.height) / f64::from(height),
        );
        let region = |label: &str, b: PixelBox| {
            let px = |v: f32, s: f64| (f64::from(v.max(0.0)) * s) as u32;
            Region {
                label: label.to_string(),
                x: px(b.x_min, sx),
                y: px(b.y_min, sy),
                width: px(b.x_max - b.x_min, sx).max(1),
                height: px(b.y_max - b.y_min, sy).max(1),
            }
        };
        let regions = vec![region("face", self.face_box), region("mouth", self.mouth_box)];
        Thumbnail::from_rgb(&frame, regions)
    }
}

/// Where each face sat across the picture, to name the measured one by its place.
#[derive(Clone, Debug, Default)]
pub struct FacePlaces {
    /// Per track: the sum over its frames of its box centre's share of the frame width, and
    /// the number of those frames.
    tracks: Vec<(TrackId, f64, usize)>,
    /// The same for the largest face of each frame.
    largest: (f64, usize),
}

impl FacePlaces {
    /// Adds the faces of one frame `width` pixels wide.
    fn push(&mut self, frame: &FrameFaces, width: u32) {
        let share = |face: &FaceObservation| {
            f64::from(face.face_box.x_min + face.face_box.x_max) / 2.0 / f64::from(width.max(1))
        };
        for face in &frame.faces {
            match self.tracks.iter_mut().find(|t| t.0 == face.track) {
                Some(track) => {
                    track.1 += share(face);
                    track.2 += 1;
                }
                None => self.tracks.push((face.track, share(face), 1)),
            }
        }
        // The largest face as the lip series picks it: by eye distance.
        let largest = frame
            .faces
            .iter()
            .max_by(|a, b| a.lips.eye_distance_px.total_cmp(&b.lips.eye_distance_px));
        if let Some(face) = largest {
            self.largest.0 += share(face);
            self.largest.1 += 1;
        }
    }

    /// Where the face of `track` (`None`: the largest face of each frame) sat on average;
    /// [`FacePosition::Only`] when the clip had one face.
    pub fn position(&self, track: Option<TrackId>) -> Option<FacePosition> {
        if self.tracks.len() == 1 {
            return Some(FacePosition::Only);
        }
        let (sum, frames) = match track {
            Some(id) => self.tracks.iter().find(|t| t.0 == id).map(|t| (t.1, t.2))?,
            None => self.largest,
        };
        (frames > 0).then(|| face_position(sum / frames as f64))
    }
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
        d.face.as_deref().map_or("no face used".to_string(), |f| describe_face(f, d.face_position)),
        d.face_share * 100.0,
        d.speech_s,
        content::windows_measured(measured, report.windows.len()),
        d.lip_lead_ms
    );
    if let Some(c) = &d.calibration {
        let reading = |offset: Option<f64>, uncertainty: Option<f64>| match offset {
            Some(ms) => {
                format!("{ms:+.0} ms ±{}", format_uncertainty_ms(uncertainty.unwrap_or(0.0)))
            }
            None => "none".to_string(),
        };
        let lead = c.lip_lead_ms.map_or("not measured".to_string(), |ms| {
            format!(
                "{ms:.0} ms ±{}",
                format_uncertainty_ms(c.lip_lead_uncertainty_ms.unwrap_or(0.0))
            )
        });
        let _ = writeln!(
            out,
            "  calibrated with {}: speaker's lip lead {lead}; calibrated {}, uncalibrated {}; \
             {} used",
            c.clip,
            reading(c.calibrated_offset_ms, c.calibrated_uncertainty_ms),
            reading(c.uncalibrated_offset_ms, c.uncalibrated_uncertainty_ms),
            match c.used {
                CalibrationUsed::Calibrated => "calibrated",
                CalibrationUsed::Uncalibrated => "uncalibrated",
            }
        );
    }
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
    fn frames_above_50_fps_are_thinned_to_every_other_one() {
        let kept = |fps: f64, jitter_s: f64| {
            let mut thinning = FrameThinning::default();
            (0..120)
                .map(|i| f64::from(i) / fps + if i % 2 == 1 { jitter_s } else { 0.0 })
                .filter(|&t| thinning.keep(t))
                .count()
        };
        assert_eq!(kept(60.0, 0.0), 60);
        assert_eq!(kept(30.0, 0.0), 120);
        // 50 fps keeps every frame, even with timestamps jittering by half a millisecond.
        assert_eq!(kept(50.0, -0.0005), 120);
    }

    #[test]
    fn a_face_is_placed_by_its_mean_centre_and_a_lone_face_is_the_only_one() {
        // Face 0 on the left for 10 frames, face 1 on the right for 10, the largest face of
        // each frame mostly in the middle.
        let places = FacePlaces { tracks: vec![(0, 2.0, 10), (1, 8.0, 10)], largest: (10.0, 20) };
        assert_eq!(places.position(Some(0)), Some(FacePosition::Left));
        assert_eq!(places.position(Some(1)), Some(FacePosition::Right));
        assert_eq!(places.position(None), Some(FacePosition::Centre));
        assert_eq!(places.position(Some(7)), None);
        let alone = FacePlaces { tracks: vec![(3, 9.0, 10)], largest: (9.0, 10) };
        assert_eq!(alone.position(Some(3)), Some(FacePosition::Only));
    }

    #[test]
    fn analysis_keys_of_the_config_are_honoured_and_the_command_line_wins() {
        let config = Config::parse("[analysis]\nwindow = \"4s\"\nsearch_range = \"1s\"\n").unwrap();
        let parse = |args: &[&str]| Check::try_parse_from(args).unwrap().args;
        let from_config = parse(&["check", "a.mp4"]).options(false, &config).unwrap().content;
        assert_eq!((from_config.window_s, from_config.search_ms), (Some(4.0), 1000.0));
        let from_cli = parse(&["check", "a.mp4", "--window", "6s", "--search", "300ms"])
            .options(false, &config)
            .unwrap()
            .content;
        assert_eq!((from_cli.window_s, from_cli.search_ms), (Some(6.0), 300.0));
        let defaults =
            parse(&["check", "a.mp4"]).options(false, &Config::default()).unwrap().content;
        assert_eq!(defaults, ContentOptions::default());
        // A config window long enough for compare (500 ms) is too short for check.
        let short = Config::parse("[analysis]\nwindow = \"500ms\"\n").unwrap();
        let err = parse(&["check", "a.mp4"]).options(false, &short).unwrap_err().to_string();
        assert!(err.contains("analysis.window") && err.contains("1 s to 10 min"), "{err}");
    }
}
