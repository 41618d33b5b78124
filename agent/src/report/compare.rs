//! `rem compare`: two sets of runs (two settings, two commits) game by game.
//!
//! The measure is rliable's probability of improvement (Agarwal et al., 2021): on one
//! game, the chance that a run of A drawn at random scores more than a run of B drawn
//! at random, ties counting half,
//!
//! ```text
//! P(A > B) = 1/(n m) sum_i sum_j S(a_i, b_j),   S(x, y) = 1 if x > y, 1/2 if x = y, else 0
//! ```
//!
//! over A's n and B's m final scores (the Mann-Whitney U statistic over n m), then
//! averaged over the games both sets have. It compares ranks only, so games of any
//! scale (and native games, which have no human scores) weigh the same. Its 95%
//! interval is rliable's: a percentile bootstrap that resamples A's runs and B's runs
//! apart, within each game. Beside it, per game, the difference of the mean scores
//! with the same kind of interval, and, for seeds that both sets ran once, whether
//! the two runs differ beyond the noise of their evaluation episodes.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};

use crate::figures::plot::{BarChart, BarGroup};

use super::statistics::{percentile_interval, resample};
use super::table::interval;
use super::{
    mean, mean_beyond_chance, runs_by_game, two_sample_bootstrap_ci, Policy, RunScore,
    BOOTSTRAP_RESAMPLES,
};

/// Two sets of runs compared game by game.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The games both sets have runs of, by name.
    pub games: Vec<GameComparison>,
    /// P(A > B) averaged over `games`, with its stratified-bootstrap interval.
    pub overall: Option<Improvement>,
    /// Games only A has runs of, with their run counts, and those only B has.
    pub only_in_a: Vec<(String, usize)>,
    pub only_in_b: Vec<(String, usize)>,
}

/// A probability of improvement and its 95% interval (`None` where neither set has
/// two runs to resample).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Improvement {
    pub probability: f64,
    pub ci95: Option<(f64, f64)>,
}

/// One game's runs of A beside B's.
#[derive(Debug, Clone, PartialEq)]
pub struct GameComparison {
    pub game: String,
    /// The final scores of A's runs, and of B's, in the order given.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    /// mean(A) - mean(B), with the 95% interval of runs resampled apart.
    pub difference: f64,
    pub difference_ci95: Option<(f64, f64)>,
    pub improvement: Improvement,
    pub same_seeds: SameSeeds,
}

/// The seeds that both sets ran once on a game, each pair of runs judged by the 95%
/// interval of the difference of their mean returns, episodes resampled apart (the
/// rule `rem report` applies to a run beside random play).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SameSeeds {
    /// The seeds on which A's run is ahead, in the order A's runs were given.
    pub a_ahead: Vec<i64>,
    pub b_ahead: Vec<i64>,
    pub within_chance: Vec<i64>,
}

impl SameSeeds {
    /// "A ahead on 0, 2; B ahead on 3; within chance on 1", the empty parts left
    /// out; "-" where no seed was run by both.
    fn summary(&self) -> String {
        let parts: Vec<String> = [
            ("A ahead", &self.a_ahead),
            ("B ahead", &self.b_ahead),
            ("within chance", &self.within_chance),
        ]
        .into_iter()
        .filter(|(_, seeds)| !seeds.is_empty())
        .map(|(verdict, seeds)| {
            let seeds: Vec<String> = seeds.iter().map(i64::to_string).collect();
            format!("{verdict} on {}", seeds.join(", "))
        })
        .collect();
        match parts.is_empty() {
            true => "-".to_string(),
            false => parts.join("; "),
        }
    }
}

/// P(A > B) on one game: ties count half.
pub fn probability_of_improvement(a: &[f64], b: &[f64]) -> f64 {
    let wins: f64 = a
        .iter()
        .flat_map(|&x| b.iter().map(move |&y| score_pair(x, y)))
        .sum();
    wins / (a.len() * b.len()) as f64
}

fn score_pair(x: f64, y: f64) -> f64 {
    match x.total_cmp(&y) {
        Ordering::Greater => 1.0,
        Ordering::Equal => 0.5,
        Ordering::Less => 0.0,
    }
}

