// Time per step (docs/planner.md §4): GEMM efficiency as a function of the matrix shape on each
// GPU (roofline + tile/wave quantisation on the measured MAMF), TP and DP communication overlap as
// Megatron-Core does it, per-collective latency, interleaved schedules, the slowest pipeline rank.
#include <gtest/gtest.h>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec Cluster(const char* name) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + name + ".yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}
const ModelShape kGpt3{96, 12288, 96, 96, 49152, 51200, 2048, Mlp::kGelu};
}  // namespace

TEST(TimeModel, GemmEfficiencyGrowsWithTheMatrixShape) {
  // One GPU, one layer-shaped model per width: a d = 256 model's GEMMs are memory-bound (roofline)
  // and a d = 8192 model's run near the matmul rate, so its MFU is much higher on the same GPU.
  ParallelConfig cfg;
  cfg.micro_batch = 4;
  cfg.global_batch = 4;
  cfg.zero = 0;
  cfg.recompute = Recompute::kNone;
  double previous = 0;
  for (int d : {256, 1024, 4096, 8192}) {
    ModelShape m{8, d, d / 64, d / 64, 4 * d, 32000, 2048, Mlp::kGelu};
    PerfSummary s;
    ASSERT_TRUE(EvaluatePerf(m, Cluster("h100-sxm"), cfg, PerfOptions{}, &s).ok());
    EXPECT_GT(s.gemm_efficiency, previous) << "d_model " << d;
    previous = s.gemm_efficiency;
  }
  EXPECT_GT(previous, 0.75);  // large GEMMs: close to matmul_efficiency x MAMF
  ModelShape tiny{8, 256, 4, 4, 1024, 32000, 2048, Mlp::kGelu};
  PerfSummary s;
  ASSERT_TRUE(EvaluatePerf(tiny, Cluster("h100-sxm"), cfg, PerfOptions{}, &s).ok());
  EXPECT_LT(s.gemm_efficiency, 0.6);
  // The same shapes on A100 and H100: each GPU's own MAMF, peak and HBM bandwidth.
  PerfSummary a100;
  ASSERT_TRUE(EvaluatePerf(tiny, Cluster("a100-80gb"), cfg, PerfOptions{}, &a100).ok());
  EXPECT_NE(a100.gemm_efficiency, s.gemm_efficiency);
}

TEST(TimeModel, TensorParallelOverlapHidesCommunication) {
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 8;
  cfg.dp = 1;
  cfg.global_batch = 64;
  PerfOptions on, off;
  off.tp_comm_overlap = false;
  PerfSummary a, b;
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("h100-sxm"), cfg, on, &a).ok());
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("h100-sxm"), cfg, off, &b).ok());
  EXPECT_GT(b.tp_comm_s, 0);
  EXPECT_NEAR(a.tp_comm_s, b.tp_comm_s * (1 - on.tp_overlap_efficiency), 1e-9 * b.tp_comm_s);
  EXPECT_LT(a.step_time_s, b.step_time_s);
}

TEST(TimeModel, DataParallelOverlapIsBoundedByTheBackwardPass) {
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 8;
  cfg.dp = 16;
  cfg.global_batch = 128;
  cfg.zero = 1;
  PerfOptions on, off, perfect;
  off.dp_comm_overlap = false;
  perfect.dp_overlap_efficiency = 1.0;
  PerfSummary a, b, c;
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("h100-sxm"), cfg, on, &a).ok());
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("h100-sxm"), cfg, off, &b).ok());
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("h100-sxm"), cfg, perfect, &c).ok());
  EXPECT_GT(b.dp_comm_exposed_s, a.dp_comm_exposed_s);
  // At least the fraction the engine cannot overlap stays exposed; more when one micro-batch's
  // backward (resp. forward) is shorter than the collective.
  EXPECT_GE(a.dp_comm_exposed_s, b.dp_comm_exposed_s * (1 - on.dp_overlap_efficiency) * 0.9999);
  EXPECT_LE(c.dp_comm_exposed_s, a.dp_comm_exposed_s);
  // With overlap a long all-reduce still shows what one micro-batch's backward cannot hide:
  // ZeRO-0 over slow links (A100, 25 GB/s NICs) with a single micro-batch.
  cfg.zero = 0;
  cfg.global_batch = 16;
  cfg.micro_batch = 1;
  PerfSummary slow;
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("a100-80gb"), cfg, perfect, &slow).ok());
  EXPECT_GT(slow.dp_comm_exposed_s, 0);
}

TEST(TimeModel, PerCollectiveLatencyGrowsWithTheGroup) {
  // A small model on many GPUs: NCCL's per-step latency (3.4 us NVLink, 14 us network) is part of
  // every collective and grows with the data-parallel group.
  ModelShape small{12, 768, 12, 12, 3072, 50304, 1024, Mlp::kGelu};
  ParallelConfig cfg;
  cfg.global_batch = 4096;
  cfg.zero = 1;
  PerfOptions o;
  double previous = 0;
  for (int dp : {8, 64, 512}) {
    cfg.dp = dp;
    PerfSummary s;
    ASSERT_TRUE(EvaluatePerf(small, Cluster("h100-sxm"), cfg, o, &s).ok());
    EXPECT_GT(s.latency_s, previous) << dp;
    previous = s.latency_s;
  }
}

TEST(TimeModel, InterleavingShrinksTheBubble) {
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 8;
  cfg.dp = 1;
  cfg.global_batch = 32;
  PerfSummary plain, interleaved;
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("a100-80gb"), cfg, PerfOptions{}, &plain).ok());
  cfg.vpp = 4;
  ASSERT_TRUE(EvaluatePerf(kGpt3, Cluster("a100-80gb"), cfg, PerfOptions{}, &interleaved).ok());
  EXPECT_NEAR(interleaved.bubble_s / plain.bubble_s, 0.25, 1e-9);  // (p-1)/(v m)
  EXPECT_GT(interleaved.pp_comm_s, plain.pp_comm_s);               // v x the transfers
}

TEST(TimeModel, LayersOffTheLastStageBalanceTheOutputLayer) {
  // LLaMA-3 405B on TP8 PP16: the last rank also computes the 128K-vocabulary output layer and
  // loss; a layer fewer there makes the pipeline's slowest rank faster (Dubey et al. 2024 Sec. 3.3.2).
  auto m = LoadModelYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/models/llama3-405b.yaml");
  ASSERT_TRUE(m.ok());
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 16;
  cfg.dp = 128;
  cfg.global_batch = 2048;
  cfg.zero = 2;
  cfg.recompute = Recompute::kNone;
  cfg.first_stage_layers = 6;
  cfg.last_stage_layers = 8;
  PerfSummary heavy_end, light_end;
  ASSERT_TRUE(EvaluatePerf(*m, Cluster("h100-sxm"), cfg, PerfOptions{}, &heavy_end).ok());
  cfg.first_stage_layers = 7;
  cfg.last_stage_layers = 7;
  ASSERT_TRUE(EvaluatePerf(*m, Cluster("h100-sxm"), cfg, PerfOptions{}, &light_end).ok());
  EXPECT_LT(light_end.step_time_s, heavy_end.step_time_s);
}
