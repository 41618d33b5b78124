//! What a world model foresees of real episodes, two ways: *teacher-forced* (every
//! block's real tokens, as in training) and *imagined* (after the context, every
//! frame imagined with POP and stepped with the action really taken, as the
//! actor-critic's rollouts step with the policy's). The gap between the two is what
//! open-loop imagination loses. Scored by [`RewardScores`] and [`FrameScores`].

pub mod frame_scores;
pub mod reward_scores;

use anyhow::Result;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rem_envs::frame::FRAME_BYTES;
use rem_envs::store::SegmentBatch;
use rem_worldmodel::imagination::{sample_logits, PopImagination};
use rem_worldmodel::world_model::{TokenBatch, WorldModel, REWARD_CLASSES};

use crate::foresight::frame_scores::{FrameScores, MotionScores};
use crate::foresight::reward_scores::RewardScores;

/// A world model's forecast of the scored blocks `context..T` of a batch.
#[derive(Debug, Clone)]
pub struct Foresight<B: Backend> {
    /// `[B, T - context, 3]` probabilities of the reward signs -1, 0 and +1.
    pub rewards: Tensor<B, 3>,
    /// `[B, T - context, K]` the frames' tokens.
    pub frames: Tensor<B, 3, Int>,
}

/// Every block's real tokens in: the reward heads' probabilities and each frame drawn
/// at `temperature` (0: the most likely tokens) from the state after the real block
/// before it.
pub fn teacher_forced<B: Backend>(
    model: &WorldModel<B>,
    codebook: &Tensor<B, 2>,
    batch: &TokenBatch<B>,
    context: usize,
    temperature: f32,
) -> Foresight<B> {
    let out = model.forward_train(
        codebook,
        batch.tokens.clone(),
        batch.actions.clone(),
        context,
    );
    let [rows, steps, k, vocab] = out.obs_logits.dims();
    let flat = out.obs_logits.reshape([rows * steps * k, vocab]);
    Foresight {
        rewards: softmax(out.reward_logits, 2),
        frames: sample_logits(flat, temperature).reshape([rows, steps, k]),
    }
}

/// Only the first `context` blocks real: every later frame is imagined at
/// `temperature` and stepped with the action really taken on the real frame.
pub fn imagined<B: Backend>(
    model: &WorldModel<B>,
    codebook: &Tensor<B, 2>,
    batch: &TokenBatch<B>,
    context: usize,
    temperature: f32,
) -> Foresight<B> {
    let [_, blocks, _] = batch.tokens.dims();
    let (mut world, _) = PopImagination::start(
        model,
        codebook.clone(),
        batch.tokens.clone().narrow(1, 0, context),
        batch.actions.clone().narrow(1, 0, context),
        temperature,
    );
    let (rewards, frames): (Vec<_>, Vec<_>) = (context..blocks)
        .map(|t| {
            let frame = world.predict_frame();
            let action = batch.actions.clone().narrow(1, t, 1).squeeze_dim(1);
            let outcome = world.step(frame.clone(), action);
            let rewards = softmax(outcome.reward_logits, 1).unsqueeze_dim(1);
            (rewards, frame.unsqueeze_dim(1))
        })
        .unzip();
    Foresight {
        rewards: Tensor::cat(rewards, 1),
        frames: Tensor::cat(frames, 1),
    }
}

/// Values of `[B, S, ..]` data flattened row by row, `width` values per step.
#[derive(Debug, Clone, Default)]
struct Steps<T> {
    values: Vec<T>,
    steps: usize,
    width: usize,
}

impl<T: Copy> Steps<T> {
    fn new(values: Vec<T>, steps: usize, width: usize) -> Self {
        Self {
            values,
            steps,
            width,
        }
    }

    /// Step `step` of every row.
    fn column(&self, step: usize) -> Vec<T> {
        row_spans(&self.values, self.steps, self.width, step, 1)
    }
}

