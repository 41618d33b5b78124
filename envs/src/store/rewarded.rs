//! Rewarded rows: world-model batches in which some rows start among the segments
//! that hold a reward where the world model has a loss, and the two corrections that
//! take the bias this puts into the reward head back out.
//!
//! Notation, per draw of `B` rows of which `r` are rewarded rows:
//! - `S`: the valid first steps of right-padded segments (what
//!   [`EpisodeStore::sample_segments`] draws uniformly), `N = |S|`;
//! - `R ⊆ S`: those whose segment holds a nonzero reward at one of its positions
//!   `loss_from..len` (the blocks with a loss);
//! - `p(s) = 1/N`: uniform draws; the batch's rows are drawn from the mixture
//!   `m(s) = ((B - r) / N + r 1[s ∈ R] / |R|) / B`.
//!
//! The row weight `w(s) = p(s) / m(s)` (the balance heuristic of multiple importance
//! sampling) is `B / (B - r)` outside `R` and `B / (B - r + r N / |R|)` inside it: a
//! loss whose rows are weighted by it has the uniform draws' expectation.
//!
//! The sign shift compares how often each reward sign `c` (-1, 0, +1) lands on a
//! real position with a loss under `m` and under `p`: with `n_c(s)` the count in
//! segment `s`, `π_q(c) ∝ Σ_s q(s) n_c(s)` and the shift is `ln(π_m(c) / π_p(c))`.
//! Added to the reward logits in the loss only (logit adjustment), it lets the head
//! fit the rows as drawn while its own logits keep the uniform draws' sign rates.

use rand::Rng;

use super::sample::{Padding, SegmentBatch};
use super::{EpisodeStore, StoreError};

/// Segments from [`EpisodeStore::sample_segments_with_rewarded`], with what undoes
/// their draw in the reward loss (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct RewardedSegments {
    /// Rewarded rows first, then the uniform ones.
    pub segments: SegmentBatch,
    /// `[batch]` each row's `w(s) = p(s) / m(s)`; all 1 without rewarded rows.
    pub row_weights: Vec<f32>,
    /// `ln(π_m(c) / π_p(c))` for reward signs -1, 0, +1 (0 for a sign the store never
    /// holds at a position with a loss); all 0 without rewarded rows.
    pub sign_shift: [f32; 3],
}

/// The rewarded first steps and the sign counts over all valid ones (module docs).
struct RewardedStarts {
    /// (episode index, first step) of each element of `R`, in store order.
    starts: Vec<(usize, usize)>,
    /// `N`.
    valid: usize,
    /// `Σ_{s ∈ S} n_c(s)` for c = -1, 0, +1.
    signs_all: [f64; 3],
    /// `Σ_{s ∈ R} n_c(s)`.
    signs_rewarded: [f64; 3],
}

