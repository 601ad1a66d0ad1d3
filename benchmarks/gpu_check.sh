#!/usr/bin/env bash
# GPU check: the whole pipeline, as a user runs it, on whatever accelerator JAX sees, then the full-scale
# training benchmark. Each step's wall time is printed; a failing step is reported and the rest still run.
#   PY=python3 SCALE=small TRAIN_SCALE=full bash benchmarks/gpu_check.sh   # from the repository root
# (TRAIN_SCALE=none skips bench_train.py)
# Used for the GPU figures in BENCHMARKS.md (bench_train, "On a GPU").
set -u
PY=${PY:-python3}
SCALE=${SCALE:-small}
TRAIN_SCALE=${TRAIN_SCALE:-full}
WORK=${WORK:-/tmp/kuaicore_gpu_check}
rm -rf "$WORK" && mkdir -p "$WORK"
K="$PY -m kuaicore.cli"

step() {  # step NAME COMMAND...: run, time, report failure without stopping
    local name=$1; shift
    local t0; t0=$(date +%s%N)
    "$@"; local rc=$?
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf '## %-18s rc=%d  %d.%03d s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000))
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
$PY - <<'PY'
import importlib, platform
print("python", platform.python_version(), platform.machine())
for m in ("jax", "jaxlib", "optax", "numba", "numpy", "duckdb", "pyarrow", "click"):
    try:
        print(m, importlib.import_module(m).__version__)
    except Exception as err:  # noqa: BLE001 - a report, not a program
        print(m, "unavailable:", err)
import jax
print("jax devices:", jax.devices())
PY

step synth            $K synth "$WORK/data" --scale "$SCALE" --seed 0
step build-features   $K build-features "$WORK/data" --out "$WORK/art" --seed 0
step train-two-tower  $K train "$WORK/art" --run tt --seed 0
step evaluate         $K evaluate "$WORK/art" --run tt --k 10
step train-cpu        env JAX_PLATFORMS=cpu $K train "$WORK/art" --run tt_cpu --seed 0
step evaluate-cpu     $K evaluate "$WORK/art" --run tt_cpu --k 10
[ "$TRAIN_SCALE" = none ] || step bench-train $PY benchmarks/bench_train.py --scale "$TRAIN_SCALE" --art "$WORK/bench_art"
