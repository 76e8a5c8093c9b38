// Per-budget parabolas (Hoffmann et al. 2022, Approach 2) and budget grouping, on exact
// synthetic curves and on the real Llama 3 IsoFLOP points.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"

namespace isoflop::report {
namespace {

RunRecord Done(double n, double d, double loss, double c = kUnknown) {
  RunRecord r;
  r.params = n, r.tokens = d, r.loss = loss, r.flops = c;
  return r;
}

TEST(ReportParabola, RecoversAnExactParabolaInLnN) {
  // loss = 2.5 + 0.07 (ln N − ln 3e8)²: minimum at N = 3e8, loss 2.5.
  std::vector<RunRecord> runs;
  for (double n : {5e7, 1e8, 2e8, 4e8, 8e8, 1.6e9}) {
    const double u = std::log(n) - std::log(3e8);
    runs.push_back(Done(n, 1e20 / (6 * n), 2.5 + 0.07 * u * u, 1e20));
  }
  auto p = FitBudgetParabola(runs, 1e20);
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(p->n_opt / 3e8, 1.0, 1e-9);
  EXPECT_NEAR(p->loss_min, 2.5, 1e-12);
  EXPECT_NEAR(p->c2, 0.07, 1e-12);
  EXPECT_EQ(p->n_points, 6);
}

TEST(ReportParabola, NeedsThreeDistinctSizesAndUpwardCurvature) {
  std::vector<RunRecord> two = {Done(1e8, 1e9, 3.0), Done(2e8, 5e8, 2.9), Done(2e8, 5e8, 2.95)};
  EXPECT_FALSE(FitBudgetParabola(two, 6e17).has_value());
  std::vector<RunRecord> concave = {Done(1e8, 1e9, 3.0), Done(2e8, 5e8, 3.5), Done(4e8, 2.5e8, 3.0)};
  EXPECT_FALSE(FitBudgetParabola(concave, 6e17).has_value());
  // Running and diverged runs never enter the parabola.
  std::vector<RunRecord> mixed = {Done(1e8, 1e9, 3.0), Done(2e8, 5e8, 2.8), Done(4e8, 2.5e8, 3.0)};
  mixed.push_back(Done(8e8, 1.25e8, 50.0));
  mixed.back().state = RunState::kDiverged;
  auto p = FitBudgetParabola(mixed, 6e17);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->n_points, 3);
  EXPECT_NEAR(p->n_opt, 2e8, 2e8 * 1e-9);
}

TEST(ReportParabola, GroupsTheTenLlama3Budgets) {
  // Llama 3 paper, Fig. 2, digitised by eric-czech (tests/data/PROVENANCE.md): 10 budgets.
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/report/llama3_isoflop_runs.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(runs->size(), 133u);
  const std::vector<double> budgets = GroupBudgets(*runs, 1.25);
  const std::vector<double> expected = {6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21, 1e22};
  ASSERT_EQ(budgets.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(budgets[i] / expected[i], 1.0, 1e-9) << i;
  // Every budget's parabola has its minimum inside the sampled sizes, and the minima grow with C.
  double previous = 0;
  for (double c : budgets) {
    std::vector<RunRecord> members;
    double nmin = 1e300, nmax = 0;
    for (const auto& r : *runs)
      if (std::fabs(std::log(r.flops / c)) < 0.01)
        members.push_back(r), nmin = std::min(nmin, r.params), nmax = std::max(nmax, r.params);
    auto p = FitBudgetParabola(members, c);
    ASSERT_TRUE(p.has_value()) << c;
    EXPECT_GT(p->n_opt, nmin) << c;
    EXPECT_LT(p->n_opt, nmax) << c;
    EXPECT_GT(p->n_opt, previous) << c;
    previous = p->n_opt;
  }
}

}  // namespace
}  // namespace isoflop::report
