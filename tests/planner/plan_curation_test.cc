// A plan says what its tokens ask of the data pipeline (issue 17, item 3): the curated text at
// Llama 3's bytes per token and the node-hours of `isoflop data build` from the stage model
// (data_pipeline/include/isoflop/curation_cost.h, docs/data.md "Scale").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isoflop/fit_record.h"
#include "isoflop/planner.h"

using namespace isoflop::planner;

TEST(PlanCuration, ThePlanNamesTheCuratedBytesAndNodeHoursItsTokensNeed) {
  auto cluster = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto epoch = isoflop::LoadLaw("epoch");
  ASSERT_TRUE(epoch.ok());
  PlanOptions options;
  options.budget = 3.8e25;
  PlanSummary plan;
  ASSERT_TRUE(Plan(options, *epoch, *cluster, &plan).ok());
  const auto j = nlohmann::json::parse(plan.ToJson());
  ASSERT_TRUE(j.contains("curation"));
  const double tokens = j["train_tokens"].get<double>();
  EXPECT_DOUBLE_EQ(j["curation"]["unique_tokens"].get<double>(), tokens);
  EXPECT_NEAR(j["curation"]["curated_bytes"].get<double>(), 3.94 * tokens, 1e-9 * tokens);
  // 25 CPU-s per GB of input on one core, the stage model's measured rate.
  EXPECT_NEAR(j["curation"]["core_hours"].get<double>(), 3.94 * tokens / 1e9 * 25 / 3600,
              1e-6 * j["curation"]["core_hours"].get<double>());
  EXPECT_GT(j["curation"]["node_hours"].get<double>(), 0);
  EXPECT_NE(plan.FullReport().find("TB of curated text"), std::string::npos);
}
