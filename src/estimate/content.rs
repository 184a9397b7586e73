//! Content mode: the offset between speech and lip movement, with no reference.
//!
//! The audio's speech features (loudness of the speech band and of the formant band, the first
//! formant's frequency, see [`crate::features::audio`], and, when built with the `phonetic`
//! feature, the mouth opening the recognised phones imply, see [`crate::features::phones`]) are
//! correlated with the measured inner lip gap (normalised by face size) over lags within the
//! search range. Method:
//!
//! 1. The lips are interpolated onto the audio's 100 Hz feature frames at their presentation
//!    times; frames without a face are masked out, not zero-filled.
//! 2. Every signal is smoothed over [`SMOOTH_FRAMES`] and high-passed by subtracting its mean
//!    over [`DETREND_FRAMES`]: what is left is the syllable-rate movement both share.
//! 3. The whole-clip curve is the mean of the masked normalised cross-correlations (one per
//!    audio feature against the lip gap). Its highest interior peak, refined by a least-squares parabola
//!    over five lags, is the raw lag.
//! 4. Confidence: the peak against the correlation's own null distribution, the peaks of the
//!    same audio against [`NULL_TRACKS`] lip tracks rolled in time (and reversed), which keep
//!    the lips' rhythm and lose their link to the words. `z` is the peak's distance from the
//!    null peaks' mean in their standard deviations; below `min_z` the result is inconclusive.
//! 5. Lips move before the sound they shape ([`SPEECH_LIP_LEAD_MS`]); the raw offset is
//!    corrected by that lead so that in-sync speech reads near zero.
//! 6. Windows (`window_s` every `hop_s`) search within [`WINDOW_PRIOR_MS`] of the whole-clip
//!    lag, because speech rhythm puts side peaks about 200 ms apart and short windows would
//!    jump between them. Their offsets give the drift (a robust line) and the scatter.
//!
//! Where several faces are tracked, each (and the largest face of each frame, which follows a
//! speaker across cuts) is tried, and the one whose lips match the audio best is the speaker.

use super::line::{fit_offset_line, LineRules, Z_95};
use super::significance::median_and_sigma;
use crate::correlate::{peak, Correlator, Samples};
use crate::features::audio::AudioFeatures;
use crate::features::face::{LipSample, LipSeries, LipTrack, TrackId};
use crate::report::{
    format_against, Calibration, CalibrationUsed, ContentDetails, CorrelationCurve, Drift,
    ReasonCode, Signal, SignalPair, Span, Window,
};
use rayon::prelude::*;
use std::borrow::Cow;

/// How far lips move ahead of the sound in natural speech, measured on the in-sync corpus talk
/// clips (median of the raw estimates; see the README's content-mode section for the spread).
pub const SPEECH_LIP_LEAD_MS: f64 = 60.0;
/// Between-speaker spread of that lead (standard deviation, ms): no clip can be measured more
/// exactly than this without knowing its speaker, so it is part of every uncertainty.
/// (The interquartile range of the raw in-sync estimates, −85 to −23 ms, over 1.35.)
pub const SPEECH_LIP_LEAD_SPREAD_MS: f64 = 46.0;
/// Default search range, ± ms.
pub const DEFAULT_SEARCH_MS: f64 = 500.0;
/// Default window length and hop.
pub const DEFAULT_WINDOW_S: f64 = 8.0;
pub const DEFAULT_HOP_S: f64 = 2.0;
/// Clips shorter than this (lip-sync services take 2–10 s) get [`SHORT_CLIP_WINDOW_S`] windows
/// every [`SHORT_CLIP_HOP_S`] instead: 8 s windows would leave them 0–2 windows, too few to
/// show where the clip goes wrong.
pub const SHORT_CLIP_S: f64 = 15.0;
/// Window length on short clips: a few syllables, the least one window can match reliably.
pub const SHORT_CLIP_WINDOW_S: f64 = 2.0;
pub const SHORT_CLIP_HOP_S: f64 = 0.5;
/// Default confidence threshold: a peak this many null standard deviations above the null
/// peaks' mean counts as a match (calibrated on the corpus: above all but one of 98 clips with
/// foreign or other clips' audio, whose 95th percentile is 1.7; see the README).
pub const DEFAULT_MIN_Z: f64 = 2.0;
/// A peak this close to either end of the search range (feature frames: 50 ms) is taken as at
/// the edge: the curve may still rise beyond it, and a short clip's few overlapping frames at
/// large lags make chance peaks there.
const EDGE_MARGIN_LAGS: usize = 5;
/// Moving-average length (feature frames) that smooths every signal.
pub const SMOOTH_FRAMES: usize = 5;
/// Moving-average length (feature frames) subtracted from every signal (a high-pass).
pub const DETREND_FRAMES: usize = 41;
/// Lip tracks in the null distribution.
pub const NULL_TRACKS: usize = 24;
/// Windows search this far (ms) around the whole-clip lag.
pub const WINDOW_PRIOR_MS: f64 = 100.0;
/// Match score anchors (see [`match_score`]): a peak this many null standard deviations above
/// chance scores [`UNMATCHED_SCORE`] (the 95th percentile of the corpus's clips with foreign or
/// other clips' audio)...
pub const UNRELATED_Z: f64 = 1.7;
/// ...and this many scores 100 − [`UNMATCHED_SCORE`] (the median in-sync corpus talk clip).
pub const MATCHED_Z: f64 = 2.9;
/// Windows scoring below this are reported as lips that do not follow the speech.
pub const UNMATCHED_SCORE: f64 = 25.0;
/// Slope of the logistic that maps z to a 0–1 confidence (0.5 at `min_z`).
const CONFIDENCE_SLOPE: f64 = 2.0;
/// Lip samples further apart than this are not interpolated across (a gap in the face track).
const MAX_FRAME_GAP_S: f64 = 0.25;
/// Less speech than this (s) is "no speech".
const MIN_SPEECH_S: f64 = 1.0;
/// A face track seen in less than this share of the frames is not a candidate speaker...
const MIN_TRACK_PRESENCE: f64 = 0.2;
/// ...nor one whose inner lip gap varies by less than this (eye distances): a still mouth.
const MIN_MOUTH_MOVEMENT: f64 = 0.005;
/// A window needs a face in this share of its frames and this much speech to be measured.
const MIN_WINDOW_FACE_SHARE: f64 = 0.5;
const MIN_WINDOW_SPEECH_S: f64 = 1.0;
/// Clips shorter than this many feature frames build their null from reversed tracks only:
/// rolling them by less than the search range would keep part of the true match.
const MIN_ROLL_FRAMES: usize = 300;
/// The whole-clip uncertainty (95%) is never claimed below this: feature frames are 10 ms.
const UNCERTAINTY_FLOOR_MS: f64 = 10.0;
/// Drift is fitted only over this long a span, from this many measured windows: speech gives
/// each window a scatter of tens of ms, which shorter spans turn into spurious drift.
const WINDOW_LINE_RULES: LineRules = LineRules {
    outlier_sigmas: 3.0,
    outlier_floor_ms: 20.0,
    min_drift_points: 5,
    min_drift_span_s: 60.0,
    max_theil_sen_points: 1000,
};

