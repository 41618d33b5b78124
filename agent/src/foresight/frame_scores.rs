//! How closely a world model's predicted frames match the real ones, token by token,
//! set against the simplest forecast there is: nothing moves, so the next frame
//! repeats a frame already seen. Most of an Atari frame's tokens stay put from one
//! step to the next, so the share of matching tokens alone says little; what a model
//! adds over repetition shows on the tokens that changed. [`MotionScores`] sets the
//! tokens that change against the pixels that do.

use rem_envs::frame::{FRAME_BYTES, FRAME_CHANNELS, FRAME_SIDE};

/// Running counts over the tokens of real (unpadded) steps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrameScores {
    pub tokens: usize,
    /// Predicted tokens equal to the real ones.
    pub agree: usize,
    /// Real tokens that differ from the same slot of the real frame before them.
    pub changed: usize,
    /// Predicted tokens equal to real ones that changed.
    pub agree_on_changed: usize,
    /// Per token slot k: `[tokens, tokens of the repeated frame equal to the real
    /// ones]` of slot k alone.
    pub repeated_by_slot: Vec<[usize; 2]>,
}

impl FrameScores {
    /// Tokens of the repeated frame equal to the real ones, over all slots.
    pub fn repeated_agree(&self) -> usize {
        self.repeated_by_slot.iter().map(|[_, agree]| agree).sum()
    }

    /// Adds `N` steps of `K` tokens each (all slices `N * K`, step by step): the
    /// `predicted` frames, the `real` ones, the real frames one step `before` them and
    /// the `repeated` frames of the forecast that nothing moves. `real_steps[i]` is
    /// false for padding, which is skipped.
    pub fn add(
        &mut self,
        predicted: &[i64],
        real: &[i64],
        before: &[i64],
        repeated: &[i64],
        real_steps: &[bool],
    ) {
        let n = real_steps.len();
        for frames in [predicted, before, repeated] {
            assert_eq!(frames.len(), real.len());
        }
        assert!(
            n > 0 && real.len().is_multiple_of(n),
            "{} tokens in {n} steps",
            real.len()
        );
        let k = real.len() / n;
        if self.repeated_by_slot.is_empty() {
            self.repeated_by_slot = vec![[0, 0]; k];
        }
        assert_eq!(self.repeated_by_slot.len(), k, "tokens per frame changed");
        for step in (0..n).filter(|&i| real_steps[i]) {
            for i in step * k..(step + 1) * k {
                let slot = &mut self.repeated_by_slot[i - step * k];
                slot[0] += 1;
                slot[1] += (repeated[i] == real[i]) as usize;
                let changed = real[i] != before[i];
                let agree = predicted[i] == real[i];
                self.tokens += 1;
                self.agree += agree as usize;
                self.changed += changed as usize;
                self.agree_on_changed += (agree && changed) as usize;
            }
        }
    }

    /// The cross-entropy, in nats per token, of "nothing moves" read as a distribution:
    /// the best forecaster that gives the repeated frame's token one probability `q` and
    /// spreads `1 - q` evenly over the other `vocab - 1` codes. Its best `q` is the
    /// repeated frame's share of agreeing tokens, which gives
    /// `H(q) = -q ln q - (1 - q) ln((1 - q) / (vocab - 1))`: the likelihood counterpart
    /// of that share, to set beside a world model's token loss. `per_slot` fits one `q`
    /// to each token slot instead (a score bar that never changes is certain), on the
    /// scored tokens themselves, so a bar no forecaster of this kind reaches out of
    /// sample. `None` before any token.
    pub fn repeated_cross_entropy(&self, vocab: usize, per_slot: bool) -> Option<f64> {
        assert!(vocab >= 2, "a vocabulary of {vocab} codes");
        if self.tokens == 0 {
            return None;
        }
        let nats = |[tokens, agree]: [usize; 2]| {
            let q = agree as f64 / tokens as f64;
            let term = |p: f64, share: f64| if share > 0.0 { -share * p.ln() } else { 0.0 };
            tokens as f64 * (term(q, q) + term((1.0 - q) / (vocab - 1) as f64, 1.0 - q))
        };
        let total = match per_slot {
            false => nats([self.tokens, self.repeated_agree()]),
            true => self.repeated_by_slot.iter().map(|&slot| nats(slot)).sum(),
        };
        Some(total / self.tokens as f64)
    }

