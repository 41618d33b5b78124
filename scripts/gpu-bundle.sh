#!/usr/bin/env bash
# Builds, on a machine with the Rust toolchain, what scripts/gpu-check.sh runs on a GPU
# machine that has none: the `--features cuda` release binary (burn's CUDA backend with
# fusion) and the test binaries of the equivalence tests (which run on that backend in
# this build), the `--features autotune` release binary (the same with burn's
# autotuning), all stripped and packed into dist/rem-cuda.tar.xz; and the ale-py wheel
# in .whl/ for a GPU machine without network. Needs no GPU, nvcc or CUDA libraries.
#
#   scripts/gpu-bundle.sh     (target folders target-cuda/ and target-cuda-autotune/)
#
# Carry dist/rem-cuda.tar.xz, .whl and .cubecl-cache (if present) to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target-cuda

# The tests whose forms must agree on any backend: those on worldmodel/tests/common's
# EquivalenceBackend.
mapfile -t tests < <(grep -l EquivalenceBackend worldmodel/tests/*.rs | xargs -n 1 basename -s .rs)

cargo build --release --features cuda -p rem-agent
# --release: the test binaries then share the release build's dependencies.
test_args=()
for t in "${tests[@]}"; do test_args+=(--test "$t"); done
executables=$(cargo test --release --features cuda -p rem-worldmodel --no-run "${test_args[@]}" \
    --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
')

CARGO_TARGET_DIR=target-cuda-autotune cargo build --release --features autotune -p rem-agent

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tests" dist
strip -o "$stage/rem-cuda" target-cuda/release/rem
strip -o "$stage/rem-cuda-autotune" target-cuda-autotune/release/rem
while read -r name path; do
    strip -o "$stage/tests/$name" "$path"
done <<< "$executables"
tar -C "$stage" -cJf dist/rem-cuda.tar.xz .
echo "dist/rem-cuda.tar.xz: $(du -h dist/rem-cuda.tar.xz | cut -f1) ($(ls "$stage/tests" | tr '\n' ' '))"

if ! ls .whl/ale_py-0.12.1-*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 -d .whl ale-py==0.12.1
fi
