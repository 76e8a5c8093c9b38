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

# Every run of the sweep finished; fit.json is the calibrated law (a power-law allocation with a loss
# law attached, intervals from its replicate laws); the validation plan is within its evidence, its
# model was trained, and the prediction check compares the calibrated law's loss with the observed.
done_runs=$(sqlite3 -readonly "$out/state.db" "SELECT COUNT(*) FROM runs WHERE state = 'done'")
[ "$done_runs" = 15 ] || fail "expected 15 runs done, got $done_runs"
[ -s "$out/validation.json" ] || fail "$out/validation.json missing: no prediction check"
grep -q "demo: prediction check demo-validation/" "$work/first.log" || fail "no prediction check line"
grep -q "YOUR SWEEP CANNOT SUPPORT THIS BUDGET" "$work/first.log" || fail "1e24 not refused from the sweep's fit"
python3 - "$out/fit.json" "$out/plan.json" "$out/report.html" "$out/validation.json" <<'PY' || fail "outputs (above)"
import json, math, sys
fit = json.load(open(sys.argv[1]))
assert fit["method"] == "calibrated", fit["method"]
law = fit["law"]
for k in ("E", "A", "B", "alpha", "beta"):
    assert math.isfinite(law[k]) and law[k] > 0, f"fit.json law.{k} = {law[k]}"
assert law["params_opt"]["exponent"] > 0, law["params_opt"]
assert fit["n_points"] == 15, fit["n_points"]
assert fit.get("bootstrap_resamples", 0) > 0, "no replicate laws"
assert fit["provenance"]["params_convention"] == "non_embedding", fit["provenance"]
plan = json.load(open(sys.argv[2]))
assert plan["evidence"]["supported"], plan["evidence"]
assert not plan.get("extrapolated", False), "the validation plan is extrapolated"
lo, hi = plan["params_opt_interval"]
assert hi / lo <= 10, plan["params_opt_interval"]
html = open(sys.argv[3]).read()
assert html.count("<svg") >= 4, f"{html.count('<svg')} SVG plots in report.html"
for run in ("C3e09-L1-d12", "C1e10-L1-d16", "C3e10-L2-d32", "C3e11-planned"):
    assert run in html, f"{run} not in the report's runs table"
assert "Prediction check" in html, "no Prediction check table in the report"
check = json.load(open(sys.argv[4]))
assert math.isfinite(check["loss"]) and check["loss_interval"] is not None, check
print("demo_test: calibrated law E=%.3f alpha=%.3f beta=%.3f, N_opt exponent %.3f; validation predicted %.4f [%.4f, %.4f]; %d SVG plots"
      % (law["E"], law["alpha"], law["beta"], law["params_opt"]["exponent"], check["loss"],
         check["loss_interval"][0], check["loss_interval"][1], html.count("<svg")))
PY
grep "demo: prediction check" "$work/first.log" >&2

# A second run reuses the shards and every finished run.
t1=$(date +%s)
if ! ISOFLOP_BIN="$bin" "$root/scripts/demo" "$out" >"$work/second.log" 2>&1; then
  tail -n 60 "$work/second.log" >&2
  fail "second run exited non-zero"
fi
echo "demo_test: second run $(($(date +%s) - t1)) s" >&2
grep -q "reusing $out/shards" "$work/second.log" || fail "second run rebuilt the shards"
grep -q "0 runs added, 15 already recorded" "$work/second.log" || fail "second run re-added runs"
grep -q "0 runs added, 1 already recorded" "$work/second.log" || fail "second run re-added the validation run"
grep -q "15 launches" "$work/second.log" && fail "second run relaunched runs"
grep -q "0 launches" "$work/second.log" || fail "second run: no '0 launches' line from the daemon"
echo "demo_test: ok" >&2
