//! Fuzzing on the stable toolchain (issue 15), under `cargo test`:
//!
//! - property tests (proptest) on every parser of ours: durations, offsets, sizes and frame
//!   rates from the command line, tolerances and profiles, channel names, `avsync.toml`, the
//!   MP4 box reader, saved JSON reports;
//! - a seeded byte mutator (flips, overwrites, inserts, deletions, truncations) over small
//!   generated clips, through the library's `probe`, `decode` and `compare`.
//!
//! CI runs a bounded number of cases. For a longer local soak set `AVSYNC_SOAK_ITERATIONS`
//! (mutants per fixture, and property cases per parser), e.g.
//! `AVSYNC_SOAK_ITERATIONS=5000 cargo test --release --test fuzz`. A failing mutant prints the
//! seed that makes it again; crashes found this way are kept as regression cases below.

mod common;

use avsync::commands::compare::{self, CompareOptions};
use avsync::config::Config;
use avsync::features::pattern::synth::FrameRate;
use avsync::grade::{GradeOptions, Profile};
use avsync::limits::DurationRange;
use avsync::media::{self, mp4, AudioOptions, ChannelSelect, DecodeOptions, VideoOptions};
use avsync::units;
use proptest::prelude::*;
use std::io::Cursor;
use std::path::Path;

/// Mutants per fixture in CI: each costs a probe and a decode of a 3 s clip.
const CI_MUTANTS: u64 = 24;
/// Property cases per parser in CI (they are cheap).
const CI_PROPERTY_CASES: u32 = 512;

fn soak_iterations() -> Option<u64> {
    std::env::var("AVSYNC_SOAK_ITERATIONS").ok().and_then(|v| v.parse().ok())
}

fn property_config() -> ProptestConfig {
    let cases = soak_iterations().map_or(CI_PROPERTY_CASES, |n| n.min(u64::from(u32::MAX)) as u32);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Text that looks like what a user might type: digits, signs, units, separators, and now and
/// then anything at all.
fn option_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+0-9.eE]{0,12}(us|µs|ms|s|sec|m|min|h|x|/|)[ 0-9.]{0,4}",
        "[-+]?[0-9]{0,25}(\\.[0-9]{0,25})?(/[-+]?[0-9]{0,25}(\\.[0-9]{0,25})?)?",
        "[+-]?(inf|NaN|infinity|1e999|-0)(ms|s|)",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(property_config())]

    #[test]
    fn durations_parse_to_finite_seconds_or_say_why(text in option_text()) {
        match units::parse_duration_s(&text) {
            Ok(seconds) => prop_assert!(seconds.is_finite(), "{text:?} -> {seconds}"),
            Err(message) => prop_assert!(!message.is_empty() && !message.contains('\n')),
        }
        let range = DurationRange::new(0.04, 10.0);
        if let Ok(seconds) = range.parse(&text) {
            prop_assert!((range.min_s..=range.max_s).contains(&seconds), "{text:?} -> {seconds}");
        }
        if let Ok(ms) = units::parse_offset_ms(&text) {
            prop_assert!(ms.is_finite());
        }
        let _ = units::parse_size(&text);
        if let Ok(rate) = text.parse::<FrameRate>() {
            prop_assert!(rate.num > 0 && rate.den > 0 && rate.fps() <= 1000.0);
        }
        let _ = text.parse::<ChannelSelect>();
    }

    #[test]
    fn durations_written_with_a_unit_read_back(value in -1e6f64..1e6, unit in 0usize..5) {
        let (suffix, scale) = [("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("h", 3600.0)][unit];
        let parsed = units::parse_duration_s(&format!("{value}{suffix}")).unwrap();
        prop_assert!((parsed - value * scale).abs() <= 1e-9 * (value * scale).abs().max(1.0));
    }

    #[test]
    fn tolerances_parse_to_finite_limits_or_a_usage_error(text in option_text()) {
        for parsed in [Profile::parse(&text), Profile::parse_tolerance(&text)] {
            match parsed {
                Ok(p) => prop_assert!(
                    p.early_ms.is_finite() && p.late_ms.is_finite()
                        && p.early_ms >= 0.0 && p.late_ms >= 0.0
                ),
                Err(e) => prop_assert_eq!(e.exit_code(), 2),
            }
        }
    }

    #[test]
    fn tolerances_written_as_limits_read_back(early in 0.0f64..1e4, late in 0.0f64..1e4) {
        let profile = Profile::parse_tolerance(&format!("+{early}/-{late}")).unwrap();
        prop_assert_eq!((profile.early_ms, profile.late_ms), (early, late));
        // The name it is reported under parses back to the same limits.
        let again = Profile::parse(&profile.name).unwrap();
        prop_assert_eq!((again.early_ms, again.late_ms), (early, late));
    }

    #[test]
    fn any_config_text_parses_or_gives_one_line(text in config_text()) {
        match Config::parse(&text) {
            Ok(config) => {
                for profile in &config.grade.profiles {
                    prop_assert!(profile.early_ms.is_finite() && profile.late_ms.is_finite());
                }
                if let Some(c) = config.grade.window_confidence {
                    prop_assert!((0.0..=1.0).contains(&c));
                }
                if let Some(w) = config.analysis.window_s {
                    prop_assert!(w > 0.0 && w.is_finite());
                }
            }
            Err(message) => prop_assert!(!message.is_empty() && !message.contains('\n'), "{message:?}"),
        }
    }

    #[test]
    fn the_mp4_box_reader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = mp4::read_from(&mut Cursor::new(&bytes), bytes.len() as u64);
    }

    #[test]
    fn the_mp4_box_reader_takes_boxes_with_any_sizes(boxes in prop::collection::vec(mp4_box(), 1..6)) {
        let bytes: Vec<u8> = boxes.concat();
        if let Some(found) = mp4::read_from(&mut Cursor::new(&bytes), bytes.len() as u64) {
            for track in &found.tracks {
                let _ = track.audio_edit(found.movie_timescale);
            }
        }
    }

    #[test]
    fn saved_reports_load_or_give_an_input_error(text in report_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("saved.json");
        std::fs::write(&path, &text).unwrap();
        match avsync::commands::report::run(&[&path], &GradeOptions::default()) {
            Ok(reports) => prop_assert!(!reports.is_empty()),
            Err(e) => prop_assert_eq!(e.exit_code(), 4),
        }
    }
}

