//! `rem ratings`: how a run's kept world models rate its kept controllers, beside what
//! the controllers score in the game. Does a world model rank the policies as the
//! game does? One that does guides its controller; one that rates highest what the
//! game scores lowest leads it away (docs/results.md, "The kept models at the
//! collection's temperature, and how each world model rates them").
//!
//! Every controller imagines from the same real starts with the same draws, as
//! `rem dream --versus` pairs two of them ([`imagine_with`]), and each rating is a
//! controller's imagined return minus a reference controller's (the initial one by
//! default), rollout by rollout:
//!
//!   d_{W,C} = mean_i [ R_W(C, i) - R_W(ref, i) ],  R_W(C, i) = sum_t r_t prod_{s<t} c_s
//!
//! over rollouts i in world model W ([`DreamRow::imagined_return`]), with a 95%
//! bootstrap interval over the rollouts. Besides the world models asked for, each
//! controller is rated in its own epoch's world model: the one it was trained in.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rand::rngs::StdRng;
use rem_envs::store::SegmentBatch;
use serde::{Deserialize, Serialize};

use super::{draw_starts, dream_rows, imagine_with, start_segments, ImaginedReturns, Versus};
use crate::actor_critic::ActorCritic;
use crate::imagination::rollout::{FrozenModels, Generator, RolloutSettings};
use crate::models::AgentModels;
use crate::report::{bootstrap_ci, kept_evaluations, mean, rank_correlation};
use crate::run_folder::{ensure_kept, epoch_list, Checkpoint, RunFolder, SavedRun};
use crate::training::metrics::read_metrics;

/// Which kept models to rate, and how. Empty epoch lists and `None` take the defaults
/// of [`rate_kept_controllers`].
#[derive(Debug, Clone, Default)]
pub struct RatingRequest {
    /// Epochs of the world models to rate every controller in.
    pub worlds: Vec<usize>,
    /// Epochs of the controllers to rate.
    pub controllers: Vec<usize>,
    /// Epoch of the controller the others are set against.
    pub reference: Option<usize>,
    pub rollouts: usize,
    pub seed: u64,
}

/// A controller's real score: the evaluation of its epoch with the most episodes,
/// `rem eval --kept`'s (RUN/epoch-N/eval.json) or the run's own (metrics.jsonl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameScore {
    pub mean: f64,
    pub episodes: usize,
    pub ci95: Option<(f64, f64)>,
}

/// One controller's ratings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControllerRatings {
    pub epoch: usize,
    pub game: Option<GameScore>,
    /// Minus the reference, in its own epoch's world model.
    pub own_world: ImaginedReturns,
    /// Minus the reference, in each of [`Ratings::worlds`], in order.
    pub in_worlds: Vec<ImaginedReturns>,
}

/// What `rem ratings` found; RUN/ratings.json holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratings {
    pub reference: usize,
    pub worlds: Vec<usize>,
    /// The reference controller's own imagined return in each of `worlds`.
    pub reference_returns: Vec<ImaginedReturns>,
    pub controllers: Vec<ControllerRatings>,
    pub settings: RolloutSettings,
}

impl Ratings {
    /// Per world model (as in `worlds`, then the own one), Spearman's correlation of
    /// the ratings with the game's scores over the controllers with a score, and how
    /// many those are; `None` where fewer than three have one or either side is level.
    pub fn rank_agreement(&self) -> Vec<(Option<f64>, usize)> {
        let (scored, game): (Vec<&ControllerRatings>, Vec<f64>) = self
            .controllers
            .iter()
            .filter_map(|c| Some((c, c.game.as_ref()?.mean)))
            .unzip();
        let agreement = |rating: &dyn Fn(&ControllerRatings) -> f64| {
            let imagined: Vec<f64> = scored.iter().map(|c| rating(c)).collect();
            (rank_correlation(&imagined, &game), scored.len())
        };
        let mut all: Vec<_> = (0..self.worlds.len())
            .map(|w| agreement(&|c: &ControllerRatings| c.in_worlds[w].mean))
            .collect();
        all.push(agreement(&|c: &ControllerRatings| c.own_world.mean));
        all
    }

    /// Each controller's game score read again from the run in `run_dir` (its
    /// evaluations may have grown since the ratings were made); the ratings stay.
    pub fn rescore(&mut self, run_dir: &Path) -> Result<()> {
        let game = RunFolder::new(run_dir).config(&[])?.env.game;
        self.score(run_dir, &game)
    }

