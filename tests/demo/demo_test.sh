#!/usr/bin/env bash
# The README's main command, end to end, as CI runs it: scripts/demo on the real corpus (Debian's
# r-cran-janeaustenr, fetched with apt-get download), a real 15-run sweep of the CPU trainer on the
# local executor, the fit, the plan and the report, with the isoflop binary this build made
# (ISOFLOP_BIN: the demo's own set-up and build steps are what scripts/test just did). Then a
# second run on the same OUT_DIR must retrain nothing and still exit 0.
# Usage: demo_test.sh ISOFLOP_BIN SOURCE_DIR WORK_DIR        (CTest: demo_end_to_end)
set -euo pipefail
bin=$1 root=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
out="$work/out"
fail() { echo "demo_test: $*" >&2; exit 1; }

# No Debian mirror, no corpus: skipped (CTest SKIP_RETURN_CODE 77), said so.
if ! "$root/scripts/corpus" "$out/corpus" >"$work/corpus.log" 2>&1; then
  cat "$work/corpus.log" >&2
  echo "demo_test: SKIPPED: the corpus could not be fetched (above)" >&2
  exit 77
fi

t0=$(date +%s)
if ! ISOFLOP_BIN="$bin" "$root/scripts/demo" "$out" >"$work/first.log" 2>&1; then
  tail -n 60 "$work/first.log" >&2
  fail "first run exited non-zero"
fi
echo "demo_test: first run $(($(date +%s) - t0)) s" >&2
for f in report.html fit.json plan.json runs.csv state.db; do
  [ -s "$out/$f" ] || fail "$out/$f missing after the first run"
done

# Every run of the sweep finished, and the fit is a real law with Approaches 1-2 beside it.
done_runs=$(sqlite3 -readonly "$out/state.db" "SELECT COUNT(*) FROM runs WHERE state = 'done'")
[ "$done_runs" = 15 ] || fail "expected 15 runs done, got $done_runs"
python3 - "$out/fit.json" "$out/plan.json" "$out/report.html" <<'PY' || fail "outputs (above)"
import json, math, sys
fit = json.load(open(sys.argv[1]))
law = fit["law"]
for k in ("E", "A", "B", "alpha", "beta"):
    assert math.isfinite(law[k]) and law[k] > 0, f"fit.json law.{k} = {law[k]}"
assert fit["n_points"] == 15, fit["n_points"]
assert fit.get("bootstrap_resamples", 0) > 0, "no bootstrap intervals"
assert "envelope" in json.dumps(fit), "Approach 1 (envelope) missing from fit.json"
plan = json.load(open(sys.argv[2]))
assert plan, "empty plan.json"
html = open(sys.argv[3]).read()
assert html.count("<svg") >= 4, f"{html.count('<svg')} SVG plots in report.html"
for run in ("C3e09-L1-d12", "C1e10-L1-d16", "C3e10-L2-d32"):
    assert run in html, f"{run} not in the report's runs table"
print("demo_test: law E=%.3f alpha=%.3f beta=%.3f; %d SVG plots" % (law["E"], law["alpha"], law["beta"], html.count("<svg")))
PY

# A second run reuses the shards and every finished run.
t1=$(date +%s)
if ! ISOFLOP_BIN="$bin" "$root/scripts/demo" "$out" >"$work/second.log" 2>&1; then
  tail -n 60 "$work/second.log" >&2
  fail "second run exited non-zero"
fi
echo "demo_test: second run $(($(date +%s) - t1)) s" >&2
grep -q "reusing $out/shards" "$work/second.log" || fail "second run rebuilt the shards"
grep -q "0 runs added, 15 already recorded" "$work/second.log" || fail "second run re-added runs"
grep -q "15 launches" "$work/second.log" && fail "second run relaunched runs"
grep -q "0 launches" "$work/second.log" || fail "second run: no '0 launches' line from the daemon"
echo "demo_test: ok" >&2
