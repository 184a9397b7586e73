//! Decoding speed: a whole clip (video at the analysis size, audio at the analysis rate), and a
//! standalone audio file through symphonia and through FFmpeg.
//!
//! `cargo bench --bench decode`; the clips come from `testdata/generate.sh`.

use avsync::media::{
    self, AudioBackend, AudioChunk, AudioOptions, DecodeOptions, LumaFrame, MediaSink, VideoOptions,
};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("testdata/generated");
    let status = Command::new("bash")
        .arg(root.join("testdata/generate.sh"))
        .arg(&dir)
        .status()
        .expect("run testdata/generate.sh");
    assert!(status.success());
    dir
}

/// Keeps nothing: measures decoding alone.
struct Discard;

impl MediaSink for Discard {
    fn video_frame(&mut self, frame: LumaFrame) -> avsync::Result<()> {
        std::hint::black_box(frame);
        Ok(())
    }

    fn audio_chunk(&mut self, chunk: AudioChunk<'_>) -> avsync::Result<()> {
        std::hint::black_box(chunk.samples);
        Ok(())
    }
}

fn decode(c: &mut Criterion) {
    let dir = fixtures();
    let clip = dir.join("h264_aac_25.mp4");
    let options = DecodeOptions {
        video: Some(VideoOptions::default()),
        audio: Some(AudioOptions::default()),
    };
    c.bench_function("decode 3 s H.264+AAC clip", |b| {
        b.iter(|| media::decode(&clip, &options, &mut Discard).unwrap())
    });
    for (name, backend) in
        [("symphonia", AudioBackend::Symphonia), ("ffmpeg", AudioBackend::Ffmpeg)]
    {
        for file in ["click.m4a", "click.mp3", "click_s16.wav"] {
            let path = dir.join(file);
            c.bench_function(&format!("decode 3 s {file} with {name}"), |b| {
                b.iter(|| {
                    media::decode_audio_with(&path, &AudioOptions::default(), backend).unwrap()
                })
            });
        }
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
