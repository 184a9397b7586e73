//! The bad-input corpus of issue 15: about 80 hostile inputs, made once per run from a small
//! generated clip with FFmpeg and byte edits, each run through every command that reads it.
//!
//! Every run must: exit with the code pinned in the case's row; on an error exit (2, 4), print
//! exactly one line that names the file (or the bad value); never panic; finish within
//! [`RUN_TIMEOUT_S`]; stay under [`MAX_RSS_MB`] of resident memory; leave every input byte for
//! byte as it was. `AVSYNC_BAD_INPUTS_RECORD=1` prints the observed codes as table rows instead
//! of asserting them (to update the table after a deliberate change of behaviour).
//!
//! The table, and what each case means, is in docs/bad-inputs.md.

mod common;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A run still going after this long is a hang (debug build, two busy cores: the slowest
/// healthy run here, `check` on a 2 s clip, takes a few seconds).
const RUN_TIMEOUT_S: u64 = 90;
/// Peak resident memory any one run may reach (debug build; `check` loads its face models).
const MAX_RSS_MB: i64 = 1024;
/// Length of the clip every media case is made from: short, so that `check` stays cheap.
const BASE_DURATION_S: f64 = 1.0;

/// The commands run on each media case, in the order of a row's codes.
///
/// `compare-out` measures the case as a pipeline's output against the clip's own audio;
/// `compare-ref` measures the clip against the case as the reference audio.
const MEDIA_COMMANDS: [&str; 6] =
    ["probe", "check", "compare-out", "compare-ref", "preflight", "pattern-analyze"];

/// One hostile input and the commands to run on it.
struct Case {
    name: String,
    /// Argument lists, one per run.
    runs: Vec<Vec<OsString>>,
    /// What each run is, for failure messages.
    labels: Vec<String>,
    /// The expected exit code of each run, one character per run (`"044444"`).
    codes: String,
    /// What an error message must contain: the file's name (as `Path::display` shows it) or the
    /// bad value.
    named: String,
    /// Files whose bytes must not change.
    inputs: Vec<PathBuf>,
}

/// What one run did.
struct Outcome {
    code: i32,
    stderr: String,
    max_rss_mb: i64,
    elapsed: Duration,
}

/// The clip and reference every case is made from, in a private directory.
struct Base {
    dir: tempfile::TempDir,
    /// 1 s of H.264 + AAC stereo, 160×120 at 25 fps, test picture and pink noise.
    mp4: PathBuf,
    /// The same audio as 16-bit WAV, the reference for `compare`.
    wav: PathBuf,
}

impl Base {
    fn new() -> Base {
        let dir = tempfile::tempdir().unwrap();
        let mp4 = dir.path().join("base.mp4");
        let d = BASE_DURATION_S.to_string();
        common::ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s=160x120:r=25:d={d}"),
            "-f",
            "lavfi",
            "-i",
            // Noise, not a tone: `compare` needs audio that matches at one lag only.
            &format!("anoisesrc=c=pink:r=48000:a=0.3:seed=7:d={d},aformat=channel_layouts=stereo"),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
            p(&mp4),
        ]);
        let wav = dir.path().join("base.wav");
        common::ffmpeg(&["-i", p(&mp4), "-vn", "-c:a", "pcm_s16le", p(&wav)]);
        Base { dir, mp4, wav }
    }

    fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// FFmpeg `args` writing `name`; the case file's path.
    fn ff(&self, name: &str, args: &[&str]) -> PathBuf {
        let out = self.path(name);
        let mut all: Vec<&str> = args.to_vec();
        all.push(p(&out));
        common::ffmpeg(&all);
        out
    }

    /// FFmpeg re-encoding the base clip with `args` (between input and output) into `name`.
    fn reencode(&self, name: &str, args: &[&str]) -> PathBuf {
        let mut all = vec!["-i", p(&self.mp4)];
        all.extend_from_slice(args);
        self.ff(name, &all)
    }

    /// `source`'s bytes passed through `edit`, written to `name`.
    fn edit(&self, source: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
        let mut bytes = std::fs::read(source).unwrap();
        edit(&mut bytes);
        let out = self.path(name);
        std::fs::write(&out, bytes).unwrap();
        out
    }
}

