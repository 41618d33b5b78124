//! `rem compare`: two sets of runs game by game (probability of improvement).

use std::path::PathBuf;

use anyhow::Result;
use rem_agent::{out, outln};

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The first set: run folders (each with config.toml and eval.json or
    /// metrics.jsonl), `rem eval --run RUN --out DIR` folders, or sweep folders (their
    /// finished runs), e.g. the runs of one setting.
    #[arg(long = "a", value_name = "RUN_DIR", num_args = 1.., required = true)]
    a: Vec<PathBuf>,
    /// The second set, read the same way, e.g. the runs of the setting it is compared
    /// with. Games only one set has are left out and named.
    #[arg(long = "b", value_name = "RUN_DIR", num_args = 1.., required = true)]
    b: Vec<PathBuf>,
    /// Also write a bar chart of P(A > B) per game and over the games, with the 95%
    /// intervals (SVG), here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also draw the learning curves of each game both sets ran into this folder as
    /// GAME.svg: every run's evaluations during training (metrics.jsonl) against
    /// environment steps, A's runs in shades of blue and B's in shades of orange,
    /// drawn as `rem report --curves` draws them (kept models scored again in place
    /// of the run's own evaluations, with whiskers).
    #[arg(long, value_name = "FOLDER")]
    curves: Option<PathBuf>,
    /// With --curves: `rem eval --policy random` folders, whose mean return per game
    /// is drawn as a dashed line in its curves.
    #[arg(long, value_name = "RUN_DIR", num_args = 1.., requires = "curves")]
    random: Vec<PathBuf>,
}

pub fn run(args: CompareArgs) -> Result<()> {
    let CompareArgs {
        a,
        b,
        out,
        curves,
        random,
    } = args;
    let (a, unfinished_a) = rem_agent::sweep::expand_sweeps(&a)?;
    let (b, unfinished_b) = rem_agent::sweep::expand_sweeps(&b)?;
    let unfinished = unfinished_a.len() + unfinished_b.len();
    if unfinished > 0 {
        outln!("left out: {unfinished} runs not finished yet\n");
    }
    let (runs_a, runs_b) = rem_agent::report::read_sets(&a, &b)?;
    let random = match random.is_empty() {
        true => vec![],
        false => rem_agent::report::read_random_policy(&random)?,
    };
    let comparison = rem_agent::report::compare(&runs_a, &runs_b)?;
    out!("{comparison}");
    if let Some(path) = out {
        rem_agent::report::write_comparison_plot(&comparison, &path)?;
        outln!("wrote {}", path.display());
    }
    if let Some(folder) = curves {
        let written =
            rem_agent::report::write_comparison_curves(&runs_a, &runs_b, &random, &folder)?;
        for path in written {
            outln!("wrote {}", path.display());
        }
    }
    Ok(())
}
