"""Plain-Python baseline for the environment-throughput bench.

Steps the Atari wrapper stack of algorithm.md, section 1 (envs/src/atari/reference_wrappers.py: the
same semantics as the Rust backend, resizing with Pillow as REM and IRIS do, the
bytes the Rust resize reproduces) over ale-py in process, with random actions, and
prints agent steps per second. Only frames that are observed are resized, as in the
Rust backend, so both sides do the same work.

    python3 benches/atari_python.py --game Breakout --steps 3000
"""

import argparse
import os
import random
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "envs", "src", "atari"))

from reference_wrappers import AtariReference  # noqa: E402


def run(env, steps, rng):
    n = len(env.actions)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(rng.randrange(n))
        if terminated or truncated:
            env.reset()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = AtariReference(args.game, train=True, seed=args.seed)
    rng = random.Random(args.seed)
    env.reset(args.seed)
    run(env, args.warmup, rng)
    start = time.perf_counter()
    run(env, args.steps, rng)
    seconds = time.perf_counter() - start
    print(f"game={args.game} steps={args.steps} seconds={seconds:.4f} "
          f"steps_per_sec={args.steps / seconds:.1f}")


if __name__ == "__main__":
    main()