    /// Two lines: agreement overall against the repeated frame's, then apart on the
    /// tokens that changed and those that did not.
    pub fn table(&self, repeated: &str) -> String {
        let unchanged = self.tokens - self.changed;
        format!(
            "  frame tokens equal to the real ones: {} ({repeated}: {}), over {} tokens\n  \
             where the real frame changed ({} of tokens): {}; where it did not: {}",
            percent(self.agree, self.tokens),
            percent(self.repeated_agree(), self.tokens),
            self.tokens,
            percent(self.changed, self.tokens),
            percent(self.agree_on_changed, self.changed),
            percent(self.agree - self.agree_on_changed, unchanged),
        )
    }
}

/// What moves in real frames, seen two ways: per token slot, whether the slot's
/// square of pixels (a 64x64 frame cut into a grid of `sqrt(K)` x `sqrt(K)`
/// squares, 8x8 pixels for 64 tokens) changed from one step to the next, and
/// whether its token did. A token that stays while its square changes is motion the
/// tokenizer does not pass on; one that changes while its square stays comes from
/// beyond the square (the convolutions see past it) or from the tokenizer itself.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MotionScores {
    pub slots: usize,
    pub square_changed: usize,
    pub token_changed: usize,
    pub both_changed: usize,
}

impl MotionScores {
    /// Adds `N` steps: `frames` and `frames_before` hold `N` frames of
    /// [`FRAME_BYTES`] bytes (rows, columns, channels), `tokens` and `tokens_before`
    /// `N * K` tokens; `real_steps[i]` is false for padding, which is skipped.
    pub fn add(
        &mut self,
        frames: &[u8],
        frames_before: &[u8],
        tokens: &[i64],
        tokens_before: &[i64],
        real_steps: &[bool],
    ) {
        let n = real_steps.len();
        assert!(n > 0, "no steps");
        assert_eq!(frames.len(), n * FRAME_BYTES);
        assert_eq!(frames_before.len(), frames.len());
        assert_eq!(tokens_before.len(), tokens.len());
        let k = tokens.len() / n;
        let grid = (k as f64).sqrt() as usize;
        assert!(
            grid * grid == k && FRAME_SIDE.is_multiple_of(grid),
            "{k} tokens do not tile a {FRAME_SIDE}x{FRAME_SIDE} frame"
        );
        let side = FRAME_SIDE / grid;
        let row_bytes = FRAME_SIDE * FRAME_CHANNELS;
        for step in (0..n).filter(|&i| real_steps[i]) {
            let (now, then) = (step * FRAME_BYTES, (step + 1) * FRAME_BYTES);
            let (frame, before) = (&frames[now..then], &frames_before[now..then]);
            for slot in 0..k {
                let (top, left) = ((slot / grid) * side, (slot % grid) * side);
                let square_changed = (top..top + side).any(|y| {
                    let start = y * row_bytes + left * FRAME_CHANNELS;
                    let span = start..start + side * FRAME_CHANNELS;
                    frame[span.clone()] != before[span]
                });
                let i = step * k + slot;
                let token_changed = tokens[i] != tokens_before[i];
                self.slots += 1;
                self.square_changed += square_changed as usize;
                self.token_changed += token_changed as usize;
                self.both_changed += (square_changed && token_changed) as usize;
            }
        }
    }

    /// One line of shares.
    pub fn line(&self) -> String {
        format!(
            "  from one real step to the next, pixels changed in {} of the token squares \
             and tokens in {}; of the changed squares, {} changed their token",
            percent(self.square_changed, self.slots),
            percent(self.token_changed, self.slots),
            percent(self.both_changed, self.square_changed),
        )
    }
}

impl std::ops::AddAssign for MotionScores {
    fn add_assign(&mut self, other: Self) {
        self.slots += other.slots;
        self.square_changed += other.square_changed;
        self.token_changed += other.token_changed;
        self.both_changed += other.both_changed;
    }
}

