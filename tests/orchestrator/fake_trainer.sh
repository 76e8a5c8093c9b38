#!/bin/bash
# A stand-in for `isoflop train` in the orchestrator's tests: it follows the trainer's contract
# (docs/interfaces.md: flags, run dir files, exit codes) in milliseconds, so daemon behaviour can
# be tested without libtorch. Its loss follows a known law, L = E + A/N^alpha + B/D^beta with
# Hoffmann et al. 2022's Approach 3 constants (times +-1% deterministic noise), so the refit loop
# has a truth to recover.
# Test knobs (read from run.yaml): fake_fail_first (attempts that exit fake_fail_code first),
# fake_fail_code, fake_sleep_s, fake_corrupt_line (write one corrupt metrics line), fake_partial_line
# (write the last metrics line in two pieces, 3 s apart), fake_wait_signal
# (sleep until SIGUSR1/SIGTERM, checkpoint, exit 75; 2: also with --resume while no checkpoint exists).
set -u
config= out= resume=0 threads=
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --data) shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --resume) resume=1; shift ;;
    *) echo "fake_trainer: unknown flag $1" >&2; exit 2 ;;
  esac
done
[ -f "$config" ] || { echo "fake_trainer: $config: no config" >&2; exit 2; }
get() { awk -v k="$1" -F': ' '$1 == k { v = $2; gsub(/^"|"$/, "", v); print v }' "$config"; }
layers=$(get layers); d_model=$(get d_model); tokens=$(get tokens)
fail_first=$(get fake_fail_first); fail_first=${fail_first:-0}
fail_code=$(get fake_fail_code); fail_code=${fail_code:-1}
sleep_s=$(get fake_sleep_s); sleep_s=${sleep_s:-0}
corrupt=$(get fake_corrupt_line); wait_signal=$(get fake_wait_signal)
mkdir -p "$out"
attempts_file="$out/fake_attempts"
n=$(( $(cat "$attempts_file" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$attempts_file"
# The GPUs the local backend gave this attempt, with when it held them (docs/orchestrator.md).
if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
  printf 'start %s %s\n' "$(date +%s.%N)" "$CUDA_VISIBLE_DEVICES" >> "$out/fake_gpus"
  trap 'printf "end %s\n" "$(date +%s.%N)" >> "$out/fake_gpus"' EXIT
fi
# The intra-op threads it was given (--threads), when any (docs/orchestrator.md, `device`).
[ -n "$threads" ] && echo "$threads" > "$out/fake_threads"
echo "fake_trainer attempt $n resume=$resume args: config=$config"
[ "$resume" = 1 ] && echo "$n" >> "$out/fake_resumed"
if [ "$n" -le "$fail_first" ]; then echo "fake_trainer: failing on purpose with $fail_code"; exit "$fail_code"; fi
params=$(awk -v l="$layers" -v d="$d_model" 'BEGIN { printf "%.17g", 12 * l * d * d }')
# Deterministic +-1% noise per run, so bootstrap intervals have a width that can narrow.
loss=$(awk -v n="$params" -v t="$tokens" -v l="$layers" -v d="$d_model" 'BEGIN {
  u = ((l * 7919 + d * 104729 + t) % 1000) / 1000.0 - 0.5
  printf "%.17g", (1.69 + 406.4 / n^0.34 + 410.7 / t^0.28) * (1 + 0.02 * u) }')
# fake_wait_signal 2: the same until a checkpoint exists, for launchers that always pass --resume
# (plan's run.sbatch: isoflop train --resume on a fresh directory starts from scratch).
if { [ "$wait_signal" = 1 ] && [ "$resume" = 0 ]; } || { [ "$wait_signal" = 2 ] && [ ! -f "$out/checkpoint.pt" ]; }; then
  trap 'echo ckpt > "$out/checkpoint.pt"; echo "fake_trainer: checkpointed"; exit 75' USR1 TERM
  printf '{"step": 1, "tokens": 1, "train_loss": %s}\n' "$loss" >> "$out/metrics.jsonl"
  for _ in $(seq 1 600); do sleep 0.1; done
  exit 1
fi
partial=$(get fake_partial_line)
for step in 1 2 3; do
  if [ "$step" = 3 ] && [ -n "$partial" ]; then
    # A line written in two pieces, as a live trainer's last line can be read half-written.
    printf '{"step": 3, "tokens"' >> "$out/metrics.jsonl"
    sleep 3
    printf ': 3, "train_loss": %s}\n' "$loss" >> "$out/metrics.jsonl"
    continue
  fi
  printf '{"step": %d, "tokens": %d, "train_loss": %s, "lr": 0.001}\n' "$step" "$step" "$loss" >> "$out/metrics.jsonl"
  if [ "$step" = 2 ] && [ -n "$corrupt" ]; then echo '{"step": 2, "train_loss": nan-garbage' >> "$out/metrics.jsonl"; fi
done
sleep "$sleep_s"
printf '{"final_eval_loss": %s, "params_non_embedding": %s, "tokens": %s, "flops": 0, "wall_time_s": 0.01, "energy_kwh": 0, "status": "done"}\n' \
  "$loss" "$params" "$tokens" > "$out/summary.json.tmp"
mv "$out/summary.json.tmp" "$out/summary.json"
exit 0
