#!/usr/bin/env bash
# CTest trainer_cuda_compiles: the CUDA kernels and the NCCL code compile (and link into a
# static library) with nvcc on a machine without a GPU. Exit 77 (skipped) without nvcc/nccl.h.
# ISOFLOP_CUDA_CHECK_FULL=1 also builds isoflop-train with ISOFLOP_WITH_CUDA=1 (the libtorch
# side of the CUDA path; several minutes on a 2-core machine).
set -euo pipefail
src=$1
build=$2
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ ! -x "$nvcc" ]; then echo "no nvcc: skipped"; exit 77; fi
cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
if [ ! -f "$cuda_root/include/nccl.h" ] && [ ! -f /usr/include/nccl.h ]; then echo "no nccl.h: skipped"; exit 77; fi
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DISOFLOP_TRAINER_ONLY=ON -DISOFLOP_WITH_CUDA=ON \
  -DISOFLOP_BUILD_TESTS=OFF -DCMAKE_CUDA_COMPILER="$nvcc" > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
targets=(isoflop_trainer_cuda)
[ "${ISOFLOP_CUDA_CHECK_FULL:-0}" = 1 ] && targets+=(isoflop-train)
cmake --build "$build" --target "${targets[@]}" -j2
echo "compiled: ${targets[*]}"
