//! `avsync plan` end to end on a 3-minute voice-over made at test time: espeak-ng sentences
//! joined by silences of known length. Every chunk must be legal for its target and every cut
//! must fall where the signal is silent.

mod common;

use avsync::media::retime::{retime, Retiming};
use common::avsync;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Length of the voice-over (the 3 minutes).
const VOICE_OVER_S: f64 = 180.0;
/// Silences put between sentences, cycled.
const GAPS_S: [f64; 3] = [0.35, 0.5, 0.7];
/// Around a cut, this much of the signal either side must be silent...
const SILENT_AROUND_CUT_S: f64 = 0.05;
/// ...that is, no sample louder than this (−60 dBFS).
const SILENT_PEAK: f64 = 1e-3;

const SENTENCES: [&str; 6] = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs, and then take it home.",
    "A long voice over is cut into jobs that the service accepts.",
    "Every cut falls in a pause between words, never inside one.",
    "How vexingly quick daft zebras jump over the fence.",
    "The five boxing wizards jump quickly before the show begins.",
];

fn s(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate;
    (rate, reader.samples::<i16>().map(Result::unwrap).collect())
}

fn write_wav(path: &Path, rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in samples {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

/// The sentences spoken by espeak-ng, each trimmed of its leading and trailing silence.
fn sentences(dir: &Path) -> (u32, Vec<Vec<i16>>) {
    let mut rate = 0;
    let spoken = SENTENCES
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.join(format!("sentence{i}.wav"));
            let status = Command::new("espeak-ng")
                .args(["-v", "en", "-s", "160", "-w", s(&path), text])
                .status()
                .expect("espeak-ng is needed for this test (see README set-up)");
            assert!(status.success());
            let (r, samples) = read_wav(&path);
            rate = r;
            let loud = |x: &i16| f64::from(x.unsigned_abs()) / 32768.0 > SILENT_PEAK;
            let first = samples.iter().position(loud).unwrap();
            let last = samples.iter().rposition(loud).unwrap();
            samples[first..=last].to_vec()
        })
        .collect();
    (rate, spoken)
}

/// A voice-over of about [`VOICE_OVER_S`]: the sentences in turn, with [`GAPS_S`] between.
fn voice_over(dir: &Path) -> PathBuf {
    let (rate, spoken) = sentences(dir);
    let mut samples: Vec<i16> = Vec::new();
    let mut k = 0;
    while (samples.len() as f64) < VOICE_OVER_S * f64::from(rate) {
        samples.extend(&spoken[k % spoken.len()]);
        let gap = GAPS_S[k % GAPS_S.len()];
        samples.extend(std::iter::repeat_n(0, (gap * f64::from(rate)) as usize));
        k += 1;
    }
    let path = dir.join("voice-over.wav");
    write_wav(&path, rate, &samples);
    path
}

/// Runs `avsync plan ARGS --json -` and returns the plan.
fn plan(args: &[&str]) -> Value {
    let (code, stdout, stderr) = avsync(&[&["plan", "--json", "-"], args].concat());
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}"))
}

fn f(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("not a number: {value}"))
}

