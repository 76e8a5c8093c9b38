// One code path for N_opt (issue 11): for the same fit.json, the report's frontier — N_opt, D_opt,
// loss and their 95% band — is isoflop::PredictAtBudget's, which `isoflop predict` and the planner
// use (tests/scaling_law/fit_to_plan_test.cc) and the daemon's re-plan uses
// (tests/orchestrator/refit_test.cc). Here: on the stored fit.json fixtures (every law form), and
// end to end — the real fitter writes fit.json, the core reads it, and the report, PredictAtBudget
// and the real planner give the same N_opt at the same budget.
#include <cmath>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "analysis.h"
#include "isoflop/fit_record.h"
#include "isoflop/fitter.h"
#include "isoflop/planner.h"
#include "isoflop/prediction.h"
#include "isoflop/report.h"
#include "report_fixtures.h"
#include "svg_plot.h"

namespace isoflop::report {
namespace {

const std::string kData = ISOFLOP_TEST_DATA_DIR;

void ExpectSameInterval(const std::optional<Interval>& report_lo_hi_absent, double lo, double hi,
                        const char* what, double c) {
  if (!report_lo_hi_absent) {
    EXPECT_TRUE(std::isnan(lo) && std::isnan(hi)) << what << " at " << c;
    return;
  }
  EXPECT_EQ(lo, report_lo_hi_absent->lo) << what << " at " << c;
  EXPECT_EQ(hi, report_lo_hi_absent->hi) << what << " at " << c;
}

// Every point of the report's frontier against PredictAtBudget at the same C, exactly.
void ExpectFrontierIsPredictAtBudget(const ReportInput& in, int expected_replicates) {
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok()) << an.status().ToString();
  ASSERT_EQ(an->frontier.size(), 65u);
  EXPECT_EQ(an->replicates, expected_replicates);
  EXPECT_EQ(an->has_band, expected_replicates >= 2);
  for (const auto& f : an->frontier) {
    auto p = PredictAtBudget(*in.fit, f.flops);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(f.n_opt, p->params_opt) << f.flops;
    EXPECT_EQ(f.d_opt, p->tokens_opt) << f.flops;
    if (std::isnan(p->loss))
      EXPECT_TRUE(std::isnan(f.loss)) << f.flops;
    else
      EXPECT_EQ(f.loss, p->loss) << f.flops;
    if (expected_replicates >= 2) {
      ExpectSameInterval(p->params_opt_interval, f.n_lo, f.n_hi, "N_opt", f.flops);
      ExpectSameInterval(p->tokens_opt_interval, f.d_lo, f.d_hi, "D_opt", f.flops);
      ExpectSameInterval(p->loss_interval, f.loss_lo, f.loss_hi, "loss", f.flops);
    } else {
      EXPECT_TRUE(std::isnan(f.n_lo)) << f.flops;
    }
  }
}

TEST(ReportSameNOpt, ChinchillaFitWithoutReplicates) {
  ExpectFrontierIsPredictAtBudget(testing::ChinchillaInput(), 0);
}

TEST(ReportSameNOpt, Llama3FitWithTwoHundredReplicates) {
  ExpectFrontierIsPredictAtBudget(testing::LlamaSweepInput(), 200);
}

TEST(ReportSameNOpt, PowerLawFitOfApproachTwo) {
  ReportInput in = testing::LlamaSweepInput();
  auto fit = isoflop::LoadFitJson(kData + "/report/llama3_parabola_fit.json");
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  ASSERT_EQ(fit->law.form, LawForm::kPowerLaw);
  in.fit = *fit;
  ExpectFrontierIsPredictAtBudget(in, static_cast<int>(fit->bootstrap_laws.size()));
}

// The text report prints, at the plan's budget, the N_opt PredictAtBudget gives for the fit.
TEST(ReportSameNOpt, TextTableAtThePlanBudget) {
  const ReportInput in = testing::ChinchillaInput();
  auto text = RenderText(in, ReportOptions{});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto p = PredictAtBudget(*in.fit, 1e23);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->params_opt_interval.has_value());  // the fitter's ci at exactly 1e23
  const std::string row = "  " + internal::FormatNumber(1e23);
  const size_t at = text->find(row + " ", text->find("Compute-optimal allocation"));
  ASSERT_NE(at, std::string::npos) << *text;
  const std::string line = text->substr(at, text->find('\n', at) - at);
  EXPECT_NE(
      line.find(internal::FormatNumber(p->params_opt) + " " + internal::IntervalText(p->params_opt_interval)),
      std::string::npos)
      << line;
  EXPECT_NE(line.find(internal::FormatNumber(p->tokens_opt)), std::string::npos) << line;
}

// Fitter -> fit.json on disk -> the core's reader -> report, PredictAtBudget and the planner.
TEST(ReportSameNOpt, FitterReportPredictAndPlannerAgreeOnOneFitJson) {
  CsvOptions csv;
  auto runs = isoflop::LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv", csv);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  FitOptions options;
  options.method = FitMethod::kParabola;  // Llama 3's own method (Dubey et al. 2024, Sec. 3.2.1)
  options.bootstrap_resamples = 50;
  options.seed = 11;
  FitSummary summary;
  ASSERT_TRUE(Fit(*runs, options, &summary).ok());
  const std::string path = ::testing::TempDir() + "/report_same_nopt_fit.json";
  std::ofstream(path) << summary.ToJson();
  auto fit = isoflop::LoadFitJson(path);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();

  ReportInput in;
  auto report_runs = LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv");
  ASSERT_TRUE(report_runs.ok());
  in.runs = *report_runs;
  in.fit = *fit;
  auto an = internal::Analyze(in, ReportOptions{});
  ASSERT_TRUE(an.ok()) << an.status().ToString();
  ASSERT_TRUE(an->has_band);
  const internal::FrontierPoint& f = an->frontier.back();  // 3x the largest budget
  EXPECT_NEAR(f.flops / 3e22, 1.0, 1e-9);
  EXPECT_EQ(f.n_opt, OptimalParams(summary.law, f.flops));  // the fitter's own law
  auto p = PredictAtBudget(*fit, f.flops);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(f.n_opt, p->params_opt);
  EXPECT_EQ(f.n_lo, p->params_opt_interval->lo);
  EXPECT_EQ(f.n_hi, p->params_opt_interval->hi);

  auto cluster =
      planner::LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  planner::PlanOptions plan_options;
  plan_options.budget = f.flops;
  plan_options.seq_len = 4096;
  plan_options.vocab = 128256;
  planner::PlanSummary plan;
  const Status st = planner::Plan(plan_options, *fit, *cluster, &plan);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(plan.params_opt, f.n_opt);
  EXPECT_EQ(plan.tokens_opt, f.d_opt);
  ASSERT_TRUE(plan.params_interval.has_value());
  EXPECT_EQ(plan.params_interval->lo, f.n_lo);
  EXPECT_EQ(plan.params_interval->hi, f.n_hi);
}

}  // namespace
}  // namespace isoflop::report
