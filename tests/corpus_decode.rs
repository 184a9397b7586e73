//! Every corpus file decodes: no false "truncated", audio and video where the probe says, and
//! the first frame and sample where the probe says the streams start.

mod common;

use avsync::media::{self, AudioOptions, DecodeOptions, FrameSize, VideoOptions};
use common::{corpus, corpus_files, Recorder};

/// The first decoded frame or sample may sit this far after the stream's declared start
/// (B-frame reordering, codec delay).
const START_TOLERANCE_S: f64 = 0.1;

#[test]
fn every_corpus_file_decodes_from_where_its_streams_start() {
    let Some(corpus) = corpus("every_corpus_file_decodes_from_where_its_streams_start") else {
        return;
    };
    for path in corpus_files(&corpus) {
        let info = media::probe(&path).unwrap();
        let options = DecodeOptions {
            video: info.analysed_video.map(|_| VideoOptions {
                size: FrameSize::LongestSide(64),
                skip_loop_filter: true,
                threads: 0,
            }),
            audio: info.analysed_audio.map(|_| AudioOptions::default()),
        };
        let mut recorder = Recorder::default();
        media::decode(&path, &options, &mut recorder)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let starts = [
            (info.analysed_video, recorder.frames.first().map(|f| f.0)),
            (info.analysed_audio, recorder.chunks.first().map(|c| c.0)),
        ];
        for (stream, first) in starts {
            let Some(stream) = stream else { continue };
            let declared = info.streams[stream].start_s.unwrap_or(0.0);
            let first = first.unwrap_or_else(|| panic!("{}: nothing decoded", path.display()));
            assert!(
                first >= declared - 1e-3 && first - declared <= START_TOLERANCE_S,
                "{} stream {stream}: first at {first} s, declared start {declared} s",
                path.display()
            );
        }
    }
}