/// Config files: the real keys with values of every type, unknown keys, broken syntax.
fn config_text() -> impl Strategy<Value = String> {
    let known = [
        "profiles",
        "window_policy",
        "window_confidence",
        "marginal",
        "window",
        "search_range",
        "dir",
        "formats",
        "json_plots",
    ];
    let key =
        prop_oneof![prop::sample::select(known.to_vec()).prop_map(str::to_string), "[a-z_]{1,10}",];
    let value = prop_oneof![
        Just("[\"cinema\", \"+40/-60\"]".to_string()),
        Just("[\"+1e999/-1\"]".to_string()),
        Just("\"4s\"".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("[\"json\", \"pdf\"]".to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        any::<bool>().prop_map(|v| v.to_string()),
        "\"[^\"\\\\\n]{0,12}\"",
        "[^\n]{0,12}",
    ];
    let table = prop_oneof![
        prop::sample::select(vec!["grade", "analysis", "output"]).prop_map(str::to_string),
        "[a-z]{1,6}",
    ];
    prop::collection::vec((table, prop::collection::vec((key, value), 0..4)), 0..4).prop_map(
        |tables| {
            tables
                .into_iter()
                .map(|(table, entries)| {
                    let lines: Vec<String> =
                        entries.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    format!("[{table}]\n{}\n", lines.join("\n"))
                })
                .collect()
        },
    )
}

/// One ISO box: a real or random type, a size that may lie, a body that may hold boxes.
fn mp4_box() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        Just(*b"ftyp"),
        Just(*b"moov"),
        Just(*b"mvhd"),
        Just(*b"trak"),
        Just(*b"tkhd"),
        Just(*b"mdia"),
        Just(*b"mdhd"),
        Just(*b"hdlr"),
        Just(*b"edts"),
        Just(*b"elst"),
        Just(*b"mdat"),
        any::<[u8; 4]>(),
    ];
    let size = prop_oneof![
        Just(None),
        Just(Some(0u64)),
        Just(Some(1)),
        Just(Some(u64::MAX)),
        Just(Some(u64::from(u32::MAX))),
        any::<u64>().prop_map(Some),
    ];
    let leaf = (kind.clone(), size.clone(), prop::collection::vec(any::<u8>(), 0..48));
    let inner = prop::collection::vec(leaf.clone().prop_map(encode_box), 0..4);
    (kind, size, inner, prop::collection::vec(any::<u8>(), 0..24)).prop_map(
        |(kind, size, children, tail)| {
            let mut body = children.concat();
            body.extend(tail);
            encode_box((kind, size, body))
        },
    )
}

