//! Run configuration: one TOML file per experiment under `runs/`, the spec's
//! values as defaults, unknown keys rejected, `--set key=value` overrides.
//!
//! ```text
//! mod.rs       the sections, their keys and the spec's values
//! load.rs      files, their `base` files and overrides laid over the defaults
//! validate.rs  the checks a configuration passes before anything runs
//! ```

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use rem_worldmodel::retnet::RetNetConfig;
use rem_worldmodel::tokenizer::{PerceptualLoss, TokenizerConfig, TokenizerTrainerConfig};
use rem_worldmodel::world_model::WorldModelConfig;
use rem_worldmodel::world_model_trainer::WorldModelTrainerConfig;

use crate::actor_critic::{ActorCriticConfig, ENTROPY_WEIGHT};
use crate::imagination::returns::{GAMMA, LAMBDA};
use crate::training::collect::PolicyState;

mod load;
mod validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Seeds every random stream of the run (envs, sampling, initialisation).
    pub seed: u64,
    pub device: Device,
    pub env: EnvSection,
    pub collect: CollectSection,
    pub store: StoreSection,
    pub tokenizer: TokenizerSection,
    pub world_model: WorldModelSection,
    pub actor_critic: ActorCriticSection,
    pub eval: EvalSection,
    pub checkpoint: CheckpointSection,
}

/// Where the models run: `device = "cpu"` or `"cuda"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// burn's flex CPU backend.
    Cpu,
    /// burn's CUDA backend (a build with `--features cuda`).
    Cuda,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// A native game ("catch", "bricks", "dodge") or an Atari-100K game ("Breakout").
    pub game: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectSection {
    pub epochs: usize,
    /// Environments stepped in parallel while collecting (the spec uses one).
    pub envs: usize,
    /// Epochs 1..=collect_until_epoch collect real experience.
    pub collect_until_epoch: usize,
    pub steps_per_epoch: usize,
    pub temperature: f32,
    pub epsilon: f32,
    /// Epochs 1..=random_until_epoch act uniformly at random (epsilon 1; spec: 0).
    /// An untrained policy's small action biases keep the paddle or player in one
    /// part of the screen, and the world model then knows little of the rest.
    pub random_until_epoch: usize,
    /// The acting policy's recurrent state at each epoch's collection: "carried" over
    /// from the last one (reset where an episode ends), or "rebuilt" from the zero
    /// state by a burn-in on the episode's last `actor_critic.burn_in` stored steps
    /// (feeding their actions as `actor_critic.burn_in_feeds_actions` says), as REM's
    /// collector does (docs/deviations.md).
    pub policy_state: PolicyState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Upper bound on the episode store's memory, in MiB.
    pub max_mib: usize,
}

/// Optimiser settings shared by the three trained components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimSection {
    pub lr: f64,
    pub weight_decay: f32,
    pub grad_clip: f32,
    pub batch: usize,
    pub steps_per_epoch: usize,
    pub start_epoch: usize,
    /// The last epoch this part trains in; unset, it trains to the end (the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_epoch: Option<usize>,
}

impl OptimSection {
    /// Settings that would train silently wrong: a negative or non-finite learning
    /// rate, weight decay or gradient clip, or batches of no rows.
    pub fn check(&self) -> anyhow::Result<()> {
        let Self {
            lr,
            weight_decay,
            grad_clip,
            batch,
            ..
        } = *self;
        anyhow::ensure!(
            lr.is_finite() && lr > 0.0,
            "lr must be finite and positive, got {lr}"
        );
        anyhow::ensure!(
            weight_decay.is_finite() && weight_decay >= 0.0,
            "weight_decay must be finite and non-negative, got {weight_decay}"
        );
        anyhow::ensure!(
            grad_clip.is_finite() && grad_clip > 0.0,
            "grad_clip (the gradients' largest global norm) must be finite and positive, \
             got {grad_clip}"
        );
        anyhow::ensure!(batch > 0, "batch must be at least 1");
        Ok(())
    }

