// The bootstrap refits each resample from the full-data optimum instead of the whole 4,500-start grid.
// This pins that shortcut: on resamples of Epoch's data, the warm start reaches the same optimum as the
// full grid (objective equal to 1e-12 relative, parameters to 1e-5).
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "internal.h"
#include "isoflop/fitter.h"

namespace isoflop {
namespace {

TEST(BootstrapWarmStart, ReachesTheFullGridOptimum) {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  ASSERT_TRUE(runs.ok());
  std::vector<RunPoint> kept = *runs;
  std::stable_sort(kept.begin(), kept.end(),
                   [](const RunPoint& l, const RunPoint& r) { return l.loss > r.loss; });
  kept.erase(kept.begin(), kept.begin() + 5);
  const auto points = fitter_internal::Prepare(kept);

  FitOptions options;
  fitter_internal::MultiStartResult full;
  ASSERT_TRUE(
      fitter_internal::MultiStart(points, LawForm::kChinchilla, HoffmannGrid(), options, 0, &full).ok());

  for (int r : {0, 1}) {
    const auto sample = fitter_internal::MakePoints(fitter_internal::ResampleRows(points, 2024, r));
    fitter_internal::MultiStartResult grid;
    ASSERT_TRUE(
        fitter_internal::MultiStart(sample, LawForm::kChinchilla, HoffmannGrid(), options, 0, &grid).ok());
    std::vector<double> x = full.distinct_optima.front();
    const auto warm = fitter_internal::SolveFromStart(sample, LawForm::kChinchilla, options, x.data());
    ASSERT_TRUE(warm.usable);
    EXPECT_LE(warm.objective, grid.objective * (1 + 1e-12)) << "resample " << r;
    const ScalingLaw law = fitter_internal::VectorToLaw(x.data(), LawForm::kChinchilla);
    EXPECT_NEAR(law.alpha, grid.law.alpha, 1e-5 * grid.law.alpha) << "resample " << r;
    EXPECT_NEAR(law.beta, grid.law.beta, 1e-5 * grid.law.beta) << "resample " << r;
    EXPECT_NEAR(law.E, grid.law.E, 1e-5 * grid.law.E) << "resample " << r;
  }
}

}  // namespace
}  // namespace isoflop
