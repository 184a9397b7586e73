//! Everything content mode hears in the audio, streamed as it is decoded: the audio features
//! ([`crate::features::audio`]) and, when built with the `phonetic` feature, the phones
//! ([`crate::features::phones`]) recognised on a thread of their own, so that phone decoding
//! overlaps with picture decoding and face tracking.

use crate::error::Result;
use crate::features::audio::{AudioFeatureExtractor, AudioFeatures};

#[cfg(feature = "phonetic")]
use {
    crate::error::Error,
    crate::features::phones::{self, recognizer::PhoneRecognizer, PhoneSegment},
    std::sync::mpsc::{sync_channel, SyncSender},
    std::thread::JoinHandle,
};

/// Decoded chunks waiting for the phone recogniser before the decoder blocks.
#[cfg(feature = "phonetic")]
const PHONE_QUEUE_CHUNKS: usize = 256;

/// Streams decoded audio into [`AudioFeatures`], phones included where they are built in.
pub struct SpeechAnalyzer {
    features: AudioFeatureExtractor,
    #[cfg(feature = "phonetic")]
    phones: PhoneThread,
}

#[cfg(feature = "phonetic")]
struct PhoneThread {
    chunks: SyncSender<(f64, Vec<f32>)>,
    worker: JoinHandle<Result<Vec<PhoneSegment>>>,
}

impl SpeechAnalyzer {
    pub fn new(sample_rate: u32) -> Result<Self> {
        Ok(SpeechAnalyzer {
            features: AudioFeatureExtractor::new(sample_rate),
            #[cfg(feature = "phonetic")]
            phones: PhoneThread::spawn(sample_rate)?,
        })
    }

    /// Adds decoded samples whose first is presented at `start_s`.
    pub fn push(&mut self, start_s: f64, samples: &[f32]) {
        self.features.push(start_s, samples);
        #[cfg(feature = "phonetic")]
        {
            // A closed channel means the recogniser stopped on an error; `finish` reports it.
            let _ = self.phones.chunks.send((start_s, samples.to_vec()));
        }
    }

    /// The features of everything pushed.
    pub fn finish(self) -> Result<AudioFeatures> {
        let features = self.features.finish();
        #[cfg(feature = "phonetic")]
        let features = self.phones.add_to(features)?;
        Ok(features)
    }

    /// Features of samples in memory at `sample_rate`, the first presented at `start_s`.
    pub fn of_samples(sample_rate: u32, start_s: f64, samples: &[f32]) -> Result<AudioFeatures> {
        let mut analyzer = SpeechAnalyzer::new(sample_rate)?;
        analyzer.push(start_s, samples);
        analyzer.finish()
    }
}

#[cfg(feature = "phonetic")]
impl PhoneThread {
    fn spawn(sample_rate: u32) -> Result<Self> {
        let recognizer = PhoneRecognizer::new(sample_rate)?;
        let (chunks, received) = sync_channel::<(f64, Vec<f32>)>(PHONE_QUEUE_CHUNKS);
        let worker = std::thread::spawn(move || {
            let mut recognizer = recognizer;
            for (start_s, samples) in received {
                recognizer.push(start_s, &samples)?;
            }
            recognizer.finish()
        });
        Ok(PhoneThread { chunks, worker })
    }

    /// Waits for the recogniser and adds the mouth opening of its phones to `features`.
    fn add_to(self, mut features: AudioFeatures) -> Result<AudioFeatures> {
        drop(self.chunks);
        let segments: Vec<PhoneSegment> = self
            .worker
            .join()
            .map_err(|_| Error::Processing("the phone recogniser panicked".into()))??;
        features.phone_opening =
            phones::opening_on_grid(&segments, features.start_s, features.rate_hz, features.len());
        Ok(features)
    }
}
