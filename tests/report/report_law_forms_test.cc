// Every law form renders (issue 11): a Chinchilla law, a data-constrained law (Muennighoff et al.
// 2023) and an allocation-only power law (Approach 2, Llama 3's method), each read from a real
// fit.json by the scaling-law core. A power law draws its N_opt/D_opt frontiers with their band and
// says it predicts no loss: no loss frontier, no residuals.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "analysis.h"
#include "isoflop/fit_record.h"
#include "isoflop/report.h"
#include "report_fixtures.h"
#include "svg_plot.h"

namespace isoflop::report {
namespace {

const std::string kData = ISOFLOP_TEST_DATA_DIR;

int Count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

FitRecord LoadFit(const std::string& name) {
  auto fit = isoflop::LoadFitJson(kData + "/report/" + name);
  EXPECT_TRUE(fit.ok()) << fit.status().ToString();
  return fit.ok() ? *fit : FitRecord{};
}

// The law table's row of `label` (HTML), up to the end of the row.
std::string Row(const std::string& html, const std::string& label) {
  const size_t at = html.find("<tr><td>" + label);
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</tr>", at) - at);
}

TEST(ReportLawForms, ChinchillaLawDrawsLossFrontierAndResiduals) {
  ReportSummary summary;
  auto html = RenderHtml(testing::LlamaSweepInput(), ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_TRUE(summary.has_fit);
  EXPECT_TRUE(summary.has_loss_law);
  EXPECT_TRUE(summary.has_band);
  EXPECT_EQ(summary.n_plots, 6);
  EXPECT_NE(html->find("fitted law L(N_opt(C), D_opt(C))"), std::string::npos);
  EXPECT_NE(html->find("id=\"plot-residuals\""), std::string::npos);
  const ReportInput in = testing::LlamaSweepInput();
  const std::string e_row = Row(*html, "E (irreducible loss)");
  EXPECT_NE(e_row.find(internal::FormatNumber(in.fit->law.E, 4)), std::string::npos) << e_row;
  EXPECT_NE(e_row.find("["), std::string::npos) << e_row;  // percentiles over its 200 replicates
  // The provenance line of a version-1 file: the core's description, convention unknown.
  EXPECT_NE(
      html->find("Fit: <b>all chinchilla law from tests/data/report/llama3_fit.json (unknown N; 133 runs"),
      std::string::npos);
}

TEST(ReportLawForms, DataConstrainedLawShowsRepetitionParametersAndUsesUniqueTokens) {
  // tests/data/report/datablations_dc_fit.json: `isoflop fit --law data-constrained` on Muennighoff et
  // al.'s 182 C4 runs (tests/data/PROVENANCE.md).
  ReportInput in;
  auto runs = LoadRunsCsv(kData + "/muennighoff2023_datablations_c4_runs_fitset182.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  in.runs = *runs;
  in.fit = LoadFit("datablations_dc_fit.json");
  ASSERT_EQ(in.fit->law.form, LawForm::kDataConstrained);
  ReportSummary summary;
  auto html = RenderHtml(in, ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_TRUE(summary.has_loss_law);
  EXPECT_EQ(summary.n_plots, 6);
  EXPECT_NE(html->find("R<sub>D</sub>* (data repetition half-life)"), std::string::npos);
  EXPECT_NE(html->find("R<sub>N</sub>* (excess-parameter half-life)"), std::string::npos);
  EXPECT_NE(html->find("Muennighoff et al. 2023"), std::string::npos);
  // Residuals use each run's unique tokens: the law at (N, D, U), not at (N, D) unrepeated.
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok());
  int repeated = 0;
  for (const auto& v : an->runs) {
    const double expected = PredictLoss(in.fit->law, v.run->params, v.run->tokens, v.run->unique_tokens);
    EXPECT_DOUBLE_EQ(v.predicted_loss, expected) << v.run->id;
    if (v.run->tokens > v.run->unique_tokens * 1.5) {
      ++repeated;
      EXPECT_NE(v.predicted_loss, PredictLoss(in.fit->law, v.run->params, v.run->tokens)) << v.run->id;
    }
  }
  EXPECT_GT(repeated, 50);  // most of the 182 runs repeat their data
  // The fit is good where it was fitted: median |residual| of a few percent, not more.
  EXPECT_LT(an->robust_sigma, 0.05);
  auto text = RenderText(in, ReportOptions{});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("\n  R_D*"), std::string::npos) << *text;
}

TEST(ReportLawForms, PowerLawDrawsAllocationFrontiersAndSaysItHasNoLoss) {
  // tests/data/report/llama3_parabola_fit.json: `isoflop fit --method parabola --bootstrap 100` on the
  // Llama 3 points: N_opt = k C^a through the per-budget minima.
  ReportInput in = testing::LlamaSweepInput();
  in.fit = LoadFit("llama3_parabola_fit.json");
  ASSERT_EQ(in.fit->law.form, LawForm::kPowerLaw);
  ASSERT_FALSE(in.fit->law.HasLoss());
  ReportSummary summary;
  auto html = RenderHtml(in, ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_TRUE(summary.has_fit);
  EXPECT_FALSE(summary.has_loss_law);
  EXPECT_TRUE(summary.has_band);
  EXPECT_EQ(summary.n_plots, 5);  // no residuals: no loss law
  EXPECT_EQ(Count(*html, "<svg "), 5);
  EXPECT_EQ(html->find("id=\"plot-residuals\""), std::string::npos);
  EXPECT_EQ(html->find("fitted law L(N_opt(C), D_opt(C))"), std::string::npos);
  EXPECT_NE(html->find("this fit (power law)"), std::string::npos);
  EXPECT_GE(Count(*html, "95% band (replicate laws)"), 3);  // N_opt, D_opt, tokens per parameter
  EXPECT_NE(html->find("predicts no loss"), std::string::npos);
  // Its law table: k_N, a, k_D, b with intervals; a is the fitted exponent, beside the published.
  const std::string a_row = Row(*html, "a: N_opt");
  ASSERT_FALSE(a_row.empty());
  EXPECT_NE(a_row.find(internal::FormatNumber(in.fit->law.params_opt.exponent, 4)), std::string::npos)
      << a_row;
  EXPECT_NE(a_row.find("["), std::string::npos) << a_row;
  EXPECT_NE(a_row.find("0.73"), std::string::npos) << a_row;  // Kaplan
  EXPECT_FALSE(Row(*html, "k<sub>N</sub>").empty());
  EXPECT_FALSE(Row(*html, "k<sub>D</sub>").empty());
  EXPECT_TRUE(Row(*html, "E (irreducible loss)").empty());
  // The frontier is the power law itself.
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok());
  for (const auto& f : an->frontier) {
    EXPECT_NEAR(f.n_opt / in.fit->law.params_opt.At(f.flops), 1.0, 1e-12);
    EXPECT_TRUE(std::isnan(f.loss));
  }
  auto text = RenderText(in, ReportOptions{});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("allocation-only power law"), std::string::npos) << *text;
  EXPECT_EQ(text->find("Flagged runs"), std::string::npos) << *text;
}

TEST(ReportLawForms, FitWithoutALawStillDrawsItsParabolas) {
  // A degenerate Approach 3 under --method all (fit.json approach3_error, no law, v2) is read by the
  // core; the report draws the fitter's parabolas and says why there is no frontier.
  FitRecord fit = LoadFit("llama3_fit.json");
  fit.has_law = false;
  fit.approach3_error = "alpha ran to the bound";
  fit.bootstrap_laws.clear();
  auto reread = isoflop::ParseFitJson(FitRecordToJson(fit), "degenerate.json");
  ASSERT_TRUE(reread.ok()) << reread.status().ToString();
  ReportInput in = testing::LlamaSweepInput();
  in.fit = *reread;
  ReportSummary summary;
  auto html = RenderHtml(in, ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_FALSE(summary.has_fit);
  EXPECT_EQ(summary.n_parabolas, 10);
  EXPECT_NE(html->find("fit.json holds no law (alpha ran to the bound)"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
