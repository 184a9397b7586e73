//! Presentation times for decoded audio: from the timestamps, at the precision of the samples.
//!
//! Decoders hand over frames of samples, each with a timestamp. Within a stream the samples are
//! contiguous, so the time of every sample follows from the first timestamp and the count. The
//! timestamps themselves are less exact than that:
//! - Matroska rounds every packet time to the millisecond (48 samples at 48 kHz). The offsets
//!   `timestamp − count / rate` of a run of frames scatter over one tick around the truth, so
//!   the middle of their range is the best estimate of where the run starts; it is settled
//!   after [`SETTLE_S`] of audio, or as soon as the scatter spans a full tick.
//! - FFmpeg gets single frames wrong (Vorbis at a long-to-short block change is 9 ms off, and the
//!   next frame is right again). A frame that disagrees with the count is held until the next
//!   frame tells which is right: if the next one continues it, the stream really jumped (a gap
//!   or an overlap in the file) and a new run starts; otherwise it was a glitch and the frame is
//!   placed by count.

/// Audio held back, at most, while the start of a run of frames is being estimated.
pub(crate) const SETTLE_S: f64 = 1.0;
/// Timestamp error tolerated beyond the time base's own precision, in samples.
const JITTER_SAMPLES: f64 = 2.0;

/// Samples whose presentation time is settled.
#[derive(Debug, PartialEq)]
pub(crate) struct Placed<'a> {
    pub start_s: f64,
    pub rate: u32,
    pub samples: &'a [f32],
    /// True for the first samples after a discontinuity (or the very first samples).
    pub new_run: bool,
}

/// Frames that follow each other without a gap.
#[derive(Debug)]
struct Run {
    rate: u32,
    /// Range of `timestamp − count / rate` over the frames timed by their own timestamps.
    low_s: f64,
    high_s: f64,
    /// The run's start time, once settled.
    settled_s: Option<f64>,
    /// Samples in the run so far.
    count: usize,
    /// The last `pending.len()` samples of the run, not yet placed.
    pending: Vec<f32>,
    emitted_any: bool,
}

impl Run {
    fn new(start_s: f64, rate: u32) -> Self {
        Run {
            rate,
            low_s: start_s,
            high_s: start_s,
            settled_s: None,
            count: 0,
            pending: Vec::new(),
            emitted_any: false,
        }
    }

    fn sample_s(&self) -> f64 {
        1.0 / f64::from(self.rate)
    }

    /// Would a frame whose first sample comes `extra` samples after the run's end and whose
    /// timestamp is `ts` continue the run?
    fn continues(&self, ts: f64, extra: usize, tick_s: f64) -> bool {
        let offset = ts - (self.count + extra) as f64 * self.sample_s();
        let jitter = JITTER_SAMPLES * self.sample_s();
        match self.settled_s {
            Some(start) => (offset - start).abs() <= tick_s / 2.0 + jitter,
            None => offset.max(self.high_s) - offset.min(self.low_s) <= tick_s + jitter,
        }
    }

    /// Adds a frame timed by its own timestamp.
    fn accept(&mut self, ts: f64, samples: &[f32]) {
        if self.settled_s.is_none() {
            let offset = ts - self.count as f64 * self.sample_s();
            self.low_s = self.low_s.min(offset);
            self.high_s = self.high_s.max(offset);
        }
        self.accept_by_count(samples);
    }

    /// Adds a frame placed by count alone.
    fn accept_by_count(&mut self, samples: &[f32]) {
        self.count += samples.len();
        self.pending.extend_from_slice(samples);
    }

    fn start_s(&self) -> f64 {
        self.settled_s.unwrap_or((self.low_s + self.high_s) / 2.0)
    }

