//! Scores content mode (`avsync check`) on the shared corpus.
//!
//! cargo run --release --example eval -- ../shared/corpus [--min-z Z] [--lip-lead-ms MS]
//! (add `--features phonetic` to score with recognised phones as a fourth audio feature)
//!
//! Positives: every `talk` clip, presumed in sync, with its audio shifted by known amounts
//! across ±400 ms, both by timestamp (the audio presented earlier or later) and baked into the
//! samples (samples dropped or silence prepended). Negatives: talking videos with foreign audio
//! (the corpus's foreign tracks, and other talk clips' audio, skipping clips that share a
//! recording), and the `no-speech` clips. Prints the accuracy table of the README, the
//! calibration of the lip lead and the z threshold, and one line per clip.

use avsync::commands::check::{measure, CheckOptions};
use avsync::estimate::content::{estimate, ContentEstimate, ContentOptions};
use avsync::features::audio::AudioFeatures;
use avsync::features::face::{FaceModels, LipSeries};
use avsync::features::speech::SpeechAnalyzer;
use avsync::media::{self, Audio, AudioOptions};
use clap::Parser;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Audio shifts applied to every talk clip, ms (`> 0`: audio made early).
const SHIFTS_MS: [f64; 11] =
    [0.0, 40.0, -40.0, 80.0, -80.0, 160.0, -160.0, 300.0, -300.0, 400.0, -400.0];
/// Other talk clips whose audio each talk video is crossed with (index steps).
const CROSS_STEPS: [usize; 3] = [1, 7, 13];
/// Clips cut from the same recording: crossing them is not a negative.
const SAME_RECORDING: [&[&str]; 3] = [
    &["wav2lip-mona-out", "wav2lip-kennedy-out"],
    &["aoc-hdtf", "aoc-vexpress", "retalk-face3"],
    &["emo-hb", "fantasy-23fps"],
];
/// Foreign audio for the videos beside it (the corpus README's list).
const FOREIGN: [(&str, &str); 16] = [
    ("latentsync-demo1", "latentsync-demo1-audio"),
    ("latentsync-demo2", "latentsync-demo2-audio"),
    ("latentsync-demo3", "latentsync-demo3-audio"),
    ("retalk-face1", "retalk-audio1"),
    ("retalk-face2", "retalk-audio1"),
    ("retalk-face3", "retalk-audio1"),
    ("retalk-face4", "retalk-audio1"),
    ("retalk-face5", "retalk-audio1"),
    ("retalk-face1", "retalk-audio2"),
    ("retalk-face2", "retalk-audio2"),
    ("retalk-face3", "retalk-audio2"),
    ("retalk-face4", "retalk-audio2"),
    ("retalk-face5", "retalk-audio2"),
    ("musetalk-sun", "musetalk-sun-audio"),
    ("wav2lip-mona-out", "wav2lip-ses"),
    ("wav2lip-kennedy-out", "wav2lip-ses"),
];
/// Broadcast limits (ms): audio may lead by 30, lag by 90.
const BROADCAST_EARLY_MS: f64 = 30.0;
const BROADCAST_LATE_MS: f64 = 90.0;

#[derive(Parser)]
struct Args {
    corpus: PathBuf,
    /// Confidence threshold (null standard deviations); default: the product's.
    #[arg(long)]
    min_z: Option<f64>,
    /// Lip lead taken off (ms); default: the product's.
    #[arg(long)]
    lip_lead_ms: Option<f64>,
}

struct Clip {
    id: String,
    file: PathBuf,
    role: String,
    origin: String,
}

fn manifest(corpus: &Path) -> Vec<Clip> {
    let text = std::fs::read_to_string(corpus.join("manifest.tsv")).expect("read manifest.tsv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Clip {
                id: f[0].into(),
                file: corpus.join(f[1]),
                role: f[2].into(),
                origin: f[3].into(),
            }
        })
        .collect()
}

