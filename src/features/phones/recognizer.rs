//! PocketSphinx all-phone decoding, streamed from decoded audio chunks.
//!
//! The C library (pocketsphinx 0.8 with sphinxbase, as Debian ships them) is linked by
//! `build.rs`; its model directory is found through pkg-config at build time and can be
//! overridden at run time with `AVSYNC_PHONE_MODEL_DIR`. Only this file touches the C API.

use super::PhoneSegment;
use crate::error::{Error, Result};
use crate::features::audio::ChunkTimeline;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::PathBuf;
use std::sync::{Mutex, Once};

/// The acoustic model's sample rate.
pub const MODEL_RATE_HZ: u32 = 16_000;
/// Language-model weight of the phone bigram; research on the corpus found 2 best (6 collapses
/// decoding into a few long phones).
const LANGUAGE_WEIGHT: &str = "2.0";
/// The decoder's frames: 10 ms apart, each a 25.625 ms window (410 samples at 16 kHz), so
/// frame `i` is centred `FIRST_FRAME_CENTRE_S + i · FRAME_STEP_S` after the first sample.
const FRAME_STEP_S: f64 = 0.01;
const FIRST_FRAME_CENTRE_S: f64 = 0.0128;
/// Audio is decoded in utterances this long, each as a whole: all-phone search in this
/// PocketSphinx version loses the start of an utterance fed in pieces, and a whole utterance
/// gets its cepstral mean from all of itself. Memory stays bounded by one utterance.
const UTTERANCE_S: f64 = 20.0;
/// A trailing utterance shorter than this is not decoded (too short to hold a phone).
const MIN_UTTERANCE_S: f64 = 0.1;

#[allow(non_camel_case_types)]
type ps_decoder_t = c_void;
#[allow(non_camel_case_types)]
type cmd_ln_t = c_void;
#[allow(non_camel_case_types)]
type ps_seg_t = c_void;
#[allow(non_camel_case_types)]
type arg_t = c_void;

extern "C" {
    fn ps_args() -> *const arg_t;
    fn cmd_ln_parse_r(
        inout: *mut cmd_ln_t,
        defn: *const arg_t,
        argc: i32,
        argv: *mut *mut c_char,
        strict: i32,
    ) -> *mut cmd_ln_t;
    fn cmd_ln_free_r(config: *mut cmd_ln_t) -> c_int;
    fn ps_init(config: *mut cmd_ln_t) -> *mut ps_decoder_t;
    fn ps_free(ps: *mut ps_decoder_t) -> c_int;
    fn ps_start_utt(ps: *mut ps_decoder_t) -> c_int;
    fn ps_process_raw(
        ps: *mut ps_decoder_t,
        data: *const i16,
        n_samples: usize,
        no_search: c_int,
        full_utt: c_int,
    ) -> c_int;
    fn ps_end_utt(ps: *mut ps_decoder_t) -> c_int;
    fn ps_seg_iter(ps: *mut ps_decoder_t) -> *mut ps_seg_t;
    fn ps_seg_next(seg: *mut ps_seg_t) -> *mut ps_seg_t;
    fn ps_seg_word(seg: *mut ps_seg_t) -> *const c_char;
    fn ps_seg_frames(seg: *mut ps_seg_t, start: *mut c_int, end: *mut c_int);
    fn err_set_logfp(stream: *mut c_void);
}

/// The model directory: `AVSYNC_PHONE_MODEL_DIR`, else where pkg-config said at build time.
pub fn model_dir() -> PathBuf {
    std::env::var_os("AVSYNC_PHONE_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("AVSYNC_POCKETSPHINX_MODEL_DIR")).join("en-us"))
}

/// Streams 16 kHz mono audio into phone segments.
pub struct PhoneRecognizer {
    decoder: *mut ps_decoder_t,
    config: *mut cmd_ln_t,
    timeline: ChunkTimeline,
    /// Samples of the utterance being gathered.
    utterance: Vec<i16>,
    /// Index (on the timeline) of the utterance's first sample.
    utterance_first_sample: u64,
    segments: Vec<PhoneSegment>,
    dither: Dither,
}

/// Half-bit noise, as PocketSphinx's own dither (1 added to a sample with probability 1/4):
/// digital silence has no spectrum to normalise and decodes as a long "S"; with it, as silence.
/// Each recogniser has its own generator with a fixed seed, so a clip's phones are the same
/// however many clips are decoded at once.
struct Dither {
    state: u64,
}

impl Dither {
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new() -> Dither {
        Dither { state: Self::SEED }
    }

    /// `sample` with the dither added (xorshift64: the top two bits zero one time in four).
    fn apply(&mut self, sample: i16) -> i16 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        sample.saturating_add(i16::from(self.state >> 62 == 0))
    }
}