impl EpisodeStore {
    /// As [`EpisodeStore::sample_segments`] with `Padding::Right`, except that the
    /// first `rewarded` rows start uniformly among the valid first steps whose segment
    /// holds a nonzero reward at one of its positions `loss_from..len` (the world
    /// model's blocks with a loss). Where no stored segment does, every row is drawn
    /// uniformly. With `rewarded = 0` the segments are `sample_segments`' draw for draw.
    ///
    /// A world model that meets a reward on a few of thousands of steps sees it in
    /// few batches, and loses it as the store grows; these rows keep it in view
    /// (docs/deviations.md, "Options the reference does not have").
    pub fn sample_segments_with_rewarded<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        batch: usize,
        len: usize,
        min_real: usize,
        rewarded: usize,
        loss_from: usize,
    ) -> Result<RewardedSegments, StoreError> {
        if rewarded == 0 {
            return Ok(RewardedSegments {
                segments: self.sample_segments(rng, batch, len, Padding::Right, min_real)?,
                row_weights: vec![1.0; batch],
                sign_shift: [0.0; 3],
            });
        }
        let found = self.rewarded_starts(len, min_real, loss_from);
        let rewarded = if found.starts.is_empty() {
            0
        } else {
            rewarded.min(batch)
        };
        let segments =
            self.sample_segments_led_by(rng, batch, len, min_real, &found.starts, rewarded)?;
        let row_weights = found.row_weights(&segments, rewarded, loss_from);
        Ok(RewardedSegments {
            sign_shift: found.sign_shift(batch, rewarded),
            segments,
            row_weights,
        })
    }

    /// `R` and the sign counts of every valid right-padded segment of `len` steps
    /// with at least `min_real` real ones, counted at positions `loss_from..len`.
    fn rewarded_starts(&self, len: usize, min_real: usize, loss_from: usize) -> RewardedStarts {
        let need = min_real.clamp(1, len);
        let mut found = RewardedStarts {
            starts: Vec::new(),
            valid: 0,
            signs_all: [0.0; 3],
            signs_rewarded: [0.0; 3],
        };
        for (index, episode) in self.episodes().enumerate() {
            // before[c][t]: steps before t whose reward has sign class c.
            let mut before = [vec![0usize], vec![0], vec![0]];
            for &reward in &episode.rewards {
                let class = sign_class(reward);
                for (c, counts) in before.iter_mut().enumerate() {
                    counts.push(counts.last().unwrap() + usize::from(c == class));
                }
            }
            let steps = episode.len();
            for first in 0..episode.anchors(need) {
                let span = (first + loss_from).min(steps)..(first + len).min(steps);
                let n: [usize; 3] =
                    std::array::from_fn(|c| before[c][span.end] - before[c][span.start]);
                found.valid += 1;
                add(&mut found.signs_all, n);
                if n[0] + n[2] > 0 {
                    found.starts.push((index, first));
                    add(&mut found.signs_rewarded, n);
                }
            }
        }
        found
    }
}

impl RewardedStarts {
    /// `w(s)` of each row of `segments`, whose first `rewarded` rows were drawn from
    /// `R`; a uniform row is in `R` when it holds a reward at a position with a loss.
    fn row_weights(&self, segments: &SegmentBatch, rewarded: usize, loss_from: usize) -> Vec<f32> {
        let (b, r) = (segments.batch as f64, rewarded as f64);
        let n_over_r = self.valid as f64 / self.starts.len().max(1) as f64;
        let inside = b / (b - r + r * n_over_r);
        let outside = b / (b - r);
        (0..segments.batch)
            .map(|row| {
                let cells = row * segments.len + loss_from..(row + 1) * segments.len;
                let in_r = segments.rewards[cells].iter().any(|&reward| reward != 0.0);
                (if in_r { inside } else { outside }) as f32
            })
            .collect()
    }

    /// `ln(π_m(c) / π_p(c))` for the three reward signs, `rewarded` of `batch` rows
    /// drawn from `R`.
    fn sign_shift(&self, batch: usize, rewarded: usize) -> [f32; 3] {
        let uniform_share = (batch - rewarded) as f64 / self.valid.max(1) as f64;
        let rewarded_share = rewarded as f64 / self.starts.len().max(1) as f64;
        let mixed: [f64; 3] = std::array::from_fn(|c| {
            uniform_share * self.signs_all[c] + rewarded_share * self.signs_rewarded[c]
        });
        let (mixed_total, all_total) = (
            mixed.iter().sum::<f64>(),
            self.signs_all.iter().sum::<f64>(),
        );
        std::array::from_fn(|c| {
            if self.signs_all[c] == 0.0 {
                0.0
            } else {
                ((mixed[c] / mixed_total) / (self.signs_all[c] / all_total)).ln() as f32
            }
        })
    }
}

/// 0, 1, 2 for a negative, zero and positive reward.
fn sign_class(reward: f32) -> usize {
    if reward > 0.0 {
        2
    } else if reward < 0.0 {
        0
    } else {
        1
    }
}

fn add(total: &mut [f64; 3], counts: [usize; 3]) {
    for (t, n) in total.iter_mut().zip(counts) {
        *t += n as f64;
    }
}
