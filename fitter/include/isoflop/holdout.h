// Hold-out validation of a fit (docs/fit.md, "Calibrated extrapolation"): fit on the smaller budgets of
// an IsoFLOP sweep, predict the held-out larger budgets, and compare with what those budgets' own runs
// say. The protocol behind the calibration table and its test.
//
//   isoflop::HoldOutOptions holdout;            // defaults: the largest third of the budgets held out
//   isoflop::HoldOutSummary result;
//   isoflop::Status s = isoflop::HoldOut(runs, fit_options, holdout, &result);
//   for (const auto& b : result.budgets) ... b.covered, b.point_error, b.median_abs_loss_error
#ifndef ISOFLOP_HOLDOUT_H_
#define ISOFLOP_HOLDOUT_H_

#include <optional>
#include <string>
#include <vector>

#include "isoflop/fitter.h"
#include "isoflop/status.h"

namespace isoflop {

struct HoldOutOptions {
  // Budgets: runs grouped by compute (GroupByBudget, single linkage at this gap in decades).
  double budget_gap_decades = 0.1;
  // A budget can be a truth when it has this many runs and the parabola in ln N through them is convex
  // with its minimum inside the runs' N range.
  int min_runs_per_truth_budget = 5;
  // The largest ceil(fraction * n) of the n truth budgets are held out; every run of a smaller budget
  // is fitted.
  double held_out_fraction = 1.0 / 3.0;
  bool IsValid(std::string* error) const;
};

struct HeldOutBudget {
  double budget_flops = 0;
  int n_runs = 0;
  double truth_params_opt = 0;  // the minimum of the parabola in ln N through this budget's runs
  double params_opt = 0;        // predicted (PredictAtBudget)
  std::optional<Interval> params_opt_interval;
  bool covered = false;                 // truth inside the interval (false without one)
  double point_error = 0;               // params_opt / truth_params_opt - 1
  double extrapolation = 0;             // budget / largest fitted budget
  std::vector<double> abs_loss_errors;  // |predicted / observed - 1| for each run (empty: no loss law)
  double median_abs_loss_error = 0;     // NaN without a loss law
  // Runs whose observed loss lies inside PredictAtPoint's 95% loss interval (0 of 0 without intervals).
  int n_loss_in_interval = 0, n_loss_intervals = 0;
};

struct HoldOutSummary {
  int n_fitted_runs = 0;
  double largest_fitted_budget = 0;
  std::vector<HeldOutBudget> budgets;  // increasing budget
  double median_abs_loss_error = 0;    // over every held-out run (NaN without a loss law)
  int n_loss_in_interval = 0, n_loss_intervals = 0;  // over every held-out run
  FitSummary fit;                      // the fit on the smaller budgets
};

// Runs the protocol with `fit_options` (any method; its budget_gap_decades is replaced by the
// protocol's, so the fit groups budgets as the truths are grouped). kInvalidArgument when the runs have fewer
// than 2 truth budgets or nothing below the first held-out one.
Status HoldOut(const std::vector<RunPoint>& runs, const FitOptions& fit_options,
               const HoldOutOptions& options, HoldOutSummary* out);

}  // namespace isoflop

#endif  // ISOFLOP_HOLDOUT_H_
