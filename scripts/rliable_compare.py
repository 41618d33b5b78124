"""`rem compare`'s probability of improvement, computed by rliable itself.

rliable (Agarwal et al., 2021) is where the measure comes from; this prints its
P(A > B) and 95% stratified-bootstrap interval for two sets of run folders, so that
`rem compare` can be checked against it:

    python3 scripts/rliable_compare.py --a docs/results/catch-rem-burn-in/seed* \
        --b docs/results/catch-avx2/seed[0-5]

A run's score is read as `rem report` reads it: eval.json's mean return, else the last
evaluation in metrics.jsonl. The point value must equal `rem compare`'s; the interval
comes from another random stream (rliable's percentile bootstrap, 10,000 resamples)
and agrees to within the resampling noise.

Needs rliable 1.2.0 (`pip install rliable==1.2.0 arch==7.2.0 "pandas<2.3"`: arch 8
and pandas 3 break rliable 1.2.0's imports and its random_state argument).
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from rliable import library as rly
from rliable import metrics


def final_score(run: Path) -> float:
    eval_file = run / "eval.json"
    if eval_file.exists():
        return json.loads(eval_file.read_text())["mean_return"]
    lines = (run / "metrics.jsonl").read_text().splitlines()
    evals = [json.loads(line)["eval"] for line in lines if '"eval"' in line]
    return evals[-1]["mean_return"]


def game_of(run: Path) -> str:
    for line in (run / "config.toml").read_text().splitlines():
        if line.strip().startswith("game"):
            return line.split("=", 1)[1].strip().strip('"').lower()
    raise ValueError(f"{run}/config.toml names no game")


def scores_by_game(runs):
    games = defaultdict(list)
    for run in map(Path, runs):
        games[game_of(run)].append(final_score(run))
    return games


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", nargs="+", required=True)
    parser.add_argument("--b", nargs="+", required=True)
    args = parser.parse_args()
    a, b = scores_by_game(args.a), scores_by_game(args.b)
    for game in sorted(set(a) & set(b)):
        # rliable takes runs x tasks matrices; one task per call keeps the games'
        # run counts free, and the average over games is taken below.
        x, y = np.array([a[game]]).T, np.array([b[game]]).T
        point = metrics.probability_of_improvement(x, y)
        _, intervals = rly.get_interval_estimates(
            {"ab": [x, y]},
            lambda x, y: np.array([metrics.probability_of_improvement(x, y)]),
            reps=10_000,
            random_state=np.random.RandomState(0),
        )
        low, high = intervals["ab"].ravel()
        print(f"{game}: P(A > B) = {point:.4f} [{low:.2f}, {high:.2f}]")


if __name__ == "__main__":
    main()
