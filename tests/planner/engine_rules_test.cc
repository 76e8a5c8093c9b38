// Issue 12 item 1: the planner only proposes layouts the target engine runs. The issue's examples
// (76 layers on PP13, 1,014 GPUs, a --global-batch 2048 that became 2047) are refused or kept, and
// every layout a Megatron/torchtitan/isoflop plan chooses passes that engine's rules.
#include <gtest/gtest.h>

#include "isoflop/engines.h"
#include "isoflop/fit_record.h"
#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {

ClusterSpec Cluster(const std::string& name) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + name + ".yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

ModelShape Llama405Like(int layers) {
  ModelShape m;
  m.layers = layers;
  m.d_model = 16384;
  m.heads = 128;
  m.kv_heads = 8;
  m.ffn = 53248;
  m.vocab = 128256;
  m.seq_len = 8192;
  m.mlp = isoflop::Mlp::kSwiglu;
  return m;
}

ParallelConfig Layout(int tp, int pp, int dp, int mb, int gb, int zero = 1) {
  ParallelConfig c;
  c.tp = tp;
  c.pp = pp;
  c.dp = dp;
  c.micro_batch = mb;
  c.global_batch = gb;
  c.zero = zero;
  c.recompute = Recompute::kNone;
  return c;
}

PlanSummary PlanFor(Engine engine, const std::string& cluster, double budget, int gpus = 0,
                    int global_batch = 0) {
  PlanOptions o;
  o.budget = budget;
  o.gpus = gpus;
  o.global_batch = global_batch;
  const ClusterSpec c = Cluster(cluster);
  o.accept = EngineLayoutFilter(engine, c.gpus_per_node);
  o.engine = EngineName(engine);
  auto law = isoflop::LoadLaw("epoch");
  EXPECT_TRUE(law.ok());
  PlanSummary s;
  const isoflop::Status st = Plan(o, *law, c, &s);
  EXPECT_TRUE(st.ok()) << EngineName(engine) << " " << cluster << " " << budget << ": " << st.ToString();
  return s;
}

}  // namespace

