//! The face rules of `avsync preflight`: the faces a lip-sync service's face identification
//! would find (the same tracker as `check`), whether one is a clear frontal face, and the
//! Kling API's timing rules for the inserted sound against the face's time on screen.

use super::preflight::{judged, judged_value, not_checked, Rule, RuleCheck};
use crate::error::{Error, Result};
use crate::features::face::{
    AppearanceCollector, FaceAppearance, FaceModels, FaceTracker, LumaFrame as _, TrackerConfig,
};
use crate::media::{
    self, AudioChunk, DecodeOptions, FrameSize, LumaFrame, MediaSink, VideoOptions,
};
use std::path::Path;

/// The main face must be seen in at least this share of the video's frames: a face that comes
/// and goes leaves the service frames to animate without one.
pub const MIN_FACE_SEEN_SHARE: f64 = 0.8;
/// ... and face the camera ([`crate::features::face::MAX_FRONTAL_YAW_DEG`] and pitch) in at
/// least this share of the frames it is seen in.
pub const MIN_FRONTAL_SHARE: f64 = 0.8;
/// ... and be at least this tall (its landmarks' box over the frame height): smaller faces give
/// the lip-sync model too few pixels of mouth.
pub const MIN_FACE_HEIGHT_SHARE: f64 = 0.1;
/// Kling API: the inserted sound must overlap the face's lip-sync interval by at least this.
pub const MIN_FACE_OVERLAP_MS: f64 = 2000.0;
/// Kling API: the cropped sound is 2–60 s long.
pub const SOUND_CROP_MS: (f64, f64) = (2000.0, 60_000.0);

/// Every face in `video`, most seen first: decoded at its own size and tracked frame by frame
/// with landmarks kept for the head pose.
pub fn find_faces(video: &Path) -> Result<Vec<FaceAppearance>> {
    let models =
        FaceModels::shared().map_err(|e| Error::Processing(format!("face models: {e}")))?;
    let config = TrackerConfig { keep_landmarks: true, ..TrackerConfig::default() };
    let tracker = FaceTracker::new(&models, config)
        .map_err(|e| Error::Processing(format!("face tracking: {e}")))?;
    let mut sink = FaceSink { tracker, collector: None };
    let options = DecodeOptions {
        video: Some(VideoOptions { size: FrameSize::Native, skip_loop_filter: true, threads: 0 }),
        audio: None,
    };
    media::decode(video, &options, &mut sink)?;
    Ok(sink.collector.map(AppearanceCollector::finish).unwrap_or_default())
}

struct FaceSink {
    tracker: FaceTracker,
    collector: Option<AppearanceCollector>,
}

impl MediaSink for FaceSink {
    fn video_frame(&mut self, frame: LumaFrame) -> Result<()> {
        let faces = self
            .tracker
            .process(&frame.luma(), frame.pts_s)
            .map_err(|e| Error::Processing(format!("face tracking: {e}")))?;
        self.collector.get_or_insert_with(|| AppearanceCollector::new(frame.height)).push(&faces);
        Ok(())
    }

    fn audio_chunk(&mut self, _chunk: AudioChunk<'_>) -> Result<()> {
        Ok(())
    }
}

/// The rule "a clear frontal face", judged on the most seen face.
pub fn frontal_face(faces: &[FaceAppearance]) -> RuleCheck {
    let Some(face) = faces.first() else {
        return judged(false, "no face found".to_string());
    };
    let pass = face.seen_share >= MIN_FACE_SEEN_SHARE
        && face.frontal_share >= MIN_FRONTAL_SHARE
        && face.height_share >= MIN_FACE_HEIGHT_SHARE;
    let measured = format!(
        "face {}: seen {:.0}%, frontal {:.0}%",
        face.track,
        face.seen_share * 100.0,
        face.frontal_share * 100.0
    );
    let mut check = judged_value(pass, measured, face.frontal_share, "share");
    check.note = Some(format!(
        "median yaw {:.0}°, pitch {:.0}°, {:.0}% of the frame height; needs seen {:.0}%, \
         frontal {:.0}%, {:.0}% tall",
        face.median_yaw_deg,
        face.median_pitch_deg,
        face.height_share * 100.0,
        MIN_FACE_SEEN_SHARE * 100.0,
        MIN_FRONTAL_SHARE * 100.0,
        MIN_FACE_HEIGHT_SHARE * 100.0
    ));
    check
}