    /// Whether this part takes optimisation steps in `epoch`.
    pub fn trains_in(&self, epoch: usize) -> bool {
        self.steps_per_epoch > 0
            && epoch >= self.start_epoch
            && self.stop_epoch.is_none_or(|stop| epoch <= stop)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSection {
    pub vocab: usize,
    pub embed_dim: usize,
    pub base_channels: usize,
    /// Threads a training batch is split over, as `world_model.threads`.
    pub threads: usize,
    /// Every this many steps, the codes that no frame of the step chose move onto the
    /// encoder outputs that their codes fit worst (0: never, the spec; see
    /// `rem_worldmodel::tokenizer::restart_unused_codes`).
    pub restart_unused_codes_every: usize,
    /// The term beside the reconstruction MSE: `"lpips"` (the spec's, REM's LPIPS on a
    /// frozen VGG16), `"none"`, or `"gradient"`, an edge term (docs/deviations.md,
    /// "LPIPS's weights, and the CPU files without it").
    pub perceptual: PerceptualLoss,
    /// The LPIPS weights, written by `python3 scripts/lpips_weights.py`; a relative
    /// path is read from the directory `rem` runs in.
    pub lpips_weights: PathBuf,
    pub optim: OptimSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldModelSection {
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub dropout: f64,
    /// Training sequences in blocks of 65 tokens; the first `context_blocks` carry no loss.
    pub seq_blocks: usize,
    pub context_blocks: usize,
    /// Blocks per chunk of the chunkwise training pass (spec: 3). The forms are the same
    /// function: the chunk length moves only the floats' rounding and the work, the
    /// decay mask inside a chunk growing with its square.
    pub chunk_blocks: usize,
    /// Threads a training batch is split over: each runs a share of the rows with
    /// its own autodiff graph and the gradients are added in row order, so a run is
    /// reproducible for a given value. Values differ in the floats' summation order
    /// and in the dropout masks (each share draws its own).
    pub threads: usize,
    /// Add the frame before's codebook vectors to POP's prediction tokens, slot by
    /// slot (spec: false; see `WorldModel::prediction_block`).
    pub prediction_sees_frame_before: bool,
    /// Rows of each training batch drawn among the segments that hold a nonzero
    /// reward in their blocks with a loss, the rest uniformly (spec: 0, every row
    /// uniform; see `EpisodeStore::sample_segments_with_rewarded`). At most
    /// `optim.batch`.
    pub rewarded_rows: usize,
    /// How the reward loss undoes the rewarded rows' draw: `"none"` (the default:
    /// the head learns the rows' reward rate), `"importance"` (each row's reward NLL
    /// weighted by uniform over actual draw probability) or `"sign_shift"` (logit
    /// adjustment: the loss adds the draw's log over-representation of each reward
    /// sign to the logits). Both keep the uniform draws' reward rate in the head; see
    /// `rem_envs::store::RewardedSegments`.
    pub rewarded_rows_correction: RewardedRowsCorrection,
    /// Rows of each training batch drawn among the segments that start in the
    /// store's last `recent_steps` steps, the rest uniformly (spec: 0, every row
    /// uniform; see `EpisodeStore::sample_segments_with_recent`). At most
    /// `optim.batch`; not combined with `rewarded_rows`.
    pub recent_rows: usize,
    /// The window of `recent_rows`, in steps (one collecting environment: the last
    /// this many steps collected).
    pub recent_steps: usize,
    pub optim: OptimSection,
}

/// `world_model.rewarded_rows_correction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardedRowsCorrection {
    #[default]
    None,
    Importance,
    SignShift,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorCriticSection {
    /// Channels of the first 3x3 convolution on the latent map.
    pub conv1: usize,
    /// Channels of the second one.
    pub conv2: usize,
    pub hidden: usize,
    pub lstm: usize,
    /// Real frames the controller's LSTM is burnt in on before imagining; the segment
    /// is one frame longer (its last frame is the first observation).
    pub burn_in: usize,
    /// Feed each burn-in frame's action after observing it, as acting does (true);
    /// false observes only, as REM's burn-in does (docs/deviations.md).
    pub burn_in_feeds_actions: bool,
    /// World-model blocks an imagined rollout spans, the 2 real context frames
    /// included (REM's `imagine_horizon`): `horizon - 1` observations, the losses over
    /// the first `horizon - 2`. At most `world_model.seq_blocks`.
    pub horizon: usize,
    pub gamma: f32,
    pub lambda: f32,
    pub entropy_weight: f32,
    /// Temperature of the world model's token sampling in imagination (spec: 1).
    pub world_temperature: f32,
    /// Standardise each frame's latent map before the controller's convolutions
    /// (spec: false; see `actor_critic::standardize_map`).
    pub standardize_input: bool,
    /// Use the world model's expected reward sign and end probability in imagined
    /// returns instead of drawing them (the reference draws them).
    pub expected_outcomes: bool,
    /// Threads a training batch is split over, as `world_model.threads`; each share
    /// of the rows imagines from its own random stream, seeded from the step's.
    pub threads: usize,
    pub optim: OptimSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    pub every_epochs: usize,
    pub episodes: usize,
    pub final_episodes: usize,
    pub temperature: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSection {
    /// Epochs between the checkpoints a run resumes from (only the latest is kept).
    pub every_epochs: usize,
    /// Every this many epochs, the models are also kept in `RUN_DIR/models/epoch-N/`
    /// for `rem eval --checkpoint` (0: none). With `eval.every_epochs` it keeps the
    /// policy behind every point of the learning curve.
    pub keep_models_every_epochs: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            device: Device::Cpu,
            env: EnvSection::default(),
            collect: CollectSection::default(),
            store: StoreSection::default(),
            tokenizer: TokenizerSection::default(),
            world_model: WorldModelSection::default(),
            actor_critic: ActorCriticSection::default(),
            eval: EvalSection::default(),
            checkpoint: CheckpointSection::default(),
        }
    }
}

impl Default for EnvSection {
    fn default() -> Self {
        Self {
            game: "Breakout".into(),
        }
    }
}

impl Default for CollectSection {
    fn default() -> Self {
        Self {
            epochs: 600,
            envs: 1,
            collect_until_epoch: 500,
            steps_per_epoch: 200,
            temperature: 1.0,
            epsilon: 0.01,
            random_until_epoch: 0,
            policy_state: PolicyState::Carried,
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        // 100K frames of 12 KiB each is about 1.2 GiB; leave room for episode metadata.
        Self { max_mib: 2048 }
    }
}

// Sizes and optimiser settings are the model crates' own defaults (the spec's);
// only the schedule (batch, steps, start epoch) is written here.

impl Default for TokenizerSection {
    fn default() -> Self {
        let model = TokenizerConfig::default();
        let optim = TokenizerTrainerConfig::default();
        Self {
            vocab: model.vocab,
            embed_dim: model.embed_dim,
            base_channels: model.channels[0],
            threads: optim.threads,
            restart_unused_codes_every: optim.restart_unused_codes_every,
            perceptual: PerceptualLoss::Lpips,
            lpips_weights: model.lpips_weights,
            optim: OptimSection {
                lr: optim.learning_rate,
                weight_decay: optim.weight_decay,
                grad_clip: optim.max_grad_norm,
                batch: 128,
                steps_per_epoch: 200,
                start_epoch: 6,
                stop_epoch: None,
            },
        }
    }
}

impl Default for WorldModelSection {
    fn default() -> Self {
        let model = RetNetConfig::default();
        let optim = WorldModelTrainerConfig::default();
        Self {
            layers: model.n_layers,
            heads: model.n_heads,
            ffn: model.ffn,
            dropout: model.dropout,
            seq_blocks: 10,
            context_blocks: optim.context_blocks,
            chunk_blocks: WorldModelConfig::spec(0).chunk_blocks,
            threads: optim.threads,
            prediction_sees_frame_before: false,
            rewarded_rows: 0,
            rewarded_rows_correction: RewardedRowsCorrection::None,
            recent_rows: 0,
            recent_steps: 1000,
            optim: OptimSection {
                lr: optim.learning_rate,
                weight_decay: optim.weight_decay as f32,
                grad_clip: optim.max_grad_norm,
                batch: 64,
                steps_per_epoch: 200,
                start_epoch: 26,
                stop_epoch: None,
            },
        }
    }
}

impl Default for ActorCriticSection {
    fn default() -> Self {
        // The action count does not change these sizes.
        let model = ActorCriticConfig::new(1);
        Self {
            conv1: model.conv1,
            conv2: model.conv2,
            hidden: model.hidden,
            lstm: model.lstm,
            burn_in: 20,
            burn_in_feeds_actions: true,
            horizon: 10,
            gamma: GAMMA,
            lambda: LAMBDA,
            entropy_weight: ENTROPY_WEIGHT,
            world_temperature: 1.0,
            standardize_input: model.standardize_input,
            expected_outcomes: false,
            threads: 1,
            optim: OptimSection {
                lr: 1e-4,
                weight_decay: 0.01,
                grad_clip: 3.0,
                batch: 128,
                steps_per_epoch: 100,
                start_epoch: 51,
                stop_epoch: None,
            },
        }
    }
}

impl Default for EvalSection {
    fn default() -> Self {
        Self {
            every_epochs: 10,
            episodes: 16,
            final_episodes: 100,
            temperature: 0.5,
        }
    }
}

impl Default for CheckpointSection {
    fn default() -> Self {
        Self {
            every_epochs: 5,
            keep_models_every_epochs: 0,
        }
    }
}

/// The tokenizer's optimiser as its section sets it.
impl From<&TokenizerSection> for TokenizerTrainerConfig {
    fn from(section: &TokenizerSection) -> Self {
        let o = &section.optim;
        Self {
            learning_rate: o.lr,
            weight_decay: o.weight_decay,
            max_grad_norm: o.grad_clip,
            threads: section.threads,
            restart_unused_codes_every: section.restart_unused_codes_every,
        }
    }
}

/// The world model's optimiser and loss mask as its section sets them.
impl From<&WorldModelSection> for WorldModelTrainerConfig {
    fn from(section: &WorldModelSection) -> Self {
        let o = &section.optim;
        Self {
            learning_rate: o.lr,
            weight_decay: o.weight_decay as f64,
            max_grad_norm: o.grad_clip,
            context_blocks: section.context_blocks,
            threads: section.threads,
        }
    }
}
