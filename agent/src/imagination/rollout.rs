//! Imagined rollouts for actor-critic training (algorithm.md, section 4): encode a batch of
//! real segments, burn the controller in over their first frames, then let the
//! frozen world model play the environment while the controller acts. Only the
//! controller runs on the autodiff backend.
//!
//! Lengths follow the reference: `horizon` counts the world model's blocks, the
//! [`CONTEXT_FRAMES`] real context frames included, so a rollout has
//! `H = horizon - CONTEXT_FRAMES + 1` observations (9 for the spec's horizon 10): the
//! last real frame, then `H - 1` imagined ones. The world model therefore never runs
//! past the `horizon` blocks, which the configuration keeps within its training length.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Int, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rem_worldmodel::imagination::{Imagine, Outcome, PopImagination, TokenByToken};
use rem_worldmodel::optim::row_shares;
use rem_worldmodel::stream::with_thread_stream;
use rem_worldmodel::tokenizer::Tokenizer;
use rem_worldmodel::world_model::WorldModel;

use crate::actor_critic::{sample_actions, ActorCritic, ActorCriticState};

/// Real frames the world model's state is built from before it imagines.
pub const CONTEXT_FRAMES: usize = 2;

/// How imagined frames are generated.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Generator {
    /// Parallel observation prediction: two network calls a step.
    Pop,
    /// IRIS-style, one token at a time: K + 1 calls a step.
    TokenByToken,
}

impl Generator {
    /// Both generators, in the order the imagination benchmarks time them.
    pub const ALL: [Generator; 2] = [Generator::Pop, Generator::TokenByToken];
}

/// The frozen parts, on the backend without autodiff.
pub struct FrozenModels<'m, B: AutodiffBackend> {
    pub tokenizer: &'m Tokenizer<B::InnerBackend>,
    pub world_model: &'m WorldModel<B::InnerBackend>,
}

/// Real segments to start from: `T` frames each, left-padded.
#[derive(Clone)]
pub struct StartSegments<B: AutodiffBackend> {
    /// `[N, T, K]` tokens of the real frames.
    pub tokens: Tensor<B::InnerBackend, 3, Int>,
    /// `[N, T]` actions taken on them.
    pub actions: Tensor<B::InnerBackend, 2, Int>,
    /// `[N, T]` true for real frames.
    pub mask: Tensor<B::InnerBackend, 2, Bool>,
}

impl<B: AutodiffBackend> StartSegments<B> {
    /// The segments cut into `shares` runs of consecutive rows ([`row_shares`]).
    pub fn split_rows(&self, shares: usize) -> Vec<Self> {
        let rows = self.tokens.dims()[0];
        let narrow = |rows: std::ops::Range<usize>| Self {
            tokens: self.tokens.clone().narrow(0, rows.start, rows.len()),
            actions: self.actions.clone().narrow(0, rows.start, rows.len()),
            mask: self.mask.clone().narrow(0, rows.start, rows.len()),
        };
        row_shares(rows, shares).into_iter().map(narrow).collect()
    }
}

/// One thread's part of an imagination call: a run of consecutive start segments,
/// the stream its actions are drawn from, and the seed of the thread stream its
/// imagined tokens are drawn from (none: the backend's generator, as a call on one
/// thread always did).
pub struct RolloutShare<'r, B: AutodiffBackend> {
    start: StartSegments<B>,
    rng: Box<dyn RngCore + Send + 'r>,
    token_seed: Option<u64>,
}

impl<'r, B: AutodiffBackend> RolloutShare<'r, B> {
    /// `start` as `shares` shares ([`row_shares`]). One share draws from `rng` itself,
    /// so that a call on one thread is the plain call; several draw from streams
    /// seeded by `rng`, an action seed then a token seed per share.
    pub fn split(
        start: StartSegments<B>,
        rng: &'r mut (impl RngCore + Send),
        shares: usize,
    ) -> Vec<Self> {
        if shares <= 1 {
            let rng = Box::new(rng);
            return vec![Self {
                start,
                rng,
                token_seed: None,
            }];
        }
        start
            .split_rows(shares)
            .into_iter()
            .map(|start| Self {
                start,
                rng: Box::new(StdRng::seed_from_u64(rng.random())),
                token_seed: Some(rng.random()),
            })
            .collect()
    }

    pub fn rows(&self) -> usize {
        self.start.tokens.dims()[0]
    }

    /// [`roll_out`] of the share's segments, drawing from the share's streams.
    pub fn roll_out(
        mut self,
        frozen: &FrozenModels<'_, B>,
        controller: &ActorCritic<B>,
        settings: RolloutSettings,
    ) -> anyhow::Result<Rollout<B>> {
        let (start, rng) = (self.start, &mut self.rng);
        match self.token_seed {
            Some(seed) => {
                with_thread_stream(seed, || roll_out(frozen, controller, start, settings, rng))
            }
            None => roll_out(frozen, controller, start, settings, rng),
        }
    }
}

