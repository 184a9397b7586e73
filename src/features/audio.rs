//! Speech features of the audio at 100 frames per second: what the lips are matched against.
//!
//! Each frame is a 25 ms Hann window every 10 ms; frame `j` is centred on the presentation
//! time `start_s + j · 10 ms`. Per frame:
//! - `speech_db`: log energy of the speech band (300–3000 Hz), the loudness of the voice;
//! - `formant_db`: log energy of 1.5–3 kHz, where the second and third formants sit; it rises
//!   as the mouth opens and spreads, and falls at lip closures more sharply than the whole band;
//! - `mid_db` and `high_db`: log energy of 0.7–1.9 kHz (the first two formants as the jaw
//!   opens) and of 1.9–4 kHz (upper formants and frication, cut off by a lip closure);
//! - `voiced`: voice activity, energy well above the clip's own noise floor.
//!
//! Both log energies are floored [`DYNAMIC_RANGE_DB`] below their loud end, so that digital
//! silence does not weigh more than quiet speech.
//!
//! [`AudioFeatureExtractor`] takes the audio in chunks as it is decoded, so memory holds the
//! features, not the samples.

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Feature frames per second.
pub const FEATURE_RATE_HZ: f64 = 100.0;
/// Analysis window length.
pub const FRAME_S: f64 = 0.025;
/// Speech band of `speech_db`.
pub const SPEECH_BAND_HZ: (f64, f64) = (300.0, 3000.0);
/// Band of `formant_db`.
pub const FORMANT_BAND_HZ: (f64, f64) = (1500.0, 3000.0);
/// Band of `mid_db`.
pub const MID_BAND_HZ: (f64, f64) = (700.0, 1900.0);
/// Band of `high_db`.
pub const HIGH_BAND_HZ: (f64, f64) = (1900.0, 4000.0);
/// Band of `f1_centroid_hz`: where the first formant moves as the jaw opens.
pub const F1_BAND_HZ: (f64, f64) = (200.0, 1000.0);
/// Log energies are floored this far below their 99th percentile.
pub const DYNAMIC_RANGE_DB: f32 = 40.0;
/// The clip's noise floor is this quantile of `speech_db`: low enough to fall in a pause even
/// in a clip that is nearly all speech (at the 10th percentile, a talking head with few pauses
/// had its quieter syllables taken for noise).
pub const NOISE_FLOOR_QUANTILE: f64 = 0.02;
/// A frame is voiced when `speech_db` is this far above the noise floor...
pub const VOICE_ABOVE_FLOOR_DB: f32 = 12.0;
/// ...and no further than this below the loud end (99th percentile).
pub const VOICE_BELOW_PEAK_DB: f32 = 35.0;
/// Energy added before the logarithm (full scale is 1.0): about −120 dBFS.
const ENERGY_EPSILON: f64 = 1e-12;
/// A gap between decoded chunks longer than this many samples is filled with silence; an
/// overlap longer than this is dropped.
const CHUNK_JOIN_TOLERANCE_SAMPLES: f64 = 1.5;

/// Speech features at [`FEATURE_RATE_HZ`]; every vector has one value per frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AudioFeatures {
    /// Presentation time of frame 0's centre (the first sample's time).
    pub start_s: f64,
    pub rate_hz: f64,
    pub speech_db: Vec<f32>,
    pub formant_db: Vec<f32>,
    pub mid_db: Vec<f32>,
    pub high_db: Vec<f32>,
    /// Spectral centroid of [`F1_BAND_HZ`] in Hz: the first formant rises as the mouth opens.
    /// Unvoiced frames take the clip's median, so that silence adds nothing.
    pub f1_centroid_hz: Vec<f32>,
    pub voiced: Vec<bool>,
    /// Mouth opening implied by the recognised phones (0 closed – 1 wide, see
    /// [`crate::features::phones`]); empty when phones were not recognised.
    pub phone_opening: Vec<f32>,
}

impl AudioFeatures {
    /// Features of samples in memory at `sample_rate`, the first presented at `start_s`.
    pub fn of_samples(sample_rate: u32, start_s: f64, samples: &[f32]) -> AudioFeatures {
        let mut extractor = AudioFeatureExtractor::new(sample_rate);
        extractor.push(start_s, samples);
        extractor.finish()
    }

    pub fn len(&self) -> usize {
        self.speech_db.len()
    }

    pub fn is_empty(&self) -> bool {
        self.speech_db.is_empty()
    }

    /// Presentation time of frame `j`'s centre.
    pub fn time_of(&self, j: usize) -> f64 {
        self.start_s + j as f64 / self.rate_hz
    }

    /// Seconds of voiced frames.
    pub fn voiced_s(&self) -> f64 {
        voiced_s(&self.voiced, self.rate_hz)
    }

