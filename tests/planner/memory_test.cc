// Memory per GPU for today's models (docs/planner.md §3): the output layer at every pipeline
// depth, uneven first/last stages, ZeRO 0-3 the same in the search and in `perf`, the ZeRO-3
// gathered working set, gradient and master-weight dtypes, activations per architecture, and the
// LLaMA-3 405B layout that was trained on H100-80GB.
#include <gtest/gtest.h>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec H100() {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}
ModelShape Llama405B() {
  auto m = LoadModelYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/models/llama3-405b.yaml");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// LLaMA-3 405B as trained (Dubey et al. 2024, Table 4 and Sec. 3.3.2): TP8 PP16 DP128 on
// 16,384 H100-80GB, 8K sequences, 16M-token batches, one sequence per micro-batch; optimizer
// states and gradients sharded over DP (ZeRO-2), one layer fewer on the first and last stages.
ParallelConfig Llama3Layout() {
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 16;
  cfg.dp = 128;
  cfg.micro_batch = 1;
  cfg.global_batch = 2048;
  cfg.zero = 2;
  cfg.recompute = Recompute::kNone;
  return cfg;
}
}  // namespace

TEST(Memory, Llama3405BFitsIn80GBWithTheUnevenStages) {
  ParallelConfig cfg = Llama3Layout();
  cfg.first_stage_layers = 7;
  cfg.last_stage_layers = 7;
  PerfSummary uneven;
  ASSERT_TRUE(EvaluatePerf(Llama405B(), H100(), cfg, PerfOptions{}, &uneven).ok());
  EXPECT_EQ(uneven.stage_layers.ToString(), "7+8x14+7");
  EXPECT_TRUE(uneven.feasible) << uneven.infeasible_reason;
  EXPECT_LE(uneven.memory.total(), 80 * kGiB);
  // Charging the first stage 8 layers (the even split rounded up, as before) does not fit.
  cfg.first_stage_layers = 8;
  cfg.last_stage_layers = 6;
  PerfSummary even;
  ASSERT_TRUE(EvaluatePerf(Llama405B(), H100(), cfg, PerfOptions{}, &even).ok());
  EXPECT_FALSE(even.feasible);
  EXPECT_EQ(even.memory_rank, "first");
  // And the search finds a layout of this shape that fits (ZeRO-2 with pipelining is allowed).
  LayoutSearchOptions search;
  search.gpus = 16384;
  search.global_batch = 2048;
  search.accept = [](const ModelShape&, const ParallelConfig& c, std::string*) {
    return c.tp == 8 && c.pp == 16 && c.cp == 1 && c.micro_batch == 1 && c.vpp == 1;
  };
  auto found = SearchLayouts(Llama405B(), H100(), PerfOptions{}, search);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(found->ranked.front().feasible);
}

TEST(Memory, DefaultSplitPutsTheLighterStagesAtTheEnds) {
  ParallelConfig cfg;
  cfg.pp = 16;
  auto split = SplitPipelineLayers(126, cfg);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->first, 7);
  EXPECT_EQ(split->last, 7);
  EXPECT_EQ(split->middle_max, 8);
  EXPECT_EQ(split->middle_total, 112);
  cfg.first_stage_layers = 5;
  cfg.last_stage_layers = 5;
  split = SplitPipelineLayers(126, cfg);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->middle_total, 116);
  EXPECT_EQ(split->middle_max, 9);  // 116 over 14 ranks, charged ceil
  cfg.first_stage_layers = 120;  // leaves 1 layer for 14 middle stages
  EXPECT_FALSE(SplitPipelineLayers(126, cfg).ok());
}

TEST(Memory, UntiedOutputLayerIsCountedWithoutPipelining) {
  // pp = 1: the one rank holds the embedding and the untied output layer (2 V h) and all layers.
  ModelShape m{32, 4096, 32, 8, 14336, 128256, 8192, Mlp::kSwiglu};
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.dp = 1;
  cfg.global_batch = 1;
  cfg.zero = 0;
  PerfSummary s;
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, PerfOptions{}, &s).ok());
  const double weights_params = s.memory.weights / PerfOptions{}.weight_bytes * cfg.tp;
  EXPECT_NEAR(weights_params / m.ParamsTotal(), 1.0, 1e-9);
  // With pp = 2 the output layer moves to the last rank.
  cfg.pp = 2;
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, PerfOptions{}, &s).ok());
  const double first = s.memory_first.weights / 2 * cfg.tp, last = s.memory_last.weights / 2 * cfg.tp;
  EXPECT_NEAR((first + last) / m.ParamsTotal(), 1.0, 1e-9);
  EXPECT_GT(last, 128256.0 * 4096);  // the output layer is on the last rank
}