    /// Each controller's game score from the run in `run_dir`, a run of `game`.
    fn score(&mut self, run_dir: &Path, game: &str) -> Result<()> {
        let scores = game_scores(run_dir, game)?;
        for controller in &mut self.controllers {
            controller.game = scores.get(&controller.epoch).cloned();
        }
        Ok(())
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading {} (written by `rem ratings` without --redraw)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// Rates the kept controllers (RUN/models/epoch-N) of the run in `run_dir` in its kept
/// world models. Defaults: the reference is the last kept epoch before the
/// controller's first step (`actor_critic.optim.start_epoch`), the initial
/// controller; the controllers are every kept epoch from the reference on; the world
/// models are those of them that the run evaluated (every `eval.every_epochs`) and the
/// last. Rollouts follow the run's actor-critic settings (horizon, world temperature,
/// expected outcomes) and start from the latest checkpoint's episodes.
pub fn rate_kept_controllers<B: AutodiffBackend>(
    run_dir: &Path,
    request: &RatingRequest,
    device: &B::Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<Ratings> {
    ensure!(request.rollouts > 0, "at least one rollout is needed");
    let latest = SavedRun::<B>::open(run_dir, None, device)?;
    let kept: BTreeMap<usize, Checkpoint> = latest.folder.kept_models()?.into_iter().collect();
    let epochs = Epochs::resolve(request, &kept, &latest.config)?;
    let ac = &latest.config.actor_critic;
    let settings = RolloutSettings {
        horizon: ac.horizon,
        generator: Generator::Pop,
        world_temperature: ac.world_temperature,
        expected_outcomes: ac.expected_outcomes,
        burn_in_feeds_actions: ac.burn_in_feeds_actions,
    };
    let store = latest.episodes()?;
    let (segments, actions) = draw_starts(&store, request.rollouts, ac.burn_in, request.seed)?;
    let starts = Starts {
        segments: &segments,
        actions: &actions,
        seed: request.seed,
        rollouts: request.rollouts,
    };
    let controller_of = |epoch: usize| -> Result<ActorCritic<B>> {
        Ok(kept[&epoch]
            .models::<B>(&latest.shapes, device)?
            .actor_critic)
    };
    let reference = controller_of(epochs.reference)?;
    let controllers: Vec<ActorCritic<B>> = epochs
        .controllers
        .iter()
        .map(|&e| controller_of(e))
        .collect::<Result<_>>()?;

    // Each world model's ratings of the controllers it is asked about.
    let mut cells: BTreeMap<(usize, usize), ImaginedReturns> = BTreeMap::new();
    let mut reference_returns = BTreeMap::new();
    let jobs = epochs.jobs();
    let total = jobs.values().map(Vec::len).sum();
    let mut done = 0;
    for (&world, rated) in &jobs {
        let models = kept[&world].models::<B>(&latest.shapes, device)?;
        let rated: Vec<&ActorCritic<B>> = rated.iter().map(|&i| &controllers[i]).collect();
        let rated_one = || {
            done += 1;
            progress(done, total);
        };
        let (reference_return, differences) = rate_in_world(
            &models, &reference, &rated, &starts, settings, device, rated_one,
        )?;
        reference_returns.insert(world, reference_return);
        for (&index, difference) in jobs[&world].iter().zip(differences) {
            cells.insert((world, epochs.controllers[index]), difference);
        }
    }
    let controllers = epochs
        .controllers
        .iter()
        .map(|&epoch| ControllerRatings {
            epoch,
            game: None,
            own_world: cells[&(epoch, epoch)],
            in_worlds: epochs.worlds.iter().map(|&w| cells[&(w, epoch)]).collect(),
        })
        .collect();
    let mut ratings = Ratings {
        reference: epochs.reference,
        reference_returns: epochs.worlds.iter().map(|w| reference_returns[w]).collect(),
        worlds: epochs.worlds,
        controllers,
        settings,
    };
    ratings.score(run_dir, &latest.config.env.game)?;
    Ok(ratings)
}

/// The real starts every controller imagines from, and the draws it meets.
struct Starts<'s> {
    segments: &'s SegmentBatch,
    actions: &'s StdRng,
    seed: u64,
    rollouts: usize,
}

/// In the world model of `models`: the reference controller's imagined return, and
/// each of `rated`'s minus the reference's, paired by rollout; `rated_one` is called
/// as each is done.
fn rate_in_world<B: AutodiffBackend>(
    models: &AgentModels<B>,
    reference: &ActorCritic<B>,
    rated: &[&ActorCritic<B>],
    starts: &Starts<'_>,
    settings: RolloutSettings,
    device: &B::Device,
    mut rated_one: impl FnMut(),
) -> Result<(ImaginedReturns, Vec<ImaginedReturns>)> {
    let (tokenizer, world_model) = (models.tokenizer.valid(), models.world_model.valid());
    let frozen = FrozenModels::<B> {
        tokenizer: &tokenizer,
        world_model: &world_model,
    };
    let start = start_segments::<B>(&tokenizer, starts.segments, device)?;
    let rows = |controller: &ActorCritic<B>| -> Result<_> {
        let draws = (starts.seed, starts.actions);
        let rollout = imagine_with(&frozen, controller, start.clone(), settings, draws, device)?;
        Ok(dream_rows::<B>(rollout, settings, starts.rollouts))
    };
    let reference_rows = rows(reference)?;
    let mut differences = Vec::with_capacity(rated.len());
    for controller in rated {
        differences.push(Versus::of(&rows(controller)?, &reference_rows).difference);
        rated_one();
    }
    Ok((ImaginedReturns::of(&reference_rows), differences))
}

/// The epochs of a rating, each one a kept model's.
struct Epochs {
    reference: usize,
    controllers: Vec<usize>,
    worlds: Vec<usize>,
}

impl Epochs {
    fn resolve(
        request: &RatingRequest,
        kept: &BTreeMap<usize, Checkpoint>,
        config: &crate::config::RunConfig,
    ) -> Result<Self> {
        ensure!(
            !kept.is_empty(),
            "the run keeps no models (its config's checkpoint.keep_models_every_epochs is 0, \
             or no such epoch has ended)"
        );
        let kept_epochs: Vec<usize> = kept.keys().copied().collect();
        let first_step = config.actor_critic.optim.start_epoch;
        let reference = match request.reference {
            Some(epoch) => epoch,
            None => *kept
                .range(..first_step)
                .next_back()
                .map(|(e, _)| e)
                .with_context(|| {
                    format!(
                    "no model was kept before the controller's first step (epoch {first_step}) \
                     to be the reference; choose one with --reference (kept: {})",
                    epoch_list(&kept_epochs)
                )
                })?,
        };
        let later = || kept.range(reference..).map(|(&e, _)| e);
        let controllers = match request.controllers.is_empty() {
            true => later().collect(),
            false => request.controllers.clone(),
        };
        let every = config.eval.every_epochs.max(1);
        let last = *kept.keys().next_back().expect("not empty");
        let worlds = match request.worlds.is_empty() {
            true => later().filter(|e| e % every == 0 || *e == last).collect(),
            false => request.worlds.clone(),
        };
        let asked = std::iter::once(&reference)
            .chain(&controllers)
            .chain(&worlds);
        ensure_kept(&kept_epochs, asked.copied())?;
        Ok(Self {
            reference,
            controllers,
            worlds,
        })
    }

    /// Per world model, the indices of the controllers to rate in it: all in the
    /// asked-for worlds, and each controller in its own epoch's.
    fn jobs(&self) -> BTreeMap<usize, Vec<usize>> {
        let mut jobs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &world in &self.worlds {
            jobs.insert(world, (0..self.controllers.len()).collect());
        }
        for (index, &epoch) in self.controllers.iter().enumerate() {
            let rated = jobs.entry(epoch).or_default();
            if !rated.contains(&index) {
                rated.push(index);
            }
        }
        jobs
    }
}

/// The run's evaluations by epoch: `rem eval --kept`'s where it has one, else the
/// run's own, whichever has more episodes.
fn game_scores(run_dir: &Path, game: &str) -> Result<BTreeMap<usize, GameScore>> {
    let records = read_metrics(&RunFolder::new(run_dir).metrics_file())?;
    let mut scores = BTreeMap::new();
    for record in &records {
        if let Some(eval) = &record.eval {
            let returns: Vec<f64> = eval.returns.iter().map(|&r| f64::from(r)).collect();
            let score = GameScore {
                mean: if returns.is_empty() {
                    f64::from(eval.mean_return)
                } else {
                    mean(&returns)
                },
                episodes: eval.episodes,
                ci95: bootstrap_ci(&returns),
            };
            scores.insert(record.epoch, score);
        }
    }
    for kept in kept_evaluations(run_dir, game, &records)? {
        let score = GameScore {
            mean: kept.mean_return,
            episodes: kept.episodes,
            ci95: kept.ci95,
        };
        let more = scores
            .get(&kept.epoch)
            .is_none_or(|own| own.episodes < kept.episodes);
        if more {
            scores.insert(kept.epoch, score);
        }
    }
    Ok(scores)
}
