//! Phones of the speech, and the mouth opening each implies: speaker-independent knowledge of
//! how speech sounds shape the lips, for content mode to match against the measured lips.
//!
//! [`recognizer`] decodes phones with PocketSphinx's US-English acoustic model (CMU, BSD-2;
//! Debian packages `libpocketsphinx-dev` and `pocketsphinx-en-us`), trained on hundreds of
//! hours of speech, in all-phone mode (no words, so any language segments into phone-like
//! units). [`opening_on_grid`] turns the phones into the mouth opening they imply
//! ([`mouth_opening`], a hand-made articulatory table, nothing fitted to test clips).

#[cfg(feature = "phonetic")]
pub mod recognizer;

/// One recognised phone and when it was spoken (presentation times).
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneSegment {
    /// ARPAbet symbol as the model names it (`AA`, `M`, `SIL`, `+NSN+`...): one of [`PHONES`]
    /// or [`UNKNOWN_PHONE`], shared rather than a string each (a phone every 0.1 s or so adds
    /// up over hours).
    pub phone: &'static str,
    pub start_s: f64,
    pub end_s: f64,
}

/// The phones of PocketSphinx's US-English model: ARPAbet without stress, silence, and the
/// fillers for noise and for speech it cannot place.
pub const PHONES: [&str; 42] = [
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "SIL", "T", "TH",
    "UH", "UW", "V", "W", "Y", "Z", "ZH", "+NSN+", "+SPN+",
];

/// What a symbol outside [`PHONES`] (another model's) is kept as: a filler, neither speech nor
/// silence.
pub const UNKNOWN_PHONE: &str = "+UNK+";

/// `name` as one of [`PHONES`], or [`UNKNOWN_PHONE`].
pub fn phone_symbol(name: &str) -> &'static str {
    PHONES.iter().find(|&&phone| phone == name).copied().unwrap_or(UNKNOWN_PHONE)
}

/// Mouth opening a phone implies, 0 (lips closed) to 1 (jaw wide open), at the phone's
/// centre. From articulatory phonetics: bilabials close the lips, labiodentals nearly so,
/// rounded and high vowels open a little, low vowels most. Silence rests near closed; noise
/// and unknown symbols sit at a neutral half-open.
pub fn mouth_opening(phone: &str) -> f32 {
    match phone {
        "P" | "B" | "M" => 0.0,
        "F" | "V" => 0.15,
        "SIL" => 0.1,
        "W" => 0.2,
        "S" | "Z" | "Y" => 0.25,
        "SH" | "ZH" | "CH" | "JH" | "UW" => 0.3,
        "TH" | "DH" | "IY" => 0.3,
        "T" | "D" | "N" | "L" | "R" | "ER" => 0.35,
        "K" | "G" | "NG" | "UH" => 0.4,
        "IH" => 0.45,
        "HH" | "OW" | "EY" => 0.5,
        "OY" => 0.55,
        "EH" => 0.6,
        "AH" => 0.65,
        "AO" => 0.75,
        "AE" | "AW" | "AY" => 0.8,
        "AA" => 0.9,
        _ => 0.3,
    }
}

/// Frame positions this close to a whole frame count as on it.
const GRID_EPSILON_FRAMES: f64 = 1e-6;

/// The mouth opening implied by `segments` on a feature grid of `len` frames, frame `j`
/// presented at `start_s + j / rate_hz`. Frames outside every segment take silence's value.
pub fn opening_on_grid(
    segments: &[PhoneSegment],
    start_s: f64,
    rate_hz: f64,
    len: usize,
) -> Vec<f32> {
    let rest = mouth_opening("SIL");
    let mut out = vec![rest; len];
    // The first frame at or after time `t` (a frame a rounding error before `t` counts as at).
    let frame_from =
        |t: f64| ((t - start_s) * rate_hz - GRID_EPSILON_FRAMES).ceil().max(0.0) as usize;
    for segment in segments {
        let first = frame_from(segment.start_s);
        let end = frame_from(segment.end_s).min(len);
        let value = mouth_opening(segment.phone);
        for v in out.iter_mut().take(end).skip(first) {
            *v = value;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(phone: &str, start_s: f64, end_s: f64) -> PhoneSegment {
        PhoneSegment { phone: phone_symbol(phone), start_s, end_s }
    }

    #[test]
    fn opening_follows_the_segments_on_the_grid() {
        let segments = [seg("M", 1.0, 1.1), seg("AA", 1.1, 1.3)];
        let grid = opening_on_grid(&segments, 0.95, 100.0, 40);
        assert_eq!(grid[4], mouth_opening("SIL")); // 0.99 s: before the first phone
        assert_eq!(grid[5], 0.0); // 1.00 s: M
        assert_eq!(grid[14], 0.0); // 1.09 s
        assert_eq!(grid[15], 0.9); // 1.10 s: AA
        assert_eq!(grid[34], 0.9); // 1.29 s
        assert_eq!(grid[35], mouth_opening("SIL")); // 1.30 s: after
    }

    #[test]
    fn symbols_are_the_models_own_and_others_unknown() {
        assert!(PHONES.iter().all(|&phone| phone_symbol(phone) == phone));
        assert_eq!(phone_symbol("+BREATH+"), UNKNOWN_PHONE);
        assert_eq!(mouth_opening(UNKNOWN_PHONE), mouth_opening("+NSN+"));
    }

    #[test]
    fn closures_are_closed_and_open_vowels_open() {
        assert!(mouth_opening("B") < mouth_opening("F"));
        assert!(mouth_opening("UW") < mouth_opening("AA"));
        assert!(mouth_opening("IY") < mouth_opening("AE"));
    }
}
