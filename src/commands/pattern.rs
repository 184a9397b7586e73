//! `avsync pattern generate` and `avsync pattern analyze`: flash/beep test patterns for
//! measuring a pipeline itself.

use crate::error::{Error, Result};
use crate::estimate::pattern::{estimate, pairing_curve};
use crate::features::pattern::{
    find_beeps, find_flashes, read_counter, BeepRecorder, BeepRecording, CounterTally,
    FlashAnalysis, FrameCells, FrameRate, PatternPlan, PatternSpec, PlannedEvent,
};
use crate::grade::{grade, GradeOptions};
use crate::limits;
use crate::media::encode::{AudioCodec, MediaWriter, VideoCodec, WriterSettings};
use crate::media::{
    self, AudioChunk, AudioOptions, DecodeOptions, FrameSize, LumaFrame, MediaSink, SampleRate,
    VideoOptions,
};
use crate::report::{
    describe_offset, escape_control, format_signed, InputSummary, Method, Plots, Report, Signal,
    SignalPair,
};
use crate::units;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The manifest columns `pattern analyze` reads besides `input`.
pub const MANIFEST_COLUMNS: crate::batch::Columns = &["profile", "expected_offset_ms"];

/// Longest side of the frames the analysis looks at: the flash grid and the counter strip
/// are read reliably at this size, and scaling down makes decoding cheap.
pub const ANALYSIS_LONGEST_SIDE: u32 = 256;
/// Audio samples rendered and queued at a time while generating.
const GENERATE_AUDIO_CHUNK: usize = 4096;

/// `pattern generate` options.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Output file; its extension picks the container (.mp4, .mov, .mkv).
    pub out: PathBuf,
    /// Frame rate, exact: 25, 50, 30000/1001, 24000/1001, 60000/1001, ...
    #[arg(long, default_value = "30000/1001")]
    pub fps: FrameRate,
    /// Length of the clip, e.g. 10s or 2min (1 s to 24 h).
    #[arg(long, default_value = "10s", value_parser = |s: &str| limits::PATTERN_DURATION.parse(s))]
    pub duration: f64,
    /// Picture size, WIDTHxHEIGHT (even numbers, 128x72 to 7680x4320).
    #[arg(long, default_value = "640x360", value_parser = units::parse_size)]
    pub size: (u32, u32),
    /// Time from one flash/beep to the next, e.g. 1s or 500ms (at most 60 s).
    #[arg(long, default_value = "1s", value_parser = |s: &str| limits::PATTERN_PERIOD.parse(s))]
    pub period: f64,
    /// Audio sample rate in Hz.
    #[arg(long, default_value_t = 48_000, value_parser = clap::value_parser!(u32).range(8_000..=192_000))]
    pub sample_rate: u32,
    /// Audio offset in ms, fractions allowed; positive = audio early (e.g. 12.5, -0.25, 40ms).
    #[arg(long, default_value = "0", value_name = "MS", allow_hyphen_values = true, value_parser = units::parse_offset_ms)]
    pub audio_offset: f64,
    /// Audio clock error in parts per million; positive = the audio gets ever earlier.
    #[arg(long, default_value_t = 0.0, value_name = "PPM", allow_hyphen_values = true)]
    pub drift_ppm: f64,
    /// Beep frequency in Hz.
    #[arg(long, default_value_t = 1000.0, value_name = "HZ")]
    pub tone: f64,
    #[arg(long, value_enum, default_value_t = VideoCodecArg::H264)]
    pub video_codec: VideoCodecArg,
    /// pcm needs .mov or .mkv; ffv1 + pcm is lossless.
    #[arg(long, value_enum, default_value_t = AudioCodecArg::Aac)]
    pub audio_codec: AudioCodecArg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum VideoCodecArg {
    H264,
    Ffv1,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AudioCodecArg {
    Aac,
    Pcm,
}

impl GenerateArgs {
    pub fn options(&self) -> GenerateOptions {
        GenerateOptions {
            output: self.out.clone(),
            spec: PatternSpec {
                width: self.size.0,
                height: self.size.1,
                frame_rate: self.fps,
                duration_s: self.duration,
                period_s: self.period,
                sample_rate: self.sample_rate,
                audio_offset_ms: self.audio_offset,
                drift_ppm: self.drift_ppm,
                tone_hz: self.tone,
            },
            video_codec: match self.video_codec {
                VideoCodecArg::H264 => VideoCodec::H264,
                VideoCodecArg::Ffv1 => VideoCodec::Ffv1,
            },
            audio_codec: match self.audio_codec {
                AudioCodecArg::Aac => AudioCodec::Aac,
                AudioCodecArg::Pcm => AudioCodec::Pcm,
            },
        }
    }
}

/// What `pattern generate` writes.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub output: PathBuf,
    pub spec: PatternSpec,
    pub video_codec: VideoCodec,
    pub audio_codec: AudioCodec,
}