/// Steps `from..from + len` of every row of `[B, steps, width]` values flattened
/// row by row.
pub fn row_spans<T: Copy>(
    values: &[T],
    steps: usize,
    width: usize,
    from: usize,
    len: usize,
) -> Vec<T> {
    values
        .chunks(steps * width)
        .flat_map(|row| row[from * width..(from + len) * width].iter().copied())
        .collect()
}

fn int_steps<B: Backend>(tokens: Tensor<B, 3, Int>) -> Result<Steps<i64>> {
    let [_, steps, width] = tokens.dims();
    let values = tokens.into_data().convert::<i64>().to_vec()?;
    Ok(Steps::new(values, steps, width))
}

/// What really happened in the scored blocks of a batch, on the host.
pub struct RealSteps {
    rewards: Steps<f32>,
    frames: Steps<i64>,
    /// The real frame one step before each scored one.
    before: Steps<i64>,
    /// The last context frame, once per scored step: what imagination last saw.
    last_seen: Steps<i64>,
    /// False for padding.
    real: Steps<bool>,
}

impl RealSteps {
    /// The blocks `context..T` of `batch`, `context >= 1`.
    pub fn of<B: Backend>(batch: &TokenBatch<B>, context: usize) -> Result<Self> {
        let [_, blocks, _] = batch.tokens.dims();
        let scored = blocks - context;
        let tokens = |start, len| batch.tokens.clone().narrow(1, start, len);
        Ok(Self {
            rewards: Steps::new(
                batch
                    .rewards
                    .clone()
                    .narrow(1, context, scored)
                    .into_data()
                    .to_vec()?,
                scored,
                1,
            ),
            frames: int_steps(tokens(context, scored))?,
            before: int_steps(tokens(context - 1, scored))?,
            last_seen: int_steps(tokens(context - 1, 1).repeat_dim(1, scored))?,
            real: Steps::new(
                batch
                    .mask
                    .clone()
                    .narrow(1, context, scored)
                    .into_data()
                    .to_vec()?,
                scored,
                1,
            ),
        })
    }

    /// How the pixels and the tokens of the scored blocks changed from the real
    /// block before; `segments` are the ones that the batch was made of.
    pub fn motion(&self, segments: &SegmentBatch, context: usize) -> MotionScores {
        let (len, scored) = (segments.len, self.frames.steps);
        let rows = |from| row_spans(&segments.frames, len, FRAME_BYTES, from, scored);
        let mut motion = MotionScores::default();
        motion.add(
            &rows(context),
            &rows(context - 1),
            &self.frames.values,
            &self.before.values,
            &self.real.values,
        );
        motion
    }
}

/// A forecast brought to the host, to be scored against [`RealSteps`].
pub struct HostForesight {
    rewards: Steps<f32>,
    frames: Steps<i64>,
}

impl<B: Backend> Foresight<B> {
    pub fn to_host(self) -> Result<HostForesight> {
        let [_, steps, _] = self.rewards.dims();
        Ok(HostForesight {
            rewards: Steps::new(self.rewards.into_data().to_vec()?, steps, REWARD_CLASSES),
            frames: int_steps(self.frames)?,
        })
    }
}

/// The frame that the forecast "nothing moves" repeats.
#[derive(Debug, Clone, Copy)]
pub enum Repeated {
    /// The real frame one step before: teacher-forcing's last real frame.
    Before,
    /// The last context frame: imagination's last real frame.
    LastSeen,
}

/// A forecast's reward and frame scores.
#[derive(Debug, Default, Clone)]
pub struct ForesightScores {
    pub rewards: RewardScores,
    pub frames: FrameScores,
}

impl ForesightScores {
    /// Adds every scored step of a batch, or only its `step`-th (0: the first scored).
    pub fn add(
        &mut self,
        forecast: &HostForesight,
        truth: &RealSteps,
        repeated: Repeated,
        step: Option<usize>,
    ) {
        fn pick<T: Copy>(steps: &Steps<T>, step: Option<usize>) -> Vec<T> {
            match step {
                Some(s) => steps.column(s),
                None => steps.values.clone(),
            }
        }
        let real = pick(&truth.real, step);
        let rewards = pick(&truth.rewards, step);
        self.rewards
            .add(&pick(&forecast.rewards, step), &rewards, &real);
        let repeated = match repeated {
            Repeated::Before => &truth.before,
            Repeated::LastSeen => &truth.last_seen,
        };
        self.frames.add(
            &pick(&forecast.frames, step),
            &pick(&truth.frames, step),
            &pick(&truth.before, step),
            &pick(repeated, step),
            &real,
        );
    }

