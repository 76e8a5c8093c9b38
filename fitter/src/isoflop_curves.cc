// Approaches 1 and 2 of Hoffmann et al. 2022 (Sections 3.1 and 3.2), on final-loss points, and their
// bootstrap.
//
// Approach 1 (envelope): at each compute budget, the run with the lowest loss; then N_opt = k C^a and
// D_opt = k C^b by least squares in log-log space. (Hoffmann et al. take the envelope of whole training
// curves; with one final loss per run, the per-budget minimum is that envelope sampled at the budgets.)
// Approach 2 (IsoFLOP profiles): at each budget, loss = c0 + c1 ln N + c2 (ln N)^2 by least squares;
// N_opt = exp(-c1 / (2 c2)), D_opt = C / (6 N_opt); then the same power-law fits. The grouping and the
// parabola are the scaling-law core's (isoflop/isoflop_curves.h), the ones the report draws.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "internal.h"

namespace isoflop::fitter_internal {
namespace {

std::vector<BudgetGroup> Groups(const std::vector<RunPoint>& runs, double gap_decades) {
  std::vector<double> c;
  c.reserve(runs.size());
  for (const RunPoint& r : runs) c.push_back(r.ComputeFlops());
  return GroupByBudget(c, gap_decades);
}

// Approach 1 on the runs `members` of each group (indices into runs, repeats allowed).
Status EnvelopeOf(const std::vector<RunPoint>& runs, const std::vector<BudgetGroup>& groups,
                  std::vector<EnvelopePoint>* points, PowerLaw* params_law, PowerLaw* tokens_law) {
  points->clear();
  std::vector<double> c, n, d;
  for (const auto& g : groups) {
    int best = g.members.front();
    for (int i : g.members)
      if (runs[i].loss < runs[best].loss) best = i;  // ties: the lower-compute run (sorted order)
    EnvelopePoint e;
    e.budget_flops = g.budget_flops;
    e.params = runs[best].params;
    e.tokens = runs[best].tokens;
    e.loss = runs[best].loss;
    e.run_id = runs[best].run_id;
    points->push_back(e);
    c.push_back(e.budget_flops);
    n.push_back(e.params);
    d.push_back(e.tokens);
  }
  if (points->size() < 2)
    return Status::InvalidArgument("envelope: the runs span " + std::to_string(points->size()) +
                                   " compute budget(s); a power law needs at least 2");
  *params_law = FitPowerLaw(c, n);
  *tokens_law = FitPowerLaw(c, d);
  return Status::OK();
}

// Approach 2 on the runs `members` of each group.
Status ParabolasOf(const std::vector<RunPoint>& runs, const std::vector<BudgetGroup>& groups, int min_points,
                   std::vector<IsoflopParabola>* parabolas, PowerLaw* params_law, PowerLaw* tokens_law) {
  parabolas->clear();
  std::vector<double> c, n, d;
  for (const auto& g : groups) {
    if (static_cast<int>(g.members.size()) < min_points) continue;
    std::vector<double> params, losses;
    for (int i : g.members) {
      params.push_back(runs[i].params);
      losses.push_back(runs[i].loss);
    }
    auto p = FitIsoflopParabola(params, losses, g.budget_flops);
    if (!p) continue;  // fewer than 3 distinct N, or not convex: no minimum at this budget
    parabolas->push_back(*p);
    c.push_back(p->budget_flops);
    n.push_back(p->params_opt);
    d.push_back(p->tokens_opt);
  }
  if (parabolas->size() < 2)
    return Status::InvalidArgument(
        "parabola: " + std::to_string(parabolas->size()) + " budget(s) have a convex fit with at least " +
        std::to_string(min_points) + " runs of 3 distinct sizes; a power law needs at least 2");
  *params_law = FitPowerLaw(c, n);
  *tokens_law = FitPowerLaw(c, d);
  return Status::OK();
}

}  // namespace

Status FitEnvelope(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary) {
  return EnvelopeOf(runs, Groups(runs, options.budget_gap_decades), &summary->envelope,
                    &summary->envelope_params, &summary->envelope_tokens);
}

Status FitParabolas(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary) {
  return ParabolasOf(runs, Groups(runs, options.budget_gap_decades), options.min_points_per_parabola,
                     &summary->parabolas, &summary->parabola_params, &summary->parabola_tokens);
}

Status BootstrapAllocation(const std::vector<RunPoint>& runs, const FitOptions& options, int threads,
                           FitSummary* summary) {
  // Resample the runs within each budget (a stratified bootstrap: every budget keeps its run count, so
  // every resample still has an IsoFLOP curve per budget), refit the curves and the power laws.
  const bool parabola = options.method == FitMethod::kParabola;
  const std::vector<BudgetGroup> groups = Groups(runs, options.budget_gap_decades);
  const int resamples = options.bootstrap_resamples;
  std::vector<ScalingLaw> laws(resamples);
  std::vector<char> ok(resamples, 0);
  ParallelFor(resamples, threads, [&](int r) {
    SplitMix64 rng = ResampleGenerator(options.seed, r);
    std::vector<BudgetGroup> drawn = groups;
    for (BudgetGroup& g : drawn) {
      const std::vector<int> members = g.members;
      const int n = static_cast<int>(members.size());
      for (int k = 0; k < n; ++k) g.members[k] = members[rng.Below(n)];
      std::sort(g.members.begin(), g.members.end());
    }
    ScalingLaw law;
    law.form = LawForm::kPowerLaw;
    Status s;
    if (parabola) {
      std::vector<IsoflopParabola> unused;
      s = ParabolasOf(runs, drawn, options.min_points_per_parabola, &unused, &law.params_opt,
                      &law.tokens_opt);
    } else {
      std::vector<EnvelopePoint> unused;
      s = EnvelopeOf(runs, drawn, &unused, &law.params_opt, &law.tokens_opt);
    }
    if (!s.ok() || !law.IsValid(nullptr)) return;
    laws[r] = law;
    ok[r] = 1;
  });
  summary->bootstrap_laws.clear();
  for (int r = 0; r < resamples; ++r)
    if (ok[r]) summary->bootstrap_laws.push_back(laws[r]);
  const int used = static_cast<int>(summary->bootstrap_laws.size());
  if (used == 0) return Status::FailedPrecondition("no bootstrap resample could be fitted");
  summary->bootstrap_resamples = used;
  const double tail = (1.0 - options.confidence) / 2.0;
  auto interval = [&](auto value) {
    std::vector<double> v;
    for (const ScalingLaw& l : summary->bootstrap_laws) v.push_back(value(l));
    return Interval{Percentile(v, tail), Percentile(v, 1.0 - tail)};
  };
  summary->ci.clear();
  summary->ci.push_back({"a", interval([](const ScalingLaw& l) { return l.params_opt.exponent; })});
  summary->ci.push_back({"b", interval([](const ScalingLaw& l) { return l.tokens_opt.exponent; })});
  for (double c : options.ci_budgets_flops) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6g", c);
    summary->ci.push_back(
        {std::string("N_opt@") + buf, interval([c](const ScalingLaw& l) { return l.params_opt.At(c); })});
    summary->ci.push_back(
        {std::string("D_opt@") + buf, interval([c](const ScalingLaw& l) { return l.tokens_opt.At(c); })});
  }
  return Status::OK();
}

}  // namespace isoflop::fitter_internal