/// Content-mode settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentOptions {
    /// Offsets searched: ± this many ms.
    pub search_ms: f64,
    /// Window length; `None` chooses by clip length ([`ContentOptions::windows_for`]).
    pub window_s: Option<f64>,
    /// Step between windows; `None` chooses by clip length.
    pub hop_s: Option<f64>,
    /// The natural lead of lips over sound that is taken off the raw estimate.
    pub lip_lead_ms: f64,
    /// Confidence threshold in null standard deviations.
    pub min_z: f64,
}

impl Default for ContentOptions {
    fn default() -> Self {
        ContentOptions {
            search_ms: DEFAULT_SEARCH_MS,
            window_s: None,
            hop_s: None,
            lip_lead_ms: SPEECH_LIP_LEAD_MS,
            min_z: DEFAULT_MIN_Z,
        }
    }
}

impl ContentOptions {
    /// The window length and hop for a clip of `clip_s` seconds: those given, else
    /// [`SHORT_CLIP_WINDOW_S`] every [`SHORT_CLIP_HOP_S`] under [`SHORT_CLIP_S`], else
    /// [`DEFAULT_WINDOW_S`] every [`DEFAULT_HOP_S`].
    pub fn windows_for(&self, clip_s: f64) -> (f64, f64) {
        let (window_s, hop_s) = if clip_s < SHORT_CLIP_S {
            (SHORT_CLIP_WINDOW_S, SHORT_CLIP_HOP_S)
        } else {
            (DEFAULT_WINDOW_S, DEFAULT_HOP_S)
        };
        (self.window_s.unwrap_or(window_s), self.hop_s.unwrap_or(hop_s))
    }
}

/// The speaker's lead from `clip`'s estimate made with the population lead `population_ms`
/// (the clip is in sync, so its reading is what the population lead gets wrong).
pub fn calibration_from_clip(
    clip: String,
    clip_estimate: &ContentEstimate,
    population_ms: f64,
) -> Calibration {
    Calibration {
        clip,
        lip_lead_ms: clip_estimate.offset_ms.map(|reading| population_ms - reading),
        lip_lead_uncertainty_ms: clip_estimate.statistical_uncertainty_ms,
        ..Calibration::default()
    }
}

/// Fills in both readings of `estimate`, made with [`Calibration::lead_ms`], and says which
/// one it is.
pub fn record_readings(
    calibration: &mut Calibration,
    estimate: &ContentEstimate,
    population_ms: f64,
) {
    let population_spread_ms = Z_95 * SPEECH_LIP_LEAD_SPREAD_MS;
    let with_floor = |ms: f64| ms.max(UNCERTAINTY_FLOOR_MS);
    match (calibration.lip_lead_ms, calibration.lip_lead_uncertainty_ms) {
        (Some(lead), Some(lead_uncertainty)) => {
            calibration.used = CalibrationUsed::Calibrated;
            calibration.calibrated_offset_ms = estimate.offset_ms;
            calibration.calibrated_uncertainty_ms = estimate
                .statistical_uncertainty_ms
                .map(|ms| with_floor(ms.hypot(lead_uncertainty)));
            calibration.uncalibrated_offset_ms =
                estimate.offset_ms.map(|ms| ms - lead + population_ms);
            calibration.uncalibrated_uncertainty_ms = estimate
                .statistical_uncertainty_ms
                .map(|ms| with_floor(ms.hypot(population_spread_ms)));
        }
        _ => {
            calibration.used = CalibrationUsed::Uncalibrated;
            calibration.uncalibrated_offset_ms = estimate.offset_ms;
            calibration.uncalibrated_uncertainty_ms = estimate.uncertainty_ms;
        }
    }
}

