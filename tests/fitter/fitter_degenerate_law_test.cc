// A fit whose best optimum lies at infinity is an error that names the runaway parameter, not a
// fit.json that no reader can load. The data are a real tiny CPU sweep (tests/data/PROVENANCE.md)
// whose small-N side is one capacity-limited step: Approach 3 can only fit it with alpha -> inf.
// Approaches 1-2 on the same runs still work (they need no law); with method "all" the fit
// reports them and says why there is no law.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

std::vector<RunPoint> DemoRuns() {
  auto runs =
      LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/demo_sweep_b512_degenerate.csv", CsvOptions{});
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  return runs.ok() ? *runs : std::vector<RunPoint>{};
}

TEST(FitterDegenerateLawTest, Approach3AtInfinityIsAnErrorNamingTheParameter) {
  auto runs = DemoRuns();
  ASSERT_EQ(runs.size(), 15u);
  FitOptions options;
  options.method = FitMethod::kApproach3;
  FitSummary summary;
  Status s = Fit(runs, options, &summary);
  ASSERT_FALSE(s.ok()) << "law: E " << summary.law.E << " A " << summary.law.A << " alpha "
                       << summary.law.alpha;
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("degenerate"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("A = inf"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("15 runs"), std::string::npos) << s.ToString();
}

// Method "all": on this sweep Approach 3 is degenerate and Approach 2 has no power law (only one of
// its three budgets has an IsoFLOP minimum inside its runs' sizes: the 3e9 parabola's minimum lies
// below the smallest run), so the law is Approach 1's power laws (the order is 3, 2, 1), and
// fit.json says why the other two gave none ("approach3_error", "approach2_error").
TEST(FitterDegenerateLawTest, MethodAllSaysWhyApproaches3And2GiveNoLawAndKeepsApproach1) {
  auto runs = DemoRuns();
  FitOptions options;
  options.method = FitMethod::kAll;
  options.bootstrap_resamples = 10;
  FitSummary summary;
  Status s = Fit(runs, options, &summary);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(summary.approach3_error.find("degenerate"), std::string::npos) << summary.approach3_error;
  EXPECT_NE(summary.approach2_error.find("a power law needs at least 2"), std::string::npos)
      << summary.approach2_error;
  EXPECT_TRUE(summary.parabolas.empty());
  ASSERT_EQ(summary.envelope.size(), 3u);
  ASSERT_TRUE(summary.has_law);
  EXPECT_EQ(summary.law.form, LawForm::kPowerLaw);
  EXPECT_EQ(summary.law.params_opt.exponent, summary.envelope_params.exponent);
  const std::string json = summary.ToJson();
  EXPECT_NE(json.find("\"approach3_error\""), std::string::npos);
  EXPECT_NE(json.find("\"approach2_error\""), std::string::npos);
  auto back = FitSummary::FromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->approach3_error, summary.approach3_error);
  EXPECT_EQ(back->approach2_error, summary.approach2_error);
  EXPECT_NE(summary.FullReport().find("no law"), std::string::npos);
  EXPECT_NE(summary.FullReport().find("no power law"), std::string::npos);
}

TEST(FitterDegenerateLawTest, EnvelopeStillFitsTheSameRuns) {
  auto runs = DemoRuns();
  FitOptions options;
  options.method = FitMethod::kEnvelope;
  FitSummary summary;
  ASSERT_TRUE(Fit(runs, options, &summary).ok());
  // Approach 1 alone: its power laws are the law (an allocation; no loss law).
  ASSERT_TRUE(summary.has_law);
  EXPECT_EQ(summary.law.form, LawForm::kPowerLaw);
  EXPECT_EQ(summary.law.params_opt.exponent, summary.envelope_params.exponent);
  // The envelope minima are 1764, 3120, 6984 parameters at 3e9, 1e10, 3e10 FLOPs: N_opt grows
  // with C (exponent ~0.6 from three points).
  ASSERT_EQ(summary.envelope.size(), 3u);
  EXPECT_DOUBLE_EQ(summary.envelope[0].params, 1764.0);
  EXPECT_DOUBLE_EQ(summary.envelope[2].params, 6984.0);
  EXPECT_NEAR(summary.envelope_params.exponent, 0.5956, 0.001);
}

}  // namespace
}  // namespace isoflop
