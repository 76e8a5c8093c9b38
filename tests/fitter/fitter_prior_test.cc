// --prior: maximum a posteriori Approach 3 with Gaussian priors in log space (docs/fit.md, "Priors and
// fixed parameters"). On a sweep cut to its smallest budgets the prior lowers the error of the loss
// predicted at the held-out larger budgets.
#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

// Llama 3's IsoFLOP points (Dubey et al. 2024, Fig. 2; tests/data/PROVENANCE.md): 10 budgets.
std::vector<RunPoint> Llama3Runs() {
  CsvOptions csv;
  EXPECT_TRUE(csv.ParseColumns("flops=compute_budget,tokens=training_tokens,loss=validation_loss").ok());
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/llama3_isoflops_points_ericczech.csv", csv);
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  return runs.ok() ? *runs : std::vector<RunPoint>{};
}

double MedianAbsRelativeLossError(const ScalingLaw& law, const std::vector<RunPoint>& runs) {
  std::vector<double> e;
  for (const RunPoint& r : runs) e.push_back(std::fabs(PredictLoss(law, r.params, r.tokens) / r.loss - 1));
  std::sort(e.begin(), e.end());
  const size_t n = e.size();
  return n % 2 ? e[n / 2] : 0.5 * (e[n / 2 - 1] + e[n / 2]);
}

TEST(Prior, ParsesNameAndWidth) {
  auto p = ParseLawPrior("hoffmann");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "hoffmann");
  EXPECT_EQ(p->width, 0.5);
  p = ParseLawPrior("epoch:0.3");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "epoch");
  EXPECT_EQ(p->width, 0.3);
  for (const char* bad : {"kaplan", "hoffmann:0", "hoffmann:-1", "epoch:wide"})
    EXPECT_EQ(ParseLawPrior(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  EXPECT_EQ(PriorCentre("hoffmann")->alpha, 0.34);
  EXPECT_EQ(PriorCentre("epoch")->beta, 0.3658);
}

// The three smallest budgets (6e18, 1e19, 3e19 FLOPs: 49 runs) are fitted; the other 84 runs (6e19 to
// 1e22 FLOPs, up to 333x further) are predicted.
TEST(Prior, LowersHeldOutLossErrorOnASmallSweep) {
  std::vector<RunPoint> small, held;
  for (const RunPoint& r : Llama3Runs()) (r.flops <= 3e19 ? small : held).push_back(r);
  ASSERT_EQ(small.size(), 49u);
  ASSERT_EQ(held.size(), 84u);

  FitOptions options;
  FitSummary free_fit, map_fit;
  ASSERT_TRUE(Fit(small, options, &free_fit).ok());
  options.prior = *ParseLawPrior("hoffmann:0.5");
  ASSERT_TRUE(Fit(small, options, &map_fit).ok());

  const double free_error = MedianAbsRelativeLossError(free_fit.law, held);
  const double map_error = MedianAbsRelativeLossError(map_fit.law, held);
  EXPECT_NEAR(free_error, 0.0150, 0.0005);  // docs/fit.md, table "Priors on small sweeps"
  EXPECT_NEAR(map_error, 0.0063, 0.0005);
  EXPECT_LT(map_error, 0.5 * free_error);

  // The prior moved the exponents towards Hoffmann's (0.34, 0.28) and recorded its residual scale s.
  EXPECT_EQ(map_fit.provenance.prior, "hoffmann");
  EXPECT_EQ(map_fit.provenance.prior_width, 0.5);
  EXPECT_GT(map_fit.provenance.prior_residual_scale, 0);
  EXPECT_LT(std::fabs(std::log(map_fit.law.beta / 0.28)), std::fabs(std::log(free_fit.law.beta / 0.28)));
  auto back = FitSummary::FromJson(map_fit.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->provenance.prior, "hoffmann");
  EXPECT_EQ(back->provenance.prior_residual_scale, map_fit.provenance.prior_residual_scale);
  // Its objective is still the runs' Huber sum, which the prior can only raise.
  EXPECT_GE(map_fit.objective, free_fit.objective);
  EXPECT_NEAR(map_fit.objective, HuberObjective(small, map_fit.law, options.huber_delta), 1e-15);
}

// A very narrow prior pins the law at its centre whatever the runs say.
TEST(Prior, NarrowPriorPinsTheCentre) {
  std::vector<RunPoint> small;
  for (const RunPoint& r : Llama3Runs())
    if (r.flops <= 3e19) small.push_back(r);
  FitOptions options;
  options.prior = *ParseLawPrior("epoch:0.0001");
  FitSummary fit;
  ASSERT_TRUE(Fit(small, options, &fit).ok());
  const ScalingLaw centre = *PriorCentre("epoch");
  EXPECT_NEAR(fit.law.alpha, centre.alpha, 1e-3 * centre.alpha);
  EXPECT_NEAR(fit.law.beta, centre.beta, 1e-3 * centre.beta);
  EXPECT_NEAR(fit.law.E, centre.E, 1e-3 * centre.E);
}

}  // namespace
}  // namespace isoflop