/// The measurement, ready for a [`crate::report::Report`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContentEstimate {
    /// `> 0`: audio early. `None` when inconclusive.
    pub offset_ms: Option<f64>,
    pub uncertainty_ms: Option<f64>,
    /// The part of `uncertainty_ms` this clip's own windows leave (95%), without the
    /// between-speaker spread of the lip lead: what remains once the speaker's lead is known
    /// ([`Calibration`]).
    pub statistical_uncertainty_ms: Option<f64>,
    /// 0–1, a logistic of z: 0.5 at the threshold.
    pub confidence: f64,
    pub drift: Option<Drift>,
    pub windows: Vec<Window>,
    /// Why the result is what it is, in words.
    pub reason: String,
    /// Why it is inconclusive, as a code; `None` when measured.
    pub reason_code: Option<ReasonCode>,
    pub details: ContentDetails,
    /// The track matched (`Some(None)`: the largest face of each frame); `None` when no face
    /// qualified. The caller places it in the picture ([`ContentDetails::face_position`]).
    pub face_track: Option<Option<TrackId>>,
    /// The whole-clip correlation over candidate offsets (report sign, lead corrected).
    pub curve: Option<CorrelationCurve>,
    /// Speech loudness and mouth opening on the audio's frame times, for the plots.
    pub signals: Option<SignalPair>,
}

/// Measures the offset of `audio` against `lips` (on a copy of the features: see
/// [`estimate_owned`]).
pub fn estimate(
    audio: &AudioFeatures,
    lips: &LipSeries,
    options: &ContentOptions,
) -> ContentEstimate {
    estimate_owned(audio.clone(), lips, options)
}

/// [`estimate`], taking the features over: each is freed once preprocessed, so that a long
/// clip's raw and preprocessed signals are not all held at once (two hours: 17 MB less).
pub fn estimate_owned(
    audio: AudioFeatures,
    lips: &LipSeries,
    options: &ContentOptions,
) -> ContentEstimate {
    estimate_signals(&SpeechSignals::new(audio), lips, options)
}

