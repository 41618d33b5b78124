//! One stored episode, column by column.

use super::Transition;
use crate::frame::FRAME_BYTES;

pub(super) const TERMINATED: u8 = 1;
pub(super) const TRUNCATED: u8 = 2;
pub(super) const LIFE_LOST: u8 = 4;
pub(super) const KNOWN_FLAGS: u8 = TERMINATED | TRUNCATED | LIFE_LOST;

/// Bytes accounted per stored step: the frame, the action (u32), the reward (f32)
/// and one byte of flags. This is also the step's size in a persisted store.
pub const STEP_BYTES: usize = FRAME_BYTES + 4 + 4 + 1;

/// The steps of one learner episode; every column has one entry per step.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Episode {
    /// `len * FRAME_BYTES` bytes, the observations the actions were taken in.
    pub frames: Vec<u8>,
    pub actions: Vec<u32>,
    pub rewards: Vec<f32>,
    pub flags: Vec<u8>,
}

impl Episode {
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// How many windows of `need` consecutive steps fit in the episode: the valid
    /// anchors of a segment that must hold `need` real steps (`L - need + 1`, or 0).
    /// Uniform sampling, tiling and the rewarded rows' weights count them alike.
    pub fn anchors(&self, need: usize) -> usize {
        (self.len() + 1).saturating_sub(need)
    }

    pub fn push(&mut self, t: &Transition) {
        let action = u32::try_from(t.action).expect("actions fit in u32");
        self.frames.extend_from_slice(t.obs.as_bytes());
        self.actions.push(action);
        self.rewards.push(t.reward);
        let mut flags = 0;
        if t.terminated {
            flags |= TERMINATED;
        }
        if t.truncated {
            flags |= TRUNCATED;
        }
        if t.life_lost {
            flags |= LIFE_LOST;
        }
        self.flags.push(flags);
    }

    pub fn frame(&self, t: usize) -> &[u8] {
        &self.frames[t * FRAME_BYTES..(t + 1) * FRAME_BYTES]
    }

    /// Whether step `t` ends the episode for the learner (no bootstrapping past it):
    /// a real termination or a lost life. Truncation is not an end in this sense.
    pub fn is_terminal(&self, t: usize) -> bool {
        self.flags[t] & (TERMINATED | LIFE_LOST) != 0
    }

    pub fn shrink_to_fit(&mut self) {
        self.frames.shrink_to_fit();
        self.actions.shrink_to_fit();
        self.rewards.shrink_to_fit();
        self.flags.shrink_to_fit();
    }
}
