//! Lip features over a clip, one series per face, as the content estimator reads them.

use super::tracker::{FrameFaces, TrackId};

/// The lip measurements of one face in one frame that the estimator correlates with speech.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LipSample {
    /// Inner lip gap in eye distances.
    pub opening: f32,
    /// Outer lip gap in eye distances: follows the jaw even while the lips stay together.
    pub outer_gap: f32,
    /// Area inside the outer lip contour in squared eye distances: opening and rounding.
    pub outer_area: f32,
}

impl LipSample {
    pub fn from_features(lips: &super::LipFeatures) -> LipSample {
        LipSample {
            opening: lips.inner_gap,
            outer_gap: lips.outer_gap,
            outer_area: lips.outer_area,
        }
    }

    /// A mouth whose inner lip gap is `opening` eye distances, with lips 0.3 thick and 0.6
    /// wide: synthetic lips for tests and benchmarks.
    pub fn with_opening(opening: f64) -> LipSample {
        let outer = opening + 0.3;
        LipSample {
            opening: opening as f32,
            outer_gap: outer as f32,
            outer_area: (std::f64::consts::FRAC_PI_4 * 0.6 * outer) as f32,
        }
    }
}

/// One face through the clip: a sample for each frame from the first it was seen in to the
/// last (`None` where it was not seen), so that a clip with many cuts, and so many short
/// tracks, holds each track's frames only, not tracks × frames.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LipTrack {
    /// The tracker's id, or `None` for the composite "largest face in each frame".
    pub id: Option<TrackId>,
    /// The frame `samples[0]` belongs to.
    pub first_frame: usize,
    samples: Vec<Option<LipSample>>,
    /// Frames in the whole clip (set by [`LipSeries::finish`]).
    frames: usize,
}

impl LipTrack {
    /// A track with a sample (or `None`) for every frame of a clip.
    pub fn from_frames(id: Option<TrackId>, samples: Vec<Option<LipSample>>) -> LipTrack {
        LipTrack { id, first_frame: 0, frames: samples.len(), samples }
    }

    /// The face's sample in frame `frame` of the clip, if it was seen there.
    pub fn sample(&self, frame: usize) -> Option<LipSample> {
        let i = frame.checked_sub(self.first_frame)?;
        self.samples.get(i).copied().flatten()
    }

    /// Share of the clip's frames in which this face was seen.
    pub fn presence(&self) -> f64 {
        let seen = self.samples.iter().filter(|s| s.is_some()).count();
        seen as f64 / self.frames.max(self.first_frame + self.samples.len()).max(1) as f64
    }

    /// Adds the sample of frame `frame` (frames in order; skipped ones are not seen).
    fn push(&mut self, frame: usize, sample: Option<LipSample>) {
        if self.samples.is_empty() {
            self.first_frame = frame;
        }
        self.samples.resize(frame - self.first_frame, None);
        self.samples.push(sample);
    }

    /// Standard deviation of the mouth opening over the frames with the face: near 0 for a
    /// still mouth.
    pub fn opening_std(&self) -> f64 {
        let values: Vec<f64> =
            self.samples.iter().flatten().map(|s| f64::from(s.opening)).collect();
        if values.len() < 2 {
            return 0.0;
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
    }
}

/// Frame times and lip tracks of a clip, built frame by frame from the tracker's output. Holds
/// a few numbers per frame and face, never pictures: 28 bytes a frame for a clip with one face.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LipSeries {
    /// Presentation time of each frame.
    pub frame_times_s: Vec<f64>,
    /// One track per face id seen, in order of first appearance.
    pub tracks: Vec<LipTrack>,
    /// For each frame, the position in `tracks` of its largest face ([`NO_FACE`] where there
    /// is none): an index, not a copy of the samples, which [`LipSeries::largest_face`] reads.
    largest: Vec<u32>,
    /// The largest face's mouth where it was widest open: the report's thumbnail marks it.
    pub widest_mouth: Option<MouthView>,
}

/// A frame without a face in `LipSeries::largest`.
const NO_FACE: u32 = u32::MAX;

/// Where and when a mouth was seen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MouthView {
    pub time_s: f64,
    /// Outer lip box in frame pixels.
    pub mouth_box: super::PixelBox,
    /// Inner lip gap in eye distances.
    pub opening: f32,
}

impl LipSeries {
    /// A clip with one face (the tracker's id 0), seen in the frames whose sample is `Some`.
    pub fn single_face(frame_times_s: Vec<f64>, samples: Vec<Option<LipSample>>) -> LipSeries {
        let largest = samples.iter().map(|s| if s.is_some() { 0 } else { NO_FACE }).collect();
        LipSeries {
            frame_times_s,
            tracks: vec![LipTrack::from_frames(Some(0), samples)],
            largest,
            widest_mouth: None,
        }
    }

