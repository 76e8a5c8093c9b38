// The data-constrained law (Muennighoff et al. 2023, eq. 5-7) on their 182-run C4 fit set: the fit runs
// and its objective is no worse than that of the published constants (Appendix A: a = 6.255414,
// b = 7.3049974, e = 0.6254804, alpha = beta = 0.3526596, R_D* = 15.387756, R_N* = 5.309743).
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

ScalingLaw PublishedLaw() {
  ScalingLaw law;
  law.form = LawForm::kDataConstrained;
  law.A = std::exp(6.255414);
  law.B = std::exp(7.3049974);
  law.E = std::exp(0.6254804);
  law.alpha = 0.3526596;
  law.beta = 0.3526596;
  law.r_d_star = 15.387756;
  law.r_n_star = 5.309743;
  return law;
}

std::vector<RunPoint> LoadFitSet() {
  CsvOptions csv;
  EXPECT_TRUE(csv.ParseColumns("run_id=run_name").ok());
  auto runs = LoadRunsCsv(
      std::string(ISOFLOP_TEST_DATA_DIR) + "/muennighoff2023_datablations_c4_runs_fitset182.csv", csv);
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  return *runs;
}

TEST(DataConstrained, PublishedConstantsPredictTheRuns) {
  const auto runs = LoadFitSet();
  ASSERT_EQ(runs.size(), 182u);
  // Sanity of the law itself: without repetition it is Chinchilla's law.
  const ScalingLaw law = PublishedLaw();
  ScalingLaw chinchilla = law;
  chinchilla.form = LawForm::kChinchilla;
  EXPECT_NEAR(PredictLoss(law, 1e9, 2e10, 0), PredictLoss(chinchilla, 1e9, 2e10), 1e-12);
  EXPECT_NEAR(PredictLoss(law, 1e9, 2e10, 2e10), PredictLoss(chinchilla, 1e9, 2e10), 1e-12);
  // Repeating data helps less than fresh data: 4 epochs of 5e9 lose to 2e10 fresh tokens, beat 5e9 once.
  const double repeated = PredictLoss(law, 1e9, 2e10, 5e9);
  EXPECT_GT(repeated, PredictLoss(law, 1e9, 2e10, 2e10));
  EXPECT_LT(repeated, PredictLoss(law, 1e9, 5e9, 5e9));
  // Modelling repetition matters on these runs: the published law's mean |log residual| (0.0875, also
  // computed with numpy from the same formulas) is half that of the same constants ignoring repetition.
  double with_repetition = 0, without = 0;
  for (const auto& r : runs) {
    with_repetition += std::fabs(std::log(PredictLoss(law, r.params, r.tokens, r.unique_tokens) / r.loss));
    without += std::fabs(std::log(PredictLoss(chinchilla, r.params, r.tokens) / r.loss));
  }
  EXPECT_NEAR(with_repetition / runs.size(), 0.0875, 5e-4);
  EXPECT_LT(with_repetition, 0.5 * without);
}

TEST(DataConstrained, FitIsNoWorseThanPublishedConstants) {
  const auto runs = LoadFitSet();
  const double published = HuberObjective(runs, PublishedLaw(), 1e-3);
  FitOptions options;
  options.law = LawForm::kDataConstrained;
  FitSummary summary;
  const Status s = Fit(runs, options, &summary);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(summary.law.form, LawForm::kDataConstrained);
  EXPECT_LE(summary.objective, published);
  EXPECT_GT(summary.law.r_d_star, 0);
  EXPECT_GT(summary.law.r_n_star, 0);
  EXPECT_NEAR(HuberObjective(runs, summary.law, 1e-3), summary.objective, 1e-12);
  std::printf("data-constrained: fitted objective %.10g, published constants %.10g\n%s", summary.objective,
              published, summary.FullReport().c_str());
}

}  // namespace
}  // namespace isoflop
