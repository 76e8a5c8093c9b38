// The calibration protocol (docs/fit.md, "Calibrated extrapolation"): on each public IsoFLOP sweep, fit
// the smaller budgets with the calibrated method and predict the largest third of the budgets; the truth
// at a held-out budget is the minimum of the parabola in ln N through that budget's own runs. The goals:
// the 95% interval of N_opt holds the truth, the point is within 15% of it, and the median |loss error|
// over the held-out runs is at most 1.5%. Every budget and dataset must meet each goal except the misses
// listed below (measured, and shown in docs/fit.md's table); a listed miss that starts passing fails the
// test too, so the list stays true. More datasets: add them to calibration_datasets.h.
#include <cmath>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "calibration_datasets.h"
#include "isoflop/holdout.h"

namespace isoflop {
namespace {

struct KnownMiss {
  const char* dataset;
  double budget_flops;  // 0: the dataset's median loss error over all held-out runs
  const char* goal;     // "covered", "point", "loss"
};

// What the calibrated fit does not achieve (docs/fit.md explains each).
const KnownMiss kKnownMisses[] = {
    // Llama 3's digitised optima bend: 1e22 lies 19% below the power law through all ten budgets, and
    // 33x beyond the fitted ones every variant over-predicts it.
    {"Llama 3 (Dubey et al. 2024, Fig. 2)", 6e20, "point"},
    {"Llama 3 (Dubey et al. 2024, Fig. 2)", 1e21, "point"},
    {"Llama 3 (Dubey et al. 2024, Fig. 2)", 3e21, "point"},
    {"Llama 3 (Dubey et al. 2024, Fig. 2)", 1e22, "point"},
    {"Llama 3 (Dubey et al. 2024, Fig. 2)", 1e22, "covered"},
    // Porian et al.'s optima grow faster than a power law fitted below 2e18 FLOPs at 16x extrapolation.
    // With a constant learning rate (tuned/const) their loss at 4-16x falls faster than either loss
    // form fitted below predicts, and the average of the two misses by 2.3-2.9%.
    {"Porian rw/base/kaplan", 2.56e19, "point"},
    {"Porian rw/tuned/const", 2.56e19, "point"},
    {"Porian rw/tuned/const", 0, "loss"},
    {"Porian owt2/base/kaplan", 2.56e19, "point"},
    {"Porian owt2/base/kaplan", 2.56e19, "covered"},
    {"Porian owt2/base/chinchilla", 2.56e19, "point"},
    {"Porian owt2/tuned/const", 2.56e19, "point"},
    {"Porian owt2/tuned/const", 0, "loss"},
    {"Chinchilla (Epoch AI's Fig. 4 data)", 2.95e21, "point"},
    {"(Mis)Fitting (Li et al. 2025), interpolated", 2e18, "point"},
    {"(Mis)Fitting (Li et al. 2025), interpolated", 5e18, "point"},
};

bool Listed(const std::string& dataset, double budget, const std::string& goal) {
  for (const KnownMiss& m : kKnownMisses)
    if (dataset == m.dataset && goal == m.goal && std::fabs(budget - m.budget_flops) <= 0.02 * budget)
      return true;
  return false;
}

// Fails when a goal's outcome disagrees with the list: a new miss, or a listed miss that now passes.
void Check(const std::string& dataset, double budget, const std::string& goal, bool met,
           const std::string& what) {
  const bool listed = Listed(dataset, budget, goal);
  EXPECT_NE(met, listed) << dataset << " at " << budget << " FLOPs, goal '" << goal << "': " << what
                         << (met ? " (now met: remove it from kKnownMisses)" : " (not met)");
}

TEST(CalibrationProtocol, CalibratedFitMeetsTheGoalsExceptTheListedMisses) {
  auto datasets = calibration_data::Datasets();
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  ASSERT_EQ(datasets->size(), 9u);
  int budgets = 0, covered = 0, within = 0, loss_in_interval = 0, loss_intervals = 0;
  for (const auto& d : *datasets) {
    FitOptions fit;
    fit.method = FitMethod::kCalibrated;
    fit.seed = 1;
    HoldOutOptions holdout;
    holdout.budget_gap_decades = d.budget_gap_decades;
    HoldOutSummary s;
    ASSERT_TRUE(HoldOut(d.runs, fit, holdout, &s).ok()) << d.name;
    ASSERT_GE(s.budgets.size(), 2u) << d.name;
    EXPECT_EQ(s.fit.bootstrap_resamples, static_cast<int>(s.fit.bootstrap_laws.size()));
    for (const HeldOutBudget& b : s.budgets) {
      ++budgets;
      covered += b.covered;
      within += std::fabs(b.point_error) <= 0.15;
      char what[200];
      std::snprintf(what, sizeof what, "truth %.3g, predicted %.3g (%+.0f%%), interval %.3g-%.3g",
                    b.truth_params_opt, b.params_opt, 100 * b.point_error,
                    b.params_opt_interval ? b.params_opt_interval->lo : 0.0,
                    b.params_opt_interval ? b.params_opt_interval->hi : 0.0);
      std::printf("%-45s %9.3g %s\n", d.name.c_str(), b.budget_flops, what);
      ASSERT_TRUE(b.params_opt_interval.has_value()) << d.name;
      Check(d.name, b.budget_flops, "covered", b.covered, what);
      Check(d.name, b.budget_flops, "point", std::fabs(b.point_error) <= 0.15, what);
    }
    std::printf("%-45s median |loss error| %.2f%%, %d of %d observed losses in the 95%% loss interval\n",
                d.name.c_str(), 100 * s.median_abs_loss_error, s.n_loss_in_interval, s.n_loss_intervals);
    loss_in_interval += s.n_loss_in_interval;
    loss_intervals += s.n_loss_intervals;
    Check(d.name, 0, "loss", s.median_abs_loss_error <= 0.015,
          "median |loss error| " + std::to_string(100 * s.median_abs_loss_error) + "%");
  }
  // docs/fit.md's AFTER table: 32 of 34 held-out budgets covered, 22 of 34 points within 15%, the loss
  // goal met on 7 of 9 datasets.
  EXPECT_EQ(budgets, 34);
  EXPECT_EQ(covered, 32);
  EXPECT_EQ(within, 22);
  // The loss intervals are honest on the held-out runs: at least their nominal 95% hold the observed
  // loss (266 of 274 with the loss average of docs/fit.md "The loss law"; 130 of 274 without it).
  EXPECT_EQ(loss_intervals, 274);
  EXPECT_GE(loss_in_interval, 0.95 * loss_intervals) << loss_in_interval << " of " << loss_intervals;
}

}  // namespace
}  // namespace isoflop
