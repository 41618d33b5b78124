//! Trains a small VQ tokenizer on frames of the native games and reports held-out
//! reconstruction quality as it learns; writes a PNG with originals (top row) above
//! their reconstructions (bottom row).
//!
//!     cargo run -p rem-worldmodel --example tokenizer_learning -- \
//!         [--steps 300] [--batch 16] [--lr 1e-3] [--perceptual none|gradient]
//!         [--seed 0] [--eval-every 50] [--size tiny|spec] [--png PATH]

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_envs::native::{make_native_game, NATIVE_GAMES};
use rem_envs::{FRAME_BYTES, FRAME_CHANNELS, FRAME_SIDE};
use rem_worldmodel::tokenizer::{
    frames_to_tensor, tensor_to_frames, PerceptualLoss, Tokenizer, TokenizerConfig,
    TokenizerTrainer, TokenizerTrainerConfig,
};

type Train = Autodiff<Flex>;

struct Args {
    steps: usize,
    batch: usize,
    learning_rate: f64,
    perceptual: PerceptualLoss,
    seed: u64,
    eval_every: usize,
    spec_size: bool,
    png: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        steps: 300,
        batch: 16,
        learning_rate: 1e-3,
        perceptual: PerceptualLoss::default(),
        seed: 0,
        eval_every: 50,
        spec_size: false,
        png: "target/tokenizer_learning.png".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: '{v}' is not a number"))
        };
        match flag.as_str() {
            "--steps" => args.steps = number(value()?)? as usize,
            "--batch" => args.batch = number(value()?)? as usize,
            "--lr" => args.learning_rate = number(value()?)?,
            "--seed" => args.seed = number(value()?)? as u64,
            "--eval-every" => args.eval_every = (number(value()?)? as usize).max(1),
            "--png" => args.png = value()?,
            "--perceptual" => {
                args.perceptual = match value()?.as_str() {
                    "none" => PerceptualLoss::None,
                    "gradient" => PerceptualLoss::Gradient,
                    other => {
                        return Err(format!("--perceptual: unknown '{other}' (none|gradient)"))
                    }
                }
            }
            "--size" => {
                args.spec_size = match value()?.as_str() {
                    "tiny" => false,
                    "spec" => true,
                    other => return Err(format!("--size: unknown '{other}' (tiny|spec)")),
                }
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if args.batch == 0 {
        return Err("--batch must be positive".into());
    }
    Ok(args)
}

/// Plays every native game with a mix of its scripted policy and random actions (so
/// that frames cover both good and bad play) and returns `frames_per_game` frames of
/// each, as HWC bytes, sampled every `stride` steps.
fn collect_frames(
    first_seed: u64,
    frames_per_game: usize,
    stride: usize,
    rng: &mut StdRng,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in NATIVE_GAMES {
        let mut game = make_native_game(name).expect("listed native game exists");
        let actions = game.action_space().n();
        let mut seed = first_seed;
        let (mut frame, _) = game.reset(Some(seed)).expect("native reset");
        let mut kept = 0;
        let mut step = 0usize;
        while kept < frames_per_game {
            if step.is_multiple_of(stride) {
                bytes.extend_from_slice(frame.as_bytes());
                kept += 1;
            }
            let action = if rng.random_bool(0.7) {
                game.heuristic_action()
            } else {
                rng.random_range(0..actions)
            };
            let outcome = game.step(action).expect("native step");
            frame = outcome.obs.clone();
            if outcome.done() {
                seed += 1;
                frame = game.reset(Some(seed)).expect("native reset").0;
            }
            step += 1;
        }
    }
    bytes
}

/// Held-out quality, in [0, 1] pixel units.
#[derive(Debug, Clone, Copy)]
struct Quality {
    /// Mean squared error over all pixels and channels.
    mse: f64,
    /// Mean squared error over pixels next to an edge of the original (objects, borders).
    edge_mse: f64,
    /// Mean |finite difference of original - finite difference of reconstruction|.
    gradient_error: f64,
    /// Distinct codes used on the held-out frames.
    codes_used: usize,
}

fn evaluate<B: Backend>(tokenizer: &Tokenizer<B>, frames: &[u8]) -> (Quality, Vec<u8>) {
    let device = B::Device::default();
    let mut decoded = Vec::with_capacity(frames.len());
    let mut used = std::collections::BTreeSet::new();
    for chunk in frames.chunks(32 * FRAME_BYTES) {
        let (tokens, z_q) =
            tokenizer.encode(frames_to_tensor::<B>(chunk, &device).expect("whole frames"));
        decoded.extend(tensor_to_frames(tokenizer.decode(z_q)));
        let ids: Vec<i64> = tokens
            .into_data()
            .convert::<i64>()
            .into_vec()
            .expect("int data");
        used.extend(ids);
    }
    let pixels = |b: &[u8]| b.iter().map(|&v| v as f64 / 255.0).collect::<Vec<_>>();
    let (original, reconstruction) = (pixels(frames), pixels(&decoded));
    (quality(&original, &reconstruction, used.len()), decoded)
}

fn quality(original: &[f64], reconstruction: &[f64], codes_used: usize) -> Quality {
    let side = FRAME_SIDE;
    let at =
        |f: usize, y: usize, x: usize, c: usize| ((f * side + y) * side + x) * FRAME_CHANNELS + c;
    let frames = original.len() / FRAME_BYTES;
    let (mut squared, mut edge_squared, mut edge_count, mut gradient_error, mut gradient_count) =
        (0.0, 0.0, 0usize, 0.0, 0usize);
    for f in 0..frames {
        for y in 0..side {
            for x in 0..side {
                let differs = |ny: usize, nx: usize| {
                    (0..FRAME_CHANNELS)
                        .any(|c| original[at(f, y, x, c)] != original[at(f, ny, nx, c)])
                };
                let edge = (x + 1 < side && differs(y, x + 1))
                    || (y + 1 < side && differs(y + 1, x))
                    || (x > 0 && differs(y, x - 1))
                    || (y > 0 && differs(y - 1, x));
                for c in 0..FRAME_CHANNELS {
                    let i = at(f, y, x, c);
                    let error = (original[i] - reconstruction[i]).powi(2);
                    squared += error;
                    if edge {
                        edge_squared += error;
                        edge_count += 1;
                    }
                    for (ny, nx) in [(y, x + 1), (y + 1, x)] {
                        if ny < side && nx < side {
                            let j = at(f, ny, nx, c);
                            let d_original = original[j] - original[i];
                            let d_reconstruction = reconstruction[j] - reconstruction[i];
                            gradient_error += (d_original - d_reconstruction).abs();
                            gradient_count += 1;
                        }
                    }
                }
            }
        }
    }
    Quality {
        mse: squared / original.len() as f64,
        edge_mse: edge_squared / edge_count.max(1) as f64,
        gradient_error: gradient_error / gradient_count.max(1) as f64,
        codes_used,
    }
}

/// Writes originals (top row) over reconstructions (bottom row), each pixel as 2x2.
fn write_grid(path: &str, originals: &[u8], reconstructions: &[u8]) -> std::io::Result<()> {
    const SCALE: usize = 2;
    let count = originals.len() / FRAME_BYTES;
    let (width, height) = (count * FRAME_SIDE * SCALE, 2 * FRAME_SIDE * SCALE);
    let mut image = vec![0u8; width * height * 3];
    for (row, source) in [originals, reconstructions].into_iter().enumerate() {
        for f in 0..count {
            for y in 0..FRAME_SIDE * SCALE {
                for x in 0..FRAME_SIDE * SCALE {
                    let s = f * FRAME_BYTES + ((y / SCALE) * FRAME_SIDE + x / SCALE) * 3;
                    let d =
                        ((row * FRAME_SIDE * SCALE + y) * width + f * FRAME_SIDE * SCALE + x) * 3;
                    image[d..d + 3].copy_from_slice(&source[s..s + 3]);
                }
            }
        }
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut encoder = png::Encoder::new(std::fs::File::create(path)?, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&image)?;
    Ok(())
}

fn main() {
    let args = parse_args().unwrap_or_else(|message| {
        eprintln!("error: {message}");
        std::process::exit(2);
    });
    let device = Default::default();
    let mut rng = StdRng::seed_from_u64(args.seed);
    // Held-out episodes use seeds far from the training ones.
    let train_frames = collect_frames(1, 600, 2, &mut rng);
    let held_out = collect_frames(1_000_000, 64, 5, &mut rng);
    let frame_count = train_frames.len() / FRAME_BYTES;

    <Train as Backend>::seed(&device, args.seed);
    let base = if args.spec_size {
        TokenizerConfig::default()
    } else {
        TokenizerConfig::tiny()
    };
    let config = TokenizerConfig {
        perceptual: args.perceptual,
        ..base
    };
    let mut tokenizer: Tokenizer<Train> = config.init(&device);
    let mut trainer = TokenizerTrainer::<Train>::new(TokenizerTrainerConfig {
        learning_rate: args.learning_rate,
        ..Default::default()
    });
    println!(
        "games {:?}: {frame_count} training frames, {} held-out; {:?}, {} parameters; batch {}, lr {}",
        NATIVE_GAMES,
        held_out.len() / FRAME_BYTES,
        config,
        burn::module::Module::num_params(&tokenizer),
        args.batch,
        args.learning_rate
    );

    let report = |step: usize, tokenizer: &Tokenizer<Train>, train_loss: f64, started: Instant| {
        let (q, _) = evaluate(&tokenizer.valid(), &held_out);
        println!(
            "step {step:5}  train recon {train_loss:.5}  held-out mse {:.5}  edge mse {:.5}  grad err {:.5}  codes {:3}  {:.0}s",
            q.mse, q.edge_mse, q.gradient_error, q.codes_used, started.elapsed().as_secs_f64()
        );
        q
    };

    let started = Instant::now();
    let mut recent = Vec::new();
    report(0, &tokenizer, f64::NAN, started);
    let mut batch = Vec::with_capacity(args.batch * FRAME_BYTES);
    for step in 1..=args.steps {
        batch.clear();
        for _ in 0..args.batch {
            let i = rng.random_range(0..frame_count);
            batch.extend_from_slice(&train_frames[i * FRAME_BYTES..(i + 1) * FRAME_BYTES]);
        }
        let (next, stats) = trainer
            .step(tokenizer, &batch, step as u64)
            .expect("whole frames");
        tokenizer = next;
        // Training reconstruction is reported in [0, 1] units like the held-out numbers.
        recent.push(stats.reconstruction as f64 / 4.0);
        if step.is_multiple_of(args.eval_every) || step == args.steps {
            let mean = recent.iter().sum::<f64>() / recent.len() as f64;
            recent.clear();
            report(step, &tokenizer, mean, started);
        }
    }

    let (q, decoded) = evaluate(&tokenizer.valid(), &held_out);
    println!(
        "final: perceptual {:?}, {} steps, held-out mse {:.5}, edge mse {:.5}, grad err {:.5}, codes {}, {:.0}s",
        args.perceptual,
        args.steps,
        q.mse,
        q.edge_mse,
        q.gradient_error,
        q.codes_used,
        started.elapsed().as_secs_f64()
    );
    // Show frames from every game: held-out frames are grouped by game.
    let per_game = held_out.len() / FRAME_BYTES / NATIVE_GAMES.len();
    let picks: Vec<usize> = (0..NATIVE_GAMES.len())
        .flat_map(|g| [g * per_game + 7, g * per_game + 31, g * per_game + 55])
        .collect();
    let gather = |source: &[u8]| -> Vec<u8> {
        picks
            .iter()
            .flat_map(|&i| source[i * FRAME_BYTES..(i + 1) * FRAME_BYTES].to_vec())
            .collect()
    };
    match write_grid(&args.png, &gather(&held_out), &gather(&decoded)) {
        Ok(()) => println!("wrote {}", args.png),
        Err(err) => eprintln!("error: could not write {}: {err}", args.png),
    }
}