/// A path as avsync's one-line messages show it: control characters escaped.
fn shown(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
        .collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Deterministic noise (xorshift), so that a failure can be reproduced.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Byte ranges (position, size) of the packets of stream `selector` (`v:0`, `a:0`).
fn packets(path: &Path, selector: &str) -> Vec<(usize, usize)> {
    common::ffprobe(
        path,
        &["-select_streams", selector, "-show_entries", "packet=pos,size", "-of", "csv=p=0"],
    )
    .lines()
    .filter_map(|line| {
        let (pos, size) = line.split_once(',')?;
        Some((pos.trim().parse().ok()?, size.trim().parse().ok()?))
    })
    .collect()
}

/// Overwrites the middle third of the packets of `selector` with noise.
fn corrupt_packets(bytes: &mut [u8], packets: &[(usize, usize)], seed: u64) {
    let third = packets.len() / 3;
    for (i, &(pos, size)) in packets[third..packets.len() - third].iter().enumerate() {
        bytes[pos..pos + size].copy_from_slice(&noise(size, seed + i as u64));
    }
}

/// Offsets of every occurrence of a box type (`b"mvhd"`) in an MP4's bytes: the type's
/// position, so the box body starts 4 bytes later.
fn find_boxes(bytes: &[u8], kind: &[u8; 4]) -> Vec<usize> {
    bytes.windows(4).enumerate().filter(|(_, w)| *w == kind).map(|(i, _)| i).collect()
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The six media commands on `path`.
fn media_runs(base: &Base, path: &Path) -> Vec<Vec<OsString>> {
    let os = |s: &str| OsString::from(s);
    let file = path.as_os_str().to_owned();
    MEDIA_COMMANDS
        .iter()
        .map(|command| match *command {
            "probe" => vec![os("probe"), file.clone()],
            "check" => vec![os("check"), file.clone()],
            "compare-out" => {
                vec![os("compare"), file.clone(), os("--audio-ref"), base.wav.clone().into()]
            }
            "compare-ref" => {
                vec![os("compare"), base.mp4.clone().into(), os("--audio-ref"), file.clone()]
            }
            "preflight" => vec![os("preflight"), file.clone(), os("--target"), os("kling-fal")],
            "pattern-analyze" => vec![os("pattern"), os("analyze"), file.clone()],
            other => unreachable!("{other}"),
        })
        .collect()
}

/// A media case: the six commands on `path`, with their expected `codes` (`"0 3 0 0 1 3"`,
/// spaces ignored; `-` skips that command: `check` costs seconds on every decodable clip, so it
/// runs on the cases that differ in what its face tracking sees).
fn media(base: &Base, name: &str, path: PathBuf, codes: &str) -> Case {
    let codes: Vec<char> = codes.chars().filter(|c| *c != ' ').collect();
    assert_eq!(codes.len(), MEDIA_COMMANDS.len(), "{name}: one code per command");
    let kept = |i: &usize| codes[*i] != '-';
    let runs = media_runs(base, &path);
    Case {
        name: name.to_string(),
        runs: (0..runs.len()).filter(kept).map(|i| runs[i].clone()).collect(),
        labels: (0..runs.len()).filter(kept).map(|i| MEDIA_COMMANDS[i].to_string()).collect(),
        codes: codes.iter().filter(|c| **c != '-').collect(),
        named: shown(&path),
        inputs: vec![path, base.mp4.clone(), base.wav.clone()],
    }
}

/// A case of bad command-line values or configuration: each argument list must exit 2 and name
/// `named`.
fn usage(name: &str, runs: Vec<Vec<OsString>>, named: &str, inputs: Vec<PathBuf>) -> Case {
    Case {
        name: name.to_string(),
        codes: "2".repeat(runs.len()),
        labels: runs.iter().map(|r| describe_run(r)).collect(),
        runs,
        named: named.to_string(),
        inputs,
    }
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// Every case. Codes are in [`MEDIA_COMMANDS`] order: probe, check, compare-out, compare-ref,
/// preflight, pattern-analyze.
fn corpus(base: &Base) -> Vec<Case> {
    let mut cases = Vec::new();
    let mp4 = &base.mp4;
    let video_packets = packets(mp4, "v:0");
    let audio_packets = packets(mp4, "a:0");

    // The base clip itself, as the control: measurable, no face, no flash.
    cases.push(media(base, "control", mp4.clone(), "0 3 0 0 1 3"));

    // Truncations. FFmpeg writes the index (moov) last: cut anywhere, it is gone.
    for (share, codes) in [(0.01, "4 - 4 4 4 4"), (0.30, "444444"), (0.99, "4 - 4 4 4 4")] {
        let name = format!("truncated_{:02.0}pct.mp4", share * 100.0);
        let cut = base.edit(mp4, &name, |b| b.truncate((b.len() as f64 * share) as usize));
        cases.push(media(base, &name, cut, codes));
    }
    let moov = find_boxes(&std::fs::read(mp4).unwrap(), b"moov")[0];
    let moov_cut = base.edit(mp4, "moov_cut.mp4", |b| b.truncate(moov + 64));
    cases.push(media(base, "moov_cut", moov_cut, "444444"));
    let faststart = base.reencode("faststart.mp4", &["-c", "copy", "-movflags", "+faststart"]);
    for (share, codes) in [(0.5, "4 - 4 4 4 4"), (0.97, "444444")] {
        let name = format!("faststart_cut_{:02.0}pct.mp4", share * 100.0);
        let cut = base.edit(&faststart, &name, |b| b.truncate((b.len() as f64 * share) as usize));
        cases.push(media(base, &name, cut, codes));
    }
    let mkv = base.reencode("base.mkv", &["-c", "copy"]);
    let mkv_cut = base.edit(&mkv, "cut_60pct.mkv", |b| b.truncate(b.len() * 6 / 10));
    cases.push(media(base, "mkv_cut", mkv_cut, "444444"));
    let wav_cut = base.edit(&base.wav, "cut_50pct.wav", |b| b.truncate(b.len() / 2));
    cases.push(media(base, "wav_cut", wav_cut, "444444"));

    // Corrupt bytes in the middle of the video, of the audio, of both; garbage spliced in.
    // compare skips and counts the damaged packets (`media_health`): above 1% of a stream
    // damaged its verdict is inconclusive (3); a damaged reference is not counted. check and
    // pattern analyze need the picture, and these 1 s clips' damaged video decodes to no frames
    // at all: exit 4, "video stream decoded to no frames".
    let video_bad = base.edit(mp4, "corrupt_video.mp4", |b| corrupt_packets(b, &video_packets, 1));
    cases.push(media(base, "corrupt_video", video_bad, "0 4 3 3 1 4"));
    let audio_bad = base.edit(mp4, "corrupt_audio.mp4", |b| corrupt_packets(b, &audio_packets, 2));
    cases.push(media(base, "corrupt_audio", audio_bad, "0 - 3 0 1 4"));
    let both_bad = base.edit(mp4, "corrupt_both.mp4", |b| {
        corrupt_packets(b, &video_packets, 3);
        corrupt_packets(b, &audio_packets, 4);
    });
    cases.push(media(base, "corrupt_both", both_bad, "0 4 3 0 1 4"));
    let inserted = base.edit(mp4, "garbage_inserted.mp4", |b| {
        let middle = b.len() / 2;
        b.splice(middle..middle, noise(20_000, 5));
    });
    cases.push(media(base, "garbage_inserted", inserted, "4 - 4 4 4 4"));
    let zeroed = base.edit(mp4, "zeroed_middle.mp4", |b| {
        let middle = b.len() / 2;
        b[middle - 2000..middle + 2000].fill(0);
    });
    cases.push(media(base, "zeroed_middle", zeroed, "0 3 3 0 1 3"));
    let header_noise = base.edit(mp4, "moov_noise.mp4", |b| {
        let at = moov + 8;
        let len = 200.min(b.len() - at);
        b[at..at + len].copy_from_slice(&noise(len, 6));
    });
    cases.push(media(base, "moov_noise", header_noise, "4 - 4 4 4 4"));
    let mkv_bad = base.edit(&mkv, "corrupt_middle.mkv", |b| {
        let middle = b.len() / 2;
        b[middle..middle + 4000].copy_from_slice(&noise(4000, 7));
    });
    cases.push(media(base, "mkv_corrupt", mkv_bad, "0 - 4 4 1 4"));

    // Random bytes, empty, text, a directory, a missing file.
    let random = base.path("random.mp4");
    std::fs::write(&random, noise(65_536, 8)).unwrap();
    cases.push(media(base, "random_bytes", random, "4 - 4 4 4 4"));
    let empty = base.path("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    cases.push(media(base, "empty", empty, "444444"));
    let text = base.path("notes.mp4");
    std::fs::write(&text, "nothing to see here\n").unwrap();
    cases.push(media(base, "text", text, "4 - 4 4 4 4"));
    let directory = base.path("folder.mp4");
    std::fs::create_dir(&directory).unwrap();
    let mut case = media(base, "directory", directory, "444444");
    case.inputs.remove(0);
    cases.push(case);
    let mut case = media(base, "missing", base.path("missing.mp4"), "444444");
    case.inputs.remove(0);
    cases.push(case);

    // Streams missing, empty or tiny.
    let zero_video = base.reencode("zero_video.mp4", &["-c", "copy", "-frames:v", "0"]);
    cases.push(media(base, "zero_length_video", zero_video, "444444"));
    let zero_audio = base.reencode("zero_audio.mp4", &["-c", "copy", "-frames:a", "0"]);
    cases.push(media(base, "zero_length_audio", zero_audio, "0 4 4 4 1 4"));
    let audio_only = base.reencode("audio_only.mp4", &["-vn", "-c", "copy"]);
    cases.push(media(base, "audio_only", audio_only, "0 4 0 0 4 4"));
    let m4a = base.reencode("audio_only.m4a", &["-vn", "-c", "copy"]);
    cases.push(media(base, "audio_only_m4a", m4a, "0 - 0 0 4 4"));
    let video_only = base.reencode("video_only.mp4", &["-an", "-c", "copy"]);
    cases.push(media(base, "video_only", video_only, "0 4 4 4 1 4"));
    let one_frame = base.reencode("one_frame.mp4", &["-frames:v", "1", "-t", "0.04"]);
    cases.push(media(base, "one_frame", one_frame, "0 3 3 3 1 3"));
    let tenth = base.reencode("tenth_second.mp4", &["-t", "0.1"]);
    cases.push(media(base, "tenth_second", tenth, "0 3 0 0 1 3"));
    let wav_header_only = base.edit(&base.wav, "header_only.wav", |b| {
        b.truncate(44);
        put_u32_le(b, 40, 0);
        put_u32_le(b, 4, 36);
    });
    cases.push(media(base, "wav_no_samples", wav_header_only, "444444"));

    // Headers that declare what is not there.
    let long_declared = base.edit(mp4, "declares_3h.mp4", |b| {
        for at in find_boxes(b, b"mvhd") {
            let scale = get_u32(b, at + 16);
            put_u32(b, at + 20, scale * 3 * 3600);
        }
    });
    cases.push(media(base, "declares_3h", long_declared, "0 3 0 0 1 3"));
    let huge_dims = base.edit(mp4, "dims_65535.mp4", |b| {
        for at in find_boxes(b, b"tkhd") {
            // Version 0 tkhd: width and height, 16.16 fixed point, end the 84-byte body.
            let end = at + 4 + 84;
            if get_u32(b, end - 8) != 0 {
                put_u32(b, end - 8, 65535 << 16);
                put_u32(b, end - 4, 65535 << 16);
            }
        }
        for at in find_boxes(b, b"avc1") {
            // Visual sample entry: 24 bytes of reserved fields, then width and height.
            b[at + 28..at + 32].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        }
    });
    cases.push(media(base, "dims_65535_mp4", huge_dims, "0 3 0 0 1 3"));
    let y4m = base.path("dims_65535.y4m");
    let mut y4m_bytes = b"YUV4MPEG2 W65535 H65535 F25:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    y4m_bytes.extend(noise(4096, 9));
    std::fs::write(&y4m, y4m_bytes).unwrap();
    cases.push(media(base, "dims_65535_y4m", y4m, "444444"));
    let wav_long = base.edit(&base.wav, "declares_long.wav", |b| {
        put_u32_le(b, 40, 0x7fff_fff0);
        put_u32_le(b, 4, 0x7fff_fff0 + 36);
    });
    cases.push(media(base, "wav_declares_long", wav_long, "444444"));

    // Audio rates and channel counts.
    let tone = |rate: u32, channels: u32| {
        format!(
            "sine=f=440:sample_rate={rate}:d={BASE_DURATION_S},aformat=channel_layouts={channels}c"
        )
    };
    let with_audio = |name: &str, audio: String, codec: &str| {
        base.ff(
            name,
            &[
                "-i",
                p(mp4),
                "-f",
                "lavfi",
                "-i",
                &audio,
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c:v",
                "copy",
                "-c:a",
                codec,
                "-shortest",
            ],
        )
    };
    let rate_8k = with_audio("audio_8k.mkv", tone(8000, 1), "pcm_s16le");
    cases.push(media(base, "audio_8khz", rate_8k, "0 - 3 3 1 3"));
    let rate_384k = with_audio("audio_384k.mkv", tone(384_000, 2), "pcm_s16le");
    cases.push(media(base, "audio_384khz", rate_384k, "0 3 3 3 1 3"));
    let wav_384k =
        base.ff("audio_384k.wav", &["-f", "lavfi", "-i", &tone(384_000, 1), "-c:a", "pcm_s24le"]);
    cases.push(media(base, "wav_384khz", wav_384k, "0 4 3 3 4 4"));
    let wav_zero_rate = base.edit(&base.wav, "rate_0hz.wav", |b| {
        put_u32_le(b, 24, 0);
        put_u32_le(b, 28, 0);
    });
    cases.push(media(base, "wav_0hz", wav_zero_rate, "444444"));
    let ch8 = with_audio("channels_8.mkv", tone(48_000, 8), "pcm_s16le");
    cases.push(media(base, "channels_8", ch8, "0 - 3 3 1 3"));
    let ch24 = with_audio("channels_24.mkv", tone(48_000, 24), "pcm_s16le");
    cases.push(media(base, "channels_24", ch24, "0 3 3 3 1 3"));
    let wav24 = base.ff("channels_24.wav", &["-f", "lavfi", "-i", &tone(48_000, 24)]);
    cases.push(media(base, "wav_24_channels", wav24, "0 - 3 3 4 4"));
    let two_tracks = base.ff(
        "two_audio_tracks_one_empty.mkv",
        &[
            "-i",
            p(mp4),
            "-f",
            "lavfi",
            "-t",
            "0.001",
            "-i",
            "anullsrc=r=48000:cl=mono",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "0:a",
            "-c:v",
            "copy",
            "-c:a",
            "pcm_s16le",
        ],
    );
    cases.push(media(base, "audio_tracks_one_empty", two_tracks, "0 - 0 0 1 3"));

    // Timestamps: huge gaps, negative, wrapping, edit lists that cut everything.
    let gaps = base.reencode(
        "vfr_gaps.mkv",
        &["-vf", "setpts='if(lt(N,25),N/25,600+(N-25)/25)/TB'", "-fps_mode", "vfr", "-c:a", "copy"],
    );
    cases.push(media(base, "vfr_huge_gap", gaps, "0 3 0 0 1 3"));
    let negative = base.ff("negative_ts.mkv", &["-itsoffset", "-1", "-i", p(mp4), "-c", "copy"]);
    cases.push(media(base, "negative_timestamps", negative, "0 - 0 0 1 3"));
    let wrapped = base.reencode(
        "wrapped_ts.ts",
        &["-c", "copy", "-bsf:v", "h264_mp4toannexb", "-output_ts_offset", "95442.7"],
    );
    cases.push(media(base, "wrapped_timestamps", wrapped, "0 3 1 0 1 3"));
    let edits = base.reencode("edits.mp4", &["-c", "copy", "-use_editlist", "1"]);
    let cut_all = base.edit(&edits, "edit_list_cuts_all.mp4", |b| {
        for at in find_boxes(b, b"elst") {
            let count = get_u32(b, at + 8) as usize;
            for entry in 0..count {
                // Version 0 entries: duration, media time (beyond the media), rate.
                put_u32(b, at + 12 + 12 * entry + 4, 0x7fff_0000);
            }
        }
    });
    cases.push(media(base, "edit_list_cuts_all", cut_all, "0 4 4 4 1 4"));

    // Picture formats: rotation, interlacing, 10-bit, 4:4:4.
    for degrees in ["90", "180", "270"] {
        let name = format!("rotated_{degrees}.mp4");
        let rotated =
            base.reencode(&name, &["-c", "copy", "-metadata:s:v:0", &format!("rotate={degrees}")]);
        let codes = if degrees == "90" { "0 3 0 0 1 3" } else { "0 - 0 0 1 3" };
        cases.push(media(base, &name, rotated, codes));
    }
    let interlaced = base.reencode(
        "interlaced.mp4",
        &["-c:v", "libx264", "-flags", "+ildct+ilme", "-x264opts", "interlaced=1", "-c:a", "copy"],
    );
    cases.push(media(base, "interlaced", interlaced, "0 3 0 0 1 3"));
    let ten_bit =
        base.reencode("10bit.mp4", &["-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-c:a", "copy"]);
    cases.push(media(base, "10_bit", ten_bit, "0 3 0 0 1 3"));
    let full_chroma =
        base.reencode("444.mp4", &["-c:v", "libx264", "-pix_fmt", "yuv444p", "-c:a", "copy"]);
    cases.push(media(base, "yuv444", full_chroma, "0 3 0 0 1 3"));

    // Things that are not video at all.
    let png = base.ff(
        "picture.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x48:d=0.04",
            "-f",
            "image2",
            "-c:v",
            "png",
            "-frames:v",
            "1",
        ],
    );
    cases.push(media(base, "png_named_mp4", png, "0 4 4 4 1 4"));
    let jpeg = base.ff(
        "photo.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x48:d=0.04",
            "-f",
            "image2",
            "-c:v",
            "mjpeg",
            "-frames:v",
            "1",
        ],
    );
    cases.push(media(base, "jpeg_named_mp4", jpeg, "0 - 4 4 1 4"));

    // Special files and names.
    let fifo = base.path("pipe.mp4");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let mut case = media(base, "fifo", fifo, "444444");
    case.inputs.remove(0);
    cases.push(case);
    let mut case = media(base, "dev_zero", PathBuf::from("/dev/zero"), "4 - 4 4 4 4");
    case.inputs.remove(0);
    cases.push(case);
    let (loop_a, loop_b) = (base.path("loop_a.mp4"), base.path("loop_b.mp4"));
    std::os::unix::fs::symlink(&loop_b, &loop_a).unwrap();
    std::os::unix::fs::symlink(&loop_a, &loop_b).unwrap();
    let mut case = media(base, "symlink_loop", loop_a, "4 - 4 4 4 4");
    case.inputs.remove(0);
    cases.push(case);
    let dangling = base.path("dangling.mp4");
    std::os::unix::fs::symlink(base.path("nowhere.mp4"), &dangling).unwrap();
    let mut case = media(base, "dangling_symlink", dangling, "4 - 4 4 4 4");
    case.inputs.remove(0);
    cases.push(case);
    let locked = base.path("locked.mp4");
    std::fs::copy(mp4, &locked).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_ok() {
        eprintln!("SKIPPED unreadable_file: this user (root?) reads a file with mode 000 anyway");
    } else {
        let mut case = media(base, "unreadable_file", locked, "444444");
        case.inputs.remove(0);
        cases.push(case);
    }
    let non_utf8 = base.path(OsStr::from_bytes(b"clip_\xff\xfe.mp4"));
    std::fs::copy(base.path("truncated_30pct.mp4"), &non_utf8).unwrap();
    cases.push(media(base, "non_utf8_name", non_utf8, "444444"));
    let newline = base.path("two\nlines.mp4");
    std::fs::copy(base.path("truncated_30pct.mp4"), &newline).unwrap();
    cases.push(media(base, "newline_in_name", newline, "444444"));
    let long_name = base.path(format!("{}.mp4", "n".repeat(250)));
    std::fs::copy(base.path("truncated_30pct.mp4"), &long_name).unwrap();
    cases.push(media(base, "longest_file_name", long_name, "4 - 4 4 4 4"));
    let mut deep = base.path("deep");
    for level in 0..20 {
        deep.push(format!("{level:02}{}", "d".repeat(60)));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let deep_file = deep.join("clip.mp4");
    std::fs::copy(mp4, &deep_file).unwrap();
    cases.push(media(base, "path_over_1300_chars", deep_file, "0 - 0 0 1 3"));
    let good_odd_name = base.path(OsString::from_vec(b"ok \xe9 'quoted' $x.mp4".to_vec()));
    std::fs::copy(mp4, &good_odd_name).unwrap();
    cases.push(media(base, "odd_name_valid_clip", good_odd_name, "0 3 0 0 1 3"));

    // Configuration files: wrong types, unknown keys, not TOML, out of range.
    let configs: [(&str, &[u8]); 8] = [
        ("config_wrong_type", b"[grade]\nprofiles = 5\n"),
        ("config_unknown_key", b"[grade]\nprofile = [\"cinema\"]\n"),
        ("config_unknown_table", b"[nope]\nx = 1\n"),
        ("config_not_toml", b"\x00\x01\x02 this is not toml ]]]\n"),
        ("config_bad_profile", b"[grade]\nprofiles = [\"+40\"]\n"),
        ("config_confidence_range", b"[grade]\nwindow_confidence = 7\n"),
        ("config_bare_window", b"[analysis]\nwindow = \"4\"\n"),
        ("config_bad_format", b"[output]\nformats = [\"pdf\"]\n"),
    ];
    for (name, text) in configs {
        let config = base.path(format!("{name}.toml"));
        std::fs::write(&config, text).unwrap();
        let c = p(&config);
        let runs = vec![
            args(&["--config", c, "probe", p(mp4)]),
            args(&["--config", c, "pattern", "analyze", p(mp4)]),
            args(&["--config", c, "check", p(mp4)]),
        ];
        cases.push(usage(name, runs, c, vec![config.clone(), mp4.clone()]));
    }
    let missing_config = base.path("absent.toml");
    cases.push(usage(
        "config_missing",
        vec![args(&["--config", p(&missing_config), "probe", p(mp4)])],
        p(&missing_config),
        vec![mp4.clone()],
    ));
    cases.push(usage(
        "config_is_directory",
        vec![args(&["--config", p(base.dir.path()), "probe", p(mp4)])],
        p(base.dir.path()),
        vec![mp4.clone()],
    ));

    // Garbage option values: tolerances and durations.
    for tolerance in ["abc", "+40", "+40/+60", "+NaN/-60", "+1e999/-60", "-40/-60", ""] {
        let runs = vec![
            args(&["pattern", "analyze", p(mp4), "--tolerance", tolerance]),
            args(&["compare", p(mp4), "--audio-ref", p(&base.wav), "--tolerance", tolerance]),
        ];
        let name = format!("tolerance '{tolerance}'");
        cases.push(usage(&name, runs, tolerance, vec![mp4.clone()]));
    }
    // A negative value reads as an option to clap: the message names what it saw ('-2').
    let durations =
        [("4", "4"), ("-2s", "'-2'"), ("0s", "0s"), ("1e999s", "1e999s"), ("NaNs", "NaNs")];
    for (duration, named) in
        durations.into_iter().chain([("4 parsecs", "parsecs"), ("infh", "infh")])
    {
        let runs = vec![
            args(&["check", p(mp4), "--window", duration]),
            args(&["compare", p(mp4), "--audio-ref", p(&base.wav), "--window", duration]),
            args(&["pattern", "generate", p(&base.path("gen.mp4")), "--duration", duration]),
        ];
        let name = format!("duration '{duration}'");
        cases.push(usage(&name, runs, named, vec![mp4.clone()]));
    }
    cases.push(usage(
        "window_confidence_out_of_range",
        vec![args(&["pattern", "analyze", p(mp4), "--window-confidence", "2"])],
        "2",
        vec![mp4.clone()],
    ));
    cases.push(usage(
        "ref_insert_time_garbage",
        vec![args(&["compare", p(mp4), "--audio-ref", p(&base.wav), "--ref-insert-time", "soon"])],
        "soon",
        vec![mp4.clone()],
    ));
    cases
}

fn put_u32_le(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Runs avsync with `args` in `cwd`, killing it after [`RUN_TIMEOUT_S`]; its exit code, stderr
/// and peak RSS (from `wait4`, so the figure is this child's alone).
fn run(args: &[OsString], cwd: &Path) -> Result<Outcome, String> {
    let stderr_file = tempfile::NamedTempFile::new().unwrap();
    let started = Instant::now();
    // Reaped below by wait4, which also gives its peak RSS; std's wait cannot.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_avsync"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file.reopen().unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data, and wait4 only writes into the two out-pointers.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -libc::WTERMSIG(status)
            };
            let stderr = std::fs::read(stderr_file.path()).unwrap();
            return Ok(Outcome {
                code,
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                max_rss_mb: usage.ru_maxrss / 1024,
                elapsed: started.elapsed(),
            });
        }
        if started.elapsed() > Duration::from_secs(RUN_TIMEOUT_S) {
            // SAFETY: the child is ours and not yet reaped, so the pid is still its.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!("still running after {RUN_TIMEOUT_S} s: killed (a hang)"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A cheap digest of a file's bytes (`None` for what is not a readable regular file).
fn digest(path: &Path) -> Option<(u64, u64)> {
    use std::hash::{Hash as _, Hasher as _};
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some((bytes.len() as u64, hasher.finish()))
}

/// Everything wrong with one run of a case.
fn problems(case: &Case, run_index: usize, outcome: &Outcome) -> Vec<String> {
    let mut found = Vec::new();
    let expected = case.codes.as_bytes()[run_index];
    if expected != b'?' && outcome.code != i32::from(expected - b'0') {
        found.push(format!("exit {} (expected {})", outcome.code, expected as char));
    }
    if outcome.stderr.contains("panicked") || outcome.code < 0 {
        found.push("panicked or was killed by a signal".to_string());
    }
    if outcome.code == 2 || outcome.code == 4 {
        let lines = outcome.stderr.trim_end().lines().count();
        if lines != 1 {
            found.push(format!("{lines} lines on stderr, not one"));
        }
        if !outcome.stderr.contains(&case.named) {
            found.push(format!("the message does not name {:?}", case.named));
        }
    }
    if outcome.max_rss_mb > MAX_RSS_MB {
        found.push(format!("peak RSS {} MB over {MAX_RSS_MB} MB", outcome.max_rss_mb));
    }
    found
}

#[test]
fn every_command_survives_every_bad_input() {
    let base = Base::new();
    let cases = corpus(&base);
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    for case in &cases {
        assert_eq!(case.runs.len(), case.codes.len(), "{}: codes per run", case.name);
    }
    let before: Vec<Vec<Option<(u64, u64)>>> =
        cases.iter().map(|c| c.inputs.iter().map(|i| digest(i)).collect()).collect();
    let work: Vec<(usize, usize)> = cases
        .iter()
        .enumerate()
        .flat_map(|(c, case)| (0..case.runs.len()).map(move |r| (c, r)))
        .collect();
    let record = std::env::var_os("AVSYNC_BAD_INPUTS_RECORD").is_some();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Outcome, String>>>> =
        Mutex::new((0..work.len()).map(|_| None).collect());
    let cwd = base.path("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(c, r)) = work.get(i) else { break };
                let outcome = run(&cases[c].runs[r], &cwd);
                results.lock().unwrap()[i] = Some(outcome);
            });
        }
    });
    let results = results.into_inner().unwrap();

    let mut failures = Vec::new();
    let mut observed: Vec<String> = cases.iter().map(|_| String::new()).collect();
    let mut peak = (0, String::new());
    let mut slowest = (Duration::ZERO, String::new());
    let mut messages = Vec::new();
    let mut per_command: std::collections::BTreeMap<String, Duration> = Default::default();
    for (&(c, r), result) in work.iter().zip(results) {
        let case = &cases[c];
        let label = format!("{} [{}]", case.name, case.labels[r]);
        match result.expect("every run ran") {
            Err(problem) => {
                observed[c].push('!');
                failures.push(format!("{label}: {problem}"));
            }
            Ok(outcome) => {
                observed[c].push_str(&outcome.code.to_string());
                if outcome.max_rss_mb > peak.0 {
                    peak = (outcome.max_rss_mb, label.clone());
                }
                *per_command.entry(case.labels[r].clone()).or_default() += outcome.elapsed;
                if outcome.elapsed > slowest.0 {
                    slowest = (outcome.elapsed, label.clone());
                }
                if outcome.code != 0 {
                    let first = outcome.stderr.lines().next().unwrap_or("").to_string();
                    messages.push(format!("{label} -> {}: {first}", outcome.code));
                }
                let mut found = problems(case, r, &outcome);
                if record {
                    found.retain(|p| !p.starts_with("exit "));
                }
                for problem in found {
                    failures.push(format!("{label}: {problem}; stderr: {}", outcome.stderr.trim()));
                }
            }
        }
    }
    for (case, digests) in cases.iter().zip(&before) {
        for (input, digest_before) in case.inputs.iter().zip(digests) {
            if digest(input) != *digest_before {
                failures.push(format!("{}: {} was modified", case.name, input.display()));
            }
        }
    }
    eprintln!(
        "{} cases, {} runs in {:.0?}; peak RSS {} MB ({}); slowest {:.1?} ({})",
        cases.len(),
        work.len(),
        started.elapsed(),
        peak.0,
        peak.1,
        slowest.0,
        slowest.1
    );
    if record {
        eprintln!("time per command: {per_command:?}");
        for line in &messages {
            eprintln!("MESSAGE {line}");
        }
        for (case, codes) in cases.iter().zip(&observed) {
            eprintln!("RECORD {:<32} {codes}", case.name);
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// A run's command in a few words, for failure messages.
fn describe_run(args: &[OsString]) -> String {
    let words: Vec<String> = args
        .iter()
        .filter(|a| !a.as_bytes().contains(&b'/'))
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    words.join(" ")
}

/// Peak RSS allowed when decoding a file whose packets take [`BIG_FILE_MB`]: well above a
/// decoder's working memory, well under the file.
const BIG_FILE_RSS_MB: i64 = 150;
const BIG_FILE_MB: u64 = 250;

/// Decoding holds no packet it has read: a file of uncompressed video several times the bound
/// is measured within it. (Reusing one packet for av_read_frame once kept every packet of the
/// file: 316 MB for this one, 1.4 GB and growing for an hour of 1080p.)
#[test]
fn memory_does_not_grow_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("raw.nut");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x180:r=50:d=60",
        "-f",
        "lavfi",
        "-i",
        "sine=d=60",
        "-c:v",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "pcm_s16le",
        p(&clip),
    ]);
    let size_mb = std::fs::metadata(&clip).unwrap().len() / 1_000_000;
    assert!(size_mb >= BIG_FILE_MB, "the clip is {size_mb} MB");
    let outcome = run(&args(&["pattern", "analyze", "--quiet", p(&clip)]), dir.path()).unwrap();
    assert!(
        outcome.max_rss_mb < BIG_FILE_RSS_MB,
        "peak RSS {} MB decoding a {size_mb} MB file",
        outcome.max_rss_mb
    );
}
