// fit.json: the stable schema (docs/fit.md) and a lossless round trip through FromJson.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

FitSummary SmallFit() {
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  EXPECT_TRUE(runs.ok());
  FitOptions options;
  options.method = FitMethod::kAll;
  options.drop_highest_loss = 5;
  options.starts = {StartPoint{6, 7.5, 0.5, 0.3, 0.3}, StartPoint{5, 5, 0.5, 0.5, 0.5}};
  options.bootstrap_resamples = 20;
  options.ci_budgets_flops = {1e24};
  FitSummary summary;
  EXPECT_TRUE(Fit(*runs, options, &summary).ok());
  return summary;
}

TEST(FitJson, HasTheDocumentedKeys) {
  const auto j = nlohmann::json::parse(SmallFit().ToJson());
  for (const char* key : {"schema", "method", "n_points", "law", "objective", "starts", "starts_at_optimum",
                          "allocation", "ci", "envelope", "envelope_fit", "approach2_error"})
    EXPECT_TRUE(j.contains(key)) << key;
  // Epoch's Chinchilla points are not IsoFLOP profiles: Approach 2 finds one budget whose parabola
  // has its minimum inside its runs' sizes, too few for a power law, and fit.json says so instead
  // of listing parabolas (docs/fit.md; IsoFLOP data writes "parabolas" and "parabola_fit").
  EXPECT_FALSE(j.contains("parabolas"));
  for (const char* key : {"E", "A", "B", "alpha", "beta"}) EXPECT_TRUE(j["law"].contains(key)) << key;
  for (const char* key : {"a", "b", "G"}) EXPECT_TRUE(j["allocation"].contains(key)) << key;
  EXPECT_EQ(j["ci"]["alpha"].size(), 2u);
  EXPECT_TRUE(j["ci"].contains("N_opt@1e+24"));
  EXPECT_EQ(j["method"], "all");
  EXPECT_EQ(j["n_points"], 240);
  EXPECT_EQ(j["schema"], "isoflop.fit/2");
}

// "bootstrap": one {E, A, B, alpha, beta} per fitted resample — what the report draws the
// frontier's band from and the planner reads as replicates (docs/fit.md).
TEST(FitJson, ListsEachResampleLaw) {
  const FitSummary s = SmallFit();
  const auto j = nlohmann::json::parse(s.ToJson());
  ASSERT_TRUE(j.contains("bootstrap"));
  ASSERT_EQ(j["bootstrap"].size(), 20u);
  EXPECT_EQ(j["bootstrap_resamples"], 20);
  std::vector<double> alphas;
  for (const auto& law : j["bootstrap"]) {
    for (const char* key : {"E", "A", "B", "alpha", "beta"}) {
      ASSERT_TRUE(law.contains(key)) << key;
      EXPECT_GT(law[key].get<double>(), 0) << key;
    }
    alphas.push_back(law["alpha"].get<double>());
  }
  // The listed laws are the ones the interval was computed from: its ends lie within their range.
  const auto [lo, hi] = std::minmax_element(alphas.begin(), alphas.end());
  EXPECT_GE(j["ci"]["alpha"][0].get<double>(), *lo);
  EXPECT_LE(j["ci"]["alpha"][1].get<double>(), *hi);
  EXPECT_LT(*lo, *hi);  // resamples differ
}

TEST(FitJson, RoundTripsExactly) {
  const FitSummary s = SmallFit();
  auto back = FitSummary::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), s.ToJson());
  EXPECT_EQ(back->law.alpha, s.law.alpha);  // doubles survive bit for bit
  EXPECT_EQ(back->parabolas.size(), s.parabolas.size());
  EXPECT_EQ(back->bootstrap_laws.size(), s.bootstrap_laws.size());
}

// A fit.json is the user's input to plan/predict/report: bad files are bad input (exit 2), named.
TEST(FitJson, RejectsMalformedInput) {
  EXPECT_EQ(FitSummary::FromJson("not json").status().code(), Status::Code::kInvalidArgument);
  const auto empty = FitSummary::FromJson("{\"method\": \"approach3\"}");
  EXPECT_EQ(empty.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("law"), std::string::npos) << empty.status().message();
  const auto method = FitSummary::FromJson("{\"method\": \"nope\", \"n_points\": 3}");
  EXPECT_EQ(method.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(method.status().message().find("'method'"), std::string::npos) << method.status().message();
}

}  // namespace
}  // namespace isoflop