fn estimate_signals(
    audio: &SpeechSignals,
    lips: &LipSeries,
    options: &ContentOptions,
) -> ContentEstimate {
    let (window_s, hop_s) = options.windows_for(audio.len as f64 / audio.rate_hz);
    let mut out = ContentEstimate {
        details: ContentDetails {
            face_share: lips.face_presence(),
            speech_s: audio.voiced_s(),
            lip_lead_ms: options.lip_lead_ms,
            min_z: options.min_z,
            search_ms: options.search_ms,
            window_s,
            hop_s,
            ..ContentDetails::default()
        },
        ..ContentEstimate::default()
    };
    if out.details.speech_s < MIN_SPEECH_S {
        out.reason = format!(
            "no speech found in the audio ({:.1} s of voice, {MIN_SPEECH_S} s needed)",
            out.details.speech_s
        );
        out.reason_code = Some(ReasonCode::NoSpeech);
        return out;
    }
    if lips.is_empty() || out.details.face_share == 0.0 {
        out.reason = "no face found in the video".to_string();
        out.reason_code = Some(ReasonCode::NoFace);
        return out;
    }
    let candidates = candidate_tracks(lips);
    if candidates.is_empty() {
        out.reason = "a face was found but its mouth does not move".to_string();
        out.reason_code = Some(ReasonCode::StillMouth);
        return out;
    }
    let max_lag = (options.search_ms / 1000.0 * audio.rate_hz).round().max(2.0) as usize;
    let audio_signals = &audio.signals;
    // Only the best candidate so far keeps its lip signals (they grow with the clip: 16 bytes
    // a 10 ms frame), so at most two sets are alive, not one a face.
    let mut best: Option<(Option<TrackId>, LipSignals, WholeClip)> = None;
    for track in candidates {
        let lip = LipSignals::on_grid(&track, &lips.frame_times_s, audio);
        let whole = whole_clip(audio_signals, &lip, max_lag);
        if best.as_ref().is_none_or(|(_, _, best)| whole.z.total_cmp(&best.z).is_ge()) {
            best = Some((track.id, lip, whole));
        }
    }
    let (track_id, lip, whole) = best.expect("at least one candidate");
    let ms_per_lag = 1000.0 / audio.rate_hz;
    // Lag k: audio at t + k matches lips at t, so the audio is k frames late.
    let to_offset_ms = |lag: f64| -lag * ms_per_lag + options.lip_lead_ms;
    out.details.face = Some(match track_id {
        Some(id) => format!("face {id}"),
        None => "largest face".to_string(),
    });
    out.face_track = Some(track_id);
    out.details.z = Some(whole.z);
    out.details.null_mean = Some(whole.null.mean);
    out.details.null_sd = Some(whole.null.sd);
    out.details.peak_correlation = whole.peak.map(|p| p.value);
    out.details.raw_offset_ms = whole.peak.map(|p| -p.lag * ms_per_lag);
    out.confidence = logistic(CONFIDENCE_SLOPE * (whole.z - options.min_z));
    out.curve = Some(CorrelationCurve {
        label: "speech against lips: mean normalised cross-correlation".to_string(),
        lags_ms: (0..whole.curve.len()).map(|i| to_offset_ms(i as f64 - max_lag as f64)).collect(),
        scores: whole.curve.iter().map(|v| if v.is_finite() { *v } else { 0.0 }).collect(),
        peak_ms: None,
        noise_level: Some(whole.null.mean + options.min_z * whole.null.sd),
    });
    out.signals = Some(SignalPair {
        audio: Signal::uniform(
            "speech loudness",
            audio.start_s,
            audio.rate_hz,
            audio_signals[0].clone(),
        ),
        reference: Signal::uniform(
            "mouth opening",
            audio.start_s,
            audio.rate_hz,
            lip.signals[0]
                .iter()
                .zip(&lip.mask)
                .map(|(&v, &m)| if m > 0.0 { v } else { f32::NAN })
                .collect(),
        ),
    });

    // The lips are matched window by window whatever the outcome, so that a clip whose lips
    // do not follow the words can say where; offsets are read only near a conclusive lag.
    let conclusive_lag = whole.peak.filter(|_| whole.z >= options.min_z && !whole.at_edge);
    let grid = WindowGrid { window_s, hop_s, max_lag, min_z: options.min_z };
    let measured = windows(audio_signals, &lip, audio, conclusive_lag.map(|p| p.lag), &grid);
    out.details.match_score = Some(match_score(whole.z));
    out.details.unmatched = unmatched_spans(&measured);
    out.windows = measured
        .iter()
        .map(|w| Window {
            start_s: w.start_s,
            end_s: w.end_s,
            offset_ms: w.lag.map(to_offset_ms),
            confidence: w.confidence,
            uncertainty_ms: None,
            match_score: w.z.map(match_score),
        })
        .collect();

    let Some(peak) = whole.peak else {
        out.reason = "the lips and the audio do not overlap enough to compare".to_string();
        out.reason_code = Some(ReasonCode::NoOverlap);
        return out;
    };
    if whole.z < options.min_z {
        (out.reason, out.reason_code) = below_threshold(whole.z, options.min_z);
        return out;
    }
    if whole.at_edge {
        out.reason = format!(
            "the best match lies at the edge of the ±{:.0} ms search range: the offset may be \
             larger (try a wider --search)",
            options.search_ms
        );
        out.reason_code = Some(ReasonCode::SearchEdge);
        return out;
    }

    let window_uncertainty = window_scatter_ms(&out.windows);
    for window in out.windows.iter_mut().filter(|w| w.offset_ms.is_some()) {
        window.uncertainty_ms = Some(window_uncertainty);
    }
    let points: Vec<(f64, f64)> = out
        .windows
        .iter()
        .filter_map(|w| w.offset_ms.map(|o| ((w.start_s + w.end_s) / 2.0, o)))
        .collect();
    let mut offset_ms = to_offset_ms(peak.lag);
    let mut statistical_ms = None;
    if points.len() >= 3 {
        let fit = fit_offset_line(&points, &WINDOW_LINE_RULES);
        if fit.drift.is_some() {
            offset_ms = fit.offset_ms;
            out.drift = fit.drift;
        }
        let mut inliers: Vec<f64> =
            points.iter().zip(&fit.inliers).filter(|(_, &i)| i).map(|(p, _)| p.1).collect();
        let (_, sigma_ms) = median_and_sigma(&mut inliers);
        // Overlapping windows are not independent: count window lengths, not windows.
        let independent = (inliers.len() as f64 * hop_s / window_s).max(1.0);
        statistical_ms = Some(Z_95 * sigma_ms / independent.sqrt());
    }
    let statistical_ms = statistical_ms.unwrap_or(2.5 * UNCERTAINTY_FLOOR_MS);
    let speaker_ms = Z_95 * SPEECH_LIP_LEAD_SPREAD_MS;
    out.offset_ms = Some(offset_ms);
    out.statistical_uncertainty_ms = Some(statistical_ms);
    out.uncertainty_ms = Some(statistical_ms.hypot(speaker_ms).max(UNCERTAINTY_FLOOR_MS));
    if let Some(curve) = &mut out.curve {
        curve.peak_ms = Some(to_offset_ms(peak.lag));
    }
    let (z, min_z) = format_against(whole.z, options.min_z);
    out.reason = format!(
        "lips match the speech (z {z}, threshold {min_z}; {})",
        windows_measured(points.len(), out.windows.len())
    );
    out
}

/// Why a whole-clip peak below `min_z` is inconclusive, in words and as a code: below
/// [`UNRELATED_Z`] (where 95% of clips with foreign audio score) the lips match the audio no
/// better than unrelated audio does; between it and `min_z` they follow it somewhat, but too
/// little to measure an offset.
pub fn below_threshold(z: f64, min_z: f64) -> (String, Option<ReasonCode>) {
    let (z_text, min_text) = format_against(z, min_z);
    if z < UNRELATED_Z {
        (
            format!(
                "the lips match the audio no better than unrelated audio does (z {z_text}, \
                 below the {min_text} needed): the audio may not belong to this video"
            ),
            Some(ReasonCode::UnrelatedAudio),
        )
    } else {
        (
            format!(
                "too little evidence: the lips follow the audio better than unrelated audio \
                 does, but not enough to measure an offset (z {z_text}, below the {min_text} \
                 needed)"
            ),
            Some(ReasonCode::WeakEvidence),
        )
    }
}