    /// The same audio presented `shift_s` later (a timestamp shift, as `-itsoffset` makes).
    pub fn delayed(&self, shift_s: f64) -> AudioFeatures {
        AudioFeatures { start_s: self.start_s + shift_s, ..self.clone() }
    }
}

/// Keeps decoded chunks on one continuous sample timeline: a chunk that starts later than the
/// samples so far end is preceded by silence, one that overlaps them loses the overlap.
#[derive(Clone, Debug)]
pub struct ChunkTimeline {
    sample_rate: u32,
    /// Presentation time of the first sample placed.
    pub start_s: Option<f64>,
    /// Samples placed so far, silence included.
    pub samples_placed: u64,
}

/// Where a chunk goes: after `silence` zero samples, `samples` (the chunk less any overlap).
pub struct Placed<'a> {
    pub silence: usize,
    pub samples: &'a [f32],
}

impl ChunkTimeline {
    pub fn new(sample_rate: u32) -> Self {
        ChunkTimeline { sample_rate, start_s: None, samples_placed: 0 }
    }

    /// Places a chunk whose first sample is presented at `start_s`.
    pub fn place<'a>(&mut self, start_s: f64, samples: &'a [f32]) -> Placed<'a> {
        let rate = f64::from(self.sample_rate.max(1));
        let placed = match self.start_s {
            None => {
                self.start_s = Some(start_s);
                Placed { silence: 0, samples }
            }
            Some(first) => {
                let expected_s = first + self.samples_placed as f64 / rate;
                let gap = (start_s - expected_s) * rate;
                if gap > CHUNK_JOIN_TOLERANCE_SAMPLES {
                    Placed { silence: gap.round() as usize, samples }
                } else if gap < -CHUNK_JOIN_TOLERANCE_SAMPLES {
                    let skip = ((-gap).round() as usize).min(samples.len());
                    Placed { silence: 0, samples: &samples[skip..] }
                } else {
                    Placed { silence: 0, samples }
                }
            }
        };
        self.samples_placed += (placed.silence + placed.samples.len()) as u64;
        placed
    }
}

/// Streams samples into [`AudioFeatures`].
pub struct AudioFeatureExtractor {
    sample_rate: u32,
    frame_len: usize,
    hop: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    input: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    speech_bins: (usize, usize),
    formant_bins: (usize, usize),
    mid_bins: (usize, usize),
    high_bins: (usize, usize),
    f1_bins: (usize, usize),
    bin_hz: f64,
    /// Samples not yet consumed by a full frame; starts with half a frame of silence so that
    /// frame 0 is centred on the first sample.
    pending: Vec<f32>,
    timeline: ChunkTimeline,
    frames: Vec<StoredFrame>,
}

/// Hundredths of a dB in a [`StoredFrame`].
const STORED_STEPS_PER_DB: f32 = 100.0;
/// Tenths of a Hz in a [`StoredFrame`] (up to 6.5 kHz, beyond [`F1_BAND_HZ`]).
const STORED_STEPS_PER_HZ: f32 = 10.0;

/// One frame's features as the extractor keeps them until [`AudioFeatureExtractor::finish`]:
/// the frames of a long file are its only memory that grows, and in fixed point a frame takes
/// 10 bytes instead of 20 (two hours: 7 MB instead of 14). Steps of 0.01 dB and 0.1 Hz are far
/// finer than anything the features resolve.
#[derive(Clone, Copy, Debug)]
struct StoredFrame {
    /// Speech, formant, mid and high band loudness in hundredths of a dB, before flooring.
    band_db: [i16; 4],
    /// First-formant centroid in tenths of a Hz.
    f1_centroid_hz: u16,
}

impl StoredFrame {
    /// Rounds to the stored steps; `as` saturates, far outside the −120 dB floor and the band.
    fn new(band_db: [f32; 4], f1_centroid_hz: f32) -> StoredFrame {
        StoredFrame {
            band_db: band_db.map(|db| (db * STORED_STEPS_PER_DB).round() as i16),
            f1_centroid_hz: (f1_centroid_hz * STORED_STEPS_PER_HZ).round() as u16,
        }
    }

    fn band_db(&self, band: usize) -> f32 {
        f32::from(self.band_db[band]) / STORED_STEPS_PER_DB
    }

    fn f1_centroid_hz(&self) -> f32 {
        f32::from(self.f1_centroid_hz) / STORED_STEPS_PER_HZ
    }
}

/// Positions in [`StoredFrame::band_db`].
const SPEECH: usize = 0;
const FORMANT: usize = 1;
const MID: usize = 2;
const HIGH: usize = 3;

