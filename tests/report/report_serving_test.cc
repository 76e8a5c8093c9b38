// A plan with a serving demand (plan.json key "serving", isoflop plan --serve-tokens/--serve-qps)
// shows training and serving side by side in the report: one row per weight precision with its
// memory, bandwidth and compute utilisation, latency, throughput, cost and energy per million tokens.
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"
#include "report_fixtures.h"

namespace isoflop::report {
namespace {

TEST(ReportServing, PlanWithServingShowsTrainingBesideEachPrecision) {
  const std::string json = R"({"budget_flops": 1e24, "shape_params": 6.9e10, "train_tokens": 2.4e12,
    "gpu_hours": 5.06e5, "cost_usd": 1.27e6, "energy_kwh": 6.07e5,
    "serving": {"lifetime_tokens": 1e12, "requests_per_s": 0, "precisions": [
      {"precision": "bf16", "fits": true, "gpus_per_replica": 2, "memory_per_gpu_bytes": 5.47e10,
       "memory_utilization": 0.64, "bandwidth_utilization": 0.61, "compute_utilization": 0.012,
       "time_per_output_token_s": 0.02519, "decode_tokens_per_s": 635, "prefill_tokens_per_s": 13663,
       "usd_per_million_tokens": 2.187, "kwh_per_million_tokens": 1.087, "lifetime_usd": 2.187e6,
       "lifetime_kwh": 1.087e6},
      {"precision": "int4", "fits": true, "gpus_per_replica": 1, "memory_per_gpu_bytes": 4.71e10,
       "memory_utilization": 0.55, "bandwidth_utilization": 0.52, "compute_utilization": 0.02,
       "time_per_output_token_s": 0.02308, "decode_tokens_per_s": 693, "prefill_tokens_per_s": 7680,
       "usd_per_million_tokens": 1.002, "kwh_per_million_tokens": 0.4981, "lifetime_usd": 1.002e6,
       "lifetime_kwh": 4.981e5}]}})";
  auto plan = ParsePlanJson(json, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->serving.size(), 2u);
  EXPECT_EQ(plan->serving[1].precision, "int4");
  EXPECT_EQ(plan->serving[0].gpus_per_replica, 2);
  EXPECT_DOUBLE_EQ(plan->serving[1].usd_per_million_tokens, 1.002);
  EXPECT_DOUBLE_EQ(plan->train_cost_usd, 1.27e6);
  ReportInput in = testing::ChinchillaInput();
  in.plan = *plan;
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_NE(html->find("id=\"serving\""), std::string::npos);
  EXPECT_NE(html->find("serve int4"), std::string::npos);
  EXPECT_NE(html->find("bandwidth util."), std::string::npos);
  EXPECT_NE(html->find("1.002"), std::string::npos);  // $ per million tokens at int4
  // A plan without serving has no such section.
  in.plan->serving.clear();
  html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("id=\"serving\""), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
