//! `avsync compare` on the real corpus pairs (`../shared/corpus`): generated talking-head
//! clips against the driving audio they were made from. Skipped, with a message, where the
//! corpus is absent.
//!
//! The clips' audio tracks are the driving audio re-encoded, so the reference must be found,
//! as one segment, at an offset well under a millisecond; foreign audio must not be.

use avsync::commands::compare::{run, CompareOptions};
use avsync::grade::GradeOptions;
use avsync::report::Outcome;
use std::path::{Path, PathBuf};

/// (output, audio reference, video reference) by corpus id.
const PAIRS: &[(&str, &str, Option<&str>)] = &[
    ("geneface-zozo", "geneface-zozo-audio", None),
    ("synctalk-demo", "synctalk-demo-audio", None),
    ("vasa-3", "vasa-3-audio", None),
    ("vasa-10", "vasa-10-audio", None),
    ("emo-hb", "emo-hb-audio", None),
    ("emo-joker", "emo-joker-audio", None),
    ("emo-mona", "emo-mona-audio", None),
    ("wav2lip-mona-out", "wav2lip-mona-audio", Some("wav2lip-mona-src")),
];

/// Largest offset accepted between a clip's track and its driving audio.
const MAX_OFFSET_MS: f64 = 1.0;

/// The corpus file of `id` (from manifest.tsv), or `None` where the corpus is absent.
fn corpus_file(id: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let manifest = std::fs::read_to_string(root.join("manifest.tsv")).ok()?;
    let file = manifest
        .lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .find(|fields| fields[0] == id)
        .unwrap_or_else(|| panic!("{id} is not in the corpus manifest"))[1];
    Some(root.join(file))
}

#[test]
fn driving_audio_is_found_in_each_generated_clip() {
    let broadcast = GradeOptions::default();
    for &(output, audio, video) in PAIRS {
        let (Some(output_path), Some(audio_path)) = (corpus_file(output), corpus_file(audio))
        else {
            eprintln!("skipped: ../shared/corpus is absent");
            return;
        };
        let mut options = CompareOptions::new(output_path, audio_path);
        options.video_ref = video.and_then(corpus_file);
        let report = run(&options, &broadcast).unwrap();
        let details = report.reference.as_ref().unwrap();
        let offset = details.audio_offset_ms.unwrap_or_else(|| panic!("{output}: not found"));
        assert!(offset.abs() < MAX_OFFSET_MS, "{output}: audio offset {offset} ms");
        assert_eq!(details.segments.len(), 1, "{output}: {:?}", details.segments);
        assert!(details.audio_confidence > 0.999, "{output}: {}", details.audio_confidence);
        assert_eq!(report.verdict, Outcome::Pass, "{output}: {}", report.reason);
        if video.is_some() {
            // The Wav2Lip source is a still painting: no video offset to measure.
            assert!(details.video_still, "{output}: {:?}", details.video_offset_ms);
        }
    }
}

#[test]
fn foreign_audio_is_inconclusive() {
    let broadcast = GradeOptions::default();
    for (output, audio) in [
        ("latentsync-demo1", "latentsync-demo1-audio"),
        ("latentsync-demo2", "latentsync-demo2-audio"),
        ("emo-hb", "vasa-3-audio"),
    ] {
        let (Some(output_path), Some(audio_path)) = (corpus_file(output), corpus_file(audio))
        else {
            eprintln!("skipped: ../shared/corpus is absent");
            return;
        };
        let report = run(&CompareOptions::new(output_path, audio_path), &broadcast).unwrap();
        assert_eq!(report.verdict, Outcome::Inconclusive, "{output} with {audio}");
    }
}
