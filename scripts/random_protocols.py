"""Why our random policy's scores differ from the published random scores.

The human-normalised score's random reference (`../shared/data/atari100k/RANDOM.json`)
comes from the random agent of DQN's Nature paper: a new uniform action every 6th frame
(10 Hz), the last one repeated in between, after up to 30 no-ops, for at most 5 minutes
of play (18,000 frames). Our random policy plays under the evaluation protocol of
`rem eval` instead: a new action every 4th frame (the frame skip), one no-op at reset,
at most 108,000 frames. For each game, uniform play under both, in raw ALE (minimal
action set, no sticky actions), beside the published value:

    python3 scripts/random_protocols.py Hero,Amidar,UpNDown [episodes, default 30]

Prints per game and protocol the mean return with a 95% percentile-bootstrap interval
(10,000 resamples). The first column, played by ale-py itself, is also a check on
`rem eval --policy random`: the two should agree within their intervals.

Needs ale-py (0.12.1).
"""

import json
import sys
from pathlib import Path

import numpy as np

from action_bias import raw_ale

PUBLISHED = Path(__file__).resolve().parents[2] / "shared/data/atari100k/RANDOM.json"

# (frames per decision, no-ops at reset: 1..=max, frame cap)
PROTOCOLS = {
    "rem eval": (4, 1, 108_000),
    "DQN (Nature)": (6, 30, 18_000),
}


def episode_return(ale, actions, rng, frames_per_action, noop_max, frame_cap):
    ale.reset_game()
    total, frames = 0.0, 0
    for _ in range(rng.integers(1, noop_max + 1)):
        total += ale.act(0)
        frames += 1
    while not ale.game_over() and frames < frame_cap:
        action = actions[rng.integers(len(actions))]
        for _ in range(min(frames_per_action, frame_cap - frames)):
            total += ale.act(action)
            frames += 1
    return total


def interval(returns, rng):
    means = rng.choice(returns, size=(10_000, len(returns))).mean(axis=1)
    return np.percentile(means, [2.5, 97.5])


def main():
    games = sys.argv[1].split(",")
    episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    published = json.loads(PUBLISHED.read_text())
    print(f"{episodes} episodes per game and protocol; mean [95% interval]")
    for game in games:
        ale = raw_ale(game)
        actions = ale.getMinimalActionSet()
        cells = []
        for name, protocol in PROTOCOLS.items():
            rng = np.random.default_rng(0)
            returns = np.array([episode_return(ale, actions, rng, *protocol) for _ in range(episodes)])
            low, high = interval(returns, rng)
            cells.append(f"{name} {returns.mean():.1f} [{low:.1f}, {high:.1f}]")
        cells.append(f"published {published[game][0]}")
        print(f"{game}: " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
