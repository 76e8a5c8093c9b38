// RenderHtml on real runs and fits: every section and plot present, states drawn apart,
// hostile text escaped, bad runs rejected with their name, nothing external referenced.
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"
#include "report_fixtures.h"

namespace isoflop::report {
namespace {

using testing::ChinchillaInput;
using testing::LlamaSweepInput;

int Count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(ReportHtml, ChinchillaReportHasEveryPlotAndTable) {
  ReportSummary summary;
  auto html = RenderHtml(ChinchillaInput(), ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  for (const char* id :
       {"plot-isoflop", "plot-frontier", "plot-nopt", "plot-dopt", "plot-tpp", "plot-residuals"})
    EXPECT_NE(html->find(std::string("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"") + id + "\""),
              std::string::npos)
        << id;
  EXPECT_EQ(Count(*html, "<svg "), 6);
  EXPECT_EQ(Count(*html, "</svg>"), 6);
  EXPECT_EQ(summary.n_plots, 6);
  EXPECT_EQ(summary.n_runs, 245);
  EXPECT_EQ(summary.n_done, 245);
  EXPECT_TRUE(summary.has_fit);
  EXPECT_TRUE(summary.has_plan);
  EXPECT_NE(html->find("<table class=\"plan\">"), std::string::npos);
  // The planner's headline numbers (tests/data/report/plan_1e23.json), converted for reading.
  EXPECT_NE(html->find("predicted MFU [%]</td><td class=\"num\">45.04<"), std::string::npos);
  EXPECT_NE(html->find("wall-clock [h]</td><td class=\"num\">64.35<"), std::string::npos);
  EXPECT_NE(html->find("tensor parallel</td><td class=\"num\">2<"), std::string::npos);
  EXPECT_NE(html->find("<table class=\"runs\">"), std::string::npos);
  EXPECT_NE(html->find("<table class=\"law\">"), std::string::npos);
  // Reference lines with their legends, axis labels with units.
  for (const char* text : {"Chinchilla (Hoffmann et al. 2022, Approach 3)", "Epoch (Besiroglu et al. 2024)",
                           "Kaplan et al. 2020", "compute C [FLOP]", "final eval loss [nats/token]",
                           "20 tokens/param rule of thumb"})
    EXPECT_NE(html->find(text), std::string::npos) << text;
  // Self-contained: no scripts, no external resources.
  EXPECT_EQ(html->find("<script"), std::string::npos);
  EXPECT_EQ(html->find("<link"), std::string::npos);
  EXPECT_EQ(html->find("src="), std::string::npos);
  EXPECT_EQ(html->find("http://"), html->find("http://www.w3.org/2000/svg"));
}

TEST(ReportHtml, HighestLossRunsAreFlaggedAsOutliers) {
  // Epoch drops the 5 highest-loss points as outliers; against the fit they stand out.
  ReportSummary summary;
  auto html = RenderHtml(ChinchillaInput(), ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok());
  EXPECT_GE(summary.n_outliers, 1);
  EXPECT_LT(summary.n_outliers, 25);  // a handful, not a tenth of the runs
  EXPECT_EQ(Count(*html, "⚑ outlier"), summary.n_outliers);
}

TEST(ReportHtml, LiveSweepShowsRunningFailedAndDivergedApart) {
  ReportSummary summary;
  auto html = RenderHtml(LlamaSweepInput(), ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_EQ(summary.n_running, 1);
  EXPECT_EQ(summary.n_failed, 1);
  EXPECT_EQ(summary.n_diverged, 1);
  EXPECT_EQ(summary.n_budgets, 10);
  EXPECT_EQ(summary.n_parabolas, 10);
  EXPECT_NE(html->find("running/pending (no loss: at bottom)"), std::string::npos);
  EXPECT_NE(html->find("failed (no loss: at top)"), std::string::npos);
  EXPECT_NE(html->find("diverged (off-scale: at top)"), std::string::npos);
  EXPECT_NE(html->find("⚑ diverged"), std::string::npos);
  EXPECT_NE(html->find("class=\"state-running\""), std::string::npos);
  EXPECT_EQ(Count(*html, "<svg "), 6);
}

TEST(ReportHtml, RunsOnlyReportStillDrawsCurvesAndSaysWhatIsMissing) {
  ReportInput in = LlamaSweepInput();
  in.fit.reset();
  ReportSummary summary;
  auto html = RenderHtml(in, ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok());
  EXPECT_FALSE(summary.has_fit);
  EXPECT_EQ(summary.n_plots, 5);  // no residuals without a fit
  EXPECT_NE(html->find("id=\"plot-isoflop\""), std::string::npos);
  EXPECT_EQ(html->find("id=\"plot-residuals\""), std::string::npos);
  EXPECT_NE(html->find("no fit given (--fit)"), std::string::npos);
}

TEST(ReportHtml, HostileRunIdsAndPlanValuesAreEscaped) {
  ReportInput in = LlamaSweepInput();
  in.runs[0].id = "<script>alert('x')</script>&\"";
  PlanInfo plan;
  plan.budget_flops = 1e23;
  plan.rows.push_back({"model", "<b>name</b>", "a&b"});
  in.plan = plan;
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("<script>"), std::string::npos);
  EXPECT_NE(html->find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"), std::string::npos);
  EXPECT_NE(html->find("&lt;b&gt;name&lt;/b&gt;"), std::string::npos);
}

TEST(ReportHtml, BadRunsAndOptionsAreErrorsNamingTheRun) {
  ReportInput in = LlamaSweepInput();
  in.runs[2].params = -1;
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(html.status().message().find("llama3-003"), std::string::npos) << html.status().message();
  ReportOptions bad;
  bad.plot_width_px = 10;
  std::string error;
  EXPECT_FALSE(bad.IsValid(&error));
  EXPECT_NE(error.find("plot_width_px"), std::string::npos);
  auto rejected = RenderHtml(LlamaSweepInput(), bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().code(), Status::Code::kInvalidArgument);
}

TEST(ReportHtml, OutputIsDeterministic) {
  auto a = RenderHtml(ChinchillaInput(), ReportOptions{});
  auto b = RenderHtml(ChinchillaInput(), ReportOptions{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

}  // namespace
}  // namespace isoflop::report
