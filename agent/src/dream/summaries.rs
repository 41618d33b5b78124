//! The numbers `rem dream` prints: per rollout ([`DreamRow`]), over all rollouts
//! ([`ImaginedReturns`], [`RewardAfterAction`]), a second controller against the first
//! ([`Versus`]), and the tokenizer's codes on the real frames ([`CodeUsage`]).

/// A second controller's imagined returns from the same starts with the same seed,
/// and the difference of the first's from them rollout by rollout: the starts'
/// spread, which both share, cancels in the paired difference, so it can tell two
/// policies apart where their unpaired intervals overlap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Versus {
    pub returns: ImaginedReturns,
    /// Per rollout, the first controller's return minus the second's.
    pub difference: ImaginedReturns,
}

/// [`DreamRow::imagined_return`] over all rollouts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImaginedReturns {
    pub rollouts: usize,
    pub mean: f64,
    /// 95% percentile-bootstrap interval of the mean; `None` for one rollout.
    pub interval: Option<(f64, f64)>,
}

impl ImaginedReturns {
    pub fn of(rows: &[DreamRow]) -> Self {
        Self::of_values(&returns_of(rows))
    }

    /// Mean and interval of one value per rollout.
    pub fn of_values(returns: &[f64]) -> Self {
        Self {
            rollouts: returns.len(),
            mean: crate::report::mean(returns),
            interval: crate::report::bootstrap_ci(returns),
        }
    }
}

impl Versus {
    /// `first` and `second` are the two controllers' rows, rollout by rollout.
    pub fn of(first: &[DreamRow], second: &[DreamRow]) -> Self {
        let differences: Vec<f64> = returns_of(first)
            .iter()
            .zip(returns_of(second))
            .map(|(a, b)| a - b)
            .collect();
        Self {
            returns: ImaginedReturns::of(second),
            difference: ImaginedReturns::of_values(&differences),
        }
    }
}

fn returns_of(rows: &[DreamRow]) -> Vec<f64> {
    rows.iter().map(DreamRow::imagined_return).collect()
}

/// The rewards drawn from the step an action was taken to the end of its rollout,
/// summed per step and averaged over the steps that took the action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardAfterAction {
    pub steps: usize,
    pub mean: f64,
}

impl RewardAfterAction {
    /// One entry per action id below `n_actions`, over the transitions of `rows`.
    pub fn of(rows: &[DreamRow], n_actions: usize) -> Vec<Self> {
        let mut sums = vec![(0usize, 0.0f64); n_actions];
        for row in rows {
            for (t, &action) in row.actions.iter().take(row.rewards.len()).enumerate() {
                let to_go: f32 = row.rewards[t..].iter().sum();
                let entry = &mut sums[action as usize];
                entry.0 += 1;
                entry.1 += f64::from(to_go);
            }
        }
        sums.into_iter()
            .map(|(steps, sum)| Self {
                steps,
                mean: if steps == 0 { 0.0 } else { sum / steps as f64 },
            })
            .collect()
    }
}

/// Spread of token codes over a set of frames.
#[derive(Debug, Clone, Copy)]
pub struct CodeUsage {
    pub vocab: usize,
    /// Codes that occur at least once.
    pub used: usize,
    /// Entropy of the code frequencies, in nats.
    pub entropy: f64,
}

impl CodeUsage {
    pub fn of(tokens: &[i64], vocab: usize) -> Self {
        let mut counts = vec![0usize; vocab];
        for &t in tokens {
            counts[t as usize] += 1;
        }
        let total = tokens.len().max(1) as f64;
        let entropy = counts
            .iter()
            .filter(|&&n| n > 0)
            .map(|&n| {
                let p = n as f64 / total;
                -p * p.ln()
            })
            .sum();
        Self {
            vocab,
            used: counts.iter().filter(|&&n| n > 0).count(),
            entropy,
        }
    }
}

impl std::fmt::Display for CodeUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} in use, entropy {:.2} nats",
            self.used, self.vocab, self.entropy
        )
    }
}

/// One imagined rollout, in numbers.
#[derive(Debug, Clone)]
pub struct DreamRow {
    /// Rewards of the `H - 1` imagined transitions: signs drawn from the world
    /// model, or its expected sign (`expected_outcomes`).
    pub rewards: Vec<f32>,
    /// Whether each transition continued the episode: 1 or 0 drawn, or the world
    /// model's probability (`expected_outcomes`).
    pub continues: Vec<f32>,
    /// Actions the controller took at `o_0 .. o_{H-1}`.
    pub actions: Vec<i64>,
}

impl DreamRow {
    /// The undiscounted return `sum_t r_t * prod_{s<t} c_s`: with drawn outcomes the
    /// rewards up to and including the transition that ended the episode, with
    /// expected ones each reward weighted by the chance that the episode got there.
    pub fn imagined_return(&self) -> f64 {
        let mut still_going = 1.0;
        let mut total = 0.0;
        for (&reward, &continues) in self.rewards.iter().zip(&self.continues) {
            total += still_going * f64::from(reward);
            still_going *= f64::from(continues);
        }
        total
    }
}

/// `rewards -.+|..  actions 0 2 1`: `+`/`-`/`.` per reward sign (an expected reward
/// shows as `.` unless nearly sure), `|` after a transition that ended the episode
/// (expected: more likely ended than not).
impl std::fmt::Display for DreamRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rewards ")?;
        for (&reward, &continues) in self.rewards.iter().zip(&self.continues) {
            let sign = match reward {
                r if r > 0.5 => '+',
                r if r < -0.5 => '-',
                _ => '.',
            };
            write!(f, "{sign}{}", if continues < 0.5 { "|" } else { "" })?;
        }
        let actions: Vec<String> = self.actions.iter().map(|a| a.to_string()).collect();
        write!(f, "  actions {}", actions.join(" "))
    }
}