/// "3 of 12 windows measured", or what it means when there were none.
pub fn windows_measured(measured: usize, total: usize) -> String {
    match (measured, total) {
        (_, 0) => "the clip is too short for a window".to_string(),
        (0, _) => format!("none of the {total} windows could be measured"),
        _ => format!("{measured} of {total} windows measured"),
    }
}

/// The match score (0–100) of a correlation peak `z` null standard deviations above chance:
/// a logistic through [`UNRELATED_Z`] (score [`UNMATCHED_SCORE`]) and [`MATCHED_Z`] (score
/// 100 − [`UNMATCHED_SCORE`]). It says how well the lips follow the words whatever the
/// offset, as LSE-C does for lip-sync models; the scale is fixed, so scores compare across
/// clips, runs and versions that keep these constants.
pub fn match_score(z: f64) -> f64 {
    let odds = (100.0 - UNMATCHED_SCORE) / UNMATCHED_SCORE;
    let slope = 2.0 * odds.ln() / (MATCHED_Z - UNRELATED_Z);
    100.0 * logistic(slope * (z - (UNRELATED_Z + MATCHED_Z) / 2.0))
}

/// Stretches where the measured windows' lips do not follow the speech (match score below
/// [`UNMATCHED_SCORE`]), overlapping windows merged.
fn unmatched_spans(windows: &[WindowLag]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for w in windows.iter().filter(|w| w.z.is_some_and(|z| match_score(z) < UNMATCHED_SCORE)) {
        match spans.last_mut() {
            Some(last) if w.start_s <= last.end_s => last.end_s = last.end_s.max(w.end_s),
            _ => spans.push(Span { start_s: w.start_s, end_s: w.end_s }),
        }
    }
    spans
}

/// The 95% half-width of one window's offset, from how the measured windows scatter (robust:
/// MAD), never below [`UNCERTAINTY_FLOOR_MS`]; with fewer than three windows, 2.5 times that.
fn window_scatter_ms(windows: &[Window]) -> f64 {
    let mut offsets: Vec<f64> = windows.iter().filter_map(|w| w.offset_ms).collect();
    if offsets.len() < 3 {
        return 2.5 * UNCERTAINTY_FLOOR_MS;
    }
    let (_, sigma_ms) = median_and_sigma(&mut offsets);
    (Z_95 * sigma_ms).max(UNCERTAINTY_FLOOR_MS)
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Tracks worth trying as the speaker: seen often enough, with a moving mouth. The largest
/// face per frame is added when there are several tracks (a speaker split by cuts).
fn candidate_tracks(lips: &LipSeries) -> Vec<Cow<'_, LipTrack>> {
    let moving =
        |t: &LipTrack| t.presence() >= MIN_TRACK_PRESENCE && t.opening_std() >= MIN_MOUTH_MOVEMENT;
    let mut candidates: Vec<Cow<LipTrack>> =
        lips.tracks.iter().filter(|t| moving(t)).map(Cow::Borrowed).collect();
    if lips.tracks.len() > 1 {
        let largest = lips.largest_face();
        if moving(&largest) {
            candidates.push(Cow::Owned(largest));
        }
    }
    candidates
}

/// The audio as the estimator reads it: the signals correlated, preprocessed, on the features'
/// frame grid.
struct SpeechSignals {
    start_s: f64,
    rate_hz: f64,
    len: usize,
    voiced: Vec<bool>,
    /// The loudness of the speech band and of three formant bands, the first formant's
    /// frequency and, where phones were recognised, the mouth opening they imply.
    signals: Vec<Vec<f32>>,
}

impl SpeechSignals {
    /// The signals of `audio`, each feature vector dropped as soon as it is preprocessed.
    fn new(audio: AudioFeatures) -> SpeechSignals {
        let len = audio.len();
        let AudioFeatures {
            start_s,
            rate_hz,
            speech_db,
            formant_db,
            mid_db,
            high_db,
            f1_centroid_hz,
            voiced,
            phone_opening,
        } = audio;
        let mut raw = vec![speech_db, formant_db, mid_db, high_db, f1_centroid_hz];
        if !phone_opening.is_empty() {
            raw.push(phone_opening);
        }
        let signals = raw.into_iter().map(|s| preprocess(&s, None)).collect();
        SpeechSignals { start_s, rate_hz, len, voiced, signals }
    }

    /// Seconds of voiced frames.
    fn voiced_s(&self) -> f64 {
        crate::features::audio::voiced_s(&self.voiced, self.rate_hz)
    }

    /// Presentation time of frame `j`'s centre.
    fn time_of(&self, j: usize) -> f64 {
        self.start_s + j as f64 / self.rate_hz
    }
}

/// Lip signals on the audio's feature frames, with the mask of frames that have a face. Stored
/// as `f32`, as the features are, so that two hours of them stay small.
struct LipSignals {
    /// Inner lip gap, outer lip gap and outer lip area, preprocessed.
    signals: [Vec<f32>; LIP_SIGNALS],
    mask: Vec<f32>,
}

