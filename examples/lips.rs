//! Prints the lip features of every frame of a clip as CSV, one row per frame and face; a frame
//! without a face gets one row with empty fields.
//!
//! cargo run --release --example lips -- CLIP [--max-side N] [--chunk-frames N]
//!
//! Frames come from the library's decoder (`avsync::media::decode`); chunks of frames are tracked
//! in parallel on the rayon pool and their track ids linked.

use std::path::PathBuf;
use std::time::Instant;

use avsync::features::face::{track_frames_parallel, FaceModels, TrackLinker, TrackerConfig};
use clap::Parser;

#[path = "../tests/support/luma_frames.rs"]
mod luma_frames;

#[derive(Parser)]
struct Args {
    clip: PathBuf,
    /// Scale frames so the longer side is at most this many pixels before tracking.
    #[arg(long)]
    max_side: Option<u32>,
    /// Frames per independently tracked chunk.
    #[arg(long, default_value_t = 50)]
    chunk_frames: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let t0 = Instant::now();
    let models = FaceModels::shared()?;
    let load_s = t0.elapsed().as_secs_f64();
    let config = TrackerConfig::default();
    let mut frames = luma_frames::DecodedFrames::open(&args.clip, args.max_side);
    let (mut w, mut h) = (0, 0);
    let mut linker = TrackLinker::new();
    // enough chunks in flight for every rayon thread
    let batch = args.chunk_frames * rayon::current_num_threads().max(1) * 2;
    let (mut n_frames, mut n_faceless, mut track_s) = (0usize, 0usize, 0.0f64);
    println!("time_s,track,score,opening,inner_gap,outer_gap,inner_area,width,jaw,eye_distance_px,mouth_x_min,mouth_y_min,mouth_x_max,mouth_y_max");
    loop {
        let chunk: Vec<_> = frames.by_ref().take(batch).collect::<Result<_, _>>()?;
        let Some(first) = chunk.first() else { break };
        (w, h) = (first.0.width, first.0.height);
        let t = Instant::now();
        let faces =
            track_frames_parallel(&models, &config, &chunk, args.chunk_frames, &mut linker)?;
        track_s += t.elapsed().as_secs_f64();
        for frame in &faces {
            n_frames += 1;
            if frame.faces.is_empty() {
                n_faceless += 1;
                println!("{:.4},,,,,,,,,,,,,", frame.time_s);
            }
            for f in &frame.faces {
                let (l, b) = (&f.lips, &f.mouth_box);
                println!(
                    "{:.4},{},{:.3},{:.4},{:.4},{:.4},{:.5},{:.4},{:.4},{:.1},{:.1},{:.1},{:.1},{:.1}",
                    frame.time_s, f.track, f.score, l.opening, l.inner_gap, l.outer_gap, l.inner_area, l.width, l.jaw,
                    l.eye_distance_px, b.x_min, b.y_min, b.x_max, b.y_max
                );
            }
        }
    }
    eprintln!(
        "{}: {n_frames} frames at {w}x{h}, {n_faceless} without a face; models loaded in {:.0} ms; tracking {:.2} ms/frame wall on {} threads",
        args.clip.display(),
        load_s * 1e3,
        track_s * 1e3 / n_frames.max(1) as f64,
        rayon::current_num_threads()
    );
    Ok(())
}
