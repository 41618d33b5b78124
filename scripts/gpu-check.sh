#!/usr/bin/env bash
# The GPU check: on a machine with one NVIDIA GPU, with what scripts/gpu-bundle.sh built
# elsewhere (dist/rem-cuda.tar.xz, unpacked here into dist/rem-cuda and dist/tests/),
# runs in this order, each part under its own time limit within REM_BUDGET:
#   (t)  the equivalence tests (retention forms, RetNet forms, POP, imagined outcomes)
#        on burn's CUDA backend, with the CPU's tolerances;
#   (a)  `rem bench imagine` at spec sizes, batch 128, horizon 10: POP and token-by-token,
#        with the warm-up call (kernel compilation, autotuning) timed apart;
#   (b)  the same call in PyTorch, scripts/torch_imagine.py --controller-grad, and the
#        ratio ours / PyTorch;
#   (w)  POP at batch 128 again in a new process: the warm-up with the caches (a) saved;
#   (a8) and (b8): batch 8, ours and PyTorch;
#   (p)  `rem bench phases`: seconds per step of each phase at the spec's sizes and
#        batches, and the epoch and 600-epoch run they add up to;
#   (c)  a short Atari run at spec sizes, all three parts training from epoch 1, printing
#        each epoch's losses and seconds per phase;
#   (u)  (a)'s POP call with the `autotune` build (burn's autotuning on), for the rest of
#        the budget.
# Every part but (u) runs the `cuda` build: burn's CUDA backend with fusion, without
# autotuning, which on an H200 kept the first imagination call from ending within 240 s
# (docs/gpu.md, "Autotuning").
# After each part: its seconds, exit status and peak GPU memory in use (nvidia-smi,
# sampled every 100 ms). A part that fails or runs out of time is reported and the next
# one still runs.
#
#   scripts/gpu-check.sh 2>&1 | tee $OUT/gpu-check.log
#
# cubecl's kernel caches (docs/gpu.md, "cubecl caches"): for the run the script writes a
# cubecl.toml in the repository root (removed at exit) that puts the autotune results
# and the compiled PTX in .cubecl-cache/<GPU name>/, and points the driver's PTX-to-SASS
# cache (CUDA_CACHE_PATH) there too. After each part it prints how many kernels were
# compiled and autotune runs made so far. If OUT is set, the autotune results are
# packed into $OUT/cubecl-autotune.tar.gz at exit, and all the caches into
# $OUT/cubecl-cache.tar.gz if that is under 15 MB; unpack either in the repository root
# before the next run to start warm (`tar -xzf cubecl-autotune.tar.gz`).
#
# Knobs (environment): REM_GAME (Breakout), REM_STEPS (training steps per phase and
# epoch in (c), 10), REM_EPOCHS (epochs in (c), 3), REM_BUDGET (seconds for the whole
# script, 530), REM_TESTS_LIMIT (seconds for (t), 100), REM_CUBECL_CACHE (cache folder,
# .cubecl-cache; `off` leaves cubecl's defaults alone, for a cold start), REM_DEVICE
# (cuda; `cpu` with REM_SIZE=small and REM_BATCH=8 runs the same flow as a dry run on a
# CPU machine), REM_BINARY (the rem to run, dist/rem-cuda), REM_SET (extra `key=value`
# overrides for (p) and (c)), OUT (where results go).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

device=${REM_DEVICE:-cuda}
size=${REM_SIZE:-spec}
batch=${REM_BATCH:-128}
game=${REM_GAME:-Breakout}
steps=${REM_STEPS:-10}
epochs=${REM_EPOCHS:-3}
budget=${REM_BUDGET:-530}
cache_base=${REM_CUBECL_CACHE:-.cubecl-cache}
tests_limit=${REM_TESTS_LIMIT:-100}
cache_dir=
work=$(mktemp -d)
rem=${REM_BINARY:-dist/rem-cuda}
rem_autotune=dist/rem-cuda-autotune