/// A box with `body`; `size` overrides the true size (`None`: the true one). Sizes that do not
/// fit 32 bits are written in the 64-bit form.
fn encode_box((kind, size, body): ([u8; 4], Option<u64>, Vec<u8>)) -> Vec<u8> {
    let true_size = body.len() as u64 + 8;
    let mut out = Vec::with_capacity(body.len() + 16);
    match size.unwrap_or(true_size) {
        small if small <= u64::from(u32::MAX) && small != 1 => {
            out.extend((small as u32).to_be_bytes());
            out.extend(kind);
        }
        large => {
            out.extend(1u32.to_be_bytes());
            out.extend(kind);
            out.extend(large.to_be_bytes());
        }
    }
    out.extend(body);
    out
}

/// Saved reports: a real one with a field changed, cut or doubled, or any text.
fn report_text() -> impl Strategy<Value = String> {
    let real = saved_report();
    prop_oneof![
        (0..real.len(), any::<u8>()).prop_map({
            let real = real.clone();
            move |(at, byte)| {
                let mut bytes = real.clone().into_bytes();
                bytes[at] = byte;
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }),
        (0..real.len()).prop_map({
            let real = real.clone();
            move |at| real[..real.floor_char_boundary_compat(at)].to_string()
        }),
        Just(format!("{real}\n{real}")),
        Just(format!("[{real}, 1]")),
        Just("[]".to_string()),
        any::<String>(),
    ]
}

/// `str::floor_char_boundary` is not stable yet.
trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, at: usize) -> usize;
}

impl FloorCharBoundary for String {
    fn floor_char_boundary_compat(&self, mut at: usize) -> usize {
        while !self.is_char_boundary(at) {
            at -= 1;
        }
        at
    }
}

/// A real report, as `--json` writes it: `pattern analyze` of a generated clip.
fn saved_report() -> String {
    let clip = &common::fixture("h264_aac_25.mp4").path;
    let report = avsync::commands::pattern::analyze(clip, &GradeOptions::default(), false).unwrap();
    serde_json::to_string(&report).unwrap()
}

/// One seeded edit of a file's bytes.
#[derive(Clone, Copy, Debug)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Overwrite { at: usize, len: usize },
    Insert { at: usize, len: usize },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
}

/// A small deterministic generator (splitmix64): a seed is all it takes to make a mutant again.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `bytes` with one to eight mutations drawn from `seed`; the mutations, for the failure message.
fn mutate(bytes: &[u8], seed: u64) -> (Vec<u8>, Vec<Mutation>) {
    let mut rng = SplitMix(seed);
    let mut out = bytes.to_vec();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(8) {
        let len = out.len();
        let mutation = match rng.below(10) {
            0..=3 => Mutation::Flip { at: rng.below(len), bit: rng.below(8) as u8 },
            4..=5 => Mutation::Overwrite { at: rng.below(len), len: 1 + rng.below(64) },
            6 => Mutation::Insert { at: rng.below(len), len: 1 + rng.below(4096) },
            7..=8 => Mutation::Delete { at: rng.below(len), len: 1 + rng.below(256) },
            _ => Mutation::Truncate { at: len / 2 + rng.below(len / 2) },
        };
        match mutation {
            Mutation::Flip { at, bit } if at < len => out[at] ^= 1 << bit,
            Mutation::Overwrite { at, len: n } => {
                for byte in out.iter_mut().take((at + n).min(len)).skip(at) {
                    *byte = rng.next() as u8;
                }
            }
            Mutation::Insert { at, len: n } => {
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                out.splice(at.min(len)..at.min(len), junk);
            }
            Mutation::Delete { at, len: n } => {
                out.drain(at.min(len)..(at + n).min(len));
            }
            Mutation::Truncate { at } => out.truncate(at),
            Mutation::Flip { .. } => {}
        }
        done.push(mutation);
    }
    (out, done)
}

