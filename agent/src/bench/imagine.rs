//! `rem bench imagine`: imagined frames per second of the whole actor-critic
//! imagination call (encode the real context, burn in the controller, imagine
//! `horizon` frames while it acts), for POP and token-by-token in the same run.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rem_envs::FRAME_BYTES;
use rem_worldmodel::optim::on_own_threads;
use rem_worldmodel::tokenizer::frames_to_tensor;

use super::{time_calls, BenchSize};
use crate::actor_critic::ActorCritic;
use crate::imagination::rollout::{
    FrozenModels, Generator, Rollout, RolloutSettings, RolloutShare, StartSegments,
};
use crate::models::ModelShapes;

#[derive(Debug, Clone)]
pub struct ImagineBench {
    pub size: BenchSize,
    pub batch: usize,
    pub horizon: usize,
    /// Real frames per segment: burn-in plus the first observation.
    pub segment: usize,
    pub iterations: usize,
    pub n_actions: usize,
    pub seed: u64,
    /// Threads the frames are encoded on and the rows imagined on, as a training step
    /// with `actor_critic.threads` does.
    pub threads: usize,
    /// The generators timed, in this order.
    pub generators: Vec<Generator>,
}

#[derive(Debug, Clone)]
pub struct ImagineResult {
    pub generator: Generator,
    pub seconds_per_call: f64,
    /// Frames the world model generated per second: `B x (horizon - 2)` a call (the
    /// first observation of a row is a real frame).
    pub generated_frames_per_second: f64,
    /// `B x horizon` per second, the unit of the reference's figures.
    pub frames_per_second: f64,
    /// The first, untimed call: allocation, kernel compilation and autotuning on a GPU.
    pub warm_up_seconds: f64,
}

/// `Pop      2.700 s/call     23.7 generated frames/s     29.6 B x horizon/s  (warm-up 3.1 s)`.
impl std::fmt::Display for ImagineResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<14} {:>8.3} s/call  {:>8.1} generated frames/s  {:>8.1} B x horizon/s  (warm-up {:.1} s)",
            format!("{:?}", self.generator),
            self.seconds_per_call,
            self.generated_frames_per_second,
            self.frames_per_second,
            self.warm_up_seconds
        )
    }
}

/// Runs the benchmark for both generators on the same models and inputs. One
/// function on purpose: the timed call is the closure in the middle, and everything
/// around it is its fixed setup, in the order the trainer's step does it.
pub fn run_imagine_bench<B: AutodiffBackend>(
    bench: &ImagineBench,
    device: &B::Device,
    mut report: impl FnMut(&ImagineResult),
) -> Result<Vec<ImagineResult>> {
    B::seed(device, bench.seed);
    let shapes = match bench.size {
        BenchSize::Spec => ModelShapes::spec(bench.n_actions),
        BenchSize::Small => ModelShapes::small(bench.n_actions),
    };
    let tokenizer = shapes.tokenizer.init::<B::InnerBackend>(device);
    let mut world_model_config = shapes.world_model;
    // Imagination runs the frozen model: no dropout.
    world_model_config.retnet.dropout = 0.0;
    let world_model = world_model_config.init::<B::InnerBackend>(device);
    let controller = shapes.actor_critic.init::<B>(device)?;
    let frozen = FrozenModels::<B> {
        tokenizer: &tokenizer,
        world_model: &world_model,
    };

    let mut rng = rand::rngs::StdRng::seed_from_u64(bench.seed);
    let (n, t) = (bench.batch, bench.segment);
    let frames: Vec<u8> = (0..n * t * FRAME_BYTES).map(|_| rng.random()).collect();
    let actions: Vec<i64> = (0..n * t)
        .map(|_| rng.random_range(0..bench.n_actions as i64))
        .collect();

    // Waits for the rollout's kernels, returns the frames generated per row.
    let finished = |rollout: Rollout<B>| {
        // Reading one value waits for every queued kernel on asynchronous backends.
        let _ = rollout.values.sum().into_scalar();
        rollout.frames.dims()[1]
    };
    // Returns the frames generated per row.
    let one_call = |generator: Generator, rng: &mut rand::rngs::StdRng| -> Result<usize> {
        // The whole call that actor-critic training makes, from real frames on.
        let pixels = frames_to_tensor::<B::InnerBackend>(&frames, device)?;
        let tokens = tokenizer.encode_tokens_on_threads(pixels, bench.threads);
        let k = tokens.dims()[1];
        let start = StartSegments::<B> {
            tokens: tokens.reshape([n, t, k]),
            actions: Tensor::<B::InnerBackend, 2, Int>::from_data(
                TensorData::new(actions.clone(), [n, t]),
                device,
            ),
            mask: Tensor::<B::InnerBackend, 2, Bool>::from_data(
                TensorData::new(vec![true; n * t], [n, t]),
                device,
            ),
        };
        let settings = RolloutSettings {
            horizon: bench.horizon,
            generator,
            world_temperature: 1.0,
            expected_outcomes: false,
            burn_in_feeds_actions: true,
        };
        let mut shares = RolloutShare::split(start, rng, bench.threads);
        if shares.len() == 1 {
            let share = shares.pop().expect("one share");
            return Ok(finished(share.roll_out(&frozen, &controller, settings)?));
        }
        // As the training step's shares, each with its own controller leaves.
        let jobs: Vec<_> = shares
            .into_iter()
            .map(|share| (ActorCritic::<B>::from_inner(controller.valid()), share))
            .collect();
        let generated = on_own_threads(jobs, |(controller, share)| {
            anyhow::Ok(finished(share.roll_out(&frozen, &controller, settings)?))
        });
        let generated: Vec<usize> = generated.into_iter().collect::<Result<_>>()?;
        Ok(generated[0])
    };

    let mut results = Vec::new();
    for &generator in &bench.generators {
        let times = time_calls(bench.iterations, || one_call(generator, &mut rng))?;
        let seconds_per_call = times.seconds_per_call;
        let result = ImagineResult {
            generator,
            seconds_per_call,
            generated_frames_per_second: (bench.batch * times.last) as f64 / seconds_per_call,
            frames_per_second: (bench.batch * bench.horizon) as f64 / seconds_per_call,
            warm_up_seconds: times.warm_up_seconds,
        };
        report(&result);
        results.push(result);
    }
    Ok(results)
}