/// Compares runs `a` with runs `b` (each as [`super::read_run`] reads a folder).
/// Random-policy folders are refused: `rem report` sets runs beside random play.
pub fn compare(a: &[RunScore], b: &[RunScore]) -> Result<Comparison> {
    for run in a.iter().chain(b) {
        ensure!(
            run.policy == Policy::Agent,
            "{} is the random policy's evaluation: `rem report` sets runs beside random play, \
             and `rem compare --curves --random` draws it beside the runs",
            run.run_dir.display()
        );
    }
    let (by_game_a, by_game_b) = (runs_by_game(a), runs_by_game(b));
    let only_in = |these: &BTreeMap<&str, Vec<&RunScore>>,
                   others: &BTreeMap<&str, Vec<&RunScore>>| {
        these
            .iter()
            .filter(|(game, _)| !others.contains_key(*game))
            .map(|(game, runs)| (game.to_string(), runs.len()))
            .collect::<Vec<_>>()
    };
    let games: Vec<GameComparison> = by_game_a
        .iter()
        .filter_map(|(game, runs_a)| Some((game, runs_a, by_game_b.get(game)?)))
        .map(|(game, runs_a, runs_b)| compare_game(game, runs_a, runs_b))
        .collect();
    let overall = (!games.is_empty()).then(|| overall_improvement(&games));
    Ok(Comparison {
        games,
        overall,
        only_in_a: only_in(&by_game_a, &by_game_b),
        only_in_b: only_in(&by_game_b, &by_game_a),
    })
}

/// [`compare`] of the run folders `a` with `b` ([`read_sets`]).
pub fn compare_folders(a: &[PathBuf], b: &[PathBuf]) -> Result<Comparison> {
    let (a, b) = read_sets(a, b)?;
    compare(&a, &b)
}

/// The runs of the folders `a` and of `b`, each read as `rem report` reads it; an
/// evaluation of a checkpoint of a run in the same set is left out, as the report
/// does not count it twice.
pub fn read_sets(a: &[PathBuf], b: &[PathBuf]) -> Result<(Vec<RunScore>, Vec<RunScore>)> {
    let references = super::references_for(&[a, b].concat())?;
    let runs = |dirs: &[PathBuf]| -> Result<Vec<RunScore>> {
        let runs = super::read_runs(dirs, &references)?;
        Ok(runs
            .into_iter()
            .filter(|run| run.checkpoint_of.is_none())
            .collect())
    };
    Ok((runs(a)?, runs(b)?))
}

/// The random policy's evaluations in `dirs` (`rem eval --policy random` folders), as
/// the reference line of [`super::write_comparison_curves`]; any other folder is
/// refused.
pub fn read_random_policy(dirs: &[PathBuf]) -> Result<Vec<RunScore>> {
    let runs = super::read_runs(dirs, &super::references_for(dirs)?)?;
    for run in &runs {
        ensure!(
            run.policy == Policy::Random,
            "{} is not an evaluation of the random policy (`rem eval --policy random`)",
            run.run_dir.display()
        );
    }
    Ok(runs)
}

/// A bar chart of P(A > B) per game and over all of them, with the 95% intervals,
/// and the line of no difference at 1/2.
pub fn write_comparison_plot(comparison: &Comparison, svg_path: &Path) -> Result<()> {
    let Some(overall) = comparison.overall else {
        anyhow::bail!("the two sets have no game in common, so nothing to plot")
    };
    let improvements = comparison.games.iter().map(|g| g.improvement);
    let improvements: Vec<Improvement> = improvements.chain([overall]).collect();
    let mut categories: Vec<String> = comparison.games.iter().map(|g| g.game.clone()).collect();
    categories.push("all games".into());
    BarChart {
        title: "Probability of improvement of A over B (95% CI)".into(),
        y_label: "P(A > B)".into(),
        categories,
        groups: vec![BarGroup {
            label: "P(A > B)".into(),
            color: "#1f5fa8".into(),
            values: improvements.iter().map(|i| Some(i.probability)).collect(),
            intervals: improvements.iter().map(|i| i.ci95).collect(),
        }],
        reference_line: Some((0.5, "no difference".into())),
    }
    .write(svg_path)
}

fn compare_game(game: &str, runs_a: &[&RunScore], runs_b: &[&RunScore]) -> GameComparison {
    let scores = |runs: &[&RunScore]| runs.iter().map(|run| run.score).collect::<Vec<_>>();
    let (a, b) = (scores(runs_a), scores(runs_b));
    let resampled = a.len() >= 2 || b.len() >= 2;
    let interval = |statistic: fn(&[f64], &[f64]) -> f64| {
        resampled.then(|| two_sample_bootstrap_ci(&a, &b, BOOTSTRAP_RESAMPLES, statistic))
    };
    GameComparison {
        game: game.to_string(),
        difference: mean(&a) - mean(&b),
        difference_ci95: interval(|a, b| mean(a) - mean(b)),
        improvement: Improvement {
            probability: probability_of_improvement(&a, &b),
            ci95: interval(probability_of_improvement),
        },
        same_seeds: judge_same_seeds(runs_a, runs_b),
        a,
        b,
    }
}

