//! Which face was measured, said by where it sits in the picture: "the right face" tells a
//! user which of two speakers avsync followed, where a tracker id ("face 1") does not.

use crate::report::FacePosition;

/// A face whose box centre lies left of this share of the frame width is the left face...
pub const LEFT_THIRD_END: f64 = 1.0 / 3.0;
/// ...and right of this share, the right face; between the two, the centre face.
pub const RIGHT_THIRD_START: f64 = 2.0 / 3.0;

/// The position of a face whose box centre lies at `centre_share` of the frame width
/// (0 = left edge, 1 = right edge), averaged over the frames it was seen in.
pub fn face_position(centre_share: f64) -> FacePosition {
    if centre_share < LEFT_THIRD_END {
        FacePosition::Left
    } else if centre_share > RIGHT_THIRD_START {
        FacePosition::Right
    } else {
        FacePosition::Centre
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_is_cut_in_thirds() {
        assert_eq!(face_position(0.2), FacePosition::Left);
        assert_eq!(face_position(0.5), FacePosition::Centre);
        assert_eq!(face_position(0.8), FacePosition::Right);
    }
}
