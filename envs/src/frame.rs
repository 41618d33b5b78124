//! 64x64 RGB observation frames stored as bytes.

pub const FRAME_SIDE: usize = 64;
pub const FRAME_CHANNELS: usize = 3;
pub const FRAME_BYTES: usize = FRAME_SIDE * FRAME_SIDE * FRAME_CHANNELS;

/// A 64x64 RGB frame, row-major, channels interleaved (HWC), `u8` per channel.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Box<[u8]>);

impl Frame {
    pub fn black() -> Self {
        Self(vec![0; FRAME_BYTES].into_boxed_slice())
    }

    /// Wraps raw HWC bytes; panics unless there are exactly `FRAME_BYTES` of them.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        assert_eq!(bytes.len(), FRAME_BYTES, "a frame is 64x64x3 bytes");
        Self(bytes.into_boxed_slice())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * FRAME_SIDE + x) * FRAME_CHANNELS;
        [self.0[i], self.0[i + 1], self.0[i + 2]]
    }

    pub fn set_pixel(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        let i = (y * FRAME_SIDE + x) * FRAME_CHANNELS;
        self.0[i..i + 3].copy_from_slice(&rgb);
    }

    /// Fills the axis-aligned rectangle [x0, x1) x [y0, y1), clipped to the frame.
    pub fn fill_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, rgb: [u8; 3]) {
        let clip = |v: i32| v.clamp(0, FRAME_SIDE as i32) as usize;
        for y in clip(y0)..clip(y1) {
            for x in clip(x0)..clip(x1) {
                self.set_pixel(x, y, rgb);
            }
        }
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sum: u64 = self.0.iter().map(|&b| b as u64).sum();
        write!(f, "Frame(64x64x3, byte sum {sum})")
    }
}
