//! Luma frames for the face tests and examples, decoded by the library's media layer
//! ([`avsync::media::decode`]) with their presentation times, as the face tracker takes them.
//! Frames stream from a decoding thread through a short queue, so memory does not grow with
//! the clip.

// Shared by the tests and, by path, the examples; not every user calls every helper.
#![allow(dead_code)]

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use avsync::features::face::{GrayImage, LumaFrame};
use avsync::media::{self, AudioChunk, DecodeOptions, FrameSize, MediaSink, VideoOptions};

/// Decoded frames waiting for the reader: enough to keep the decoder busy while the reader
/// works, few enough that a slow reader holds little memory.
const QUEUE_FRAMES: usize = 16;

/// One decoded frame: the media layer's luma frame, seen by the face tracker.
pub struct DecodedFrame(pub media::LumaFrame);

impl LumaFrame for DecodedFrame {
    fn luma(&self) -> GrayImage<'_> {
        let width = self.0.width as usize;
        GrayImage::new(&self.0.pixels, width, self.0.height as usize, width)
            .expect("frame buffer sized by the decoder")
    }

    fn time_s(&self) -> f64 {
        self.0.pts_s
    }
}

/// Hands each decoded frame to the reader; stops the decoder once the reader is gone.
struct Forward(SyncSender<media::LumaFrame>);

impl MediaSink for Forward {
    fn video_frame(&mut self, frame: media::LumaFrame) -> avsync::Result<()> {
        self.0
            .send(frame)
            .map_err(|_| avsync::Error::Processing("the frame reader stopped reading".into()))
    }

    fn audio_chunk(&mut self, _: AudioChunk<'_>) -> avsync::Result<()> {
        Ok(())
    }
}

/// The luma frames of `path` in presentation order, scaled so that the longer side is at most
/// `max_side` (area averaging, even sizes) or at the coded size with `None`. A decoding error
/// ends the frames with that error. Dropping the iterator early stops the decoding thread at
/// its next frame.
pub struct DecodedFrames {
    frames: Receiver<media::LumaFrame>,
    decoder: Option<JoinHandle<avsync::Result<avsync::media::MediaHealth>>>,
}

impl DecodedFrames {
    pub fn open(path: &Path, max_side: Option<u32>) -> Self {
        let size = max_side.map_or(FrameSize::Native, FrameSize::LongestSide);
        let options =
            DecodeOptions { video: Some(VideoOptions { size, ..Default::default() }), audio: None };
        let (sender, frames) = sync_channel(QUEUE_FRAMES);
        let path = path.to_path_buf();
        let decoder =
            std::thread::spawn(move || media::decode(&path, &options, &mut Forward(sender)));
        DecodedFrames { frames, decoder: Some(decoder) }
    }
}

impl Iterator for DecodedFrames {
    type Item = avsync::Result<DecodedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.frames.recv() {
            Ok(frame) => Some(Ok(DecodedFrame(frame))),
            // The decoder is done: its error, if any, is the last item.
            Err(_) => {
                let decoder = self.decoder.take()?;
                decoder.join().expect("the decoding thread panicked").err().map(Err)
            }
        }
    }
}

/// Every luma frame of `path` (see [`DecodedFrames`]).
pub fn decode_frames(path: &Path, max_side: Option<u32>) -> avsync::Result<Vec<DecodedFrame>> {
    DecodedFrames::open(path, max_side).collect()
}
