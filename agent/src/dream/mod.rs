//! `rem dream`: what the agent imagines. Imagined rollouts of a run's checkpoint,
//! from real segments of its episode store, exactly as actor-critic training runs
//! them, decoded to a PNG: one row per rollout, the last real frames then the
//! imagined ones. Printed beside it: the rewards and ends the world model drew (or
//! expected), the imagined reward that followed each action over all rollouts (a
//! world model that favours one action without cause shows up there under a fresh
//! controller), and the imagined return per rollout. Acting with the controller of
//! another checkpoint of the run (`Controller::Of`) asks how this world model rates
//! that policy: whether it ranks two controllers as the real game does.

use std::path::Path;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rem_envs::store::{EpisodeStore, Padding, SegmentBatch};
use rem_envs::FRAME_BYTES;
use rem_worldmodel::tokenizer::{tensor_to_frames, Tokenizer};

use crate::actor_critic::ActorCritic;
use crate::batches::{actions_tensor, encode_segments, mask_tensor, TokenCache};
use crate::imagination::rollout::{
    roll_out, FrozenModels, Generator, Rollout, RolloutSettings, StartSegments, CONTEXT_FRAMES,
};
use crate::run_folder::SavedRun;

pub mod ratings;
mod summaries;
pub use summaries::{CodeUsage, DreamRow, ImaginedReturns, RewardAfterAction, Versus};

/// Real frames shown before the imagined ones in each row.
pub const REAL_FRAMES_SHOWN: usize = 3;

/// What `rem dream` found.
#[derive(Debug, Clone)]
pub struct Dream {
    pub rows: Vec<DreamRow>,
    /// How the tokenizer's codes are spread over the real frames the rollouts
    /// started from.
    pub codes: CodeUsage,
    /// Per action id: the imagined reward that followed it, over all rollouts.
    pub after_action: Vec<RewardAfterAction>,
    /// The imagined return of each rollout ([`DreamRow::imagined_return`]).
    pub returns: ImaginedReturns,
    /// The same rollouts acted by a second controller (`DreamSettings::versus`).
    pub versus: Option<Versus>,
}

/// Whose controller acts in the imagined rollouts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Controller<'a> {
    /// The dreamt checkpoint's own.
    Own,
    /// A freshly initialised one.
    Fresh,
    /// That of another checkpoint folder of the same run (e.g. one kept under
    /// RUN_DIR/models/), in the dreamt checkpoint's tokenizer and world model.
    Of(&'a Path),
}

/// What to imagine.
#[derive(Debug, Clone, Copy)]
pub struct DreamSettings<'a> {
    pub rollouts: usize,
    /// World-model blocks per rollout, the real context included, as in training:
    /// `horizon - 1` observations (the last real frame and the imagined ones).
    pub horizon: usize,
    /// Temperature of the world model's token sampling; `None` takes the run's
    /// (`actor_critic.world_temperature`).
    pub world_temperature: Option<f32>,
    pub seed: u64,
    pub controller: Controller<'a>,
    /// A second controller to act in the same rollouts (the same starts and seed),
    /// compared with the first in [`Dream::versus`].
    pub versus: Option<Controller<'a>>,
    /// Rewards and ends as the world model's expectations, as the actor-critic
    /// trains on them with `actor_critic.expected_outcomes`, instead of draws: a
    /// rare reward then still counts in the imagined return.
    pub expected_outcomes: bool,
    /// Rollouts drawn in the PNG and returned as rows (the first ones).
    pub shown: usize,
}

