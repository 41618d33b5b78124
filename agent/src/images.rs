//! PNG output of frames, so that a person can look at what the models see.

use std::path::Path;

use anyhow::{Context, Result};
use rem_envs::{FRAME_BYTES, FRAME_SIDE};

/// Writes rows of 64x64 RGB frames (HWC bytes, `FRAME_BYTES` each) as one PNG
/// grid with a 2-pixel gap between frames; every row must hold as many frames.
pub fn write_frame_grid(path: &Path, rows: &[Vec<u8>]) -> Result<()> {
    const GAP: usize = 2;
    let columns = rows.first().map_or(0, |r| r.len() / FRAME_BYTES);
    anyhow::ensure!(columns > 0, "no frames to write");
    anyhow::ensure!(
        rows.iter().all(|r| r.len() == columns * FRAME_BYTES),
        "every row of the grid must hold {columns} frames"
    );
    let width = columns * (FRAME_SIDE + GAP) - GAP;
    let height = rows.len() * (FRAME_SIDE + GAP) - GAP;
    let mut pixels = vec![255u8; width * height * 3];
    for (row, frames) in rows.iter().enumerate() {
        for (column, frame) in frames.chunks_exact(FRAME_BYTES).enumerate() {
            for y in 0..FRAME_SIDE {
                let out_y = row * (FRAME_SIDE + GAP) + y;
                let out = (out_y * width + column * (FRAME_SIDE + GAP)) * 3;
                let line = &frame[y * FRAME_SIDE * 3..(y + 1) * FRAME_SIDE * 3];
                pixels[out..out + line.len()].copy_from_slice(line);
            }
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(())
}
