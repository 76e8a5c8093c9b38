// Validation runs (runs CSV `role` = validation) check the law's prediction: they are not part of the
// fit, and the report sets their observed loss beside isoflop::PredictAtPoint's predicted loss and
// 95% interval at their (N, D), on the frontier plot and in the "Prediction check" table. Real data:
// Llama 3's IsoFLOP points fitted (Approach 3, bootstrap) on their nine budgets below 1e22; the 6
// runs at 1e22 — 3.3x the largest fitted budget — are the validation runs.
#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "analysis.h"
#include "isoflop/fit_record.h"
#include "isoflop/prediction.h"
#include "isoflop/report.h"
#include "svg_plot.h"

namespace isoflop::report {
namespace {

const std::string kData = ISOFLOP_TEST_DATA_DIR;

ReportInput HeldOutInput() {
  ReportInput in;
  auto runs = LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv");
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  if (runs.ok()) in.runs = *runs;
  for (RunRecord& r : in.runs)
    if (r.flops > 5e21) r.role = RunRole::kValidation;
  // tests/data/report/llama3_below_1e22_fit.json (tests/data/PROVENANCE.md): fitted without those runs.
  auto fit = isoflop::LoadFitJson(kData + "/report/llama3_below_1e22_fit.json");
  EXPECT_TRUE(fit.ok()) << fit.status().ToString();
  if (fit.ok()) in.fit = *fit;
  in.source = "tests/data/report/llama3_isoflop_runs.csv";
  return in;
}

TEST(ReportValidation, HeldOutRunsAreCheckedAgainstPredictAtPoint) {
  const ReportInput in = HeldOutInput();
  ASSERT_TRUE(in.fit.has_value());
  ASSERT_GE(in.fit->bootstrap_laws.size(), 2u);
  EXPECT_LT(in.fit->provenance.flops.max, 5e21);  // the fit never saw the validation runs
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok()) << an.status().ToString();
  EXPECT_EQ(an->counts.n_validation, 6);
  EXPECT_EQ(an->counts.n_budgets, 9);  // validation runs are in no IsoFLOP curve
  ASSERT_EQ(an->checks.size(), 6u);
  std::vector<double> abs_errors;
  int inside = 0;
  for (const auto& c : an->checks) {
    const RunRecord& r = *an->runs[c.run].run;
    EXPECT_EQ(r.role, RunRole::kValidation);
    auto p = PredictAtPoint(*in.fit, r.params, r.tokens);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(c.predicted, p->loss) << r.id;
    ASSERT_TRUE(c.interval && p->loss_interval) << r.id;
    EXPECT_EQ(c.interval->lo, p->loss_interval->lo) << r.id;
    EXPECT_EQ(c.interval->hi, p->loss_interval->hi) << r.id;
    EXPECT_DOUBLE_EQ(c.error_pct, 100 * (p->loss - r.loss) / r.loss) << r.id;
    EXPECT_NEAR(c.extrapolation, 1e22 / in.fit->provenance.flops.max, 1e-9) << r.id;
    EXPECT_FALSE(an->runs[c.run].outlier);
    abs_errors.push_back(std::fabs(c.error_pct));
    inside += c.inside.value_or(false);
  }
  std::sort(abs_errors.begin(), abs_errors.end());
  const double median = abs_errors[abs_errors.size() / 2];
  // Approach 3 on the nine smaller budgets predicts the 1e22 runs' losses to about a percent.
  EXPECT_LT(median, 1.5) << "median |loss error| " << median << "%";
  std::printf("llama3 1e22 held out: median |loss error| %.3f%%, %d of 6 inside the 95%% interval\n", median,
              inside);
}

TEST(ReportValidation, FrontierPlotAndPredictionCheckTableShowThem) {
  const ReportInput in = HeldOutInput();
  ReportSummary summary;
  auto html = RenderHtml(in, ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_EQ(summary.n_validation, 6);
  const size_t frontier = html->find("id=\"plot-frontier\"");
  ASSERT_NE(frontier, std::string::npos);
  const std::string plot = html->substr(frontier, html->find("</svg>", frontier) - frontier);
  EXPECT_NE(plot.find("validation: observed loss"), std::string::npos);
  EXPECT_NE(plot.find("validation: law&#39;s predicted loss at its N, D"), std::string::npos);
  EXPECT_NE(plot.find("validation: 95% interval of the prediction"), std::string::npos);
  EXPECT_NE(html->find("<h2 id=\"check\">Prediction check</h2>"), std::string::npos);
  const size_t table = html->find("<table class=\"checks\">");
  ASSERT_NE(table, std::string::npos);
  const std::string checks = html->substr(table, html->find("</table>", table) - table);
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok());
  for (const auto& c : an->checks) {
    const RunRecord& r = *an->runs[c.run].run;
    EXPECT_NE(checks.find("<td>" + r.id + "</td>"), std::string::npos) << r.id;
    EXPECT_NE(checks.find(internal::FormatNumber(c.predicted, 4) + "</td><td class=\"num\">" +
                          internal::IntervalText(c.interval, 4)),
              std::string::npos)
        << r.id;
  }
  // In the runs table, flagged as validation; the text report has the same check.
  size_t n = 0;
  for (size_t p = html->find("validation (not in the fit)"); p != std::string::npos;
       p = html->find("validation (not in the fit)", p + 1))
    ++n;
  EXPECT_EQ(n, 6u);
  auto text = RenderText(in, ReportOptions{});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("Prediction check"), std::string::npos) << *text;
  EXPECT_NE(text->find(an->runs[an->checks[0].run].run->id), std::string::npos);
}

TEST(ReportValidation, UnfinishedValidationRunAndALawWithoutLoss) {
  ReportInput in = HeldOutInput();
  RunRecord planned;
  planned.id = "validation-planned";
  planned.params = 2e9, planned.tokens = 4e10, planned.flops = 6 * 2e9 * 4e10;
  planned.state = RunState::kRunning;
  planned.role = RunRole::kValidation;
  in.runs.push_back(planned);
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok()) << an.status().ToString();
  const auto& last = an->checks.back();
  EXPECT_EQ(an->runs[last.run].run->id, "validation-planned");
  EXPECT_TRUE(std::isfinite(last.predicted));  // predicted before it finishes
  EXPECT_TRUE(std::isnan(last.error_pct));
  EXPECT_FALSE(last.inside.has_value());
  // An allocation-only power law predicts no loss: the validation runs are shown observed only.
  auto power = isoflop::LoadFitJson(kData + "/report/llama3_parabola_fit.json");
  ASSERT_TRUE(power.ok()) << power.status().ToString();
  in.fit = *power;
  ReportSummary summary;
  auto html = RenderHtml(in, ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_NE(html->find("validation: observed loss"), std::string::npos);
  EXPECT_EQ(html->find("validation: law&#39;s predicted loss"), std::string::npos);
  EXPECT_NE(html->find("7 validation run(s) drawn with their observed loss only"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
