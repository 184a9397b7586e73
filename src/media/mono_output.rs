//! Mono audio output at the analysis rate, shared by both decoders: frames are placed on the
//! timeline by the [`SampleClock`], then converted to the requested rate through libswresample
//! with the presentation time of every delivered sample kept exact.

use super::clock::{Placed, SampleClock};
use super::{AudioChunk, MediaSink, SampleRate};
use crate::error::{Error, Result};
use ffmpeg_next as ff;

/// Delivers decoded mono audio to a sink at the requested rate.
pub(crate) struct MonoOutput {
    clock: SampleClock,
    converter: Converter,
}

impl MonoOutput {
    /// `tick_s` is the precision of the stream's timestamps (one tick of its time base).
    pub(crate) fn new(target: SampleRate, tick_s: f64) -> Self {
        MonoOutput {
            clock: SampleClock::new(tick_s),
            converter: Converter {
                target,
                resampler: None,
                delivered: Delivered::default(),
                runs: 0,
            },
        }
    }

    /// Takes `mono`, decoded at `rate` Hz, whose first sample's timestamp is `ts`.
    pub(crate) fn push(
        &mut self,
        ts: f64,
        rate: u32,
        mono: &[f32],
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        let converter = &mut self.converter;
        self.clock.push(ts, rate, mono, &mut |placed| converter.convert(placed, sink))
    }

    /// Delivers everything still held.
    pub(crate) fn finish(&mut self, sink: &mut dyn MediaSink) -> Result<()> {
        let converter = &mut self.converter;
        self.clock.finish(&mut |placed| converter.convert(placed, sink))?;
        converter.flush(sink)
    }

    /// What has gone to the sink so far.
    pub(crate) fn delivered(&self) -> Delivered {
        self.converter.delivered
    }

    /// Places where the timestamps jumped off the count of samples (forward or back), or the
    /// sample rate changed: every run of samples after the first.
    pub(crate) fn discontinuities(&self) -> u64 {
        self.converter.runs.saturating_sub(1)
    }
}

/// What has gone to the sink so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Delivered {
    /// Presentation time just past the last delivered sample.
    pub(crate) end_s: Option<f64>,
}

struct Converter {
    target: SampleRate,
    resampler: Option<MonoResampler>,
    delivered: Delivered,
    /// Runs of contiguous samples delivered (see [`Placed::new_run`]).
    runs: u64,
}

impl Converter {
    /// Converts placed samples to the target rate. A run of samples after a discontinuity
    /// gets a fresh resampler, so that its output starts at the run's own time.
    fn convert(&mut self, placed: Placed<'_>, sink: &mut dyn MediaSink) -> Result<()> {
        let out_rate = match self.target {
            SampleRate::Native => placed.rate,
            SampleRate::Hz(hz) => hz,
        };
        if placed.new_run {
            self.runs += 1;
            self.flush(sink)?;
        }
        if out_rate == placed.rate {
            return self.deliver(placed.start_s, placed.rate, placed.samples, sink);
        }
        if self.resampler.as_ref().is_some_and(|r| r.input_rate != placed.rate) {
            self.flush(sink)?;
        }
        let resampler = match self.resampler.as_mut() {
            Some(r) => r,
            None => {
                self.resampler.insert(MonoResampler::new(placed.rate, out_rate, placed.start_s)?)
            }
        };
        let start_s = resampler.next_output_s();
        let out = resampler.push(placed.samples)?;
        Self::deliver_to(&mut self.delivered, start_s, out_rate, out, sink)
    }

    /// Drains and drops the resampler.
    fn flush(&mut self, sink: &mut dyn MediaSink) -> Result<()> {
        if let Some(mut resampler) = self.resampler.take() {
            let (start_s, rate) = (resampler.next_output_s(), resampler.output_rate);
            let tail = resampler.flush()?;
            Self::deliver_to(&mut self.delivered, start_s, rate, tail, sink)?;
        }
        Ok(())
    }

    fn deliver(
        &mut self,
        start_s: f64,
        rate: u32,
        samples: &[f32],
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        Self::deliver_to(&mut self.delivered, start_s, rate, samples, sink)
    }

