// The numbers both renderers show, computed once: budgets, per-budget parabolas, residuals
// and outliers, the frontier of the fitted law with its bootstrap band, and the published
// reference laws. Formulas are cited in docs/report.md.
#ifndef ISOFLOP_REPORT_SRC_ANALYSIS_H_
#define ISOFLOP_REPORT_SRC_ANALYSIS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "isoflop/report.h"

namespace isoflop::report::internal {

struct RunView {
  const RunRecord* run = nullptr;
  double flops = kUnknown;  // given C, else 6·N·D
  int budget = -1;          // index into Analysis::budgets
  double predicted_loss = kUnknown;
  double residual = kUnknown;      // ln L_observed − ln L_law(N, D)
  bool outlier = false;            // |residual| above the threshold, or diverged
  bool excluded_from_fit = false;  // named in FitInfo::dropped_run_ids
};

struct BudgetView {
  double flops = kUnknown;
  std::vector<int> runs;  // indices into Analysis::runs
  std::optional<BudgetParabola> parabola;
  int best_run = -1;  // done run with the lowest loss (Approach 1's envelope point)
};

// A published compute-optimal allocation drawn as a reference line.
struct ReferenceLaw {
  std::string name;      // legend text
  std::string citation;  // for tables and docs
  // N_opt(C) = n_coef · C^a_exp with D_opt = C / (6·N_opt) (Kaplan), or from `law` (Eq. 4).
  std::optional<Law> law;
  double n_coef = kUnknown, a_exp = kUnknown;
  double NOpt(double flops) const;
  double DOpt(double flops) const;
};
const std::vector<ReferenceLaw>& ReferenceLaws();

struct FrontierPoint {
  double flops;
  double loss, loss_lo, loss_hi;
  double n_opt, n_lo, n_hi;
  double d_opt, d_lo, d_hi;
  double tpp, tpp_lo, tpp_hi;  // tokens per parameter D_opt / N_opt
};

struct Analysis {
  std::vector<RunView> runs;
  std::vector<BudgetView> budgets;
  ReportSummary counts;
  double robust_sigma = kUnknown;  // 1.4826 × median |residual| over done runs
  double outlier_threshold = kUnknown;
  std::vector<FrontierPoint> frontier;  // empty without a fit
  bool has_band = false;
  // Derived exponents of the fit, a = β/(α+β), b = α/(α+β) (Hoffmann et al. 2022, Eq. 4).
  double a = kUnknown, b = kUnknown;
  Interval a_ci, b_ci;
  // Intervals of E, A, B, alpha, beta, a, b: the fit's own, else percentiles of its bootstrap refits.
  std::map<std::string, Interval> param_ci;
  // The fitter's bootstrap intervals of N_opt and D_opt at chosen budgets ("N_opt@<C>").
  std::vector<std::pair<double, Interval>> n_opt_ci, d_opt_ci;
};

StatusOr<Analysis> Analyze(const ReportInput& input, const ReportOptions& options);

// The plan's headline numbers (the planner's plan.json keys, docs/planner.md), labelled with
// units and converted for reading (MFU in %, wall-clock in hours); absent keys are skipped.
struct PlanHeadline {
  std::string label, value, key;
};
std::vector<PlanHeadline> PlanHeadlines(const PlanInfo& plan);

// q-quantile (0..1) of the finite values, linear interpolation; NaN when none.
double Quantile(std::vector<double> values, double q);

}  // namespace isoflop::report::internal

#endif  // ISOFLOP_REPORT_SRC_ANALYSIS_H_
