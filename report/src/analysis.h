// The numbers both renderers show, computed once: budgets and their IsoFLOP parabolas (the
// scaling-law core's grouping and Approach 2), residuals and outliers, the fitted law's frontier
// with its band (the core's PredictAtBudget over the fit's replicate laws), validation runs against
// the law's prediction (PredictAtPoint), and the published reference laws. Formulas are cited in
// docs/report.md.
#ifndef ISOFLOP_REPORT_SRC_ANALYSIS_H_
#define ISOFLOP_REPORT_SRC_ANALYSIS_H_

#include <optional>
#include <string>
#include <vector>

#include "isoflop/prediction.h"
#include "isoflop/report.h"
#include "isoflop/scaling_law.h"

namespace isoflop::report::internal {

struct RunView {
  const RunRecord* run = nullptr;
  double flops = kUnknown;  // given C, else 6·N·D
  int budget = -1;          // index into Analysis::budgets (sweep runs only)
  double predicted_loss = kUnknown;
  double residual = kUnknown;  // ln L_observed − ln L_law(N, D)
  bool outlier = false;        // |residual| above the threshold, or diverged (sweep runs only)
  bool validation = false;     // role validation: not part of the fit
};

struct BudgetView {
  double flops = kUnknown;  // the median C of the group (isoflop::GroupByBudget)
  std::vector<int> runs;    // indices into Analysis::runs
  std::optional<IsoflopParabola> parabola;
  bool parabola_from_fit = false;  // the fitter's (fit.json "parabolas"), else computed here
  int best_run = -1;               // done run with the lowest loss (Approach 1's envelope point)
};

// A published compute-optimal allocation drawn as a reference line.
struct ReferenceLaw {
  std::string name;      // legend text
  std::string citation;  // for tables and docs
  // N_opt(C) = n_coef · C^a_exp with D_opt = C / (6·N_opt) (Kaplan), or from `law` (Eq. 4).
  std::optional<ScalingLaw> law;
  double n_coef = kUnknown, a_exp = kUnknown;
  double NOpt(double flops) const;
  double DOpt(double flops) const;
};
// Hoffmann (isoflop::HoffmannLaw), Epoch (isoflop::EpochLaw), Kaplan, in that order.
const std::vector<ReferenceLaw>& ReferenceLaws();

// The fit's law along its compute-optimal allocation at one C: isoflop::PredictAtBudget.
// Band fields are NaN without replicate laws; loss fields are NaN without a loss law.
struct FrontierPoint {
  double flops;
  double loss, loss_lo, loss_hi;
  double n_opt, n_lo, n_hi;
  double d_opt, d_lo, d_hi;
  double tpp, tpp_lo, tpp_hi;  // tokens per parameter D_opt / N_opt
};

// One row of the law table: a parameter of the fit with its 95% interval.
struct LawParam {
  std::string key;    // fit.json name: E, A, B, alpha, beta, r_d_star, r_n_star, k_N, a, k_D, b
  std::string label;  // HTML-safe label
  std::string text_label;
  double value = kUnknown;
  std::optional<Interval> interval;
  // The same quantity for Epoch, Hoffmann (NaN when it has none) and Kaplan (text, "–").
  double epoch = kUnknown, hoffmann = kUnknown;
  std::string kaplan = "–";
};

// A validation run against the law's prediction at its (N, D) (isoflop::PredictAtPoint).
struct ValidationCheck {
  int run = -1;  // index into Analysis::runs
  double predicted = kUnknown;
  std::optional<Interval> interval;
  double error_pct = kUnknown;      // (predicted − observed) / observed × 100
  double extrapolation = kUnknown;  // C over the largest fitted budget
  std::optional<bool> inside;       // observed within the 95% interval
};

struct Analysis {
  std::vector<RunView> runs;
  std::vector<BudgetView> budgets;
  ReportSummary counts;
  double robust_sigma = kUnknown;  // 1.4826 × median |residual| over done sweep runs
  double outlier_threshold = kUnknown;
  // The compute axis of the frontier plots [FLOP] and the law along it (empty without a law).
  double cmin = kUnknown, cmax = kUnknown;
  std::vector<double> frontier_flops;
  std::vector<FrontierPoint> frontier;
  bool has_band = false;
  int replicates = 0;            // usable replicate laws behind the band
  std::vector<LawParam> params;  // the law table, form-specific
  // The fitter's intervals of N_opt and D_opt at chosen budgets (fit.json ci "N_opt@<C>").
  std::vector<std::pair<double, Interval>> n_opt_ci, d_opt_ci;
  std::vector<ValidationCheck> checks;
  std::string provenance;  // isoflop::DescribeProvenance of the fit
};

StatusOr<Analysis> Analyze(const ReportInput& input, const ReportOptions& options);

// The fit's compute-optimal point at C (isoflop::PredictAtBudget); std::nullopt without a law.
std::optional<BudgetPrediction> PredictFrontier(const FitRecord& fit, double flops);

// The plan's headline numbers (the planner's plan.json keys, docs/planner.md), labelled with
// units and converted for reading (MFU in %, wall-clock in hours); absent keys are skipped.
// `interval`: the 95% interval beside N_opt, D_opt and the predicted loss ("" elsewhere).
struct PlanHeadline {
  std::string label, value, interval, key;
};
std::vector<PlanHeadline> PlanHeadlines(const PlanInfo& plan);

// "[lo, hi]" with `significant` digits, "–" when absent.
std::string IntervalText(const std::optional<Interval>& interval, int significant = 3);

}  // namespace isoflop::report::internal

#endif  // ISOFLOP_REPORT_SRC_ANALYSIS_H_
