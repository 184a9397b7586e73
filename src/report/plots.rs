//! The data behind a report's plots, filled by whichever mode measured it.
//!
//! Every mode matches an audio-side signal against a reference signal over a range of lags, so
//! one shape serves them all:
//!
//! | mode | `signals.audio` | `signals.reference` | `correlation` |
//! |---|---|---|---|
//! | content (`check`) | predicted lip movement or speech envelope | measured mouth opening | normalised cross-correlation |
//! | reference (`compare`) | the output's audio loudness | the reference's, where it was meant to play | GCC-PHAT of one window |
//! | pattern | beep loudness | flash luminance | share of flashes with a beep at each offset |
//!
//! The offset plot needs no extra data: it is drawn from the report's windows, offset, drift
//! and verdicts.

use crate::error::{Error, Result};
use crate::media::RgbFrame;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Plot data carried in a [`super::Report`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plots {
    /// The whole-clip correlation against lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationCurve>,
    /// The two signals that were matched, each on its own time base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<SignalPair>,
    /// A frame with the analysed region(s) boxed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Thumbnail>,
}

/// A correlation score for each candidate lag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationCurve {
    /// What the score is, e.g. "normalised cross-correlation" or "GCC-PHAT".
    pub label: String,
    /// Candidate offsets in ms, with the report's sign (`> 0` = audio early).
    pub lags_ms: Vec<f64>,
    /// The score at each lag (same length as `lags_ms`).
    #[serde(deserialize_with = "gaps_as_nan")]
    pub scores: Vec<f64>,
    /// The lag chosen from this curve; `None` when no peak was accepted.
    pub peak_ms: Option<f64>,
    /// The score a peak must beat to count (e.g. a high percentile of the curve's own null
    /// distribution); drawn as a line when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_level: Option<f64>,
}

/// A sampled signal with the presentation time of each sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// What it is, e.g. "speech envelope" or "mouth opening".
    pub label: String,
    /// Presentation time of each value, in seconds (per-frame times for variable frame rate).
    pub times_s: Vec<f64>,
    /// NaN where there is no value (e.g. no face in the frame): `null` in JSON.
    #[serde(deserialize_with = "gaps_as_nan")]
    pub values: Vec<f32>,
}

/// Reads a list of numbers whose gaps are `null`: JSON has no NaN, so serde_json writes NaN as
/// `null`, and a saved report must read back (`avsync report`).
fn gaps_as_nan<'de, D, T>(deserializer: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + From<f32>,
{
    let values: Vec<Option<T>> = Vec::deserialize(deserializer)?;
    Ok(values.into_iter().map(|v| v.unwrap_or_else(|| T::from(f32::NAN))).collect())
}

/// Rate of the audio envelopes in the signal plots of `compare` and `pattern analyze`: 5 ms
/// steps place an onset well within a frame, and keep ten minutes of envelope to 120 000
/// numbers in a saved report.
pub const ENVELOPE_RATE_HZ: f64 = 200.0;

impl Signal {
    /// A signal sampled at a constant `rate_hz` from `start_s`.
    pub fn uniform(label: impl Into<String>, start_s: f64, rate_hz: f64, values: Vec<f32>) -> Self {
        let times_s = (0..values.len()).map(|i| start_s + i as f64 / rate_hz).collect();
        Signal { label: label.into(), times_s, values }
    }

    /// The RMS level of `samples` (at `rate_hz`, the first at `start_s`) in blocks of about
    /// 1 / [`ENVELOPE_RATE_HZ`], each dated at its start. Levels that are themselves the RMS
    /// of equal blocks give the exact RMS of the longer blocks.
    pub fn rms_envelope(
        label: impl Into<String>,
        start_s: f64,
        rate_hz: f64,
        samples: &[f32],
    ) -> Self {
        let block = (rate_hz / ENVELOPE_RATE_HZ).round().max(1.0) as usize;
        let values = samples
            .chunks(block)
            .map(|c| (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).sqrt())
            .collect();
        Signal::uniform(label, start_s, rate_hz / block as f64, values)
    }
}

/// The two signals a measurement matched. The offset moves `audio`: an audio event at time t
/// belongs with the reference event at t + offset_ms / 1000, so the plots draw `audio` shifted
/// by the offset to show the alignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalPair {
    pub audio: Signal,
    pub reference: Signal,
}

/// A still frame from the input, PNG-encoded, with the analysed regions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Presentation time of the frame, in seconds.
    pub time_s: f64,
    pub width: u32,
    pub height: u32,
    /// The frame as PNG (base64 in JSON).
    #[serde(with = "base64_bytes")]
    pub png: Vec<u8>,
    /// Boxes to draw, in the frame's pixel coordinates.
    pub regions: Vec<Region>,
}

