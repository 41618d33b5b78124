//! Which codes does a run's tokenizer give catch's cells? Plays catch with a uniformly
//! random policy, tokenizes every frame and counts, for each kind of cell (background,
//! background next to an object, ball, last ball, paddle), the codes it receives.
//!
//!   cargo run --release -p rem-agent --example catch_token_map -- --run runs/out/catch-seed0
//!
//! An object whose cells mostly receive a background code is invisible in its own
//! token: the world model must then find it in the codes of the cells around it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{ensure, Result};
use burn::backend::Flex;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rem_agent::run_folder::SavedRun;
use rem_envs::native::catch::{BALL, CELL, GRID, LAST_BALL, PADDLE};
use rem_envs::native::Catch;
use rem_envs::{Env, Frame};
use rem_worldmodel::tokenizer::frames_to_tensor;

#[derive(Parser)]
struct Args {
    /// A catch run; its latest checkpoint's tokenizer is examined.
    #[arg(long)]
    run: std::path::PathBuf,
    #[arg(long, default_value_t = 700)]
    steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

const KINDS: [&str; 5] = [
    "background",
    "next to an object",
    "ball",
    "last ball",
    "paddle",
];
const BLACK: [u8; 3] = [0, 0, 0];

/// The kind of cell (row, col): its centre pixel's colour, or whether a neighbour holds
/// an object.
fn kind(frame: &Frame, row: i32, col: i32) -> usize {
    let colour = |r: i32, c: i32| {
        let i = (((r * CELL + CELL / 2) * GRID * CELL + c * CELL + CELL / 2) * 3) as usize;
        let b = frame.as_bytes();
        [b[i], b[i + 1], b[i + 2]]
    };
    match colour(row, col) {
        c if c == BALL => 2,
        c if c == LAST_BALL => 3,
        c if c == PADDLE => 4,
        _ => {
            let near = (-1..=1).flat_map(|dr| (-1..=1).map(move |dc| (row + dr, col + dc)));
            let occupied = near
                .filter(|&(r, c)| (0..GRID).contains(&r) && (0..GRID).contains(&c))
                .any(|(r, c)| colour(r, c) != BLACK);
            usize::from(occupied)
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Default::default();
    let run = SavedRun::<Flex>::open(&args.run, None, &device)?;
    ensure!(
        run.config.env.game == "catch",
        "{} is a {} run",
        args.run.display(),
        run.config.env.game
    );

    let mut game = Catch::new();
    let (first, _) = game.reset(Some(args.seed))?;
    let mut frames = vec![first];
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    for _ in 0..args.steps {
        let step = game.step(rng.random_range(0..3))?;
        frames.push(step.obs);
        if step.terminated {
            frames.push(game.reset(None)?.0);
        }
    }
    let bytes: Vec<u8> = frames.iter().flat_map(|f| f.as_bytes().to_vec()).collect();
    let (codes, _) = run
        .models
        .tokenizer
        .encode(frames_to_tensor::<Flex>(&bytes, &device)?);
    let codes: Vec<i64> = codes.into_data().convert::<i64>().into_vec().expect("ints");

    // counts[kind][code]
    let mut counts = vec![BTreeMap::<i64, usize>::new(); KINDS.len()];
    let cells = (GRID * GRID) as usize;
    for (f, frame) in frames.iter().enumerate() {
        for row in 0..GRID {
            for col in 0..GRID {
                let code = codes[f * cells + (row * GRID + col) as usize];
                *counts[kind(frame, row, col)].entry(code).or_default() += 1;
            }
        }
    }
    // Background codes: those given to at least 1% of the far-background cells.
    let far: usize = counts[0].values().sum();
    let background: BTreeSet<i64> = counts[0]
        .iter()
        .filter(|(_, &n)| n * 100 >= far)
        .map(|(&code, _)| code)
        .collect();
    println!("{} frames; background codes {background:?}", frames.len());
    for (name, by_code) in KINDS.iter().zip(&counts) {
        let total: usize = by_code.values().sum();
        let on_background: usize = by_code
            .iter()
            .filter(|(code, _)| background.contains(code))
            .map(|(_, n)| n)
            .sum();
        let listed: Vec<String> = by_code.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        println!(
            "{name:>18}: {total:6} cells, {:5.1}% on a background code; codes {}",
            100.0 * on_background as f64 / total.max(1) as f64,
            listed.join(" ")
        );
    }
    Ok(())
}
