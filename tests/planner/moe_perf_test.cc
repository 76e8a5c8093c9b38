// Mixture of experts in the training performance model (issue 14 item 2; docs/planner.md
// "Mixture of experts"): FLOPs from the active parameters, memory from the total with the routed
// experts split over the expert-parallel ranks and their optimizer states sharded over dp cp / ep,
// an all-to-all that grows when the group leaves the NVLink domain, Megatron-Core's EP rules, and
// a layout search that may choose EP.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec H100(int nodes) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  c->nodes = nodes;
  return *c;
}
ModelShape Mixtral() {
  auto m = LoadModelYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/models/mixtral-8x7b.yaml");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  m->seq_len = 4096;
  return *m;
}
ParallelConfig Layout(int ep) {
  ParallelConfig cfg;
  cfg.tp = 2;
  cfg.pp = 4;
  cfg.dp = 8;
  cfg.ep = ep;
  cfg.micro_batch = 1;
  cfg.global_batch = 256;
  cfg.recompute = Recompute::kNone;
  return cfg;
}
}  // namespace

TEST(MoePerf, MixtralCountsAndFlopsFromActiveParameters) {
  const ModelShape m = Mixtral();
  EXPECT_NEAR(m.ParamsTotal() / 1e9, 46.70, 0.01);
  EXPECT_NEAR(m.ParamsActive() / 1e9, 12.88, 0.01);
  PerfSummary s;
  ASSERT_TRUE(EvaluatePerf(m, H100(8), Layout(8), PerfOptions{}, &s).ok());
  const double tokens = 256.0 * 4096;
  // 6 N_active per token plus attention scores (Kaplan et al. 2020 Table 1's C_forward = 2N +
  // 2 n_layer n_ctx d_attn, forward + backward), never 6 N_total.
  const double per_token = s.model_flops_per_step / tokens;
  EXPECT_NEAR(per_token, m.ModelFlopsPerToken(), 1);
  EXPECT_GT(per_token, 6 * m.ParamsActive() * 0.98);
  EXPECT_LT(per_token, 6 * m.ParamsActive() * 1.15);
  EXPECT_LT(per_token, 0.3 * 6 * m.ParamsTotal());
}

TEST(MoePerf, ExpertParallelismSplitsTheExpertsWeightsAndOptimizerStates) {
  const ModelShape m = Mixtral();
  PerfSummary ep1, ep8;
  ASSERT_TRUE(EvaluatePerf(m, H100(8), Layout(1), PerfOptions{}, &ep1).ok());
  ASSERT_TRUE(EvaluatePerf(m, H100(8), Layout(8), PerfOptions{}, &ep8).ok());
  // Routed experts on one pipeline rank (8 of the 32 layers) per GPU at TP2: 8 layers x 8 experts
  // x 3 x 4096 x 14336 / 2; EP8 keeps one expert of each layer: 7/8 of them leave, in bf16.
  const double experts = 8.0 * 8 * 3 * 4096.0 * 14336 / 2;
  EXPECT_NEAR(ep1.memory_first.weights - ep8.memory_first.weights, 2 * experts * 7 / 8, 1e6);
  EXPECT_NEAR(ep1.memory_first.gradients - ep8.memory_first.gradients, 4 * experts * 7 / 8, 1e6);
  // ZeRO-1 shards the experts' optimizer states over dp cp / ep = 1 rank at EP8, over 8 at EP1:
  // the per-GPU share is the same.
  EXPECT_NEAR(ep1.memory_first.optimizer, ep8.memory_first.optimizer, 1e6);
  // EP1 pays only the expert TP's all-gather of the k dispatched copies; EP8 adds the all-to-all.
  EXPECT_GT(ep1.ep_comm_s, 0);
  EXPECT_GT(ep8.ep_comm_s, ep1.ep_comm_s);
}

TEST(MoePerf, AllToAllAcrossNodesCostsMoreThanInsideOne) {
  ModelShape m = Mixtral();
  m.experts = 16;  // room for EP16 (16 x TP2 = 32 GPUs: four nodes)
  PerfSummary inside, across;
  ASSERT_TRUE(EvaluatePerf(m, H100(8), Layout(4), PerfOptions{}, &inside).ok());  // 4 x TP2 = one node
  ParallelConfig wide = Layout(16);
  wide.dp = 16;
  wide.pp = 2;
  ASSERT_TRUE(EvaluatePerf(m, H100(8), wide, PerfOptions{}, &across).ok());
  const double per_layer_inside = inside.ep_comm_s / 8, per_layer_across = across.ep_comm_s / 8;
  EXPECT_GT(per_layer_across, 3 * per_layer_inside) << inside.ep_comm_s << " " << across.ep_comm_s;
}

TEST(MoePerf, ExpertParallelFollowsMegatronRules) {
  const ModelShape m = Mixtral();
  PerfSummary s;
  ParallelConfig cfg = Layout(3);
  EXPECT_EQ(EvaluatePerf(m, H100(8), cfg, PerfOptions{}, &s).code(), isoflop::Status::Code::kInvalidArgument);
  cfg = Layout(8);
  cfg.dp = 4;
  cfg.global_batch = 256;
  isoflop::Status st = EvaluatePerf(m, H100(8), cfg, PerfOptions{}, &s);
  EXPECT_EQ(st.code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("dp x cp"), std::string::npos) << st.message();
  ModelShape dense = m;
  dense.experts = dense.experts_per_token = dense.expert_ffn = 0;
  st = EvaluatePerf(dense, H100(8), Layout(2), PerfOptions{}, &s);
  EXPECT_EQ(st.code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("mixture of experts"), std::string::npos) << st.message();
}

TEST(MoePerf, LayoutSearchChoosesExpertParallelism) {
  LayoutSearchOptions o;
  o.gpus = 64;
  o.global_batch = 256;
  o.allow_cp = false;
  auto r = SearchLayouts(Mixtral(), H100(8), PerfOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PerfSummary& best = r->ranked.front();
  EXPECT_GT(best.config.ep, 1) << best.BriefReport();
  EXPECT_EQ(8 % best.config.ep, 0);
  EXPECT_EQ((best.config.dp * best.config.cp) % best.config.ep, 0);
  EXPECT_GT(best.mfu, 0.25);
  EXPECT_LT(best.mfu, 0.60);
}
