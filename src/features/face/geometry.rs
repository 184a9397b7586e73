//! Image views, rotated face regions and the bilinear warp that feeds both models.
//!
//! Coordinates follow MediaPipe: a point (x, y) in frame pixels is what MediaPipe's normalised
//! coordinates times the frame size give, and the warp samples source index (x, y) directly, so
//! results can be compared with the Python reference without half-pixel corrections.

use super::FaceError;

/// A borrowed 8-bit greyscale image (a luma plane).
#[derive(Debug, Clone, Copy)]
pub struct GrayImage<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> GrayImage<'a> {
    /// Checks that `data` holds `height` rows of `stride` bytes (the last row may stop after
    /// `width` bytes).
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
    ) -> Result<Self, FaceError> {
        let needed =
            stride.checked_mul(height.saturating_sub(1)).and_then(|n| n.checked_add(width));
        match needed {
            Some(n) if width > 0 && height > 0 && stride >= width && data.len() >= n => {
                Ok(GrayImage { data, width, height, stride })
            }
            _ => Err(FaceError::BadImage { width, height, stride, len: data.len() }),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn stride(&self) -> usize {
        self.stride
    }

    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        f32::from(self.data[y * self.stride + x])
    }
}

/// A point in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Point { x, y }
    }

    pub fn dist(self, other: Point) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// An axis-aligned box in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct PixelBox {
    pub x_min: f32,
    pub y_min: f32,
    pub x_max: f32,
    pub y_max: f32,
}

impl PixelBox {
    /// The smallest box holding all `points`.
    pub fn around(points: impl IntoIterator<Item = Point>) -> Self {
        let mut b = PixelBox {
            x_min: f32::INFINITY,
            y_min: f32::INFINITY,
            x_max: f32::NEG_INFINITY,
            y_max: f32::NEG_INFINITY,
        };
        for p in points {
            b.x_min = b.x_min.min(p.x);
            b.y_min = b.y_min.min(p.y);
            b.x_max = b.x_max.max(p.x);
            b.y_max = b.y_max.max(p.y);
        }
        b
    }

    pub fn width(&self) -> f32 {
        self.x_max - self.x_min
    }

    pub fn height(&self) -> f32 {
        self.y_max - self.y_min
    }

    pub fn center(&self) -> Point {
        Point::new((self.x_min + self.x_max) / 2.0, (self.y_min + self.y_max) / 2.0)
    }

    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    /// Intersection over union; 0 for disjoint or empty boxes.
    pub fn iou(&self, other: &PixelBox) -> f32 {
        let inter = PixelBox {
            x_min: self.x_min.max(other.x_min),
            y_min: self.y_min.max(other.y_min),
            x_max: self.x_max.min(other.x_max),
            y_max: self.y_max.min(other.y_max),
        };
        let i = if inter.width() > 0.0 && inter.height() > 0.0 { inter.area() } else { 0.0 };
        let u = self.area() + other.area() - i;
        if u > 0.0 {
            i / u
        } else {
            0.0
        }
    }
}

/// A square region of the frame, rotated by `rotation` radians about its centre: what a model
/// input is cut from. Positive rotation turns the region's x axis towards +y (clockwise on
/// screen), as in MediaPipe's `NormalizedRect`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub center: Point,
    /// Side length in frame pixels.
    pub size: f32,
    pub rotation: f32,
}

impl Region {
    /// Maps a point given in region units (0..1 across, 0..1 down, before rotation) to frame
    /// pixels.
    pub fn to_frame(&self, u: f32, v: f32) -> Point {
        let (s, c) = self.rotation.sin_cos();
        let dx = (u - 0.5) * self.size;
        let dy = (v - 0.5) * self.size;
        Point::new(self.center.x + c * dx - s * dy, self.center.y + s * dx + c * dy)
    }

    /// The axis-aligned box that holds the rotated square.
    pub fn bounds(&self) -> PixelBox {
        PixelBox::around([
            self.to_frame(0.0, 0.0),
            self.to_frame(1.0, 0.0),
            self.to_frame(0.0, 1.0),
            self.to_frame(1.0, 1.0),
        ])
    }