/// What was written: the events, with the presentation times they carry in the file.
#[derive(Clone, Debug)]
pub struct GenerateSummary {
    pub events: Vec<PlannedEvent>,
    pub frames: u64,
    pub samples: u64,
    /// Where the file's timing cannot be exactly what was asked, why.
    pub warnings: Vec<String>,
}

/// Writes a pattern clip: whole, or (after an error) not at all, leaving any file already at
/// the output path as it was.
pub fn generate(options: &GenerateOptions) -> Result<GenerateSummary> {
    options.spec.validate().map_err(Error::usage)?;
    let spec = &options.spec;
    let writer = MediaWriter::create(
        &options.output,
        &WriterSettings {
            width: spec.width,
            height: spec.height,
            frame_rate: (spec.frame_rate.num, spec.frame_rate.den),
            sample_rate: spec.sample_rate,
            video: options.video_codec,
            audio: options.audio_codec,
        },
    )?;
    write_pattern(spec, writer)
}

fn write_pattern(spec: &PatternSpec, mut writer: MediaWriter) -> Result<GenerateSummary> {
    // Flashes are placed at the times the frames will really carry in this container.
    let plan = PatternPlan::new(spec, |n| writer.video_time_s(n)).map_err(Error::usage)?;
    let rate = f64::from(spec.sample_rate);
    let mut luma = vec![0u8; (spec.width * spec.height) as usize];
    let mut samples = vec![0.0f32; GENERATE_AUDIO_CHUNK];
    let mut next_sample = 0u64;
    let mut write_audio_until = |writer: &mut MediaWriter, end: u64| -> Result<()> {
        while next_sample < end {
            let n = (end - next_sample).min(GENERATE_AUDIO_CHUNK as u64) as usize;
            plan.render_audio(next_sample, &mut samples[..n]);
            writer.push_audio(&samples[..n])?;
            next_sample += n as u64;
        }
        Ok(())
    };
    for frame in 0..plan.frame_count() {
        // The audio up to this frame's end first: the muxer gets both streams in time order.
        let frame_end = (writer.video_time_s(frame + 1) * rate).round() as u64;
        write_audio_until(&mut writer, frame_end.min(plan.sample_count()))?;
        plan.draw_frame(frame, &mut luma);
        writer.push_video(&luma)?;
    }
    write_audio_until(&mut writer, plan.sample_count())?;
    let warnings = writer.timing_warning().into_iter().collect();
    writer.finish()?;
    Ok(GenerateSummary {
        events: plan.events().to_vec(),
        frames: plan.frame_count(),
        samples: plan.sample_count(),
        warnings,
    })
}

/// One line saying what was written.
pub fn render_generate_summary(options: &GenerateOptions, summary: &GenerateSummary) -> String {
    let spec = &options.spec;
    let codecs = match (options.video_codec, options.audio_codec) {
        (VideoCodec::Ffv1, AudioCodec::Pcm) => "FFV1 + PCM (lossless)",
        (VideoCodec::Ffv1, AudioCodec::Aac) => "FFV1 + AAC",
        (VideoCodec::H264, AudioCodec::Pcm) => "H.264 + PCM",
        (VideoCodec::H264, AudioCodec::Aac) => "H.264 + AAC",
    };
    format!(
        "{}: {} events (flash + {} Hz beep every {} s), {} frames at {} fps {}x{}, {} Hz audio, {codecs}; truth: {} ({:+.4} ms), drift {:+} ppm\n",
        escape_control(&options.output.display().to_string()),
        summary.events.len(),
        spec.tone_hz,
        spec.period_s,
        summary.frames,
        spec.frame_rate,
        spec.width,
        spec.height,
        spec.sample_rate,
        describe_offset(spec.audio_offset_ms),
        spec.audio_offset_ms,
        spec.drift_ppm,
    )
}

/// Collects what the pattern analysis needs while the file is decoded: a few hundred bytes
/// per frame, and the audio around beeps.
#[derive(Default)]
struct PatternSink {
    frames: Vec<FrameCells>,
    counters: CounterTally,
    beeps: BeepRecorder,
}

impl MediaSink for PatternSink {
    fn video_frame(&mut self, frame: LumaFrame) -> Result<()> {
        self.frames.push(FrameCells::from_frame(&frame));
        self.counters.push(read_counter(&frame), frame.pts_s);
        Ok(())
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        self.beeps.push(chunk)
    }
}

