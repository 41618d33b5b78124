//! Segment sampling: fixed-length windows of consecutive steps, padded where they
//! run past an episode boundary.

use rand::Rng;

use super::episode::Episode;
use super::{EpisodeStore, StoreError};
use crate::frame::FRAME_BYTES;

/// Which side of a segment may run outside its episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// The segment *starts* at a uniformly drawn step and is padded on the right
    /// where it runs past the episode's end (tokenizer and world model).
    Right,
    /// The segment *ends* at a uniformly drawn step and is padded on the left
    /// where it starts before the episode's start (actor-critic burn-in).
    Left,
}

/// `batch` segments of `len` steps as flat row-major buffers. Padded positions
/// hold zeros (frames, rewards), action 0, `ends = false` and `mask = false`.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentBatch {
    pub batch: usize,
    pub len: usize,
    /// `[batch, len, 64, 64, 3]` observation bytes.
    pub frames: Vec<u8>,
    /// `[batch, len]` actions taken in those observations.
    pub actions: Vec<usize>,
    /// `[batch, len]` rewards received for those actions.
    pub rewards: Vec<f32>,
    /// `[batch, len]` true where the step ended the episode for the learner
    /// (termination or a lost life; not truncation).
    pub ends: Vec<bool>,
    /// `[batch, len]` true where the position holds real data.
    pub mask: Vec<bool>,
}

impl SegmentBatch {
    pub(super) fn padded(batch: usize, len: usize) -> Self {
        let cells = batch * len;
        Self {
            batch,
            len,
            frames: vec![0; cells * FRAME_BYTES],
            actions: vec![0; cells],
            rewards: vec![0.0; cells],
            ends: vec![false; cells],
            mask: vec![false; cells],
        }
    }

    /// The frame bytes of segment `b` at time `t`.
    pub fn frame(&self, b: usize, t: usize) -> &[u8] {
        let i = b * self.len + t;
        &self.frames[i * FRAME_BYTES..(i + 1) * FRAME_BYTES]
    }

    /// Row `b` from `episode`'s steps `first..first + len`, padding where they fall
    /// outside it.
    pub(super) fn copy_segment(&mut self, b: usize, episode: &Episode, first: isize) {
        for t in 0..self.len {
            let source = first + t as isize;
            if source >= 0 && (source as usize) < episode.len() {
                self.copy_step(b, t, episode, source as usize);
            }
        }
    }

    /// `other`'s rows into this batch's rows `from..`; the lengths must agree.
    pub(super) fn copy_rows_from(&mut self, from: usize, other: &SegmentBatch) {
        debug_assert_eq!(self.len, other.len);
        let cells = from * self.len..(from + other.batch) * self.len;
        self.frames[cells.start * FRAME_BYTES..cells.end * FRAME_BYTES]
            .copy_from_slice(&other.frames);
        self.actions[cells.clone()].copy_from_slice(&other.actions);
        self.rewards[cells.clone()].copy_from_slice(&other.rewards);
        self.ends[cells.clone()].copy_from_slice(&other.ends);
        self.mask[cells].copy_from_slice(&other.mask);
    }

    fn copy_step(&mut self, b: usize, t: usize, episode: &Episode, step: usize) {
        let i = b * self.len + t;
        self.frames[i * FRAME_BYTES..(i + 1) * FRAME_BYTES].copy_from_slice(episode.frame(step));
        self.actions[i] = episode.actions[step] as usize;
        self.rewards[i] = episode.rewards[step];
        self.ends[i] = episode.is_terminal(step);
        self.mask[i] = true;
    }
}

