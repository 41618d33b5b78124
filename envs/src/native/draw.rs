//! Row-wise drawing on frames: fills whole pixel runs at once, which keeps
//! rendering cheap even in unoptimised test builds.

use crate::frame::{Frame, FRAME_CHANNELS, FRAME_SIDE};

pub type Rgb = [u8; 3];

/// Paints the whole frame one colour.
pub fn clear(frame: &mut Frame, rgb: Rgb) {
    if rgb == [0, 0, 0] {
        frame.as_bytes_mut().fill(0);
    } else {
        for px in frame.as_bytes_mut().chunks_exact_mut(FRAME_CHANNELS) {
            px.copy_from_slice(&rgb);
        }
    }
}

/// Fills the `w` x `h` rectangle with top-left corner (x, y), clipped to the frame.
pub fn rect(frame: &mut Frame, x: i32, y: i32, w: i32, h: i32, rgb: Rgb) {
    let side = FRAME_SIDE as i32;
    let (x0, x1) = (x.clamp(0, side) as usize, (x + w).clamp(0, side) as usize);
    let (y0, y1) = (y.clamp(0, side) as usize, (y + h).clamp(0, side) as usize);
    if x0 >= x1 {
        return;
    }
    let bytes = frame.as_bytes_mut();
    for row in y0..y1 {
        let start = (row * FRAME_SIDE + x0) * FRAME_CHANNELS;
        let end = (row * FRAME_SIDE + x1) * FRAME_CHANNELS;
        for px in bytes[start..end].chunks_exact_mut(FRAME_CHANNELS) {
            px.copy_from_slice(&rgb);
        }
    }
}