    /// The reward table, then the frame lines.
    pub fn table(&self, repeated: Repeated) -> String {
        let name = match repeated {
            Repeated::Before => "the real frame before, repeated",
            Repeated::LastSeen => "the last real frame, repeated",
        };
        format!("{}\n{}", self.rewards.table(), self.frames.table(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{Bool, TensorData};
    use rem_worldmodel::world_model::RewardAdjustment;

    #[test]
    fn a_column_is_one_step_of_every_row() {
        let steps = Steps::new((0..12).collect::<Vec<i64>>(), 3, 2);
        assert_eq!(steps.column(0), [0, 1, 6, 7]);
        assert_eq!(steps.column(2), [4, 5, 10, 11]);
    }

    /// Two rows of 4 blocks of 2 tokens, context 2; row 1's last block is padding.
    fn batch() -> TokenBatch<Flex> {
        let device = Default::default();
        #[rustfmt::skip]
        let tokens = [
            1, 1,  2, 2,  2, 3,  4, 3,
            5, 5,  6, 6,  6, 6,  0, 0,
        ];
        let mask = [true, true, true, true, true, true, true, false];
        TokenBatch {
            tokens: Tensor::from_data(TensorData::new(tokens.to_vec(), [2, 4, 2]), &device),
            actions: Tensor::zeros([2, 4], &device),
            rewards: Tensor::from_data(
                TensorData::new(vec![0.0f32, 0.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0], [2, 4]),
                &device,
            ),
            ends: Tensor::zeros([2, 4], &device),
            mask: Tensor::<Flex, 1, Bool>::from_data(TensorData::new(mask.to_vec(), [8]), &device)
                .reshape([2, 4]),
            reward_adjustment: RewardAdjustment::None,
        }
    }

    #[test]
    fn forecasts_are_set_against_the_scored_blocks_and_the_frames_before_them() {
        let truth = RealSteps::of(&batch(), 2).unwrap();
        assert_eq!(truth.frames.values, [2, 3, 4, 3, 6, 6, 0, 0]);
        assert_eq!(truth.before.values, [2, 2, 2, 3, 6, 6, 6, 6]);
        assert_eq!(truth.last_seen.values, [2, 2, 2, 2, 6, 6, 6, 6]);
        assert_eq!(truth.rewards.values, [1.0, -1.0, 0.0, 0.0]);
        assert_eq!(truth.real.values, [true, true, true, false]);

        // A forecast that repeats the last real frame it saw.
        let forecast = HostForesight {
            rewards: Steps::new([0.0, 0.0, 1.0].repeat(4), 2, REWARD_CLASSES),
            frames: truth.last_seen.clone(),
        };
        let mut all = ForesightScores::default();
        all.add(&forecast, &truth, Repeated::Before, None);
        // 3 real steps: 6 tokens, of which block 2 of row 0 changed one (2 -> 3),
        // block 3 one (2 -> 4).
        let frames = all.frames;
        assert_eq!((frames.tokens, frames.changed), (6, 2));
        assert_eq!((frames.agree, frames.agree_on_changed), (3, 0));
        assert_eq!(frames.repeated_agree(), 4);
        assert_eq!(all.rewards.by_sign.map(|t| t.steps), [1, 1, 1]);

        let mut last = ForesightScores::default();
        last.add(&forecast, &truth, Repeated::LastSeen, Some(1));
        assert_eq!(last.frames.tokens, 2);
        assert_eq!(last.frames.repeated_agree(), last.frames.agree);
        assert_eq!(last.rewards.by_sign.map(|t| t.steps), [1, 0, 0]);
    }
}
