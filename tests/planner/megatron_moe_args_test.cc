// The Megatron arguments of a mixture-of-experts shape (docs/engines.md, "mixture of experts"):
// experts, top-k, expert width, shared experts, MoE layer pattern and the layout's expert
// parallelism, as Megatron-LM's _add_moe_args names them (@ d98e8a64); the set still passes the
// ported argument rules. The plan here is a real dense plan whose shape and layout are made MoE
// (isoflop plan launches dense plans; a --moe plan is priced, not launched).
#include <gtest/gtest.h>

#include "isoflop/engines.h"
#include "isoflop/fit_record.h"
#include "isoflop/planner.h"

using namespace isoflop::planner;

TEST(MegatronMoeArgs, ExpertFlagsFollowTheShapeAndTheLayout) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  ASSERT_TRUE(c.ok());
  PlanOptions o;
  o.budget = 1e22;
  o.gpus = 64;
  o.accept = EngineLayoutFilter(Engine::kMegatron, c->gpus_per_node);
  o.engine = "megatron";
  auto law = isoflop::LoadLaw("epoch");
  PlanSummary plan;
  ASSERT_TRUE(Plan(o, *law, *c, &plan).ok());
  ParallelConfig& cfg = plan.layouts.ranked.front().config;
  plan.shape.experts = 8;
  plan.shape.experts_per_token = 2;
  plan.shape.shared_experts = 1;
  plan.shape.expert_ffn = plan.shape.effective_ffn() / 2;
  plan.shape.moe_layer_every = 2;
  cfg.ep = 2;
  ASSERT_EQ((cfg.dp * cfg.cp) % cfg.ep, 0) << cfg.ToString();
  LaunchOptions lo;
  lo.engine = Engine::kMegatron;
  lo.dir = "/tmp/isoflop-megatron-moe-args-test";
  auto args = BuildMegatronArgs(plan, lo);
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  auto value = [&](const char* flag) {
    const std::string* v = args->Find(flag);
    return v ? *v : std::string("<absent>");
  };
  EXPECT_EQ(value("--num-experts"), "8");
  EXPECT_EQ(value("--moe-router-topk"), "2");
  EXPECT_EQ(value("--moe-ffn-hidden-size"), std::to_string(plan.shape.expert_ffn));
  EXPECT_EQ(value("--moe-shared-expert-intermediate-size"), std::to_string(plan.shape.expert_ffn));
  EXPECT_EQ(value("--expert-model-parallel-size"), "2");
  const int layers = plan.shape.layers;
  std::string pattern = "([0]*1+[1])*" + std::to_string(layers / 2);
  if (layers % 2) pattern += "+[0]*1";
  EXPECT_EQ(value("--moe-layer-freq"), pattern);
  EXPECT_TRUE(args->Has("--moe-grouped-gemm"));
  const isoflop::Status valid = ValidateMegatronArgs(*args);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  // A dense shape gets none of them.
  plan.shape.experts = plan.shape.experts_per_token = plan.shape.shared_experts = plan.shape.expert_ffn = 0;
  plan.shape.moe_layer_every = 1;
  cfg.ep = 1;
  args = BuildMegatronArgs(plan, lo);
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(args->Has("--num-experts"));
  EXPECT_FALSE(args->Has("--expert-model-parallel-size"));
}
