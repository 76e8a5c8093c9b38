// IsoFLOP curves: the budget grouping and per-budget parabolas of Hoffmann et al. 2022's
// Approaches 1 and 2 (Sections 3.1-3.2). One implementation, used by the fitter (which fits the
// power laws through the minima) and the report (which draws the same parabolas).
#ifndef ISOFLOP_ISOFLOP_CURVES_H_
#define ISOFLOP_ISOFLOP_CURVES_H_

#include <optional>
#include <vector>

#include "isoflop/fit_record.h"

namespace isoflop {

// Runs whose log10(C) lie within `gap_decades` of their sorted neighbour share a budget (single
// linkage); the budget is the median C of its group. Indices refer to `flops`; groups come in
// increasing C, members in increasing C (ties: input order). Non-positive or non-finite C are left
// out of every group.
inline constexpr double kDefaultBudgetGapDecades = 0.1;
struct BudgetGroup {
  double budget_flops = 0;
  std::vector<int> members;
};
std::vector<BudgetGroup> GroupByBudget(const std::vector<double>& flops,
                                       double gap_decades = kDefaultBudgetGapDecades);

// Approach 2 at one budget: loss = c0 + c1 ln N + c2 ln^2 N by least squares (centred, Householder
// QR). std::nullopt when there are fewer than 3 distinct N, the fit is not convex (c2 <= 0), or its
// minimum lies outside the sampled sizes [min N, max N]: no interior minimum, no evidence of N_opt.
// tokens_opt = C / (6 N_opt).
std::optional<IsoflopParabola> FitIsoflopParabola(const std::vector<double>& params,
                                                  const std::vector<double>& losses, double budget_flops);

// y = k x^p by least squares on (ln x, ln y).
PowerLaw FitPowerLaw(const std::vector<double>& x, const std::vector<double>& y);

// Percentile with linear interpolation between order statistics (numpy's default "linear").
double Percentile(std::vector<double> values, double q);

}  // namespace isoflop

#endif  // ISOFLOP_ISOFLOP_CURVES_H_