/// The Kling API's sound placement, in ms as the API takes them: the sound is cropped to
/// `start_ms`..`end_ms` and inserted at `insert_ms` of the video.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoundPlacement {
    pub insert_ms: Option<f64>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
}

impl SoundPlacement {
    pub fn is_given(&self) -> bool {
        self.insert_ms.is_some() || self.start_ms.is_some() || self.end_ms.is_some()
    }
}

/// The timing rules for `placement`: the cropped sound's length, the inserted range within the
/// video, and its overlap with the main face. A time outside its file is an input error, naming
/// the file; an end before the start is a usage error.
pub fn sound_rules(
    placement: &SoundPlacement,
    video: (&Path, f64),
    audio: Option<(&Path, f64)>,
    faces: &[FaceAppearance],
) -> Result<Vec<Rule>> {
    let (video_path, video_ms) = video;
    let insert_ms = placement.insert_ms.unwrap_or(0.0);
    if !(0.0..=video_ms).contains(&insert_ms) {
        return Err(Error::input(
            video_path,
            format!(
                "--sound-insert-time {insert_ms} ms lies outside the video (0–{video_ms:.0} ms)"
            ),
        ));
    }
    let start_ms = placement.start_ms.unwrap_or(0.0);
    let end_ms = match (placement.end_ms, audio) {
        (Some(end), _) => Some(end),
        (None, Some((_, audio_ms))) => Some(audio_ms),
        (None, None) => None,
    };
    if let (Some((audio_path, audio_ms)), Some(end)) = (audio, end_ms) {
        for (name, ms) in [("start", start_ms), ("end", end)] {
            if !(0.0..=audio_ms + 1.0).contains(&ms) {
                return Err(Error::input(
                    audio_path,
                    format!(
                        "--sound-{name}-time {ms} ms lies outside the audio (0–{audio_ms:.0} ms)"
                    ),
                ));
            }
        }
    }
    let Some(end_ms) = end_ms else {
        let why = "no AUDIO and no --sound-end-time";
        return Ok(vec![
            rule("sound_crop", crop_limit(), not_checked(why)),
            rule("insert_range", "within the video".to_string(), not_checked(why)),
            rule("face_overlap", overlap_limit(), not_checked(why)),
        ]);
    };
    if end_ms <= start_ms {
        return Err(Error::usage(format!(
            "--sound-end-time ({end_ms} ms) must come after --sound-start-time ({start_ms} ms)"
        )));
    }
    let length_ms = end_ms - start_ms;
    let (min_ms, max_ms) = SOUND_CROP_MS;
    let crop = judged_value(
        (min_ms..=max_ms).contains(&length_ms),
        format!("{:.2} s of sound", length_ms / 1000.0),
        length_ms / 1000.0,
        "s",
    );
    let inserted_end_ms = insert_ms + length_ms;
    let range = judged_value(
        inserted_end_ms <= video_ms,
        format!("{:.2}–{:.2} s", insert_ms / 1000.0, inserted_end_ms / 1000.0),
        inserted_end_ms / 1000.0,
        "s",
    );
    let overlap = match faces.first() {
        Some(face) => {
            let overlap_ms =
                (inserted_end_ms.min(face.end_ms) - insert_ms.max(face.start_ms)).max(0.0);
            let mut check = judged_value(
                overlap_ms >= MIN_FACE_OVERLAP_MS,
                format!("{:.2} s with face {}", overlap_ms / 1000.0, face.track),
                overlap_ms / 1000.0,
                "s",
            );
            check.note = Some(format!(
                "face {} is on screen {:.2}–{:.2} s",
                face.track,
                face.start_ms / 1000.0,
                face.end_ms / 1000.0
            ));
            check
        }
        None => judged(false, "no face found".to_string()),
    };
    Ok(vec![
        rule("sound_crop", crop_limit(), crop),
        rule("insert_range", "within the video".to_string(), range),
        rule("face_overlap", overlap_limit(), overlap),
    ])
}

