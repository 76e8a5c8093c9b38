#!/usr/bin/env bash
# The trainer's GPU benchmark, in one call on a machine with an NVIDIA GPU, nvcc, NCCL and
# a pip PyTorch (whose libtorch the standalone trainer links against):
#
#   bench/trainer/gpu_bench.sh [OUT_DIR]            (default: /tmp/isoflop-gpu-bench)
#
# Builds isoflop-train standalone (-DISOFLOP_TRAINER_ONLY=ON -DISOFLOP_WITH_CUDA=ON), writes
# random-token shards (vocab 50257), then for GPT-2-shaped models of 124M, 52M and 16M
# parameters at seq 1024, bf16, runs in the same call:
#   isoflop-train (fused output layer + cross-entropy kernel), isoflop-train --no-fused-output,
#   PyTorch eager (bench/trainer/eager_reference.py) and, with COMPILE=1, torch.compile;
# and prints a markdown table of tokens/s and MFU (PaLM FLOPs per token, 989.4 TFLOP/s peak),
# plus summary.json's energy against the mean NVML power x wall time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-/tmp/isoflop-gpu-bench}
steps=${STEPS:-30}
mkdir -p "$out"
torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader | tee "$out/gpu.txt"
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"

echo "== build (standalone trainer, CUDA, NCCL)" >&2
cmake -S "$root" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DISOFLOP_TRAINER_ONLY=ON \
  -DISOFLOP_WITH_CUDA=ON -DISOFLOP_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH="$torch_prefix" \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" -DCMAKE_CUDA_COMPILER="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}" \
  > "$out/cmake.log"
cmake --build "$out/build" --target isoflop-train -j"$(nproc)" > "$out/build.log"
train="$out/build/bin/isoflop-train"

echo "== shards" >&2
[ -f "$out/shards/index.tsv" ] || python3 "$root/bench/trainer/make_shards.py" --out "$out/shards" --vocab 50257 \
  --train-tokens 30000000 --val-tokens 1000000

# name layers d_model heads ffn micro_batch
models=("124M 12 768 12 3072 16" "52M 8 512 8 2048 32" "16M 4 256 4 1024 32")
results="$out/results.jsonl"
: > "$results"
for m in "${models[@]}"; do
  read -r name layers d heads ffn mb <<< "$m"
  accum=4
  batch_tokens=$((mb * 1024 * accum))
  cfg="$out/$name.yaml"
  cat > "$cfg" <<YAML
layers: $layers
d_model: $d
heads: $heads
ffn: $ffn
mlp: gelu
norm: layernorm
vocab: 50257
seq_len: 1024
micro_batch: $mb
batch_tokens: $batch_tokens
tokens: $((batch_tokens * steps))
lr: 0.0006
warmup_steps: 5
log_every: 5
eval_every: 100000
eval_batches: 2
checkpoint_every: 0
YAML
  for variant in fused unfused; do
    flag=""; [ "$variant" = unfused ] && flag="--no-fused-output"
    run="$out/run-$name-$variant"
    rm -rf "$run"
    echo "== isoflop-train $name $variant" >&2
    "$train" --config "$cfg" --data "$out/shards" --out "$run" --device cuda $flag --quiet 2> "$run.log" || {
      echo "isoflop-train failed, see $run.log" >&2; tail -5 "$run.log" >&2; continue; }
    # tokens/s and MFU: mean over the logged windows after the first (warm-up) one.
    python3 - "$run" "$name" "$variant" >> "$results" <<'PY'
import json, sys
run, name, variant = sys.argv[1:4]
lines = [json.loads(l) for l in open(run + "/metrics.jsonl") if l.strip().endswith("}")]
w = lines[1:] or lines
s = json.load(open(run + "/summary.json"))
power = [l["power_w"] for l in lines if "power_w" in l]
print(json.dumps({"model": name, "impl": "isoflop-train" + ("" if variant == "fused" else " --no-fused-output"),
                  "tokens_per_s": sum(l["tokens_per_s"] for l in w) / len(w), "mfu": sum(l["mfu"] for l in w) / len(w),
                  "peak_mem_bytes": lines[-1]["peak_mem_bytes"], "energy_kwh": s["energy_kwh"],
                  "power_x_time_kwh": (sum(power) / len(power) * s["wall_time_s"] / 3.6e6) if power else None}))
PY
  done
  for impl in eager ${COMPILE:+compile}; do
    echo "== pytorch $impl $name" >&2
    extra=""; [ "$impl" = compile ] && extra="--compile"
    python3 "$root/bench/trainer/eager_reference.py" --layers "$layers" --d-model "$d" --heads "$heads" \
      --ffn "$ffn" --vocab 50257 --seq-len 1024 --micro-batch "$mb" --accum "$accum" --steps "$steps" $extra \
      2> "$out/pytorch-$impl-$name.log" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['model']='$name'; print(json.dumps(d))" >> "$results" \
      || { echo "pytorch $impl failed, see $out/pytorch-$impl-$name.log" >&2; }
  done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| model | implementation | tokens/s | MFU | peak mem GiB | energy kWh (NVML counter) | mean power x time kWh |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    e = r.get("energy_kwh"); p = r.get("power_x_time_kwh")
    print(f"| {r['model']} | {r['impl']} | {r['tokens_per_s']/1e6:.3f} M | {100*r['mfu']:.1f}% | "
          f"{r['peak_mem_bytes']/2**30:.1f} | {'' if e is None else f'{e:.5f}'} | {'' if p is None else f'{p:.5f}'} |")
PY
