//! What an epoch reports: one line of metrics.jsonl, and its summary on the terminal.
//!
//! ```text
//! {"epoch": 40, "env_steps": 8000,
//!  "collect": {"steps", "episodes", "mean_return"},        epochs that collect
//!  "tokenizer": {"total", "reconstruction", "codebook", "commitment",
//!                "perceptual"},                            the last with a term
//!  "world_model": {"total", "obs", "reward", "done"},
//!  "actor_critic": {"total", "policy", "value", "entropy", "imagined_reward",
//!                   "advantage", "advantage_std"},          means over the epoch's steps
//!  "eval": {"episodes", "returns", "mean_return"},         evaluation epochs
//!  "seconds": {"collect", "tokenizer", ...}}               wall time of each phase
//! ```
//! A part that did not train in the epoch is absent. The same type reads the file
//! back for the plots and the report.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use rem_worldmodel::tokenizer::TokenizerStepStats;
use rem_worldmodel::world_model_trainer::WorldModelStepStats;
use serde::{Deserialize, Serialize};

use crate::evaluation::EvalStats;
use crate::imagination::actor_critic_trainer::ActorCriticStepStats;
use crate::run_folder::parse_json_lines;
use crate::training::collect::CollectStats;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Real environment steps so far.
    #[serde(default)]
    pub env_steps: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect: Option<CollectStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PhaseMeans>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world_model: Option<PhaseMeans>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_critic: Option<PhaseMeans>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<EvalStats>,
    /// Wall-clock seconds of each phase that ran.
    #[serde(default)]
    pub seconds: BTreeMap<String, f64>,
}

impl EpochMetrics {
    /// One line for the terminal: `epoch   40  steps    8000  return 100.0000 ...`.
    pub fn summary_line(&self) -> String {
        let mut parts = vec![format!(
            "epoch {:>4}  steps {:>7}",
            self.epoch, self.env_steps
        )];
        let mut field = |label: &str, value: Option<f64>| {
            if let Some(v) = value {
                parts.push(format!("{label} {v:.4}"));
            }
        };
        let mean = |phase: &Option<PhaseMeans>, name: &str| phase.as_ref()?.get(name);
        field(
            "return",
            self.collect
                .as_ref()
                .and_then(|c| c.mean_return.map(f64::from)),
        );
        field("recon", mean(&self.tokenizer, "reconstruction"));
        field("wm_obs", mean(&self.world_model, "obs"));
        field("ac_value", mean(&self.actor_critic, "value"));
        field("eval", self.eval.as_ref().map(|e| f64::from(e.mean_return)));
        parts.join("  ")
    }
}

/// Reads a `metrics.jsonl` file: one JSON object per epoch. An unterminated last
/// line is skipped, since the trainer may be halfway through appending it.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read metrics file {}", path.display()))?;
    parse_json_lines(&text, path, "an epoch's metrics")
}

impl EpochMetrics {
    /// Seconds of every phase that ran.
    pub fn total_seconds(&self) -> f64 {
        self.seconds.values().sum()
    }
}

/// Means of a phase's step statistics over the epoch, by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhaseMeans(BTreeMap<String, f64>);

impl PhaseMeans {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }
}

/// Sums a phase's step statistics; [`PhaseSums::means`] divides by the step count.
#[derive(Default)]
pub struct PhaseSums {
    sums: Vec<(&'static str, f64)>,
    count: usize,
}

impl PhaseSums {
    pub fn add(&mut self, stats: &impl StepStats) {
        let values = stats.logged();
        if self.sums.is_empty() {
            self.sums = values.iter().map(|&(name, _)| (name, 0.0)).collect();
        }
        for (sum, &(_, value)) in self.sums.iter_mut().zip(&values) {
            sum.1 += value as f64;
        }
        self.count += 1;
    }

    pub fn means(self) -> PhaseMeans {
        let n = self.count.max(1) as f64;
        PhaseMeans(
            self.sums
                .into_iter()
                .map(|(name, sum)| (name.to_string(), sum / n))
                .collect(),
        )
    }
}

/// What the trainer reads from one optimisation step of any part.
pub trait StepStats {
    /// The loss that was minimised.
    fn loss(&self) -> f32;
    /// The gradient norm before clipping.
    fn grad_norm(&self) -> f32;
    /// The values metrics.jsonl keeps, by name.
    fn logged(&self) -> Vec<(&'static str, f32)>;
}

/// `StepStats` for a stats struct with fields `total` (the loss) and `grad_norm`,
/// logging the fields listed.
macro_rules! step_stats {
    ($stats:ty: $($field:ident),+) => {
        impl StepStats for $stats {
            fn loss(&self) -> f32 {
                self.total
            }
            fn grad_norm(&self) -> f32 {
                self.grad_norm
            }
            fn logged(&self) -> Vec<(&'static str, f32)> {
                vec![$((stringify!($field), self.$field)),+]
            }
        }
    };
}

impl StepStats for TokenizerStepStats {
    fn loss(&self) -> f32 {
        self.total
    }
    fn grad_norm(&self) -> f32 {
        self.grad_norm
    }
    /// The perceptual term only where the run has one.
    fn logged(&self) -> Vec<(&'static str, f32)> {
        let mut logged = vec![
            ("total", self.total),
            ("reconstruction", self.reconstruction),
            ("codebook", self.codebook),
            ("commitment", self.commitment),
        ];
        logged.extend(self.perceptual.map(|term| ("perceptual", term)));
        logged
    }
}
step_stats!(WorldModelStepStats: total, obs, reward, done);
step_stats!(ActorCriticStepStats: total, policy, value, entropy, imagined_reward, advantage, advantage_std);
