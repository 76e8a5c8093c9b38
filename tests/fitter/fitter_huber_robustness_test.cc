// Robustness: diverged runs (loss far above the trend) do not pull the Huber fit (Hoffmann et al. 2022,
// Appendix D.2 chose Huber for this).
#include <cmath>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

std::vector<RunPoint> ExactSweep(const ScalingLaw& law) {
  std::vector<RunPoint> runs;
  for (double n : {2e7, 5e7, 1e8, 3e8, 1e9, 3e9})
    for (double d : {4e8, 1e9, 3e9, 1e10, 3e10, 1e11}) {
      RunPoint p;
      p.params = n;
      p.tokens = d;
      p.loss = PredictLoss(law, n, d);
      runs.push_back(p);
    }
  return runs;
}

TEST(HuberRobustness, DivergedRunsDoNotPullTheFit) {
  ScalingLaw truth;
  truth.E = 1.8;
  truth.A = 480;
  truth.B = 2100;
  truth.alpha = 0.35;
  truth.beta = 0.37;
  auto runs = ExactSweep(truth);
  // Three runs "diverged": their final loss is 2-3x the trend.
  runs[3].loss *= 2.0;
  runs[17].loss *= 3.0;
  runs[30].loss *= 2.5;
  FitOptions options;
  options.starts = {StartPoint{5, 7, 0.5, 0.3, 0.3}, StartPoint{10, 10, 0, 0.5, 0.5},
                    StartPoint{0, 0, 1, 1, 1}};
  FitSummary summary;
  ASSERT_TRUE(Fit(runs, options, &summary).ok());
  // Huber bounds each diverged run's pull to delta: the law moves by well under 1%.
  EXPECT_NEAR(summary.law.alpha / truth.alpha, 1.0, 1e-2);
  EXPECT_NEAR(summary.law.beta / truth.beta, 1.0, 1e-2);
  EXPECT_NEAR(summary.law.E / truth.E, 1.0, 2e-3);
  EXPECT_NEAR(summary.law.A / truth.A, 1.0, 5e-2);
  EXPECT_NEAR(summary.law.B / truth.B, 1.0, 5e-2);

  // Least squares (a delta larger than every residual) on the same runs is pulled far further.
  FitOptions squares = options;
  squares.huber_delta = 1e3;
  FitSummary ls;
  ASSERT_TRUE(Fit(runs, squares, &ls).ok());
  EXPECT_GT(std::fabs(ls.law.E - truth.E), 10 * std::fabs(summary.law.E - truth.E));
  EXPECT_GT(std::fabs(ls.law.alpha - truth.alpha), 10 * std::fabs(summary.law.alpha - truth.alpha));
}

TEST(HuberRobustness, HuberTermsMatchScipyDefinition) {
  // scipy.special.huber(delta, r) = r^2/2 for |r| <= delta, delta (|r| - delta/2) otherwise.
  ScalingLaw law;
  law.E = 1;
  law.A = 1;
  law.B = 1;
  law.alpha = 1;
  law.beta = 1;
  RunPoint p;
  p.params = 1e6;
  p.tokens = 1e6;
  const double predicted = PredictLoss(law, p.params, p.tokens);
  for (double r : {0.0, 5e-4, -9e-4, 2e-3, -0.5}) {
    p.loss = predicted * std::exp(-r);  // log residual = LSE - log L = r
    const double expected = std::fabs(r) <= 1e-3 ? 0.5 * r * r : 1e-3 * (std::fabs(r) - 0.5e-3);
    EXPECT_NEAR(HuberObjective({p}, law, 1e-3), expected, 1e-15) << r;
  }
}

}  // namespace
}  // namespace isoflop
