"""Raw Atari screens and Pillow's 64x64 resize of each, for tests/resize_pillow.rs.

Plays each game with random actions (each held for 4 frames, a fixed seed) through
ale-py, restarting at game over, and writes every `--stride`-th raw frame plus every
frame on which a life was lost. Record: u16 height, u16 width, i16 lives (-1 for a
game without lives), u16 game index, the raw HxWx3 screen, then
`Image.fromarray(screen).resize((64, 64), Image.BILINEAR)` (via reference_wrappers).

    python3 pillow_frames.py --games MsPacman,Pong --frames 250 --stride 12 --seed 1
"""

import argparse
import os
import random
import struct
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "atari"))

import numpy as np  # noqa: E402

from reference_wrappers import pillow_resize, rom_id  # noqa: E402

HEADER = struct.Struct("<HHhH")


def play(game, index, frames, stride, seed, out):
    import ale_py
    from ale_py import roms

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    ale = ale_py.ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(rom_id(game)))
    actions = ale.getMinimalActionSet()
    rng = random.Random(seed)
    height, width = ale.getScreenDims()
    screen = np.empty((height, width, 3), np.uint8)
    has_lives = ale.lives() > 0
    lives = ale.lives()
    written, frame = 0, 0
    while written < frames:
        if frame % 4 == 0:
            action = actions[rng.randrange(len(actions))]
        ale.act(action)
        frame += 1
        lost = ale.lives() < lives
        lives = ale.lives()
        if lost or frame % stride == 0:
            ale.getScreenRGB(screen)
            out.write(HEADER.pack(height, width, lives if has_lives else -1, index))
            out.write(screen.tobytes())
            out.write(pillow_resize(screen).tobytes())
            written += 1
        if ale.game_over():
            ale.reset_game()
            lives = ale.lives()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", required=True, help="comma-separated game names")
    parser.add_argument("--frames", type=int, default=250, help="frames written per game")
    parser.add_argument("--stride", type=int, default=12, help="raw frames between samples")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out = sys.stdout.buffer
    for index, game in enumerate(args.games.split(",")):
        play(game, index, args.frames, args.stride, args.seed, out)
    out.flush()


if __name__ == "__main__":
    main()
