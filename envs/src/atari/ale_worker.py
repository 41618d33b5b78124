"""ALE worker for rem-envs: a thin emulator server on stdin/stdout.

The protocol (16-byte little-endian headers, raw RGB screens) is described in
protocol.rs. One process serves several games, each in its own slot (an ALE
instance), so that many environments need not start as many Pythons. All wrappers
(resize, time limit, no-op reset, frame skip, life loss) live in Rust; this process
only loads ROMs, resets, and repeats actions.
"""

import os
import signal
import struct
import sys

PROTOCOL_VERSION = 2
HELLO_MAGIC = int.from_bytes(b"REMA", "little")
REQUEST = struct.Struct("<BBBBIQ")
REPLY = struct.Struct("<BBBxiII")
OP_LOAD, OP_RESET, OP_STEP, OP_CLOSE = 1, 2, 3, 4
FLAG_PREVIOUS_SCREEN = 1
STATUS_OK, STATUS_ERROR, STATUS_MISSING_ALE = 0, 1, 2

OUT_FD = 1


def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(OUT_FD, view):]


def send_error(status, message):
    data = message.encode("utf-8", "replace")
    write_all(REPLY.pack(status, 0, 0, 0, 0, len(data)) + data)


def read_exact(stream, n):
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError
    return data


class Game:
    """One emulator (an ALE instance) and its reply buffer."""

    def __init__(self, ale_py, np):
        self.np = np
        self.ale = ale_py.ALEInterface()
        self.actions = []
        self.screen_bytes = 0

    def load(self, rom_id, seed):
        from ale_py import roms

        ale = self.ale
        ale.setInt("random_seed", int(seed))
        ale.setFloat("repeat_action_probability", 0.0)
        ale.loadROM(roms.get_rom_path(rom_id))
        self.actions = list(ale.getMinimalActionSet())
        height, width = ale.getScreenDims()
        self.screen_bytes = height * width * 3
        # One reply buffer: header, then two screens that ALE writes into in place.
        self.reply = bytearray(REPLY.size + 2 * self.screen_bytes)
        self.screens = [
            self.np.frombuffer(
                self.reply, self.np.uint8, self.screen_bytes, REPLY.size + i * self.screen_bytes
            ).reshape(height, width, 3)
            for i in range(2)
        ]
        payload = struct.pack("<HH", width, height) + bytes(int(a.value) for a in self.actions)
        write_all(REPLY.pack(STATUS_OK, 0, 0, 0, ale.lives(), len(payload)) + payload)

    def step(self, action_index, max_frames, flags):
        ale = self.ale
        action = self.actions[action_index]
        want_previous = flags & FLAG_PREVIOUS_SCREEN
        reward = 0
        grabbed = 0
        frames = 0
        game_over = False
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
        REPLY.pack_into(self.reply, 0, STATUS_OK, game_over, grabbed, reward, ale.lives(), frames)
        write_all(memoryview(self.reply)[: REPLY.size + grabbed * self.screen_bytes])

    def reset(self):
        self.ale.reset_game()
        write_all(REPLY.pack(STATUS_OK, 0, 0, 0, self.ale.lives(), 0))


class Worker:
    """The games of one process, by slot; each request names its slot."""

    def __init__(self, ale_py, np):
        self.ale_py = ale_py
        self.np = np
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
        self.games = {}

    def serve(self, stream):
        while True:
            op, action, flags, slot, arg, seed = REQUEST.unpack(read_exact(stream, REQUEST.size))
            game = self.games.get(slot)
            if op == OP_LOAD:
                rom_id = read_exact(stream, arg).decode()
                if game is None:
                    game = self.games[slot] = Game(self.ale_py, self.np)
                try:
                    game.load(rom_id, seed)
                except Exception as e:  # report, keep serving
                    del self.games[slot]
                    send_error(STATUS_ERROR, f"cannot load ROM '{rom_id}': {e}")
            elif op == OP_CLOSE:
                write_all(REPLY.pack(STATUS_OK, 0, 0, 0, 0, 0))
                return
            elif op not in (OP_STEP, OP_RESET):
                send_error(STATUS_ERROR, f"unknown op {op}")
            elif game is None:
                send_error(STATUS_ERROR, f"no game is loaded in slot {slot}")
            elif op == OP_RESET:
                game.reset()
            elif arg < 1 or action >= len(game.actions):
                send_error(STATUS_ERROR, f"bad step: action {action}, frames {arg}")
            else:
                game.step(action, arg, flags)


def main():
    # Ctrl-C reaches the whole terminal's process group; the Rust side that owns this
    # worker decides when to stop (after its epoch, with a checkpoint) and closes stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import numpy as np
        import ale_py
    except ImportError as e:
        send_error(STATUS_MISSING_ALE, f"{e} (python: {sys.executable})")
        return 3
    try:
        import fcntl

        # One whole reply fits in the pipe, so a step never blocks half-written.
        fcntl.fcntl(OUT_FD, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass
    worker = Worker(ale_py, np)
    write_all(REPLY.pack(STATUS_OK, 0, 0, 0, HELLO_MAGIC, PROTOCOL_VERSION))
    try:
        worker.serve(sys.stdin.buffer)
    except EOFError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
