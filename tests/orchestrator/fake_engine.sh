#!/bin/sh
# A stand-in for an external engine (tests/orchestrator/engine_wrap_test.cc): prints the real engine
# log $1 (tests/data/engine_logs) and exits 0. With "hold" as $2 it prints the first half, waits for
# SIGTERM/SIGUSR1 ("saving checkpoint", exit 0, as Megatron's --exit-signal-handler does) and never
# finishes on its own. The orchestrator's --config/--data/--out arguments follow and are ignored.
log=$1
mode=$2
if [ "$mode" = "hold" ]; then
  n=$(wc -l < "$log")
  head -n $((n / 2)) "$log"
  trap 'echo "saving checkpoint at signal"; kill $pid 2>/dev/null; exit 0' TERM USR1
  echo "waiting for a signal"
  sleep 60 &
  pid=$!
  wait $pid
  exit 1
fi
cat "$log"
