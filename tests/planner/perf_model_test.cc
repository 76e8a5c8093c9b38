// Properties of the performance model that the papers state: ZeRO sharding (Rajbhandari et al.
// 2020), activation recomputation (Korthikanti et al. 2022), pipeline bubble (Narayanan 2021).
#include <gtest/gtest.h>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec A100() {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/a100-80gb.yaml");
  EXPECT_TRUE(c.ok());
  return *c;
}
const ModelShape kGpt3{96, 12288, 96, 96, 49152, 51200, 2048, Mlp::kGelu};
}  // namespace

TEST(PerfModel, ZeroStagesShardOptimizerGradientsWeights) {
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 8;
  cfg.dp = 16;
  cfg.global_batch = 1024;
  PerfSummary z[4];
  for (int stage = 0; stage <= 3; ++stage) {
    cfg.zero = stage;
    ASSERT_TRUE(EvaluatePerf(kGpt3, A100(), cfg, PerfOptions{}, &z[stage]).ok());
  }
  // Stage 0: 2-byte weights, 4-byte main gradients, 12 bytes of fp32 master copy and Adam moments
  // (Megatron-Core dist_optimizer.md: bf16 parameters with fp32 gradients = 18 bytes).
  EXPECT_NEAR(z[0].memory.optimizer / z[0].memory.weights, 6.0, 1e-9);
  EXPECT_NEAR(z[0].memory.gradients / z[0].memory.weights, 2.0, 1e-9);
  EXPECT_NEAR(z[1].memory.optimizer, z[0].memory.optimizer / 16, 1);
  EXPECT_NEAR(z[2].memory.gradients, z[0].memory.gradients / 16, 1);
  EXPECT_NEAR(z[3].memory.weights, z[0].memory.weights / 16, 1);
  // ZeRO-2 and -3 reduce-scatter after every micro-batch (and ZeRO-3 gathers the weights twice):
  // more data-parallel traffic than ZeRO-1's once per step.
  EXPECT_GT(z[2].dp_comm_exposed_s, z[1].dp_comm_exposed_s);
  EXPECT_GT(z[3].dp_comm_exposed_s, z[2].dp_comm_exposed_s);
  EXPECT_GT(z[3].memory.gathered, 0);
}

TEST(PerfModel, RecomputeTradesMemoryForTime) {
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 8;
  cfg.dp = 1;
  cfg.global_batch = 64;
  PerfOptions options;
  options.flash_attention = false;
  PerfSummary none, selective, full;
  cfg.recompute = Recompute::kNone;
  ASSERT_TRUE(EvaluatePerf(kGpt3, A100(), cfg, options, &none).ok());
  cfg.recompute = Recompute::kSelective;
  ASSERT_TRUE(EvaluatePerf(kGpt3, A100(), cfg, options, &selective).ok());
  cfg.recompute = Recompute::kFull;
  ASSERT_TRUE(EvaluatePerf(kGpt3, A100(), cfg, options, &full).ok());
  EXPECT_GT(none.memory.activations, selective.memory.activations);
  EXPECT_GT(selective.memory.activations, full.memory.activations);
  EXPECT_LT(none.step_time_s, selective.step_time_s);
  EXPECT_LT(selective.step_time_s, full.step_time_s);
  // MFU ignores recomputation; HFU counts it (Korthikanti Sec. 6.3).
  EXPECT_DOUBLE_EQ(none.mfu, none.hfu);
  EXPECT_GT(full.hfu, full.mfu);
  EXPECT_NEAR(full.hardware_flops_per_step / full.model_flops_per_step, 4.0 / 3.0, 0.02);
}

TEST(PerfModel, PlannersChoiceAtLeastAsFastAsEveryPublishedLayout) {
  // For every published configuration (tests/data/parallel_configs.csv), the search over layouts
  // of the same model on the same number of GPUs with the same global batch predicts at least the
  // throughput the model predicts for the paper's own layout.
  auto runs = LoadPublishedRuns(std::string(ISOFLOP_TEST_DATA_DIR) + "/parallel_configs.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  for (const PublishedRun& run : *runs) {
    auto cluster = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + run.cluster + ".yaml");
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    PerfOptions options;
    options.flash_attention = run.flash_attention;
    options.tp_comm_overlap = run.tp_comm_overlap;
    options.dp_comm_overlap = run.dp_comm_overlap;
    options.grad_bytes = run.grad_bytes;
    PerfSummary paper;
    ASSERT_TRUE(EvaluatePerf(run.model, *cluster, run.config, options, &paper).ok()) << run.id;
    if (!paper.feasible) continue;  // the search only proposes layouts that fit
    LayoutSearchOptions search;
    search.gpus = run.config.gpus();
    search.min_used_fraction = 1.0;
    search.global_batch = run.config.global_batch;
    auto r = SearchLayouts(run.model, *cluster, options, search);
    ASSERT_TRUE(r.ok()) << run.id << ": " << r.status().ToString();
    EXPECT_GE(r->ranked.front().tokens_per_s, paper.tokens_per_s * 0.999)
        << run.id << ": search " << r->ranked.front().BriefReport() << " vs paper " << paper.BriefReport();
  }
}