    /// MediaPipe's `DetectionsToRects` + `RectTransformation(scale, square_long)`: a box with
    /// its rotation taken from the line between two keypoints, made square on its longer side
    /// and scaled.
    pub fn from_box_and_eyes(b: &PixelBox, from: Point, to: Point, scale: f32) -> Self {
        // MediaPipe: rotation = target_angle - atan2(-(y1 - y0), x1 - x0), target angle 0
        let upward = -(to.y - from.y);
        Region {
            center: b.center(),
            size: b.width().max(b.height()) * scale,
            rotation: normalize_radians(-upward.atan2(to.x - from.x)),
        }
    }
}

/// Wraps an angle into [-pi, pi).
pub fn normalize_radians(a: f32) -> f32 {
    use std::f32::consts::PI;
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

/// What the warp reads outside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black, as MediaPipe's detector letterbox.
    Zero,
    /// The nearest edge pixel, as MediaPipe's landmark crop.
    Replicate,
}

/// Samples `region` of `img` into an `out` x `out` plane of values 0..255 (row-major), with
/// bilinear interpolation. Output pixel (i, j) reads the source at `region.to_frame(i/out,
/// j/out)`, the corner-to-corner mapping of MediaPipe's OpenCV image-to-tensor converter.
pub fn warp_region(img: &GrayImage, region: &Region, out: usize, border: Border, dst: &mut [f32]) {
    assert_eq!(dst.len(), out * out, "warp destination has the wrong size");
    let (s, c) = region.rotation.sin_cos();
    let step = region.size / out as f32;
    // source position of output pixel (0, 0) and its increments along i and j
    let origin = region.to_frame(0.0, 0.0);
    let (di_x, di_y) = (c * step, s * step);
    let (dj_x, dj_y) = (-s * step, c * step);
    let w = img.width as isize;
    let h = img.height as isize;
    let fetch = |x: isize, y: isize| -> f32 {
        if x >= 0 && y >= 0 && x < w && y < h {
            img.at(x as usize, y as usize)
        } else {
            match border {
                Border::Zero => 0.0,
                Border::Replicate => img.at(x.clamp(0, w - 1) as usize, y.clamp(0, h - 1) as usize),
            }
        }
    };
    for j in 0..out {
        let row = &mut dst[j * out..(j + 1) * out];
        let mut sx = origin.x + dj_x * j as f32;
        let mut sy = origin.y + dj_y * j as f32;
        for v in row.iter_mut() {
            let (xi, yi) = (floor(sx), floor(sy));
            let fx = sx - xi as f32;
            let fy = sy - yi as f32;
            let inside = xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h;
            let (p00, p10, p01, p11) = if inside {
                let at = yi as usize * img.stride + xi as usize;
                let (top, bottom) = (&img.data[at..at + 2], &img.data[at + img.stride..][..2]);
                let px = |row: &[u8], k: usize| f32::from(row[k]);
                (px(top, 0), px(top, 1), px(bottom, 0), px(bottom, 1))
            } else {
                (fetch(xi, yi), fetch(xi + 1, yi), fetch(xi, yi + 1), fetch(xi + 1, yi + 1))
            };
            let top = p00 + (p10 - p00) * fx;
            let bottom = p01 + (p11 - p01) * fx;
            *v = top + (bottom - top) * fy;
            sx += di_x;
            sy += di_y;
        }
    }
}