/// Asserts the chunks cover the audio, are within `min_s..=max_s`, overlap by 300 ms, and are
/// cut where the signal is silent.
fn assert_legal(plan: &Value, samples: &[i16], rate: u32, min_s: f64, max_s: f64) {
    let chunks = plan["chunks"].as_array().unwrap();
    assert!(chunks.len() > 1, "a 3-minute voice-over needs several jobs");
    let duration = f(&plan["duration_s"]);
    assert!((duration - samples.len() as f64 / f64::from(rate)).abs() < 1e-6);
    assert_eq!(f(&chunks[0]["start_s"]), 0.0);
    assert!((f(&chunks.last().unwrap()["end_s"]) - duration).abs() < 1e-9);
    for chunk in chunks {
        let len = f(&chunk["duration_s"]);
        assert!(len >= min_s && len <= max_s, "chunk of {len:.3} s: {chunk}");
    }
    for pair in chunks.windows(2) {
        let cut = f(&pair[0]["cut_end_s"]);
        assert_eq!(cut, f(&pair[1]["cut_start_s"]));
        let overlap = f(&pair[0]["end_s"]) - f(&pair[1]["start_s"]);
        assert!((overlap - 0.3).abs() < 1e-9, "overlap {overlap}");
        let around = |t: f64| ((t * f64::from(rate)) as usize).min(samples.len());
        let stretch =
            &samples[around(cut - SILENT_AROUND_CUT_S)..around(cut + SILENT_AROUND_CUT_S)];
        let peak =
            stretch.iter().map(|x| f64::from(x.unsigned_abs()) / 32768.0).fold(0.0, f64::max);
        assert!(peak <= SILENT_PEAK, "the cut at {cut:.3} s is in sound (peak {peak:.4})");
    }
}

#[test]
fn a_3_minute_voice_over_is_planned_legally_for_kling_api_and_kling_fal() {
    let dir = tempfile::tempdir().unwrap();
    let voice = voice_over(dir.path());
    let (rate, samples) = read_wav(&voice);

    let api = plan(&[s(&voice), "--target", "kling-api"]);
    assert_legal(&api, &samples, rate, 2.0, 60.0);
    for chunk in api["chunks"].as_array().unwrap() {
        let start = chunk["sound_start_time"].as_u64().unwrap();
        let end = chunk["sound_end_time"].as_u64().unwrap();
        assert!((2000..=60_000).contains(&(end - start)), "{chunk}");
        assert_eq!(chunk["sound_insert_time"].as_u64(), Some(start));
        // The crop holds the chunk, to the audio's last whole millisecond.
        assert!(f(&chunk["start_s"]) * 1e3 >= start as f64);
        assert!(f(&chunk["end_s"]) * 1e3 <= end as f64 + 1.0);
    }

    let fal = plan(&[s(&voice), "--target", "kling-fal", "--overlap", "300ms"]);
    assert_legal(&fal, &samples, rate, 2.0, 10.0);
    assert!(fal["chunks"][0].get("sound_start_time").is_none(), "kling-fal takes no crop times");
    eprintln!(
        "{:.1} s: {} kling-api chunks, {} kling-fal chunks",
        f(&api["duration_s"]),
        api["chunks"].as_array().unwrap().len(),
        fal["chunks"].as_array().unwrap().len()
    );
}

#[test]
fn written_chunks_are_cut_sample_exact_and_listed_in_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let voice = voice_over(dir.path());
    let (rate, samples) = read_wav(&voice);
    let out = dir.path().join("chunks");
    let csv = dir.path().join("plan.csv");
    let (code, text, stderr) =
        avsync(&["plan", s(&voice), "--target", "kling-fal", "--write", s(&out), "--csv", s(&csv)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("chunk(s) for kling-fal"), "{text}");
    let rows: Vec<String> =
        std::fs::read_to_string(&csv).unwrap().lines().map(String::from).collect();
    assert!(rows[0].starts_with("index,start_s,end_s,duration_s"), "{}", rows[0]);
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(rows.len() - 1, files, "one row and one file per chunk");
    for row in &rows[1..] {
        let fields: Vec<&str> = row.split(',').collect();
        let (start, end): (usize, usize) = (fields[6].parse().unwrap(), fields[7].parse().unwrap());
        let (chunk_rate, chunk) = read_wav(Path::new(fields[11]));
        assert_eq!(chunk_rate, rate);
        assert!(chunk == samples[start..end], "{} is not samples {start}..{end}", fields[11]);
    }
}

/// A `testsrc2` picture of `seconds` at 25 fps, H.264 with the given x264 GOP options.
fn test_video(path: &Path, seconds: f64, size: &str, gop: &[&str]) {
    let source = format!("testsrc2=size={size}:rate=25:duration={seconds}");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", &source, "-c:v", "libx264", "-crf", "30"])
        .args(gop)
        .args(["-pix_fmt", "yuv420p", s(path)])
        .status()
        .expect("ffmpeg is needed for this test (see README set-up)");
    assert!(status.success());
}