    fn deliver_to(
        delivered: &mut Delivered,
        start_s: f64,
        sample_rate: u32,
        samples: &[f32],
        sink: &mut dyn MediaSink,
    ) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        delivered.end_s = Some(start_s + samples.len() as f64 / f64::from(sample_rate));
        sink.audio_chunk(AudioChunk { start_s, sample_rate, samples })
    }
}

/// Mono f32 rate conversion through libswresample, keeping track of output time.
///
/// libswresample compensates its filter delay, so output sample `k` is presented at the first
/// input sample's time plus `k / output_rate`; the tests check this on a click.
struct MonoResampler {
    context: *mut ff::ffi::SwrContext,
    input_rate: u32,
    output_rate: u32,
    first_input_s: f64,
    produced: usize,
    buffer: Vec<f32>,
}

// The context is owned exclusively by this struct and never shared.
unsafe impl Send for MonoResampler {}

impl MonoResampler {
    fn new(input_rate: u32, output_rate: u32, first_input_s: f64) -> Result<Self> {
        use ff::ffi;
        let mono = ff::ChannelLayout::MONO.bits() as i64;
        // SAFETY: plain constructor calls; the pointer is checked and owned by `Self`.
        let context = unsafe {
            let context = ffi::swr_alloc_set_opts(
                std::ptr::null_mut(),
                mono,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
                output_rate as i32,
                mono,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
                input_rate as i32,
                0,
                std::ptr::null_mut(),
            );
            if context.is_null() || ffi::swr_init(context) < 0 {
                if !context.is_null() {
                    let mut c = context;
                    ffi::swr_free(&mut c);
                }
                return Err(Error::Processing(format!(
                    "cannot resample audio from {input_rate} to {output_rate} Hz"
                )));
            }
            context
        };
        Ok(MonoResampler {
            context,
            input_rate,
            output_rate,
            first_input_s,
            produced: 0,
            buffer: Vec::new(),
        })
    }

    /// Presentation time of the next output sample.
    fn next_output_s(&self) -> f64 {
        self.first_input_s + self.produced as f64 / f64::from(self.output_rate)
    }

    /// Feeds `input`, which continues the previous input, and returns the samples ready so far.
    fn push(&mut self, input: &[f32]) -> Result<&[f32]> {
        self.convert(Some(input))
    }

    /// Drains the samples the filter still holds.
    fn flush(&mut self) -> Result<&[f32]> {
        self.convert(None)
    }

    fn convert(&mut self, input: Option<&[f32]>) -> Result<&[f32]> {
        let in_count = input.map_or(0, <[f32]>::len);
        // SAFETY: the context is valid; swr_get_out_samples only reads it.
        let capacity = unsafe { ff::ffi::swr_get_out_samples(self.context, in_count as i32) }.max(0)
            as usize
            + 16;
        self.buffer.resize(capacity, 0.0);
        let mut out_ptr = self.buffer.as_mut_ptr().cast::<u8>();
        let in_ptr = input.map_or(std::ptr::null(), |i| i.as_ptr().cast::<u8>());
        let mut in_planes = [in_ptr];
        // SAFETY: buffers are sized as swr_get_out_samples asks; a null input flushes.
        let produced = unsafe {
            ff::ffi::swr_convert(
                self.context,
                &mut out_ptr,
                capacity as i32,
                if input.is_some() { in_planes.as_mut_ptr() } else { std::ptr::null_mut() },
                in_count as i32,
            )
        };
        if produced < 0 {
            return Err(Error::Processing("audio resampling failed".to_string()));
        }
        self.produced += produced as usize;
        Ok(&self.buffer[..produced as usize])
    }
}

impl Drop for MonoResampler {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by swr_alloc_set_opts and is freed once.
        unsafe { ff::ffi::swr_free(&mut self.context) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampler_output_is_time_aligned_with_its_input() {
        // A click at sample 4800 of 48 kHz (0.1 s) must come out at sample 1600 of 16 kHz.
        let mut input = vec![0.0f32; 48_000];
        input[4800] = 1.0;
        let mut resampler = MonoResampler::new(48_000, 16_000, 0.0).unwrap();
        let mut out = resampler.push(&input[..10_000]).unwrap().to_vec();
        out.extend_from_slice(resampler.push(&input[10_000..]).unwrap());
        out.extend_from_slice(resampler.flush().unwrap());
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        assert_eq!(peak, 1600);
        assert!((out.len() as i64 - 16_000).abs() <= 2, "{} samples", out.len());
    }
}
