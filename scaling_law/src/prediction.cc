// Predictions with intervals, and whether a budget is within the evidence (docs/fit.md,
// "Predictions and intervals"; docs/planner.md, "The plan knows its evidence").
#include "isoflop/prediction.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "isoflop/isoflop_curves.h"

namespace isoflop {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool FinitePositive(double v) {
  return std::isfinite(v) && v > 0;
}

std::string Sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

double LargestFittedBudget(const FitRecord& r) {
  double largest = r.provenance.flops.known() ? r.provenance.flops.max : kNaN;
  for (double c : r.provenance.budgets_flops)
    if (!(c <= largest)) largest = c;  // also replaces NaN
  return largest;
}

std::optional<Interval> PercentileInterval(const std::vector<double>& v) {
  if (v.size() < 2) return std::nullopt;
  return Interval{Percentile(v, kIntervalLowQuantile), Percentile(v, kIntervalHighQuantile)};
}

}  // namespace

StatusOr<BudgetPrediction> PredictAtBudget(const FitRecord& record, double budget_flops,
                                           double unique_tokens) {
  if (!FinitePositive(budget_flops))
    return Status::InvalidArgument("the budget must be a positive, finite FLOP count");
  if (!(unique_tokens >= 0) || !std::isfinite(unique_tokens))
    return Status::InvalidArgument("unique tokens must be >= 0 (0 = unlimited)");
  if (!record.has_law) return Status::FailedPrecondition(record.provenance.source + ": the fit holds no law");
  BudgetPrediction p;
  p.budget_flops = budget_flops;
  p.unique_tokens = unique_tokens;
  const Optimum best = ComputeOptimum(record.law, budget_flops, unique_tokens);
  p.params_opt = best.params;
  p.tokens_opt = best.tokens;
  p.loss = best.loss;
  p.epochs = best.epochs;
  const double largest = LargestFittedBudget(record);
  p.extrapolation = FinitePositive(largest) ? budget_flops / largest : kNaN;

  std::vector<double> ns, ds, ls;
  for (const ScalingLaw& replicate : record.bootstrap_laws) {
    const Optimum o = ComputeOptimum(replicate, budget_flops, unique_tokens);
    if (!FinitePositive(o.params) || !FinitePositive(o.tokens)) continue;
    ns.push_back(o.params);
    ds.push_back(o.tokens);
    if (std::isfinite(o.loss)) ls.push_back(o.loss);
  }
  p.replicates = static_cast<int>(ns.size());
  if (p.replicates >= 2) {
    p.params_opt_interval = PercentileInterval(ns);
    p.tokens_opt_interval = PercentileInterval(ds);
    p.loss_interval = PercentileInterval(ls);
    p.interval_source = std::to_string(p.replicates) + " replicate laws (" +
                        (record.provenance.interval_method.empty() ? std::string("bootstrap over runs")
                                                                   : record.provenance.interval_method) +
                        "), 2.5th-97.5th percentile";
  } else {
    // No replicates: the fitter's own intervals when it was asked for this budget.
    for (const auto& [name, iv] : record.ci) {
      const size_t at = name.find('@');
      if (at == std::string::npos) continue;
      double c = 0;
      try {
        c = std::stod(name.substr(at + 1));
      } catch (const std::exception&) {
        continue;
      }
      if (std::abs(c / budget_flops - 1) > 1e-6) continue;
      if (name.rfind("N_opt@", 0) == 0) p.params_opt_interval = iv;
      if (name.rfind("D_opt@", 0) == 0) p.tokens_opt_interval = iv;
    }
    if (p.params_opt_interval) p.interval_source = "fit.json ci at this budget";
  }
  return p;
}

