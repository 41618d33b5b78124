#!/usr/bin/env bash
# The GPU check: on a machine with one NVIDIA GPU and a `--features cuda` binary built
# elsewhere, runs (a) the imagination benchmark at spec sizes, POP and token-by-token,
# and (b) two short training epochs of an Atari-100K config with tokenizer, world model
# and actor-critic all active, then prints seconds per phase and epoch. Each part has
# its own time limit so that the whole fits in 8 minutes.
#
#   scripts/gpu-check.sh [BINARY]          (default dist/rem-cuda)
#
# Preparing the binary and what it needs (see docs/gpu.md):
#   CARGO_TARGET_DIR=target-cuda cargo build --release --features cuda
#   mkdir -p dist && strip -o dist/rem-cuda target-cuda/release/rem
#   python3 -m pip download --no-deps -d .whl ale-py==0.12.1   # for a machine without network
#
# Knobs (environment): REM_DEVICE (cuda), REM_SIZE (spec), REM_BATCH (128),
# REM_GAME (Breakout), REM_STEPS (training steps per phase and epoch, 20),
# REM_SET (extra `--set key=value` words for training), OUT (where the run goes).
# `REM_DEVICE=cpu REM_SIZE=small REM_BATCH=8 REM_STEPS=1 REM_SET="..."` runs the same
# flow on a CPU machine as a dry run.
set -euo pipefail
cd "$(dirname "$0")/.."

rem=${1:-dist/rem-cuda}
device=${REM_DEVICE:-cuda}
size=${REM_SIZE:-spec}
batch=${REM_BATCH:-128}
game=${REM_GAME:-Breakout}
steps=${REM_STEPS:-20}
out=${OUT:-$(mktemp -d)}
[[ -x $rem ]] || { echo "error: no executable binary at $rem (see the header of $0)" >&2; exit 2; }

if [[ $device == cuda ]]; then
    # The CUDA runtime pieces the binary loads at run time (docs/gpu.md).
    export CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}
    export LD_LIBRARY_PATH="$CUDA_PATH/targets/x86_64-linux/lib:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi

# The Atari games run in ale-py worker processes; install the carried wheel if needed.
if ! python3 -c "import ale_py" 2>/dev/null; then
    python3 -m pip install --quiet --no-deps --no-index --find-links .whl --target "$out/python" ale-py
    export PYTHONPATH="$out/python${PYTHONPATH:+:$PYTHONPATH}"
fi

echo "== (a) imagination: $size sizes, batch $batch, horizon 10 (after one warm-up call)"
timeout 270 "$rem" bench imagine --size "$size" --batch "$batch" --horizon 10 \
    --iterations 3 --device "$device"

echo "== (b) two epochs of $game, $steps steps per phase, all three components"
# Epoch 1 includes kernel compilation and autotuning; epoch 2 is the warm number.
read -r -a extra <<< "${REM_SET:-}"
sets=()
for key in tokenizer world_model actor_critic; do
    sets+=(--set "$key.optim.start_epoch=1" --set "$key.optim.steps_per_epoch=$steps")
done
for word in "${extra[@]}"; do sets+=(--set "$word"); done
timeout 270 "$rem" train --config "runs/atari100k/$game.toml" --set "device=$device" \
    --run-dir "$out/run" --set collect.epochs=2 --set collect.collect_until_epoch=2 \
    --set eval.every_epochs=0 --set eval.final_episodes=1 --set checkpoint.every_epochs=100 \
    "${sets[@]}"

python3 - "$out/run/metrics.jsonl" "$steps" <<'EOF'
import json, sys
steps = int(sys.argv[2])
print("== seconds per phase (per step in brackets)")
for line in open(sys.argv[1]):
    m = json.loads(line)
    parts = []
    for phase, seconds in m["seconds"].items():
        per_step = f" ({seconds / steps:.3f}/step)" if phase in ("tokenizer", "world_model", "actor_critic") else ""
        parts.append(f"{phase} {seconds:.2f}{per_step}")
    print(f"epoch {m['epoch']}: " + ", ".join(parts))
EOF
