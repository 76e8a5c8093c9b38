// Method calibrated (docs/fit.md, "Calibrated extrapolation"): what the fit holds and how it is made.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"
#include "isoflop/prediction.h"

namespace isoflop {
namespace {

std::vector<RunPoint> Llama3Runs() {
  CsvOptions csv;
  EXPECT_TRUE(csv.ParseColumns("flops=compute_budget,tokens=training_tokens,loss=validation_loss").ok());
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/llama3_isoflops_points_ericczech.csv", csv);
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  return runs.ok() ? *runs : std::vector<RunPoint>{};
}

FitSummary Calibrated(const std::vector<RunPoint>& runs, int threads) {
  FitOptions options;
  options.method = FitMethod::kCalibrated;
  options.seed = 7;
  options.threads = threads;
  options.ci_budgets_flops = {1e23};
  FitSummary s;
  const Status st = Fit(runs, options, &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

TEST(Calibrated, IsAModelAverageOfEightVariants) {
  const FitSummary s = Calibrated(Llama3Runs(), 0);
  ASSERT_TRUE(s.has_law);
  EXPECT_EQ(s.method, FitMethod::kCalibrated);
  ASSERT_EQ(s.calibration.size(), 8u);  // Approaches 2 and 3 x all, near-optimal, upper, upper near-optimal
  double weight = 0, log_k = 0, a = 0;
  int replicates = 0, approach3 = 0;
  for (const CalibrationVariant& v : s.calibration) {
    weight += v.weight;
    replicates += v.replicates;
    log_k += v.weight * std::log(v.params_opt.coefficient);
    a += v.weight * v.params_opt.exponent;
    if (v.approach == "approach3") {
      ++approach3;
      EXPECT_TRUE(v.has_law);
      EXPECT_NEAR(v.weight, 0.125, 1e-12);
    }
  }
  EXPECT_EQ(approach3, 4);
  EXPECT_NEAR(weight, 1.0, 1e-12);
  EXPECT_EQ(replicates, s.bootstrap_resamples);
  EXPECT_EQ(static_cast<size_t>(s.bootstrap_resamples), s.bootstrap_laws.size());
  EXPECT_GE(s.bootstrap_resamples, 390);  // 400 requested; draws with no allocation (a <= 0, a >= 1) left out
  // The point allocation is the weighted mean of the variants' ln N_opt = ln k + a ln C, and D = C / (6 N).
  EXPECT_EQ(s.law.form, LawForm::kPowerLaw);
  EXPECT_NEAR(std::log(s.law.params_opt.coefficient), log_k, 1e-12);
  EXPECT_NEAR(s.law.params_opt.exponent, a, 1e-12);
  for (double c : {1e20, 1e23})
    EXPECT_NEAR(OptimalParams(s.law, c) * OptimalTokens(s.law, c), c / 6, 1e-9 * c / 6);
  // It carries a loss law (Approach 3 on the upper, near-optimal runs) and mixed-form replicates.
  EXPECT_TRUE(s.law.HasLoss());
  EXPECT_EQ(s.law.E, s.calibration[4].law.E);
  EXPECT_EQ(s.calibration[4].runs, "upper near-optimal");
  int power = 0, chinchilla = 0;
  for (const ScalingLaw& l : s.bootstrap_laws) (l.form == LawForm::kPowerLaw ? power : chinchilla) += 1;
  EXPECT_NEAR(power, 200, 10);
  EXPECT_NEAR(chinchilla, 200, 10);
  // Intervals at a requested budget match PredictAtBudget over the replicates.
  auto p = PredictAtBudget(s, 1e23);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->params_opt_interval.has_value());
  bool found = false;
  for (const auto& [name, iv] : s.ci)
    if (name == "N_opt@1e+23") {
      found = true;
      EXPECT_DOUBLE_EQ(iv.lo, p->params_opt_interval->lo);
      EXPECT_DOUBLE_EQ(iv.hi, p->params_opt_interval->hi);
    }
  EXPECT_TRUE(found);
}

TEST(Calibrated, FitJsonRoundTripsAndThreadsDoNotMatter) {
  const FitSummary one = Calibrated(Llama3Runs(), 1);
  const FitSummary two = Calibrated(Llama3Runs(), 2);
  const std::string json = one.ToJson();
  EXPECT_EQ(json, two.ToJson());
  auto back = FitSummary::FromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), json);
  EXPECT_EQ(back->calibration.size(), 8u);
  EXPECT_EQ(back->bootstrap_laws.size(), one.bootstrap_laws.size());
}

// The variants start from Hoffmann's grid at every other value per axis (243 starts); on the Epoch data
// that reaches the full grid's optimum, Besiroglu et al. 2024's objective 0.0010182740.
TEST(Calibrated, CalibrationGridReachesTheEpochOptimum) {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  ASSERT_TRUE(runs.ok());
  FitOptions options;
  options.method = FitMethod::kCalibrated;
  options.drop_highest_loss = 5;
  options.budget_gap_decades = 0.02;
  FitSummary s;
  ASSERT_TRUE(Fit(*runs, options, &s).ok());
  ASSERT_FALSE(s.calibration.empty());
  EXPECT_EQ(s.calibration[0].approach, "approach3");
  EXPECT_EQ(s.calibration[0].runs, "all");
  EXPECT_NEAR(s.calibration[0].objective, 0.0010182740, 1e-9);
  EXPECT_NEAR(s.calibration[0].law.alpha, 0.3473, 2e-4);
}

TEST(Calibrated, RejectsTheDataConstrainedLaw) {
  FitOptions options;
  options.method = FitMethod::kCalibrated;
  options.law = LawForm::kDataConstrained;
  std::string error;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("calibrated"), std::string::npos) << error;
}

}  // namespace
}  // namespace isoflop