/// [`SameSeeds`] of one game: a seed counts where each set ran it once and both runs
/// list at least two episode returns.
fn judge_same_seeds(runs_a: &[&RunScore], runs_b: &[&RunScore]) -> SameSeeds {
    let mut verdicts = SameSeeds::default();
    for seed in runs_a.iter().filter_map(|run| run.seed) {
        let (Some(a), Some(b)) = (run_once(runs_a, seed), run_once(runs_b, seed)) else {
            continue;
        };
        match mean_beyond_chance(&a.returns, &b.returns) {
            Ordering::Greater => verdicts.a_ahead.push(seed),
            Ordering::Less => verdicts.b_ahead.push(seed),
            Ordering::Equal => verdicts.within_chance.push(seed),
        }
    }
    verdicts
}

/// The one run of `seed` among `runs` with at least two episode returns, if there is
/// exactly one run of it.
fn run_once<'a>(runs: &[&'a RunScore], seed: i64) -> Option<&'a RunScore> {
    let mut with_seed = runs.iter().filter(|run| run.seed == Some(seed));
    match (with_seed.next(), with_seed.next()) {
        (Some(run), None) if run.returns.len() >= 2 => Some(*run),
        _ => None,
    }
}

/// P(A > B) averaged over the games, with the 95% interval of rliable's stratified
/// bootstrap: every resample draws each game's A runs and B runs apart, with
/// replacement, from a fixed seed.
fn overall_improvement(games: &[GameComparison]) -> Improvement {
    use rand::SeedableRng;
    let average = |pairs: &mut dyn Iterator<Item = (&[f64], &[f64])>| {
        let values: Vec<f64> = pairs
            .map(|(a, b)| probability_of_improvement(a, b))
            .collect();
        mean(&values)
    };
    let probability = average(&mut games.iter().map(|g| (g.a.as_slice(), g.b.as_slice())));
    let resampled = games.iter().any(|g| g.a.len() >= 2 || g.b.len() >= 2);
    let ci95 = resampled.then(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let draws = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| {
                let drawn: Vec<(Vec<f64>, Vec<f64>)> = games
                    .iter()
                    .map(|g| (resample(&g.a, &mut rng), resample(&g.b, &mut rng)))
                    .collect();
                average(&mut drawn.iter().map(|(a, b)| (a.as_slice(), b.as_slice())))
            })
            .collect();
        percentile_interval(draws)
    });
    Improvement { probability, ci95 }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .games
            .iter()
            .map(|g| g.game.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:<width$} {:>6} {:>10} {:>6} {:>10} {:>30} {:>20}   same seeds",
            "game", "A runs", "A mean", "B runs", "B mean", "A - B (95% CI)", "P(A > B) (95% CI)"
        )?;
        for g in &self.games {
            let difference = format!("{:.2} {}", g.difference, interval(g.difference_ci95));
            let improvement = format!(
                "{:.2} {}",
                g.improvement.probability,
                interval(g.improvement.ci95)
            );
            writeln!(
                f,
                "{:<width$} {:>6} {:>10.2} {:>6} {:>10.2} {difference:>30} {improvement:>20}   {}",
                g.game,
                g.a.len(),
                mean(&g.a),
                g.b.len(),
                mean(&g.b),
                g.same_seeds.summary(),
            )?;
        }
        if let Some(overall) = &self.overall {
            writeln!(
                f,
                "\nP(A > B) over {} game{}: {:.3} {}",
                self.games.len(),
                if self.games.len() == 1 { "" } else { "s" },
                overall.probability,
                interval(overall.ci95)
            )?;
        }
        for (set, unmatched) in [("A", &self.only_in_a), ("B", &self.only_in_b)] {
            for (game, runs) in unmatched {
                let plural = if *runs == 1 { "" } else { "s" };
                writeln!(f, "left out: {game} ({runs} run{plural}), only in {set}")?;
            }
        }
        writeln!(
            f,
            "P(A > B): the chance that a run of A scores more than a run of B of the same game \
             (ties half), averaged over the games\n\
             intervals: 95% bootstrap, A's runs and B's resampled apart within each game\n\
             same seeds: seeds run once in each set; A or B ahead where the 95% interval of the \
             difference of the two runs' mean returns (episodes resampled) excludes zero"
        )
    }
}