/// How many lip measurements are correlated (see [`lip_values`]).
const LIP_SIGNALS: usize = 3;

/// The lip measurements of one sample that are correlated with the speech: each moves with the
/// mouth's opening in its own way (the inner gap closes fully at a lip closure, the outer gap
/// and area also follow the jaw and rounding), so together they are less noisy than one.
fn lip_values(sample: &LipSample) -> [f32; LIP_SIGNALS] {
    [sample.opening, sample.outer_gap, sample.outer_area]
}

impl LipSignals {
    fn on_grid(track: &LipTrack, frame_times_s: &[f64], audio: &SpeechSignals) -> LipSignals {
        let n = audio.len;
        let mut raw: [Vec<f32>; LIP_SIGNALS] = std::array::from_fn(|_| vec![0.0; n]);
        let mut mask = vec![0.0; n];
        let mut i = 0;
        for j in 0..n {
            let t = audio.time_of(j);
            while i + 1 < frame_times_s.len() && frame_times_s[i + 1] <= t {
                i += 1;
            }
            if i + 1 >= frame_times_s.len() || frame_times_s[i] > t {
                continue;
            }
            let (t0, t1) = (frame_times_s[i], frame_times_s[i + 1]);
            let (Some(a), Some(b)) = (track.sample(i), track.sample(i + 1)) else { continue };
            if t1 - t0 > MAX_FRAME_GAP_S || t1 <= t0 {
                continue;
            }
            let w = ((t - t0) / (t1 - t0)) as f32;
            for (signal, (x, y)) in
                raw.iter_mut().zip(lip_values(&a).into_iter().zip(lip_values(&b)))
            {
                signal[j] = x + w * (y - x);
            }
            mask[j] = 1.0;
        }
        let signals = raw.map(|s| preprocess(&s, Some(&mask)));
        LipSignals { signals, mask }
    }

    /// The signals over `range` of the frames.
    fn slice(&self, range: std::ops::Range<usize>) -> LipSignals {
        LipSignals {
            signals: self.signals.each_ref().map(|s| s[range.clone()].to_vec()),
            mask: self.mask[range].to_vec(),
        }
    }

    /// The lip signals as [`mean_correlation`] takes them.
    fn views(&self) -> [&[f32]; LIP_SIGNALS] {
        self.signals.each_ref().map(Vec::as_slice)
    }
}

/// A signal rolled by `shift` frames (and first reversed): a null track, the lips' rhythm
/// without its link to the words, read in place rather than copied.
struct Rolled<'a> {
    signal: &'a [f32],
    shift: usize,
    reversed: bool,
}

impl Samples for Rolled<'_> {
    fn sample_count(&self) -> usize {
        self.signal.len()
    }
    fn at(&self, i: usize) -> f64 {
        let n = self.signal.len();
        // Rolled right by `shift`: element i comes from i - shift (mod n).
        let j = (i + n - self.shift % n) % n;
        self.signal[if self.reversed { n - 1 - j } else { j }].into()
    }
}

/// Masked moving average of `values` over `len` frames (centred); unmasked frames only (no
/// mask: every frame). The window's sums slide along in `f64`, so no per-frame arrays are made
/// beside the result.
fn moving_average(values: &[f32], mask: Option<&[f32]>, len: usize) -> Vec<f32> {
    let n = values.len();
    let half = len / 2;
    let frame = |i: usize| {
        let m = mask.map_or(1.0, |mask| f64::from(mask[i]));
        (f64::from(values[i]) * m, m)
    };
    let (mut sum, mut weight) = (0.0, 0.0);
    for i in 0..half.min(n) {
        let (v, m) = frame(i);
        (sum, weight) = (sum + v, weight + m);
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // The window is [i - half, i + half], clipped to the signal.
        if i + half < n {
            let (v, m) = frame(i + half);
            (sum, weight) = (sum + v, weight + m);
        }
        if i > half {
            let (v, m) = frame(i - half - 1);
            (sum, weight) = (sum - v, weight - m);
        }
        // The mask is 0 or 1, so the weight counts frames exactly.
        out.push(if weight > 0.0 { (sum / weight) as f32 } else { 0.0 });
    }
    out
}

/// Smoothed, then high-passed; masked frames are 0 (no mask: every frame counts).
fn preprocess(values: &[f32], mask: Option<&[f32]>) -> Vec<f32> {
    let mut smooth = moving_average(values, mask, SMOOTH_FRAMES);
    let trend = moving_average(&smooth, mask, DETREND_FRAMES);
    for (i, (s, t)) in smooth.iter_mut().zip(trend).enumerate() {
        *s = if mask.is_none_or(|mask| mask[i] > 0.0) { *s - t } else { 0.0 };
    }
    smooth
}

/// Mean masked normalised cross-correlation of every audio signal with every lip signal (all
/// of the same length). Lag `k`: audio at `t + k` against lips at `t`.
fn mean_correlation<L: Samples + ?Sized>(
    correlator: &mut Correlator,
    audio: &[&[f32]],
    lip: &[&L; LIP_SIGNALS],
    mask: &L,
    max_lag: usize,
) -> Vec<f64> {
    correlator.mean_normalized_masked(audio, None, lip, mask, max_lag)
}

