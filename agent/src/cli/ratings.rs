//! `rem ratings`: a run's kept controllers rated by its kept world models, beside
//! their scores in the game.

use std::path::PathBuf;

use anyhow::Result;
use burn::backend::Autodiff;
use rem_agent::config::Device;
use rem_agent::dream::ratings::{rate_kept_controllers, RatingRequest, Ratings};
use rem_agent::dream::ImaginedReturns;
use rem_agent::figures::ratings::ratings_figure;
use rem_agent::outln;
use rem_agent::run_folder::RunFolder;
use rem_agent::terminal::progress::progress_bar;

use super::at_least_one;

#[derive(clap::Args)]
pub struct RatingsArgs {
    /// A run that kept its models (`checkpoint.keep_models_every_epochs`); the
    /// rollouts start from its latest checkpoint's episodes.
    #[arg(long, value_name = "RUN_DIR")]
    run: PathBuf,
    /// Epochs of the world models to rate every controller in (default: the kept
    /// epochs from the reference on that the run evaluated, and the last).
    #[arg(long, value_delimiter = ',', value_name = "EPOCHS")]
    worlds: Vec<usize>,
    /// Epochs of the controllers to rate (default: every kept epoch from the
    /// reference on). Each is also rated in its own epoch's world model.
    #[arg(long, value_delimiter = ',', value_name = "EPOCHS")]
    controllers: Vec<usize>,
    /// Epoch of the controller every other is set against (default: the last kept
    /// before the controller's first step, the initial controller).
    #[arg(long, value_name = "EPOCH")]
    reference: Option<usize>,
    /// Rollouts per controller and world model, from the same real starts.
    #[arg(long, default_value_t = 512, value_parser = at_least_one)]
    rollouts: usize,
    /// Seed of the starts and of every controller's draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The figure to write (default: RUN_DIR/ratings.svg).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

pub fn run(args: RatingsArgs) -> Result<()> {
    let request = RatingRequest {
        worlds: args.worlds,
        controllers: args.controllers,
        reference: args.reference,
        rollouts: args.rollouts,
        seed: args.seed,
    };
    let bar = progress_bar(0);
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let ratings = with_backend!(args.device, B => rate_kept_controllers::<Autodiff<B>>(
        &args.run, &request, &Default::default(), progress))?;
    bar.finish_and_clear();
    outln!("{}", header(&ratings, &args.run));
    outln!("{}", table(&ratings));
    let out = args
        .out
        .unwrap_or_else(|| RunFolder::new(&args.run).ratings_file());
    // The folder's name alone: a whole path does not fit above the panels.
    let name = args.run.file_name().unwrap_or(args.run.as_os_str());
    let title = format!("{}: kept controllers", name.to_string_lossy());
    ratings_figure(&ratings, &title).write(&out)?;
    outln!("wrote {}", out.display());
    Ok(())
}

fn header(ratings: &Ratings, run: &std::path::Path) -> String {
    let s = &ratings.settings;
    let outcomes = match s.expected_outcomes {
        true => "expected rewards, each weighted by the chance of getting to it",
        false => "drawn rewards to the first end",
    };
    let rollouts = ratings.reference_returns.first().map_or(0, |r| r.rollouts);
    format!(
        "{}: each kept controller's imagined return minus that of epoch {}'s controller, \
         paired over {rollouts} rollouts from the same real starts with the same draws \
         (horizon {}, world temperature {}, {outcomes}), with 95% intervals; the game's \
         score is the evaluation of its epoch with the most episodes",
        run.display(),
        ratings.reference,
        s.horizon,
        s.world_temperature,
    )
}

/// One line per controller: its score, then its rating in each world model and in its own.
fn table(ratings: &Ratings) -> String {
    let mut head = vec![
        format!("{:<10}", "controller"),
        format!("{:<30}", "in the game"),
    ];
    head.extend(
        ratings
            .worlds
            .iter()
            .map(|w| format!("{:<30}", format!("world model {w}"))),
    );
    head.push("its own epoch's world model".into());
    let mut lines = vec![head.join("  ").trim_end().to_string()];
    for c in &ratings.controllers {
        let game = match &c.game {
            Some(g) => match g.ci95 {
                Some((low, high)) => {
                    format!("{:.1} [{low:.1}, {high:.1}] ({})", g.mean, g.episodes)
                }
                None => format!("{:.1} ({})", g.mean, g.episodes),
            },
            None => "-".into(),
        };
        let mut cells = vec![format!("epoch {:<4}", c.epoch), format!("{game:<30}")];
        cells.extend(c.in_worlds.iter().map(|r| format!("{:<30}", rating(r))));
        cells.push(rating(&c.own_world));
        lines.push(cells.join("  "));
    }
    let mut reference = vec![
        format!("{:<10}", "reference"),
        format!(
            "{:<30}",
            format!("epoch {}, imagined return", ratings.reference)
        ),
    ];
    reference.extend(
        ratings
            .reference_returns
            .iter()
            .map(|r| format!("{:<30}", format!("{:+.5}", r.mean))),
    );
    lines.push(reference.join("  ").trim_end().to_string());
    let names = ratings
        .worlds
        .iter()
        .map(|w| format!("world model {w}"))
        .chain(["its own".to_string()]);
    let agreement: Vec<String> = names
        .zip(ratings.rank_agreement())
        .map(|(name, (rho, n))| match rho {
            Some(rho) => format!("{name} {rho:+.2}"),
            None => format!("{name} - ({n} scored)"),
        })
        .collect();
    let scored = ratings
        .controllers
        .iter()
        .filter(|c| c.game.is_some())
        .count();
    lines.push(format!(
        "rank agreement with the game (Spearman's rho over the {scored} controllers with a score): {}",
        agreement.join(", ")
    ));
    lines.join("\n")
}

/// `+0.01234 [+0.01000, +0.01500]`.
fn rating(r: &ImaginedReturns) -> String {
    match r.interval {
        Some((low, high)) => format!("{:+.5} [{low:+.5}, {high:+.5}]", r.mean),
        None => format!("{:+.5}", r.mean),
    }
}