/// Imagines rollouts from the run's checkpoint (its latest unless `checkpoint`
/// names one) and writes them as a PNG to `out`. It follows the trainer's
/// actor-critic step (sample segments, encode, roll out) before its own outputs, so
/// it reads best in one piece.
pub fn dream_run<B: AutodiffBackend>(
    run_dir: &Path,
    checkpoint: Option<&Path>,
    settings: DreamSettings<'_>,
    out: &Path,
    device: &B::Device,
) -> Result<Dream> {
    let DreamSettings {
        rollouts,
        horizon,
        world_temperature,
        seed,
        controller,
        versus,
        expected_outcomes,
        shown,
    } = settings;
    anyhow::ensure!(rollouts > 0, "at least one rollout is needed");
    anyhow::ensure!(
        shown > 0,
        "at least one rollout must be shown: the PNG draws them"
    );
    let run = SavedRun::<B>::open(run_dir, checkpoint, device)?;
    let store = run.episodes()?;
    let SavedRun {
        folder,
        config,
        shapes,
        models,
        ..
    } = run;

    let (segments, actions) = draw_starts(&store, rollouts, config.actor_critic.burn_in, seed)?;
    let tokenizer = models.tokenizer.valid();
    let world_model = models.world_model.valid();
    let frozen = FrozenModels::<B> {
        tokenizer: &tokenizer,
        world_model: &world_model,
    };
    let start = start_segments::<B>(&tokenizer, &segments, device)?;
    let vocab = tokenizer.codebook().dims()[0];
    let codes = codes_on_real_frames(start.tokens.clone(), &segments.mask, vocab);
    let settings = RolloutSettings {
        horizon,
        generator: Generator::Pop,
        world_temperature: world_temperature.unwrap_or(config.actor_critic.world_temperature),
        expected_outcomes,
        burn_in_feeds_actions: config.actor_critic.burn_in_feeds_actions,
    };
    let imagine = |controller: Controller<'_>, start: StartSegments<B>| -> Result<Rollout<B>> {
        let actor_critic = match controller {
            Controller::Own => models.actor_critic.clone(),
            Controller::Fresh => {
                // A fresh controller's weights come from the backend's stream too.
                B::seed(device, seed);
                shapes.actor_critic.init(device)?
            }
            Controller::Of(other) => {
                let other = folder.checkpoint(Some(other))?;
                other.models::<B>(&shapes, device)?.actor_critic
            }
        };
        imagine_with(
            &frozen,
            &actor_critic,
            start,
            settings,
            (seed, &actions),
            device,
        )
    };
    let versus = match versus {
        Some(second) => Some(dream_rows::<B>(
            imagine(second, start.clone())?,
            settings,
            rollouts,
        )),
        None => None,
    };
    let rollout = imagine(controller, start)?;
    let n = shown.min(rollouts);
    let decoded = {
        let [_, imagined, k] = rollout.frames.dims();
        let shown_frames = rollout.frames.clone().narrow(0, 0, n);
        tensor_to_frames(tokenizer.decode_tokens(shown_frames.reshape([n * imagined, k])))
    };
    write_picture(out, &segments, &decoded, n)?;
    let rows = dream_rows::<B>(rollout, settings, rollouts);
    let after_action = RewardAfterAction::of(&rows, shapes.actor_critic.n_actions);
    let returns = ImaginedReturns::of(&rows);
    let versus = versus.map(|second| Versus::of(&rows, &second));
    Ok(Dream {
        rows: rows.into_iter().take(n).collect(),
        codes,
        after_action,
        returns,
        versus,
    })
}

/// Real start segments drawn from `store` as the actor-critic's step draws them
/// (`burn_in` frames and the last real one), and the stream of the controllers'
/// actions after the draw: each controller acts on a copy of it
/// ([`imagine_with`]), so that every one meets the same draws.
pub(crate) fn draw_starts(
    store: &EpisodeStore,
    rollouts: usize,
    burn_in: usize,
    seed: u64,
) -> Result<(SegmentBatch, StdRng)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let segments = store.sample_segments(
        &mut rng,
        rollouts,
        burn_in + 1,
        Padding::Left,
        CONTEXT_FRAMES,
    )?;
    Ok((segments, rng))
}

