//! Optimisation helpers shared by the model components.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};

/// PyTorch's AdamW defaults, which the reference trains with (algorithm.md, section 5).
pub const ADAM_BETAS: (f32, f32) = (0.9, 0.999);
pub const ADAM_EPSILON: f32 = 1e-8;

/// The AdamW of every trained part: PyTorch's betas and epsilon (burn's default epsilon
/// is 1e-5, which damps updates of parameters with gradients below ~1e-5), decoupled
/// weight decay `weight_decay` on every parameter (0 where the caller decays selected
/// weights itself, as the world model does with [`DecayLinearWeights`]).
pub fn adamw_config(weight_decay: f32) -> AdamWConfig {
    AdamWConfig::new()
        .with_beta_1(ADAM_BETAS.0)
        .with_beta_2(ADAM_BETAS.1)
        .with_epsilon(ADAM_EPSILON)
        .with_weight_decay(weight_decay)
}

/// [`adamw_config`] built for module `M`.
pub fn adamw<B: AutodiffBackend, M: AutodiffModule<B>>(
    weight_decay: f32,
) -> OptimizerAdaptor<AdamW, M, B> {
    adamw_config(weight_decay).init()
}

/// How many steps `optimizer` has applied to `param`: AdamW's own count (its `time`),
/// which the optimiser's record, and so a checkpoint, keeps; 0 before the first.
pub fn adamw_steps<B: AutodiffBackend, M: AutodiffModule<B>, const D: usize>(
    optimizer: &OptimizerAdaptor<AdamW, M, B>,
    param: &Param<Tensor<B, D>>,
) -> usize {
    optimizer
        .to_record()
        .remove(&param.id)
        .map_or(0, |record| record.into_state::<D>().momentum.time)
}

/// One optimisation step of `model` from `grads`, as every trained part takes it: the
/// global gradient norm clipped to `max_norm`, AdamW at `lr`. Returns the updated
/// model and the gradient norm before clipping.
pub fn apply_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    optimizer: &mut OptimizerAdaptor<AdamW, M, B>,
    model: M,
    grads: GradientsParams,
    lr: f64,
    max_norm: f32,
) -> (M, f32) {
    let (grads, grad_norm) = clip_grad_norm(&model, grads, max_norm);
    let model = optimizer.step(lr, model, grads);
    (model, grad_norm.into_scalar().elem::<f32>())
}

/// The sum of the shares' values of one loss term, read back as a float and added in
/// share order (a single share's value comes back unchanged); `None` without shares.
pub fn sum_over_shares<'a, B: Backend + 'a>(
    terms: impl IntoIterator<Item = &'a Tensor<B, 1>>,
) -> Option<f32> {
    let mut values = terms
        .into_iter()
        .map(|term| term.clone().into_scalar().elem::<f32>());
    let first = values.next()?;
    Some(values.fold(first, |sum, value| sum + value))
}

/// `rows` cut into `shares` runs of consecutive rows (fewer when there are fewer
/// rows, at least one), the first ones a row longer when the rows do not divide
/// evenly: how every part splits a batch over threads.
pub fn row_shares(rows: usize, shares: usize) -> Vec<std::ops::Range<usize>> {
    let shares = shares.clamp(1, rows.max(1));
    let mut first = 0;
    (0..shares)
        .map(|i| {
            let len = rows / shares + usize::from(i < rows % shares);
            first += len;
            first - len..first
        })
        .collect()
}

