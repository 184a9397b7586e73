//! Phone recognition (feature `phonetic`) on generated English speech: phones where the voice
//! is, none in the leading silence, and every 20 s utterance decoded.

mod common;

use avsync::features::phones::{mouth_opening, opening_on_grid, recognizer::PhoneRecognizer};
use avsync::media::{self, AudioOptions};

/// speech.wav starts with 1 s of silence (testdata/generate.sh).
const SPEECH_START_S: f64 = 1.0;

fn is_speech(phone: &str) -> bool {
    phone != "SIL" && !phone.starts_with('+')
}

#[test]
fn speech_decodes_to_phones_on_its_timeline() {
    common::fixtures(); // speech.wav
    let path = common::repo().join("testdata/generated/speech.wav");
    let audio = media::decode_external_audio(&path, &AudioOptions::default()).unwrap();
    let duration_s = audio.samples.len() as f64 / f64::from(audio.sample_rate);
    assert!(duration_s > 21.0, "speech.wav spans two utterances ({duration_s:.1} s)");
    // Pushed in decoder-sized chunks, 3 s late on the presentation timeline.
    let offset_s = 3.0;
    let mut recognizer = PhoneRecognizer::new(audio.sample_rate).unwrap();
    for (i, chunk) in audio.samples.chunks(1152).enumerate() {
        let start_s = offset_s + (i * 1152) as f64 / f64::from(audio.sample_rate);
        recognizer.push(start_s, chunk).unwrap();
    }
    let segments = recognizer.finish().unwrap();
    let speech: Vec<_> = segments.iter().filter(|s| is_speech(s.phone)).collect();
    assert!(speech.len() > 100, "{} phones in 25 s of speech", speech.len());
    let first_s = speech[0].start_s - offset_s;
    assert!(
        (first_s - SPEECH_START_S).abs() < 0.15,
        "first phone at {first_s:.3} s: {:?}",
        &segments[..segments.len().min(8)]
    );
    let late = speech.iter().filter(|s| s.start_s - offset_s > 20.5).count();
    assert!(late > 5, "the second utterance decoded ({late} phones after 20.5 s)");
    assert!(speech.iter().any(|s| mouth_opening(s.phone) == 0.0), "a lip closure (P, B, M)");
    let last = segments.last().unwrap();
    assert!(last.end_s <= offset_s + duration_s + 0.02, "ends at {:.3} s", last.end_s);

    let grid = opening_on_grid(&segments, offset_s, 100.0, (duration_s * 100.0) as usize);
    let rest = mouth_opening("SIL");
    assert!(grid[..90].iter().all(|&v| v == rest), "silence rests before the speech");
    assert!(grid.iter().any(|&v| v > 0.6), "open vowels open the mouth");
}

#[test]
fn clips_decoded_at_once_get_the_phones_they_get_alone() {
    common::fixtures(); // speech.wav
    let path = common::repo().join("testdata/generated/speech.wav");
    let audio = media::decode_external_audio(&path, &AudioOptions::default()).unwrap();
    let decode = || {
        let mut recognizer = PhoneRecognizer::new(audio.sample_rate).unwrap();
        for (i, chunk) in audio.samples.chunks(1152).enumerate() {
            let start_s = (i * 1152) as f64 / f64::from(audio.sample_rate);
            recognizer.push(start_s, chunk).unwrap();
        }
        recognizer.finish().unwrap()
    };
    let alone = decode();
    // Three recognisers at once, as a batch's jobs or Python threads run them.
    let together: Vec<_> = std::thread::scope(|scope| {
        let running: Vec<_> = (0..3).map(|_| scope.spawn(decode)).collect();
        running.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for segments in &together {
        assert_eq!(segments, &alone);
    }
}
