// A plan with a mixture of experts beside it (isoflop plan --moe E:K, plan.json key "moe") shows the
// dense plan and the MoE plan side by side in the report's plan section: parameters (total and
// active), tokens, loss, layout, memory, training time and cost, serving cost, with the MoE law's
// provenance and its extrapolation warning. End to end: the real planner writes the plan.json the
// report's one plan.json reader (ParsePlanJson) reads.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fit_record.h"
#include "isoflop/planner.h"
#include "isoflop/report.h"
#include "report_fixtures.h"

namespace isoflop::report {
namespace {

TEST(ReportMoe, PlanSectionDrawsDenseBesideMoe) {
  auto cluster =
      planner::LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto law = LoadLaw("hoffmann");
  ASSERT_TRUE(law.ok()) << law.status().ToString();
  planner::PlanOptions options;
  options.budget = 1e24;
  options.moe = {64, 8};
  planner::PlanSummary summary;
  const Status st = planner::Plan(options, *law, *cluster, &summary);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(summary.moe.has_value());

  auto plan = ParsePlanJson(summary.ToJson(), "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->moe.has_value());
  const PlanInfo::MoeComparison& c = *plan->moe;
  EXPECT_EQ(c.experts, 64);
  EXPECT_EQ(c.top_k, 8);
  EXPECT_TRUE(c.extrapolated);  // 1e24 is far beyond the law's 3.7B-parameter runs
  EXPECT_FALSE(c.extrapolation.empty());
  EXPECT_DOUBLE_EQ(c.moe.params_total, summary.moe->shape.ParamsTotal());
  EXPECT_DOUBLE_EQ(c.dense.params_total, summary.shape.ParamsTotal());
  EXPECT_GT(c.moe.params_total, 4 * c.moe.params_active);  // 64 experts, 8 of them per token
  EXPECT_DOUBLE_EQ(c.dense.params_total, c.dense.params_active);
  EXPECT_DOUBLE_EQ(c.moe.cost_usd, summary.moe->cost_usd);
  EXPECT_DOUBLE_EQ(c.dense.cost_usd, summary.cost_usd);
  EXPECT_TRUE(std::isfinite(c.moe.serving_usd_per_million_tokens));
  EXPECT_TRUE(std::isfinite(c.dense.serving_usd_per_million_tokens));
  EXPECT_LT(c.law_moe_loss, c.law_dense_loss);

  ReportInput in = testing::ChinchillaInput();
  in.plan = *plan;
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_NE(html->find("id=\"moe\""), std::string::npos);
  EXPECT_NE(html->find("dense (this plan)"), std::string::npos);
  EXPECT_NE(html->find("MoE 64 experts, top-8"), std::string::npos);
  EXPECT_NE(html->find("extrapolated outside its published range"), std::string::npos);
  EXPECT_NE(html->find("arXiv:2402.07871"), std::string::npos);
  EXPECT_NE(html->find("serving bf16: $ per M tokens"), std::string::npos);
  // A plan without --moe has no such section.
  in.plan->moe.reset();
  html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("id=\"moe\""), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
