// One thread block per row. Pass 1 computes the row's max and sum of exponentials with
// the online-softmax recurrence (Milakov & Gimelshein 2018, algorithm 3); pass 2 writes
// the gradient d loss / d logit = scale * (p - onehot) over the logits.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cfloat>

#include "fused_classifier.h"

namespace isoflop::trainer::cuda {
namespace {

constexpr int kThreads = 512;

__device__ __forceinline__ float Load(const float* p, int64_t i) {
  return p[i];
}
__device__ __forceinline__ float Load(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}
__device__ __forceinline__ void Store(float* p, int64_t i, float v) {
  p[i] = v;
}
__device__ __forceinline__ void Store(__nv_bfloat16* p, int64_t i, float v) {
  p[i] = __float2bfloat16(v);
}

// Merges two (max, sum of exp(x - max)) pairs.
__device__ __forceinline__ void Merge(float& m, float& s, float m2, float s2) {
  const float m_new = fmaxf(m, m2);
  s = (m == -FLT_MAX ? 0.f : s * __expf(m - m_new)) + (m2 == -FLT_MAX ? 0.f : s2 * __expf(m2 - m_new));
  m = m_new;
}

template <typename T>
__global__ void FusedClassifierKernel(T* logits, const int64_t* targets, float* losses, int64_t vocab,
                                      float dloss_scale) {
  const int64_t row = blockIdx.x;
  T* x = logits + row * vocab;
  float m = -FLT_MAX, s = 0.f;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float v = Load(x, i);
    if (v > m) {
      s = (m == -FLT_MAX ? 0.f : s * __expf(m - v)) + 1.f;
      m = v;
    } else {
      s += __expf(v - m);
    }
  }
  // Warp reduction, then across warps through shared memory.
  for (int off = 16; off > 0; off >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffff, m, off);
    const float s2 = __shfl_xor_sync(0xffffffff, s, off);
    Merge(m, s, m2, s2);
  }
  __shared__ float sm[kThreads / 32], ss[kThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) {
    sm[warp] = m;
    ss[warp] = s;
  }
  __syncthreads();
  if (warp == 0) {
    m = lane < warps ? sm[lane] : -FLT_MAX;
    s = lane < warps ? ss[lane] : 0.f;
    for (int off = 16; off > 0; off >>= 1) {
      const float m2 = __shfl_xor_sync(0xffffffff, m, off);
      const float s2 = __shfl_xor_sync(0xffffffff, s, off);
      Merge(m, s, m2, s2);
    }
    if (lane == 0) {
      sm[0] = m;
      ss[0] = s;
    }
  }
  __syncthreads();
  const float row_max = sm[0], row_sum = ss[0];
  const int64_t target = targets[row];
  if (threadIdx.x == 0) losses[row] = logf(row_sum) + row_max - Load(x, target);
  __syncthreads();  // every thread has read x[target] (thread 0) before it is overwritten
  const float inv_sum = 1.f / row_sum;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float p = __expf(Load(x, i) - row_max) * inv_sum;
    Store(x, i, dloss_scale * (p - (i == target ? 1.f : 0.f)));
  }
}

}  // namespace

int LaunchFusedClassifier(void* logits, LogitsType type, const int64_t* targets, float* losses, int64_t rows,
                          int64_t vocab, float dloss_scale, void* stream) {
  if (rows == 0) return 0;
  auto s = static_cast<cudaStream_t>(stream);
  if (type == LogitsType::kBFloat16) {
    FusedClassifierKernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(
        static_cast<__nv_bfloat16*>(logits), targets, losses, vocab, dloss_scale);
  } else {
    FusedClassifierKernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(
        static_cast<float*>(logits), targets, losses, vocab, dloss_scale);
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace isoflop::trainer::cuda