/// Each video packet's presentation time (s) and MD5, in presentation order.
fn video_packets(path: &Path) -> Vec<(f64, String)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_data_hash", "MD5"])
        .args(["-show_entries", "packet=pts_time,data_hash", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe is needed for this test");
    let mut packets: Vec<(f64, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let (time, hash) = line.split_once(',')?;
            Some((time.parse().ok()?, hash.to_string()))
        })
        .collect();
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    packets
}

#[test]
fn written_video_chunks_match_their_sound_and_are_copied_only_where_they_can_be() {
    // About 25 s of speech: three or four kling-fal jobs.
    let dir = tempfile::tempdir().unwrap();
    let (rate, spoken) = sentences(dir.path());
    let mut samples: Vec<i16> = Vec::new();
    for sentence in spoken.iter().take(5) {
        samples.extend(sentence);
        samples.extend(std::iter::repeat_n(0, rate as usize / 2));
    }
    let voice = dir.path().join("vo.wav");
    write_wav(&voice, rate, &samples);
    let duration_s = samples.len() as f64 / f64::from(rate) + 0.5;
    // Every frame a key frame: each chunk's packets can be copied. A 2 s GOP with B-frames:
    // chunks cut in pauses have to be re-encoded.
    let intra = dir.path().join("intra.mp4");
    test_video(&intra, duration_s, "320x240", &["-g", "1", "-bf", "0"]);
    let gop = dir.path().join("gop.mp4");
    test_video(&gop, duration_s, "1280x720", &["-g", "50", "-bf", "2"]);

    for (video, expected_cut) in [(&intra, "copied"), (&gop, "re-encoded")] {
        let out = dir.path().join(format!("chunks-{expected_cut}"));
        let plan =
            plan(&[s(&voice), "--video", s(video), "--target", "kling-fal", "--write", s(&out)]);
        let chunks = plan["chunks"].as_array().unwrap();
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        let source = video_packets(video);
        for chunk in chunks {
            assert_eq!(chunk["video_cut"], expected_cut);
            let file = PathBuf::from(chunk["video_file"].as_str().unwrap());
            let packets = video_packets(&file);
            let (start, end) = (f(&chunk["start_s"]), f(&chunk["end_s"]));
            // The frame shown at the chunk's start comes first, at 0; then every frame that
            // starts before its end, each at its own time less the start.
            let expected: Vec<&(f64, String)> = source
                .iter()
                .enumerate()
                .filter(|(i, (t, _))| {
                    let next = source.get(i + 1).map_or(f64::INFINITY, |n| n.0);
                    next > start + 1e-6 && *t < end - 1e-6
                })
                .map(|(_, packet)| packet)
                .collect();
            assert_eq!(packets.len(), expected.len(), "{}: frames", file.display());
            assert_eq!(packets[0].0, 0.0, "{}: starts at 0", file.display());
            for (got, want) in packets.iter().zip(&expected).skip(1) {
                assert!(
                    (got.0 - (want.0 - start)).abs() <= 0.001,
                    "{}: frame at {} s, want {} s",
                    file.display(),
                    got.0,
                    want.0 - start
                );
            }
            if expected_cut == "copied" {
                let same = packets.iter().zip(&expected).all(|(got, want)| got.1 == want.1);
                assert!(same, "{}: copied packets differ from the source's", file.display());
            } else {
                // The job (this picture with its sound) passes preflight for the target: the
                // video's format, size, duration and dimensions, the audio's, and their fit.
                let wav = chunk["file"].as_str().unwrap();
                let job = [s(&file), "--audio", wav, "--target", "kling-fal", "--json", "-"];
                let (code, stdout, stderr) = avsync(&[&["preflight"][..], &job].concat());
                let report: Value = serde_json::from_str(&stdout)
                    .unwrap_or_else(|e| panic!("no JSON ({e}): {stderr}"));
                let rules = report["rules"].as_array().expect("preflight lists its rules");
                assert!(rules.len() >= 9, "{}: {} rules", file.display(), rules.len());
                for rule in rules {
                    assert_eq!(rule["status"], "pass", "{}: {rule}", file.display());
                }
                assert_eq!((code, &report["verdict"]), (0, &Value::from("pass")));
            }
        }
    }
}

