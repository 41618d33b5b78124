//! The episode store: every real transition collected, grouped into learner
//! episodes, with segment sampling for training and persistence for checkpoints.
//!
//! * A learner episode ends at termination, truncation, or a lost life while lives
//!   remain (the spec treats such a life loss as an episode end for the learner; a
//!   drop to 0 lives without game over is none), so a multi-life game is stored as
//!   several episodes.
//! * Each environment (`env_id`) has at most one episode in progress. Its steps so
//!   far are sampled like those of completed episodes: with one env collecting 200
//!   steps per epoch, excluding them would hide the newest data, often a whole epoch.
//! * Memory is bounded by `max_bytes`, counted as `STEP_BYTES` per stored step.
//!   Whenever the count exceeds the cap, the oldest *completed* episodes (in order
//!   of completion) are dropped until it fits again. Episodes in progress are never
//!   dropped, so the cap can be exceeded while no completed episode is left.

mod episode;
mod persist;
mod recent;
mod rewarded;
mod sample;

pub use episode::STEP_BYTES;
pub use persist::{FORMAT_VERSION, MAGIC};
pub use rewarded::RewardedSegments;
pub use sample::{Padding, SegmentBatch};

use std::collections::{BTreeMap, VecDeque};

use crate::env::Step;
use crate::frame::Frame;
use episode::{Episode, TRUNCATED};

/// One real step: the observation the action was taken in, the action, and what
/// the environment answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub obs: Frame,
    pub action: usize,
    pub reward: f32,
    pub terminated: bool,
    pub truncated: bool,
    /// A life was lost and lives remain: the learner's episode ends here.
    pub life_lost: bool,
}

impl Transition {
    /// The transition of taking `action` in `obs` with result `step`.
    pub fn new(obs: Frame, action: usize, step: &Step) -> Self {
        Self {
            obs,
            action,
            reward: step.reward,
            terminated: step.terminated,
            truncated: step.truncated,
            // Losing the last life without a game over (BankHeist, Qbert) is no end
            // for the learner: the game goes on (algorithm.md, section 1).
            life_lost: step.info.life_lost && step.info.lives != Some(0),
        }
    }

    /// Whether this step closes the learner episode.
    pub fn ends_episode(&self) -> bool {
        self.terminated || self.truncated || self.life_lost
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the episode store is empty: nothing to sample")]
    Empty,
    #[error("segment length must be at least 1")]
    ZeroLength,
    #[error("no stored episode has the {steps} steps a segment needs: nothing to sample")]
    NoEpisodeLongEnough { steps: usize },
    #[error("not an episode store file (bad magic header)")]
    BadMagic,
    #[error("episode store file has format version {found}; this build reads version {expected}")]
    UnsupportedVersion { found: u32, expected: u32 },
    #[error("episode store file is truncated (it ends before its declared size)")]
    Truncated,
    #[error("episode store file is corrupt: checksum {computed:#018x} does not match the stored {stored:#018x}")]
    ChecksumMismatch { stored: u64, computed: u64 },
    #[error("episode store file is corrupt: {0}")]
    Corrupt(String),
    #[error("episode store I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Learner episodes in memory, bounded by a byte cap.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeStore {
    max_bytes: usize,
    /// Completed episodes, oldest first.
    complete: VecDeque<Episode>,
    /// The episode in progress of each environment (never empty).
    open: BTreeMap<usize, Episode>,
    steps: usize,
    dropped_episodes: u64,
}

impl EpisodeStore {
    /// An empty store holding at most about `max_bytes` (see the module docs).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            complete: VecDeque::new(),
            open: BTreeMap::new(),
            steps: 0,
            dropped_episodes: 0,
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Appends a step to `env_id`'s episode in progress, closing the episode when
    /// the step ends it, then enforces the byte cap.
    pub fn push(&mut self, env_id: usize, transition: Transition) {
        let episode = self.open.entry(env_id).or_default();
        episode.push(&transition);
        self.steps += 1;
        if transition.ends_episode() {
            self.complete_open(env_id);
        }
        self.enforce_cap();
    }

    /// Ends `env_id`'s episode in progress as truncated, e.g. when its environment
    /// was reset mid-episode or is not restored after loading a checkpoint.
    pub fn close_episode(&mut self, env_id: usize) {
        if let Some(episode) = self.open.get_mut(&env_id) {
            if let Some(last) = episode.flags.last_mut() {
                *last |= TRUNCATED;
            }
            self.complete_open(env_id);
            self.enforce_cap();
        }
    }

    /// `close_episode` for every environment with an episode in progress.
    pub fn close_open_episodes(&mut self) {
        let ids: Vec<usize> = self.open.keys().copied().collect();
        for id in ids {
            self.close_episode(id);
        }
    }

    /// Steps held, in completed and in-progress episodes.
    pub fn num_steps(&self) -> usize {
        self.steps
    }

    /// Episodes held, completed and in progress.
    pub fn num_episodes(&self) -> usize {
        self.complete.len() + self.open.len()
    }

    pub fn num_complete_episodes(&self) -> usize {
        self.complete.len()
    }

    /// Completed episodes dropped so far to respect the byte cap.
    pub fn dropped_episodes(&self) -> u64 {
        self.dropped_episodes
    }

    /// Bytes accounted against the cap: `num_steps() * STEP_BYTES`.
    pub fn bytes(&self) -> usize {
        self.steps * STEP_BYTES
    }

    /// Episode lengths in sampling order: completed episodes oldest first, then
    /// the episodes in progress by environment id.
    pub fn episode_lens(&self) -> Vec<usize> {
        self.episodes().map(Episode::len).collect()
    }

    fn episodes(&self) -> impl Iterator<Item = &Episode> {
        self.complete.iter().chain(self.open.values())
    }

    fn complete_open(&mut self, env_id: usize) {
        if let Some(mut episode) = self.open.remove(&env_id) {
            episode.shrink_to_fit();
            self.complete.push_back(episode);
        }
    }

    fn enforce_cap(&mut self) {
        while self.bytes() > self.max_bytes {
            let Some(oldest) = self.complete.pop_front() else {
                break;
            };
            self.steps -= oldest.len();
            self.dropped_episodes += 1;
        }
    }
}