StatusOr<PointPrediction> PredictAtPoint(const FitRecord& record, double params, double tokens,
                                         double unique_tokens) {
  if (!FinitePositive(params) || !FinitePositive(tokens))
    return Status::InvalidArgument("--params and --tokens must be positive, finite numbers");
  if (!(unique_tokens >= 0) || !std::isfinite(unique_tokens))
    return Status::InvalidArgument("unique tokens must be >= 0 (0 = unlimited)");
  if (!record.has_law) return Status::FailedPrecondition(record.provenance.source + ": the fit holds no law");
  if (!record.law.HasLoss())
    return Status::FailedPrecondition(
        record.provenance.source + ": a " + LawFormName(record.law.form) + " law (" +
        FitMethodName(record.method) +
        ") predicts N_opt and D_opt only, not a loss; fit with --method approach3");
  PointPrediction p;
  p.params = params;
  p.tokens = tokens;
  p.unique_tokens = unique_tokens;
  p.loss = PredictLoss(record.law, params, tokens, unique_tokens);
  std::vector<double> ls;
  for (const ScalingLaw& replicate : record.bootstrap_laws) {
    const double l = PredictLoss(replicate, params, tokens, unique_tokens);
    if (std::isfinite(l)) ls.push_back(l);
  }
  p.replicates = static_cast<int>(ls.size());
  p.loss_interval = PercentileInterval(ls);
  return p;
}

bool EvidenceOptions::IsValid(std::string* error) const {
  if (!(max_interval_ratio > 1)) {
    if (error) *error = "max_interval_ratio must be > 1";
    return false;
  }
  if (!(max_extrapolation >= 1)) {
    if (error) *error = "max_extrapolation must be >= 1";
    return false;
  }
  return true;
}

std::string DescribeProvenance(const FitRecord& r) {
  const FitProvenance& p = r.provenance;
  std::string out = std::string(FitMethodName(r.method)) + " " + LawFormName(r.law.form) + " law";
  if (!p.source.empty()) out += " from " + p.source;
  out += " (";
  out += std::string(ParamsConventionName(p.params_convention)) + " N";
  if (p.params_convention_assumed) out += ", assumed";
  if (p.vocab > 0) out += ", vocab " + std::to_string(p.vocab);
  if (r.n_points > 0) out += "; " + std::to_string(r.n_points) + " runs";
  if (p.flops.known()) out += ", " + Sci(p.flops.min) + "-" + Sci(p.flops.max) + " FLOPs";
  if (p.params.known()) out += ", N " + Sci(p.params.min) + "-" + Sci(p.params.max);
  out += ")";
  return out;
}

std::string EvidenceSummary::BriefReport() const {
  return supported ? "within the evidence" : "outside the evidence: " + reason;
}

EvidenceSummary CheckEvidence(const FitRecord& record, const BudgetPrediction& p,
                              const EvidenceOptions& options) {
  EvidenceSummary s;
  std::string range = "fitted on " + std::to_string(record.n_points) + " runs";
  if (record.provenance.flops.known())
    range += " of " + Sci(record.provenance.flops.min) + "-" + Sci(record.provenance.flops.max) + " FLOPs";
  if (record.provenance.params.known())
    range += ", N " + Sci(record.provenance.params.min) + "-" + Sci(record.provenance.params.max);
  const std::string factor =
      std::isfinite(p.extrapolation)
          ? "the budget " + Sci(p.budget_flops) + " is " + Sci(p.extrapolation) +
                "x the largest fitted budget"
          : "the budget " + Sci(p.budget_flops) + " cannot be compared with the fitted range (unknown)";
  // Two limits, whichever bites first: the N_opt interval (the law's own account of its uncertainty
  // at this budget) and the distance from the data (an interval from resampling the runs cannot see
  // a bias that grows with extrapolation; docs/fit.md shows bootstrap intervals narrower than the
  // held-out error far from the data).
  std::vector<std::string> problems;
  if (p.params_opt_interval) {
    const double ratio = p.params_opt_interval->hi / p.params_opt_interval->lo;
    if (!(ratio <= options.max_interval_ratio))
      problems.push_back("N_opt's 95% interval [" + Sci(p.params_opt_interval->lo) + ", " +
                         Sci(p.params_opt_interval->hi) + "] spans a factor of " + Sci(ratio) + " (limit " +
                         Sci(options.max_interval_ratio) + ")");
  }
  if (std::isfinite(p.extrapolation)) {
    if (p.extrapolation > options.max_extrapolation)
      problems.push_back("the budget is " + Sci(p.extrapolation) + "x the largest fitted budget (limit " +
                         Sci(options.max_extrapolation) + "x)");
  } else if (record.method != FitMethod::kPublished && !p.params_opt_interval) {
    problems.push_back("the fitted range is unknown and the law has no interval (refit with --bootstrap)");
  }
  if (!problems.empty()) {
    s.supported = false;
    s.reason = range + "; " + factor;
    for (const std::string& why : problems) s.reason += "; " + why;
  }
  return s;
}

}  // namespace isoflop
