//! `rem ratings`: a run's kept controllers rated by its kept world models, beside
//! their scores in the game.

use std::path::PathBuf;

use anyhow::Result;
use burn::backend::Autodiff;
use rem_agent::config::Device;
use rem_agent::dream::ratings::{rate_kept_controllers, ControllerRatings, RatingRequest, Ratings};
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
    /// The figure to write (default: RUN_DIR/ratings.svg). The numbers go to
    /// RUN_DIR/ratings.json.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print and draw RUN_DIR/ratings.json again without imagining: the ratings as
    /// they were made, the game scores read anew (e.g. after more `rem eval --kept`).
    #[arg(long, conflicts_with_all = ["worlds", "controllers", "reference", "rollouts", "seed"])]
    redraw: bool,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

pub fn run(args: RatingsArgs) -> Result<()> {
    let folder = RunFolder::new(&args.run);
    let ratings = match args.redraw {
        true => {
            let mut ratings = Ratings::read(&folder.ratings_data_file())?;
            ratings.rescore(&args.run)?;
            ratings
        }
        false => rate(&args)?,
    };
    ratings.write(&folder.ratings_data_file())?;
    outln!("{}", header(&ratings, &args.run));
    outln!("{}", table(&ratings));
    let out = args.out.unwrap_or_else(|| folder.ratings_file());
    // The folder's name alone: a whole path does not fit above the panels.
    let name = args.run.file_name().unwrap_or(args.run.as_os_str());
    let title = format!("{}: kept controllers", name.to_string_lossy());
    ratings_figure(&ratings, &title).write(&out)?;
    outln!(
        "wrote {} and {}",
        out.display(),
        folder.ratings_data_file().display()
    );
    Ok(())
}

/// The ratings `args` ask for, imagined.
fn rate(args: &RatingsArgs) -> Result<Ratings> {
    let request = RatingRequest {
        worlds: args.worlds.clone(),
        controllers: args.controllers.clone(),
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
    Ok(ratings)
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

/// The ratings' columns: controller, its score in the game, then its rating in each
/// world model and in its own epoch's; a last row of the reference's own imagined
/// returns, and the rank agreement per world model.
fn table(ratings: &Ratings) -> String {
    let worlds = ratings.worlds.iter().map(|w| format!("world model {w}"));
    let mut head = vec![cell("controller", 10), cell("in the game", 30)];
    head.extend(worlds.map(|w| cell(&w, 30)));
    head.push("its own epoch's world model".into());
    let mut lines = vec![head.join("  ").trim_end().to_string()];
    for c in &ratings.controllers {
        let mut cells = vec![format!("epoch {:<4}", c.epoch), cell(&game_score(c), 30)];
        cells.extend(c.in_worlds.iter().map(|r| cell(&rating(r), 30)));
        cells.push(rating(&c.own_world));
        lines.push(cells.join("  "));
    }
    let reference = format!("epoch {}, imagined return", ratings.reference);
    let mut last = vec![cell("reference", 10), cell(&reference, 30)];
    let returns = ratings.reference_returns.iter();
    last.extend(returns.map(|r| cell(&format!("{:+.5}", r.mean), 30)));
    lines.push(last.join("  ").trim_end().to_string());
    lines.push(agreement_line(ratings));
    lines.join("\n")
}

/// `text` left-aligned in `width` characters.
fn cell(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// `1035.6 [798.1, 1290.3] (32)`: mean, 95% interval and episodes; `-` for none.
fn game_score(c: &ControllerRatings) -> String {
    match &c.game {
        Some(g) => match g.ci95 {
            Some((low, high)) => format!("{:.1} [{low:.1}, {high:.1}] ({})", g.mean, g.episodes),
            None => format!("{:.1} ({})", g.mean, g.episodes),
        },
        None => "-".into(),
    }
}

/// Spearman's rho of ratings and scores per world model, then in the own ones.
fn agreement_line(ratings: &Ratings) -> String {
    let names = ratings.worlds.iter().map(|w| format!("world model {w}"));
    let names = names.chain(["its own".to_string()]);
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
    format!(
        "rank agreement with the game (Spearman's rho over the {scored} controllers with a \
         score): {}",
        agreement.join(", ")
    )
}

/// `+0.01234 [+0.01000, +0.01500]`.
fn rating(r: &ImaginedReturns) -> String {
    match r.interval {
        Some((low, high)) => format!("{:+.5} [{low:+.5}, {high:+.5}]", r.mean),
        None => format!("{:+.5}", r.mean),
    }
}