/// A rollout of `H` imagined observations `o_0 .. o_{H-1}` (o_0 is the last real
/// frame); the `H - 1` transitions between them carry rewards.
pub struct Rollout<B: AutodiffBackend> {
    /// `[N, H, A]` policy logits at each observation.
    pub logits: Tensor<B, 3>,
    /// `[N, H]` values; the last one only bootstraps.
    pub values: Tensor<B, 2>,
    /// `[N, H]` actions taken.
    pub actions: Tensor<B, 2, Int>,
    /// `[N, H - 1]` reward signs drawn from the world model.
    pub rewards: Tensor<B, 2>,
    /// `[N, H - 1]` 0 where the transition ended the episode, else 1.
    pub continues: Tensor<B, 2>,
    /// `[N, H - 1, K]` tokens of the imagined observations `o_1 .. o_{H-1}`.
    pub frames: Tensor<B::InnerBackend, 3, Int>,
    /// One past the last sequence position the world model was run at (context
    /// included): at most `horizon` blocks.
    pub world_positions: usize,
}

/// Settings of one rollout.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct RolloutSettings {
    /// World-model blocks a rollout spans, the context frames included (the
    /// reference's `imagine_horizon`); at least `CONTEXT_FRAMES + 1`.
    pub horizon: usize,
    pub generator: Generator,
    /// Temperature of the world model's token sampling (spec: 1).
    pub world_temperature: f32,
    /// Rewards and ends as the world model's expectations instead of draws.
    pub expected_outcomes: bool,
    /// The burn-in feeds each real frame's action, as acting does; false observes
    /// only, as REM does.
    pub burn_in_feeds_actions: bool,
}

impl RolloutSettings {
    /// Observations per rollout, `H`: the last real frame and `H - 1` imagined ones.
    pub fn observations(&self) -> usize {
        (self.horizon + 1).saturating_sub(CONTEXT_FRAMES)
    }

    /// Transitions between those observations, each with a reward: `H - 1`.
    pub fn transitions(&self) -> usize {
        self.observations().saturating_sub(1)
    }
}

/// Runs one batch of imagined rollouts.
pub fn roll_out<B: AutodiffBackend>(
    frozen: &FrozenModels<'_, B>,
    controller: &ActorCritic<B>,
    start: StartSegments<B>,
    settings: RolloutSettings,
    rng: &mut impl Rng,
) -> anyhow::Result<Rollout<B>> {
    let [n, t, k] = start.tokens.dims();
    anyhow::ensure!(
        t >= CONTEXT_FRAMES,
        "an imagined rollout needs at least {CONTEXT_FRAMES} real frames, got {t}"
    );
    anyhow::ensure!(
        settings.transitions() >= 1,
        "horizon {} leaves no imagined step after {CONTEXT_FRAMES} context frames",
        settings.horizon
    );
    let observations = settings.observations();
    let latents =
        |tokens: Tensor<B::InnerBackend, 2, Int>| frozen.tokenizer.embed_tokens_grid(tokens);

    // Burn-in over the first T-1 frames, without gradient, feeding actions exactly
    // as acting does (unless the settings ask for REM's observe-only burn-in).
    let burn_in_len = t - 1;
    let all = latents(start.tokens.clone().reshape([n * t, k]));
    let [_, e, s, _] = all.dims();
    let all = all.reshape([n, t, e, s, s]);
    let burn_in_actions = settings
        .burn_in_feeds_actions
        .then(|| start.actions.clone().narrow(1, 0, burn_in_len));
    let state = controller.valid().burn_in(
        all.clone().narrow(1, 0, burn_in_len),
        burn_in_actions,
        start.mask.clone().narrow(1, 0, burn_in_len),
    );
    let mut rollout = RolloutBuilder::new(
        controller,
        ActorCriticState::<B>::from_inner(state),
        settings,
    );

    // o_0 is the last real frame; the context for the world model is the block
    // before it plus o_0 with the action just chosen.
    let first_action = rollout.act(all.narrow(1, t - 1, 1).reshape([n, e, s, s]), rng)?;
    let context_tokens = start.tokens.narrow(1, t - CONTEXT_FRAMES, CONTEXT_FRAMES);
    let context_actions = Tensor::cat(
        vec![
            start
                .actions
                .narrow(1, t - CONTEXT_FRAMES, CONTEXT_FRAMES - 1),
            first_action.unsqueeze_dim(1),
        ],
        1,
    );
    let (mut world, outcome) = start_world(frozen, context_tokens, context_actions, settings);
    rollout.record(outcome);
    // The last observation's action is chosen (its value bootstraps) but not taken.
    for step in 1..observations {
        let frame = world.predict_frame();
        rollout.frames.push(frame.clone().unsqueeze_dim::<3>(1));
        let action = rollout.act(latents(frame.clone()), rng)?;
        if step + 1 < observations {
            rollout.record(world.step(frame, action));
        }
    }
    Ok(rollout.finish(world.furthest_position()))
}