/// Runs `work` on mutants of `fixture`; fails with the seed of every mutant that panicked.
fn fuzz_fixture(fixture: &str, salt: u64, work: impl Fn(&Path) + std::panic::RefUnwindSafe) {
    let source = &common::fixture(fixture).path;
    let bytes = std::fs::read(source).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extension = source.extension().unwrap().to_str().unwrap();
    let iterations = soak_iterations().unwrap_or(CI_MUTANTS);
    let mut crashes = Vec::new();
    for i in 0..iterations {
        let seed = salt.wrapping_mul(1_000_003).wrapping_add(i);
        let (mutant, mutations) = mutate(&bytes, seed);
        let path = dir.path().join(format!("mutant.{extension}"));
        std::fs::write(&path, &mutant).unwrap();
        if std::panic::catch_unwind(|| work(&path)).is_err() {
            crashes.push(format!("{fixture} seed {seed}: {mutations:?}"));
        }
    }
    assert!(crashes.is_empty(), "panics:\n{}", crashes.join("\n"));
}

/// Probing and decoding a mutant either works or gives one-line input error naming the file.
fn probe_and_decode(path: &Path) {
    let expect_input_error = |result: avsync::Result<()>| {
        if let Err(e) = result {
            assert_eq!(e.exit_code(), 4, "{e}");
            let message = e.to_string();
            assert!(!message.contains('\n') && message.contains("mutant"), "{message}");
        }
    };
    expect_input_error(media::probe(path).map(|_| ()));
    let options = DecodeOptions {
        video: Some(VideoOptions::default()),
        audio: Some(AudioOptions::default()),
    };
    expect_input_error(media::decode(path, &options, &mut common::Recorder::default()).map(|_| ()));
}

#[test]
fn mutated_mp4_probes_and_decodes_or_fails_cleanly() {
    fuzz_fixture("h264_aac_25.mp4", 1, probe_and_decode);
}

#[test]
fn mutated_matroska_probes_and_decodes_or_fails_cleanly() {
    fuzz_fixture("audio_late_050.mkv", 2, probe_and_decode);
}

#[test]
fn mutated_audio_files_probe_and_decode_or_fail_cleanly() {
    for (i, name) in ["click_s16.wav", "click.m4a", "click.mp3", "click.flac"].iter().enumerate() {
        fuzz_fixture(name, 10 + i as u64, |path| {
            probe_and_decode(path);
            let _ = media::decode_audio(path, &AudioOptions::default());
        });
    }
}

#[test]
fn mutated_references_compare_or_fail_cleanly() {
    let output = common::fixture("h264_aac_25.mp4").path.clone();
    fuzz_fixture("click_s16.wav", 20, |reference| {
        let options = CompareOptions::new(output.clone(), reference.to_path_buf());
        if let Err(e) = compare::run(&options, &GradeOptions::default()) {
            assert_eq!(e.exit_code(), 4, "{e}");
        }
    });
}

/// Regression cases: inputs the fuzzers above found to crash, kept fixed.
mod regressions {
    use super::*;

    #[test]
    fn a_frame_rate_whose_decimal_overflows_is_refused() {
        let err = "18446744073709551615.5".parse::<FrameRate>().unwrap_err();
        assert!(err.contains("out of range") || err.contains("not a frame rate"), "{err}");
    }

    #[test]
    fn a_box_declaring_the_largest_size_is_read_without_overflow() {
        let bytes = [
            encode_box((*b"ftyp", None, b"isom\0\0\0\0".to_vec())),
            encode_box((*b"free", Some(u64::MAX), vec![0; 8])),
        ]
        .concat();
        let boxes = mp4::read_from(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert!(boxes.missing_bytes > 0);
    }
}