/// Measures a flash/beep clip and grades it; with `plots`, keeps the plot data (the pairing
/// curve, the beep envelope and the flash luminance) in the report.
pub fn analyze(path: &Path, grading: &GradeOptions, plots: bool) -> Result<Report> {
    let info = media::probe(path)?;
    if info.analysed_video.is_none() {
        return Err(Error::input(path, "has no video stream: a flash/beep pattern needs both"));
    }
    if info.analysed_audio.is_none() {
        return Err(Error::input(path, "has no audio stream: a flash/beep pattern needs both"));
    }
    let options = DecodeOptions {
        video: Some(VideoOptions {
            size: FrameSize::LongestSide(ANALYSIS_LONGEST_SIDE),
            ..VideoOptions::default()
        }),
        audio: Some(AudioOptions { sample_rate: SampleRate::Native, ..AudioOptions::default() }),
    };
    let mut sink = PatternSink::default();
    let health = media::decode(path, &options, &mut sink)?;
    sink.frames.sort_by(|a, b| a.pts_s.total_cmp(&b.pts_s));

    let flashes = find_flashes(&sink.frames);
    let recording = sink.beeps.finish();
    let beeps = find_beeps(&recording);
    let mut measured = estimate(&flashes, &beeps);
    let counters = sink.counters.finish();
    if let Some(stats) = &counters {
        if stats.dropped > 0 {
            // The first few times: a broken clip may skip at every frame.
            let times: Vec<String> =
                stats.dropped_at_s.iter().take(5).map(|t| format!("{t:.3} s")).collect();
            let more = if stats.dropped_at_s.len() > 5 { ", ..." } else { "" };
            measured.warnings.push(format!(
                "{} frame(s) dropped (the frame counter skipped) before the frame(s) at {}{more}",
                stats.dropped,
                times.join(", ")
            ));
        }
        for (count, what) in [
            (stats.repeated, "frame(s) repeated"),
            (stats.backwards, "step(s) back in the frame counter"),
        ] {
            if count > 0 {
                measured.warnings.push(format!("{count} {what}"));
            }
        }
    }
    measured.details.frames = counters;
    let mut report = Report::new(InputSummary::from_media(&info), Method::Pattern);
    report.offset_ms = measured.offset_ms;
    report.uncertainty_ms = measured.uncertainty_ms;
    report.confidence = measured.confidence;
    report.drift = measured.drift;
    report.windows = measured.windows;
    report.reason = measured.reason;
    report.reason_code = measured.reason_code;
    report.warnings = measured.warnings;
    report.set_media_health(health);
    if plots {
        report.plots = Some(Plots {
            correlation: pairing_curve(&measured.details, report.offset_ms),
            signals: signals(&recording, &sink.frames, &flashes),
            thumbnail: None,
        });
    }
    report.pattern = Some(measured.details);
    grade(&mut report, grading);
    Ok(report)
}

/// The beep envelope and the flash region's luminance, each at its own times; `None` when no
/// region flashes or the track has no audio.
fn signals(
    recording: &BeepRecording,
    frames: &[FrameCells],
    flashes: &FlashAnalysis,
) -> Option<SignalPair> {
    if flashes.luminance.is_empty() || recording.levels.is_empty() {
        return None;
    }
    let levels_hz = f64::from(recording.sample_rate) / recording.block_len as f64;
    Some(SignalPair {
        audio: Signal::rms_envelope(
            "beep loudness",
            recording.start_s,
            levels_hz,
            &recording.levels,
        ),
        reference: Signal {
            label: "flash luminance".to_string(),
            times_s: frames.iter().map(|f| f.pts_s).collect(),
            values: flashes.luminance.clone(),
        },
    })
}

/// The pattern details for the terminal, under the summary line.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let Some(details) = &report.pattern else { return out };
    let tone = details.tone_hz.map_or("-".to_string(), |f| {
        format!("{f:.1} Hz{}", if details.tone_phase_locked { ", phase-locked" } else { "" })
    });
    let period = details.period_s.map_or("-".to_string(), |p| format!("{p:.3} s"));
    let _ = writeln!(
        out,
        "  {} flashes, {} beeps, {} paired; period {period}, tone {tone}",
        details.flashes,
        details.beeps,
        details.events.len()
    );
    if let Some(offset) = report.offset_ms {
        let uncertainty = report.uncertainty_ms.map_or(String::new(), |u| format!(" ±{u:.3}"));
        let _ =
            writeln!(out, "  offset {offset:+.3}{uncertainty} ms ({})", describe_offset(offset));
        let mut offsets: Vec<f64> = details.events.iter().map(|e| e.offset_ms).collect();
        offsets.sort_by(f64::total_cmp);
        if let (Some(first), Some(last)) = (offsets.first(), offsets.last()) {
            let _ = writeln!(
                out,
                "  per event: {first:+.3} to {last:+.3} ms, median {:+.3} ms",
                offsets[offsets.len() / 2]
            );
        }
    }
    if let Some(drift) = &report.drift {
        let uncertainty = drift.uncertainty_ppm.map_or(String::new(), |u| format!(" ±{u:.2}"));
        let _ = writeln!(
            out,
            "  drift {}{uncertainty} ppm ({} ms/min)",
            format_signed(drift.ppm, 2),
            format_signed(drift.ms_per_min, 4)
        );
    }
    if let Some(frames) = &details.frames {
        let _ = writeln!(
            out,
            "  frame counter: {} frames read, {} unreadable, {} dropped, {} repeated",
            frames.read, frames.unreadable, frames.dropped, frames.repeated
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}