/// `part` as a percentage of `whole`, "-" for nothing to divide by.
fn percent(part: usize, whole: usize) -> String {
    match whole {
        0 => "-".to_string(),
        w => format!("{:.1}%", 100.0 * part as f64 / w as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_scored_token_by_token_on_real_steps_only() {
        let mut scores = FrameScores::default();
        // Two steps of 3 tokens, then a padded one whose tokens all disagree.
        let real = [1, 2, 3, 4, 5, 6, 7, 7, 7];
        let before = [1, 2, 0, 4, 0, 0, 0, 0, 0];
        let predicted = [1, 9, 3, 4, 5, 0, 0, 0, 0];
        let repeated = [1, 2, 0, 1, 2, 0, 0, 0, 0];
        scores.add(&predicted, &real, &before, &repeated, &[true, true, false]);
        assert_eq!(
            scores,
            FrameScores {
                tokens: 6,
                agree: 4,
                changed: 3,
                agree_on_changed: 2,
                repeated_by_slot: vec![[2, 1], [2, 1], [2, 0]],
            }
        );
        assert_eq!(scores.repeated_agree(), 2);
        let table = scores.table("repeated");
        assert!(
            table.contains("66.7% (repeated: 33.3%), over 6 tokens"),
            "{table}"
        );
        assert!(table.contains("changed (50.0% of tokens): 66.7%; where it did not: 66.7%"));
    }

    #[test]
    fn nothing_moves_as_a_distribution_scores_its_best_constant_probability() {
        let mut scores = FrameScores::default();
        assert_eq!(scores.repeated_cross_entropy(4, false), None);
        // Two steps of 4 tokens, 6 of the 8 repeated right (q = 3/4); slots 0 and 1
        // always right, slot 2 once, slot 3 once.
        let real = [1, 2, 3, 0, 1, 2, 3, 0];
        let repeated = [1, 2, 3, 1, 1, 2, 0, 0];
        scores.add(&real, &real, &real, &repeated, &[true, true]);
        // The mean of -ln p over the tokens, p = q(slot) where repeated right and
        // (1 - q(slot)) / 3 where not.
        let mean_nats = |q: &dyn Fn(usize) -> f64| {
            let p = |i: usize| match repeated[i] == real[i] {
                true => q(i % 4),
                false => (1.0 - q(i % 4)) / 3.0,
            };
            (0..8).map(|i| -p(i).ln()).sum::<f64>() / 8.0
        };
        let one_q = scores.repeated_cross_entropy(4, false).unwrap();
        assert!((one_q - mean_nats(&|_| 0.75)).abs() < 1e-12, "{one_q}");
        assert!(mean_nats(&|_| 0.7) > one_q && mean_nats(&|_| 0.8) > one_q);
        let per_slot = scores.repeated_cross_entropy(4, true).unwrap();
        let fitted = |slot: usize| [1.0, 1.0, 0.5, 0.5][slot];
        assert!((per_slot - mean_nats(&fitted)).abs() < 1e-12, "{per_slot}");
        assert!(per_slot < one_q);
        // Always right: no uncertainty left.
        let mut sure = FrameScores::default();
        sure.add(&real, &real, &real, &real, &[true, true]);
        assert_eq!(sure.repeated_cross_entropy(4, false), Some(0.0));
    }

    #[test]
    fn motion_is_counted_per_token_square() {
        // 4 tokens: 2x2 squares of 32x32 pixels. The frame before is black; the frame
        // has one pixel lit in the bottom-left square (slot 2).
        let before = vec![0u8; FRAME_BYTES];
        let mut frame = before.clone();
        frame[(40 * FRAME_SIDE + 3) * FRAME_CHANNELS + 1] = 200;
        let mut motion = MotionScores::default();
        // Slot 2's token stays; slot 3's changes.
        motion.add(&frame, &before, &[1, 1, 1, 5], &[1, 1, 1, 4], &[true]);
        // A padded step is skipped.
        motion.add(&frame, &before, &[0, 0, 0, 0], &[1, 1, 1, 1], &[false]);
        assert_eq!(
            motion,
            MotionScores {
                slots: 4,
                square_changed: 1,
                token_changed: 1,
                both_changed: 0,
            }
        );
    }
}
