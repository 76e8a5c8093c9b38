// The result never depends on the thread count, and identical input + seed give identical output.
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

std::string FitJson(int threads, uint64_t seed) {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  EXPECT_TRUE(runs.ok());
  FitOptions options;
  options.method = FitMethod::kAll;
  options.drop_highest_loss = 5;
  // Every 9th start of Hoffmann's grid (500 starts) keeps the test short; the reduction is the same code.
  const auto grid = HoffmannGrid();
  for (size_t i = 0; i < grid.size(); i += 9) options.starts.push_back(grid[i]);
  options.bootstrap_resamples = 64;
  options.ci_budgets_flops = {5.76e23};
  options.seed = seed;
  options.threads = threads;
  FitSummary summary;
  EXPECT_TRUE(Fit(*runs, options, &summary).ok());
  return summary.ToJson();
}

TEST(ThreadIndependence, SameJsonForOneTwoAndThreeThreads) {
  const std::string one = FitJson(1, 7);
  EXPECT_EQ(one, FitJson(2, 7));
  EXPECT_EQ(one, FitJson(3, 7));
}

TEST(ThreadIndependence, SeedControlsTheBootstrapOnly) {
  const std::string a = FitJson(2, 7);
  EXPECT_EQ(a, FitJson(2, 7));
  const std::string b = FitJson(2, 8);
  EXPECT_NE(a, b);  // other resamples, other intervals
  // ... but the same law: the law does not depend on the seed.
  EXPECT_EQ(a.substr(0, a.find("\"ci\"")), b.substr(0, b.find("\"ci\"")));
}

}  // namespace
}  // namespace isoflop
