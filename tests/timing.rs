//! Decoded frame and sample times against ffprobe's, and the flash and beep of every generated
//! fixture found where they were placed.

mod common;

use avsync::media::{
    self, AudioBackend, AudioOptions, ChannelSelect, DecodeOptions, FrameSize, SampleRate,
    VideoOptions,
};
use common::{beep_onset_s, click_s, ffprobe_frames, fixture, fixtures, flash_s, Recorder};

/// Decoded times must match ffprobe's to this (seconds).
const TIME_TOLERANCE_S: f64 = 0.001;

fn native_audio() -> AudioOptions {
    AudioOptions { sample_rate: SampleRate::Native, ..Default::default() }
}

fn decode_all(path: &std::path::Path) -> Recorder {
    let options = DecodeOptions {
        video: Some(VideoOptions { size: FrameSize::LongestSide(64), ..Default::default() }),
        audio: Some(native_audio()),
    };
    let mut recorder = Recorder::default();
    media::decode(path, &options, &mut recorder).unwrap();
    recorder
}

#[test]
fn video_frame_times_match_ffprobe_on_every_fixture() {
    for fixture in fixtures().iter().filter(|f| f.kind == "av") {
        let recorder = decode_all(&fixture.path);
        let reference = ffprobe_frames(&fixture.path, "v:0");
        assert_eq!(recorder.frames.len(), reference.len(), "{}: frame count", fixture.name());
        for (i, ((ours, _), (theirs, _))) in recorder.frames.iter().zip(&reference).enumerate() {
            assert!(
                (ours - theirs).abs() <= TIME_TOLERANCE_S,
                "{} frame {i}: {ours} s, ffprobe {theirs} s",
                fixture.name()
            );
        }
    }
}

#[test]
fn audio_sample_times_match_ffprobe_on_every_fixture() {
    for fixture in fixtures() {
        let recorder = decode_all_audio(&fixture.path, AudioBackend::Auto);
        let reference = ffprobe_frames(&fixture.path, "a:0");
        let ours = recorder.chunks[0].0;
        let rate = f64::from(recorder.chunks[0].1);
        // Our time of each of ffprobe's frames: our first sample's time plus the samples before.
        let mut before = 0usize;
        let mut ffprobe_glitches = 0;
        for (i, (t, n)) in reference.iter().enumerate() {
            let our_t = ours + before as f64 / rate;
            before += n;
            if (our_t - t).abs() <= TIME_TOLERANCE_S {
                continue;
            }
            // FFmpeg times single frames wrongly (Vorbis at a block-size change), contradicting
            // its own sample counts on both sides; we place such frames by count.
            let counted_next =
                reference.get(i + 1).map(|(next, _)| our_t + *n as f64 / rate - next);
            let glitch = i > 0 && counted_next.is_some_and(|d| d.abs() <= TIME_TOLERANCE_S);
            assert!(glitch, "{} audio frame {i}: {our_t} s, ffprobe {t} s", fixture.name());
            ffprobe_glitches += 1;
        }
        assert!(
            ffprobe_glitches * 50 <= reference.len(),
            "{}: {ffprobe_glitches} of {} frames disagree with ffprobe",
            fixture.name(),
            reference.len()
        );
    }
}

fn decode_all_audio(path: &std::path::Path, backend: AudioBackend) -> Recorder {
    let options = DecodeOptions { video: None, audio: Some(native_audio()) };
    let mut recorder = Recorder::default();
    media::decode_with(path, &options, backend, &mut recorder).unwrap();
    recorder
}

#[test]
fn flash_and_beep_are_found_where_they_were_placed() {
    for fixture in fixtures().iter().filter(|f| f.kind == "av") {
        let recorder = decode_all(&fixture.path);
        let frame_s = recorder.frames[1].0 - recorder.frames[0].0;
        let flash = flash_s(&recorder.frames);
        let expected = fixture.flash_s.unwrap();
        assert!(
            (flash - expected).abs() <= frame_s + 1e-6,
            "{}: flash at {flash} s, placed at {expected} s",
            fixture.name()
        );

        let audio = media::decode_audio(&fixture.path, &native_audio()).unwrap();
        let beep = beep_onset_s(&audio);
        let expected = fixture.beep_s.unwrap();
        let sample_s = 1.0 / f64::from(audio.sample_rate);
        // Matroska stores times in milliseconds: no file can say more than that.
        let precision_s = audio_tick_s(&fixture.path) / 2.0;
        assert!(
            (beep - expected).abs() <= sample_s.max(precision_s) + 1e-9,
            "{}: beep at {beep} s, placed at {expected} s ({:+.1} samples)",
            fixture.name(),
            (beep - expected) / sample_s
        );
    }
}

/// One tick of the audio stream's time base, in seconds.
fn audio_tick_s(path: &std::path::Path) -> f64 {
    let time_base = common::ffprobe(
        path,
        &["-select_streams", "a:0", "-show_entries", "stream=time_base", "-of", "csv=p=0"],
    );
    let (num, den) = time_base.trim().split_once('/').unwrap();
    num.parse::<f64>().unwrap() / den.parse::<f64>().unwrap()
}

