// The plan's Pareto front (plan.json key "pareto", isoflop plan --json) becomes a figure of
// wall-clock against cost in the report, with the objective's choice marked.
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"
#include "report_fixtures.h"

namespace isoflop::report {
namespace {

TEST(ReportPareto, PlanWithAFrontDrawsIt) {
  const std::string json = R"({"budget_flops": 5.76e23, "shape_params": 7.2e10, "train_tokens": 1.3e12,
    "pareto": {"objective": "cost", "front": [
      {"gpus_allocated": 56, "wall_clock_s": 1.75e7, "cost_usd": 6.8e5, "energy_kwh": 3.4e5, "layout": "TP1 PP28 DP2", "chosen": false},
      {"gpus_allocated": 168, "wall_clock_s": 6.0e6, "cost_usd": 7.0e5, "energy_kwh": 3.4e5, "layout": "TP1 PP42 DP4", "chosen": true},
      {"gpus_allocated": 16384, "wall_clock_s": 9.5e4, "cost_usd": 1.05e6, "energy_kwh": 4.2e5, "layout": "TP1 PP4 DP4096", "chosen": false}]}})";
  auto plan = ParsePlanJson(json, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->pareto.size(), 3u);
  EXPECT_TRUE(plan->pareto[1].chosen);
  EXPECT_EQ(plan->objective, "cost");
  ReportInput in = testing::ChinchillaInput();
  in.plan = *plan;
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_NE(html->find("id=\"fig-pareto\""), std::string::npos);
  EXPECT_NE(html->find("plot-pareto"), std::string::npos);
  EXPECT_NE(html->find("168 GPUs"), std::string::npos);
  // A plan without a front draws no such figure.
  in.plan->pareto.clear();
  html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("fig-pareto"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
