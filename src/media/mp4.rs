//! Just enough of the ISO base media file format (MP4, MOV, M4A) to get two things right that
//! the decoders leave to us: the file type brand (MP4 and MOV share one FFmpeg demuxer, yet
//! upload APIs accept one and not the other) and each track's edit list (symphonia ignores it,
//! so AAC in M4A would come out 1024 priming samples late).
//!
//! Only box headers are read, seeking over the media data, so this costs a few small reads
//! however long the file is.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Boxes nested deeper than this are not looked at (the ones read here sit at depth 4).
const MAX_DEPTH: usize = 6;
/// A header box (`ftyp`, `mvhd`, `tkhd`, `mdhd`, `hdlr`, `elst`) larger than this is corrupt.
const MAX_HEADER_BOX_BYTES: u64 = 1 << 20;

/// What the file's boxes say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mp4Boxes {
    /// The `ftyp` major brand, e.g. `isom`, `mp42`, `qt  `, `M4A `.
    pub major_brand: Option<String>,
    pub compatible_brands: Vec<String>,
    /// True when the movie header (`moov`) was found.
    pub has_moov: bool,
    /// Bytes missing at the end: a top-level box declares more than the file holds (the file
    /// was cut short). 0 for a complete file.
    pub missing_bytes: u64,
    /// `mvhd` time scale, which edit durations are counted in.
    pub movie_timescale: u32,
    pub tracks: Vec<Mp4Track>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mp4Track {
    /// `tkhd` track id (symphonia's `Track::id`).
    pub id: u32,
    /// `hdlr` handler type: `soun`, `vide`, ...
    pub handler: String,
    /// `mdhd` time scale: media time units per second.
    pub media_timescale: u32,
    pub edits: Vec<Edit>,
}

/// One `elst` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Presentation duration of this edit, in movie time units.
    pub segment_duration: u64,
    /// Where in the media this edit starts, in media time units; -1 for an empty edit (a gap).
    pub media_time: i64,
}

/// How a track's edit list places its media on the presentation timeline, in the simple form
/// that audio files use: optional leading gaps, then one stretch of media.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioEdit {
    /// Presentation time at which the first kept sample is shown, in seconds (leading gaps).
    pub start_s: f64,
    /// Media time of the first kept sample, in seconds (priming to skip).
    pub media_start_s: f64,
    /// How long the media plays, in seconds; `None` when the edit does not say (to the end).
    pub duration_s: Option<f64>,
}

impl Mp4Track {
    /// The edit list in the simple form, `Ok(None)` when there is none, `Err` when it is
    /// something more elaborate (several media segments, rate changes) that only FFmpeg applies.
    /// `movie_timescale` is the file's [`Mp4Boxes::movie_timescale`].
    pub fn audio_edit(&self, movie_timescale: u32) -> Result<Option<AudioEdit>, String> {
        if self.edits.is_empty() {
            return Ok(None);
        }
        if movie_timescale == 0 || self.media_timescale == 0 {
            return Err("edit list with a zero time scale".to_string());
        }
        let movie_s = |d: u64| d as f64 / f64::from(movie_timescale);
        let mut start_s = 0.0;
        let mut media = None;
        for edit in &self.edits {
            match (edit.media_time, media) {
                (-1, None) => start_s += movie_s(edit.segment_duration),
                (t, None) if t >= 0 => media = Some(*edit),
                _ => return Err("edit list with several media segments".to_string()),
            }
        }
        let Some(media) = media else { return Ok(None) };
        Ok(Some(AudioEdit {
            start_s,
            media_start_s: media.media_time as f64 / f64::from(self.media_timescale),
            duration_s: (media.segment_duration > 0).then(|| movie_s(media.segment_duration)),
        }))
    }
}

/// Reads the boxes of `path`; `None` when it does not start like an ISO media file.
pub fn read(path: &Path) -> Option<Mp4Boxes> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    read_from(&mut file, len)
}

/// [`read`] over any seekable bytes of length `len` (a file, or a buffer in the fuzz tests).
pub fn read_from(reader: &mut (impl Read + Seek), len: u64) -> Option<Mp4Boxes> {
    let mut boxes = Mp4Boxes::default();
    let mut first = true;
    walk(reader, 0, len, 0, &mut boxes, &mut first, None).ok()?;
    (!first).then_some(boxes)
}

struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the box payload.
    body: u64,
    /// Offset just past the box, or the end of what is there.
    end: u64,
    /// Offset just past the box as its header declares it.
    declared_end: u64,
}