/// The imagined world of `settings.generator`, started from the real context, and
/// the outcome of the context's last action.
fn start_world<'m, B: AutodiffBackend>(
    frozen: &FrozenModels<'m, B>,
    tokens: Tensor<B::InnerBackend, 3, Int>,
    actions: Tensor<B::InnerBackend, 2, Int>,
    settings: RolloutSettings,
) -> (
    Box<dyn Imagine<B::InnerBackend> + 'm>,
    Outcome<B::InnerBackend>,
) {
    let codebook = frozen.tokenizer.codebook();
    let temperature = settings.world_temperature;
    match settings.generator {
        Generator::Pop => {
            let (world, outcome) =
                PopImagination::start(frozen.world_model, codebook, tokens, actions, temperature);
            (Box::new(world), outcome)
        }
        Generator::TokenByToken => {
            let (world, outcome) =
                TokenByToken::start(frozen.world_model, codebook, tokens, actions, temperature);
            (Box::new(world), outcome)
        }
    }
}

/// The controller acting along a rollout, and everything the rollout keeps.
struct RolloutBuilder<'c, B: AutodiffBackend> {
    controller: &'c ActorCritic<B>,
    state: Option<ActorCriticState<B>>,
    settings: RolloutSettings,
    logits: Vec<Tensor<B, 3>>,
    values: Vec<Tensor<B, 2>>,
    actions: Vec<Tensor<B, 2, Int>>,
    rewards: Vec<Tensor<B, 2>>,
    continues: Vec<Tensor<B, 2>>,
    frames: Vec<Tensor<B::InnerBackend, 3, Int>>,
}

impl<'c, B: AutodiffBackend> RolloutBuilder<'c, B> {
    fn new(
        controller: &'c ActorCritic<B>,
        state: ActorCriticState<B>,
        settings: RolloutSettings,
    ) -> Self {
        let h = settings.observations();
        Self {
            controller,
            state: Some(state),
            settings,
            logits: Vec::with_capacity(h),
            values: Vec::with_capacity(h),
            actions: Vec::with_capacity(h),
            rewards: Vec::with_capacity(h - 1),
            continues: Vec::with_capacity(h - 1),
            frames: Vec::with_capacity(h - 1),
        }
    }

    /// The controller sees an observation's latents and samples its action (at
    /// temperature 1), which it is then fed; returns the action.
    fn act(
        &mut self,
        frame_latents: Tensor<B::InnerBackend, 4>,
        rng: &mut dyn rand::RngCore,
    ) -> anyhow::Result<Tensor<B::InnerBackend, 1, Int>> {
        let state = self
            .state
            .take()
            .expect("the state is put back after each step");
        let seen = self
            .controller
            .observe(Tensor::from_inner(frame_latents), state);
        let sampled = sample_actions(seen.logits.clone(), 1.0, 0.0, rng)?;
        let taken = sampled.taken_tensor::<B>(&seen.logits.device());
        self.state = Some(self.controller.feed_action(taken.clone(), seen.state));
        self.logits.push(seen.logits.unsqueeze_dim::<3>(1));
        self.values.push(seen.value.unsqueeze_dim::<2>(1));
        self.actions.push(taken.clone().unsqueeze_dim::<2>(1));
        Ok(taken.inner())
    }

    /// Keeps a transition's reward and continuation, drawn or expected.
    fn record(&mut self, outcome: Outcome<B::InnerBackend>) {
        let (reward, done) = if self.settings.expected_outcomes {
            (outcome.expected_reward(), outcome.done_probability())
        } else {
            (outcome.sample_reward(), outcome.sample_done())
        };
        self.rewards
            .push(Tensor::<B, 1>::from_inner(reward).unsqueeze_dim::<2>(1));
        self.continues
            .push(Tensor::<B, 1>::from_inner(done.neg().add_scalar(1.0)).unsqueeze_dim::<2>(1));
    }

    fn finish(self, world_positions: usize) -> Rollout<B> {
        Rollout {
            logits: Tensor::cat(self.logits, 1),
            values: Tensor::cat(self.values, 1),
            actions: Tensor::cat(self.actions, 1),
            rewards: Tensor::cat(self.rewards, 1),
            continues: Tensor::cat(self.continues, 1),
            frames: Tensor::cat(self.frames, 1),
            world_positions,
        }
    }
}
