//! `avsync plan`: a long voice-over split into lip-sync jobs the target accepts, cut in the
//! pauses between words (see [`crate::plan`]), as a JSON or CSV plan and, with `--write`, the
//! chunk files themselves (audio cut sample-exact; with `--video`, the picture cut to match,
//! see [`media::cut`]).

use crate::commands::preflight::{self, Target};
use crate::error::{Error, Result};
use crate::estimate::reference::stitched::{ChunkSpan, StitchedPlan};
use crate::features::audio::AudioFeatures;
use crate::media::cut::{cut_video, CutMethod, FrameIndex};
use crate::media::{self, AudioOptions, ChannelSelect, SampleRate};
use crate::plan::{self, ChunkLimits, MAX_OVERLAP_S, MIN_OVERLAP_S};
use crate::safe_write::{self, PendingFile};
use crate::units;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Version tag of the plan JSON.
pub const SCHEMA: &str = "avsync-plan/1";
/// Bytes per sample of the chunk files: 16-bit PCM WAV, mono.
const WAV_BYTES_PER_SAMPLE: u64 = 2;
/// Room left in a byte limit for the WAV header.
const WAV_HEADER_BYTES: u64 = 1024;

/// `plan` options.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The voice-over to split.
    pub audio: PathBuf,
    /// The video the voice-over goes with (its first frame meets the audio's first sample):
    /// every chunk must lie within it.
    #[arg(long, value_name = "FILE")]
    pub video: Option<PathBuf>,
    /// The service: kling-fal, kling-api or useapi.
    #[arg(long, value_name = "T")]
    pub target: String,
    /// Overlap between neighbouring chunks, for the stitcher's cross-fade (200–500 ms).
    #[arg(long, value_name = "DURATION", default_value = "300ms", value_parser = units::parse_duration_s)]
    pub overlap: f64,
    /// Write the plan as JSON to PATH, or to stdout (and nothing else there) with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<PathBuf>,
    /// Write the plan as CSV (one row per chunk) to PATH, or to stdout with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub csv: Option<PathBuf>,
    /// Write each chunk's audio (16-bit mono WAV at the source rate) into DIR, and with --video
    /// its picture (MP4, video only; packets copied where the chunk starts and ends on key
    /// frames, re-encoded as H.264 otherwise).
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The plan, as JSON readers see it.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub schema: &'static str,
    pub audio: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
    pub target: &'static str,
    pub sample_rate_hz: u32,
    pub duration_s: f64,
    pub overlap_s: f64,
    /// The chunk lengths the target allows (overlap included).
    pub min_chunk_s: f64,
    pub max_chunk_s: f64,
    /// The pauses found, where cuts could fall.
    pub pauses: Vec<plan::Pause>,
    pub chunks: Vec<PlannedChunk>,
}

/// One job.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedChunk {
    /// 1 for the first chunk, as in the chunk files' names.
    pub index: usize,
    /// The chunk's audio on the voice-over's timeline (overlap included), seconds.
    pub start_s: f64,
    pub end_s: f64,
    pub duration_s: f64,
    /// The cuts, each in the middle of a pause (the first at 0, the last at the end).
    pub cut_start_s: f64,
    pub cut_end_s: f64,
    /// The same span in samples of the source: `start_sample..end_sample`.
    pub start_sample: u64,
    pub end_sample: u64,
    /// Kling's official API: the crop of the full voice-over and where it goes in the full
    /// video, in ms, as the API takes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_start_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_end_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_insert_time: Option<u64>,
    /// The chunk's file, with `--write`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The chunk's picture, with `--write` and `--video`, and how it was cut: `copied` (packets
    /// copied, nothing re-encoded) or `re-encoded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cut: Option<&'static str>,
}

/// The target's chunk lengths: its audio and video duration limits together (each chunk's
/// picture is as long as its sound), and, for chunk files, the audio byte limit at the WAV's
/// rate.
pub fn chunk_limits(target: &Target, sample_rate: u32) -> ChunkLimits {
    let audio = target.audio.as_ref();
    let durations = audio.into_iter().chain(std::iter::once(&target.video));
    let min_s = durations.clone().filter_map(|l| l.min_duration_s).fold(0.0, f64::max);
    let mut max_s = durations.filter_map(|l| l.max_duration_s).fold(f64::INFINITY, f64::min);
    if let Some(bytes) = audio.and_then(|l| l.max_bytes) {
        let samples = bytes.saturating_sub(WAV_HEADER_BYTES) / WAV_BYTES_PER_SAMPLE;
        max_s = max_s.min(samples as f64 / f64::from(sample_rate));
    }
    ChunkLimits { min_s, max_s }
}

