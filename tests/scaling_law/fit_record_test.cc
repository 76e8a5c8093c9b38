// fit.json: one reader and one writer. Version 2 round-trips with its provenance; version-1 files
// (the fitter's old output, the planner's old hand-written laws, Approach 2 without a law) still
// read; bad files are bad input naming the key.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "isoflop/fit_record.h"

using namespace isoflop;

namespace {
std::string Write(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST(FitRecord, Version2RoundTripsLawProvenanceAndReplicates) {
  FitRecord r;
  r.method = FitMethod::kParabola;
  r.n_points = 133;
  r.has_law = true;
  r.law.form = LawForm::kPowerLaw;
  r.law.params_opt = {0.5568, 0.4632, 0.99, 10};
  r.law.tokens_opt = {0.2994, 0.5368, 0.99, 10};
  ScalingLaw replicate = r.law;
  replicate.params_opt.exponent = 0.47;
  r.bootstrap_laws = {replicate, HoffmannLaw()};  // mixed forms: a calibrated ensemble
  r.provenance.params_convention = ParamsConvention::kNonEmbedding;
  r.provenance.vocab = 512;
  SetFittedRange({{6e18, 1e8, 1e10, 3.0}, {1e22, 1.7e10, 1e11, 2.1}}, &r.provenance);
  auto back = ParseFitJson(FitRecordToJson(r), "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(FitRecordToJson(*back), FitRecordToJson(r));
  EXPECT_EQ(back->law.form, LawForm::kPowerLaw);
  EXPECT_EQ(back->law.params_opt.exponent, 0.4632);
  ASSERT_EQ(back->bootstrap_laws.size(), 2u);
  EXPECT_EQ(back->bootstrap_laws[0].form, LawForm::kPowerLaw);
  EXPECT_EQ(back->bootstrap_laws[1].form, LawForm::kChinchilla);
  EXPECT_EQ(back->provenance.params_convention, ParamsConvention::kNonEmbedding);
  EXPECT_EQ(back->provenance.vocab, 512);
  EXPECT_EQ(back->provenance.flops.max, 1e22);
  EXPECT_EQ(back->provenance.loss.min, 2.1);
  ASSERT_EQ(back->provenance.budgets_flops.size(), 2u);
}

TEST(FitRecord, ReadsVersion1Files) {
  // The planner's old flat form and the fitter's old output without "form".
  auto flat = ParseFitJson(
      R"({"law.E": 1.69, "law.A": 406.4, "law.B": 410.7, "law.alpha": 0.34, "law.beta": 0.28})", "f");
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  EXPECT_EQ(flat->law.form, LawForm::kChinchilla);
  EXPECT_EQ(flat->provenance.params_convention, ParamsConvention::kUnknown);
  EXPECT_FALSE(flat->provenance.flops.known());
  // The shipped report fixture is the fitter's version-1 output.
  auto v1 = LoadFitJson(std::string(ISOFLOP_TEST_DATA_DIR) + "/report/chinchilla_fit.json");
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_TRUE(v1->has_law);
  EXPECT_NEAR(v1->law.alpha, 0.3473, 1e-3);
  EXPECT_EQ(v1->bootstrap_resamples, 400);
  EXPECT_FALSE(v1->ci.empty());
  // Version 1 by Approach 2 had no "law": its power laws are the law (Llama 3's method plans).
  auto parabola = ParseFitJson(R"({"schema": "isoflop.fit/1", "method": "parabola", "n_points": 6,
      "parabolas": [{"budget_flops": 1e19, "c0": 1, "c1": 1, "c2": 1, "params_opt": 1e8, "tokens_opt": 1.6e10,
                     "loss_at_min": 2.5, "n_points": 3}],
      "parabola_fit": {"params": {"coefficient": 0.5568, "exponent": 0.4632, "r_squared": 1, "n_points": 2},
                       "tokens": {"coefficient": 0.2994, "exponent": 0.5368, "r_squared": 1, "n_points": 2}}})",
                               "l3");
  ASSERT_TRUE(parabola.ok()) << parabola.status().ToString();
  ASSERT_TRUE(parabola->has_law);
  EXPECT_EQ(parabola->law.form, LawForm::kPowerLaw);
  EXPECT_NEAR(OptimalTokens(parabola->law, 3.8e25), 0.2994 * std::pow(3.8e25, 0.5368), 1);
  EXPECT_EQ(parabola->provenance.flops.max, 1e19);
}

TEST(FitRecord, BadFilesNameTheKeyAndAreBadInput) {
  struct Case {
    const char* text;
    const char* names;
  } cases[] = {
      {R"({"law": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34}})", "law.beta"},
      {R"({"law": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": -0.34, "beta": 0.28}})", "law.alpha"},
      {R"({"law": {"E": 1.69, "A": "x", "B": 410.7, "alpha": 0.34, "beta": 0.28}})", "law.A"},
      {R"({"schema": "isoflop.fit/99", "law": {"E": 1, "A": 1, "B": 1, "alpha": 1, "beta": 1}})", "schema"},
      {R"({"law": {"form": "cubic", "E": 1, "A": 1, "B": 1, "alpha": 1, "beta": 1}})", "law.form"},
      {R"({"law": {"form": "power-law", "params_opt": {"coefficient": 1, "exponent": 0.5}}})",
       "law.tokens_opt"},
      {R"({"law": {"E": 1e999, "A": 1, "B": 1, "alpha": 1, "beta": 1}})", "JSON"},
      {R"({"method": "approach3"})", "no law"},
      {R"([1, 2])", "JSON object"},
  };
  for (const auto& c : cases) {
    auto r = ParseFitJson(c.text, "bad.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_NE(r.status().message().find(c.names), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("bad.json"), std::string::npos) << r.status().message();
  }
}

TEST(FitRecord, LoadLawNamesPublishedLawsAndRefusesWhatIsNotAFit) {
  auto epoch = LoadLaw("epoch");
  ASSERT_TRUE(epoch.ok());
  EXPECT_EQ(epoch->method, FitMethod::kPublished);
  EXPECT_EQ(epoch->law.E, 1.82);
  EXPECT_EQ(epoch->provenance.params_convention, ParamsConvention::kTotal);
  EXPECT_NE(epoch->provenance.citation.find("Besiroglu"), std::string::npos);
  EXPECT_EQ(LoadLaw("/nonexistent/fit.json").status().code(), Status::Code::kNotFound);
  const std::string dir = testing::TempDir() + "/a_directory";
  std::filesystem::create_directories(dir);
  EXPECT_EQ(LoadLaw(dir).status().code(), Status::Code::kInvalidArgument);
  // A fit that gave no law (a degenerate Approach 3 under --method all) cannot be planned, and says why.
  const std::string degenerate = Write("degenerate.json", R"J({"schema": "isoflop.fit/2", "method": "all",
      "n_points": 15, "approach3_error": "approach3: the best fit is degenerate (alpha = inf)",
      "envelope": [{"budget_flops": 1e10, "params": 1, "tokens": 1, "loss": 4}],
      "envelope_fit": {"params": {"coefficient": 1, "exponent": 1}, "tokens": {"coefficient": 1, "exponent": 1}}})J");
  auto st = LoadLaw(degenerate).status();
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("degenerate"), std::string::npos) << st.message();
}