/// The audio of `audio` presented `shift_ms` earlier by moving samples, on the same timeline.
fn baked(audio: &Audio, shift_ms: f64) -> AudioFeatures {
    let n = (shift_ms.abs() / 1000.0 * f64::from(audio.sample_rate)).round() as usize;
    let samples: Vec<f32> = if shift_ms >= 0.0 {
        audio.samples[n.min(audio.samples.len())..].to_vec()
    } else {
        std::iter::repeat_n(0.0, n).chain(audio.samples.iter().copied()).collect()
    };
    SpeechAnalyzer::of_samples(audio.sample_rate, audio.start_s, &samples).expect("speech features")
}

struct Positive {
    id: String,
    origin: String,
    shift_ms: f64,
    baked: bool,
    result: ContentEstimate,
}

fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn share(count: usize, of: usize) -> String {
    format!("{:.0}% ({count}/{of})", 100.0 * count as f64 / of.max(1) as f64)
}

fn main() {
    let args = Args::parse();
    let started = Instant::now();
    let clips = manifest(&args.corpus);
    let by_id: HashMap<&str, &Clip> = clips.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut options = ContentOptions::default();
    if let Some(z) = args.min_z {
        options.min_z = z;
    }
    if let Some(lead) = args.lip_lead_ms {
        options.lip_lead_ms = lead;
    }
    let models = FaceModels::shared().expect("face models");
    let check = CheckOptions::default();

    // Every video that takes part, measured once.
    let talk: Vec<&Clip> = clips.iter().filter(|c| c.role == "talk").collect();
    let mut videos: Vec<&str> = talk.iter().map(|c| c.id.as_str()).collect();
    videos.extend(FOREIGN.iter().map(|(v, _)| *v));
    videos.extend(clips.iter().filter(|c| c.role == "no-speech").map(|c| c.id.as_str()));
    videos.sort();
    videos.dedup();
    eprintln!("measuring {} videos...", videos.len());
    let measured: HashMap<&str, (AudioFeatures, LipSeries, Option<Audio>)> = videos
        .par_iter()
        .filter_map(|&id| {
            let clip = by_id[id];
            let t = Instant::now();
            let own_audio = clip.role != "silent-video";
            let options = if own_audio {
                check.clone()
            } else {
                // no own audio: measure the lips against a stand-in, replaced below
                CheckOptions {
                    audio_file: Some(by_id["wav2lip-ses"].file.clone()),
                    ..check.clone()
                }
            };
            match measure(&clip.file, &models, &options) {
                Ok(m) => {
                    let samples = own_audio
                        .then(|| media::decode_audio(&clip.file, &AudioOptions::default()).ok())
                        .flatten();
                    eprintln!(
                        "  {id}: {} frames, {:.1} s",
                        m.lips.len(),
                        t.elapsed().as_secs_f64()
                    );
                    Some((id, (m.audio, m.lips, samples)))
                }
                Err(e) => {
                    eprintln!("  {id}: {e}");
                    None
                }
            }
        })
        .collect();
    let external = |id: &str| -> AudioFeatures {
        let audio = media::decode_external_audio(&by_id[id].file, &AudioOptions::default())
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        SpeechAnalyzer::of_samples(audio.sample_rate, audio.start_s, &audio.samples)
            .expect("speech features")
    };

    // Positives.
    let mut jobs: Vec<(&Clip, f64, bool)> = Vec::new();
    for clip in &talk {
        for shift in SHIFTS_MS {
            jobs.push((clip, shift, false));
            if shift != 0.0 {
                jobs.push((clip, shift, true));
            }
        }
    }
    let positives: Vec<Positive> = jobs
        .par_iter()
        .filter_map(|&(clip, shift_ms, is_baked)| {
            let (audio, lips, samples) = measured.get(clip.id.as_str())?;
            let audio = if is_baked {
                baked(samples.as_ref()?, shift_ms)
            } else {
                audio.delayed(-shift_ms / 1000.0)
            };
            Some(Positive {
                id: clip.id.clone(),
                origin: clip.origin.clone(),
                shift_ms,
                baked: is_baked,
                result: estimate(&audio, lips, &options),
            })
        })
        .collect();

    // Negatives: (video, audio source, kind).
    let mut negatives: Vec<(String, String, &str, Option<f64>, String)> = Vec::new();
    let same_recording =
        |a: &str, b: &str| SAME_RECORDING.iter().any(|g| g.contains(&a) && g.contains(&b));
    let mut pairs: Vec<(&str, &str, &str)> =
        FOREIGN.iter().map(|(v, a)| (*v, *a, "foreign")).collect();
    for (i, clip) in talk.iter().enumerate() {
        for step in CROSS_STEPS {
            let other = talk[(i + step) % talk.len()];
            if other.id != clip.id && !same_recording(&clip.id, &other.id) {
                pairs.push((clip.id.as_str(), other.id.as_str(), "cross"));
            }
        }
    }
    for (video, audio_id, kind) in pairs {
        let Some((_, lips, _)) = measured.get(video) else { continue };
        let audio = match measured.get(audio_id) {
            Some((audio, _, _)) if by_id[audio_id].role != "silent-video" => audio.clone(),
            _ => external(audio_id),
        };
        let r = estimate(&audio, lips, &options);
        negatives.push((
            video.into(),
            audio_id.into(),
            kind,
            r.details.z,
            r.offset_ms.map_or("inconclusive".into(), |o| format!("{o:+.0} ms")),
        ));
    }
    for clip in clips.iter().filter(|c| c.role == "no-speech") {
        let Some((audio, lips, _)) = measured.get(clip.id.as_str()) else { continue };
        let r = estimate(audio, lips, &options);
        negatives.push((
            clip.id.clone(),
            clip.id.clone(),
            "no-speech",
            r.details.z,
            r.offset_ms.map_or(format!("inconclusive: {}", r.reason), |o| format!("{o:+.0} ms")),
        ));
    }

    // The table.
    let errors: Vec<f64> =
        positives.iter().filter_map(|p| p.result.offset_ms.map(|o| o - p.shift_ms)).collect();
    let within = |limit: f64, of: &[&Positive]| {
        of.iter()
            .filter(|p| p.result.offset_ms.is_some_and(|o| (o - p.shift_ms).abs() <= limit))
            .count()
    };
    let all: Vec<&Positive> = positives.iter().collect();
    let real: Vec<&Positive> = positives.iter().filter(|p| p.origin == "real").collect();
    let generated: Vec<&Positive> = positives.iter().filter(|p| p.origin == "generated").collect();
    let unshifted: HashMap<&str, f64> = positives
        .iter()
        .filter(|p| p.shift_ms == 0.0)
        .filter_map(|p| p.result.offset_ms.map(|o| (p.id.as_str(), o)))
        .collect();
    let relative_22 = positives
        .iter()
        .filter(|p| match (p.result.offset_ms, unshifted.get(p.id.as_str())) {
            (Some(o), Some(base)) => (o - base - p.shift_ms).abs() <= 22.0,
            _ => false,
        })
        .count();
    let mut abs_errors: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
    abs_errors.sort_by(f64::total_cmp);
    println!(
        "content mode on {} ({} talk clips, {} estimates; min_z {}, lip lead {} ms, phones {})",
        args.corpus.display(),
        talk.len(),
        positives.len(),
        options.min_z,
        options.lip_lead_ms,
        if cfg!(feature = "phonetic") { "on" } else { "off" }
    );
    println!();
    println!("| measure | result | target |");
    println!("|---|---|---|");
    println!("| estimates within ±40 ms | {} | ≥ 95% |", share(within(40.0, &all), all.len()));
    println!("| estimates within ±22 ms | {} | ≥ 85% |", share(within(22.0, &all), all.len()));
    println!(
        "| median absolute error (conclusive estimates) | {:.1} ms | ≤ 10 ms |",
        percentile(&abs_errors, 0.5)
    );
    println!("| bias (median signed error) | {:+.1} ms | |", percentile(&errors, 0.5));
    println!(
        "| inconclusive positives | {} | |",
        share(positives.iter().filter(|p| p.result.offset_ms.is_none()).count(), positives.len())
    );
    println!(
        "| within ±40 ms: real / generated | {} / {} | |",
        share(within(40.0, &real), real.len()),
        share(within(40.0, &generated), generated.len())
    );
    println!(
        "| shifts followed within ±22 ms of the clip's own unshifted estimate | {} | |",
        share(relative_22, all.len())
    );
    for (label, kind) in
        [("foreign audio", "foreign"), ("cross pairs", "cross"), ("no-speech clips", "no-speech")]
    {
        let of: Vec<_> = negatives.iter().filter(|n| n.2 == kind).collect();
        let rejected = of.iter().filter(|n| n.4.starts_with("inconclusive")).count();
        println!("| negatives inconclusive: {label} | {} | ≥ 95% |", share(rejected, of.len()));
    }
    for origin in ["real", "generated"] {
        let of: Vec<_> =
            negatives.iter().filter(|n| by_id[n.0.as_str()].origin == origin).collect();
        let rejected = of.iter().filter(|n| n.4.starts_with("inconclusive")).count();
        println!(
            "| negatives inconclusive: {origin} videos | {} | ≥ 95% |",
            share(rejected, of.len())
        );
    }
    let in_sync: Vec<&Positive> = positives.iter().filter(|p| p.shift_ms == 0.0).collect();
    let failing = in_sync
        .iter()
        .filter(|p| {
            p.result
                .offset_ms
                .is_some_and(|o| !(-BROADCAST_LATE_MS..=BROADCAST_EARLY_MS).contains(&o))
        })
        .count();
    let inconclusive = in_sync.iter().filter(|p| p.result.offset_ms.is_none()).count();
    println!("| in-sync talk clips failing broadcast | {} | ≤ 2% |", share(failing, in_sync.len()));
    println!("| in-sync talk clips inconclusive | {} | |", share(inconclusive, in_sync.len()));

    // Calibration.
    let raw: Vec<f64> = in_sync.iter().filter_map(|p| p.result.details.raw_offset_ms).collect();
    println!();
    println!(
        "lip lead: raw in-sync offsets median {:+.1} ms, quartiles {:+.1} .. {:+.1} ms (n {})",
        percentile(&raw, 0.5),
        percentile(&raw, 0.25),
        percentile(&raw, 0.75),
        raw.len()
    );
    let neg_z: Vec<f64> = negatives.iter().filter_map(|n| n.3).collect();
    let pos_z: Vec<f64> = positives.iter().filter_map(|p| p.result.details.z).collect();
    let z95 = percentile(&neg_z, 0.95);
    println!(
        "z: negatives 95th percentile {z95:.2}; positives above it {}",
        share(pos_z.iter().filter(|&&z| z > z95).count(), pos_z.len())
    );
    println!();
    println!("per clip (unshifted; timestamp-shift errors in ms for {:?}):", &SHIFTS_MS[1..]);
    for clip in &talk {
        let row: Vec<&Positive> =
            positives.iter().filter(|p| p.id == clip.id && !p.baked).collect();
        let Some(base) = row.iter().find(|p| p.shift_ms == 0.0) else { continue };
        let errors: Vec<String> = row[1..]
            .iter()
            .map(|p| p.result.offset_ms.map_or("  -".into(), |o| format!("{:+.0}", o - p.shift_ms)))
            .collect();
        println!(
            "  {:<22} {:<9} {:>10} z {:>5.1}  {}",
            clip.id,
            clip.origin,
            base.result.offset_ms.map_or("inconcl.".into(), |o| format!("{o:+.0} ms")),
            base.result.details.z.unwrap_or(f64::NAN),
            errors.join(" ")
        );
    }
    println!();
    println!("negatives:");
    for (video, audio, kind, z, result) in &negatives {
        println!(
            "  {kind:<9} {video:<22} + {audio:<22} z {:>5.1}  {result}",
            z.unwrap_or(f64::NAN)
        );
    }
    eprintln!("eval took {:.0} s", started.elapsed().as_secs_f64());
}
