//! Settings of one Atari environment: the training and evaluation variants of the
//! wrapper stack of algorithm.md, section 1.

use std::path::PathBuf;
use std::time::Duration;

use crate::env::{EnvError, EnvResult};

/// Environment variable naming the Python interpreter that runs the ALE worker.
pub const PYTHON_ENV_VAR: &str = "REM_PYTHON";
pub const DEFAULT_PYTHON: &str = "python3";

#[derive(Debug, Clone, PartialEq)]
pub struct AtariConfig {
    /// An Atari 100K game name, e.g. "Breakout" or "MsPacman".
    pub game: String,
    /// Episode cut after this many raw frames (truncation, even mid frame-skip).
    pub time_limit_frames: u64,
    /// A real reset runs 1..=noop_max no-op frames.
    pub noop_max: u32,
    /// Raw frames per agent step.
    pub frame_skip: u32,
    /// Training only: a lost life ends the learner's episode.
    pub life_loss_ends_episode: bool,
    /// Seed of the no-op counts and the emulator until `reset(Some(seed))`.
    pub seed: u64,
    /// Python interpreter with ale-py; `None` uses `$REM_PYTHON`, else `python3`.
    pub python: Option<PathBuf>,
    /// The longest wait for a step or reset reply before the worker is killed
    /// (start-up and ROM loading get at least 60 s).
    pub reply_timeout: Duration,
}

impl AtariConfig {
    /// Training variant: 20,000-frame limit, up to 30 no-ops, life loss ends episodes.
    pub fn train(game: &str) -> Self {
        Self {
            game: game.to_string(),
            time_limit_frames: 20_000,
            noop_max: 30,
            frame_skip: 4,
            life_loss_ends_episode: true,
            seed: 0,
            python: None,
            reply_timeout: Duration::from_secs(30),
        }
    }

    /// Evaluation variant: 108,000-frame limit, one no-op, episodes end at game over.
    pub fn eval(game: &str) -> Self {
        Self {
            time_limit_frames: 108_000,
            noop_max: 1,
            life_loss_ends_episode: false,
            ..Self::train(game)
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The interpreter to run: the config's, else `$REM_PYTHON`, else `python3`.
    pub fn python_command(&self) -> PathBuf {
        self.python
            .clone()
            .or_else(|| {
                std::env::var_os(PYTHON_ENV_VAR)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON))
    }

    pub fn validate(&self) -> EnvResult<()> {
        let bad = |why: String| Err(EnvError::Backend(format!("invalid Atari config: {why}")));
        if self.frame_skip == 0 {
            return bad("frame_skip must be at least 1".into());
        }
        if self.noop_max == 0 {
            return bad("noop_max must be at least 1".into());
        }
        if self.time_limit_frames <= self.noop_max as u64 {
            return bad(format!(
                "time_limit_frames ({}) must exceed noop_max ({})",
                self.time_limit_frames, self.noop_max
            ));
        }
        if self.reply_timeout.is_zero() {
            return bad("reply_timeout must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_follow_the_spec() {
        let train = AtariConfig::train("Pong");
        assert_eq!(
            (train.time_limit_frames, train.noop_max, train.frame_skip),
            (20_000, 30, 4)
        );
        assert!(train.life_loss_ends_episode);
        let eval = AtariConfig::eval("Pong");
        assert_eq!(
            (eval.time_limit_frames, eval.noop_max, eval.frame_skip),
            (108_000, 1, 4)
        );
        assert!(!eval.life_loss_ends_episode);
        assert!(train.validate().is_ok() && eval.validate().is_ok());
    }

    #[test]
    fn rejects_a_time_limit_inside_the_noop_reset() {
        let cfg = AtariConfig {
            time_limit_frames: 30,
            ..AtariConfig::train("Pong")
        };
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("time_limit_frames"));
    }
}