if [[ ! -x $rem && -f dist/rem-cuda.tar.xz ]]; then
    tar -C dist -xJf dist/rem-cuda.tar.xz || exit 2
fi
[[ -x $rem ]] || { echo "error: no $rem; build it with scripts/gpu-bundle.sh" >&2; exit 2; }

have_gpu() { [[ $device == cuda ]] && command -v nvidia-smi >/dev/null; }
sampler=
# Samples the GPU memory in use every 100 ms into $work/memory.txt until `peak_memory`.
sample_memory() {
    have_gpu || return 0
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 \
        > "$work/memory.txt" 2>/dev/null &
    sampler=$!
}
peak_memory() {
    [[ -n $sampler ]] || { echo "n/a"; return; }
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null; sampler=
    echo "$(sort -n "$work/memory.txt" | tail -n 1) MiB"
}

# part NAME LIMIT COMMAND...: runs COMMAND under the smaller of LIMIT and what is left of
# the budget, its output also in $work/NAME.txt; reports rather than stops at a failure.
part() {
    local name=$1 limit=$2
    shift 2
    local left=$((budget - SECONDS))
    ((limit > left)) && limit=$left
    if ((limit < 20)); then
        echo "== ($name) skipped: ${left} s of the ${budget} s budget left"
        return
    fi
    echo "== ($name) limit ${limit} s: $*"
    sample_memory
    local started=$SECONDS
    timeout -k 20 "$limit" "$@" 2>&1 | tee "$work/$name.txt"
    local status=${PIPESTATUS[0]}
    local peak
    peak=$(peak_memory)
    local verdict="exit status $status"
    ((status == 124)) && verdict="stopped at its time limit"
    echo "-- ($name) $((SECONDS - started)) s, $verdict, peak GPU memory in use $peak"
    cache_counts
}

# What cubecl's caches hold, on one line: kernels compiled (PTX) and autotune runs made.
cache_counts() {
    [[ -n $cache_dir && -d $cache_dir ]] || return 0
    local kernels tuned
    kernels=$(find "$cache_dir" -name toc.json.log -exec cat {} + 2>/dev/null | wc -l)
    tuned=$(grep -c "Fastest result" "$work/autotune.log" 2>/dev/null)
    echo "   cubecl caches: $kernels kernels compiled, ${tuned:-0} autotune runs," \
        "$(du -sh "$cache_dir" | cut -f1) (autotune $(du -shc "$cache_dir"/autotune 2>/dev/null | tail -n 1 | cut -f1))"
}

created_toml=
finish() {
    [[ -n $created_toml ]] && rm -f cubecl.toml
    if [[ -n ${OUT:-} ]]; then
        [[ -s $work/run/metrics.jsonl ]] && cp "$work/run/metrics.jsonl" "$OUT/atari-metrics.jsonl"
        if [[ -n $cache_dir && -d $cache_dir ]]; then
            # The autotune results are small and spare the next run the tuning; the
            # compiled kernels come back too while they fit in what $OUT returns.
            (cd "$cache_base/.." && find "$(basename "$cache_base")" -type d -name autotune -print0 |
                tar -czf "$OUT/cubecl-autotune.tar.gz" --null -T -)
            echo "autotune results packed into \$OUT/cubecl-autotune.tar.gz ($(du -h "$OUT/cubecl-autotune.tar.gz" | cut -f1))"
            # Packing is skipped above 60 MB unpacked: it costs device time and would not
            # come back packed under 15 MB anyway.
            if (($(du -sb "$cache_base" | cut -f1) < 60 * 1024 * 1024)); then
                tar -C "$cache_base/.." -czf "$work/cubecl-cache.tar.gz" "$(basename "$cache_base")"
            fi
            if [[ -f $work/cubecl-cache.tar.gz ]] &&
                (($(stat -c %s "$work/cubecl-cache.tar.gz") < 15 * 1024 * 1024)); then
                cp "$work/cubecl-cache.tar.gz" "$OUT/"
                echo "all cubecl caches packed into \$OUT/cubecl-cache.tar.gz ($(du -h "$OUT/cubecl-cache.tar.gz" | cut -f1))"
            else
                echo "all cubecl caches: $(du -sh "$cache_base" | cut -f1), too large to return"
            fi
        fi
    fi
    echo "== total $SECONDS s"
}
trap finish EXIT

