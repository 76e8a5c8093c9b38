// Approach 3 on Epoch AI's reconstruction of Chinchilla's Figure 4 (245 points, the 5 highest-loss rows
// dropped as Epoch did): the published replication's optimum (Besiroglu et al. 2024, "Chinchilla
// Scaling: A replication attempt"), reached from Hoffmann's 4,500-start grid.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

// Relative agreement to 4 significant digits.
void ExpectFourDigits(double actual, double expected, const char* name) {
  EXPECT_NEAR(actual, expected, 5e-4 * std::fabs(expected)) << name;
}

TEST(Approach3Epoch, ReachesThePublishedOptimum) {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  FitOptions options;
  options.drop_highest_loss = 5;
  FitSummary summary;
  ASSERT_TRUE(Fit(*runs, options, &summary).ok());

  EXPECT_EQ(summary.n_points, 240);
  EXPECT_EQ(summary.starts, 4500);
  EXPECT_NEAR(summary.objective, 0.0010182740, 1e-9);
  ExpectFourDigits(summary.law.A, 477.8, "A");
  ExpectFourDigits(summary.law.B, 2143, "B");
  ExpectFourDigits(summary.law.E, 1.8172, "E");
  ExpectFourDigits(summary.law.alpha, 0.3473, "alpha");
  ExpectFourDigits(summary.law.beta, 0.3672, "beta");
  EXPECT_GT(summary.starts_at_optimum, 100);  // many starts agree: the optimum is not a fluke of one start
  EXPECT_LE(summary.starts_at_optimum, 4500);

  // The allocation follows from the law (Hoffmann et al. 2022, eq. 4).
  const double s = summary.law.alpha + summary.law.beta;
  EXPECT_DOUBLE_EQ(summary.allocation.a, summary.law.beta / s);
  EXPECT_DOUBLE_EQ(summary.allocation.b, summary.law.alpha / s);
  EXPECT_NEAR(summary.allocation.G,
              std::pow(summary.law.alpha * summary.law.A / (summary.law.beta * summary.law.B), 1.0 / s),
              1e-12);
  // N_opt(C) D_opt(C) = C/6 for any C.
  for (double c : {1e21, 5.76e23, 1e25})
    EXPECT_NEAR(OptimalParams(summary.law, c) * OptimalTokens(summary.law, c), c / 6.0, 1e-9 * c);

  // The reported objective is the plain sum of scipy.special.huber terms at the reported law.
  std::vector<RunPoint> kept = *runs;
  std::stable_sort(kept.begin(), kept.end(),
                   [](const RunPoint& l, const RunPoint& r) { return l.loss > r.loss; });
  kept.erase(kept.begin(), kept.begin() + 5);
  EXPECT_NEAR(HuberObjective(kept, summary.law, 1e-3), summary.objective, 1e-15);
}

}  // namespace
}  // namespace isoflop