    /// Places the pending samples if the start is settled (or `force`).
    fn emit(
        &mut self,
        tick_s: f64,
        force: bool,
        out: &mut dyn FnMut(Placed<'_>) -> crate::Result<()>,
    ) -> crate::Result<()> {
        if self.settled_s.is_none() {
            let spread_covers_tick = self.high_s - self.low_s >= tick_s - self.sample_s();
            let held_long = self.pending.len() as f64 * self.sample_s() >= SETTLE_S;
            if force || spread_covers_tick || held_long {
                self.settled_s = Some(self.start_s());
            }
        }
        if self.settled_s.is_none() || self.pending.is_empty() {
            return Ok(());
        }
        let first = self.count - self.pending.len();
        out(Placed {
            start_s: self.start_s() + first as f64 * self.sample_s(),
            rate: self.rate,
            samples: &self.pending,
            new_run: !self.emitted_any,
        })?;
        self.emitted_any = true;
        self.pending.clear();
        Ok(())
    }
}

/// A frame that disagreed with its run's count, held until the next frame says who is right.
#[derive(Debug)]
struct Suspect {
    ts: f64,
    rate: u32,
    samples: Vec<f32>,
}

/// Turns (timestamp, samples) frames into placed samples; see the module notes.
#[derive(Debug)]
pub(crate) struct SampleClock {
    /// Precision of the timestamps: one tick of the stream's time base, in seconds.
    tick_s: f64,
    run: Option<Run>,
    suspect: Option<Suspect>,
}

impl SampleClock {
    pub(crate) fn new(tick_s: f64) -> Self {
        SampleClock { tick_s, run: None, suspect: None }
    }

    /// Takes the next decoded frame; `out` receives the samples whose times are settled.
    pub(crate) fn push(
        &mut self,
        ts: f64,
        rate: u32,
        samples: &[f32],
        out: &mut dyn FnMut(Placed<'_>) -> crate::Result<()>,
    ) -> crate::Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let tick_s = self.tick_s;
        let suspect_len = self.suspect.as_ref().map_or(0, |s| s.samples.len());
        match self.run.as_mut().filter(|r| r.rate == rate) {
            Some(run) if run.continues(ts, suspect_len, tick_s) => {
                if let Some(suspect) = self.suspect.take() {
                    run.accept_by_count(&suspect.samples);
                }
                run.accept(ts, samples);
            }
            Some(run) => match self.suspect.take() {
                Some(suspect)
                    if (ts - (suspect.ts + suspect.samples.len() as f64 / f64::from(rate)))
                        .abs()
                        <= tick_s + JITTER_SAMPLES / f64::from(rate) =>
                {
                    // The suspect and this frame agree: the stream jumped.
                    run.emit(tick_s, true, out)?;
                    let mut new_run = Run::new(suspect.ts, rate);
                    new_run.accept(suspect.ts, &suspect.samples);
                    new_run.accept(ts, samples);
                    self.run = Some(new_run);
                }
                Some(suspect) => {
                    run.accept_by_count(&suspect.samples);
                    self.suspect = Some(Suspect { ts, rate, samples: samples.to_vec() });
                }
                None => self.suspect = Some(Suspect { ts, rate, samples: samples.to_vec() }),
            },
            // The first frame, or a change of sample rate: a new run.
            None => {
                self.finish(out)?;
                let mut run = Run::new(ts, rate);
                run.accept(ts, samples);
                self.run = Some(run);
            }
        }
        match self.run.as_mut() {
            Some(run) => run.emit(tick_s, false, out),
            None => Ok(()),
        }
    }

