//! Scores content mode (`avsync check`) on the shared corpus.
//!
//! cargo run --release --example eval -- ../shared/corpus [--min-z Z] [--lip-lead-ms MS]
//! (phones, the default `phonetic` feature, join the audio signals; `--no-default-features` scores without them)
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
    /// Compare the all-clips figures with the pinned ones in this JSON file
    /// (`{"figure": [value, tolerance], ...}`) and exit 1 if any is off by more than its
    /// tolerance: the regression test `scripts/test.sh` runs when the corpus is present.
    #[arg(long, value_name = "PINS")]
    check: Option<PathBuf>,
}

struct Clip {
    id: String,
    file: PathBuf,
    role: String,
    origin: String,
    duration_s: f64,
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
                duration_s: f[5].parse().unwrap_or(f64::NAN),
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

/// Clips shorter than this are "short" in the per-population figures: lip-sync services take
/// 2–10 s clips.
const SHORT_CLIP_S: f64 = 10.0;

/// Whether a clip belongs to a population of the table.
type Membership = fn(&Clip) -> bool;

/// A video measured against audio that does not belong to it (or that is not speech).
struct Negative {
    video: String,
    audio: String,
    kind: &'static str,
    result: ContentEstimate,
}

/// The eval's figures for one population of clips.
struct Figures {
    estimates: usize,
    within_40: usize,
    within_22: usize,
    median_abs_error_ms: f64,
    bias_ms: f64,
    inconclusive: usize,
    relative_22: usize,
    in_sync: usize,
    in_sync_failing_broadcast: usize,
    in_sync_inconclusive: usize,
    negatives: usize,
    negatives_inconclusive: usize,
    foreign: (usize, usize),
    cross: (usize, usize),
}

type Row = (&'static str, &'static str, fn(&Figures) -> String);

impl Figures {
    fn of(positives: &[&Positive], negatives: &[&Negative]) -> Figures {
        let errors: Vec<f64> =
            positives.iter().filter_map(|p| p.result.offset_ms.map(|o| o - p.shift_ms)).collect();
        let abs_errors: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
        let within = |limit: f64| {
            positives
                .iter()
                .filter(|p| p.result.offset_ms.is_some_and(|o| (o - p.shift_ms).abs() <= limit))
                .count()
        };
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
        let in_sync: Vec<&&Positive> = positives.iter().filter(|p| p.shift_ms == 0.0).collect();
        let rejected = |kind: Option<&str>| {
            let of: Vec<&&Negative> =
                negatives.iter().filter(|n| kind.is_none_or(|k| n.kind == k)).collect();
            (of.iter().filter(|n| n.result.offset_ms.is_none()).count(), of.len())
        };
        let (negatives_inconclusive, negatives) = rejected(None);
        Figures {
            estimates: positives.len(),
            within_40: within(40.0),
            within_22: within(22.0),
            median_abs_error_ms: percentile(&abs_errors, 0.5),
            bias_ms: percentile(&errors, 0.5),
            inconclusive: positives.iter().filter(|p| p.result.offset_ms.is_none()).count(),
            relative_22,
            in_sync: in_sync.len(),
            in_sync_failing_broadcast: in_sync
                .iter()
                .filter(|p| {
                    p.result
                        .offset_ms
                        .is_some_and(|o| !(-BROADCAST_LATE_MS..=BROADCAST_EARLY_MS).contains(&o))
                })
                .count(),
            in_sync_inconclusive: in_sync.iter().filter(|p| p.result.offset_ms.is_none()).count(),
            negatives,
            negatives_inconclusive,
            foreign: rejected(Some("foreign")),
            cross: rejected(Some("cross")),
        }
    }

    const ROWS: [Row; 11] = [
        ("estimates within ±40 ms", "≥ 75% (goal 95%)", |f| share(f.within_40, f.estimates)),
        ("estimates within ±22 ms", "≥ 50% (goal 85%)", |f| share(f.within_22, f.estimates)),
        ("median absolute error (conclusive)", "≤ 10 ms", |f| {
            format!("{:.1} ms", f.median_abs_error_ms)
        }),
        ("bias (median signed error)", "", |f| format!("{:+.1} ms", f.bias_ms)),
        ("inconclusive positives", "", |f| share(f.inconclusive, f.estimates)),
        ("shifts followed within ±22 ms of the unshifted estimate", "", |f| {
            share(f.relative_22, f.estimates)
        }),
        ("in-sync clips failing broadcast", "0", |f| share(f.in_sync_failing_broadcast, f.in_sync)),
        ("in-sync clips inconclusive", "≤ 15%", |f| share(f.in_sync_inconclusive, f.in_sync)),
        ("negatives inconclusive", "≥ 95%", |f| share(f.negatives_inconclusive, f.negatives)),
        ("foreign audio inconclusive", "≥ 95%", |f| share(f.foreign.0, f.foreign.1)),
        ("cross pairs inconclusive", "≥ 95%", |f| share(f.cross.0, f.cross.1)),
    ];

