//! Stand-in for the media layer in tests and examples: luma frames and their presentation
//! times from the ffmpeg and ffprobe command-line tools. Frames stream from ffmpeg's stdout, so
//! memory does not grow with the clip.

// Shared by the tests and, by path, the examples; not every user calls every helper.
#![allow(dead_code)]

use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use avsync::features::face::{GrayImage, LumaFrame};

/// One decoded luma frame.
pub struct RawGrayFrame {
    pub data: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub time_s: f64,
}

impl LumaFrame for RawGrayFrame {
    fn luma(&self) -> GrayImage<'_> {
        GrayImage::new(&self.data, self.width, self.height, self.width)
            .expect("frame buffer sized by the decoder")
    }

    fn time_s(&self) -> f64 {
        self.time_s
    }
}

fn run(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Width and height of the first video stream.
pub fn video_size(path: &Path) -> io::Result<(usize, usize)> {
    let s = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path))?;
    let mut it = s.trim().split(',').map(|v| v.parse::<usize>().map_err(io::Error::other));
    match (it.next(), it.next()) {
        (Some(w), Some(h)) => Ok((w?, h?)),
        _ => Err(io::Error::other(format!("{}: no video size in {s:?}", path.display()))),
    }
}

/// Presentation times of the video packets, sorted (no decoding).
fn frame_times(path: &Path) -> io::Result<Vec<f64>> {
    let s = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path))?;
    let mut t: Vec<f64> =
        s.lines().filter_map(|l| l.trim().trim_end_matches(',').parse().ok()).collect();
    t.sort_by(f64::total_cmp);
    Ok(t)
}

/// Frame size after scaling the longer side down to `max_side` (even sizes, aspect kept).
pub fn scaled_size(width: usize, height: usize, max_side: Option<usize>) -> (usize, usize) {
    match max_side {
        Some(m) if width.max(height) > m => {
            let even = |v: f64| ((v / 2.0).round() as usize * 2).max(2);
            let s = m as f64 / width.max(height) as f64;
            (even(width as f64 * s), even(height as f64 * s))
        }
        _ => (width, height),
    }
}

/// Streams the luma frames of `path`, optionally scaled so the longer side is at most
/// `max_side` (area averaging).
pub struct GrayFrames {
    child: Child,
    stdout: ChildStdout,
    times: std::vec::IntoIter<f64>,
    width: usize,
    height: usize,
}

impl GrayFrames {
    pub fn open(path: &Path, max_side: Option<usize>) -> io::Result<Self> {
        let (w0, h0) = video_size(path)?;
        let (width, height) = scaled_size(w0, h0, max_side);
        let times = frame_times(path)?;
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args(["-an", "-fps_mode", "passthrough", "-vf"])
            .arg(format!("scale={width}:{height}:flags=area,format=gray"))
            .args(["-f", "rawvideo", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        Ok(GrayFrames { child, stdout, times: times.into_iter(), width, height })
    }

    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }
}

impl Iterator for GrayFrames {
    type Item = io::Result<RawGrayFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut data = vec![0u8; self.width * self.height];
        match self.stdout.read_exact(&mut data) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return None,
            Err(e) => return Some(Err(e)),
        }
        let time_s = self.times.next()?;
        Some(Ok(RawGrayFrame { data, width: self.width, height: self.height, time_s }))
    }
}

impl Drop for GrayFrames {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
