//! Imagination speed, POP against token-by-token, at spec and small sizes on the CPU
//! backend: the bench-target form of `rem bench imagine`, beside the PyTorch mirror
//! (`scripts/torch_imagine.py`: the same call, sizes and batch) on the same machine.
//! Runs alternate between the two sides and the fastest call of each is compared,
//! which keeps bursts of load from other processes out of the ratio.
//!
//!     cargo bench -p rem-benches --bench imagine
//!
//! Environment knobs: REM_BENCH_BATCH (default 8), REM_BENCH_ITERATIONS (timed calls
//! per run, default 2), REM_BENCH_REPEATS (runs per side, default 2), REM_BENCH_SIZES
//! (`spec,small`), REM_PYTHON (default python3; the PyTorch side needs `torch`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::backend::{Autodiff, Flex};
use rem_agent::bench::{run_imagine_bench, BenchSize, ImagineBench};
use rem_agent::imagination::rollout::Generator;
use rem_benches::{env_usize, python, python_imports, run_python_script};

/// Seconds per call of each generator (`Pop`, `TokenByToken`), fastest run kept.
type Fastest = BTreeMap<String, f64>;

fn keep_fastest(fastest: &mut Fastest, generator: String, seconds: f64) {
    let entry = fastest.entry(generator).or_insert(f64::INFINITY);
    *entry = entry.min(seconds);
}

fn size_name(size: BenchSize) -> &'static str {
    match size {
        BenchSize::Spec => "spec",
        BenchSize::Small => "small",
    }
}

fn measure_ours(bench: &ImagineBench, fastest: &mut Fastest) -> Result<()> {
    let results = run_imagine_bench::<Autodiff<Flex>>(bench, &Default::default(), |r| {
        println!("  ours     {r}")
    })?;
    for r in results {
        keep_fastest(fastest, format!("{:?}", r.generator), r.seconds_per_call);
    }
    Ok(())
}

/// Runs the mirror and reads its `<generator> <seconds> s/call ...` lines.
fn measure_torch(bench: &ImagineBench, fastest: &mut Fastest) -> Result<()> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/torch_imagine.py");
    let args = [
        "--size".to_string(),
        size_name(bench.size).into(),
        "--device".into(),
        "cpu".into(),
        "--batch".into(),
        bench.batch.to_string(),
        "--horizon".into(),
        bench.horizon.to_string(),
        "--iterations".into(),
        bench.iterations.to_string(),
        "--actions".into(),
        bench.n_actions.to_string(),
    ];
    let stdout = run_python_script(&script, &args)?;
    for line in stdout.lines().filter(|l| l.contains(" s/call")) {
        println!("  PyTorch  {line}");
        let mut fields = line.split_whitespace();
        let (Some(generator), Some(seconds)) = (fields.next(), fields.next()) else {
            continue;
        };
        let seconds = seconds
            .parse()
            .with_context(|| format!("no seconds in: {line}"))?;
        keep_fastest(fastest, generator.to_string(), seconds);
    }
    Ok(())
}

fn sizes() -> Result<Vec<BenchSize>> {
    let names = std::env::var("REM_BENCH_SIZES").unwrap_or_else(|_| "spec,small".into());
    names
        .split(',')
        .map(|name| match name.trim() {
            "spec" => Ok(BenchSize::Spec),
            "small" => Ok(BenchSize::Small),
            other => bail!("REM_BENCH_SIZES: unknown size {other:?} (spec, small)"),
        })
        .collect()
}

fn main() -> Result<()> {
    let batch = env_usize("REM_BENCH_BATCH", 8);
    let iterations = env_usize("REM_BENCH_ITERATIONS", 2).max(1);
    let repeats = env_usize("REM_BENCH_REPEATS", 2).max(1);
    let with_torch = python_imports("torch");
    if !with_torch {
        println!(
            "PyTorch side: SKIPPED, torch not installed for {} (python3 -m pip install torch)",
            python().display()
        );
    }
    for size in sizes()? {
        let bench = ImagineBench {
            size,
            batch,
            horizon: 10,
            segment: 21,
            iterations,
            n_actions: 18,
            seed: 0,
            threads: env_usize("REM_BENCH_THREADS", 2),
            generators: Generator::ALL.to_vec(),
        };
        println!("{size:?} sizes, batch {batch}, horizon 10: {repeats} runs per side of {iterations} timed calls");
        let (mut ours, mut torch) = (Fastest::new(), Fastest::new());
        for _ in 0..repeats {
            measure_ours(&bench, &mut ours)?;
            if with_torch {
                measure_torch(&bench, &mut torch)?;
            }
        }
        let ratio = |a: &Fastest, b: &Fastest, ka: &str, kb: &str| Some(b.get(kb)? / a.get(ka)?);
        if let Some(pop_vs_tbt) = ratio(&ours, &ours, "Pop", "TokenByToken") {
            println!("{size:?}: ours, POP / token-by-token {pop_vs_tbt:.2}x");
        }
        for generator in ["Pop", "TokenByToken"] {
            if let Some(speed) = ratio(&ours, &torch, generator, generator) {
                println!(
                    "{size:?}: {generator:<12} fastest call ours {:.3} s, PyTorch {:.3} s: ours / PyTorch speed {speed:.2}x",
                    ours[generator], torch[generator]
                );
            }
        }
    }
    Ok(())
}