TEST(Memory, ZeroThreeCountsTheGatheredWorkingSet) {
  ModelShape m{80, 8192, 64, 8, 28672, 128256, 8192, Mlp::kSwiglu};  // LLaMA-3 70B
  ParallelConfig cfg;
  cfg.dp = 64;
  cfg.global_batch = 64;
  cfg.recompute = Recompute::kFull;
  PerfOptions o;
  PerfSummary z1, z3;
  cfg.zero = 1;
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, o, &z1).ok());
  cfg.zero = 3;
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, o, &z3).ok());
  EXPECT_EQ(z1.memory.gathered, 0);
  // Two units' weights (current + prefetched) and one unit's gradients, in full: the largest unit
  // on the one rank is the output layer (V h = 1.05B parameters > one layer's 0.86B).
  const double unit = 128256.0 * 8192 + 8192;  // output layer and final norm
  EXPECT_NEAR(z3.memory.gathered / ((2 * o.weight_bytes + o.grad_bytes) * unit), 1.0, 1e-9);
  EXPECT_LT(z3.memory.weights, z1.memory.weights / 60);
}

TEST(Memory, GradientAndMasterDtypesAreConfigurable) {
  ModelShape m{32, 4096, 32, 8, 14336, 128256, 4096, Mlp::kSwiglu};
  ParallelConfig cfg;
  cfg.dp = 8;
  cfg.global_batch = 8;
  cfg.zero = 1;
  PerfOptions fp32_grads, bf16_grads, no_master;
  bf16_grads.grad_bytes = 2;
  no_master.master_weight_bytes = 0;
  PerfSummary a, b, c;
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, fp32_grads, &a).ok());
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, bf16_grads, &b).ok());
  ASSERT_TRUE(EvaluatePerf(m, H100(), cfg, no_master, &c).ok());
  EXPECT_NEAR(b.memory.gradients / a.memory.gradients, 0.5, 1e-12);
  EXPECT_NEAR(c.memory.optimizer / a.memory.optimizer, 8.0 / 12.0, 1e-12);
  // Megatron-Core's table: bf16 parameters, fp32 gradients, distributed optimizer = 6 + 12/d bytes.
  const double per_param = (a.memory.weights + a.memory.gradients + a.memory.optimizer) / (a.memory.weights / 2);
  EXPECT_NEAR(per_param, 6 + 12.0 / 8, 1e-9);
}

TEST(Memory, ActivationsFollowTheArchitecture) {
  // SwiGLU with grouped-query attention, no dropout: s b (12h + 4 kv_width + 6f) per layer
  // (Korthikanti's bookkeeping applied to the LLaMA block); FlashAttention stores no s^2 scores.
  ModelShape llama{1, 4096, 32, 8, 14336, 32000, 4096, Mlp::kSwiglu};
  ModelShape mha = llama;
  mha.kv_heads = 32;
  ParallelConfig cfg;
  cfg.global_batch = 1;
  cfg.zero = 0;
  cfg.recompute = Recompute::kNone;
  PerfOptions flash, no_flash;
  no_flash.flash_attention = false;
  PerfSummary a, b, c;
  ASSERT_TRUE(EvaluatePerf(llama, H100(), cfg, flash, &a).ok());
  ASSERT_TRUE(EvaluatePerf(mha, H100(), cfg, flash, &b).ok());
  ASSERT_TRUE(EvaluatePerf(llama, H100(), cfg, no_flash, &c).ok());
  const double s = 4096, h = 4096, kv = 8 * 128, f = 14336, heads = 32;
  EXPECT_NEAR(a.memory.activations, s * (12 * h + 4 * kv + 6 * f + 4 * heads), 1);
  EXPECT_NEAR(b.memory.activations - a.memory.activations, s * 4 * (4096 - kv), 1);  // GQA saves K, V
  EXPECT_NEAR(c.memory.activations - a.memory.activations, 4 * heads * s * s - 4 * heads * s, 1);
  // GELU (GPT) block with dropout: 34 s b h + 5 a s^2 b for f = 4h (Korthikanti Eq. 1).
  ModelShape gpt{1, 4096, 32, 32, 16384, 32000, 2048, Mlp::kGelu};
  PerfSummary g;
  ASSERT_TRUE(EvaluatePerf(gpt, H100(), cfg, no_flash, &g).ok());
  EXPECT_NEAR(g.memory.activations, 2048 * (34 * 4096 + 5 * 32 * 2048.0), 1);
}

TEST(Memory, ZeroStagesAreConsistentBetweenSearchAndPerf) {
  // Every layout the search reports evaluates to the same memory and time in `perf`, for ZeRO
  // stages with and without pipelining.
  ModelShape m{48, 6144, 48, 8, 16384, 128256, 4096, Mlp::kSwiglu};
  LayoutSearchOptions search;
  search.gpus = 256;
  search.global_batch = 512;
  search.top_k = 200;
  auto r = SearchLayouts(m, H100(), PerfOptions{}, search);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool zero2_with_pp = false;
  for (const PerfSummary& s : r->ranked) {
    PerfSummary again;
    ASSERT_TRUE(EvaluatePerf(m, H100(), s.config, PerfOptions{}, &again).ok()) << s.config.ToString();
    EXPECT_DOUBLE_EQ(again.memory.total(), s.memory.total()) << s.config.ToString();
    EXPECT_DOUBLE_EQ(again.step_time_s, s.step_time_s) << s.config.ToString();
    EXPECT_TRUE(again.feasible);
    zero2_with_pp |= s.config.zero >= 2 && s.config.pp > 1;
  }
  EXPECT_TRUE(zero2_with_pp);  // the search no longer refuses ZeRO-2/3 with pipelining
}
