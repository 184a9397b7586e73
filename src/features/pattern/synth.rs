//! avsync's own pattern: where its flashes and beeps fall, and how its frames and samples look.
//!
//! Each period the picture above the information band turns white for [`flash_frames`] frames
//! and a [`ToneBurst`] sounds. The flash starts at the first frame at or after the period's
//! nominal time, so its onset is exactly that frame's presentation time; the beep is placed
//! relative to it: `beep = flash - audio_offset - drift_ppm·1e-6·flash`. Both are computed in
//! continuous time, and the burst is synthesised by evaluating the continuous signal at each
//! sample instant, so a sub-sample offset is really in the samples, not rounded to one.

use super::beep::ToneBurst;
use super::counter::{self, BandRows};
use std::str::FromStr;

/// The first event comes this long after the start, clear of start-up effects in pipelines
/// (encoder priming, players that fade in).
pub const LEAD_IN_S: f64 = 0.5;
/// Duration of each beep; the flash lasts as many whole frames as cover it.
pub const BEEP_S: f64 = 0.08;
/// Raised-cosine fade in and out of each beep, centred on its onset and end: short enough for
/// a crisp onset, long enough that the sampled burst is free of aliasing and that codecs keep
/// its shape, and clearly slower than an abrupt switch-on to the analysis (see `beep`).
pub const BEEP_RAMP_S: f64 = 0.004;
/// Peak level of the beep (−6 dBFS): room for codecs' overshoot.
pub const BEEP_AMPLITUDE: f64 = 0.5;

/// A frame rate as an exact fraction, e.g. 30000/1001.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    pub fn fps(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Presentation time of frame `index`, exactly as the rate says.
    pub fn frame_time_s(self, index: u64) -> f64 {
        index as f64 * f64::from(self.den) / f64::from(self.num)
    }

    /// The whole frames per second a timecode counts (30 for 30000/1001).
    pub fn timecode_base(self) -> u32 {
        self.fps().round().max(1.0) as u32
    }
}

impl std::fmt::Display for FrameRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

impl FromStr for FrameRate {
    type Err = String;

    /// `30000/1001`, `25` or a decimal such as `29.97` (taken literally as 2997/100).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a frame rate (e.g. 25, 30000/1001, 23.976)");
        let text = text.trim();
        let (num, den) = if let Some((n, d)) = text.split_once('/') {
            (
                n.trim().parse::<u64>().map_err(|_| bad())?,
                d.trim().parse::<u64>().map_err(|_| bad())?,
            )
        } else if let Some((whole, fraction)) = text.split_once('.') {
            if fraction.len() > 6 || !fraction.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            let den = 10u64.pow(fraction.len() as u32);
            let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
            let fraction: u64 =
                if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| bad())? };
            let num = whole.checked_mul(den).and_then(|n| n.checked_add(fraction));
            (num.ok_or_else(|| format!("'{text}' is out of range for a frame rate"))?, den)
        } else {
            (text.parse::<u64>().map_err(|_| bad())?, 1)
        };
        if num == 0 || den == 0 {
            return Err(format!("'{text}': a frame rate must be positive"));
        }
        let g = gcd(num, den);
        let (num, den) = (num / g, den / g);
        let fits = |v: u64| u32::try_from(v).ok().filter(|&v| v <= i32::MAX as u32);
        match (fits(num), fits(den)) {
            (Some(num), Some(den)) if f64::from(num) / f64::from(den) <= 1000.0 => {
                Ok(FrameRate { num, den })
            }
            _ => Err(format!("'{text}' is out of range for a frame rate")),
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Everything that defines a generated pattern.
#[derive(Clone, Debug)]
pub struct PatternSpec {
    pub width: u32,
    pub height: u32,
    pub frame_rate: FrameRate,
    pub duration_s: f64,
    pub period_s: f64,
    pub sample_rate: u32,
    /// `> 0`: each beep comes this much before its flash (audio early).
    pub audio_offset_ms: f64,
    /// The audio clock's rate error: the offset grows by this many µs per second.
    pub drift_ppm: f64,
    pub tone_hz: f64,
}

/// Smallest picture the counter strip stays readable in after scaling to analysis size.
pub const MIN_SIZE: (u32, u32) = (128, 72);

impl PatternSpec {
    /// Frames each flash lasts: enough to cover the beep.
    pub fn flash_frames(&self) -> u64 {
        (BEEP_S * self.frame_rate.fps()).ceil().max(1.0) as u64
    }

    pub fn tone(&self) -> ToneBurst {
        ToneBurst {
            frequency_hz: self.tone_hz,
            duration_s: BEEP_S,
            ramp_s: BEEP_RAMP_S,
            amplitude: BEEP_AMPLITUDE,
        }
    }

    /// Checks that the pattern can be made and measured unambiguously; the error says which
    /// option to change.
    pub fn validate(&self) -> Result<(), String> {
        let max_size = crate::limits::PATTERN_MAX_SIZE;
        if self.width < MIN_SIZE.0
            || self.height < MIN_SIZE.1
            || self.width > max_size.0
            || self.height > max_size.1
            || self.width % 2 + self.height % 2 != 0
        {
            return Err(format!(
                "--size {}x{}: width and height must be even, from {}x{} to {}x{}",
                self.width, self.height, MIN_SIZE.0, MIN_SIZE.1, max_size.0, max_size.1
            ));
        }
        let frame_s = 1.0 / self.frame_rate.fps();
        let shortest_period_s = (2.0 * (BEEP_S + BEEP_RAMP_S)).max(4.0 * frame_s);
        if self.period_s < shortest_period_s {
            return Err(format!(
                "--period must be at least {:.0} ms at this frame rate",
                shortest_period_s * 1000.0
            ));
        }
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if !(self.tone_hz >= 100.0 && self.tone_hz <= 0.8 * nyquist) {
            return Err(format!(
                "--tone {} Hz: use 100 Hz up to {:.0} Hz at {} Hz sampling",
                self.tone_hz,
                0.8 * nyquist,
                self.sample_rate
            ));
        }
        if self.drift_ppm.abs() >= 1e5 {
            return Err(format!("--drift-ppm {}: must be within ±100000", self.drift_ppm));
        }
        // Offsets of half a period or more pair each flash with the wrong beep.
        let worst_offset_s =
            self.audio_offset_ms.abs() / 1000.0 + self.drift_ppm.abs() * 1e-6 * self.duration_s;
        if worst_offset_s >= self.period_s / 2.0 - BEEP_S {
            return Err(format!(
                "--audio-offset {} ms with --drift-ppm {} reaches {:.1} ms: keep it under half the period minus the beep ({:.0} ms)",
                self.audio_offset_ms,
                self.drift_ppm,
                worst_offset_s * 1000.0,
                (self.period_s / 2.0 - BEEP_S) * 1000.0
            ));
        }
        Ok(())
    }
}

/// One flash/beep event as generated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlannedEvent {
    /// First frame of the flash.
    pub frame: u64,
    /// Presentation time of that frame.
    pub flash_s: f64,
    /// Beep onset: the moment its envelope reaches half its level.
    pub beep_s: f64,
}

