#!/usr/bin/env bash
# The trainer's CPU benchmark: isoflop-train against the PyTorch eager reference of the same
# model (bench/trainer/eager_reference.py, Debian's python3-torch 1.13, the same libtorch),
# interleaved in the same call, fp32, one thread each.
#
#   bench/trainer/cpu_bench.sh BUILD_DIR [OUT_DIR]       (or: cmake --build BUILD --target bench_trainer_cpu)
#
# Prints a markdown table of tokens/s (mean over logged windows after the first, and over
# REPEATS runs) for two shapes: the tests' 115K-parameter model and a 0.66M one (vocab 2048).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: cpu_bench.sh BUILD_DIR [OUT_DIR]}
out=${2:-/tmp/isoflop-cpu-bench}
repeats=${REPEATS:-3}
steps=${STEPS:-20}
train="$build/bin/isoflop-train"
py=/usr/bin/python3
mkdir -p "$out"
peak=80e9  # 1 core x 32 FLOP/cycle x 2.5 GHz: the trainer's nominal CPU peak (docs/trainer.md)

# name layers d_model heads kv_heads ffn mlp norm vocab seq micro_batch
models=("115K 2 64 4 2 192 swiglu rmsnorm 256 32 8" "0.66M 2 128 4 0 512 gelu layernorm 2048 128 8")
results="$out/results.jsonl"
: > "$results"
for m in "${models[@]}"; do
  read -r name layers d heads kv ffn mlp norm vocab seq mb <<< "$m"
  shards="$out/shards-$vocab"
  [ -f "$shards/index.tsv" ] || $py "$root/bench/trainer/make_shards.py" --out "$shards" --vocab "$vocab" \
    --train-tokens 2000000 --val-tokens 100000
  cfg="$out/$name.yaml"
  cat > "$cfg" <<YAML
layers: $layers
d_model: $d
heads: $heads
kv_heads: $kv
ffn: $ffn
mlp: $mlp
norm: $norm
vocab: $vocab
seq_len: $seq
micro_batch: $mb
batch_tokens: $((mb * seq))
tokens: $((mb * seq * steps))
warmup_steps: 5
log_every: 5
eval_every: 100000
eval_batches: 1
checkpoint_every: 0
peak_flops_per_s: $peak
YAML
  for r in $(seq "$repeats"); do
    run="$out/run-$name-$r"
    rm -rf "$run"
    "$train" --config "$cfg" --data "$shards" --out "$run" --threads 1 --quiet 2> "$run.log"
    $py - "$run" "$name" >> "$results" <<'PY'
import json, sys
run, name = sys.argv[1:3]
lines = [json.loads(l) for l in open(run + "/metrics.jsonl") if l.strip().endswith("}")]
w = lines[1:] or lines
print(json.dumps({"model": name, "impl": "isoflop-train (C++)", "tokens_per_s": sum(l["tokens_per_s"] for l in w) / len(w),
                  "mfu": sum(l["mfu"] for l in w) / len(w)}))
PY
    $py "$root/bench/trainer/eager_reference.py" --device cpu --threads 1 --layers "$layers" --d-model "$d" \
      --heads "$heads" --kv-heads "$kv" --ffn "$ffn" --mlp "$mlp" --norm "$norm" --vocab "$vocab" --seq-len "$seq" \
      --micro-batch "$mb" --accum 1 --steps "$steps" --warmup 5 --peak-flops "$peak" \
      | $py -c "import json,sys; d=json.loads(sys.stdin.read()); d['model']='$name'; d['impl']='PyTorch eager (Python)'; print(json.dumps(d))" >> "$results"
  done
done

$py - "$results" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| model | implementation | tokens/s (mean of runs) | min | max | MFU (nominal 80 GFLOP/s peak) |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
keys = []
for r in rows:
    if (r["model"], r["impl"]) not in keys:
        keys.append((r["model"], r["impl"]))
for k in keys:
    t = [r["tokens_per_s"] for r in rows if (r["model"], r["impl"]) == k]
    m = [r["mfu"] for r in rows if (r["model"], r["impl"]) == k]
    print(f"| {k[0]} | {k[1]} | {statistics.mean(t):,.0f} | {min(t):,.0f} | {max(t):,.0f} | {100*statistics.mean(m):.1f}% |")
PY
