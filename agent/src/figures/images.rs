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
    let file = create(path)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(())
}

/// Writes 64x64 RGB frames (HWC bytes, `FRAME_BYTES` each) as one animated PNG
/// (APNG, which web browsers play), each frame enlarged `scale` times by pixel
/// repetition and shown for 1 / `frames_per_second` s, looping.
pub fn write_animation(
    path: &Path,
    frames: &[&[u8]],
    scale: usize,
    frames_per_second: u16,
) -> Result<()> {
    anyhow::ensure!(!frames.is_empty(), "no frames to write");
    anyhow::ensure!(
        frames.iter().all(|f| f.len() == FRAME_BYTES),
        "a frame is 64x64x3 bytes"
    );
    anyhow::ensure!(
        scale > 0 && frames_per_second > 0,
        "scale and rate must be positive"
    );
    let side = FRAME_SIDE * scale;
    let file = create(path)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side as u32, side as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_animated(frames.len() as u32, 0)?;
    encoder.set_frame_delay(1, frames_per_second)?;
    let mut writer = encoder.write_header()?;
    let mut pixels = vec![0u8; side * side * 3];
    for frame in frames {
        for (y, out_row) in pixels.chunks_exact_mut(side * 3).enumerate() {
            let row = &frame[(y / scale) * FRAME_SIDE * 3..][..FRAME_SIDE * 3];
            for (x, out) in out_row.chunks_exact_mut(3).enumerate() {
                out.copy_from_slice(&row[(x / scale) * 3..][..3]);
            }
        }
        writer.write_image_data(&pixels)?;
    }
    writer.finish()?;
    Ok(())
}

/// Creates `path` and the folders above it.
fn create(path: &Path) -> Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))
}
