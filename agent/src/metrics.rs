//! What an epoch reports: one line of metrics.jsonl, and its summary on the terminal.
//!
//! ```text
//! {"epoch": 40, "env_steps": 8000,
//!  "collect": {"steps", "episodes", "mean_return"},        epochs that collect
//!  "tokenizer": {"total", "reconstruction", "codebook", "commitment"},
//!  "world_model": {"total", "obs", "reward", "done"},
//!  "actor_critic": {"total", "policy", "value", "entropy", "imagined_reward"},
//!                                                           means over the epoch's steps
//!  "eval": {"episodes", "returns", "mean_return"},         evaluation epochs
//!  "seconds": {"collect", "tokenizer", ...}}               wall time of each phase
//! ```
//! A part that did not train in the epoch is absent.

use std::collections::BTreeMap;

use rem_worldmodel::tokenizer::TokenizerStepStats;
use rem_worldmodel::world_model_trainer::WorldModelStepStats;
use serde::Serialize;

use crate::actor_critic_trainer::ActorCriticStepStats;
use crate::collect::CollectStats;
use crate::evaluate::EvalStats;

#[derive(Debug, Clone, Default, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Real environment steps so far.
    pub env_steps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collect: Option<CollectStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PhaseMeans>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub world_model: Option<PhaseMeans>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_critic: Option<PhaseMeans>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<EvalStats>,
    /// Wall-clock seconds of each phase that ran.
    pub seconds: BTreeMap<&'static str, f64>,
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

/// Means of a phase's step statistics over the epoch, by name.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct PhaseMeans(BTreeMap<&'static str, f64>);

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
                .map(|(name, sum)| (name, sum / n))
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

impl StepStats for TokenizerStepStats {
    fn loss(&self) -> f32 {
        self.total
    }
    fn grad_norm(&self) -> f32 {
        self.grad_norm
    }
    fn logged(&self) -> Vec<(&'static str, f32)> {
        vec![
            ("total", self.total),
            ("reconstruction", self.reconstruction),
            ("codebook", self.codebook),
            ("commitment", self.commitment),
        ]
    }
}

impl StepStats for WorldModelStepStats {
    fn loss(&self) -> f32 {
        self.total
    }
    fn grad_norm(&self) -> f32 {
        self.grad_norm
    }
    fn logged(&self) -> Vec<(&'static str, f32)> {
        vec![
            ("total", self.total),
            ("obs", self.obs),
            ("reward", self.reward),
            ("done", self.done),
        ]
    }
}

impl StepStats for ActorCriticStepStats {
    fn loss(&self) -> f32 {
        self.total
    }
    fn grad_norm(&self) -> f32 {
        self.grad_norm
    }
    fn logged(&self) -> Vec<(&'static str, f32)> {
        vec![
            ("total", self.total),
            ("policy", self.policy),
            ("value", self.value),
            ("entropy", self.entropy),
            ("imagined_reward", self.imagined_reward),
        ]
    }
}