impl AudioFeatureExtractor {
    pub fn new(sample_rate: u32) -> Self {
        let rate = f64::from(sample_rate.max(1));
        let frame_len = ((FRAME_S * rate).round() as usize).max(4);
        let hop = ((rate / FEATURE_RATE_HZ).round() as usize).max(1);
        let n = frame_len.next_power_of_two();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        let window = (0..frame_len)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / frame_len as f64).cos())
            .collect();
        let bin = |hz: f64| ((hz * n as f64 / rate).round() as usize).min(n / 2);
        let band = |(lo, hi): (f64, f64)| (bin(lo), bin(hi).max(bin(lo) + 1).min(n / 2 + 1));
        AudioFeatureExtractor {
            sample_rate,
            frame_len,
            hop,
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            speech_bins: band(SPEECH_BAND_HZ),
            formant_bins: band(FORMANT_BAND_HZ),
            mid_bins: band(MID_BAND_HZ),
            high_bins: band(HIGH_BAND_HZ),
            f1_bins: band(F1_BAND_HZ),
            bin_hz: rate / n as f64,
            pending: vec![0.0; frame_len / 2],
            timeline: ChunkTimeline::new(sample_rate),
            frames: Vec::new(),
        }
    }

    /// Adds decoded samples whose first is presented at `start_s`. A gap since the previous
    /// chunk is filled with silence and an overlap dropped, so frames stay on the timeline.
    pub fn push(&mut self, start_s: f64, samples: &[f32]) {
        let placed = self.timeline.place(start_s, samples);
        if placed.silence > 0 {
            self.append(&vec![0.0; placed.silence]);
        }
        self.append(placed.samples);
    }

    fn append(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
        let mut consumed = 0;
        while self.pending.len() - consumed >= self.frame_len {
            self.analyse_frame(consumed);
            consumed += self.hop;
        }
        self.pending.drain(..consumed);
    }

    fn analyse_frame(&mut self, offset: usize) {
        let frame = &self.pending[offset..offset + self.frame_len];
        self.input.iter_mut().for_each(|v| *v = 0.0);
        for ((dst, &s), w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *dst = f64::from(s) * w;
        }
        self.fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .expect("buffer lengths come from the plan");
        let energy = |(lo, hi): (usize, usize), spectrum: &[Complex<f64>]| -> f64 {
            spectrum[lo..hi].iter().map(|c| c.norm_sqr()).sum()
        };
        let scale = 1.0 / (self.frame_len as f64 * self.frame_len as f64);
        let band_db = [self.speech_bins, self.formant_bins, self.mid_bins, self.high_bins]
            .map(|bins| to_db(energy(bins, &self.spectrum) * scale));
        let (lo, hi) = self.f1_bins;
        let (weighted, total) =
            self.spectrum[lo..hi].iter().enumerate().fold((0.0, 0.0), |(w, t), (k, c)| {
                (w + (lo + k) as f64 * c.norm_sqr(), t + c.norm_sqr())
            });
        let f1_centroid_hz =
            if total > 0.0 { (weighted / total * self.bin_hz) as f32 } else { 0.0 };
        self.frames.push(StoredFrame::new(band_db, f1_centroid_hz));
    }

    /// The features of everything pushed (empty when nothing was).
    pub fn finish(mut self) -> AudioFeatures {
        let Some(start_s) = self.timeline.start_s else { return AudioFeatures::default() };
        // Frames up to the last sample: pad with half a frame of silence.
        let half = self.frame_len / 2;
        let frames_wanted = (self.timeline.samples_placed as usize).div_ceil(self.hop);
        self.pending.extend(std::iter::repeat_n(0.0, half + self.hop));
        let mut offset = 0;
        while self.frames.len() < frames_wanted && self.pending.len() - offset >= self.frame_len {
            self.analyse_frame(offset);
            offset += self.hop;
        }
        let frames = std::mem::take(&mut self.frames);
        let band = |band: usize| -> Vec<f32> { frames.iter().map(|f| f.band_db(band)).collect() };
        let [speech_db, formant_db, mid_db, high_db] = [SPEECH, FORMANT, MID, HIGH].map(band);
        let mut f1_centroid_hz: Vec<f32> = frames.iter().map(StoredFrame::f1_centroid_hz).collect();
        drop(frames);
        // Voice activity reads the loudness before it is floored.
        let voiced = voice_activity(&speech_db);
        let [speech_db, formant_db, mid_db, high_db] =
            [speech_db, formant_db, mid_db, high_db].map(floored_db);
        let voiced_f1: Vec<f32> =
            f1_centroid_hz.iter().zip(&voiced).filter(|(_, &v)| v).map(|(&c, _)| c).collect();
        let quiet_f1 = quantile(&voiced_f1, 0.5);
        for (c, &v) in f1_centroid_hz.iter_mut().zip(&voiced) {
            if !v {
                *c = quiet_f1;
            }
        }
        AudioFeatures {
            start_s,
            rate_hz: f64::from(self.sample_rate) / self.hop as f64,
            speech_db,
            formant_db,
            mid_db,
            high_db,
            f1_centroid_hz,
            voiced,
            phone_opening: Vec::new(),
        }
    }
}

