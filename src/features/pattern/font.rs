//! A 5×7 bitmap font for the burnt-in timecode: digits, colon and space are all it needs.

/// Glyph width and height in font pixels.
pub const GLYPH_WIDTH: u32 = 5;
pub const GLYPH_HEIGHT: u32 = 7;
/// Font pixels between glyphs.
const GLYPH_GAP: u32 = 1;

/// Rows of a glyph, top first; bit 4 is the leftmost pixel.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        _ => [0; 7],
    }
}

/// Width in image pixels of `text` drawn at `scale` image pixels per font pixel.
pub fn text_width(text: &str, scale: u32) -> u32 {
    let n = text.chars().count() as u32;
    (n * (GLYPH_WIDTH + GLYPH_GAP)).saturating_sub(GLYPH_GAP) * scale
}

/// Draws `text` into a tightly packed 8-bit image with its top-left corner at (`x`, `y`);
/// pixels outside the image are clipped.
#[allow(clippy::too_many_arguments)]
pub fn draw_text(
    image: &mut [u8],
    width: u32,
    height: u32,
    x: u32,
    y: u32,
    scale: u32,
    text: &str,
    level: u8,
) {
    for (i, c) in text.chars().enumerate() {
        let left = x + i as u32 * (GLYPH_WIDTH + GLYPH_GAP) * scale;
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..GLYPH_WIDTH {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    let py = y + row as u32 * scale + dy;
                    if py >= height {
                        continue;
                    }
                    for dx in 0..scale {
                        let px = left + col * scale + dx;
                        if px < width {
                            image[(py * width + px) as usize] = level;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_one_glyph_pixel_by_pixel() {
        let (w, h) = (12, 9);
        let mut image = vec![0u8; (w * h) as usize];
        draw_text(&mut image, w, h, 1, 1, 1, "1", 9);
        // Row 0 of "1" is ..#.. and row 6 is .###.
        assert_eq!(image[(w + 3) as usize], 9);
        assert_eq!(image[(w + 2) as usize], 0);
        let bottom: Vec<u8> = (1..6).map(|x| image[(7 * w + x) as usize]).collect();
        assert_eq!(bottom, [0, 9, 9, 9, 0]);
        assert_eq!(text_width("12:3", 2), (4 * 6 - 1) * 2);
    }
}