// The decoder is used from one thread at a time; nothing in it is tied to the creating thread.
unsafe impl Send for PhoneRecognizer {}

impl PhoneRecognizer {
    /// A decoder for audio at `sample_rate`, which must be [`MODEL_RATE_HZ`].
    pub fn new(sample_rate: u32) -> Result<Self> {
        if sample_rate != MODEL_RATE_HZ {
            return Err(Error::Processing(format!(
                "phone recognition needs {MODEL_RATE_HZ} Hz audio, got {sample_rate} Hz"
            )));
        }
        let dir = model_dir();
        let acoustic = dir.join("en-us");
        let phone_lm = dir.join("en-us-phone.lm.bin");
        for path in [&acoustic, &phone_lm] {
            if !path.exists() {
                return Err(Error::Processing(format!(
                    "the phone model is missing: {} (install the Debian package \
                     pocketsphinx-en-us, or set AVSYNC_PHONE_MODEL_DIR)",
                    path.display()
                )));
            }
        }
        let args = [
            "-hmm".to_string(),
            acoustic.display().to_string(),
            "-allphone".to_string(),
            phone_lm.display().to_string(),
            "-allphone_ci".to_string(),
            "yes".to_string(),
            "-lw".to_string(),
            LANGUAGE_WEIGHT.to_string(),
            // Keep every frame: by default the front end drops the frames it takes for
            // silence, and the phones after a pause would come out early by the pause.
            "-remove_silence".to_string(),
            "no".to_string(),
            // The dither is ours ([`Dither`]): the library's draws from one random generator
            // shared by every decoder in the process, so two clips measured at once (a batch's
            // jobs, Python threads) disturbed each other's results.
            "-dither".to_string(),
            "no".to_string(),
        ];
        let owned: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Processing("a phone model path contains a NUL byte".into()))?;
        let mut argv: Vec<*mut c_char> = owned.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        // SAFETY: argv points into `owned`, alive for the call; the library copies what it keeps.
        let config = unsafe {
            cmd_ln_parse_r(std::ptr::null_mut(), ps_args(), argv.len() as i32, argv.as_mut_ptr(), 1)
        };
        if config.is_null() {
            return Err(Error::Processing("PocketSphinx rejected its configuration".into()));
        }
        silence_library_log();
        // SAFETY: config is a valid configuration; ps_init takes its own reference.
        let decoder = unsafe { with_process_state(|| ps_init(config)) };
        if decoder.is_null() {
            // SAFETY: config came from the library and is released once.
            unsafe { cmd_ln_free_r(config) };
            return Err(Error::Processing(format!(
                "PocketSphinx could not load the phone model in {}",
                dir.display()
            )));
        }
        Ok(PhoneRecognizer {
            decoder,
            config,
            timeline: ChunkTimeline::new(sample_rate),
            utterance: Vec::new(),
            utterance_first_sample: 0,
            segments: Vec::new(),
            dither: Dither::new(),
        })
    }

    /// Adds decoded samples whose first is presented at `start_s` (gaps become silence).
    pub fn push(&mut self, start_s: f64, samples: &[f32]) -> Result<()> {
        let placed = self.timeline.place(start_s, samples);
        let silence = std::iter::repeat_n(0.0, placed.silence);
        let full = (UTTERANCE_S * f64::from(MODEL_RATE_HZ)) as usize;
        for sample in silence.chain(placed.samples.iter().copied()) {
            let quantised = (sample * 32767.0).clamp(-32768.0, 32767.0) as i16;
            self.utterance.push(self.dither.apply(quantised));
            if self.utterance.len() == full {
                self.decode_utterance()?;
            }
        }
        Ok(())
    }

    /// Decodes the gathered utterance and appends its phones on the presentation timeline.
    fn decode_utterance(&mut self) -> Result<()> {
        let samples = std::mem::take(&mut self.utterance);
        let first_sample = self.utterance_first_sample;
        self.utterance_first_sample += samples.len() as u64;
        let (Some(start_s), true) = (
            self.timeline.start_s,
            samples.len() as f64 >= MIN_UTTERANCE_S * f64::from(MODEL_RATE_HZ),
        ) else {
            return Ok(());
        };
        let utterance_start_s = start_s + first_sample as f64 / f64::from(MODEL_RATE_HZ);
        let failed = || Error::Processing("PocketSphinx failed to decode the audio".into());
        // SAFETY: the decoder is live and `samples` a valid slice of i16 for the call.
        unsafe {
            if ps_start_utt(self.decoder) < 0
                || ps_process_raw(self.decoder, samples.as_ptr(), samples.len(), 0, 1) < 0
                || ps_end_utt(self.decoder) < 0
            {
                return Err(failed());
            }
        }
        let centre = |frame: c_int| {
            utterance_start_s + FIRST_FRAME_CENTRE_S + f64::from(frame) * FRAME_STEP_S
        };
        // SAFETY: the iterator is walked to its end (which frees it), and each word is copied
        // before the iterator moves on.
        unsafe {
            let mut seg = ps_seg_iter(self.decoder);
            while !seg.is_null() {
                let (mut first, mut last) = (0, 0);
                ps_seg_frames(seg, &mut first, &mut last);
                let word = ps_seg_word(seg);
                if !word.is_null() {
                    self.segments.push(PhoneSegment {
                        phone: super::phone_symbol(&CStr::from_ptr(word).to_string_lossy()),
                        start_s: centre(first) - FRAME_STEP_S / 2.0,
                        end_s: centre(last) + FRAME_STEP_S / 2.0,
                    });
                }
                seg = ps_seg_next(seg);
            }
        }
        Ok(())
    }

    /// The phones of everything pushed, on the presentation timeline.
    pub fn finish(mut self) -> Result<Vec<PhoneSegment>> {
        self.decode_utterance()?;
        Ok(std::mem::take(&mut self.segments))
    }
}

