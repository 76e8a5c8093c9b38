// Prints docs/fit.md's calibration tables (not a test): the hold-out protocol (isoflop/holdout.h) on
// every calibration dataset, for the old default (Approach 3 with a 400-resample bootstrap over runs)
// and the calibrated fit.
//   build/bin/isoflop_calibration_table     # BEFORE, AFTER and the priors table, markdown
#include <cmath>
#include <cstdio>
#include <string>

#include "calibration_datasets.h"
#include "isoflop/holdout.h"
#include "isoflop/isoflop_curves.h"

namespace {

void Table(const char* title, const isoflop::FitOptions& fit) {
  using namespace isoflop;
  std::printf("\n%s\n\n", title);
  std::printf(
      "| dataset | budget (FLOPs) | x largest fitted | truth N_opt | predicted | 95%% interval | covered | "
      "point error | median loss error |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  auto datasets = calibration_data::Datasets();
  if (!datasets.ok()) {
    std::printf("error: %s\n", datasets.status().ToString().c_str());
    return;
  }
  int budgets = 0, covered = 0, within = 0, datasets_loss_ok = 0;
  std::string loss_intervals;  // observed held-out losses inside the 95% loss interval, per dataset
  for (const auto& d : *datasets) {
    HoldOutOptions holdout;
    holdout.budget_gap_decades = d.budget_gap_decades;
    HoldOutSummary s;
    const Status st = HoldOut(d.runs, fit, holdout, &s);
    if (!st.ok()) {
      std::printf("| %s | error: %s |\n", d.name.c_str(), st.message().c_str());
      continue;
    }
    for (const auto& b : s.budgets) {
      ++budgets;
      covered += b.covered;
      within += std::fabs(b.point_error) <= 0.15;
      char interval[64] = "none";
      if (b.params_opt_interval)
        std::snprintf(interval, sizeof interval, "%.3g - %.3g", b.params_opt_interval->lo,
                      b.params_opt_interval->hi);
      std::printf("| %s | %.3g | %.1f | %.3g | %.3g | %s | %s | %+.0f%% | %.2f%% |\n", d.name.c_str(),
                  b.budget_flops, b.extrapolation, b.truth_params_opt, b.params_opt, interval,
                  b.covered ? "yes" : "**no**", 100 * b.point_error, 100 * b.median_abs_loss_error);
    }
    datasets_loss_ok += s.median_abs_loss_error <= 0.015;
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %d of %d |\n", d.name.c_str(), s.n_loss_in_interval,
                  s.n_loss_intervals);
    loss_intervals += line;
    std::printf("| %s | all held-out runs | | | | | | | **%.2f%%** |\n", d.name.c_str(),
                100 * s.median_abs_loss_error);
  }
  std::printf(
      "\nheld-out budgets covered: %d of %d; point within 15%%: %d of %d; datasets with median loss error <= "
      "1.5%%: %d of %zu\n",
      covered, budgets, within, budgets, datasets_loss_ok, datasets->size());
  std::printf("\n| dataset | held-out runs whose observed loss lies in the 95%% loss interval |\n| --- | --- |\n%s",
              loss_intervals.c_str());
}

// Priors on small sweeps: each dataset cut to its 3 smallest budgets (with >= 5 runs); the median
// |loss error| of Approach 3 on the runs of its other budgets (with >= 5 runs), without and with a prior.
void PriorTable() {
  using namespace isoflop;
  std::printf(
      "\nPriors on small sweeps: Approach 3 on the 3 smallest budgets, median |loss error| on the other "
      "budgets' runs\n\n");
  std::printf(
      "| dataset | fitted runs | held-out runs | no prior | hoffmann:0.5 | epoch:0.5 |\n| --- | --- | --- | "
      "--- | --- | --- |\n");
  auto datasets = calibration_data::Datasets();
  if (!datasets.ok()) return;
  for (const auto& d : *datasets) {
    std::vector<double> flops;
    for (const RunPoint& r : d.runs) flops.push_back(r.ComputeFlops());
    std::vector<RunPoint> small, held;
    int budgets = 0;
    for (const BudgetGroup& g : GroupByBudget(flops, d.budget_gap_decades)) {
      if (g.members.size() < 5) continue;
      for (int i : g.members) (budgets < 3 ? small : held).push_back(d.runs[i]);
      ++budgets;
    }
    std::printf("| %s | %zu | %zu |", d.name.c_str(), small.size(), held.size());
    for (const char* prior : {"", "hoffmann:0.5", "epoch:0.5"}) {
      FitOptions options;
      if (*prior) options.prior = *ParseLawPrior(prior);
      FitSummary fit;
      const Status st = Fit(small, options, &fit);
      if (!st.ok()) {
        std::printf(" no law |");
        continue;
      }
      std::vector<double> e;
      for (const RunPoint& r : held)
        e.push_back(std::fabs(PredictLoss(fit.law, r.params, r.tokens) / r.loss - 1));
      std::printf(" %.2f%% |", 100 * Percentile(e, 0.5));
    }
    std::printf("\n");
  }
}

}  // namespace

int main() {
  isoflop::FitOptions before;
  before.method = isoflop::FitMethod::kApproach3;
  before.bootstrap_resamples = 400;
  before.seed = 1;
  Table("BEFORE: Approach 3 on every fitted run, 400-resample bootstrap over runs (seed 1)", before);
  isoflop::FitOptions after;
  after.method = isoflop::FitMethod::kCalibrated;
  after.seed = 1;
  Table("AFTER: method calibrated (400 replicates, seed 1)", after);
  PriorTable();
  return 0;
}