if [[ $device == cuda ]]; then
    # The CUDA runtime pieces the binary loads at run time (docs/gpu.md): the driver,
    # NVRTC and the headers NVRTC compiles against.
    export CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}
    lib=$CUDA_PATH/targets/x86_64-linux/lib
    if ! ls "$lib"/libnvrtc.so* >/dev/null 2>&1; then
        nvrtc=$(find / -name 'libnvrtc.so*' -not -path '/proc/*' 2>/dev/null | head -n 1)
        [[ -n $nvrtc ]] && lib=$(dirname "$nvrtc")
    fi
    export LD_LIBRARY_PATH="$lib:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv,noheader
    echo "NVRTC: $(ls "$lib"/libnvrtc.so* 2>/dev/null | head -n 1)"
    if [[ $cache_base != off ]]; then
        # One folder per GPU model: cubecl's autotune keys name the device only by index.
        gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
        [[ $cache_base == /* ]] || cache_base="$repo/$cache_base"
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

[autotune.logger]
level = "minimal"
file = "$work/autotune.log"

[compilation]
cache = { file = "$cache_dir" }
EOF
            created_toml=1
        fi
        export CUDA_CACHE_PATH="$cache_dir/nv-compute-cache" CUDA_CACHE_MAXSIZE=4294967296
        echo "cubecl caches: $cache_dir ($(find "$cache_dir" -type f | wc -l) files, $(du -sh "$cache_dir" | cut -f1)) at the start"
    fi
fi

# (t) Each test binary in its own folder and HOME, side by side, so that none reads the
# cubecl.toml above or shares cubecl's default caches with another; each under its own
# limit, so that the tests that finished are reported when one binary runs out of time.
equivalence_tests() {
    local t name status failed=0
    for t in dist/tests/*; do
        name=$(basename "$t")
        mkdir -p "$work/tests/$name"
        (cd "$work/tests/$name" && HOME=$PWD timeout "$test_limit" "$repo/$t" > output.txt 2>&1
         echo $? > status) &
    done
    wait
    for t in dist/tests/*; do
        name=$(basename "$t")
        status=$(cat "$work/tests/$name/status")
        if ((status == 0)); then
            echo "$name: $(grep '^test result' "$work/tests/$name/output.txt")"
            continue
        fi
        failed=1
        if ((status == 124)); then
            echo "$name: stopped at its ${test_limit} s limit after" \
                "$(grep -c ' \.\.\. ok$' "$work/tests/$name/output.txt") passed test(s)"
        else
            echo "$name: FAILED (exit status $status)"
        fi
        grep -E "^test |panicked|diff|assert|left|right|Error|error" "$work/tests/$name/output.txt" | head -n 40
    done
    return $failed
}
if [[ $device == cuda ]]; then
    test_limit=$((tests_limit - 5))
    export -f equivalence_tests
    export work repo test_limit
    part t "$tests_limit" bash -c equivalence_tests
fi

bench=("$rem" bench imagine --size "$size" --horizon 10 --device "$device")
torch_bench=(python3 scripts/torch_imagine.py --size "$size" --horizon 10 --controller-grad
    --device "$device")
# Seconds per call of generator $1 in part $2's output.
seconds_per_call() { awk -v g="$1" '$1 == g && $3 == "s/call" { print $2 }' "$work/$2.txt"; }
# The ratio ours / PyTorch of each generator, from two parts' outputs.
ratios() {
    local generator ours theirs
    [[ -f $work/$1.txt && -f $work/$2.txt ]] || return 0
    for generator in Pop TokenByToken; do
        ours=$(seconds_per_call "$generator" "$1")
        theirs=$(seconds_per_call "$generator" "$2")
        if [[ -n $ours && -n $theirs ]]; then
            awk -v g="$generator" -v a="$ours" -v b="$theirs" 'BEGIN {
                printf "%-14s ours %.3f s/call, PyTorch %.3f s/call: ours at %.2fx PyTorch speed\n", g, a, b, b / a }'
        fi
    done
}
have_torch=
python3 -c "import torch" 2>/dev/null && have_torch=1

part a 240 "${bench[@]}" --batch "$batch" --iterations 2
[[ -n $have_torch ]] && part b 50 "${torch_bench[@]}" --batch "$batch" --iterations 3
ratios a b
part w 60 "${bench[@]}" --batch "$batch" --iterations 1 --generator pop
part a8 50 "${bench[@]}" --batch 8 --iterations 2
[[ -n $have_torch ]] && part b8 30 "${torch_bench[@]}" --batch 8 --iterations 3
ratios a8 b8
read -r -a extra <<< "${REM_SET:-}"
# The spec's LPIPS term needs weights/lpips_vgg16.safetensors (59 MB), which does not
# fit the 64 MiB carried beside the binaries, and the PyTorch mirror has no LPIPS:
# without the file, (p) and (c) run without the term, and say so.
extra_sets=()
if [[ ! -f weights/lpips_vgg16.safetensors ]]; then
    echo "no LPIPS weights here: (p) and (c) run with tokenizer.perceptual=none"
    extra_sets+=(--set tokenizer.perceptual=none)
fi
for word in "${extra[@]}"; do extra_sets+=(--set "$word"); done
part p 90 "$rem" bench phases --device "$device" --iterations 2 "${extra_sets[@]}"

# (c) The Atari games run in ale-py worker processes; install the carried wheel if needed.
if ! python3 -c "import ale_py" 2>/dev/null; then
    python3 -m pip install --quiet --no-deps --no-index --find-links .whl --target "$work/python" ale-py
    export PYTHONPATH="$work/python${PYTHONPATH:+:$PYTHONPATH}"
fi
sets=()
for key in tokenizer world_model actor_critic; do
    sets+=(--set "$key.optim.start_epoch=1" --set "$key.optim.steps_per_epoch=$steps")
done
part c 200 "$rem" train --config "runs/atari100k/$game.toml" --set "device=$device" \
    --run-dir "$work/run" --set "collect.epochs=$epochs" --set "collect.collect_until_epoch=$epochs" \
    --set eval.every_epochs=0 --set eval.final_episodes=1 --set checkpoint.every_epochs=100 \
    "${sets[@]}" "${extra_sets[@]}"
if [[ -s $work/run/metrics.jsonl ]]; then
    python3 - "$work/run/metrics.jsonl" "$steps" <<'EOF'
import json, sys
steps = int(sys.argv[2])
print("== (c) each epoch's losses (total) and seconds per phase (per step in brackets)")
parts = ("tokenizer", "world_model", "actor_critic")  # the phases that take optimisation steps
for line in open(sys.argv[1]):
    m = json.loads(line)
    losses = ", ".join(f"{k} {m[k]['total']:.4f}" for k in parts
                       if isinstance(m.get(k), dict) and "total" in m[k])
    seconds = ", ".join(f"{k} {v:.2f}" + (f" ({v / steps:.3f}/step)" if k in parts else "")
                        for k, v in m["seconds"].items())
    print(f"epoch {m['epoch']}: losses: {losses}; seconds: {seconds}")
EOF
fi

# (u) burn's autotuning (the `autotune` build): POP at batch 128, for what is left of the
# budget. Each result is saved as soon as its operation is tuned, so even a run stopped
# at its limit spares the next one that tuning (cubecl-autotune.tar.gz, above).
if [[ $device == cuda && -x $rem_autotune ]]; then
    part u 600 "$rem_autotune" bench imagine --size "$size" --horizon 10 --device "$device" \
        --batch "$batch" --iterations 2 --generator pop
    ratios u b
fi