/// Plans (and with `write`, writes) the chunks of `args.audio`. Nothing is written unless the
/// whole plan succeeds.
pub fn run(args: &PlanArgs) -> Result<Plan> {
    let target = preflight::target(&args.target)?;
    if !(MIN_OVERLAP_S..=MAX_OVERLAP_S).contains(&args.overlap) {
        return Err(Error::usage(format!(
            "--overlap {:.0} ms is outside the {:.0}–{:.0} ms a cross-fade needs",
            args.overlap * 1e3,
            MIN_OVERLAP_S * 1e3,
            MAX_OVERLAP_S * 1e3
        )));
    }
    if let Some(dir) = &args.write {
        safe_write::check_output_dir(dir)?;
    }
    let options = AudioOptions {
        sample_rate: SampleRate::Native,
        stream: None,
        channel: ChannelSelect::Downmix,
    };
    let audio = media::decode_external_audio(&args.audio, &options)?;
    let rate = audio.sample_rate;
    let duration_s = audio.samples.len() as f64 / f64::from(rate);
    let features = AudioFeatures::of_samples(rate, 0.0, &audio.samples);
    let pauses = plan::pauses(&features.voiced, features.rate_hz, features.start_s);
    let limits = chunk_limits(target, rate);
    let chunks = plan::split(duration_s, &pauses, limits, args.overlap)
        .map_err(|e| Error::input(&args.audio, e.to_string()))?;
    if let Some(video) = &args.video {
        let info = media::probe(video)?;
        let video_s = info.duration_s.unwrap_or(0.0);
        if video_s + f64::EPSILON < duration_s {
            return Err(Error::input(
                video,
                format!(
                    "lasts {video_s:.2} s, shorter than the {duration_s:.2} s voice-over: the last \
                     chunks would have no picture"
                ),
            ));
        }
    }

    let stem = args.audio.file_stem().map(|s| s.to_string_lossy().into_owned());
    let stem = stem.unwrap_or_else(|| "chunk".to_string());
    let with_kling_times = target.name == "kling-api";
    // The crop may not run past the audio's last whole millisecond.
    let last_ms = (duration_s * 1e3).floor() as u64;
    let sample = |t: f64| ((t * f64::from(rate)).round() as u64).min(audio.samples.len() as u64);
    let mut planned: Vec<PlannedChunk> = chunks
        .iter()
        .enumerate()
        .map(|(index, c)| PlannedChunk {
            index: index + 1,
            start_s: c.start_s,
            end_s: c.end_s,
            duration_s: c.len_s(),
            cut_start_s: c.cut_start_s,
            cut_end_s: c.cut_end_s,
            start_sample: sample(c.start_s),
            end_sample: sample(c.end_s),
            // Whole ms outward, so that the crop holds the whole chunk.
            sound_start_time: with_kling_times.then(|| (c.start_s * 1e3).floor() as u64),
            sound_end_time: with_kling_times.then(|| ((c.end_s * 1e3).ceil() as u64).min(last_ms)),
            sound_insert_time: with_kling_times.then(|| (c.start_s * 1e3).floor() as u64),
            file: chunk_file(args.write.as_deref(), &stem, index, "wav"),
            video_file: chunk_file(
                args.write.as_deref().filter(|_| args.video.is_some()),
                &stem,
                index,
                "mp4",
            ),
            video_cut: None,
        })
        .collect();

    // Every chunk is written to a temporary file first; they are renamed into place together.
    let frames = match (&args.write, &args.video) {
        (Some(_), Some(video)) => Some((video, FrameIndex::read(video)?)),
        _ => None,
    };
    let mut pending = Vec::new();
    for chunk in &mut planned {
        if let Some(file) = &chunk.file {
            let samples = &audio.samples[chunk.start_sample as usize..chunk.end_sample as usize];
            pending.push(write_wav(Path::new(file), rate, samples)?);
        }
        if let (Some(file), Some((video, frames))) = (&chunk.video_file, &frames) {
            // The video's first frame meets the voice-over's first sample.
            let from_s = frames.first_s() + chunk.start_s;
            let to_s = frames.first_s() + chunk.end_s;
            let (written, method) = cut_video(video, frames, Path::new(file), from_s, to_s)?;
            pending.push(written);
            chunk.video_cut = Some(match method {
                CutMethod::Copied => "copied",
                CutMethod::Encoded => "re-encoded",
            });
        }
    }
    for file in pending {
        file.commit()?;
    }
    Ok(Plan {
        schema: SCHEMA,
        audio: args.audio.display().to_string(),
        video: args.video.as_ref().map(|v| v.display().to_string()),
        target: target.name,
        sample_rate_hz: rate,
        duration_s,
        overlap_s: args.overlap,
        min_chunk_s: limits.min_s,
        max_chunk_s: limits.max_s,
        pauses,
        chunks: planned,
    })
}