TEST(EngineRules, TheIssuesLayoutsAreRefusedWithTheRule) {
  // 76 layers on PP13: layers must divide by PP (Megatron validate_args).
  auto st = CheckEngineLayout(Engine::kMegatron, Llama405Like(76), Layout(8, 13, 8, 1, 2048), 8);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not divisible by the pipeline-model-parallel size 13"), std::string::npos)
      << st.message();
  // 1,014 GPUs = 126.75 nodes: not whole nodes (TP1 PP1 DP1014 divides a batch of 2028).
  st = CheckEngineLayout(Engine::kMegatron, Llama405Like(128), Layout(1, 1, 1014, 2, 2028), 8);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not whole 8-GPU nodes"), std::string::npos) << st.message();
  // A batch DP x micro-batch does not divide is refused, never rounded.
  st = CheckEngineLayout(Engine::kTorchtitan, Llama405Like(128), Layout(8, 8, 16, 1, 2047, 3), 8);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("global batch 2047"), std::string::npos) << st.message();
  // VPP needs PP > 2 (no p2p overlap), layers per rank by VPP.
  ParallelConfig vpp = Layout(8, 2, 8, 1, 2048);
  vpp.vpp = 2;
  EXPECT_FALSE(CheckEngineLayout(Engine::kMegatron, Llama405Like(128), vpp, 8).ok());
  vpp.pp = 16;
  vpp.vpp = 3;  // 8 layers per rank do not split in 3
  EXPECT_FALSE(CheckEngineLayout(Engine::kMegatron, Llama405Like(128), vpp, 8).ok());
  vpp.vpp = 4;
  EXPECT_TRUE(CheckEngineLayout(Engine::kMegatron, Llama405Like(128), vpp, 8).ok());
  // Uneven first/last stages: 126 = 7 + 8 x 14 + 7 (LLaMA-3 405B's split) is fine.
  ParallelConfig uneven = Layout(8, 16, 8, 1, 2048);
  uneven.first_stage_layers = uneven.last_stage_layers = 7;
  EXPECT_TRUE(CheckEngineLayout(Engine::kMegatron, Llama405Like(126), uneven, 8).ok());
  uneven.first_stage_layers = uneven.last_stage_layers = 6;  // 114 middle layers on 14 ranks
  EXPECT_FALSE(CheckEngineLayout(Engine::kMegatron, Llama405Like(126), uneven, 8).ok());
  // CP chunks: seq 8192 on CP 16 is 2 x 16 | 8192; ZeRO-3 is not Megatron's distributed optimizer.
  ParallelConfig cp = Layout(8, 16, 1, 1, 2048);
  cp.cp = 16;
  EXPECT_TRUE(CheckEngineLayout(Engine::kMegatron, Llama405Like(128), cp, 8).ok());
  EXPECT_FALSE(CheckEngineLayout(Engine::kMegatron, Llama405Like(128), Layout(8, 16, 8, 1, 2048, 3), 8).ok());
  // isoflop train: data parallel only; torchtitan: no DDP with TP, no ZeRO-1.
  EXPECT_FALSE(CheckEngineLayout(Engine::kIsoflop, Llama405Like(128), Layout(2, 1, 4, 1, 64, 0), 8).ok());
  EXPECT_TRUE(CheckEngineLayout(Engine::kIsoflop, Llama405Like(128), Layout(1, 1, 8, 1, 64, 0), 8).ok());
  EXPECT_FALSE(CheckEngineLayout(Engine::kTorchtitan, Llama405Like(128), Layout(2, 1, 4, 1, 64, 0), 8).ok());
  EXPECT_FALSE(CheckEngineLayout(Engine::kTorchtitan, Llama405Like(128), Layout(1, 1, 8, 1, 64, 1), 8).ok());
  // kAny keeps the old behaviour.
  EXPECT_TRUE(CheckEngineLayout(Engine::kAny, Llama405Like(76), Layout(8, 13, 8, 1, 2048), 8).ok());
}

TEST(EngineRules, TheSearchOnlyProposesLayoutsTheEngineRuns) {
  for (Engine engine : {Engine::kMegatron, Engine::kTorchtitan}) {
    const PlanSummary s = PlanFor(engine, "h100-sxm", 1e24, 1024);
    ASSERT_FALSE(s.layouts.ranked.empty());
    EXPECT_GT(s.layouts.rejected_by_engine, 0) << EngineName(engine);
    // Sequence parallelism is stated, and which engine's rules were applied.
    const std::string report = s.FullReport();
    EXPECT_NE(report.find(s.layouts.ranked.front().config.tp > 1 ? "sequence parallel: on"
                                                                 : "sequence parallel: off"),
              std::string::npos);
    EXPECT_NE(report.find(std::string("engine rules: ") + EngineName(engine)), std::string::npos);
    for (const PerfSummary& l : s.layouts.ranked) {
      const isoflop::Status st = CheckEngineLayout(engine, s.shape, l.config, 8);
      EXPECT_TRUE(st.ok()) << EngineName(engine) << " ranked " << l.config.ToString() << ": " << st.message();
      EXPECT_EQ(l.config.gpus() % 8, 0) << l.config.ToString();
    }
    // The issue's "--global-batch 2048 became 2047": the user's batch is kept exactly.
    const PlanSummary b = PlanFor(engine, "h100-sxm", 1e24, 1024, 2048);
    ASSERT_FALSE(b.layouts.ranked.empty());
    for (const PerfSummary& l : b.layouts.ranked)
      EXPECT_EQ(l.config.global_batch, 2048) << l.config.ToString();
  }
}

TEST(EngineRules, ParsesTheEngineNames) {
  for (const char* name : {"isoflop", "megatron", "torchtitan", "any"}) {
    auto e = ParseEngine(name);
    ASSERT_TRUE(e.ok());
    EXPECT_STREQ(EngineName(*e), name);
  }
  auto bad = ParseEngine("deepspeed");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("megatron"), std::string::npos);
}