/// `x.floor()` as an integer, without the libm call that `f32::floor` compiles to on baseline
/// x86-64 (it was a tenth of the warp's time). Out-of-range values saturate, as `as` does.
fn floor(x: f32) -> isize {
    let truncated = x as isize;
    truncated - isize::from(x < truncated as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_view_checks_its_buffer() {
        let buf = vec![0u8; 10 * 4];
        assert!(GrayImage::new(&buf, 10, 4, 10).is_ok());
        assert!(GrayImage::new(&buf[..38], 8, 4, 10).is_ok());
        assert!(GrayImage::new(&buf, 10, 5, 10).is_err());
        assert!(GrayImage::new(&buf, 11, 2, 10).is_err());
        assert!(GrayImage::new(&buf, 0, 4, 10).is_err());
    }

    #[test]
    fn floor_matches_the_float_floor() {
        for x in [-2.5f32, -1.0, -0.25, -0.0, 0.0, 0.25, 1.0, 1.999, 1919.5, 1e9, -1e9] {
            assert_eq!(floor(x), x.floor() as isize, "{x}");
        }
    }

    #[test]
    fn iou_of_boxes() {
        let a = PixelBox { x_min: 0.0, y_min: 0.0, x_max: 2.0, y_max: 2.0 };
        let b = PixelBox { x_min: 1.0, y_min: 0.0, x_max: 3.0, y_max: 2.0 };
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(a.iou(&a), 1.0);
        let far = PixelBox { x_min: 5.0, y_min: 5.0, x_max: 6.0, y_max: 6.0 };
        assert_eq!(a.iou(&far), 0.0);
    }

    #[test]
    fn region_rotation_follows_the_eye_line() {
        let b = PixelBox { x_min: 0.0, y_min: 0.0, x_max: 100.0, y_max: 50.0 };
        // level eyes: no rotation; square on the long side, scaled
        let r = Region::from_box_and_eyes(&b, Point::new(30.0, 20.0), Point::new(70.0, 20.0), 1.5);
        assert_eq!(r.rotation, 0.0);
        assert_eq!(r.size, 150.0);
        assert_eq!(r.center, Point::new(50.0, 25.0));
        // second eye lower on screen: the region turns clockwise by 45 degrees
        let r = Region::from_box_and_eyes(&b, Point::new(30.0, 20.0), Point::new(70.0, 60.0), 1.0);
        assert!((r.rotation - std::f32::consts::FRAC_PI_4).abs() < 1e-6);
        // and its x axis then runs along the eye line
        let a = r.to_frame(0.0, 0.5);
        let z = r.to_frame(1.0, 0.5);
        assert!(((z.y - a.y) - (z.x - a.x)).abs() < 1e-3);
    }

    #[test]
    fn normalize_radians_wraps() {
        use std::f32::consts::PI;
        assert!((normalize_radians(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-5);
        assert!((normalize_radians(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-5);
        assert!((normalize_radians(0.25) - 0.25).abs() < 1e-7);
    }

    #[test]
    fn warp_samples_a_gradient_and_its_borders() {
        // value = x, so a bilinear sample reads back its x coordinate
        let (w, h) = (64usize, 32usize);
        let buf: Vec<u8> = (0..h).flat_map(|_| (0..w).map(|x| x as u8)).collect();
        let img = GrayImage::new(&buf, w, h, w).unwrap();
        let region = Region { center: Point::new(20.0, 16.0), size: 16.0, rotation: 0.0 };
        let mut out = vec![0.0; 8 * 8];
        warp_region(&img, &region, 8, Border::Zero, &mut out);
        // pixel (i, j) reads x = 12 + 2 i
        for j in 0..8 {
            for i in 0..8 {
                assert!((out[j * 8 + i] - (12.0 + 2.0 * i as f32)).abs() < 1e-4);
            }
        }
        // half outside on the left: zero border reads black, replicate reads column 0
        let left = Region { center: Point::new(0.0, 16.0), size: 16.0, rotation: 0.0 };
        warp_region(&img, &left, 8, Border::Zero, &mut out);
        assert_eq!(out[0], 0.0);
        assert_eq!(out[7], 6.0);
        let buf2: Vec<u8> = buf.iter().map(|&v| v + 10).collect();
        let img2 = GrayImage::new(&buf2, w, h, w).unwrap();
        warp_region(&img2, &left, 8, Border::Replicate, &mut out);
        assert_eq!(out[0], 10.0);
        // a quarter turn: the region's x axis runs down the frame, so values stay constant
        let turned = Region {
            center: Point::new(20.0, 16.0),
            size: 16.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        warp_region(&img, &turned, 8, Border::Zero, &mut out);
        for i in 0..8 {
            assert!((out[i] - out[0]).abs() < 1e-3);
        }
    }
}