/// `segments` as the tokenizer's tokens, their actions and their mask.
pub(crate) fn start_segments<B: AutodiffBackend>(
    tokenizer: &Tokenizer<B::InnerBackend>,
    segments: &SegmentBatch,
    device: &B::Device,
) -> Result<StartSegments<B>> {
    let tokens = encode_segments(tokenizer, segments, &mut TokenCache::default(), device, 1)?;
    Ok(StartSegments {
        tokens,
        actions: actions_tensor(segments, device),
        mask: mask_tensor(segments, device),
    })
}

/// `controller`'s rollouts from `start`, with both random streams set as for every
/// controller of a dream: the backend's, which draws the imagined tokens, seeded
/// with `seed`, and a copy of `actions` ([`draw_starts`]).
pub(crate) fn imagine_with<B: AutodiffBackend>(
    frozen: &FrozenModels<'_, B>,
    controller: &ActorCritic<B>,
    start: StartSegments<B>,
    settings: RolloutSettings,
    (seed, actions): (u64, &StdRng),
    device: &B::Device,
) -> Result<Rollout<B>> {
    // Seeded here, after the controller is loaded: loading a checkpoint's models
    // draws from the backend's stream (their fresh initialisation before the record
    // replaces it), so a controller loaded from another folder than the dreamt one's
    // would otherwise meet other draws than the dreamt checkpoint's own.
    B::seed(device, seed);
    roll_out(frozen, controller, start, settings, &mut actions.clone())
}

/// How the tokenizer used its codebook on the real frames (padding is no frame the
/// tokenizer saw in play).
fn codes_on_real_frames<B: burn::tensor::backend::Backend>(
    tokens: burn::tensor::Tensor<B, 3, burn::tensor::Int>,
    mask: &[bool],
    vocab: usize,
) -> CodeUsage {
    let all: Vec<i64> = tokens
        .into_data()
        .convert::<i64>()
        .into_vec()
        .expect("int tensor");
    let per_frame = all.len() / mask.len();
    let seen: Vec<i64> = all
        .chunks_exact(per_frame)
        .zip(mask)
        .filter(|(_, &real)| real)
        .flat_map(|(frame, _)| frame.iter().copied())
        .collect();
    CodeUsage::of(&seen, vocab)
}

/// One row per shown rollout: its last real frames, then the `decoded` imagined ones.
fn write_picture(out: &Path, segments: &SegmentBatch, decoded: &[u8], rows: usize) -> Result<()> {
    let imagined = decoded.len() / FRAME_BYTES / rows.max(1);
    let real_shown = REAL_FRAMES_SHOWN.min(segments.len);
    let grid: Vec<Vec<u8>> = (0..rows)
        .map(|row| {
            let real_end = (row + 1) * segments.len * FRAME_BYTES;
            let real = &segments.frames[real_end - real_shown * FRAME_BYTES..real_end];
            let dreamt = &decoded[row * imagined * FRAME_BYTES..(row + 1) * imagined * FRAME_BYTES];
            [real, dreamt].concat()
        })
        .collect();
    crate::figures::images::write_frame_grid(out, &grid)
}

