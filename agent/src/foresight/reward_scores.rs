//! How well a world model's reward head foresees the rewards of real episodes
//! (read by [`crate::foresight`], teacher-forced or imagined).
//!
//! Scores per real reward sign: the mean predicted probability of each sign and the
//! mean expected reward `p(+1) - p(-1)` (what a rollout with expected outcomes adds
//! per step), and the ROC AUC of `p(+1)` for steps followed by a positive reward
//! against steps followed by none.

use rem_worldmodel::world_model::REWARD_CLASSES;

use crate::report::two_sample_bootstrap_ci;

/// Resamples of the AUC's bootstrap interval: each sorts every unrewarded step.
pub const AUC_RESAMPLES: usize = 2_000;

/// Running sums over the steps that a reward of one sign followed.
#[derive(Debug, Default, Clone, Copy)]
pub struct SignTally {
    pub steps: usize,
    /// Sums of the predicted probabilities of -1, 0 and +1.
    pub probability_sums: [f64; REWARD_CLASSES],
}

impl SignTally {
    /// Mean predicted probabilities of -1, 0 and +1; `None` without steps.
    pub fn mean(&self) -> Option<[f64; REWARD_CLASSES]> {
        (self.steps > 0).then(|| self.probability_sums.map(|s| s / self.steps as f64))
    }
}

/// Predicted reward-sign probabilities set against the real signs.
#[derive(Debug, Default, Clone)]
pub struct RewardScores {
    /// Indexed by the real sign + 1.
    pub by_sign: [SignTally; REWARD_CLASSES],
    /// `p(+1)` where a positive reward followed, and where no reward did.
    rewarded: Vec<f32>,
    unrewarded: Vec<f32>,
}

impl RewardScores {
    /// Adds the real steps of `probabilities` (`N * 3`: -1, 0, +1 per step) against
    /// `rewards` (`N`); `real[i]` is false for padding, which is skipped.
    pub fn add(&mut self, probabilities: &[f32], rewards: &[f32], real: &[bool]) {
        assert_eq!(probabilities.len(), REWARD_CLASSES * rewards.len());
        assert_eq!(real.len(), rewards.len());
        for (i, &reward) in rewards.iter().enumerate().filter(|&(i, _)| real[i]) {
            let p = &probabilities[REWARD_CLASSES * i..REWARD_CLASSES * (i + 1)];
            let class = match reward {
                r if r > 0.0 => 2,
                r if r < 0.0 => 0,
                _ => 1,
            };
            let tally = &mut self.by_sign[class];
            tally.steps += 1;
            for (sum, &q) in tally.probability_sums.iter_mut().zip(p) {
                *sum += q as f64;
            }
            match class {
                2 => self.rewarded.push(p[2]),
                1 => self.unrewarded.push(p[2]),
                _ => {}
            }
        }
    }

    /// ROC AUC of `p(+1)`, rewarded steps against unrewarded ones; `None` without both.
    pub fn positive_auc(&self) -> Option<f64> {
        roc_auc(&self.rewarded, &self.unrewarded)
    }

    /// 95% bootstrap interval of [`Self::positive_auc`], rewarded and unrewarded
    /// steps resampled apart. Steps of one episode are not independent, which the
    /// resampling ignores: the interval is, if anything, too narrow.
    pub fn positive_auc_interval(&self) -> Option<(f64, f64)> {
        self.positive_auc()?;
        Some(two_sample_bootstrap_ci(
            &self.rewarded,
            &self.unrewarded,
            AUC_RESAMPLES,
            |rewarded, unrewarded| roc_auc(rewarded, unrewarded).expect("non-empty resamples"),
        ))
    }

    /// A small table: one line per real sign, then the AUC.
    pub fn table(&self) -> String {
        let mut lines =
            vec!["  reward sign   steps   p(-1)    p(0)     p(+1)    expected reward".to_string()];
        for (name, tally) in ["-1", "0", "+1"].iter().zip(&self.by_sign) {
            lines.push(match tally.mean() {
                None => format!("  {name:>11} {:7}", 0),
                Some(p) => format!(
                    "  {name:>11} {:7}   {:.4}   {:.4}   {:.4}   {:+.4}",
                    tally.steps,
                    p[0],
                    p[1],
                    p[2],
                    p[2] - p[0]
                ),
            });
        }
        lines.push(match (self.positive_auc(), self.positive_auc_interval()) {
            (Some(auc), Some((low, high))) => format!(
                "  AUC of p(+1), rewarded against unrewarded steps: {auc:.3} [{low:.3}, {high:.3}]"
            ),
            _ => "  AUC of p(+1): needs rewarded and unrewarded steps".to_string(),
        });
        lines.join("\n")
    }
}

