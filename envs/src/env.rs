//! The Gymnasium-style environment interface shared by native games and Atari.

use crate::frame::Frame;

/// Errors an environment can report. Native games never fail; Atari workers can.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("action {action} is outside the action space of size {n}")]
    InvalidAction { action: usize, n: usize },
    #[error("step called before reset (or after the episode ended)")]
    NeedsReset,
    #[error("unknown game '{name}'; known games: {known}")]
    UnknownGame { name: String, known: String },
    #[error("{0}")]
    Backend(String),
}

pub type EnvResult<T> = Result<T, EnvError>;

/// A discrete action space with a name for each action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSpace {
    pub names: Vec<String>,
}

impl ActionSpace {
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Self {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    pub fn n(&self) -> usize {
        self.names.len()
    }

    pub fn check(&self, action: usize) -> EnvResult<()> {
        if action < self.n() {
            Ok(())
        } else {
            Err(EnvError::InvalidAction {
                action,
                n: self.n(),
            })
        }
    }
}

/// Side information of a reset or step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    /// Remaining lives, for games that have them.
    pub lives: Option<u32>,
    /// True when this step cost a life (the learner treats it as an episode end while
    /// lives remain).
    pub life_lost: bool,
    /// Raw emulator frames (or native ticks) since the last real reset.
    pub episode_frame: u64,
}

/// The result of one `step`, with Gymnasium's terminated/truncated split.
#[derive(Debug, Clone)]
pub struct Step {
    pub obs: Frame,
    pub reward: f32,
    /// The episode ended inside the environment (game over, or life loss for a learner).
    pub terminated: bool,
    /// The episode was cut by a time limit.
    pub truncated: bool,
    pub info: Info,
}

impl Step {
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// An environment with Gymnasium semantics: `reset(seed) -> (obs, info)`,
/// `step(action) -> (obs, reward, terminated, truncated, info)`.
/// Observations are 64x64 RGB frames.
pub trait Env: Send {
    fn action_space(&self) -> &ActionSpace;

    /// Starts a new episode. `Some(seed)` reseeds the environment's randomness;
    /// `None` continues its current random stream.
    fn reset(&mut self, seed: Option<u64>) -> EnvResult<(Frame, Info)>;

    fn step(&mut self, action: usize) -> EnvResult<Step>;

    /// A short name for logs and configs, e.g. "catch" or "Breakout".
    fn name(&self) -> &str;
}
