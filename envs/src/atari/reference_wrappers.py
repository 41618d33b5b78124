"""Plain-Python reference of the rem-envs Atari wrapper stack, over ale-py in process.

It implements the semantics of envs/src/atari (Rust) independently, as REM's and
IRIS's Python code does it: Pillow's bilinear resize to 64x64
(`Image.fromarray(screen).resize((64, 64), Image.BILINEAR)`), time limit in raw
frames, no-op reset, frame skip with a max-pool of the last two frames (numpy), and
the training-only life-loss episode end. The parity test compares it byte for byte
with the Rust environment, and benches/atari_python.py measures its speed.

Run as a script it plays a fixed action sequence and writes binary records to
stdout (see `parity_main`); `reference_wrappers.py resize` resizes raw screens read
from stdin with Pillow (see `resize_main`).
"""

import argparse
import re
import struct
import sys

import numpy as np
from PIL import Image

MASK64 = (1 << 64) - 1
FRAME_SIDE = 64
NOOP = 0


def rom_id(game):
    """ALE ROM id of a game name: "MsPacman" -> "ms_pacman"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", game).lower()


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def one_to(self, maximum):
        return 1 + self.next_u64() % maximum


def ale_seed(seed):
    return SplitMix64(seed ^ 0xA7A2100000000000).next_u64() & 0x7FFFFFFF


def pillow_resize(screen):
    """HxWx3 uint8 -> 64x64x3 uint8 with Pillow's anti-aliased bilinear filter."""
    return np.asarray(Image.fromarray(screen).resize((FRAME_SIDE, FRAME_SIDE), Image.BILINEAR))


class AtariReference:
    """The wrapper stack of algorithm.md, section 1 with Gymnasium-style reset/step."""

    def __init__(self, game, train=True, seed=0, time_limit=None, noop_max=None, frame_skip=4):
        import ale_py
        from ale_py import roms

        self.train = train
        self.time_limit = time_limit if time_limit is not None else (20_000 if train else 108_000)
        self.noop_max = noop_max if noop_max is not None else (30 if train else 1)
        self.frame_skip = frame_skip
        self.rom_path = roms.get_rom_path(rom_id(game))
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
        self.ale = ale_py.ALEInterface()
        self.seed_everything(seed)
        self.actions = self.ale.getMinimalActionSet()
        height, width = self.ale.getScreenDims()
        self.screens = [np.empty((height, width, 3), np.uint8) for _ in range(2)]
        self.needs_real_reset = True
        self.active = False
        self.lives = 0
        self.has_lives = False
        self.episode_frame = 0

    def seed_everything(self, seed):
        self.rng = SplitMix64(seed)
        self.ale.setInt("random_seed", ale_seed(seed))
        self.ale.setFloat("repeat_action_probability", 0.0)
        self.ale.loadROM(self.rom_path)

    def info(self, life_lost=False):
        lives = self.lives if self.has_lives else None
        return {"lives": lives, "life_lost": life_lost, "episode_frame": self.episode_frame}

    def run(self, action, max_frames, want_previous):
        """Repeats an action for up to max_frames raw frames, stopping at game over.
        Returns (reward, game_over, frames, obs); obs is the max-pool of the resized
        last two planned frames, or the resized last frame alone."""
        ale = self.ale
        reward, grabbed, frames, game_over = 0, 0, 0, False
        for i in range(max_frames):
            reward += ale.act(action)
            frames += 1
            game_over = ale.game_over()
            if game_over or i == max_frames - 1:
                ale.getScreenRGB(self.screens[grabbed])
                grabbed += 1
                break
            if want_previous and i == max_frames - 2:
                ale.getScreenRGB(self.screens[0])
                grabbed = 1
        obs = pillow_resize(self.screens[grabbed - 1])
        if grabbed == 2:
            obs = np.maximum(obs, pillow_resize(self.screens[0]))
        return reward, game_over, frames, obs

    def skip_frames(self):
        return min(self.frame_skip, self.time_limit - self.episode_frame)

    def real_reset(self):
        noops = self.rng.one_to(self.noop_max)
        for _ in range(8):
            self.ale.reset_game()
            self.episode_frame = 0
            _, game_over, frames, obs = self.run(self.actions[NOOP], noops, False)
            self.episode_frame += frames
            if not game_over:
                break
        else:
            raise RuntimeError("the game ended during every no-op reset")
        self.lives = self.ale.lives()
        self.has_lives = self.lives > 0
        return obs

    def reset(self, seed=None):
        real = self.needs_real_reset
        if seed is not None:
            self.seed_everything(seed)
            real = True
        if real:
            obs = self.real_reset()
        else:
            # After a life-loss end: one no-op agent step continues the game.
            _, game_over, frames, obs = self.run(self.actions[NOOP], self.skip_frames(), True)
            self.episode_frame += frames
            self.lives = self.ale.lives()
            if game_over or self.episode_frame >= self.time_limit:
                obs = self.real_reset()
        self.needs_real_reset = False
        self.active = True
        return obs, self.info()

    def step(self, action):
        if not self.active:
            raise RuntimeError("step before reset")
        reward, game_over, frames, obs = self.run(self.actions[action], self.skip_frames(), True)
        self.episode_frame += frames
        lives = self.ale.lives()
        life_lost = self.has_lives and lives < self.lives
        self.lives = lives
        truncated = self.episode_frame >= self.time_limit
        terminated = game_over or (self.train and life_lost and lives > 0)
        if terminated or truncated:
            self.active = False
            self.needs_real_reset = game_over or truncated
        return obs, float(reward), terminated, truncated, self.info(life_lost)


# Parity records: kind (0 reset, 1 step), terminated, truncated, life_lost,
# reward f32, lives i32 (-1 = none), episode_frame u64, then the 64x64x3 frame.
RECORD = struct.Struct("<BBBBfiQ")


def write_record(out, kind, obs, info, reward=0.0, terminated=False, truncated=False):
    lives = -1 if info["lives"] is None else info["lives"]
    out.write(RECORD.pack(kind, terminated, truncated, info["life_lost"], reward, lives,
                          info["episode_frame"]))
    out.write(obs.tobytes())


def parity_main(argv):
    parser = argparse.ArgumentParser(description="play a fixed action sequence")
    parser.add_argument("--game", required=True)
    parser.add_argument("--mode", choices=["train", "eval"], default="train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=int, default=None)
    parser.add_argument("--actions", required=True, help="comma-separated action indices")
    args = parser.parse_args(argv)
    env = AtariReference(args.game, train=args.mode == "train", seed=args.seed,
                         time_limit=args.time_limit)
    out = sys.stdout.buffer
    obs, info = env.reset(args.seed)
    write_record(out, 0, obs, info)
    for action in map(int, args.actions.split(",")):
        obs, reward, terminated, truncated, info = env.step(action)
        write_record(out, 1, obs, info, reward, terminated, truncated)
        if terminated or truncated:
            obs, info = env.reset()
            write_record(out, 0, obs, info)
    out.flush()


def resize_main():
    """Reads raw HxWx3 screens (u16 height, u16 width, bytes) from stdin and writes
    Pillow's 64x64x3 resize of each, as soon as it is read."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(4)
        if len(head) < 4:
            break
        height, width = struct.unpack("<HH", head)
        screen = np.frombuffer(inp.read(height * width * 3), np.uint8).reshape(height, width, 3)
        out.write(pillow_resize(screen).tobytes())
        out.flush()


if __name__ == "__main__":
    if sys.argv[1:2] == ["resize"]:
        resize_main()
    else:
        parity_main(sys.argv[1:])