/// `run` of each job, each on a thread of its own, the results in the jobs' order
/// (whichever thread finishes first); a panic on one of the threads is raised again
/// on the calling thread once every thread has ended.
///
/// Job `i` runs inside rayon pool `i` of `job_pools`, a pool of one thread of its
/// own: the kernels that split their work over rayon's pool (matrix products,
/// convolutions) then stay on the job's thread, where jobs sharing the global pool
/// would queue behind each other and leave cores idle between their element-wise
/// passes. The pools live as long as the process, so their threads (and the memory
/// the allocator keeps for them) are reused from call to call.
pub fn on_own_threads<J, R, F>(jobs: Vec<J>, run: F) -> Vec<R>
where
    J: Send,
    R: Send,
    F: Fn(J) -> R + Sync,
{
    thread_local! {
        /// Set on a job pool's thread while it runs a job.
        static IN_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    // A job that calls this again gets plain threads: its own pool's one thread is
    // busy running it, so a nested job sent there would wait forever.
    let pools = match IN_JOB.with(|flag| flag.get()) {
        true => vec![None; jobs.len()],
        false => job_pools(jobs.len()).into_iter().map(Some).collect(),
    };
    std::thread::scope(|scope| {
        let run = &run;
        let running: Vec<_> = jobs
            .into_iter()
            .zip(pools)
            .map(|(job, pool)| {
                scope.spawn(move || match pool {
                    Some(pool) => pool.install(|| {
                        IN_JOB.with(|flag| flag.set(true));
                        let result = run(job);
                        IN_JOB.with(|flag| flag.set(false));
                        result
                    }),
                    None => run(job),
                })
            })
            .collect();
        running
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    })
}

/// The first `count` single-thread rayon pools of the process, made on first use.
fn job_pools(count: usize) -> Vec<std::sync::Arc<rayon::ThreadPool>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<Vec<Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    while pools.len() < count {
        let index = pools.len();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(move |_| format!("rem-job-{index}"))
            .build()
            .expect("a thread for a job's rayon pool");
        pools.push(Arc::new(pool));
    }
    pools[..count].to_vec()
}

/// The gradients of a loss that is a sum over shards of a batch, and what
/// `loss_of(model, shard)` returned beside each shard's loss term.
///
/// One shard runs on the calling thread against `model` itself, exactly as a plain
/// backward pass. Several run on threads of their own, each against a copy of
/// `model` whose parameters are fresh autodiff leaves (same parameter ids), so that
/// every shard builds and walks its own graph: parameters shared by the shards would
/// merge their graphs under one lock. The shards' gradients are then added in shard
/// order, so the result does not depend on which thread finishes first.
pub fn sharded_gradients<B, M, S, O, F>(
    model: &M,
    shards: Vec<S>,
    loss_of: F,
) -> (GradientsParams, Vec<O>)
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    S: Send,
    O: Send,
    F: Fn(&M, S) -> (Tensor<B, 1>, O) + Sync,
{
    let infallible = |model: &M, shard| Ok::<_, std::convert::Infallible>(loss_of(model, shard));
    match try_sharded_gradients(model, shards, infallible) {
        Ok(result) => result,
        Err(never) => match never {},
    }
}

/// [`sharded_gradients`] for a `loss_of` that can fail: the first shard's error (in
/// shard order) is returned, after every thread has ended.
pub fn try_sharded_gradients<B, M, S, O, E, F>(
    model: &M,
    shards: Vec<S>,
    loss_of: F,
) -> Result<(GradientsParams, Vec<O>), E>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    S: Send,
    O: Send,
    E: Send,
    F: Fn(&M, S) -> Result<(Tensor<B, 1>, O), E> + Sync,
{
    if shards.len() == 1 {
        let shard = shards.into_iter().next().expect("one shard");
        let (loss, out) = loss_of(model, shard)?;
        return Ok((
            GradientsParams::from_grads(loss.backward(), model),
            vec![out],
        ));
    }
    // One `valid()` per shard: a clone of an inner module would forget which
    // parameters require gradients.
    let jobs: Vec<_> = shards
        .into_iter()
        .map(|shard| (model.valid(), shard))
        .collect();
    let per_shard: Vec<Result<(GradientsParams, O), E>> = on_own_threads(jobs, |(inner, shard)| {
        let copy = M::from_inner(inner);
        let (loss, out) = loss_of(&copy, shard)?;
        Ok((GradientsParams::from_grads(loss.backward(), &copy), out))
    });
    let mut sum = GradientsAccumulator::<M>::new();
    let mut outs = Vec::with_capacity(per_shard.len());
    for result in per_shard {
        let (grads, out) = result?;
        sum.accumulate(model, grads);
        outs.push(out);
    }
    Ok((sum.grads(), outs))
}

