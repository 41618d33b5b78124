#!/usr/bin/env bash
# The GPU check: on a machine with one NVIDIA GPU and a `--features cuda` binary built
# elsewhere, runs
#   (a) the imagination benchmark at spec sizes, POP and token-by-token;
#   (b) the same benchmark in PyTorch (scripts/torch_imagine.py), if python3 can import
#       torch, and the ratio ours / PyTorch;
#   (c) two short training epochs of an Atari-100K config with tokenizer, world model
#       and actor-critic all active, then seconds per phase and epoch.
# Each part has its own time limit so that the whole fits in 8 minutes: (a) 270 s,
# (b) 150 s, (c) what is left of REM_BUDGET (at most 270 s). A part that fails or runs
# out of time is reported and the next one still runs.
#
#   scripts/gpu-check.sh [BINARY]          (default dist/rem-cuda)
#
# Preparing the binary and what it needs (see docs/gpu.md):
#   CARGO_TARGET_DIR=target-cuda cargo build --release --features cuda
#   mkdir -p dist && strip -o dist/rem-cuda target-cuda/release/rem
#   python3 -m pip download --no-deps -d .whl ale-py==0.12.1   # for a machine without network
#
# cubecl's kernel caches (docs/gpu.md, "cubecl caches"): with the CUDA device the script
# writes a cubecl.toml in the repository root for the run (removed at exit) that puts the
# autotune results and the compiled PTX in .cubecl-cache/<GPU name>/, and points the
# driver's PTX-to-SASS cache (CUDA_CACHE_PATH) there too. If OUT is set, .cubecl-cache/
# is copied to $OUT/cubecl-cache at exit; copy that back to .cubecl-cache/ before the next
# run to start warm.
#
# Knobs (environment): REM_DEVICE (cuda), REM_SIZE (spec), REM_BATCH (128),
# REM_GAME (Breakout), REM_STEPS (training steps per phase and epoch, 20),
# REM_SET (extra `--set key=value` words for training), REM_BUDGET (seconds for the whole
# script, 470), REM_CUBECL_CACHE (cache folder, .cubecl-cache; `off` leaves cubecl's
# defaults alone, for a cold start), OUT (where the run goes).
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
budget=${REM_BUDGET:-470}
cache_base=${REM_CUBECL_CACHE:-.cubecl-cache}
out=${OUT:-$(mktemp -d)}
[[ -x $rem ]] || { echo "error: no executable binary at $rem (see the header of $0)" >&2; exit 2; }

# Runs a part under `timeout`; reports, rather than stops at, a failure.
part() {
    local status=0
    "$@" || status=$?
    if ((status == 124)); then
        echo "-- stopped at its time limit"
    elif ((status != 0)); then
        echo "-- failed with exit status $status"
    fi
}

created_toml=
finish() {
    [[ -n $created_toml ]] && rm -f cubecl.toml
    if [[ $device == cuda && $cache_base != off && -d $cache_base && -n ${OUT:-} ]]; then
        mkdir -p "$OUT/cubecl-cache"
        cp -r "$cache_base/." "$OUT/cubecl-cache/"
        echo "cubecl caches copied to \$OUT/cubecl-cache ($(du -sh "$cache_base" | cut -f1))"
    fi
    echo "== total $SECONDS s"
}
trap finish EXIT

if [[ $device == cuda ]]; then
    # The CUDA runtime pieces the binary loads at run time (docs/gpu.md).
    export CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}
    export LD_LIBRARY_PATH="$CUDA_PATH/targets/x86_64-linux/lib:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    if [[ $cache_base != off ]]; then
        # One folder per GPU model: cubecl's autotune keys name the device only by index.
        gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
        [[ $cache_base == /* ]] || cache_base="$PWD/$cache_base"
        cache_dir="$cache_base/$(printf %s "$gpu" | tr -c 'A-Za-z0-9._-' '_')"
        mkdir -p "$cache_dir"
        chmod -R u+w "$cache_base"  # copies of returned files may be read-only
        if [[ -e cubecl.toml || -e burn.toml ]]; then
            echo "note: a cubecl.toml or burn.toml exists; cubecl's caches go where it says"
        else
            cat > cubecl.toml <<EOF
# Written by scripts/gpu-check.sh for one run; removed when it ends.
[autotune]
cache = { file = "$cache_dir" }

[compilation]
cache = { file = "$cache_dir" }
EOF
            created_toml=1
        fi
        export CUDA_CACHE_PATH="$cache_dir/nv-compute-cache"
        echo "cubecl caches: $cache_dir ($(find "$cache_dir" -type f | wc -l) files, $(du -sh "$cache_dir" | cut -f1))"
    fi
fi

# The Atari games run in ale-py worker processes; install the carried wheel if needed.
if ! python3 -c "import ale_py" 2>/dev/null; then
    python3 -m pip install --quiet --no-deps --no-index --find-links .whl --target "$out/python" ale-py
    export PYTHONPATH="$out/python${PYTHONPATH:+:$PYTHONPATH}"
fi

echo "== (a) imagination: $size sizes, batch $batch, horizon 10 (after one warm-up call)"
part timeout 270 "$rem" bench imagine --size "$size" --batch "$batch" --horizon 10 \
    --iterations 3 --device "$device" | tee "$out/imagine.txt"

echo "== (b) the same in PyTorch: scripts/torch_imagine.py"
if python3 -c "import torch" 2>/dev/null; then
    part timeout 150 python3 scripts/torch_imagine.py --size "$size" --batch "$batch" --horizon 10 \
        --iterations 3 --device "$device" | tee "$out/torch_imagine.txt"
    # Imagined frames/s of one generator in a benchmark's output.
    fps() { awk -v g="$1" '$1 == g && $5 == "imagined" { print $4 }' "$2"; }
    for generator in Pop TokenByToken; do
        ours=$(fps "$generator" "$out/imagine.txt")
        theirs=$(fps "$generator" "$out/torch_imagine.txt")
        if [[ -n $ours && -n $theirs ]]; then
            awk -v g="$generator" -v a="$ours" -v b="$theirs" \
                'BEGIN { printf "%-14s ours / PyTorch: %.2fx (%s vs %s imagined frames/s)\n", g, a / b, a, b }'
        fi
    done
else
    echo "(b) skipped: python3 cannot import torch"
fi

limit=$((budget - SECONDS))
((limit > 270)) && limit=270
echo "== (c) two epochs of $game, $steps steps per phase, all three components (limit ${limit} s)"
# Epoch 1 includes kernel compilation and autotuning; epoch 2 is the warm number.
read -r -a extra <<< "${REM_SET:-}"
sets=()
for key in tokenizer world_model actor_critic; do
    sets+=(--set "$key.optim.start_epoch=1" --set "$key.optim.steps_per_epoch=$steps")
done
for word in "${extra[@]}"; do sets+=(--set "$word"); done
if ((limit < 30)); then
    echo "-- skipped: only ${limit} s of the ${budget} s budget left"
    exit 0
fi
part timeout "$limit" "$rem" train --config "runs/atari100k/$game.toml" --set "device=$device" \
    --run-dir "$out/run" --set collect.epochs=2 --set collect.collect_until_epoch=2 \
    --set eval.every_epochs=0 --set eval.final_episodes=1 --set checkpoint.every_epochs=100 \
    "${sets[@]}"

[[ -s $out/run/metrics.jsonl ]] || { echo "-- no epoch finished"; exit 0; }
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
