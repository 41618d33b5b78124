//! Imagination speed, POP against token-by-token in the same process, at spec and
//! small sizes on the CPU backend: the bench-target form of `rem bench imagine`.
//! `REM_BENCH_BATCH` (default 8) and `REM_BENCH_ITERATIONS` (default 2) adjust it.

use burn::backend::{Autodiff, Flex};
use rem_agent::bench::{run_imagine_bench, BenchSize, ImagineBench};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let batch = env_or("REM_BENCH_BATCH", 8);
    let iterations = env_or("REM_BENCH_ITERATIONS", 2);
    for size in [BenchSize::Spec, BenchSize::Small] {
        let bench = ImagineBench {
            size,
            batch,
            horizon: 10,
            segment: 21,
            iterations,
            n_actions: 18,
            seed: 0,
        };
        let results = run_imagine_bench::<Autodiff<Flex>>(&bench, &Default::default(), |r| {
            println!("{size:?} batch {batch}: {r}")
        })?;
        if let [pop, token_by_token] = &results[..] {
            println!(
                "{size:?} batch {batch}: POP / token-by-token {:.2}x",
                pop.frames_per_second / token_by_token.frames_per_second
            );
        }
    }
    Ok(())
}
