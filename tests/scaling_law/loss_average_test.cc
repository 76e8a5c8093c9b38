// The calibrated fit's loss law: the law with E averaged with the same equation without E
// (ScalingLaw::no_floor; docs/fit.md, "The loss law"). The average is a weighted geometric mean, it
// changes losses and never the allocation, it round-trips through fit.json, and a bad no_floor is bad
// input naming its key. The end-to-end check on held-out sweeps is fitter_calibration_protocol_test.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/fit_record.h"
#include "isoflop/prediction.h"
#include "isoflop/scaling_law.h"

using namespace isoflop;

namespace {

ScalingLaw WithNoFloor(double weight) {
  ScalingLaw law = HoffmannLaw();
  law.no_floor = {/*A=*/20.0, /*B=*/30.0, /*alpha=*/0.08, /*beta=*/0.09, weight};
  return law;
}

}  // namespace

TEST(LossAverage, IsTheWeightedGeometricMeanOfTheTwoForms) {
  const double n = 7e10, d = 1.4e12;
  const double with_e = 1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(d, 0.28);  // eq. 2
  const double without_e = 20.0 / std::pow(n, 0.08) + 30.0 / std::pow(d, 0.09);        // eq. 2, E = 0
  EXPECT_NEAR(PredictLoss(HoffmannLaw(), n, d), with_e, 1e-12);
  EXPECT_NEAR(PredictLoss(WithNoFloor(0.5), n, d), std::sqrt(with_e * without_e), 1e-12);
  EXPECT_NEAR(PredictLoss(WithNoFloor(1.0), n, d), without_e, 1e-12);
  EXPECT_NEAR(PredictLoss(WithNoFloor(0.25), n, d), std::pow(with_e, 0.75) * std::pow(without_e, 0.25),
              1e-12);
}

TEST(LossAverage, LeavesTheAllocationAlone) {
  for (double c : {1e20, 5.76e23, 3.8e25}) {
    EXPECT_EQ(OptimalParams(WithNoFloor(0.5), c), OptimalParams(HoffmannLaw(), c));
    EXPECT_EQ(OptimalTokens(WithNoFloor(0.5), c), OptimalTokens(HoffmannLaw(), c));
  }
  // A power-law allocation carrying the average (the calibrated point law): same N_opt, averaged loss.
  ScalingLaw power;
  power.form = LawForm::kPowerLaw;
  power.params_opt = {0.5568, 0.4632, 1, 10};
  power.tokens_opt = {0.2994, 0.5368, 1, 10};
  ScalingLaw averaged = power;
  const ScalingLaw h = HoffmannLaw();
  averaged.E = h.E, averaged.A = h.A, averaged.B = h.B, averaged.alpha = h.alpha, averaged.beta = h.beta;
  averaged.no_floor = WithNoFloor(0.5).no_floor;
  ASSERT_TRUE(averaged.IsValid(nullptr));
  EXPECT_EQ(OptimalParams(averaged, 1e24), OptimalParams(power, 1e24));
  const Optimum o = ComputeOptimum(averaged, 1e24);
  EXPECT_NEAR(o.loss, PredictLoss(WithNoFloor(0.5), o.params, o.tokens), 1e-12);
}

TEST(LossAverage, RoundTripsThroughFitJsonWithTheReplicates) {
  FitRecord r;
  r.method = FitMethod::kCalibrated;
  r.has_law = true;
  r.law = WithNoFloor(0.5);
  r.allocation = ComputeAllocation(r.law);
  r.bootstrap_laws = {HoffmannLaw(), WithNoFloor(1.0)};  // half one form, half the other
  auto back = ParseFitJson(FitRecordToJson(r), "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(FitRecordToJson(*back), FitRecordToJson(r));
  EXPECT_EQ(back->law.no_floor.weight, 0.5);
  EXPECT_EQ(back->law.no_floor.beta, 0.09);
  ASSERT_EQ(back->bootstrap_laws.size(), 2u);
  EXPECT_FALSE(back->bootstrap_laws[0].no_floor.used());
  EXPECT_EQ(back->bootstrap_laws[1].no_floor.weight, 1.0);
  // The loss interval spans both forms' predictions.
  auto p = PredictAtPoint(*back, 7e10, 1.4e12);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->loss_interval.has_value());
  const double with_e = PredictLoss(HoffmannLaw(), 7e10, 1.4e12);
  const double without_e = PredictLoss(WithNoFloor(1.0), 7e10, 1.4e12);
  EXPECT_NEAR(p->loss_interval->lo, std::min(with_e, without_e), 0.05 * std::fabs(with_e - without_e));
  EXPECT_NEAR(p->loss_interval->hi, std::max(with_e, without_e), 0.05 * std::fabs(with_e - without_e));
}

TEST(LossAverage, ABadNoFloorIsBadInputNamingTheKey) {
  auto parse = [](const std::string& law) {
    return ParseFitJson(R"({"schema":"isoflop.fit/2","method":"calibrated","law":)" + law + "}", "fit.json");
  };
  const std::string base = R"({"form":"chinchilla","E":1.69,"A":406.4,"B":410.7,"alpha":0.34,"beta":0.28,)";
  auto ok = parse(base + R"("no_floor":{"A":20,"B":30,"alpha":0.08,"beta":0.09,"weight":0.5}})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto zero_weight = parse(base + R"("no_floor":{"A":20,"B":30,"alpha":0.08,"beta":0.09,"weight":0}})");
  ASSERT_FALSE(zero_weight.ok());
  EXPECT_NE(zero_weight.status().message().find("law.no_floor.weight"), std::string::npos)
      << zero_weight.status().ToString();
  auto missing = parse(base + R"("no_floor":{"A":20,"B":30,"alpha":0.08,"weight":0.5}})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("law.no_floor.beta"), std::string::npos)
      << missing.status().ToString();
  auto negative = parse(base + R"("no_floor":{"A":-20,"B":30,"alpha":0.08,"beta":0.09,"weight":0.5}})");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("no_floor.A"), std::string::npos)
      << negative.status().ToString();
}
