// The multi-start runs in two phases (docs/fit.md, "Two phases"): every start to coarse tolerances, then
// the best distinct basins polished to the final ones. This pins that the shortcut finds the optimum
// that solving every one of the 4,500 starts to the final tolerances finds (objective to 1e-12
// relative, parameters to 1e-6), on Epoch's data and on one bootstrap resample of it, and that the
// starts it counts as at the optimum are no more than the one-phase count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "internal.h"
#include "isoflop/fitter.h"

namespace isoflop {
namespace {

struct OnePhase {
  double objective = std::numeric_limits<double>::infinity();
  ScalingLaw law;
  int at_optimum = 0;
};

// Every start solved to the final tolerances (the pre-two-phase reference).
OnePhase SolveEveryStartToFinalTolerances(const fitter_internal::Points& points, const FitOptions& options) {
  const auto grid = HoffmannGrid();
  const int n = static_cast<int>(grid.size());
  std::vector<std::vector<double>> x(n, std::vector<double>(5));
  std::vector<fitter_internal::SolveResult> solved(n);
  isoflop::ParallelFor(n, 2, [&](int i) {
    fitter_internal::StartToVector(grid[i], LawForm::kChinchilla, x[i].data());
    solved[i] = fitter_internal::SolveFromStart(points, LawForm::kChinchilla, options, x[i].data(),
                                                fitter_internal::Tolerances::kFinal);
  });
  OnePhase out;
  int best = -1;
  for (int i = 0; i < n; ++i)
    if (solved[i].usable && solved[i].objective < out.objective)
      out.objective = solved[i].objective, best = i;
  out.law = fitter_internal::VectorToLaw(x[best].data(), LawForm::kChinchilla);
  for (int i = 0; i < n; ++i)
    if (solved[i].usable &&
        solved[i].objective - out.objective <= options.optimum_relative_tolerance * out.objective)
      ++out.at_optimum;
  return out;
}

TEST(TwoPhase, FindsTheOnePhaseOptimum) {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  ASSERT_TRUE(runs.ok());
  std::vector<RunPoint> kept = *runs;
  std::stable_sort(kept.begin(), kept.end(),
                   [](const RunPoint& l, const RunPoint& r) { return l.loss > r.loss; });
  kept.erase(kept.begin(), kept.begin() + 5);
  const auto full = fitter_internal::Prepare(kept);
  const auto resample = fitter_internal::MakePoints(fitter_internal::ResampleRows(full, 2024, 0));

  FitOptions options;
  for (const auto* points : {&full, &resample}) {
    fitter_internal::MultiStartResult two;
    ASSERT_TRUE(
        fitter_internal::MultiStart(*points, LawForm::kChinchilla, HoffmannGrid(), options, 2, &two).ok());
    const OnePhase one = SolveEveryStartToFinalTolerances(*points, options);
    const char* which = points == &full ? "full data" : "resample 0";
    EXPECT_NEAR(two.objective, one.objective, 1e-12 * one.objective) << which;
    EXPECT_NEAR(two.law.alpha, one.law.alpha, 1e-6 * one.law.alpha) << which;
    EXPECT_NEAR(two.law.beta, one.law.beta, 1e-6 * one.law.beta) << which;
    EXPECT_NEAR(two.law.A, one.law.A, 1e-6 * one.law.A) << which;
    EXPECT_NEAR(two.law.B, one.law.B, 1e-6 * one.law.B) << which;
    EXPECT_NEAR(two.law.E, one.law.E, 1e-6 * one.law.E) << which;
    EXPECT_GT(two.starts_at_optimum, 100) << which;
    EXPECT_LE(two.starts_at_optimum, one.at_optimum) << which;
  }
}

}  // namespace
}  // namespace isoflop
