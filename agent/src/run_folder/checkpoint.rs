//! One checkpoint folder: what it holds (models, optimisers, the episode store, where
//! training stood) and how each part is read back.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use rem_envs::store::EpisodeStore;
use rem_worldmodel::tokenizer::Tokenizer;
use rem_worldmodel::world_model::WorldModel;
use serde::{Deserialize, Serialize};

use super::checkpoint_file::{read_bytes, read_record};
use crate::actor_critic::ActorCritic;
use crate::models::{AgentModels, ModelShapes};
use crate::training::collect::CollectorLog;

/// The files a policy acts with: the tokenizer, whose tokens the controller reads, and
/// the controller.
const POLICY_FILES: [&str; 2] = [part::TOKENIZER, part::ACTOR_CRITIC];

/// The files of one checkpoint.
pub(super) mod part {
    pub const TOKENIZER: &str = "tokenizer.bin";
    pub const WORLD_MODEL: &str = "world_model.bin";
    pub const ACTOR_CRITIC: &str = "actor_critic.bin";
    pub const TOKENIZER_OPTIM: &str = "tokenizer_optim.bin";
    pub const WORLD_MODEL_OPTIM: &str = "world_model_optim.bin";
    pub const ACTOR_CRITIC_OPTIM: &str = "actor_critic_optim.bin";
    pub const STORE: &str = "store.bin";
    pub const PROGRESS: &str = "state.json";
}

/// Where training stands at a checkpoint, besides models, optimisers and the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    /// The last completed epoch.
    pub epoch: usize,
    pub env_steps: usize,
    /// The game's action count, so that opening a run starts no environment. Absent
    /// from checkpoints written before it was recorded.
    #[serde(default)]
    pub n_actions: Option<usize>,
    pub collector: CollectorLog,
}

/// The state of an optimiser of a module `M` (all three parts use AdamW).
pub type OptimizerRecord<M, B> = <OptimizerAdaptor<AdamW, M, B> as Optimizer<M, B>>::Record;

/// The three optimisers' states.
pub struct OptimizerRecords<B: AutodiffBackend> {
    pub tokenizer: OptimizerRecord<Tokenizer<B>, B>,
    pub world_model: OptimizerRecord<WorldModel<B>, B>,
    pub actor_critic: OptimizerRecord<ActorCritic<B>, B>,
}

/// Everything a checkpoint holds.
pub struct CheckpointContents<'a, B: AutodiffBackend> {
    pub models: &'a AgentModels<B>,
    pub optimizers: OptimizerRecords<B>,
    pub store: &'a EpisodeStore,
    pub progress: &'a Progress,
}

/// One checkpoint folder.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn progress(&self) -> Result<Progress> {
        serde_json::from_slice(&read_bytes(&self.dir.join(part::PROGRESS))?).with_context(|| {
            format!(
                "checkpoint {} has an unreadable state.json",
                self.dir.display()
            )
        })
    }

    /// The models, shaped by `shapes`.
    pub fn models<B: Backend>(
        &self,
        shapes: &ModelShapes,
        device: &B::Device,
    ) -> Result<AgentModels<B>> {
        let fresh = shapes.init::<B>(device)?;
        let record = |file| self.dir.join(file);
        Ok(AgentModels {
            tokenizer: fresh
                .tokenizer
                .load_record(read_record::<B, _>(&record(part::TOKENIZER), device)?),
            world_model: fresh
                .world_model
                .load_record(read_record::<B, _>(&record(part::WORLD_MODEL), device)?),
            actor_critic: fresh
                .actor_critic
                .load_record(read_record::<B, _>(&record(part::ACTOR_CRITIC), device)?),
        })
    }

    pub fn optimizers<B: AutodiffBackend>(
        &self,
        device: &B::Device,
    ) -> Result<OptimizerRecords<B>> {
        let record = |file| self.dir.join(file);
        Ok(OptimizerRecords {
            tokenizer: read_record::<B, _>(&record(part::TOKENIZER_OPTIM), device)?,
            world_model: read_record::<B, _>(&record(part::WORLD_MODEL_OPTIM), device)?,
            actor_critic: read_record::<B, _>(&record(part::ACTOR_CRITIC_OPTIM), device)?,
        })
    }

    /// The controller's optimiser state, where the folder holds it: every checkpoint
    /// does, a folder kept under `models/` from before it was kept there does not.
    pub fn actor_critic_optimizer<B: AutodiffBackend>(
        &self,
        device: &B::Device,
    ) -> Result<Option<OptimizerRecord<ActorCritic<B>, B>>> {
        let path = self.dir.join(part::ACTOR_CRITIC_OPTIM);
        match path.exists() {
            true => Ok(Some(read_record::<B, _>(&path, device)?)),
            false => Ok(None),
        }
    }

    /// Whether `other` holds the same policy, byte for byte: the tokenizer, whose
    /// tokens the controller reads, and the controller. The world model does not act:
    /// once the tokenizer is frozen, the models kept before the controller's first step
    /// all act alike.
    pub fn acts_like(&self, other: &Checkpoint) -> Result<bool> {
        for file in POLICY_FILES {
            if read_bytes(&self.dir.join(file))? != read_bytes(&other.dir.join(file))? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A hash of the policy's files: checkpoints that act alike have equal ones, so
    /// among many checkpoints only those with equal hashes need [`Self::acts_like`],
    /// and each file is read once instead of once per pair.
    pub fn policy_hash(&self) -> Result<u64> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for file in POLICY_FILES {
            std::hash::Hash::hash(&read_bytes(&self.dir.join(file))?, &mut hasher);
        }
        Ok(std::hash::Hasher::finish(&hasher))
    }

    /// Whether the folder holds an episode store: one kept under `models/` does not.
    pub fn has_store(&self) -> bool {
        self.dir.join(part::STORE).exists()
    }

    /// The episode store.
    pub fn store(&self) -> Result<EpisodeStore> {
        let path = self.dir.join(part::STORE);
        anyhow::ensure!(
            self.has_store(),
            "{} holds no episode store (a folder kept under models/ holds none)",
            self.dir.display()
        );
        EpisodeStore::load(&path)
            .map_err(|e| anyhow::anyhow!("checkpoint file {} is damaged: {e}", path.display()))
    }
}
