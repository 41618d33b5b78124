"""How much does a policy that merely prefers one action beat the uniform one?

A quick way to choose games for short CPU runs: where repeating one action 80% of the
time scores far above uniform play, a policy only has to learn a bias to beat random.
For each game: 4 episodes (at most 5,000 agent steps each, frame skip 4, no sticky
actions, ALE seed 0) of the uniform policy, then of each "80% action a, 20% uniform"
policy. Prints one line per game: the uniform mean, then each action's mean.

    python3 scripts/action_bias.py Boxing,KungFuMaster,UpNDown

Needs ale-py (0.12.1). These are short raw-ALE episodes without the Atari-100K wrappers:
for choosing games, not for reporting scores.
"""

import sys

import ale_py
import numpy as np
from ale_py import roms

EPISODES, MAX_STEPS, FRAME_SKIP, BIAS = 4, 5000, 4, 0.8


def rom_id(game):
    """`KungFuMaster` -> `kung_fu_master`."""
    return game[0].lower() + "".join("_" + c.lower() if c.isupper() else c for c in game[1:])


def raw_ale(game):
    """The game's ROM in an emulator seeded 0, without sticky actions or log lines."""
    ale = ale_py.ALEInterface()
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setLoggerMode(ale_py.LoggerMode.Error)
    ale.loadROM(roms.get_rom_path(rom_id(game)))
    return ale


def mean_return(ale, actions, rng, preferred):
    totals = []
    for _ in range(EPISODES):
        ale.reset_game()
        total, steps = 0.0, 0
        while not ale.game_over() and steps < MAX_STEPS:
            if preferred is not None and rng.random() < BIAS:
                action = actions[preferred]
            else:
                action = actions[rng.integers(len(actions))]
            for _ in range(FRAME_SKIP):
                total += ale.act(action)
            steps += 1
        totals.append(total)
    return float(np.mean(totals))


def main():
    for game in sys.argv[1].split(","):
        ale = raw_ale(game)
        actions = ale.getMinimalActionSet()
        rng = np.random.default_rng(0)
        cells = [f"uniform {mean_return(ale, actions, rng, None):.0f}"]
        for i, action in enumerate(actions):
            cells.append(f"{action.name}:{mean_return(ale, actions, rng, i):.0f}")
        print(game, len(actions), " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