/// The chance that a random positive scores above a random negative, ties counting
/// half: the area under the ROC curve. `None` when either side is empty.
pub fn roc_auc(positives: &[f32], negatives: &[f32]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut sorted = negatives.to_vec();
    sorted.sort_by(f32::total_cmp);
    let wins: f64 = positives
        .iter()
        .map(|&p| {
            let below = sorted.partition_point(|&n| n < p);
            let not_above = sorted.partition_point(|&n| n <= p);
            below as f64 + 0.5 * (not_above - below) as f64
        })
        .sum();
    Some(wins / (positives.len() as f64 * negatives.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition itself: every (positive, negative) pair, ties counting half.
    fn pairwise_auc(positives: &[f32], negatives: &[f32]) -> f64 {
        let mut wins = 0.0;
        for &p in positives {
            for &n in negatives {
                wins += if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                };
            }
        }
        wins / (positives.len() * negatives.len()) as f64
    }

    #[test]
    fn the_auc_counts_every_pair_with_ties_as_half() {
        let positives = [0.9, 0.3, 0.3, 0.05, 0.7];
        let negatives = [0.1, 0.3, 0.2, 0.3, 0.0, 0.95, 0.05];
        let auc = roc_auc(&positives, &negatives).unwrap();
        assert!((auc - pairwise_auc(&positives, &negatives)).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(roc_auc(&[0.1], &[0.9, 0.8]), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[0.5]), Some(0.5));
        assert_eq!(roc_auc(&[], &[0.5]), None);
    }

    /// Positives uniform on [shift, shift + 1], negatives on [0, 1]: the AUC is
    /// P(X > Y) = 1 - (1 - shift)^2 / 2.
    #[test]
    fn the_auc_interval_covers_the_true_auc_about_as_often_as_it_claims() {
        use rand::{Rng, SeedableRng};
        let shift = 0.4f32;
        let truth = 1.0 - (1.0 - shift as f64).powi(2) / 2.0;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let trials = 100;
        let mut covered = 0;
        for _ in 0..trials {
            let mut scores = RewardScores::default();
            let mut draw = |n: usize, from: f32| -> Vec<f32> {
                (0..n).map(|_| from + rng.random::<f32>()).collect()
            };
            scores.rewarded = draw(20, shift);
            scores.unrewarded = draw(200, 0.0);
            let (low, high) = scores.positive_auc_interval().unwrap();
            let auc = scores.positive_auc().unwrap();
            assert!(low <= auc && auc <= high, "{auc} outside [{low}, {high}]");
            covered += (low <= truth && truth <= high) as usize;
        }
        assert!(
            (85..=99).contains(&covered),
            "covered {covered} of {trials}"
        );
    }

    #[test]
    fn scores_sort_steps_by_their_real_sign_and_skip_padding() {
        let mut scores = RewardScores::default();
        #[rustfmt::skip]
        let probabilities = [
            0.1, 0.2, 0.7, // +1 followed
            0.0, 0.9, 0.1, // nothing followed
            0.6, 0.4, 0.0, // -1 followed
            0.0, 0.0, 1.0, // padding
        ];
        scores.add(
            &probabilities,
            &[3.0, 0.0, -2.0, 1.0],
            &[true, true, true, false],
        );
        let steps: Vec<usize> = scores.by_sign.iter().map(|t| t.steps).collect();
        assert_eq!(steps, [1, 1, 1]);
        let plus = scores.by_sign[2].mean().unwrap();
        assert!((plus[2] - 0.7).abs() < 1e-6 && (plus[0] - 0.1).abs() < 1e-6);
        assert_eq!(scores.positive_auc(), Some(1.0));
    }
}
