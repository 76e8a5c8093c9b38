// GEMM time as a function of the matrix shape on a given GPU (docs/planner.md §4, "GEMMs").
//
// Roofline (Williams, Waterman & Patterson 2009, "Roofline: an insightful visual performance
// model", CACM 52(4)): a GEMM takes the longer of its compute time and its memory time. Compute
// runs at the GPU's measured maximum achievable matmul rate (MAMF: Bekman, ml-engineering,
// compute/accelerator/README.md at commit 744d01e1 — A100 SXM 271.2, H100 SXM 794.5, B200 1745,
// GB200 1822 TFLOP/s bf16) times the calibrated matmul_efficiency, after tile and wave
// quantisation as NVIDIA's "Matrix Multiplication Background User's Guide" describes them: the
// output is computed in 128 x 128 tiles (a partial tile costs a full one), and the tiles run in
// waves of one tile per SM (a partial last wave costs a full one). Memory time: bf16 A, B and C
// through HBM once. Small models (d_model 256-1024) are memory-bound or wave-quantised, which is
// what gives them a lower MFU than large models on the same GPU.
#include <algorithm>
#include <cmath>

#include "perf_internal.h"

namespace isoflop::planner::internal {

// Each output tile also pays for filling and draining its main-loop pipeline and for its epilogue:
// CUTLASS/cuBLAS tensor-core kernels stream K in 64-wide slices through a 3-4 stage pipeline
// (CUTLASS, "Efficient GEMM in CUDA", media/docs/efficient_gemm.md at commit d572cc1a), about 256 of K per tile. It makes
// short-K GEMMs (small d_model, large TP) slower than their FLOPs, the effect the A100 rows of
// Narayanan et al. 2021 show from 1.7B to 145.6B parameters.
constexpr double kPipelineFillK = 256;

double GemmSeconds(double m, double n, double k, const Hardware& hw, double batch) {
  if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) return 0;
  constexpr double kTile = 128;
  const double sms = std::max(hw.sm_count, 1);
  double tiles = std::ceil(m / kTile) * std::ceil(n / kTile) * batch;
  // Split-K: with fewer output tiles than SMs (a weight gradient of a narrow model: small M and N,
  // K = all the tokens), cuBLAS splits K across SMs and adds the partial products (CUTLASS's
  // "split-K" and "stream-K" kernels); at least 512 of K per split.
  double split = 1;
  if (tiles < sms) split = std::max(1.0, std::min(std::floor(sms / tiles), std::floor(k / 512)));
  tiles *= split;
  const double waves = std::ceil(tiles / sms);
  // Each SM computes one 128 x 128 x (k / split) tile per wave at 1/sms of the matmul rate.
  const double compute = waves * 2.0 * kTile * kTile * (k / split + kPipelineFillK) * sms / hw.matmul_flops;
  const double bytes = 2.0 * (m * k + k * n + m * n) * batch;
  const double memory = bytes / hw.hbm_bytes_per_s;
  return std::max(compute, memory);
}

}  // namespace isoflop::planner::internal