/// Decoupled weight decay applied to the weights of `Linear` layers only: biases,
/// norms, embeddings and prediction tokens are left alone (algorithm.md, section 5, "weights
/// only"). Use it with an AdamW whose own weight decay is zero:
/// `model.map(&mut DecayLinearWeights::new(lr, weight_decay))` before each step, where
/// PyTorch's AdamW decays (the update it adds reads the gradients, not the weights).
pub struct DecayLinearWeights {
    factor: f64,
    /// For each module entered, whether it is a `Linear`.
    inside_linear: Vec<bool>,
}

impl DecayLinearWeights {
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        Self {
            factor: 1.0 - lr * weight_decay,
            inside_linear: Vec::new(),
        }
    }
}

impl<B: Backend> ModuleMapper<B> for DecayLinearWeights {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.inside_linear.push(container_type == "Struct:Linear");
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.inside_linear.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        // A Linear's weight is its only rank-2 parameter; its bias is rank 1.
        if D != 2 || self.inside_linear.last() != Some(&true) {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        let tracked = tensor.is_require_grad();
        let mut decayed = tensor.mul_scalar(self.factor).detach();
        if tracked {
            decayed = decayed.require_grad();
        }
        Param::from_mapped_value(id, decayed, mapper)
    }
}

/// Scales all gradients of `module` by min(1, max_norm / (norm + 1e-6)), where `norm` is
/// the L2 norm of all of them together (PyTorch's `clip_grad_norm_`). Returns the
/// clipped gradients and the norm before clipping (a one-element tensor).
pub fn clip_grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: GradientsParams,
    max_norm: f32,
) -> (GradientsParams, Tensor<B::InnerBackend, 1>) {
    let mut summer = SquaredNormSum::<B> {
        grads: &grads,
        sum: None,
    };
    module.visit(&mut summer);
    let Some(sum) = summer.sum else {
        let device = module
            .devices()
            .into_iter()
            .next()
            .expect("module has a device");
        return (grads, Tensor::zeros([1], &device));
    };
    let norm = sum.sqrt();
    let scale = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    let mut scaler = GradScaler::<B> { grads, scale };
    module.visit(&mut scaler);
    (scaler.grads, norm)
}

struct SquaredNormSum<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNormSum<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let squared = grad.powf_scalar(2.0).sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squared,
                None => squared,
            });
        }
    }
}

struct GradScaler<B: AutodiffBackend> {
    grads: GradientsParams,
    scale: Tensor<B::InnerBackend, 1>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradScaler<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let scale = self.scale.clone().reshape([1; D]);
            self.grads.register(param.id, grad * scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::on_own_threads;

    #[test]
    fn jobs_return_in_order_and_may_run_jobs_of_their_own() {
        let sums = on_own_threads((0..3).collect(), |i: usize| {
            let inner = on_own_threads(vec![i, 10 * i], |j: usize| j + 1);
            inner.iter().sum::<usize>()
        });
        assert_eq!(sums, vec![2, 13, 24]);
    }

    #[test]
    fn each_job_runs_in_a_rayon_pool_of_one_thread() {
        let threads = on_own_threads(vec![(); 2], |()| rayon::current_num_threads());
        assert_eq!(threads, vec![1, 1]);
    }

    #[test]
    #[should_panic(expected = "job 1 failed")]
    fn a_jobs_panic_reaches_the_caller() {
        on_own_threads(vec![0, 1], |i: usize| {
            assert!(i != 1, "job {i} failed");
        });
    }
}
