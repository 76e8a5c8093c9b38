#!/bin/bash
# A stand-in for Megatron-LM's pretrain_gpt.py (tests/orchestrator/launch_slurm_test.cc: no GPU,
# no Megatron here). It reads the emitted megatron.args as pretrain_gpt.py would ($(cat
# megatron.args) on its command line) and keeps Megatron's checkpoint contract: --load DIR resumes
# from DIR/latest_checkpointed_iteration.txt, --save DIR writes iter_NNNNNNN/ and that file every
# --save-interval iterations, and with --exit-signal-handler SIGTERM means "checkpoint and exit 0"
# (megatron/training/training.py). Iterations advance FAKE_ENGINE_ITERS_PER_TICK (default 200)
# every 0.05 s; rank 0 writes. FAKE_ENGINE_READY, if set, is touched once the trap is set.
set -u
save="" load="" iters=0 interval=0
while [ $# -gt 0 ]; do
  case "$1" in
    --save) save=$2; shift ;;
    --load) load=$2; shift ;;
    --train-iters) iters=$2; shift ;;
    --save-interval) interval=$2; shift ;;
  esac
  shift
done
[ -n "$save" ] && [ "$iters" -gt 0 ] && [ "$interval" -gt 0 ] || { echo "fake_megatron: missing --save/--train-iters/--save-interval" >&2; exit 2; }
rank=${RANK:-0}
it=0
if [ -n "$load" ] && [ -f "$load/latest_checkpointed_iteration.txt" ]; then
  it=$(cat "$load/latest_checkpointed_iteration.txt")
  echo "fake_megatron: rank $rank loaded checkpoint from $load at iteration $it"
else
  echo "fake_megatron: rank $rank starts from scratch"
fi
save_checkpoint() {
  [ "$rank" = 0 ] || return 0
  mkdir -p "$save/$(printf 'iter_%07d' "$it")"
  echo "$it" > "$save/latest_checkpointed_iteration.txt.tmp" && mv "$save/latest_checkpointed_iteration.txt.tmp" "$save/latest_checkpointed_iteration.txt"
  echo "fake_megatron: saved checkpoint at iteration $it"
}
stop=0
trap 'stop=1' TERM
[ -n "${FAKE_ENGINE_READY:-}" ] && touch "$FAKE_ENGINE_READY"
step=${FAKE_ENGINE_ITERS_PER_TICK:-200}
while [ "$it" -lt "$iters" ]; do
  if [ "$stop" = 1 ]; then
    save_checkpoint
    echo "fake_megatron: exiting on signal at iteration $it"
    exit 0
  fi
  next=$((it + step))
  [ "$next" -gt "$iters" ] && next=$iters
  # Checkpoints at every multiple of the interval crossed.
  while [ $(( (it / interval + 1) * interval )) -le "$next" ]; do
    it=$(( (it / interval + 1) * interval ))
    save_checkpoint
  done
  it=$next
  sleep 0.05 &
  wait $!
done
save_checkpoint
echo "fake_megatron: finished at iteration $it"
