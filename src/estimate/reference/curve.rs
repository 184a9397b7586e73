//! The GCC-PHAT curve of one output window around where it was found in the reference: what
//! the report's correlation plot shows for `compare`.
//!
//! The alignment itself keeps no curve (it reads each peak off the cross-spectrum), so the
//! plot's curve is computed again, for one window only and only when a plot is asked for.

use super::audio::{AudioAlignment, WindowMatch};
use crate::correlate::{Band, Correlator, CrossSpectrum, Weighting};

/// Lags shown either side of the window's match, in seconds: a GCC-PHAT peak of a copy is a
/// sample or two wide, so ±10 ms shows it standing alone above the floor, while 48 kHz audio
/// still gives about one lag per pixel of the plot (with more, the PNG loses the spike).
pub const CURVE_HALF_SPAN_S: f64 = 0.01;

/// The window the plot shows: the most confident one that was matched.
pub fn plotted_window(alignment: &AudioAlignment) -> Option<&WindowMatch> {
    alignment
        .windows
        .iter()
        .filter(|w| w.offset_s.is_some() && w.segment.is_some())
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
}

/// GCC-PHAT of `window` of `output` against `reference` (both mono at the alignment's rate)
/// within [`CURVE_HALF_SPAN_S`] of its match, in the alignment's band and scaled to read as
/// coherence (1 for an exact copy): `(t_ref − t_out in s, score)` for every sample of lag.
/// `None` for a window that was not matched. Reference samples beyond its ends count as
/// silence.
pub fn window_curve(
    output: &[f32],
    reference: &[f32],
    alignment: &AudioAlignment,
    window: &WindowMatch,
) -> Option<Vec<(f64, f64)>> {
    let offset_s = window.offset_s?;
    let rate = f64::from(alignment.sample_rate);
    let index = |t: f64| (t * rate).round() as isize;
    let start = index(window.out_start_s).clamp(0, output.len() as isize) as usize;
    let end = index(window.out_end_s).clamp(start as isize, output.len() as isize) as usize;
    let half_span = index(CURVE_HALF_SPAN_S).max(1) as usize;
    // The reference from `half_span` before the window's match to as far after its end.
    let ref_from = start as isize + index(offset_s) - half_span as isize;
    let piece: Vec<f64> = (0..end - start + 2 * half_span)
        .map(|i| {
            let j = ref_from + i as isize;
            usize::try_from(j).ok().and_then(|j| reference.get(j)).map_or(0.0, |&v| f64::from(v))
        })
        .collect();
    let heard: Vec<f64> = output[start..end].iter().map(|&v| f64::from(v)).collect();
    let mut correlator = Correlator::new();
    let n = Correlator::fft_len(piece.len(), heard.len(), 2 * half_span);
    let band = Band { low: alignment.band_hz.0 / rate, high: alignment.band_hz.1 / rate };
    let cross = CrossSpectrum::new(
        &correlator.spectrum(&piece, n),
        &correlator.spectrum(&heard, n),
        Weighting::Phat,
        band,
    );
    let scale = cross.coherence_scale();
    let circular = correlator.circular(&cross);
    // Lag k pairs piece[t + k] = reference[ref_from + t + k] with output[start + t].
    Some(
        (0..=2 * half_span)
            .map(|k| ((ref_from + k as isize - start as isize) as f64 / rate, circular[k] * scale))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::reference::{align_audio, AudioAlignOptions};

    #[test]
    fn the_curve_peaks_at_the_windows_match_and_reads_as_coherence() {
        // Noise, and the same noise 12.5 ms (100 samples at 8 kHz) later in the output.
        let rate = 8000;
        let mut state = 1u32;
        let reference: Vec<f32> = (0..rate * 6)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let output = [vec![0.0; 100], reference.clone()].concat();
        let alignment = align_audio(&output, &reference, rate, &AudioAlignOptions::default());
        let window = plotted_window(&alignment).expect("a matched window");
        let curve = window_curve(&output, &reference, &alignment, window).unwrap();
        assert_eq!(curve.len(), 2 * 80 + 1);
        let (lag_s, score) = curve.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert!((lag_s + 0.0125).abs() < 1e-9, "peak at {lag_s} s");
        assert!(score > 0.9 && score < 1.1, "score {score}");
    }
}