/// The events of a pattern and the renderers for its frames and samples.
#[derive(Clone, Debug)]
pub struct PatternPlan {
    spec: PatternSpec,
    tone: ToneBurst,
    events: Vec<PlannedEvent>,
    flash_frames: u64,
    frame_count: u64,
    sample_count: u64,
}

impl PatternPlan {
    /// Plans the events; `frame_time_s` gives the presentation time a frame index will really
    /// have in the output (a container may round the rate's exact times to its time base).
    pub fn new(spec: &PatternSpec, frame_time_s: impl Fn(u64) -> f64) -> Result<Self, String> {
        spec.validate()?;
        let fps = spec.frame_rate.fps();
        let frame_count = (spec.duration_s * fps).round() as u64;
        let sample_count = (spec.duration_s * f64::from(spec.sample_rate)).round() as u64;
        let end_s = sample_count as f64 / f64::from(spec.sample_rate);
        let flash_frames = spec.flash_frames();
        let mut events = Vec::new();
        for k in 0.. {
            let nominal_s = LEAD_IN_S + k as f64 * spec.period_s;
            // The first frame at or after the nominal time (a nanosecond of slack for rounding).
            let frame = (nominal_s * fps - 1e-9).ceil().max(0.0) as u64;
            if frame + flash_frames > frame_count {
                break;
            }
            let flash_s = frame_time_s(frame);
            let beep_s = flash_s - spec.audio_offset_ms / 1000.0 - spec.drift_ppm * 1e-6 * flash_s;
            let fits =
                beep_s - BEEP_RAMP_S / 2.0 >= 0.0 && beep_s + BEEP_S + BEEP_RAMP_S / 2.0 <= end_s;
            if fits {
                events.push(PlannedEvent { frame, flash_s, beep_s });
            }
        }
        if events.is_empty() {
            return Err(format!(
                "--duration {} s holds no complete event (the first comes at {LEAD_IN_S} s)",
                spec.duration_s
            ));
        }
        Ok(PatternPlan {
            spec: spec.clone(),
            tone: spec.tone(),
            events,
            flash_frames,
            frame_count,
            sample_count,
        })
    }

    pub fn events(&self) -> &[PlannedEvent] {
        &self.events
    }

    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    pub fn sample_count(&self) -> u64 {
        self.sample_count
    }