/// The rewards, continues and actions of each of the `rollouts` rows.
pub(crate) fn dream_rows<B: AutodiffBackend>(
    rollout: Rollout<B>,
    settings: RolloutSettings,
    rollouts: usize,
) -> Vec<DreamRow> {
    let host = |t: burn::tensor::Tensor<B, 2>| -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .into_vec()
            .expect("float tensor")
    };
    let rewards = host(rollout.rewards);
    let continues = host(rollout.continues);
    let actions: Vec<i64> = rollout
        .actions
        .into_data()
        .convert::<i64>()
        .into_vec()
        .expect("int tensor");
    let (observations, steps) = (settings.observations(), settings.transitions());
    (0..rollouts)
        .map(|row| DreamRow {
            rewards: rewards[row * steps..(row + 1) * steps].to_vec(),
            continues: continues[row * steps..(row + 1) * steps].to_vec(),
            actions: actions[row * observations..(row + 1) * observations].to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{CodeUsage, DreamRow, ImaginedReturns, RewardAfterAction, Versus};

    #[test]
    fn a_row_reads_as_reward_signs_and_actions() {
        let row = DreamRow {
            rewards: vec![-1.0, 0.0, 1.0],
            continues: vec![1.0, 1.0, 0.0],
            actions: vec![0, 2, 1, 1],
        };
        assert_eq!(row.to_string(), "rewards -.+|  actions 0 2 1 1");
    }

    #[test]
    fn reward_after_an_action_sums_the_rest_of_its_rollout() {
        let row = |rewards: Vec<f32>, actions: Vec<i64>| DreamRow {
            continues: vec![1.0; rewards.len()],
            rewards,
            actions,
        };
        let rows = [
            row(vec![0.0, -1.0, 1.0], vec![0, 1, 1, 2]),
            row(vec![1.0, 0.0, 0.0], vec![1, 0, 0, 1]),
        ];
        let after = RewardAfterAction::of(&rows, 3);
        // action 0: 0 (row 1, t 0), 0 and 0 (row 2, t 1 and 2)
        assert_eq!(
            after[0],
            RewardAfterAction {
                steps: 3,
                mean: 0.0
            }
        );
        // action 1: -1+1 = 0 and 1 (row 1, t 1 and 2), 1 (row 2, t 0); the last action of
        // a rollout has no transition after it
        assert_eq!(
            after[1],
            RewardAfterAction {
                steps: 3,
                mean: 2.0 / 3.0
            }
        );
        assert_eq!(
            after[2],
            RewardAfterAction {
                steps: 0,
                mean: 0.0
            }
        );
    }

    #[test]
    fn an_imagined_return_stops_at_the_first_end() {
        let row = |rewards: Vec<f32>, continues: Vec<f32>| DreamRow {
            actions: vec![0; rewards.len() + 1],
            rewards,
            continues,
        };
        let rows = [
            row(vec![1.0, 0.0, 1.0], vec![1.0; 3]),
            row(vec![-1.0, 1.0, 1.0], vec![1.0, 0.0, 1.0]),
            row(vec![0.0, 0.0, 0.0], vec![0.0, 1.0, 1.0]),
        ];
        let returns: Vec<f64> = rows.iter().map(DreamRow::imagined_return).collect();
        assert_eq!(returns, [2.0, 0.0, 0.0]);
        // Expected outcomes: each reward weighted by the chance of getting to it.
        let expected = row(vec![0.5, 0.25, -1.0], vec![0.5, 0.5, 0.5]);
        assert_eq!(expected.imagined_return(), 0.5 + 0.5 * 0.25 - 0.25);
        let summary = ImaginedReturns::of(&rows);
        assert_eq!((summary.rollouts, summary.mean), (3, 2.0 / 3.0));
        let (low, high) = summary.interval.expect("three rollouts");
        assert!(low >= 0.0 && high <= 2.0 && low <= high);
    }

    #[test]
    fn versus_pairs_the_returns_rollout_by_rollout() {
        let row = |reward: f32| DreamRow {
            rewards: vec![reward],
            continues: vec![1.0],
            actions: vec![0, 0],
        };
        let first = [row(1.0), row(3.0), row(5.0)];
        let second = [row(0.0), row(2.0), row(4.0)];
        let versus = Versus::of(&first, &second);
        assert_eq!(versus.returns, ImaginedReturns::of(&second));
        // The rollouts' spread (1 to 5) cancels: every difference is 1.
        assert_eq!(versus.difference.mean, 1.0);
        assert_eq!(versus.difference.interval, Some((1.0, 1.0)));
    }

    #[test]
    fn code_usage_counts_codes_and_their_entropy() {
        let usage = CodeUsage::of(&[0, 0, 3, 3], 8);
        assert_eq!((usage.vocab, usage.used), (8, 2));
        assert!((usage.entropy - std::f64::consts::LN_2).abs() < 1e-12);
        assert_eq!(CodeUsage::of(&[5; 10], 8).entropy, 0.0);
    }
}
