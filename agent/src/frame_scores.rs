//! How closely a world model's predicted frames match the real ones, token by token,
//! set against the simplest forecast there is: nothing moves, so the next frame
//! repeats a frame already seen. Most of an Atari frame's tokens stay put from one
//! step to the next, so the share of matching tokens alone says little; what a model
//! adds over repetition shows on the tokens that changed.

/// Running counts over the tokens of real (unpadded) steps.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FrameScores {
    pub tokens: usize,
    /// Predicted tokens equal to the real ones.
    pub agree: usize,
    /// Tokens of the repeated frame equal to the real ones.
    pub repeated_agree: usize,
    /// Real tokens that differ from the same slot of the real frame before them.
    pub changed: usize,
    /// Predicted tokens equal to real ones that changed.
    pub agree_on_changed: usize,
}

impl FrameScores {
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
            n > 0 && real.len() % n == 0,
            "{} tokens in {n} steps",
            real.len()
        );
        let k = real.len() / n;
        for step in (0..n).filter(|&i| real_steps[i]) {
            for i in step * k..(step + 1) * k {
                let changed = real[i] != before[i];
                let agree = predicted[i] == real[i];
                self.tokens += 1;
                self.agree += agree as usize;
                self.repeated_agree += (repeated[i] == real[i]) as usize;
                self.changed += changed as usize;
                self.agree_on_changed += (agree && changed) as usize;
            }
        }
    }

    /// Two lines: agreement overall against the repeated frame's, then apart on the
    /// tokens that changed and those that did not.
    pub fn table(&self, repeated: &str) -> String {
        let percent = |part: usize, whole: usize| match whole {
            0 => "-".to_string(),
            w => format!("{:.1}%", 100.0 * part as f64 / w as f64),
        };
        let unchanged = self.tokens - self.changed;
        format!(
            "  frame tokens equal to the real ones: {} ({repeated}: {}), over {} tokens\n  \
             where the real frame changed ({} of tokens): {}; where it did not: {}",
            percent(self.agree, self.tokens),
            percent(self.repeated_agree, self.tokens),
            self.tokens,
            percent(self.changed, self.tokens),
            percent(self.agree_on_changed, self.changed),
            percent(self.agree - self.agree_on_changed, unchanged),
        )
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
                repeated_agree: 2,
                changed: 3,
                agree_on_changed: 2,
            }
        );
        let table = scores.table("repeated");
        assert!(
            table.contains("66.7% (repeated: 33.3%), over 6 tokens"),
            "{table}"
        );
        assert!(table.contains("changed (50.0% of tokens): 66.7%; where it did not: 66.7%"));
    }
}