/// The path of chunk `index` (from 0) in `dir`, if files are written: `STEM-001.EXT`.
fn chunk_file(dir: Option<&Path>, stem: &str, index: usize, extension: &str) -> Option<String> {
    dir.map(|dir| dir.join(format!("{stem}-{:03}.{extension}", index + 1)).display().to_string())
}

/// A plan file read back: what `compare --plan` needs of it.
#[derive(Deserialize)]
struct SavedPlan {
    schema: String,
    overlap_s: f64,
    chunks: Vec<SavedChunk>,
}

#[derive(Deserialize)]
struct SavedChunk {
    index: usize,
    start_s: f64,
    end_s: f64,
    cut_start_s: f64,
    cut_end_s: f64,
}

/// Reads a plan written by `plan --json` (exit 4 for a file that is not one).
pub fn load_stitched(path: &Path) -> Result<StitchedPlan> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::input(path, format!("cannot read the plan: {e}")))?;
    let not_a_plan = |why: String| {
        Error::input(path, format!("not an avsync plan (`avsync plan --json`, {SCHEMA}): {why}"))
    };
    let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|e| not_a_plan(e.to_string()))?;
    if saved.schema != SCHEMA {
        return Err(not_a_plan(format!("its schema is {:?}", saved.schema)));
    }
    if saved.chunks.is_empty() {
        return Err(not_a_plan("it has no chunks".to_string()));
    }
    let spans = saved
        .chunks
        .into_iter()
        .map(|c| ChunkSpan {
            index: c.index,
            start_s: c.start_s,
            end_s: c.end_s,
            cut_start_s: c.cut_start_s,
            cut_end_s: c.cut_end_s,
        })
        .collect();
    Ok(StitchedPlan { spans, overlap_s: saved.overlap_s })
}

/// Writes mono samples as 16-bit PCM WAV into a pending file at `path`.
fn write_wav(path: &Path, rate: u32, samples: &[f32]) -> Result<PendingFile> {
    let file = PendingFile::create(path)?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let failed = |e: hound::Error| Error::output(path, e.to_string());
    let mut writer = hound::WavWriter::create(file.path(), spec).map_err(failed)?;
    for &s in samples {
        let value = (f64::from(s) * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        writer.write_sample(value).map_err(failed)?;
    }
    writer.finalize().map_err(failed)?;
    Ok(file)
}

/// The CSV columns, in order.
const CSV_HEADER: &str = "index,start_s,end_s,duration_s,cut_start_s,cut_end_s,start_sample,\
                          end_sample,sound_start_time,sound_end_time,sound_insert_time,file,\
                          video_file,video_cut";

/// The plan as CSV (RFC 4180): a header and one row per chunk; empty fields where a value does
/// not apply. (Written here: the `csv` crate's features would rebuild the model runtime's
/// dependencies for eleven numbers and three names.)
pub fn render_csv(plan: &Plan) -> String {
    let optional = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let mut out = format!("{CSV_HEADER}\n");
    for c in &plan.chunks {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            c.index,
            c.start_s,
            c.end_s,
            c.duration_s,
            c.cut_start_s,
            c.cut_end_s,
            c.start_sample,
            c.end_sample,
            optional(c.sound_start_time),
            optional(c.sound_end_time),
            optional(c.sound_insert_time),
            c.file.as_deref().map_or(String::new(), csv_field),
            c.video_file.as_deref().map_or(String::new(), csv_field),
            c.video_cut.unwrap_or_default(),
        );
    }
    out
}

/// A CSV field, quoted (inner quotes doubled) when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The plan for the terminal.
pub fn render_text(plan: &Plan) -> String {
    let mut out = format!(
        "{}: {:.2} s at {} Hz, {} pauses; {} chunk(s) for {} ({:.0}–{:.0} s each, overlap {:.0} ms)\n",
        plan.audio,
        plan.duration_s,
        plan.sample_rate_hz,
        plan.pauses.len(),
        plan.chunks.len(),
        plan.target,
        plan.min_chunk_s,
        plan.max_chunk_s,
        plan.overlap_s * 1e3
    );
    for c in &plan.chunks {
        let _ = write!(
            out,
            "  {:3}  {:8.3}–{:8.3} s  {:6.2} s",
            c.index, c.start_s, c.end_s, c.duration_s
        );
        if let (Some(start), Some(end), Some(insert)) =
            (c.sound_start_time, c.sound_end_time, c.sound_insert_time)
        {
            let _ = write!(
                out,
                "  sound_start_time={start} sound_end_time={end} sound_insert_time={insert}"
            );
        }
        if let Some(file) = &c.file {
            let _ = write!(out, "  {file}");
        }
        if let (Some(file), Some(cut)) = (&c.video_file, c.video_cut) {
            let _ = write!(out, "  {file} ({cut})");
        }
        out.push('\n');
    }
    out
}