    /// The all-clips figures as fractions, for scripts and the pinned regression test.
    fn summary(&self) -> serde_json::Value {
        let frac = |n: usize, of: usize| n as f64 / of.max(1) as f64;
        serde_json::json!({
            "within_40": frac(self.within_40, self.estimates),
            "within_22": frac(self.within_22, self.estimates),
            "median_abs_error_ms": self.median_abs_error_ms,
            "in_sync_inconclusive": frac(self.in_sync_inconclusive, self.in_sync),
            "in_sync_failing_broadcast": frac(self.in_sync_failing_broadcast, self.in_sync),
            "negatives_inconclusive": frac(self.negatives_inconclusive, self.negatives),
        })
    }
}

struct Positive {
    id: String,
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
            let measured = media::probe(&clip.file)
                .and_then(|info| measure(&clip.file, &info, &models, &options));
            match measured {
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
                shift_ms,
                baked: is_baked,
                result: estimate(&audio, lips, &options),
            })
        })
        .collect();

    // Negatives: (video, audio source, kind).
    let mut negatives: Vec<Negative> = Vec::new();
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
        let result = estimate(&audio, lips, &options);
        negatives.push(Negative { video: video.into(), audio: audio_id.into(), kind, result });
    }
    for clip in clips.iter().filter(|c| c.role == "no-speech") {
        let Some((audio, lips, _)) = measured.get(clip.id.as_str()) else { continue };
        let result = estimate(audio, lips, &options);
        negatives.push(Negative {
            video: clip.id.clone(),
            audio: clip.id.clone(),
            kind: "no-speech",
            result,
        });
    }

    // The table: every figure for all clips and for each population.
    let populations: [(&str, Membership); 5] = [
        ("all", |_| true),
        ("real", |c| c.origin == "real"),
        ("generated", |c| c.origin == "generated"),
        ("< 10 s", |c| c.duration_s < SHORT_CLIP_S),
        ("≥ 10 s", |c| c.duration_s >= SHORT_CLIP_S),
    ];
    let columns: Vec<Figures> = populations
        .iter()
        .map(|(_, member)| {
            let of: Vec<&Positive> =
                positives.iter().filter(|p| member(by_id[p.id.as_str()])).collect();
            let negs: Vec<&Negative> =
                negatives.iter().filter(|n| member(by_id[n.video.as_str()])).collect();
            Figures::of(&of, &negs)
        })
        .collect();
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
    let header: Vec<&str> = populations.iter().map(|(name, _)| *name).collect();
    println!("| measure | {} | target |", header.join(" | "));
    println!("|---|{}---|", "---|".repeat(header.len()));
    for (label, target, cell) in Figures::ROWS {
        let cells: Vec<String> = columns.iter().map(cell).collect();
        println!("| {label} | {} | {target} |", cells.join(" | "));
    }
    println!();
    println!("summary: {}", serde_json::to_string(&columns[0].summary()).expect("figures"));

    // Calibration.
    let in_sync: Vec<&Positive> = positives.iter().filter(|p| p.shift_ms == 0.0).collect();
    let raw: Vec<f64> = in_sync.iter().filter_map(|p| p.result.details.raw_offset_ms).collect();
    println!();
    println!(
        "lip lead: raw in-sync offsets median {:+.1} ms, quartiles {:+.1} .. {:+.1} ms (n {})",
        percentile(&raw, 0.5),
        percentile(&raw, 0.25),
        percentile(&raw, 0.75),
        raw.len()
    );
    let neg_z: Vec<f64> = negatives.iter().filter_map(|n| n.result.details.z).collect();
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
            "  {:<22} {:<9} {:>10} z {:>5.1}  {}{}",
            clip.id,
            clip.origin,
            base.result.offset_ms.map_or("inconcl.".into(), |o| format!("{o:+.0} ms")),
            base.result.details.z.unwrap_or(f64::NAN),
            errors.join(" "),
            if base.result.offset_ms.is_none() {
                format!("  ({})", base.result.reason)
            } else {
                String::new()
            }
        );
    }
    println!();
    println!("negatives:");
    for n in &negatives {
        println!(
            "  {:<9} {:<22} + {:<22} z {:>5.2}  {}",
            n.kind,
            n.video,
            n.audio,
            n.result.details.z.unwrap_or(f64::NAN),
            n.result.offset_ms.map_or("inconclusive".into(), |o| format!("{o:+.0} ms"))
        );
    }
    eprintln!("eval took {:.0} s", started.elapsed().as_secs_f64());
    if let Some(pins) = &args.check {
        let off = check_pins(pins, &columns[0].summary());
        if off > 0 {
            eprintln!("{off} figure(s) moved past their pinned tolerance ({})", pins.display());
            std::process::exit(1);
        }
    }
}

/// Prints each pinned figure against the measured one; returns how many are out of tolerance.
fn check_pins(pins: &Path, summary: &serde_json::Value) -> usize {
    let text = std::fs::read_to_string(pins).unwrap_or_else(|e| panic!("{}: {e}", pins.display()));
    let pinned: HashMap<String, (f64, f64)> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", pins.display()));
    let mut names: Vec<&String> = pinned.keys().collect();
    names.sort();
    names
        .into_iter()
        .filter(|name| {
            let (value, tolerance) = pinned[*name];
            let measured = summary[name.as_str()]
                .as_f64()
                .unwrap_or_else(|| panic!("the eval has no figure {name}"));
            let ok = (measured - value).abs() <= tolerance;
            println!(
                "pinned {name}: {measured:.3} against {value:.3} ± {tolerance} {}",
                if ok { "ok" } else { "MOVED" }
            );
            !ok
        })
        .count()
}
