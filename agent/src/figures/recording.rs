//! Evaluation episodes kept as the policy saw them, written as animated PNGs that a
//! web browser plays: what a score looks like.

use std::path::Path;

use anyhow::Result;
use rem_envs::Frame;

use crate::figures::images::write_animation;

/// Each 64x64 frame is enlarged 4 times (256 x 256 pixels) by pixel repetition.
pub const SCALE: usize = 4;

/// Steps shown per second: an Atari step is 4 frames of the console's 60.
pub const STEPS_PER_SECOND: u16 = 15;

/// The observations of the first [`Recording::wanted`] evaluation episodes, one per step taken (the
/// frame each action was chosen on), in the order of the evaluation's returns.
#[derive(Debug, Default)]
pub struct Recording {
    episodes: Vec<Vec<Frame>>,
}

impl Recording {
    /// Records nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Records the first `episodes` episodes.
    pub fn first(episodes: usize) -> Self {
        Self {
            episodes: vec![Vec::new(); episodes],
        }
    }

    /// How many episodes it records.
    pub fn wanted(&self) -> usize {
        self.episodes.len()
    }

    /// Keeps the observations of the recorded environments whose episode still runs.
    pub fn observe(&mut self, observations: &[Frame], running: &[bool]) {
        for (i, frames) in self.episodes.iter_mut().enumerate() {
            if running[i] {
                frames.push(observations[i].clone());
            }
        }
    }

    /// Writes episode `k` (from 1) as `dir/episode-k.png`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        for (i, frames) in self.episodes.iter().enumerate() {
            let path = dir.join(format!("episode-{}.png", i + 1));
            let bytes: Vec<&[u8]> = frames.iter().map(Frame::as_bytes).collect();
            write_animation(&path, &bytes, SCALE, STEPS_PER_SECOND)?;
        }
        Ok(())
    }
}
