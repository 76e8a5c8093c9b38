#!/usr/bin/env bash
# Runs the data pipeline benchmark: builds the corpus (scripts/corpus), the ≥ 500 MB bench
# corpus (generated, never committed), the C++ benchmark and the numpy MinHash reference on the
# same documents, and prints both. Usage: bench/data_pipeline/run.sh [BUILD_DIR] [MB]
# REPEAT=R interleaves the --threads 1 and 2 builds R times; MODEL_TASKS=N adds the stage model
# (N tasks per stage, each in its own process). The --threads figure of issue 17:
#   REPEAT=3 MODEL_TASKS=4 bench/data_pipeline/run.sh build 200
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
mb=${2:-520}
work=${ISOFLOP_BENCH_DIR:-/tmp/isoflop-data-bench}
mkdir -p "$work"
"$root/scripts/corpus" "$work/corpus" >/dev/null
cmake --build "$build" --target data_pipeline_bench >/dev/null
echo "== C++ (one binary; per-stage core seconds; threads 1 and 2)" >&2
"$build/bin/data_pipeline_bench" --source "$work/corpus/austen.jsonl" --corpus "$work/bench-$mb.jsonl" \
  --mb "$mb" --out "$work/out" --threads 1,2 --minhash-mb 100 --repeat "${REPEAT:-1}" \
  --stage-model "${MODEL_TASKS:-0}" | tee "$work/cpp.json"
echo "== Python numpy MinHash reference (datasketch-style), first 100 MB of the same corpus" >&2
/usr/bin/python3 "$root/bench/data_pipeline/minhash_reference.py" "$work/bench-$mb.jsonl" 100 | tee "$work/python.json"
