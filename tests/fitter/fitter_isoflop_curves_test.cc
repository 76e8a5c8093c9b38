// Approaches 1 and 2: budgets grouped from compute, per-budget parabolas and the envelope, and the
// power laws through their minima.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

TEST(IsoflopCurves, ParabolasOnLlama3PointsGiveTokensExponentNear053) {
  // Llama 3 paper (Dubey et al. 2024, Section 3.2.1, Fig. 3): N*(C) = A C^alpha with (alpha, A) = (0.53,
  // 0.29) for the tokens. The digitised points (Fig. 2) give compute and tokens only.
  CsvOptions csv;
  ASSERT_TRUE(csv.ParseColumns("flops=compute_budget,tokens=training_tokens,loss=validation_loss").ok());
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/llama3_isoflops_points_ericczech.csv", csv);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  FitOptions options;
  options.method = FitMethod::kParabola;
  FitSummary summary;
  ASSERT_TRUE(Fit(*runs, options, &summary).ok());
  EXPECT_EQ(summary.parabolas.size(), 10u);  // 6e18, 1e19, 3e19, ..., 1e22
  EXPECT_NEAR(summary.parabola_tokens.exponent, 0.53, 0.03);
  EXPECT_NEAR(summary.parabola_tokens.exponent + summary.parabola_params.exponent, 1.0, 1e-9);  // N D = C/6
  EXPECT_GT(summary.parabola_tokens.r_squared, 0.98);
  // Approach 2 alone: its power laws are the law the plan uses (Llama 3's own method).
  ASSERT_TRUE(summary.has_law);
  EXPECT_EQ(summary.law.form, LawForm::kPowerLaw);
  EXPECT_EQ(summary.law.tokens_opt.exponent, summary.parabola_tokens.exponent);
  EXPECT_FALSE(summary.law.HasLoss());
  std::printf("%s", summary.FullReport().c_str());
}

TEST(IsoflopCurves, RecoversAnExactParabolaAndPowerLaw) {
  // Synthetic sweep: at each budget C, loss = 3 + 0.1 (ln N - ln N*(C))^2 with N*(C) = 0.1 C^0.5.
  std::vector<RunPoint> runs;
  for (double c : {1e18, 1e19, 1e20, 1e21}) {
    const double n_star = 0.1 * std::sqrt(c);
    for (double f : {0.25, 0.5, 1.0, 2.0, 4.0}) {
      RunPoint p;
      p.params = n_star * f;
      p.tokens = c / (6 * p.params);
      p.flops = c * (1 + 0.01 * (f - 1));  // measured compute wobbles around the budget
      p.loss = 3 + 0.1 * std::pow(std::log(f), 2);
      runs.push_back(p);
    }
  }
  FitOptions options;
  options.method = FitMethod::kAll;
  options.starts = {StartPoint{0, 0, 1, 0.5, 0.5}};
  FitSummary summary;
  ASSERT_TRUE(Fit(runs, options, &summary).ok());
  ASSERT_EQ(summary.parabolas.size(), 4u);
  for (const auto& p : summary.parabolas) {
    EXPECT_NEAR(p.params_opt, 0.1 * std::sqrt(p.budget_flops), 1e-6 * p.params_opt);
    EXPECT_NEAR(p.loss_at_min, 3.0, 1e-9);
    EXPECT_EQ(p.n_points, 5);
  }
  EXPECT_NEAR(summary.parabola_params.exponent, 0.5, 1e-6);
  EXPECT_NEAR(summary.parabola_tokens.exponent, 0.5, 1e-6);
  // Envelope: the lowest-loss run at each budget is the f = 1 run.
  ASSERT_EQ(summary.envelope.size(), 4u);
  for (const auto& e : summary.envelope) EXPECT_NEAR(e.loss, 3.0, 1e-12);
  EXPECT_NEAR(summary.envelope_params.exponent, 0.5, 1e-2);
}

TEST(IsoflopCurves, EnvelopeOnLlama3PointsFindsTheTenBudgets) {
  CsvOptions csv;
  ASSERT_TRUE(csv.ParseColumns("flops=compute_budget,tokens=training_tokens,loss=validation_loss").ok());
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/llama3_isoflops_points_ericczech.csv", csv);
  ASSERT_TRUE(runs.ok());
  FitOptions options;
  options.method = FitMethod::kEnvelope;
  FitSummary summary;
  ASSERT_TRUE(Fit(*runs, options, &summary).ok());
  ASSERT_EQ(summary.envelope.size(), 10u);
  EXPECT_DOUBLE_EQ(summary.envelope.front().budget_flops, 6e18);
  EXPECT_DOUBLE_EQ(summary.envelope.back().budget_flops, 1e22);
  // The lowest point per budget is a noisier estimate than the parabola's minimum, but it agrees.
  EXPECT_NEAR(summary.envelope_tokens.exponent, 0.53, 0.08);
  std::printf("%s", summary.FullReport().c_str());
}

}  // namespace
}  // namespace isoflop