    /// True when frame `index` shows a flash.
    pub fn is_flash(&self, index: u64) -> bool {
        let after = self.events.partition_point(|e| e.frame <= index);
        after > 0 && index < self.events[after - 1].frame + self.flash_frames
    }

    /// Draws frame `index` as 8-bit luma (`width × height`, tightly packed).
    pub fn draw_frame(&self, index: u64, luma: &mut [u8]) {
        let (width, height) = (self.spec.width, self.spec.height);
        let band_top = BandRows::new(height).band_top;
        let level = if self.is_flash(index) { counter::WHITE } else { counter::BLACK };
        luma[..(band_top * width) as usize].fill(level);
        counter::draw_band(luma, width, height, index, self.spec.frame_rate.timecode_base());
    }

    /// Renders the samples `first_sample..first_sample + out.len()` of the mono track.
    pub fn render_audio(&self, first_sample: u64, out: &mut [f32]) {
        out.fill(0.0);
        let rate = f64::from(self.spec.sample_rate);
        let start_s = first_sample as f64 / rate;
        let end_s = (first_sample + out.len() as u64) as f64 / rate;
        let (before, after) = self.tone.extent_s();
        let first = self.events.partition_point(|e| e.beep_s + after < start_s);
        for event in self.events[first..].iter().take_while(|e| e.beep_s - before < end_s) {
            for (i, sample) in out.iter_mut().enumerate() {
                let t = (first_sample + i as u64) as f64 / rate;
                *sample += self.tone.value_at(t - event.beep_s) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fps: &str, offset_ms: f64, drift_ppm: f64) -> PatternSpec {
        PatternSpec {
            width: 320,
            height: 180,
            frame_rate: fps.parse().unwrap(),
            duration_s: 5.0,
            period_s: 1.0,
            sample_rate: 48_000,
            audio_offset_ms: offset_ms,
            drift_ppm,
            tone_hz: 1000.0,
        }
    }

    #[test]
    fn frame_rates_parse_exactly() {
        assert_eq!("30000/1001".parse::<FrameRate>().unwrap(), FrameRate { num: 30000, den: 1001 });
        assert_eq!("25".parse::<FrameRate>().unwrap(), FrameRate { num: 25, den: 1 });
        assert_eq!("23.976".parse::<FrameRate>().unwrap(), FrameRate { num: 2997, den: 125 });
        assert_eq!("50/2".parse::<FrameRate>().unwrap().to_string(), "25");
        assert!("0".parse::<FrameRate>().is_err());
        assert!("abc".parse::<FrameRate>().is_err());
    }

    #[test]
    fn flashes_start_on_frames_and_beeps_carry_offset_and_drift() {
        let s = spec("30000/1001", 12.345, 100.0);
        let plan = PatternPlan::new(&s, |n| s.frame_rate.frame_time_s(n)).unwrap();
        assert_eq!(plan.events().len(), 5);
        for e in plan.events() {
            assert!((e.flash_s - s.frame_rate.frame_time_s(e.frame)).abs() < 1e-12);
            let offset_s = e.flash_s - e.beep_s;
            assert!((offset_s - (0.012345 + 100e-6 * e.flash_s)).abs() < 1e-12);
        }
        // Frame 15 is at 0.5005 s, the first at or after 0.5 s.
        assert_eq!(plan.events()[0].frame, 15);
        assert!(plan.is_flash(15) && plan.is_flash(17) && !plan.is_flash(18) && !plan.is_flash(14));
    }

    #[test]
    fn audio_holds_one_burst_per_event_at_its_onset() {
        let s = spec("25", -3.21, 0.0);
        let plan = PatternPlan::new(&s, |n| s.frame_rate.frame_time_s(n)).unwrap();
        let mut audio = vec![0.0f32; plan.sample_count() as usize];
        // Rendered in odd-sized chunks to check chunk boundaries.
        for (i, chunk) in audio.chunks_mut(1000).enumerate() {
            plan.render_audio(i as u64 * 1000, chunk);
        }
        let onset = plan.events()[1].beep_s;
        let index = (onset * 48_000.0) as usize;
        assert!(audio[index - 200].abs() < 1e-9, "silence before the beep");
        let loud = audio[index + 200..index + 2000].iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((f64::from(loud) - BEEP_AMPLITUDE).abs() < 1e-3);
    }

    #[test]
    fn refuses_ambiguous_offsets_and_tiny_frames() {
        assert!(spec("25", 430.0, 0.0).validate().unwrap_err().contains("half the period"));
        let mut small = spec("25", 0.0, 0.0);
        small.width = 64;
        assert!(small.validate().unwrap_err().contains("--size"));
    }
}
