// Predictions at a budget and at a point: the law's closed forms, and intervals that are the
// [2.5th, 97.5th] percentiles of the replicates (numpy's "linear" percentile).
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/isoflop_curves.h"
#include "isoflop/prediction.h"

using namespace isoflop;

TEST(Prediction, PublishedLawAtABudgetIsEquation4) {
  auto p = PredictAtBudget(HoffmannRecord(), 5.76e23);
  ASSERT_TRUE(p.ok());
  const ScalingLaw law = HoffmannLaw();
  const double G = std::pow(law.alpha * law.A / (law.beta * law.B), 1 / (law.alpha + law.beta));
  EXPECT_DOUBLE_EQ(p->params_opt, G * std::pow(5.76e23 / 6, law.beta / (law.alpha + law.beta)));
  EXPECT_NEAR(6 * p->params_opt * p->tokens_opt / 5.76e23, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(p->loss, law.E + law.A / std::pow(p->params_opt, law.alpha) +
                                law.B / std::pow(p->tokens_opt, law.beta));
  EXPECT_FALSE(p->params_opt_interval.has_value());  // a published law: no replicates, no made-up interval
  EXPECT_NEAR(p->extrapolation, 5.76e23 / 1.3e22, 1e-9);
}

TEST(Prediction, IntervalsArePercentilesOfTheReplicates) {
  FitRecord r = EpochRecord();
  r.method = FitMethod::kApproach3;
  // 41 replicates whose E differs: N_opt and D_opt do not depend on E, the loss does, linearly.
  for (int i = 0; i <= 40; ++i) {
    ScalingLaw l = r.law;
    l.E = 1.6 + 0.01 * i;
    r.bootstrap_laws.push_back(l);
  }
  auto p = PredictAtBudget(r, 1e23);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->loss_interval.has_value());
  const double rest = p->loss - r.law.E;
  EXPECT_NEAR(p->loss_interval->lo, 1.6 + 0.025 * 0.40 + rest, 1e-12);  // 2.5th percentile of 1.60..2.00
  EXPECT_NEAR(p->loss_interval->hi, 1.6 + 0.975 * 0.40 + rest, 1e-12);
  EXPECT_NEAR(p->params_opt_interval->lo, p->params_opt, 1e-6 * p->params_opt);
  EXPECT_EQ(p->replicates, 41);
  EXPECT_NE(p->interval_source.find("2.5th-97.5th"), std::string::npos);
}

TEST(Prediction, PowerLawPredictsAllocationNotLoss) {
  FitRecord r;
  r.method = FitMethod::kParabola;
  r.has_law = true;
  r.law.form = LawForm::kPowerLaw;
  r.law.params_opt = {0.5568, 0.4632, 1, 10};
  r.law.tokens_opt = {0.2994, 0.5368, 1, 10};
  auto p = PredictAtBudget(r, 3.8e25);
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->tokens_opt, 0.2994 * std::pow(3.8e25, 0.5368));
  EXPECT_TRUE(std::isnan(p->loss));
  EXPECT_EQ(PredictAtPoint(r, 1e9, 2e10).status().code(), Status::Code::kFailedPrecondition);
}

TEST(Prediction, DataConstrainedLawRepeatsDataWhenUniqueTokensRunOut) {
  // Muennighoff et al. 2023's fitted constants (their Table/Appendix A: R_D* 15.4, R_N* 5.3).
  FitRecord r;
  r.has_law = true;
  r.law.form = LawForm::kDataConstrained;
  r.law.E = 1.87, r.law.A = 521, r.law.B = 1488, r.law.alpha = 0.35, r.law.beta = 0.353;
  r.law.r_d_star = 15.4, r.law.r_n_star = 5.3;
  auto free = PredictAtBudget(r, 1e22);
  ASSERT_TRUE(free.ok());
  auto tight = PredictAtBudget(r, 1e22, free->tokens_opt / 8);
  ASSERT_TRUE(tight.ok());
  // Excess parameters decay faster than repeated data (R_N* < R_D*): with too few unique tokens the
  // optimum is a smaller model trained for more epochs (Muennighoff et al. 2023, Sec. 5 / Fig. 3).
  EXPECT_LT(tight->params_opt, free->params_opt);
  EXPECT_GT(tight->epochs, 1.0);
  EXPECT_GT(tight->loss, free->loss);  // repetition costs loss
  EXPECT_NEAR(6 * tight->params_opt * tight->tokens_opt / 1e22, 1.0, 1e-9);
  // The chosen N is the minimum of L(N, C/(6N), U) along the budget.
  const double at = PredictLoss(r.law, tight->params_opt, tight->tokens_opt, free->tokens_opt / 8);
  for (double f : {0.9, 1.1}) {
    const double n = tight->params_opt * f;
    EXPECT_GE(PredictLoss(r.law, n, 1e22 / (6 * n), free->tokens_opt / 8), at - 1e-12);
  }
}

TEST(Prediction, PointLossWithInterval) {
  FitRecord r = HoffmannRecord();
  ScalingLaw low = r.law, high = r.law;
  low.E = 1.6;
  high.E = 1.8;
  r.bootstrap_laws = {low, high};
  auto p = PredictAtPoint(r, 7e10, 1.4e12);
  ASSERT_TRUE(p.ok());
  EXPECT_NEAR(p->loss, 1.69 + 406.4 / std::pow(7e10, 0.34) + 410.7 / std::pow(1.4e12, 0.28), 1e-12);
  ASSERT_TRUE(p->loss_interval.has_value());
  EXPECT_NEAR(p->loss_interval->hi - p->loss_interval->lo, 0.95 * 0.2, 1e-12);
}

TEST(Prediction, BadBudgetsAreBadInput) {
  EXPECT_EQ(PredictAtBudget(HoffmannRecord(), 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(PredictAtBudget(HoffmannRecord(), -1).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(PredictAtBudget(HoffmannRecord(), 1e23, -5).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(PredictAtPoint(HoffmannRecord(), 1e9, 0).status().code(), Status::Code::kInvalidArgument);
}
