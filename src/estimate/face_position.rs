//! Which face was measured, said by where it sits in the picture: "the right face" tells a
//! user which of two speakers avsync followed, where a tracker id ("face 1") does not.

use serde::{Deserialize, Serialize};

/// A face whose box centre lies left of this share of the frame width is the left face...
pub const LEFT_THIRD_END: f64 = 1.0 / 3.0;
/// ...and right of this share, the right face; between the two, the centre face.
pub const RIGHT_THIRD_START: f64 = 2.0 / 3.0;

/// Where the measured face sits across the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FacePosition {
    Left,
    Centre,
    Right,
    /// The only face tracked in the clip: its place says nothing more.
    Only,
}

impl FacePosition {
    /// The position of a face whose box centre lies at `centre_share` of the frame width
    /// (0 = left edge, 1 = right edge), averaged over the frames it was seen in.
    pub fn from_centre(centre_share: f64) -> FacePosition {
        if centre_share < LEFT_THIRD_END {
            FacePosition::Left
        } else if centre_share > RIGHT_THIRD_START {
            FacePosition::Right
        } else {
            FacePosition::Centre
        }
    }

    /// In words: "right face", "the only face".
    pub fn label(self) -> &'static str {
        match self {
            FacePosition::Left => "left face",
            FacePosition::Centre => "centre face",
            FacePosition::Right => "right face",
            FacePosition::Only => "the only face",
        }
    }
}

/// The measured face in words: its position with the tracker's name after it, "right face
/// (face 1)"; the name alone when the position is unknown (a report saved without it).
pub fn describe_face(face: &str, position: Option<FacePosition>) -> String {
    match position {
        Some(position) => format!("{} ({face})", position.label()),
        None => face.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_is_cut_in_thirds() {
        assert_eq!(FacePosition::from_centre(0.2), FacePosition::Left);
        assert_eq!(FacePosition::from_centre(0.5), FacePosition::Centre);
        assert_eq!(FacePosition::from_centre(0.8), FacePosition::Right);
        assert_eq!(describe_face("face 1", Some(FacePosition::Right)), "right face (face 1)");
        assert_eq!(describe_face("face 0", Some(FacePosition::Only)), "the only face (face 0)");
        assert_eq!(describe_face("largest face", None), "largest face");
        assert_eq!(serde_json::to_value(FacePosition::Centre).unwrap(), "centre");
    }
}
