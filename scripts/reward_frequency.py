"""How often does uniform play meet a game's reward?

The other way to choose games for short CPU runs (beside `action_bias.py`): a world
model learns a reward it sees often. For each game, uniform random play (frame skip 4,
no sticky actions, ALE seed 0, episodes of at most 3,000 agent steps) until 6,000 agent
steps have been played; prints the share of steps followed by a nonzero reward and the
mean return per episode.

    python3 scripts/reward_frequency.py UpNDown,Krull,Gopher

Needs ale-py (0.12.1). Raw-ALE play without the Atari-100K wrappers: for choosing
games, not for reporting scores.
"""

import sys

import numpy as np

from action_bias import FRAME_SKIP, raw_ale

STEPS, MAX_EPISODE_STEPS = 6000, 3000


def main():
    for game in sys.argv[1].split(","):
        ale = raw_ale(game)
        actions = ale.getMinimalActionSet()
        rng = np.random.default_rng(0)
        steps = rewarded = episodes = 0
        total = 0.0
        while steps < STEPS:
            ale.reset_game()
            episodes += 1
            episode_steps = 0
            while not ale.game_over() and episode_steps < MAX_EPISODE_STEPS:
                action = actions[rng.integers(len(actions))]
                reward = sum(ale.act(action) for _ in range(FRAME_SKIP))
                steps += 1
                episode_steps += 1
                rewarded += reward != 0
                total += reward
        print(
            f"{game} {len(actions)} actions: {rewarded / steps:.1%} of {steps} steps "
            f"rewarded, {total / episodes:.0f} per episode ({episodes} episodes)",
            flush=True,
        )


if __name__ == "__main__":
    main()