fn read_header(
    file: &mut (impl Read + Seek),
    at: u64,
    limit: u64,
) -> std::io::Result<Option<BoxHeader>> {
    if at + 8 > limit {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(at))?;
    let mut head = [0u8; 8];
    file.read_exact(&mut head)?;
    let size32 = u32::from_be_bytes(head[..4].try_into().expect("4 bytes"));
    let kind: [u8; 4] = head[4..].try_into().expect("4 bytes");
    let (size, body) = match size32 {
        0 => (limit - at, at + 8),
        1 => {
            let mut large = [0u8; 8];
            file.read_exact(&mut large)?;
            (u64::from_be_bytes(large), at + 16)
        }
        n => (u64::from(n), at + 8),
    };
    if size < body - at || !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad box header"));
    }
    // A box cut off by the end of the file still counts up to what is there.
    // A corrupt size may reach u64::MAX: saturate rather than overflow.
    let declared_end = at.saturating_add(size);
    Ok(Some(BoxHeader { kind, body, end: declared_end.min(limit), declared_end }))
}

fn read_body(file: &mut (impl Read + Seek), header: &BoxHeader) -> std::io::Result<Vec<u8>> {
    let len = header.end - header.body;
    if len > MAX_HEADER_BOX_BYTES {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "oversized header box"));
    }
    file.seek(SeekFrom::Start(header.body))?;
    let mut body = vec![0u8; len as usize];
    file.read_exact(&mut body)?;
    Ok(body)
}

fn walk(
    file: &mut (impl Read + Seek),
    start: u64,
    end: u64,
    depth: usize,
    boxes: &mut Mp4Boxes,
    first: &mut bool,
    mut track: Option<&mut Mp4Track>,
) -> std::io::Result<()> {
    let mut at = start;
    while let Some(header) = read_header(file, at, end)? {
        if *first {
            // The first box of an ISO media file is `ftyp` (or, in old QuickTime files, one of
            // the top-level boxes).
            if !matches!(&header.kind, b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip") {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not ISO"));
            }
            *first = false;
        }
        if depth == 0 {
            boxes.missing_bytes = boxes.missing_bytes.max(header.declared_end - header.end);
        }
        match (&header.kind, track.as_deref_mut()) {
            (b"ftyp", _) if depth == 0 => {
                let body = read_body(file, &header)?;
                let brand = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                if body.len() >= 8 {
                    boxes.major_brand = Some(brand(&body[..4]));
                    boxes.compatible_brands = body[8..].chunks_exact(4).map(brand).collect();
                }
            }
            (b"moov", _) if depth == 0 => {
                boxes.has_moov = true;
                walk(file, header.body, header.end, depth + 1, boxes, first, None)?;
            }
            (b"mvhd", _) => {
                let body = read_body(file, &header)?;
                boxes.movie_timescale = full_box_u32(&body, 12, 20);
            }
            (b"trak", _) => {
                let mut new_track = Mp4Track::default();
                if depth < MAX_DEPTH {
                    walk(
                        file,
                        header.body,
                        header.end,
                        depth + 1,
                        boxes,
                        first,
                        Some(&mut new_track),
                    )?;
                }
                boxes.tracks.push(new_track);
            }
            (b"mdia" | b"edts", Some(t)) if depth < MAX_DEPTH => {
                walk(file, header.body, header.end, depth + 1, boxes, first, Some(t))?;
            }
            (b"tkhd", Some(t)) => {
                let body = read_body(file, &header)?;
                t.id = full_box_u32(&body, 12, 20);
            }
            (b"mdhd", Some(t)) => {
                let body = read_body(file, &header)?;
                t.media_timescale = full_box_u32(&body, 12, 20);
            }
            (b"hdlr", Some(t)) => {
                let body = read_body(file, &header)?;
                if body.len() >= 12 {
                    t.handler = String::from_utf8_lossy(&body[8..12]).into_owned();
                }
            }
            (b"elst", Some(t)) => {
                let body = read_body(file, &header)?;
                t.edits = parse_elst(&body);
            }
            _ => {}
        }
        if header.end <= at {
            break;
        }
        at = header.end;
    }
    Ok(())
}

/// A u32 field of a version 0 / version 1 full box: at `v0` bytes into the body in version 0,
/// at `v1` in version 1 (where the times before it are 64-bit).
fn full_box_u32(body: &[u8], v0: usize, v1: usize) -> u32 {
    let at = if body.first() == Some(&1) { v1 } else { v0 };
    body.get(at..at + 4).map_or(0, |b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
}

fn parse_elst(body: &[u8]) -> Vec<Edit> {
    let version = body.first().copied().unwrap_or(0);
    let Some(count) = body.get(4..8).map(|b| u32::from_be_bytes(b.try_into().expect("4"))) else {
        return Vec::new();
    };
    let entry_len = if version == 1 { 20 } else { 12 };
    body[8..]
        .chunks_exact(entry_len)
        .take(count as usize)
        .map(|e| {
            if version == 1 {
                Edit {
                    segment_duration: u64::from_be_bytes(e[..8].try_into().expect("8")),
                    media_time: i64::from_be_bytes(e[8..16].try_into().expect("8")),
                }
            } else {
                Edit {
                    segment_duration: u64::from(u32::from_be_bytes(e[..4].try_into().expect("4"))),
                    media_time: i64::from(i32::from_be_bytes(e[4..8].try_into().expect("4"))),
                }
            }
        })
        .collect()
}
