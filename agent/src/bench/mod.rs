//! `rem bench`: the imagination call of an actor-critic step (`imagine`) and one
//! optimisation step of each part with the projected epoch and run (`phases`).

mod imagine;
mod phases;

pub use imagine::{run_imagine_bench, ImagineBench, ImagineResult};
pub use phases::{run_phases_bench, PhaseTiming, PhasesBench, PhasesReport};

/// Model sizes to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchSize {
    /// The spec's sizes (tokenizer 3.2M, world model 4.8M, actor-critic of section 4).
    Spec,
    /// A small model for quick checks.
    Small,
}
