// `perf` on every published configuration (tests/data/parallel_configs.csv: Narayanan et al. 2021
// Table 1; Korthikanti et al. 2022 Tables 3 and 5) predicts the published figure within +-15%,
// with the default (documented) calibration constants, on the A100 cluster file.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/planner.h"

using namespace isoflop::planner;

TEST(Validation, EveryPublishedRunWithin15Percent) {
  auto runs = LoadPublishedRuns(std::string(ISOFLOP_TEST_DATA_DIR) + "/parallel_configs.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 18u);  // 10 Narayanan rows + 4 x 2 Korthikanti rows
  auto cluster = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/a100-80gb.yaml");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto results = ValidateAgainstPublished(*runs, *cluster, PerfOptions{});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  for (const auto& r : *results) {
    EXPECT_TRUE(r.predicted.feasible) << r.run.id << ": " << r.predicted.infeasible_reason;
    for (double e : {r.tflops_error, r.mfu_error, r.hfu_error, r.iteration_error}) {
      if (!std::isnan(e)) {
        EXPECT_LE(std::abs(e), 0.15) << r.run.id << " error " << e;
      }
    }
  }
}

TEST(Validation, NarayananFlopFormulaMatchesEquation3) {
  // 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) per iteration with full recompute (Narayanan Eq. 3).
  ModelShape m{128, 25600, 160, 160, 4 * 25600, 51200, 2048, Mlp::kGelu};
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 64;
  cfg.dp = 6;
  cfg.micro_batch = 1;
  cfg.global_batch = 3072;
  cfg.zero = 0;
  cfg.recompute = Recompute::kFull;
  auto cluster = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/a100-80gb.yaml");
  ASSERT_TRUE(cluster.ok());
  PerfSummary s;
  ASSERT_TRUE(EvaluatePerf(m, *cluster, cfg, PerfOptions{}, &s).ok());
  const double B = 3072, sl = 2048, l = 128, h = 25600, V = 51200;
  const double eq3 = 96 * B * sl * l * h * h * (1 + sl / (6 * h) + V / (16 * l * h));
  EXPECT_NEAR(s.hardware_flops_per_step / eq3, 1.0, 1e-12);
  // Parameters: 12 l h^2 (1 + 13/(12h) + (V + s)/(12 l h)) (Narayanan Eq. 2) = 1008B in Table 1.
  const double eq2 = 12 * l * h * h * (1 + 13 / (12 * h) + (V + sl) / (12 * l * h));
  EXPECT_NEAR(m.ParamsTotal() / eq2, 1.0, 1e-6);
  EXPECT_NEAR(m.ParamsTotal() / 1e9, 1008.0, 0.5);
}