/// Turns the library's log off, once for the process. Its log is one global `FILE*`: a decoder
/// given `-logfn` closes the one the others are writing to and opens its own, so decoders made
/// on several threads (a batch's jobs, Python threads) freed a file twice or wrote to a closed
/// one, and the process aborted or hung.
fn silence_library_log() {
    static SILENCED: Once = Once::new();
    // SAFETY: a null stream turns logging off (sphinxbase's err.h); done before any decoder.
    SILENCED.call_once(|| unsafe { err_set_logfp(std::ptr::null_mut()) });
}

/// Runs a decoder's set-up or tear-down alone: this library version was not written for threads
/// and its set-up touches state kept for the whole process (the log, the dither's generator).
/// Decoding itself uses the decoder's own state and runs in parallel.
fn with_process_state<T>(f: impl FnOnce() -> T) -> T {
    static LOCK: Mutex<()> = Mutex::new(());
    let _alone = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f()
}

impl Drop for PhoneRecognizer {
    fn drop(&mut self) {
        // SAFETY: both were created in `new` and are freed only here.
        unsafe {
            with_process_state(|| ps_free(self.decoder));
            cmd_ln_free_r(self.config);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_rate_is_refused() {
        let error = PhoneRecognizer::new(44_100).err().expect("refused");
        assert!(error.to_string().contains("16000 Hz"), "{error}");
    }

    #[test]
    fn silence_gives_no_speech_phones() {
        let mut recognizer = PhoneRecognizer::new(MODEL_RATE_HZ).expect("model installed");
        recognizer.push(2.0, &vec![0.0; 16_000]).unwrap();
        let segments = recognizer.finish().unwrap();
        // Digital silence may decode to nothing at all, or to silence and fillers only.
        let speech = segments.iter().filter(|s| s.phone != "SIL" && !s.phone.starts_with('+'));
        assert_eq!(speech.count(), 0, "{segments:?}");
    }
}
