// The plan in the report (issue 11, item 6): its headline numbers beside their 95% intervals, a loud
// banner when it was planned outside the law's evidence, and frontier axes that span the data (not
// 1e24). The plans are made by the real planner (planner::Plan -> ToJson -> the report's plan.json
// reader) from a real fit: Llama 3's IsoFLOP points below 1e22 (tests/data/report/
// llama3_below_1e22_fit.json, Approach 3 with bootstrap replicates).
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "analysis.h"
#include "isoflop/fit_record.h"
#include "isoflop/planner.h"
#include "isoflop/report.h"
#include "report_fixtures.h"
#include "svg_plot.h"

namespace isoflop::report {
namespace {

const std::string kData = ISOFLOP_TEST_DATA_DIR;

FitRecord HeldOutFit() {
  auto fit = isoflop::LoadFitJson(kData + "/report/llama3_below_1e22_fit.json");
  EXPECT_TRUE(fit.ok()) << fit.status().ToString();
  return fit.ok() ? *fit : FitRecord{};
}

PlanInfo MakePlan(const FitRecord& fit, double budget, bool allow_extrapolation) {
  auto cluster =
      planner::LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
  planner::PlanOptions options;
  options.budget = budget;
  options.seq_len = 4096;
  options.vocab = 128256;
  options.gpus = budget > 1e24 ? 1024 : 64;
  options.allow_extrapolation = allow_extrapolation;
  planner::PlanSummary plan;
  const Status st = planner::Plan(options, fit, *cluster, &plan);
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (!st.ok()) return PlanInfo{};
  auto info = ParsePlanJson(plan.ToJson(), "plan.json");
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? *info : PlanInfo{};
}

ReportInput LlamaWithPlan(const FitRecord& fit, const PlanInfo& plan) {
  ReportInput in;
  auto runs = LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv");
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  if (runs.ok()) in.runs = *runs;
  for (RunRecord& r : in.runs)
    if (r.flops > 5e21) r.role = RunRole::kValidation;
  in.fit = fit;
  in.plan = plan;
  return in;
}

// The plan table's row whose label is `label`.
std::string PlanRow(const std::string& html, const std::string& label) {
  const size_t table = html.find("<table class=\"plan\">");
  const size_t at = html.find("<tr><td>" + label + "</td>", table);
  if (table == std::string::npos || at == std::string::npos) return "";
  return html.substr(at, html.find("</tr>", at) - at);
}

TEST(ReportPlan, HeadlineNumbersStandBesideTheirIntervals) {
  const FitRecord fit = HeldOutFit();
  const PlanInfo plan = MakePlan(fit, 3e22, false);  // 10x the largest fitted budget: within the evidence
  ASSERT_FALSE(plan.extrapolated);
  ASSERT_TRUE(plan.params_opt_interval && plan.tokens_opt_interval && plan.loss_interval);
  // The plan's numbers are the core's at its budget.
  auto p = PredictAtBudget(fit, 3e22);
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(plan.params_opt, p->params_opt);
  EXPECT_DOUBLE_EQ(plan.params_opt_interval->lo, p->params_opt_interval->lo);
  EXPECT_DOUBLE_EQ(plan.loss_interval->hi, p->loss_interval->hi);
  ReportSummary summary;
  auto html = RenderHtml(LlamaWithPlan(fit, plan), ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_FALSE(summary.plan_extrapolated);
  EXPECT_EQ(html->find("class=\"banner\""), std::string::npos);
  const std::string n_row = PlanRow(*html, "compute-optimal N (law)");
  EXPECT_NE(n_row.find(internal::FormatNumber(plan.params_opt, 4) + "</td><td class=\"num\">" +
                       internal::IntervalText(plan.params_opt_interval, 4)),
            std::string::npos)
      << n_row;
  const std::string d_row = PlanRow(*html, "compute-optimal D (law) [tokens]");
  EXPECT_NE(d_row.find(internal::IntervalText(plan.tokens_opt_interval, 4)), std::string::npos) << d_row;
  const std::string l_row = PlanRow(*html, "predicted final loss [nats/token]");
  EXPECT_NE(l_row.find(internal::FormatNumber(plan.loss, 4) + "</td><td class=\"num\">" +
                       internal::IntervalText(plan.loss_interval, 4)),
            std::string::npos)
      << l_row;
  // The lead paragraph, the law's provenance and the extrapolation factor.
  EXPECT_NE(html->find("the law's N_opt = <b>" + internal::FormatNumber(plan.params_opt) + "</b> " +
                       internal::IntervalText(plan.params_opt_interval)),
            std::string::npos);
  EXPECT_NE(html->find("<p class=\"provenance\">Law: " + XmlEscape(plan.provenance)), std::string::npos);
  EXPECT_NE(html->find(internal::FormatNumber(plan.extrapolation) + "× the largest fitted budget"),
            std::string::npos);
  auto text = RenderText(LlamaWithPlan(fit, plan), ReportOptions{});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("compute-optimal N (law)             " + internal::FormatNumber(plan.params_opt, 4) +
                       "  " + internal::IntervalText(plan.params_opt_interval, 4)),
            std::string::npos)
      << *text;
  EXPECT_EQ(text->find("EXTRAPOLATED"), std::string::npos);
}

TEST(ReportPlan, AnExtrapolatedPlanGetsALoudBanner) {
  const FitRecord fit = HeldOutFit();
  const PlanInfo plan = MakePlan(fit, 1e26, true);  // 33,000x the largest fitted budget
  ASSERT_TRUE(plan.extrapolated);
  ASSERT_FALSE(plan.warning.empty());
  ReportSummary summary;
  auto html = RenderHtml(LlamaWithPlan(fit, plan), ReportOptions{}, &summary);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_TRUE(summary.plan_extrapolated);
  const std::string banner = "<div class=\"banner\" role=\"alert\"><b>⚠ Extrapolated plan.</b> " +
                             XmlEscape(plan.warning) + "</div>";
  const size_t first = html->find(banner);
  ASSERT_NE(first, std::string::npos) << plan.warning;
  EXPECT_LT(first, html->find("<h2 id=\"law\">"));                                   // at the top of the page
  EXPECT_NE(html->find(banner, html->find("<h2 id=\"plan\">")), std::string::npos);  // and with the plan
  EXPECT_NE(html->find("plan (EXTRAPOLATED)"), std::string::npos);                   // and on the plots
  EXPECT_NE(summary.BriefReport().find("plan: yes (EXTRAPOLATED)"), std::string::npos);
  auto text = RenderText(LlamaWithPlan(fit, plan), ReportOptions{});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find(std::string(78, '!')), text->find('\n') + 1) << *text;  // right under the title
  EXPECT_NE(text->find("!! EXTRAPOLATED PLAN: " + plan.warning), std::string::npos) << *text;
}

TEST(ReportPlan, FrontierAxesSpanTheDataNotFarOffBudgets) {
  // Runs of 6e18-1e22 FLOPs: without a plan the axis ends at 3x the largest run budget.
  ReportInput in = testing::LlamaSweepInput();
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok());
  EXPECT_DOUBLE_EQ(an->cmin, 6e18);
  EXPECT_DOUBLE_EQ(an->cmax, 3e22);
  EXPECT_DOUBLE_EQ(an->frontier.front().flops, 6e18);
  EXPECT_NEAR(an->frontier.back().flops / 3e22, 1, 1e-12);
  // No tick at 10^24 on the compute axes (it used to run to 1e24 whatever the data).
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find(">10²⁴<"), std::string::npos);
  EXPECT_NE(html->find(">10²²<"), std::string::npos);
  // A plan further out extends it to the plan's budget (x1.5); an explicit upper end wins.
  const FitRecord fit = HeldOutFit();
  const PlanInfo plan = MakePlan(fit, 3e22, false);
  an = internal::Analyze(LlamaWithPlan(fit, plan), ReportOptions{});
  ASSERT_TRUE(an.ok());
  EXPECT_DOUBLE_EQ(an->cmax, 4.5e22);
  ReportOptions fixed;
  fixed.frontier_max_flops = 1e24;
  an = internal::Analyze(in, fixed);
  ASSERT_TRUE(an.ok());
  EXPECT_DOUBLE_EQ(an->cmax, 1e24);
  ReportOptions negative;
  negative.frontier_max_flops = -1;
  std::string error;
  EXPECT_FALSE(negative.IsValid(&error));
  EXPECT_NE(error.find("frontier_max_flops"), std::string::npos);
  // The Chinchilla points (C up to 1.3e22) with their 1e23 plan: up to 1.5e23.
  an = internal::Analyze(testing::ChinchillaInput(), ReportOptions{});
  ASSERT_TRUE(an.ok());
  EXPECT_DOUBLE_EQ(an->cmax, 1.5e23);
}

}  // namespace
}  // namespace isoflop::report