/// `samples` read at `source_time(t)` for each output sample from `from` to `to` (indices),
/// by the library's band-limited retiming.
fn read_at(samples: &[i16], rate: u32, retiming: &Retiming, from: usize, to: usize) -> Vec<i16> {
    let input: Vec<f32> = samples.iter().map(|&x| f32::from(x) / 32768.0).collect();
    let retimed = retime(&[input], 0.0, rate, retiming);
    retimed.channels[0][from..to]
        .iter()
        .map(|&x| (f64::from(x) * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// About `seconds` of speech that never repeats itself (each sentence spoken at its own pitch
/// and speed), with half-second pauses: a reference `compare` can place without ambiguity.
fn distinct_voice_over(dir: &Path, seconds: f64) -> PathBuf {
    let mut samples: Vec<i16> = Vec::new();
    let mut rate = 0;
    for k in 0.. {
        if rate > 0 && samples.len() as f64 >= seconds * f64::from(rate) {
            break;
        }
        let path = dir.join(format!("distinct{k}.wav"));
        let (pitch, speed) = ((20 + 7 * k % 60).to_string(), (140 + 9 * k % 50).to_string());
        let text = SENTENCES[k % SENTENCES.len()];
        let status = Command::new("espeak-ng")
            .args(["-v", "en", "-p", &pitch, "-s", &speed, "-w", s(&path), text])
            .status()
            .expect("espeak-ng is needed for this test (see README set-up)");
        assert!(status.success());
        let (r, spoken) = read_wav(&path);
        rate = r;
        samples.extend(spoken);
        samples.extend(std::iter::repeat_n(0, rate as usize / 2));
    }
    let path = dir.join("distinct.wav");
    write_wav(&path, rate, &samples);
    path
}

#[test]
fn a_stitched_output_is_read_chunk_by_chunk_with_its_seams() {
    // Two minutes of speech planned for kling-api (3 jobs of at most 60 s), then "stitched" as
    // a service's outputs might be: job 2's sound 80 ms late from its first cut and its clock
    // 30 ppm slow, job 3 keeping where job 2 ended (so the seam between 2 and 3 is clean).
    let dir = tempfile::tempdir().unwrap();
    let voice = distinct_voice_over(dir.path(), 125.0);
    let (rate, samples) = read_wav(&voice);
    let plan_path = dir.path().join("plan.json");
    let (code, _, stderr) =
        avsync(&["plan", s(&voice), "--target", "kling-api", "--json", s(&plan_path)]);
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let cuts: Vec<f64> =
        plan["chunks"].as_array().unwrap().iter().map(|c| f(&c["cut_end_s"])).collect();
    assert_eq!(cuts.len(), 3, "{plan}");
    let at = |t: f64| (t * f64::from(rate)).round() as usize;
    let (late_s, slow) = (0.080, 30e-6);
    let drift_end_s = late_s + slow * (cuts[1] - cuts[0]);
    let mut stitched = samples[..at(cuts[0])].to_vec();
    let drifting = Retiming { offset_s: late_s, slope: slow, reference_s: cuts[0] };
    stitched.extend(read_at(&samples, rate, &drifting, at(cuts[0]), at(cuts[1])));
    let later = Retiming { offset_s: drift_end_s, slope: 0.0, reference_s: 0.0 };
    stitched.extend(read_at(&samples, rate, &later, at(cuts[1]), samples.len()));
    let output = dir.path().join("stitched.wav");
    write_wav(&output, rate, &stitched);

    let args = ["compare", s(&output), "--audio-ref", s(&voice), "--plan", s(&plan_path)];
    let (code, stdout, stderr) = avsync(
        &[&args[..], &["--profile", "broadcast", "--profile", "cinema", "--json", "-"]].concat(),
    );
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stderr}"));
    let chunks = report["reference"]["chunks"].as_array().expect("chunks with --plan");
    let seams = report["reference"]["seams"].as_array().expect("and seams");
    assert_eq!((chunks.len(), seams.len()), (3, 2));
    assert!(f(&chunks[0]["offset_ms"]).abs() <= 0.1, "{}", chunks[0]);
    assert!((f(&chunks[2]["offset_ms"]) + drift_end_s * 1e3).abs() <= 0.1, "{}", chunks[2]);
    let drift = f(&chunks[1]["drift"]["ppm"]);
    assert!((drift + 30.0).abs() <= 2.0, "chunk 2 drifts {drift:.2} ppm, made -30");
    for steady in [0, 2] {
        // Within 2 ppm beyond its own 95% interval (chunk 3 is short: a few windows).
        let drift = &chunks[steady]["drift"];
        let (ppm, interval) = (f(&drift["ppm"]), f(&drift["uncertainty_ppm"]));
        assert!(ppm.abs() <= 2.0 + interval, "chunk {} drifts {ppm:.2} ppm, made 0", steady + 1);
    }
    let jump = f(&seams[0]["jump_ms"]);
    assert!((jump + 80.0).abs() <= 1.0, "seam 1|2 jumps {jump:.3} ms, made -80");
    assert_eq!(seams[0]["kind"], "gap");
    assert_eq!(seams[0]["crossfade_hides"], true, "80 ms within the 300 ms cross-fade");
    assert_eq!(seams[1]["kind"], "clean", "{}", seams[1]);
    // Jobs 2 and 3 are about 80 ms late: inside broadcast's 90 ms, outside cinema's 22 ms.
    let grade = |chunk: &Value, profile: usize| chunk["verdicts"][profile]["result"].clone();
    assert_eq!((grade(&chunks[0], 0), grade(&chunks[0], 1)), ("pass".into(), "pass".into()));
    assert_eq!((grade(&chunks[1], 0), grade(&chunks[1], 1)), ("pass".into(), "fail".into()));
    assert_eq!(code, 1, "cinema fails: {stderr}");

    // The text names each chunk and seam, the HTML has their tables beside the offset plot;
    // a file that is not a plan is refused.
    let html = dir.path().join("stitched.html");
    let (_, text, stderr) = avsync(&[&args[..], &["--html", s(&html)]].concat());
    let page = std::fs::read_to_string(&html).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(page.contains("<h2>Chunks</h2>") && page.contains("<h2>Seams</h2>"));
    assert!(page.contains("seam between chunks"), "the plot's legend names the seams");
    assert!(text.contains("chunk 2 ") && text.contains("seam 1|2 at "), "{text}");
    assert!(text.contains("the later chunk's sound 80.0 ms late"), "{text}");
    let not_a_plan = ["compare", s(&output), "--audio-ref", s(&voice), "--plan", s(&voice)];
    let (code, _, stderr) = avsync(&not_a_plan);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("not an avsync plan") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn audio_shorter_than_a_job_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.wav");
    write_wav(&short, 16_000, &vec![1000; 24_000]);
    let json = dir.path().join("plan.json");
    let out = dir.path().join("chunks");
    let (code, _, stderr) = avsync(&[
        "plan",
        s(&short),
        "--target",
        "kling-api",
        "--json",
        s(&json),
        "--write",
        s(&out),
    ]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("short.wav") && stderr.contains("1.50 s, shorter than"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
    assert!(!json.exists() && !out.exists(), "nothing written");

    let (code, _, stderr) =
        avsync(&["plan", s(&short), "--target", "kling-api", "--overlap", "1s"]);
    assert_eq!(code, 2, "{stderr}");
}
