#!/usr/bin/env bash
# The fitter against Epoch AI's scipy path, in the same run, on the same data (docs/benchmarks.md,
# "Fitter"): the whole `isoflop fit --method approach3` process on one thread (start-up, CSV reading and the 4,500-start
# fit: what a user waits for), then the scipy peer as a whole process (interpreter and imports
# included), both timed as whole processes (user + sys CPU seconds, wall); then the in-process
# bench (fit alone, 1 and 2 threads, and the 4,000-resample bootstrap). Timing by bash's `time`
# keyword (TIMEFORMAT: user, sys, wall of the child), so nothing beyond bash is needed.
# Usage: bench/fitter/run_fitter_bench.sh [BUILD_DIR]   (default: build/)
#        SCIPY_STARTS_EVERY=K times every K-th start only (the per-start cost is then scaled to 4,500).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
csv="$root/tests/data/chinchilla_epoch.csv"
every=${SCIPY_STARTS_EVERY:-1}
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
TIMEFORMAT='%U %S %R'
out=$(mktemp)
t=$( { time "$build/bin/isoflop" fit --runs "$csv" --drop-highest-loss 5 --method approach3 --threads 1 >"$out" 2>/dev/null; } 2>&1)
read -r u s e <<<"$t"
echo "{\"case\": \"isoflop fit process, 1 thread\", \"cpu_s\": $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }'), \"wall_s\": $e," \
     "\"objective\": \"$(awk '/objective/ {print $2}' "$out")\"}"
t=$( { time /usr/bin/python3 "$root/bench/fitter/epoch_scipy_reference.py" "$csv" --starts-every "$every" \
        --bootstrap 200 >"$out"; } 2>&1)
read -r u s e <<<"$t"
echo "{\"case\": \"scipy peer process (every ${every}th start; x${every} for 4,500)\", \"cpu_s\": $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')," \
     "\"wall_s\": $e}"
cat "$out"
rm -f "$out"
echo "# load after the peers: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bin/isoflop_fitter_bench" "$csv" --resamples 4000 --threads 2
"$build/bin/isoflop_fitter_bench" "$csv" --resamples 0 --threads 1
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
