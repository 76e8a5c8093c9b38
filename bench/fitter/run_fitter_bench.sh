#!/usr/bin/env bash
# Runs the fitter benchmark and its scipy peer in the same run, on the same data.
# Usage: bench/fitter/run_fitter_bench.sh [BUILD_DIR]   (default: build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bin/isoflop_fitter_bench" "$root/tests/data/chinchilla_epoch.csv" --resamples 4000 --threads 2
# SCIPY_STARTS_EVERY=K times every K-th start only (the per-start cost is then scaled to 4,500).
/usr/bin/python3 "$root/bench/fitter/epoch_scipy_reference.py" "$root/tests/data/chinchilla_epoch.csv" \
  --starts-every "${SCIPY_STARTS_EVERY:-1}" --bootstrap 200
