// The report's budgets and IsoFLOP parabolas (Hoffmann et al. 2022, Approach 2) are the scaling-law
// core's: one grouping (isoflop::GroupByBudget at the fitter's gap) and one parabola
// (isoflop::FitIsoflopParabola); the fitter's parabolas are drawn when fit.json has them. On exact
// synthetic curves and on the real Llama 3 IsoFLOP points.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "analysis.h"
#include "isoflop/fit_record.h"
#include "isoflop/isoflop_curves.h"
#include "isoflop/report.h"

namespace isoflop::report {
namespace {

const std::string kData = ISOFLOP_TEST_DATA_DIR;

RunRecord Done(double n, double d, double loss, double c = kUnknown) {
  RunRecord r;
  r.params = n, r.tokens = d, r.loss = loss, r.flops = c;
  return r;
}

internal::Analysis AnalyzeOrDie(const ReportInput& in) {
  auto an = internal::Analyze(in, ReportOptions{});
  EXPECT_TRUE(an.ok()) << an.status().ToString();
  return an.ok() ? *an : internal::Analysis{};
}

TEST(ReportParabola, RecoversAnExactParabolaInLnN) {
  // loss = 2.5 + 0.07 (ln N − ln 3e8)²: minimum at N = 3e8, loss 2.5.
  ReportInput in;
  for (double n : {5e7, 1e8, 2e8, 4e8, 8e8, 1.6e9}) {
    const double u = std::log(n) - std::log(3e8);
    in.runs.push_back(Done(n, 1e20 / (6 * n), 2.5 + 0.07 * u * u, 1e20));
  }
  const internal::Analysis an = AnalyzeOrDie(in);
  ASSERT_EQ(an.budgets.size(), 1u);
  ASSERT_TRUE(an.budgets[0].parabola.has_value());
  const IsoflopParabola& p = *an.budgets[0].parabola;
  EXPECT_FALSE(an.budgets[0].parabola_from_fit);
  EXPECT_NEAR(p.params_opt / 3e8, 1.0, 1e-9);
  EXPECT_NEAR(p.loss_at_min, 2.5, 1e-12);
  EXPECT_NEAR(p.c2, 0.07, 1e-12);
  EXPECT_NEAR(p.tokens_opt, 1e20 / (6 * p.params_opt), 1e-3);
  EXPECT_EQ(p.n_points, 6);
}

TEST(ReportParabola, NeedsThreeDistinctSizesAndUpwardCurvatureAndOnlyDoneSweepRuns) {
  ReportInput two;
  two.runs = {Done(1e8, 1e9, 3.0), Done(2e8, 5e8, 2.9), Done(2e8, 5e8, 2.95)};
  EXPECT_FALSE(AnalyzeOrDie(two).budgets.at(0).parabola.has_value());
  ReportInput concave;
  concave.runs = {Done(1e8, 1e9, 3.0), Done(2e8, 5e8, 3.5), Done(4e8, 2.5e8, 3.0)};
  EXPECT_FALSE(AnalyzeOrDie(concave).budgets.at(0).parabola.has_value());
  // Running and diverged runs never enter the parabola; a validation run is in no budget at all.
  ReportInput mixed;
  mixed.runs = {Done(1e8, 1e9, 3.0), Done(2e8, 5e8, 2.8), Done(4e8, 2.5e8, 3.0)};
  mixed.runs.push_back(Done(8e8, 1.25e8, 50.0));
  mixed.runs.back().state = RunState::kDiverged;
  mixed.runs.push_back(Done(3e8, 1e9 / 3, kUnknown));
  mixed.runs.back().state = RunState::kRunning;
  mixed.runs.push_back(Done(1.5e8, 6.666e8, 2.2));
  mixed.runs.back().role = RunRole::kValidation;
  const internal::Analysis an = AnalyzeOrDie(mixed);
  ASSERT_EQ(an.budgets.size(), 1u);
  EXPECT_EQ(an.budgets[0].runs.size(), 5u);  // the validation run is not in the budget
  EXPECT_EQ(an.runs[5].budget, -1);
  ASSERT_TRUE(an.budgets[0].parabola.has_value());
  EXPECT_EQ(an.budgets[0].parabola->n_points, 3);
  EXPECT_NEAR(an.budgets[0].parabola->params_opt, 2e8, 2e8 * 1e-9);
  EXPECT_EQ(an.budgets[0].best_run, 1);  // the validation run's lower loss is not Approach 1's point
}

TEST(ReportParabola, GroupsTheTenLlama3BudgetsAsTheCoreDoes) {
  // Llama 3 paper, Fig. 2, digitised by eric-czech (tests/data/PROVENANCE.md): 10 budgets.
  auto runs = LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(runs->size(), 133u);
  ReportInput in;
  in.runs = *runs;
  const internal::Analysis an = AnalyzeOrDie(in);
  const std::vector<double> expected = {6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21, 1e22};
  ASSERT_EQ(an.budgets.size(), expected.size());
  std::vector<double> flops;
  for (const auto& r : *runs) flops.push_back(r.flops);
  const std::vector<BudgetGroup> core = GroupByBudget(flops, kDefaultBudgetGapDecades);
  ASSERT_EQ(core.size(), expected.size());
  double previous = 0;
  for (size_t b = 0; b < expected.size(); ++b) {
    EXPECT_NEAR(an.budgets[b].flops / expected[b], 1.0, 1e-9) << b;
    EXPECT_EQ(an.budgets[b].flops, core[b].budget_flops) << b;
    EXPECT_EQ(an.budgets[b].runs, core[b].members) << b;
    // Every budget's parabola is the core's on the budget's runs, with its minimum inside the sampled
    // sizes, and the minima grow with C.
    std::vector<double> n, l;
    double nmin = 1e300, nmax = 0;
    for (int i : core[b].members)
      n.push_back((*runs)[i].params), l.push_back((*runs)[i].loss), nmin = std::min(nmin, (*runs)[i].params),
                                                                    nmax = std::max(nmax, (*runs)[i].params);
    const auto p = FitIsoflopParabola(n, l, core[b].budget_flops);
    ASSERT_TRUE(p.has_value() && an.budgets[b].parabola.has_value()) << b;
    EXPECT_EQ(an.budgets[b].parabola->params_opt, p->params_opt) << b;
    EXPECT_EQ(an.budgets[b].parabola->c2, p->c2) << b;
    EXPECT_GT(p->params_opt, nmin) << b;
    EXPECT_LT(p->params_opt, nmax) << b;
    EXPECT_GT(p->params_opt, previous) << b;
    previous = p->params_opt;
  }
}

TEST(ReportParabola, DrawsTheFittersParabolasAndTheyAreTheOnesItWouldFit) {
  // tests/data/report/llama3_fit.json: `isoflop fit --method all` on the same 133 points. The report
  // draws its 10 parabolas; computed here from the runs by the same core function, they agree.
  auto runs = LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  auto fit = isoflop::LoadFitJson(kData + "/report/llama3_fit.json");
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  ASSERT_EQ(fit->parabolas.size(), 10u);
  ReportInput with_fit;
  with_fit.runs = *runs;
  with_fit.fit = *fit;
  ReportInput without_fit;
  without_fit.runs = *runs;
  const internal::Analysis drawn = AnalyzeOrDie(with_fit);
  const internal::Analysis computed = AnalyzeOrDie(without_fit);
  ASSERT_EQ(drawn.budgets.size(), 10u);
  ASSERT_EQ(computed.budgets.size(), 10u);
  for (size_t b = 0; b < 10; ++b) {
    ASSERT_TRUE(drawn.budgets[b].parabola.has_value()) << b;
    ASSERT_TRUE(computed.budgets[b].parabola.has_value()) << b;
    EXPECT_TRUE(drawn.budgets[b].parabola_from_fit) << b;
    EXPECT_FALSE(computed.budgets[b].parabola_from_fit) << b;
    EXPECT_EQ(drawn.budgets[b].parabola->c1, fit->parabolas[b].c1) << b;  // the fitter's, as written
    EXPECT_EQ(drawn.budgets[b].parabola->budget_flops, computed.budgets[b].parabola->budget_flops) << b;
    EXPECT_EQ(drawn.budgets[b].parabola->n_points, computed.budgets[b].parabola->n_points) << b;
    EXPECT_NEAR(drawn.budgets[b].parabola->params_opt / computed.budgets[b].parabola->params_opt, 1.0, 1e-6)
        << b;
    EXPECT_NEAR(drawn.budgets[b].parabola->loss_at_min, computed.budgets[b].parabola->loss_at_min, 1e-9) << b;
  }
}

}  // namespace
}  // namespace isoflop::report
