// Predictions from a fit record, with intervals and the evidence behind them: the one code path
// by which `isoflop predict`, the planner, the report and the daemon's re-plan turn a law into
// N_opt, D_opt and a loss at a budget (docs/fit.md, "Predictions and intervals").
#ifndef ISOFLOP_PREDICTION_H_
#define ISOFLOP_PREDICTION_H_

#include <optional>
#include <string>

#include "isoflop/fit_record.h"
#include "isoflop/status.h"

namespace isoflop {

// Interval level: the [2.5th, 97.5th] percentiles of the replicates.
inline constexpr double kIntervalLowQuantile = 0.025;
inline constexpr double kIntervalHighQuantile = 0.975;

struct BudgetPrediction {
  double budget_flops = 0;
  double unique_tokens = 0;  // 0 = unlimited
  double params_opt = 0, tokens_opt = 0;
  double loss = 0;    // NaN when the law has no loss law
  double epochs = 1;  // tokens_opt / unique_tokens (data-constrained plans)
  std::optional<Interval> params_opt_interval, tokens_opt_interval, loss_interval;
  // "bootstrap replicates (N laws, 2.5th-97.5th percentile)", "fit.json ci at this budget", or "".
  std::string interval_source;
  int replicates = 0;
  // C over the largest fitted budget (NaN when the record does not know its range).
  double extrapolation = 0;
};

// Compute-optimal N, D and loss at `budget_flops` with the record's law, and their intervals over
// the record's replicate laws (replicates that give no finite answer are left out and counted).
// kInvalidArgument for a non-positive budget; kFailedPrecondition when the record has no law.
StatusOr<BudgetPrediction> PredictAtBudget(const FitRecord& record, double budget_flops,
                                           double unique_tokens = 0);

struct PointPrediction {
  double params = 0, tokens = 0, unique_tokens = 0;
  double loss = 0;
  std::optional<Interval> loss_interval;
  int replicates = 0;
};
// Loss of a model of N parameters trained on D tokens (U unique). kFailedPrecondition when the
// law has no loss law (an allocation-only power law).
StatusOr<PointPrediction> PredictAtPoint(const FitRecord& record, double params, double tokens,
                                         double unique_tokens = 0);

// When a plan may rest on a law (docs/planner.md, "The plan knows its evidence"): an N_opt interval
// wider than `max_interval_ratio` (hi / lo), or a budget more than `max_extrapolation` times the
// largest fitted one (with or without intervals: resampling cannot see extrapolation bias), is
// refused; so is a fitted law whose range is unknown and that has no interval.
struct EvidenceOptions {
  double max_interval_ratio = 10;
  double max_extrapolation = 1e4;
  bool IsValid(std::string* error) const;
};

struct EvidenceSummary {
  bool supported = true;
  std::string reason;               // why not: the fitted range, the extrapolation factor, the N_opt interval
  std::string BriefReport() const;  // one line: "fitted on ... ; budget is Kx the largest ..."
};
// Published laws are checked against the range of the runs they were fitted on, like any other.
EvidenceSummary CheckEvidence(const FitRecord& record, const BudgetPrediction& prediction,
                              const EvidenceOptions& options = {});

// One line of provenance for printing beside a number: "approach3 chinchilla law from fit.json
// (non_embedding N, vocab 512; 15 runs, 3e9-3e10 FLOPs)".
std::string DescribeProvenance(const FitRecord& record);

}  // namespace isoflop

#endif  // ISOFLOP_PREDICTION_H_
