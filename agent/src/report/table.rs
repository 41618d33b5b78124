//! The report as text: a line per run, a line per game, and the aggregates.

use std::fmt;

use super::statistics::{bootstrap_ci, mean};
use super::{Aggregates, Policy, Report, ScoreSource};
use crate::provenance::Code;

impl fmt::Display for ScoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScoreSource::EvalFile { episodes: Some(n) } => write!(f, "eval.json ({n} episodes)"),
            ScoreSource::EvalFile { episodes: None } => write!(f, "eval.json"),
            ScoreSource::TrainingEval { epoch: Some(epoch) } => {
                write!(f, "metrics.jsonl (epoch {epoch})")
            }
            ScoreSource::TrainingEval { epoch: None } => write!(f, "metrics.jsonl"),
        }
    }
}

/// `value` with `decimals`, or "-".
fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.decimals$}"))
}

/// The short commits of `codes` joined by "/" (a run resumed with other code), with
/// "-" for code the folder did not record (all of it, or what ran before a resume).
pub(super) fn code_cell(codes: &[Option<Code>]) -> String {
    if codes.is_empty() {
        return "-".to_string();
    }
    let short = |code: &Option<Code>| code.as_ref().map_or("-".to_string(), Code::short);
    codes.iter().map(short).collect::<Vec<_>>().join("/")
}

/// `[low, high]`, or "-".
pub(super) fn interval(ci: Option<(f64, f64)>) -> String {
    ci.map_or("-".to_string(), |(low, high)| {
        format!("[{low:.2}, {high:.2}]")
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_runs(f)?;
        if self.games.is_empty() {
            return Ok(());
        }
        writeln!(f)?;
        self.write_games(f)?;
        writeln!(f)?;
        self.write_aggregates(f)
    }
}

impl Report {
    /// One line per run folder.
    fn write_runs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .runs
            .iter()
            .map(|run| run.run_dir.display().to_string().len())
            .max()
            .unwrap_or(0)
            .max(32);
        writeln!(
            f,
            "{:<width$} {:<14} {:>6} {:>6} {:>9} {:>9} {:>18} {:>8} {:>26} {:>8}  source",
            "run",
            "game",
            "seed",
            "min",
            "env steps",
            "score",
            "95% CI",
            "HNS",
            "initial policy (95% CI)",
            "code"
        )?;
        for run in &self.runs {
            let seed = match run.policy {
                Policy::Random => "random".to_string(),
                Policy::Agent => run.seed.map_or("-".to_string(), |seed| seed.to_string()),
            };
            let seed = match run.checkpoint_of {
                Some(_) => format!("{seed}*"),
                None => seed,
            };
            let initial = &run.initial_policy_returns;
            let initial = if initial.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2} {}", mean(initial), interval(bootstrap_ci(initial)))
            };
            let code = code_cell(&run.code);
            writeln!(
                f,
                "{:<width$} {:<14} {seed:>6} {:>6} {:>9} {:>9.2} {:>18} {:>8} {initial:>26} {code:>8}  {}",
                run.run_dir.display(),
                run.game,
                optional(run.minutes, 1),
                run.env_steps
                    .map_or("-".to_string(), |steps| steps.to_string()),
                run.score,
                interval(run.ci95),
                optional(run.hns, 3),
                run.source
            )?;
        }
        if self.runs.iter().any(|run| run.checkpoint_of.is_some()) {
            writeln!(
                f,
                "* a checkpoint's evaluation of a run listed here: not counted again in its game's means"
            )?;
        }
        Ok(())
    }

    /// One line per Atari game: our mean, the random policy's, REM's.
    fn write_games(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<14} {:>4} {:>10} {:>8} {:>28} {:>5} {:>5} | {:>10} {:>8}",
            "game",
            "runs",
            "score",
            "HNS",
            "random policy (95% CI)",
            "above",
            "below",
            "REM score",
            "REM HNS"
        )?;
        for game in &self.games {
            let random = game.random_policy.map_or("-".to_string(), |(score, ci)| {
                format!("{score:.2} {}", interval(ci))
            });
            let (above, below) = game
                .runs_beside_random
                .map_or(("-".into(), "-".into()), |b| {
                    (b.above.to_string(), b.below.to_string())
                });
            writeln!(
                f,
                "{:<14} {:>4} {:>10.2} {:>8.3} {random:>28} {above:>5} {below:>5} | {:>10} {:>8}",
                game.game,
                game.runs,
                game.mean_score,
                game.mean_hns,
                optional(game.rem_mean_score, 2),
                optional(game.rem_hns, 3)
            )?;
        }
        if self
            .games
            .iter()
            .any(|game| game.runs_beside_random.is_some())
        {
            writeln!(
                f,
                "above, below: runs whose mean return is above, or below, the random policy's by a 95% bootstrap interval of the difference"
            )?;
        }
        Ok(())
    }

    /// Mean, median, IQM and superhuman count of the human-normalised scores.
    fn write_aggregates(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = |aggregates: &Option<Aggregates>| {
            aggregates.as_ref().map_or("-".to_string(), |a| {
                format!("{} game{}", a.games, if a.games == 1 { "" } else { "s" })
            })
        };
        writeln!(
            f,
            "{:<14} {:>28} {:>28}",
            "HNS over",
            format!("ours ({})", column(&self.ours)),
            format!("REM ({})", column(&self.rem))
        )?;
        let cells = |aggregates: &Option<Aggregates>| {
            aggregates.as_ref().map_or(
                ["-".to_string(), "-".into(), "-".into(), "-".into()],
                Aggregates::cells,
            )
        };
        let (ours, rem) = (cells(&self.ours), cells(&self.rem));
        for (index, name) in ["mean", "median", "IQM", "superhuman"]
            .into_iter()
            .enumerate()
        {
            writeln!(f, "{name:<14} {:>28} {:>28}", ours[index], rem[index])?;
        }
        Ok(())
    }
}

impl Aggregates {
    /// Mean, median, IQM and superhuman count as table cells.
    fn cells(&self) -> [String; 4] {
        let with_ci = |value: f64, ci: Option<(f64, f64)>| match ci {
            Some((low, high)) => format!("{value:.3} [{low:.3}, {high:.3}]"),
            None => format!("{value:.3}"),
        };
        let ci = self.ci95;
        [
            with_ci(self.mean, ci.map(|c| c.mean)),
            with_ci(self.median, ci.map(|c| c.median)),
            with_ci(self.iqm, ci.map(|c| c.iqm)),
            format!("{}/{}", self.superhuman, self.games),
        ]
    }
}
