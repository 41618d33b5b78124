//! The statistics of a report: percentile-bootstrap intervals of a mean, and the
//! aggregates of human-normalised scores over games (mean, median, IQM) with their
//! stratified-bootstrap intervals, as rliable computes them.

use std::collections::BTreeMap;

/// Aggregates of human-normalised scores over games.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    pub games: usize,
    /// How many run x game scores the interquartile mean was taken over.
    pub scores: usize,
    /// Mean of the per-game mean scores.
    pub mean: f64,
    /// Median of the per-game mean scores.
    pub median: f64,
    /// Interquartile mean of all run x game scores.
    pub iqm: f64,
    /// Games whose mean score is at least human level (1).
    pub superhuman: usize,
    /// 95% stratified-bootstrap intervals of mean, median and IQM; `None` when no
    /// game has two runs to resample.
    pub ci95: Option<AggregateIntervals>,
}

/// 95% confidence intervals of the aggregates, as rliable computes them: each of
/// [`BOOTSTRAP_RESAMPLES`] resamples draws every game's runs with replacement within
/// that game (a stratified bootstrap), and the intervals are the 2.5th and 97.5th
/// percentiles of the aggregates over the resamples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregateIntervals {
    pub mean: (f64, f64),
    pub median: (f64, f64),
    pub iqm: (f64, f64),
}

/// Resamples of the percentile bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// 95% percentile-bootstrap confidence interval of the mean of `values`: the 2.5th
/// and 97.5th percentiles of the means of [`BOOTSTRAP_RESAMPLES`] resamples with
/// replacement, drawn from a fixed seed so that a report is reproducible. `None`
/// for fewer than two values.
pub fn bootstrap_ci(values: &[f64]) -> Option<(f64, f64)> {
    use rand::SeedableRng;
    if values.len() < 2 {
        return None;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| mean(&resample(values, &mut rng)))
        .collect();
    Some(percentile_interval(means))
}

impl Aggregates {
    /// Aggregates of human-normalised scores given per game, one per run; `None` for no games.
    pub fn from_hns(per_game: &BTreeMap<String, Vec<f64>>) -> Option<Self> {
        let runs: Vec<&[f64]> = per_game
            .values()
            .map(Vec::as_slice)
            .filter(|runs| !runs.is_empty())
            .collect();
        if runs.is_empty() {
            return None;
        }
        let (mean, median, iqm) = point_aggregates(&runs);
        let resampled = runs.iter().any(|game| game.len() > 1);
        Some(Aggregates {
            games: runs.len(),
            scores: runs.iter().map(|game| game.len()).sum(),
            mean,
            median,
            iqm,
            superhuman: runs.iter().filter(|game| self::mean(game) >= 1.0).count(),
            ci95: resampled.then(|| stratified_bootstrap(&runs)),
        })
    }
}

/// Mean and median of the per-game means, and IQM of all run x game scores.
fn point_aggregates(per_game: &[&[f64]]) -> (f64, f64, f64) {
    let game_means: Vec<f64> = per_game.iter().map(|runs| mean(runs)).collect();
    let all: Vec<f64> = per_game
        .iter()
        .flat_map(|runs| runs.iter().copied())
        .collect();
    (
        mean(&game_means),
        median(&game_means),
        interquartile_mean(&all),
    )
}

/// 95% percentile-bootstrap interval of `statistic` of two samples, each resampled
/// with replacement apart from the other, over `resamples` draws from a fixed seed.
/// The draws treat the values of each sample as independent.
pub fn two_sample_bootstrap_ci<T: Copy>(
    a: &[T],
    b: &[T],
    resamples: usize,
    statistic: impl Fn(&[T], &[T]) -> f64,
) -> (f64, f64) {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let draws = (0..resamples)
        .map(|_| statistic(&resample(a, &mut rng), &resample(b, &mut rng)))
        .collect();
    percentile_interval(draws)
}

/// Whether the mean of `a` lies above (`Greater`) or below (`Less`) the mean of `b`
/// beyond chance, or within it (`Equal`): the 95% percentile-bootstrap interval of
/// mean(a) - mean(b), the two samples resampled apart ([`two_sample_bootstrap_ci`]),
/// lies wholly above zero, wholly below, or holds it.
pub fn mean_beyond_chance(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    let (low, high) = two_sample_bootstrap_ci(a, b, BOOTSTRAP_RESAMPLES, |a, b| mean(a) - mean(b));
    match (low > 0.0, high < 0.0) {
        (true, _) => std::cmp::Ordering::Greater,
        (_, true) => std::cmp::Ordering::Less,
        _ => std::cmp::Ordering::Equal,
    }
}

/// `values.len()` values drawn from `values` with replacement.
pub(super) fn resample<T: Copy>(values: &[T], rng: &mut rand::rngs::StdRng) -> Vec<T> {
    use rand::Rng;
    (0..values.len())
        .map(|_| values[rng.random_range(0..values.len())])
        .collect()
}

/// [`AggregateIntervals`] of `per_game` run scores, from a fixed seed.
fn stratified_bootstrap(per_game: &[&[f64]]) -> AggregateIntervals {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut draws = [const { Vec::new() }; 3];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let drawn: Vec<Vec<f64>> = per_game
            .iter()
            .map(|runs| resample(runs, &mut rng))
            .collect();
        let games: Vec<&[f64]> = drawn.iter().map(Vec::as_slice).collect();
        let (mean, median, iqm) = point_aggregates(&games);
        for (draw, value) in draws.iter_mut().zip([mean, median, iqm]) {
            draw.push(value);
        }
    }
    let [mean, median, iqm] = draws.map(percentile_interval);
    AggregateIntervals { mean, median, iqm }
}

/// The 2.5th and 97.5th percentiles of `draws`.
pub(super) fn percentile_interval(mut draws: Vec<f64>) -> (f64, f64) {
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws[((q * (draws.len() - 1) as f64).round()) as usize];
    (at(0.025), at(0.975))
}

/// Spearman's rank correlation of `a` and `b`, paired by index: Pearson's correlation
/// of their ranks, tied values sharing the mean of the ranks they span. `None` for
/// fewer than three pairs, for lengths that differ, or where either side is constant
/// (its ranks have no spread).
pub fn rank_correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let (ma, mb) = (mean(&ra), mean(&rb));
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

/// Ranks from 1 in ascending order; tied values share the mean of their ranks.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut first = 0;
    while first < order.len() {
        let mut last = first;
        while last + 1 < order.len() && values[order[last + 1]] == values[order[first]] {
            last += 1;
        }
        // Positions first..=last hold ranks first + 1 ..= last + 1.
        let shared = (first + last) as f64 / 2.0 + 1.0;
        for &index in &order[first..=last] {
            ranks[index] = shared;
        }
        first = last + 1;
    }
    ranks
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The middle value, or the mean of the two middle values for an even count;
/// NaN for no values, like [`mean`].
pub fn median(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The mean after dropping floor(n/4) values from each end (a 25% trimmed mean,
/// as `scipy.stats.trim_mean(values, 0.25)` and the published IQMs use).
pub fn interquartile_mean(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let cut = sorted.len() / 4;
    mean(&sorted[cut..sorted.len() - cut])
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}