impl EpisodeStore {
    /// Draws `batch` segments of `len` steps, each holding at least `min_real` real
    /// steps (all `len` if `min_real` exceeds it) next to its anchor: the first step
    /// for `Padding::Right`, the last for `Padding::Left`. The anchor is uniform over
    /// the valid ones of every stored episode, so episodes weigh by their length and
    /// episodes shorter than `min_real` are never drawn. Deterministic given `rng`.
    ///
    /// The world model asks for its context blocks plus one block with a loss, the
    /// actor-critic for two (the imagination's context), so that neither learns from
    /// a segment that is mostly padding.
    pub fn sample_segments<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        batch: usize,
        len: usize,
        padding: Padding,
        min_real: usize,
    ) -> Result<SegmentBatch, StoreError> {
        if len == 0 {
            return Err(StoreError::ZeroLength);
        }
        if self.num_steps() == 0 {
            return Err(StoreError::Empty);
        }
        let need = min_real.clamp(1, len);
        let episodes: Vec<&Episode> = self.episodes().collect();
        // An episode of L steps has L - need + 1 valid anchors; cumulative counts:
        // episode i owns draws [ends[i-1], ends[i]).
        let ends: Vec<usize> = episodes
            .iter()
            .scan(0, |total, e| {
                *total += e.anchors(need);
                Some(*total)
            })
            .collect();
        let valid = ends.last().copied().unwrap_or(0);
        if valid == 0 {
            return Err(StoreError::NoEpisodeLongEnough { steps: need });
        }

        let mut out = SegmentBatch::padded(batch, len);
        for b in 0..batch {
            let draw = rng.random_range(0..valid);
            let index = ends.partition_point(|&end| end <= draw);
            let episode = episodes[index];
            let offset = draw - if index == 0 { 0 } else { ends[index - 1] };
            let first = match padding {
                Padding::Right => offset as isize,
                // The last step is at least `need - 1` steps into the episode.
                Padding::Left => (offset + need) as isize - len as isize,
            };
            out.copy_segment(b, episode, first);
        }
        Ok(out)
    }

    /// `batch` right-padded segments whose first `leading` rows start at first steps
    /// drawn uniformly from `starts` ((episode index, first step) in sampling order),
    /// the rest drawn as [`EpisodeStore::sample_segments`] draws them, before the
    /// leading ones. The rewarded and the recent rows are drawn so.
    pub(super) fn sample_segments_led_by<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        batch: usize,
        len: usize,
        min_real: usize,
        starts: &[(usize, usize)],
        leading: usize,
    ) -> Result<SegmentBatch, StoreError> {
        let uniform = self.sample_segments(rng, batch - leading, len, Padding::Right, min_real)?;
        if leading == 0 {
            return Ok(uniform);
        }
        let episodes: Vec<&Episode> = self.episodes().collect();
        let mut segments = SegmentBatch::padded(batch, len);
        for b in 0..leading {
            let (index, first) = starts[rng.random_range(0..starts.len())];
            segments.copy_segment(b, episodes[index], first as isize);
        }
        segments.copy_rows_from(leading, &uniform);
        Ok(segments)
    }

    /// Every stored episode cut into segments of `len` steps that start `stride` steps
    /// apart (steps 0, `stride`, 2 `stride`, ...), padded on the right, in store order
    /// and in batches of at most `batch` segments. A segment is kept when it has at
    /// least `min_real` real steps. With `stride = len - c` and `min_real = c + 1`, the
    /// last `len - c` positions of the segments hold each episode's steps from step `c`
    /// on exactly once: a pass over all of them scores every step once, where
    /// [`EpisodeStore::sample_segments`] scores some twice and misses others.
    pub fn tile_segments(
        &self,
        len: usize,
        stride: usize,
        min_real: usize,
        batch: usize,
    ) -> Result<Vec<SegmentBatch>, StoreError> {
        if len == 0 || stride == 0 || batch == 0 {
            return Err(StoreError::ZeroLength);
        }
        let need = min_real.clamp(1, len);
        let starts: Vec<(&Episode, usize)> = self
            .episodes()
            .flat_map(|episode| {
                let last_start = episode.anchors(need);
                (0..last_start)
                    .step_by(stride)
                    .map(move |first| (episode, first))
            })
            .collect();
        if starts.is_empty() {
            return Err(StoreError::NoEpisodeLongEnough { steps: need });
        }
        Ok(starts
            .chunks(batch)
            .map(|chunk| {
                let mut out = SegmentBatch::padded(chunk.len(), len);
                for (b, &(episode, first)) in chunk.iter().enumerate() {
                    for t in 0..len.min(episode.len() - first) {
                        out.copy_step(b, t, episode, first + t);
                    }
                }
                out
            })
            .collect())
    }

    /// The last `len` steps of each environment's episode in progress, one segment
    /// per id in `env_ids`, padded on the left where the episode is shorter; an id
    /// without an episode in progress (its last one just ended) gives padding only.
    /// A collector that rebuilds its policy's state, as REM's does, burns it in on these.
    pub fn open_episode_tails(&self, env_ids: &[usize], len: usize) -> SegmentBatch {
        let mut out = SegmentBatch::padded(env_ids.len(), len);
        for (b, env_id) in env_ids.iter().enumerate() {
            let Some(episode) = self.open.get(env_id) else {
                continue;
            };
            let real = len.min(episode.len());
            for t in 0..real {
                out.copy_step(b, len - real + t, episode, episode.len() - real + t);
            }
        }
        out
    }
}
