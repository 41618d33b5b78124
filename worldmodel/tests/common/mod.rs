//! What the world model's tests share: drawing inputs, reading a tensor back and
//! comparing it with a reference.
#![allow(dead_code)] // each test binary uses its own part

use burn::module::{ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{set_default_dtypes, FloatDType, IntDType, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use std::sync::{Mutex, MutexGuard, Once};

pub mod forms;

/// The backend of the equivalence tests (the forms of retention and of the RetNet, POP,
/// the imagined outcomes): burn's CPU backend, or, in a `--features cuda` build, its CUDA
/// backend, so that the same tests with the same tolerances check the GPU (docs/gpu.md).
/// A plain `cargo test` needs no GPU.
#[cfg(not(feature = "cuda"))]
pub type EquivalenceBackend = burn::backend::Flex;
#[cfg(feature = "cuda")]
pub type EquivalenceBackend = burn::backend::Cuda;

/// Normal draws from a generator of the test's own. burn's `Tensor::random` reads one
/// global generator that every test of a binary shares while they run in parallel, so
/// seeding it does not fix what a test draws; a tolerance at f32 rounding must hold
/// for the same inputs on every run.
pub struct Draws(StdRng);

impl Draws {
    pub fn new(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    /// A tensor of N(mean, std^2) draws.
    pub fn normal<B: Backend, const D: usize>(
        &mut self,
        shape: [usize; D],
        mean: f64,
        std: f64,
    ) -> Tensor<B, D> {
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| (mean + std * self.0.sample::<f64, _>(StandardNormal)) as f32)
            .collect();
        Tensor::from_data(TensorData::new(values, shape), &Default::default())
    }
}

/// burn's random generator is one per process, and the tests of a binary run in
/// parallel: a test that seeds it holds this lock for as long as it draws from it
/// (a model draws its parameters lazily, at their first use), so that its seeds fix
/// its draws.
pub fn own_generator() -> MutexGuard<'static, ()> {
    static GENERATOR: Mutex<()> = Mutex::new(());
    GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The values of a tensor as f32.
pub fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

/// Asserts `|ours - reference| <= tolerance * max(1, max |reference|)` elementwise.
pub fn assert_close(ours: &[f32], reference: &[f32], tolerance: f32, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths");
    let scale = reference.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (a, r)) in ours.iter().zip(reference).enumerate() {
        assert!(
            (a - r).abs() <= tolerance * scale,
            "{what}[{i}]: ours {a}, reference {r} (scale {scale})"
        );
    }
}

/// `f` run on a rayon pool of `threads` threads of its own: what a kernel gives on one
/// thread and on two.
pub fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// Makes f64 the default float type of `B`'s default device, once per test binary
/// and before any tensor exists: a binary that calls it computes in f64 throughout
/// unless a tensor is cast.
pub fn use_f64_by_default<B: Backend>() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        set_default_dtypes::<B>(&Default::default(), FloatDType::F64, IntDType::I64)
            .expect("f64 must be settable before any tensor exists");
    });
}

/// Every float parameter cast to one dtype, as a leaf of its own (a module's f64 twin
/// for the reference side of a comparison, or its f32 twin for a kernel's side).
pub struct CastTo(pub FloatDType);

impl<B: Backend> ModuleMapper<B> for CastTo {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        Param::from_mapped_value(id, tensor.cast(self.0).detach().require_grad(), mapper)
    }
}
