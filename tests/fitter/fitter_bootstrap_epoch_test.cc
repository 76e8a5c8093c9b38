// Bootstrap on Epoch AI's Chinchilla data: 4,000 resamples give alpha's 95% percentile interval close to
// the one Besiroglu et al. 2024 report, (0.317, 0.373).
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

const Interval* Find(const FitSummary& s, const std::string& name) {
  for (const auto& [n, iv] : s.ci)
    if (n == name) return &iv;
  return nullptr;
}

TEST(BootstrapEpoch, AlphaIntervalMatchesEpoch) {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  FitOptions options;
  options.drop_highest_loss = 5;
  options.bootstrap_resamples = 4000;
  options.seed = 2024;
  options.ci_budgets_flops = {5.76e23};  // Chinchilla's own budget
  FitSummary summary;
  ASSERT_TRUE(Fit(*runs, options, &summary).ok());
  EXPECT_EQ(summary.bootstrap_resamples, 4000);

  const Interval* alpha = Find(summary, "alpha");
  ASSERT_NE(alpha, nullptr);
  EXPECT_NEAR(alpha->lo, 0.317, 0.005);
  EXPECT_NEAR(alpha->hi, 0.373, 0.005);

  // Every interval holds the full-data estimate, and every parameter, a, b, N_opt and D_opt has one.
  for (const char* name :
       {"E", "A", "B", "alpha", "beta", "a", "b", "G", "N_opt@5.76e+23", "D_opt@5.76e+23"}) {
    const Interval* iv = Find(summary, name);
    ASSERT_NE(iv, nullptr) << name;
    EXPECT_LT(iv->lo, iv->hi) << name;
  }
  EXPECT_LE(Find(summary, "alpha")->lo, summary.law.alpha);
  EXPECT_GE(Find(summary, "alpha")->hi, summary.law.alpha);
  EXPECT_LE(Find(summary, "beta")->lo, summary.law.beta);
  EXPECT_GE(Find(summary, "beta")->hi, summary.law.beta);
  const double n_opt = OptimalParams(summary.law, 5.76e23);
  EXPECT_LE(Find(summary, "N_opt@5.76e+23")->lo, n_opt);
  EXPECT_GE(Find(summary, "N_opt@5.76e+23")->hi, n_opt);
}

}  // namespace
}  // namespace isoflop