/// A labelled box on a thumbnail, such as the face or the mouth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub label: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Thumbnail {
    /// A thumbnail from a decoded colour frame (see [`crate::media::decode_rgb_frame`]), with
    /// the regions in that frame's pixels.
    pub fn from_rgb(frame: &RgbFrame, regions: Vec<Region>) -> Result<Thumbnail> {
        let image = image::RgbImage::from_raw(frame.width, frame.height, frame.pixels.clone())
            .ok_or_else(|| {
                Error::Processing(format!(
                    "thumbnail: {} bytes do not make a {}x{} RGB frame",
                    frame.pixels.len(),
                    frame.width,
                    frame.height
                ))
            })?;
        Thumbnail::from_image(frame.pts_s, &image::DynamicImage::ImageRgb8(image), regions)
    }

    /// A thumbnail from any image.
    pub fn from_image(
        time_s: f64,
        image: &image::DynamicImage,
        regions: Vec<Region>,
    ) -> Result<Thumbnail> {
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| Error::Processing(format!("thumbnail: cannot encode PNG: {e}")))?;
        Ok(Thumbnail { time_s, width: image.width(), height: image.height(), png, regions })
    }

    /// The frame as RGB with every region outlined, for display.
    pub fn boxed(&self) -> Result<image::RgbImage> {
        let frame = image::load_from_memory_with_format(&self.png, image::ImageFormat::Png)
            .map_err(|e| Error::Processing(format!("thumbnail: cannot decode PNG: {e}")))?;
        let mut rgb = frame.to_rgb8();
        for (i, region) in self.regions.iter().enumerate() {
            outline(&mut rgb, region, REGION_COLOURS[i % REGION_COLOURS.len()]);
        }
        Ok(rgb)
    }
}

/// Box colours, in region order (first the face, then the mouth, typically).
pub(crate) const REGION_COLOURS: [[u8; 3]; 3] = [[0, 200, 255], [255, 64, 160], [255, 200, 0]];

/// Box line width in pixels; thin enough not to hide the mouth on a 320 px frame.
const BOX_LINE_PX: u32 = 2;

fn outline(image: &mut image::RgbImage, region: &Region, colour: [u8; 3]) {
    let (w, h) = image.dimensions();
    if region.x >= w || region.y >= h || region.width == 0 || region.height == 0 {
        return;
    }
    let x1 = (region.x + region.width - 1).min(w - 1);
    let y1 = (region.y + region.height - 1).min(h - 1);
    for y in region.y..=y1 {
        for x in region.x..=x1 {
            let edge = x < region.x + BOX_LINE_PX
                || x + BOX_LINE_PX > x1
                || y < region.y + BOX_LINE_PX
                || y + BOX_LINE_PX > y1;
            if edge {
                image.put_pixel(x, y, image::Rgb(colour));
            }
        }
    }
}

mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// `bytes` as a base64 string (for `data:` URLs).
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_round_trips_through_json_and_draws_its_boxes() {
        let frame = RgbFrame { pts_s: 1.5, width: 16, height: 12, pixels: vec![100; 16 * 12 * 3] };
        let region = Region { label: "mouth".into(), x: 4, y: 4, width: 8, height: 6 };
        let thumb = Thumbnail::from_rgb(&frame, vec![region]).unwrap();
        let json = serde_json::to_string(&thumb).unwrap();
        let back: Thumbnail = serde_json::from_str(&json).unwrap();
        assert_eq!(back, thumb);
        let boxed = back.boxed().unwrap();
        assert_eq!(boxed.get_pixel(4, 4).0, REGION_COLOURS[0]);
        assert_eq!(boxed.get_pixel(11, 9).0, REGION_COLOURS[0]);
        assert_eq!(boxed.get_pixel(7, 7).0, [100, 100, 100], "inside the box stays untouched");
        assert_eq!(boxed.get_pixel(0, 0).0, [100, 100, 100]);
    }

    #[test]
    fn uniform_signal_has_its_time_base() {
        let s = Signal::uniform("envelope", 0.5, 100.0, vec![0.0; 3]);
        assert_eq!(s.times_s, [0.5, 0.51, 0.52]);
    }

    #[test]
    fn rms_envelope_has_one_level_per_block_at_its_start() {
        // 1 kHz: blocks of 5 samples; the second block is a square wave of amplitude 0.5.
        let samples = [[0.0; 5], [0.5, -0.5, 0.5, -0.5, 0.5], [0.0; 5]].concat();
        let s = Signal::rms_envelope("level", 2.0, 1000.0, &samples);
        assert_eq!(s.values, [0.0, 0.5, 0.0]);
        assert_eq!(s.times_s, [2.0, 2.005, 2.01]);
    }
}