/// Seconds of the `voiced` frames of a grid at `rate_hz`.
pub fn voiced_s(voiced: &[bool], rate_hz: f64) -> f64 {
    voiced.iter().filter(|&&v| v).count() as f64 / rate_hz
}

fn to_db(energy: f64) -> f32 {
    (10.0 * (energy + ENERGY_EPSILON).log10()) as f32
}

/// The `q` quantile (0–1) of `values`.
fn quantile(values: &[f32], q: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Loudness with everything more than [`DYNAMIC_RANGE_DB`] below the loud frames raised to that
/// floor, so that digital silence does not weigh more than quiet speech.
fn floored_db(mut db: Vec<f32>) -> Vec<f32> {
    let floor = quantile(&db, 0.99) - DYNAMIC_RANGE_DB;
    db.iter_mut().for_each(|v| *v = v.max(floor));
    db
}

fn voice_activity(db: &[f32]) -> Vec<bool> {
    let threshold = (quantile(db, NOISE_FLOOR_QUANTILE) + VOICE_ABOVE_FLOOR_DB)
        .max(quantile(db, 0.99) - VOICE_BELOW_PEAK_DB);
    db.iter().map(|&v| v > threshold).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 kHz tone burst from 1.0 s to 1.5 s in 3 s of near-silence at 16 kHz.
    fn burst() -> Vec<f32> {
        (0..48_000)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                let tone = if (1.0..1.5).contains(&t) { 0.5 } else { 0.0 };
                (tone * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as f32
                    + 1e-4 * ((i * 7919) % 13) as f32 / 13.0
            })
            .collect()
    }

    #[test]
    fn frames_sit_on_the_presentation_timeline() {
        let f = AudioFeatures::of_samples(16_000, 2.0, &burst());
        assert_eq!(f.len(), 300);
        assert_eq!(f.rate_hz, 100.0);
        let voiced: Vec<f64> =
            (0..f.len()).filter(|&j| f.voiced[j]).map(|j| f.time_of(j)).collect();
        // The burst is presented from 3.0 s to 3.5 s; a 25 ms frame sees it 12.5 ms early/late.
        assert!((voiced[0] - 2.99).abs() < 0.011, "{}", voiced[0]);
        assert!((voiced.last().unwrap() - 3.51).abs() < 0.011, "{}", voiced.last().unwrap());
        // The loudness rises most where the burst starts.
        let rise = |j: usize| f.speech_db[j + 1] - f.speech_db[j];
        let onset = (0..f.len() - 1).max_by(|&a, &b| rise(a).total_cmp(&rise(b))).unwrap() + 1;
        assert!((f.time_of(onset) - 3.0).abs() < 0.015, "{}", f.time_of(onset));
    }

    #[test]
    fn chunks_with_gaps_and_overlaps_stay_on_the_timeline() {
        let samples = burst();
        let whole = AudioFeatures::of_samples(16_000, 0.0, &samples);
        let mut extractor = AudioFeatureExtractor::new(16_000);
        extractor.push(0.0, &samples[..10_000]);
        // overlap: the next chunk repeats 100 samples
        extractor.push(9_900.0 / 16_000.0, &samples[9_900..30_000]);
        // gap: 1600 samples (0.1 s) missing, filled with silence
        extractor.push(31_600.0 / 16_000.0, &samples[31_600..]);
        let chunked = extractor.finish();
        assert_eq!(chunked.len(), whole.len());
        // Equal to the stored step (0.01 dB), which a rounding error can tip either way.
        for j in 0..150 {
            assert!((chunked.speech_db[j] - whole.speech_db[j]).abs() < 0.0101, "frame {j}");
        }
    }

    #[test]
    fn stored_frames_keep_their_values_to_half_a_step() {
        let frame = StoredFrame::new([-119.996, -40.004, 0.0, 6.5], 734.56);
        for (band, db) in [-119.996f32, -40.004, 0.0, 6.5].into_iter().enumerate() {
            assert!((frame.band_db(band) - db).abs() <= 0.005 + 1e-4, "band {band}");
        }
        assert!((frame.f1_centroid_hz() - 734.56).abs() <= 0.05 + 1e-3);
    }

    #[test]
    fn silence_has_no_voice() {
        let f = AudioFeatures::of_samples(16_000, 0.0, &vec![0.0; 32_000]);
        assert_eq!(f.voiced_s(), 0.0);
    }
}