#[test]
fn beep_is_found_at_the_analysis_rate_too() {
    // Resampling to 16 kHz keeps the beep where it was (within a sample at 16 kHz).
    for name in ["h264_aac_25.mp4", "video_late_085.mp4", "audio_late_050.mkv"] {
        let fixture = fixture(name);
        let audio = media::decode_audio(&fixture.path, &AudioOptions::default()).unwrap();
        assert_eq!(audio.sample_rate, 16_000);
        let beep = beep_onset_s(&audio);
        let expected = fixture.beep_s.unwrap();
        assert!((beep - expected).abs() <= 1.0 / 16_000.0 + 1e-9, "{name}: beep at {beep} s");
    }
}

#[test]
fn channel_selection_picks_the_centre_of_5_1() {
    let fixture = fixture("h264_aac51_30.mp4");
    let energy = |channel: ChannelSelect| {
        let options = AudioOptions { channel, ..native_audio() };
        let audio = media::decode_audio(&fixture.path, &options).unwrap();
        audio.samples.iter().map(|s| s * s).sum::<f32>()
    };
    let centre = energy("FC".parse().unwrap());
    let left = energy("FL".parse().unwrap());
    let by_index = energy(ChannelSelect::Index(2));
    let mixed = energy(ChannelSelect::Downmix);
    assert!(centre > 1.0, "the beep is on FC: energy {centre}");
    assert!(left < centre * 1e-4, "FL is silent: {left} against {centre}");
    assert_eq!(centre, by_index, "FC is channel 2 of 5.1");
    // The downmix averages five channels (not LFE): the beep at a fifth of its amplitude.
    assert!((mixed / centre - 1.0 / 25.0).abs() < 0.005, "downmix energy ratio {}", mixed / centre);
}

#[test]
fn both_decoders_pick_the_same_channel_of_a_5_1_wav() {
    let fixture = fixture("click51.wav");
    for backend in [AudioBackend::Symphonia, AudioBackend::Ffmpeg] {
        let decode = |channel: &str| {
            let options = AudioOptions { channel: channel.parse().unwrap(), ..native_audio() };
            media::decode_audio_with(&fixture.path, &options, backend).unwrap()
        };
        let centre = decode("FC");
        assert_eq!(centre.samples.iter().fold(0.0f32, |m, s| m.max(s.abs())), 32767.0 / 32768.0);
        assert!((click_s(&centre) - 1.0).abs() < 1e-9, "{backend:?}");
        assert!(decode("FL").samples.iter().all(|s| *s == 0.0), "{backend:?}: FL is silent");
        let mixed = decode("downmix");
        let peak = mixed.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.2).abs() < 1e-3, "{backend:?}: downmix of five channels: {peak}");
    }
}

#[test]
fn standalone_audio_starts_at_the_file_start_when_used_as_external_audio() {
    for fixture in fixtures().iter().filter(|f| f.kind == "audio") {
        let audio = media::decode_external_audio(&fixture.path, &native_audio()).unwrap();
        let click = click_s(&audio);
        let expected = fixture.click_s.unwrap();
        let sample_s = 1.0 / f64::from(audio.sample_rate);
        assert!(
            (click - expected).abs() <= sample_s + 1e-9,
            "{}: click at {click} s, placed at {expected} s",
            fixture.name()
        );
    }
}

#[test]
fn symphonia_and_ffmpeg_agree_on_every_audio_file() {
    for fixture in fixtures().iter().filter(|f| f.kind == "audio") {
        let ffmpeg =
            media::decode_audio_with(&fixture.path, &native_audio(), AudioBackend::Ffmpeg).unwrap();
        let symphonia =
            media::decode_audio_with(&fixture.path, &native_audio(), AudioBackend::Symphonia);
        let symphonia = match symphonia {
            Ok(audio) => audio,
            Err(e) if fixture.name().ends_with(".opus") => {
                // symphonia has no Opus decoder: the automatic choice falls back to FFmpeg.
                assert!(e.to_string().contains("symphonia cannot decode"), "{e}");
                continue;
            }
            Err(e) => panic!("{}: {e}", fixture.name()),
        };
        assert_eq!(ffmpeg.sample_rate, symphonia.sample_rate, "{}", fixture.name());
        let sample_s = 1.0 / f64::from(ffmpeg.sample_rate);
        assert!(
            (ffmpeg.start_s - symphonia.start_s).abs() <= sample_s,
            "{}: first sample at {} s (FFmpeg) and {} s (symphonia)",
            fixture.name(),
            ffmpeg.start_s,
            symphonia.start_s
        );
        let (a, b) = (click_s(&ffmpeg), click_s(&symphonia));
        assert!(
            (a - b).abs() <= sample_s + 1e-9,
            "{}: click at {a} s (FFmpeg) and {b} s (symphonia)",
            fixture.name()
        );
    }
}