/// How a correlation peak stands against chance: the peaks of the same audio against
/// [`NULL_TRACKS`] copies of the lips rolled in time (and reversed), which keep the lips'
/// rhythm and lose their link to the words.
struct Null {
    mean: f64,
    sd: f64,
}

impl Null {
    fn of(audio: &[&[f32]], lip: &LipSignals, max_lag: usize) -> Null {
        let n = lip.mask.len();
        // Rolling a short stretch by less than the search range would keep part of the match.
        let short = n < MIN_ROLL_FRAMES;
        let peaks: Vec<f64> = (0..NULL_TRACKS)
            .into_par_iter()
            .map_init(Correlator::new, |correlator, k| {
                let shift =
                    if short { k * n / NULL_TRACKS } else { (k + 1) * n / (NULL_TRACKS + 1) };
                let roll = |signal| Rolled { signal, shift, reversed: short || k % 2 == 1 };
                let signals = lip.signals.each_ref().map(|s| roll(s.as_slice()));
                let curve = mean_correlation(
                    correlator,
                    audio,
                    &signals.each_ref(),
                    &roll(&lip.mask),
                    max_lag,
                );
                finite_argmax(&curve).map_or(0.0, |i| curve[i])
            })
            .collect();
        let mean = peaks.iter().sum::<f64>() / peaks.len() as f64;
        let sd = (peaks.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (peaks.len() - 1) as f64)
            .sqrt()
            .max(1e-6);
        Null { mean, sd }
    }

    /// Null standard deviations of `value` above the null peaks' mean.
    fn z(&self, value: f64) -> f64 {
        (value - self.mean) / self.sd
    }
}

struct WholeClip {
    curve: Vec<f64>,
    /// Fractional lag (frames) and height of the highest peak.
    peak: Option<peak::Peak>,
    /// The highest value is within [`EDGE_MARGIN_LAGS`] of the first or last lag.
    at_edge: bool,
    z: f64,
    null: Null,
}

/// Highest finite value of a curve and its index.
fn finite_argmax(values: &[f64]) -> Option<usize> {
    (0..values.len())
        .filter(|&i| values[i].is_finite())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
}

fn whole_clip(audio: &[Vec<f32>], lip: &LipSignals, max_lag: usize) -> WholeClip {
    let audio: Vec<&[f32]> = audio.iter().map(Vec::as_slice).collect();
    let curve = mean_correlation(&mut Correlator::new(), &audio, &lip.views(), &lip.mask, max_lag);
    let index = finite_argmax(&curve);
    let peak = index.map(|i| {
        let refined = peak::refine_quadratic5(&curve, i);
        peak::Peak { lag: refined.position - max_lag as f64, value: refined.value }
    });
    let margin = EDGE_MARGIN_LAGS.min(curve.len() / 2);
    let at_edge = index.is_some_and(|i| i < margin || i + margin >= curve.len());
    let null = Null::of(&audio, lip, max_lag);
    let z = peak.map_or(f64::NEG_INFINITY, |p| null.z(p.value));
    WholeClip { curve, peak, at_edge, z, null }
}

struct WindowLag {
    start_s: f64,
    end_s: f64,
    /// The offset's lag, read near the whole clip's when that is conclusive.
    lag: Option<f64>,
    confidence: f64,
    /// How the window's best match at any lag stands against chance; `None` where the window
    /// has too little face or speech to be measured.
    z: Option<f64>,
}

/// Where the windows lie and how far each searches.
struct WindowGrid {
    window_s: f64,
    hop_s: f64,
    /// Lags searched on either side, in feature frames.
    max_lag: usize,
    /// A window's lag counts from this many null standard deviations.
    min_z: f64,
}