    /// Adds the next frame (frames must come in presentation order).
    pub fn push(&mut self, frame: &FrameFaces) {
        let index = self.frame_times_s.len();
        self.frame_times_s.push(frame.time_s);
        let mut largest: Option<(u32, &super::FaceObservation)> = None;
        for face in &frame.faces {
            let position = match self.tracks.iter().position(|t| t.id == Some(face.track)) {
                Some(i) => i,
                None => {
                    self.tracks.push(LipTrack { id: Some(face.track), ..LipTrack::default() });
                    self.tracks.len() - 1
                }
            };
            self.tracks[position].push(index, Some(LipSample::from_features(&face.lips)));
            let position = u32::try_from(position).expect("fewer than 2^32 faces in a clip");
            // As `max_by`: the last of equally large faces.
            let size = face.lips.eye_distance_px;
            if largest.is_none_or(|(_, l)| size.total_cmp(&l.lips.eye_distance_px).is_ge()) {
                largest = Some((position, face));
            }
        }
        self.largest.push(largest.map_or(NO_FACE, |(position, _)| position));
        if let Some((_, face)) = largest {
            if self.widest_mouth.is_none_or(|m| face.lips.inner_gap > m.opening) {
                self.widest_mouth = Some(MouthView {
                    time_s: frame.time_s,
                    mouth_box: face.mouth_box,
                    opening: face.lips.inner_gap,
                });
            }
        }
    }

    /// Tells every track the clip's length; call once all frames are in.
    pub fn finish(mut self) -> LipSeries {
        let n = self.frame_times_s.len();
        for track in &mut self.tracks {
            track.frames = n;
            track.samples.shrink_to_fit();
        }
        self.frame_times_s.shrink_to_fit();
        self.largest.shrink_to_fit();
        self
    }

    /// The largest face of each frame, whatever its id, as one track (id `None`): follows one
    /// speaker across cuts, where the tracker starts new ids. Built on demand from the index.
    pub fn largest_face(&self) -> LipTrack {
        let samples = self
            .largest
            .iter()
            .enumerate()
            .map(|(frame, &position)| match position {
                NO_FACE => None,
                position => self.tracks[position as usize].sample(frame),
            })
            .collect();
        LipTrack::from_frames(None, samples)
    }

    pub fn len(&self) -> usize {
        self.frame_times_s.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frame_times_s.is_empty()
    }

    /// Share of frames with at least one face.
    pub fn face_presence(&self) -> f64 {
        let seen = self.largest.iter().filter(|&&position| position != NO_FACE).count();
        seen as f64 / self.largest.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::face::{FaceObservation, LipFeatures, PixelBox};

    fn face(track: TrackId, gap: f32, eye: f32) -> FaceObservation {
        let b = PixelBox { x_min: 0.0, y_min: 0.0, x_max: 10.0, y_max: 10.0 };
        FaceObservation {
            track,
            score: 1.0,
            lips: LipFeatures {
                opening: gap,
                inner_gap: gap,
                outer_gap: gap,
                inner_area: 0.0,
                width: 0.5,
                outer_area: gap,
                jaw: 1.0,
                eye_distance_px: eye,
            },
            mouth_box: b,
            face_box: b,
            landmarks: None,
        }
    }

    #[test]
    fn tracks_line_up_with_frames() {
        let mut series = LipSeries::default();
        let frames = [
            vec![face(0, 0.1, 50.0)],
            vec![],
            vec![face(0, 0.2, 50.0), face(1, 0.3, 80.0)],
            vec![face(1, 0.4, 80.0)],
        ];
        for (i, faces) in frames.into_iter().enumerate() {
            series.push(&FrameFaces { time_s: i as f64 * 0.04, faces, detected: false });
        }
        let series = series.finish();
        assert_eq!(series.len(), 4);
        assert_eq!(series.tracks.len(), 2);
        assert_eq!(series.tracks[0].presence(), 0.5);
        assert_eq!(series.tracks[1].first_frame, 2);
        assert!(series.tracks[1].sample(1).is_none());
        assert!(series.tracks[0].sample(3).is_none());
        assert_eq!(series.tracks[1].sample(3).unwrap().opening, 0.4);
        assert_eq!(series.tracks[1].presence(), 0.5);
        // the largest face: track 0, none, then track 1 twice
        let largest: Vec<Option<f32>> =
            (0..4).map(|i| series.largest_face().sample(i).map(|s| s.opening)).collect();
        assert_eq!(largest, vec![Some(0.1), None, Some(0.3), Some(0.4)]);
        assert_eq!(series.face_presence(), 0.75);
        assert_eq!(series.widest_mouth.unwrap().time_s, 0.12);
    }
}
