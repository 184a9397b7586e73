//! Dumps what content mode measures on a clip, for studying estimators offline: every face's
//! 468 landmarks per frame (as the tracker sees them in `avsync check`) and the audio at the
//! analysis rate.
//!
//! cargo run --release --example content_dump -- CLIP OUT_PREFIX [--audio FILE]
//!
//! Writes OUT_PREFIX.json (frame times, audio start and rate, face records count),
//! OUT_PREFIX.faces.f32 (per face record: frame index, track id, score, then 468 x/y pairs in
//! frame pixels, all f32) and OUT_PREFIX.audio.f32 (mono samples).

use std::io::Write as _;
use std::path::PathBuf;

use avsync::features::face::{FaceModels, FaceTracker, LumaFrame as _, TrackerConfig};
use avsync::media::{self, AudioOptions};
use clap::Parser;

#[path = "../tests/support/luma_frames.rs"]
mod luma_frames;

#[derive(Parser)]
struct Args {
    clip: PathBuf,
    out: PathBuf,
    /// Audio from this file instead of the clip's own track.
    #[arg(long)]
    audio: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let models = FaceModels::shared()?;
    let config = TrackerConfig { keep_landmarks: true, ..TrackerConfig::default() };
    // one tracker over the whole clip at the coded size, as `avsync check` runs it
    let frames = luma_frames::DecodedFrames::open(&args.clip, None);
    let mut tracker = FaceTracker::new(&models, config)?;
    let mut times = Vec::new();
    let mut records: Vec<f32> = Vec::new();
    let mut count = 0usize;
    for frame in frames {
        let frame = frame?;
        let frame = tracker.process(&frame.luma(), frame.time_s())?;
        let index = times.len();
        times.push(frame.time_s);
        for face in &frame.faces {
            let Some(lm) = &face.landmarks else { continue };
            records.extend([index as f32, face.track as f32, face.score]);
            records.extend(lm.points.iter().flat_map(|p| [p.x, p.y]));
            count += 1;
        }
    }
    let audio = match &args.audio {
        Some(file) => media::decode_external_audio(file, &AudioOptions::default())?,
        None => media::decode_audio(&args.clip, &AudioOptions::default())?,
    };
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    std::fs::File::create(args.out.with_extension("faces.f32"))?.write_all(&bytes(&records))?;
    std::fs::File::create(args.out.with_extension("audio.f32"))?
        .write_all(&bytes(&audio.samples))?;
    let meta = serde_json::json!({
        "frame_times_s": times,
        "face_records": count,
        "audio_start_s": audio.start_s,
        "sample_rate": audio.sample_rate,
    });
    std::fs::write(args.out.with_extension("json"), meta.to_string())?;
    eprintln!("{}: {} frames, {count} faces", args.clip.display(), times.len());
    Ok(())
}
