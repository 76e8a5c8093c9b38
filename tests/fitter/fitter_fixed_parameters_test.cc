// --fix: a law parameter held at a value (Ceres SubsetManifold); the others are fitted as usual.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

std::vector<RunPoint> EpochRuns() {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  return runs.ok() ? *runs : std::vector<RunPoint>{};
}

TEST(FixedParameters, FixingEHoldsItAndFitsTheRest) {
  FitOptions options;
  options.drop_highest_loss = 5;
  options.fixed = {{"E", 1.69}};
  FitSummary fixed;
  ASSERT_TRUE(Fit(EpochRuns(), options, &fixed).ok());
  EXPECT_NEAR(fixed.law.E, 1.69, 1e-12);
  // Fixing e = ln E makes Hoffmann's 5 values of e one start: 4,500 / 5 distinct starts remain.
  EXPECT_EQ(fixed.starts, 900);
  // A constrained optimum cannot beat the free one (0.0010182740, Besiroglu et al. 2024), and the
  // reported objective is the Huber sum at the reported law.
  EXPECT_GT(fixed.objective, 0.0010182740);
  EXPECT_NEAR(fixed.objective, 0.0011436968, 1e-9);
  EXPECT_NEAR(fixed.law.alpha, 0.29100, 1e-4);
  EXPECT_NEAR(fixed.law.beta, 0.33087, 1e-4);
  ASSERT_EQ(fixed.provenance.fixed.size(), 1u);
  EXPECT_EQ(fixed.provenance.fixed[0].first, "E");
  // fit.json keeps the constraint (provenance.fixed) through a write and a read.
  auto back = FitSummary::FromJson(fixed.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->provenance.fixed.size(), 1u);
  EXPECT_EQ(back->provenance.fixed[0].first, "E");
  EXPECT_EQ(back->provenance.fixed[0].second, 1.69);
  EXPECT_EQ(back->law.E, fixed.law.E);
}

TEST(FixedParameters, FixingAtTheFreeOptimumReproducesIt) {
  FitOptions options;
  options.drop_highest_loss = 5;
  FitSummary free_fit;
  ASSERT_TRUE(Fit(EpochRuns(), options, &free_fit).ok());
  options.fixed = {{"E", free_fit.law.E}, {"alpha", free_fit.law.alpha}};
  FitSummary fixed;
  ASSERT_TRUE(Fit(EpochRuns(), options, &fixed).ok());
  EXPECT_EQ(fixed.law.E, free_fit.law.E);
  EXPECT_EQ(fixed.law.alpha, free_fit.law.alpha);
  EXPECT_NEAR(fixed.objective, free_fit.objective, 1e-12 * free_fit.objective);
  EXPECT_NEAR(fixed.law.A, free_fit.law.A, 1e-6 * free_fit.law.A);
  EXPECT_NEAR(fixed.law.B, free_fit.law.B, 1e-6 * free_fit.law.B);
  EXPECT_NEAR(fixed.law.beta, free_fit.law.beta, 1e-7);
}

TEST(FixedParameters, BadSpecsAreNamed) {
  std::vector<std::pair<std::string, double>> fixed;
  EXPECT_TRUE(ParseFixedParameters("E=1.69,alpha=0.34", &fixed).ok());
  ASSERT_EQ(fixed.size(), 2u);
  EXPECT_EQ(fixed[1].first, "alpha");
  EXPECT_EQ(fixed[1].second, 0.34);
  for (const char* bad : {"E", "gamma=1", "E=-1", "E=abc", "E=1.69"}) {  // the last: E twice
    const Status s = ParseFixedParameters(bad, &fixed);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("--fix"), std::string::npos) << s.message();
  }
  std::string error;
  FitOptions o;
  o.fixed = {{"r_d_star", 5}};
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("r_d_star"), std::string::npos) << error;
  o.fixed = {{"E", 1}, {"A", 1}, {"B", 1}, {"alpha", 1}, {"beta", 1}};
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("every law parameter"), std::string::npos) << error;
  o.fixed = {{"E", 1.69}};
  o.method = FitMethod::kParabola;
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("--fix"), std::string::npos) << error;
}

}  // namespace
}  // namespace isoflop
