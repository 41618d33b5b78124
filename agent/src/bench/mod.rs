//! `rem bench`: the imagination call of an actor-critic step (`imagine`) and one
//! optimisation step of each part with the projected epoch and run (`phases`).

use std::time::Instant;

use anyhow::Result;

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

/// What [`time_calls`] measured.
struct CallTimes<T> {
    /// The first, untimed call: allocation, kernel compilation and autotuning on a GPU.
    warm_up_seconds: f64,
    /// The mean of the timed calls after it.
    seconds_per_call: f64,
    /// What the last call returned.
    last: T,
}

/// Calls `call` once untimed, then `iterations` times timed.
fn time_calls<T>(iterations: usize, mut call: impl FnMut() -> Result<T>) -> Result<CallTimes<T>> {
    let started = Instant::now();
    let mut last = call()?;
    let warm_up_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..iterations {
        last = call()?;
    }
    Ok(CallTimes {
        warm_up_seconds,
        seconds_per_call: started.elapsed().as_secs_f64() / iterations as f64,
        last,
    })
}