fn rule(name: &'static str, limit: String, check: RuleCheck) -> Rule {
    Rule { input: "audio".into(), rule: name.into(), limit, check }
}

fn crop_limit() -> String {
    format!("{:.0}–{:.0} s", SOUND_CROP_MS.0 / 1000.0, SOUND_CROP_MS.1 / 1000.0)
}

fn overlap_limit() -> String {
    format!("at least {:.0} s with the face", MIN_FACE_OVERLAP_MS / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::preflight::Status;

    fn face(start_ms: f64, end_ms: f64) -> FaceAppearance {
        FaceAppearance {
            track: 0,
            start_ms,
            end_ms,
            seen_share: 0.9,
            height_share: 0.4,
            median_yaw_deg: 2.0,
            median_pitch_deg: -3.0,
            frontal_share: 1.0,
        }
    }

    fn statuses(rules: &[Rule]) -> Vec<(&str, Status)> {
        rules.iter().map(|r| (r.rule.as_ref(), r.check.status)).collect()
    }

    #[test]
    fn the_inserted_sound_must_overlap_the_face_by_two_seconds() {
        let video = (Path::new("v.mp4"), 10_000.0);
        let audio = Some((Path::new("a.wav"), 20_000.0));
        let faces = [face(0.0, 4000.0)];
        let place = |insert, start, end| SoundPlacement {
            insert_ms: Some(insert),
            start_ms: Some(start),
            end_ms: Some(end),
        };
        // 3 s inserted at 1 s: 3 s with the face
        let rules = sound_rules(&place(1000.0, 0.0, 3000.0), video, audio, &faces).unwrap();
        assert!(rules.iter().all(|r| r.check.status == Status::Pass), "{rules:?}");
        // inserted at 3 s: 1 s with the face, and it runs past the video's end
        let rules = sound_rules(&place(3000.0, 0.0, 8000.0), video, audio, &faces).unwrap();
        assert_eq!(
            statuses(&rules),
            [
                ("sound_crop", Status::Pass),
                ("insert_range", Status::Fail),
                ("face_overlap", Status::Fail)
            ]
        );
        // a crop of 1.5 s is too short
        let rules = sound_rules(&place(0.0, 500.0, 2000.0), video, audio, &faces).unwrap();
        assert_eq!(rules[0].check.status, Status::Fail);
    }

    #[test]
    fn times_outside_their_files_are_input_errors_naming_the_file() {
        let video = (Path::new("v.mp4"), 10_000.0);
        let audio = Some((Path::new("a.wav"), 5000.0));
        let late = SoundPlacement { insert_ms: Some(12_000.0), ..SoundPlacement::default() };
        let err = sound_rules(&late, video, audio, &[]).unwrap_err().to_string();
        assert!(err.contains("v.mp4") && err.contains("outside the video"), "{err}");
        let past = SoundPlacement { end_ms: Some(7000.0), ..SoundPlacement::default() };
        let err = sound_rules(&past, video, audio, &[]).unwrap_err().to_string();
        assert!(err.contains("a.wav") && err.contains("outside the audio"), "{err}");
        let backwards = SoundPlacement {
            start_ms: Some(3000.0),
            end_ms: Some(1000.0),
            ..SoundPlacement::default()
        };
        assert!(sound_rules(&backwards, video, audio, &[]).is_err());
    }

    #[test]
    fn a_face_that_comes_and_goes_is_not_a_clear_frontal_face() {
        assert_eq!(frontal_face(&[face(0.0, 4000.0)]).status, Status::Pass);
        let fleeting = FaceAppearance { seen_share: 0.5, ..face(0.0, 2000.0) };
        assert_eq!(frontal_face(&[fleeting]).status, Status::Fail);
        let turned = FaceAppearance { frontal_share: 0.3, ..face(0.0, 4000.0) };
        assert_eq!(frontal_face(&[turned]).status, Status::Fail);
        assert_eq!(frontal_face(&[]).status, Status::Fail);
    }
}
