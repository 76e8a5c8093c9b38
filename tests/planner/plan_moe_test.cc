// isoflop plan --moe E:K (issue 14 item 3; docs/planner.md §9): a mixture-of-experts plan beside
// the dense one at the same budget, sized by Krajewski et al. 2024's fine-grained MoE law (which
// reproduces the paper's own compute-optimal rows), with its shape, expert-parallel layout,
// training and serving cost, and the law's provenance and extrapolation said loudly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "isoflop/fit_record.h"
#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
PlanSummary PlanWithMoe(double flops, int experts, int top_k) {
  auto cluster = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto law = isoflop::LoadLaw("hoffmann");
  EXPECT_TRUE(law.ok()) << law.status().ToString();
  PlanOptions options;
  options.budget = flops;
  options.moe = {experts, top_k};
  PlanSummary s;
  const isoflop::Status st = Plan(options, *law, *cluster, &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}
}  // namespace

TEST(PlanMoe, LawReproducesThePapersComputeOptimalRows) {
  // Krajewski et al. 2024's compute-optimal configurations (expansion rate 64): 64 x 100M active at
  // G = 8 on 4.37B tokens (2.95e18 FLOPs), 64 x 7B at G = 32 on 137.6B tokens (6.46e21, loss
  // 2.076), 64 x 1T at G = 64 on 7.94T tokens (4.97e25, loss 1.367). Our optimiser at those budgets
  // (6 N_active D, no router FLOPs): the same active size within 10%, tokens within 20% (the paper
  // charges the router), loss within 2%.
  const FineGrainedMoeLaw law;
  struct Row {
    double flops, granularity, active, tokens, loss;
  } rows[] = {{2.95e18, 8, 100e6, 4.37e9, NAN},
              {6.46e21, 32, 7e9, 137.6e9, 2.076},
              {4.97e25, 64, 1e12, 7.94e12, 1.367}};
  for (const Row& r : rows) {
    const double expand = 1.0 / 3 + 2.0 / 3 * 64;
    double best_n = 0, best = 1e9;
    for (double ln = std::log(1e6); ln < std::log(1e14); ln += 1e-4) {
      const double n = std::exp(ln), loss = law.MoeLoss(n * expand, r.flops / (6 * n), r.granularity);
      if (loss < best) best = loss, best_n = n;
    }
    EXPECT_NEAR(best_n / r.active, 1, 0.10) << r.flops;
    EXPECT_NEAR(r.flops / (6 * best_n) / r.tokens, 1, 0.20) << r.flops;
    if (std::isfinite(r.loss)) EXPECT_NEAR(best / r.loss, 1, 0.02) << r.flops;
  }
}

TEST(PlanMoe, BudgetOf1e24With64Experts8PerTokenPlansBothSideBySide) {
  const PlanSummary s = PlanWithMoe(1e24, 64, 8);
  ASSERT_TRUE(s.moe.has_value());
  const MoePlan& m = *s.moe;
  // Per the law, at equal compute the MoE reaches a lower loss than the dense model.
  EXPECT_LE(m.loss, m.dense_loss);
  EXPECT_NEAR(m.dense_loss, 1.886, 0.002);
  EXPECT_NEAR(m.loss, 1.783, 0.002);
  // Its shape: 64 experts, 8 per token; memory from the total, FLOPs from the active parameters.
  EXPECT_EQ(m.shape.experts, 64);
  EXPECT_EQ(m.shape.experts_per_token, 8);
  EXPECT_NEAR(m.shape.ParamsNonEmbedding() - m.shape.Params().active_non_embedding,
              m.shape.moe_layers() * 56.0 * m.shape.ExpertWeights(), 1);
  EXPECT_NEAR(m.shape.ParamsActive() / m.active_params, 1, 0.1);
  EXPECT_DOUBLE_EQ(m.flops_per_token, 6 * m.shape.ParamsActive());
  EXPECT_NEAR(m.train_tokens * m.flops_per_token, 1e24, 1e15);
  // A layout with expert parallelism that fits, training time and cost, serving cost.
  EXPECT_TRUE(m.layout.feasible);
  EXPECT_GT(m.layout.config.ep, 1);
  EXPECT_LE(m.layout.memory.total(), m.layout.memory_capacity_bytes);
  EXPECT_GT(m.cost_usd, 0);
  EXPECT_GT(m.wall_clock_s, 0);
  EXPECT_TRUE(m.serving.fits);
  EXPECT_TRUE(m.dense_serving.fits);
  EXPECT_GT(m.serving.usd_per_million_tokens, 0);
  // 1e24 FLOPs is far outside the law's runs (<= 3.7B parameters, <= 130B tokens, expansion 64):
  // said in the text and in the JSON.
  EXPECT_TRUE(m.extrapolated);
  EXPECT_GE(m.extrapolation.size(), 2u);
  const std::string text = s.FullReport();
  EXPECT_NE(text.find("dense (this plan)"), std::string::npos);
  EXPECT_NE(text.find("MoE 64 experts, top-8"), std::string::npos);
  EXPECT_NE(text.find("WARNING: THE MoE LAW IS EXTRAPOLATED"), std::string::npos);
  EXPECT_NE(text.find("training cost"), std::string::npos);
  EXPECT_NE(text.find("serving bf16: $ per M tokens"), std::string::npos);
  const auto j = nlohmann::json::parse(s.ToJson());
  ASSERT_TRUE(j.contains("moe"));
  EXPECT_TRUE(j["moe"]["law"]["extrapolated"].get<bool>());
  EXPECT_NE(j["moe"]["law"]["citation"].get<std::string>().find("arXiv:2402.07871"), std::string::npos);
  EXPECT_TRUE(j["moe"].contains("warning"));
  EXPECT_EQ(j["moe"]["experts"].get<int>(), 64);
  EXPECT_GT(j["moe"]["cost_usd"].get<double>(), 0);
  EXPECT_GT(j["moe"]["dense"]["cost_usd"].get<double>(), 0);
  EXPECT_GT(j["moe"]["serving_bf16"]["usd_per_million_tokens"].get<double>(), 0);
  EXPECT_GT(j["moe"]["dense_serving_bf16"]["usd_per_million_tokens"].get<double>(), 0);
  EXPECT_EQ(j["moe"]["layout"]["config"]["ep"].get<int>(), m.layout.config.ep);
}

TEST(PlanMoe, InRangeBudgetIsNotFlaggedAndBadFlagsAreRefused) {
  // 512 experts, top-8: expansion 64, G 8, at 3e18 FLOPs the optimum (~100M active, ~4.3B total,
  // ~5B tokens) is near the law's runs; only what is outside is listed.
  const PlanSummary s = PlanWithMoe(3e18, 512, 8);
  ASSERT_TRUE(s.moe.has_value());
  for (const std::string& why : s.moe->extrapolation)
    EXPECT_EQ(why.find("expansion"), std::string::npos) << why;
  for (const char* bad : {"64", "8:8", "8:0", "a:b", "64:8x", ":8"})
    EXPECT_EQ(ParseMoeOption(bad).status().code(), isoflop::Status::Code::kInvalidArgument) << bad;
  auto ok = ParseMoeOption("64:8");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->experts, 64);
  EXPECT_EQ(ok->top_k, 8);
}