    /// Places everything still held.
    pub(crate) fn finish(
        &mut self,
        out: &mut dyn FnMut(Placed<'_>) -> crate::Result<()>,
    ) -> crate::Result<()> {
        if let Some(suspect) = self.suspect.take() {
            match self.run.as_mut().filter(|r| r.rate == suspect.rate) {
                Some(run) => run.accept_by_count(&suspect.samples),
                None => {
                    if let Some(run) = self.run.as_mut() {
                        run.emit(self.tick_s, true, out)?;
                    }
                    let mut run = Run::new(suspect.ts, suspect.rate);
                    run.accept(suspect.ts, &suspect.samples);
                    self.run = Some(run);
                }
            }
        }
        if let Some(run) = self.run.as_mut() {
            run.emit(self.tick_s, true, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds frames of `len` samples at `rate` with the given timestamps; returns the placed
    /// runs as (start, samples, new_run).
    fn place(tick_s: f64, rate: u32, frames: &[(f64, usize)]) -> Vec<(f64, usize, bool)> {
        let mut clock = SampleClock::new(tick_s);
        let mut placed = Vec::new();
        let mut out = |p: Placed<'_>| {
            placed.push((p.start_s, p.samples.len(), p.new_run));
            Ok(())
        };
        for &(ts, len) in frames {
            clock.push(ts, rate, &vec![0.0; len], &mut out).unwrap();
        }
        clock.finish(&mut out).unwrap();
        placed
    }

    /// Merges placed chunks that follow each other by count into (start, total samples).
    fn runs(placed: &[(f64, usize, bool)]) -> Vec<(f64, usize)> {
        let mut runs: Vec<(f64, usize)> = Vec::new();
        for &(start, len, new_run) in placed {
            match runs.last_mut() {
                Some(last) if !new_run => last.1 += len,
                _ => runs.push((start, len)),
            }
        }
        runs
    }

    #[test]
    fn exact_timestamps_are_placed_at_once() {
        let frames: Vec<(f64, usize)> = (0..4).map(|i| (1.0 + i as f64 * 0.02, 960)).collect();
        let placed = place(1.0 / 48_000.0, 48_000, &frames);
        // Emitted frame by frame (nothing held), starting at the first timestamp.
        assert_eq!(placed.len(), 4);
        assert!((placed[0].0 - 1.0).abs() < 1e-12);
        assert!((placed[3].0 - 1.06).abs() < 1e-9);
    }

    #[test]
    fn millisecond_timestamps_are_placed_to_the_sample() {
        // AAC frames (1024 samples at 48 kHz) starting at 0.478667 s, stored in milliseconds.
        let truth = 0.5 - 1024.0 / 48_000.0;
        let frames: Vec<(f64, usize)> = (0..100)
            .map(|i| (((truth + i as f64 * 1024.0 / 48_000.0) * 1000.0).round() / 1000.0, 1024))
            .collect();
        let runs = runs(&place(0.001, 48_000, &frames));
        assert_eq!(runs.len(), 1);
        assert!((runs[0].0 - truth).abs() < 0.5 / 48_000.0, "start {} vs {truth}", runs[0].0);
        assert_eq!(runs[0].1, 102_400);
    }

    #[test]
    fn a_single_wrong_timestamp_is_placed_by_count() {
        // Frame 3 is 9.3 ms late by its timestamp; frame 4 is where the count says.
        let rate = 48_000;
        let mut frames: Vec<(f64, usize)> =
            (0..6).map(|i| (i as f64 * 1024.0 / 48_000.0, 1024)).collect();
        frames[3].0 += 0.0093;
        let runs = runs(&place(1.0 / f64::from(rate), rate, &frames));
        assert_eq!(runs, vec![(0.0, 6 * 1024)]);
    }

    #[test]
    fn a_real_gap_starts_a_new_run() {
        let rate = 48_000;
        let mut frames: Vec<(f64, usize)> =
            (0..6).map(|i| (i as f64 * 1024.0 / 48_000.0, 1024)).collect();
        for frame in &mut frames[3..] {
            frame.0 += 0.5;
        }
        let runs = runs(&place(1.0 / f64::from(rate), rate, &frames));
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!((runs[1].0 - (3.0 * 1024.0 / 48_000.0 + 0.5)).abs() < 1e-9);
        assert_eq!(runs[1].1, 3 * 1024);
    }
}
