// Hold-out validation (isoflop/holdout.h; docs/fit.md, "Calibrated extrapolation").
#include "isoflop/holdout.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "isoflop/isoflop_curves.h"
#include "isoflop/prediction.h"

namespace isoflop {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  return Percentile(std::move(v), 0.5);
}

}  // namespace

bool HoldOutOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(budget_gap_decades > 0)) return fail("budget_gap_decades must be positive");
  if (min_runs_per_truth_budget < 3) return fail("min_runs_per_truth_budget must be >= 3 (a parabola)");
  if (!(held_out_fraction > 0 && held_out_fraction < 1)) return fail("held_out_fraction must be in (0, 1)");
  return true;
}

Status HoldOut(const std::vector<RunPoint>& runs, const FitOptions& fit_options,
               const HoldOutOptions& options, HoldOutSummary* out) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("hold-out options: " + error);
  std::vector<double> flops;
  for (const RunPoint& r : runs) flops.push_back(r.ComputeFlops());
  const std::vector<BudgetGroup> groups = GroupByBudget(flops, options.budget_gap_decades);

  // Truth budgets: enough runs, and a convex parabola in ln N with its minimum among the runs.
  struct Truth {
    const BudgetGroup* group;
    double params_opt;
  };
  std::vector<Truth> truths;
  for (const BudgetGroup& g : groups) {
    if (static_cast<int>(g.members.size()) < options.min_runs_per_truth_budget) continue;
    std::vector<double> params, losses;
    for (int i : g.members) {
      params.push_back(runs[i].params);
      losses.push_back(runs[i].loss);
    }
    const auto p = FitIsoflopParabola(params, losses, g.budget_flops);
    if (!p) continue;
    const auto [lo, hi] = std::minmax_element(params.begin(), params.end());
    if (p->params_opt > *lo && p->params_opt < *hi) truths.push_back({&g, p->params_opt});
  }
  if (truths.size() < 2)
    return Status::InvalidArgument("hold-out: " + std::to_string(truths.size()) +
                                   " budget(s) have an interior IsoFLOP minimum; need at least 2");
  const size_t held = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(options.held_out_fraction * static_cast<double>(truths.size()))));
  const double first_held = truths[truths.size() - held].group->budget_flops;

  std::vector<RunPoint> fitted;
  for (const BudgetGroup& g : groups)
    if (g.budget_flops < first_held)
      for (int i : g.members) fitted.push_back(runs[i]);
  if (fitted.empty()) return Status::InvalidArgument("hold-out: no runs below the first held-out budget");

  HoldOutSummary result;
  result.n_fitted_runs = static_cast<int>(fitted.size());
  // One grouping: the fit's budgets (Approach 2, the calibrated variants) are the protocol's.
  FitOptions fit = fit_options;
  fit.budget_gap_decades = options.budget_gap_decades;
  ISOFLOP_RETURN_IF_ERROR(Fit(fitted, fit, &result.fit));
  for (const RunPoint& r : fitted)
    result.largest_fitted_budget = std::max(result.largest_fitted_budget, r.ComputeFlops());

  std::vector<double> all_errors;
  for (size_t t = truths.size() - held; t < truths.size(); ++t) {
    const BudgetGroup& g = *truths[t].group;
    HeldOutBudget b;
    b.budget_flops = g.budget_flops;
    b.n_runs = static_cast<int>(g.members.size());
    b.truth_params_opt = truths[t].params_opt;
    auto prediction = PredictAtBudget(result.fit, g.budget_flops);
    if (!prediction.ok()) return prediction.status().WithContext("hold-out");
    b.params_opt = prediction->params_opt;
    b.params_opt_interval = prediction->params_opt_interval;
    b.covered = b.params_opt_interval && b.params_opt_interval->lo <= b.truth_params_opt &&
                b.truth_params_opt <= b.params_opt_interval->hi;
    b.point_error = b.params_opt / b.truth_params_opt - 1;
    b.extrapolation = g.budget_flops / result.largest_fitted_budget;
    if (result.fit.law.HasLoss()) {
      for (int i : g.members) {
        const double predicted =
            PredictLoss(result.fit.law, runs[i].params, runs[i].tokens, runs[i].unique_tokens);
        b.abs_loss_errors.push_back(std::fabs(predicted / runs[i].loss - 1));
        auto point = PredictAtPoint(result.fit, runs[i].params, runs[i].tokens, runs[i].unique_tokens);
        if (point.ok() && point->loss_interval) {
          ++b.n_loss_intervals;
          b.n_loss_in_interval +=
              point->loss_interval->lo <= runs[i].loss && runs[i].loss <= point->loss_interval->hi;
        }
      }
      result.n_loss_intervals += b.n_loss_intervals;
      result.n_loss_in_interval += b.n_loss_in_interval;
    }
    b.median_abs_loss_error = Median(b.abs_loss_errors);
    all_errors.insert(all_errors.end(), b.abs_loss_errors.begin(), b.abs_loss_errors.end());
    result.budgets.push_back(std::move(b));
  }
  result.median_abs_loss_error = Median(all_errors);
  *out = std::move(result);
  return Status::OK();
}

}  // namespace isoflop