/// Per-window match against chance and, where `prior_lag` is known, lags near it.
fn windows(
    audio: &[Vec<f32>],
    lip: &LipSignals,
    features: &SpeechSignals,
    prior_lag: Option<f64>,
    grid: &WindowGrid,
) -> Vec<WindowLag> {
    let max_lag = grid.max_lag;
    let n = lip.mask.len();
    let rate = features.rate_hz;
    let len = ((grid.window_s * rate).round() as usize).min(n).max(1);
    let hop = ((grid.hop_s * rate).round() as usize).max(1);
    let starts: Vec<usize> = (0..=n - len).step_by(hop).collect();
    let prior = WINDOW_PRIOR_MS / 1000.0 * rate;
    starts
        .into_par_iter()
        .map_init(Correlator::new, |correlator, start| {
            let range = start..start + len;
            let mut window = WindowLag {
                start_s: features.time_of(start),
                end_s: features.time_of(start + len - 1),
                lag: None,
                confidence: 0.0,
                z: None,
            };
            let face_share =
                lip.mask[range.clone()].iter().map(|&m| f64::from(m)).sum::<f64>() / len as f64;
            let speech_s =
                features.voiced[range.clone()].iter().filter(|&&v| v).count() as f64 / rate;
            if face_share < MIN_WINDOW_FACE_SHARE || speech_s < MIN_WINDOW_SPEECH_S {
                return window;
            }
            let audio: Vec<&[f32]> = audio.iter().map(|a| &a[range.clone()]).collect();
            let lip = lip.slice(range);
            let curve = mean_correlation(correlator, &audio, &lip.views(), &lip.mask, max_lag);
            let Some(best) = finite_argmax(&curve) else { return window };
            let null = Null::of(&audio, &lip, max_lag);
            window.z = Some(null.z(curve[best]));
            let Some(prior_lag) = prior_lag else { return window };
            let near = |i: usize| ((i as f64 - max_lag as f64) - prior_lag).abs() <= prior;
            let Some(best) = (0..curve.len())
                .filter(|&i| near(i) && curve[i].is_finite())
                .max_by(|&a, &b| curve[a].total_cmp(&curve[b]))
            else {
                return window;
            };
            let z = null.z(curve[best]);
            window.confidence = logistic(CONFIDENCE_SLOPE * (z - grid.min_z));
            if z >= grid.min_z {
                let refined = peak::refine_quadratic5(&curve, best);
                window.lag = Some(refined.position - max_lag as f64);
            }
            window
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sliding_moving_average_is_the_masked_mean_of_each_window() {
        // Values and a mask with gaps, including a window with no frame at all.
        let n = 200;
        let values: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let mask: Vec<f32> =
            (0..n).map(|i| if (60..90).contains(&i) || i % 7 == 3 { 0.0 } else { 1.0 }).collect();
        for len in [1, 5, 9, 25] {
            let averaged = moving_average(&values, Some(&mask), len);
            let half = len / 2;
            for (i, &got) in averaged.iter().enumerate() {
                let window = i.saturating_sub(half)..(i + half + 1).min(n);
                let weight: f32 = mask[window.clone()].iter().sum();
                let sum: f32 = window.map(|j| values[j] * mask[j]).sum();
                let want = if weight > 0.0 { sum / weight } else { 0.0 };
                assert!((got - want).abs() < 1e-4, "len {len}, frame {i}: {got} against {want}");
            }
            let ones = vec![1.0; n];
            assert_eq!(
                moving_average(&values, None, len),
                moving_average(&values, Some(&ones), len)
            );
        }
    }

    #[test]
    fn short_clips_get_short_windows_unless_told_otherwise() {
        let auto = ContentOptions::default();
        assert_eq!(auto.windows_for(6.0), (SHORT_CLIP_WINDOW_S, SHORT_CLIP_HOP_S));
        assert_eq!(auto.windows_for(60.0), (DEFAULT_WINDOW_S, DEFAULT_HOP_S));
        let given = ContentOptions { window_s: Some(4.0), ..ContentOptions::default() };
        assert_eq!(given.windows_for(6.0), (4.0, SHORT_CLIP_HOP_S));
        let hop = ContentOptions { hop_s: Some(1.0), ..ContentOptions::default() };
        assert_eq!(hop.windows_for(60.0), (DEFAULT_WINDOW_S, 1.0));
    }

    #[test]
    fn unrelated_audio_is_told_from_too_little_evidence() {
        let (foreign, code) = below_threshold(0.4, DEFAULT_MIN_Z);
        assert_eq!(code, Some(ReasonCode::UnrelatedAudio));
        assert!(foreign.contains("no better than unrelated audio"), "{foreign}");
        let (weak, code) = below_threshold(1.9, DEFAULT_MIN_Z);
        assert_eq!(code, Some(ReasonCode::WeakEvidence));
        assert!(weak.starts_with("too little evidence"), "{weak}");
        assert!(!weak.contains("no better than unrelated"), "{weak}");
        let (close, _) = below_threshold(2.197, 2.2);
        assert!(close.contains("z 2.197, below the 2.2 needed"), "{close}");
    }

    #[test]
    fn no_windows_are_said_plainly() {
        assert_eq!(windows_measured(0, 0), "the clip is too short for a window");
        assert_eq!(windows_measured(0, 3), "none of the 3 windows could be measured");
        assert_eq!(windows_measured(2, 3), "2 of 3 windows measured");
    }

    #[test]
    fn the_match_score_scale_is_anchored_where_documented() {
        assert!((match_score(UNRELATED_Z) - UNMATCHED_SCORE).abs() < 1e-9);
        assert!((match_score(MATCHED_Z) - (100.0 - UNMATCHED_SCORE)).abs() < 1e-9);
        assert!((match_score((UNRELATED_Z + MATCHED_Z) / 2.0) - 50.0).abs() < 1e-9);
        assert!(match_score(-3.0) < 2.0 && match_score(10.0) > 98.0);
        assert!(match_score(f64::NEG_INFINITY) == 0.0);
    }

    fn window(start_s: f64, z: Option<f64>) -> WindowLag {
        WindowLag { start_s, end_s: start_s + 2.0, lag: None, confidence: 0.0, z }
    }

    #[test]
    fn unmatched_windows_merge_into_spans() {
        let low = Some(UNRELATED_Z - 1.0);
        let high = Some(MATCHED_Z);
        let windows = [
            window(0.0, high),
            window(0.5, low),
            window(1.0, low),
            window(1.5, None),
            window(4.0, high),
            window(6.0, low),
        ];
        let spans = unmatched_spans(&windows);
        assert_eq!(spans, [Span { start_s: 0.5, end_s: 3.0 }, Span { start_s: 6.0, end_s: 8.0 }]);
    }
}
