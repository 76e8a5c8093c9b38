// Approaches 1 and 2 of Hoffmann et al. 2022 (Sections 3.1 and 3.2), on final-loss points.
//
// Approach 1 (envelope): at each compute budget, the run with the lowest loss; then N_opt = k C^a and
// D_opt = k C^b by least squares in log-log space. (Hoffmann et al. take the envelope of whole training
// curves; with one final loss per run, the per-budget minimum is that envelope sampled at the budgets.)
// Approach 2 (IsoFLOP profiles): at each budget, loss = c0 + c1 ln N + c2 (ln N)^2 by least squares;
// N_opt = exp(-c1 / (2 c2)), D_opt = C / (6 N_opt); then the same power-law fits.
#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "internal.h"

namespace isoflop::fitter_internal {

std::vector<BudgetGroup> GroupByBudget(const std::vector<RunPoint>& runs, double gap_decades) {
  std::vector<int> order(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int l, int r) { return runs[l].ComputeFlops() < runs[r].ComputeFlops(); });
  std::vector<BudgetGroup> groups;
  double previous_log = 0;
  for (int i : order) {
    const double lg = std::log10(runs[i].ComputeFlops());
    if (groups.empty() || lg - previous_log > gap_decades) groups.emplace_back();
    groups.back().members.push_back(i);
    previous_log = lg;
  }
  for (auto& g : groups) {
    std::vector<double> c;
    for (int i : g.members) c.push_back(runs[i].ComputeFlops());
    g.budget_flops = Percentile(c, 0.5);
  }
  return groups;
}

PowerLaw FitPowerLaw(const std::vector<double>& x, const std::vector<double>& y) {
  PowerLaw out;
  const int n = static_cast<int>(x.size());
  out.n_points = n;
  if (n < 2) return out;
  double mx = 0, my = 0;
  for (int i = 0; i < n; ++i) {
    mx += std::log(x[i]);
    my += std::log(y[i]);
  }
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0, syy = 0;
  for (int i = 0; i < n; ++i) {
    const double dx = std::log(x[i]) - mx, dy = std::log(y[i]) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 0) return out;
  out.exponent = sxy / sxx;
  out.coefficient = std::exp(my - out.exponent * mx);
  out.r_squared = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
  return out;
}

Status FitEnvelope(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary) {
  summary->envelope.clear();
  std::vector<double> c, n, d;
  for (const auto& g : GroupByBudget(runs, options.budget_gap_decades)) {
    int best = g.members.front();
    for (int i : g.members)
      if (runs[i].loss < runs[best].loss) best = i;  // ties: the lower-compute run (sorted order)
    EnvelopePoint e;
    e.budget_flops = g.budget_flops;
    e.params = runs[best].params;
    e.tokens = runs[best].tokens;
    e.loss = runs[best].loss;
    e.run_id = runs[best].run_id;
    summary->envelope.push_back(e);
    c.push_back(e.budget_flops);
    n.push_back(e.params);
    d.push_back(e.tokens);
  }
  if (summary->envelope.size() < 2)
    return Status::InvalidArgument("envelope: the runs span " + std::to_string(summary->envelope.size()) +
                                   " compute budget(s); a power law needs at least 2");
  summary->envelope_params = FitPowerLaw(c, n);
  summary->envelope_tokens = FitPowerLaw(c, d);
  return Status::OK();
}

Status FitParabolas(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary) {
  summary->parabolas.clear();
  std::vector<double> c, n, d;
  for (const auto& g : GroupByBudget(runs, options.budget_gap_decades)) {
    const int m = static_cast<int>(g.members.size());
    if (m < options.min_points_per_parabola) continue;
    // Least squares in x = ln N, centred for conditioning; Householder QR from Eigen.
    double mean_x = 0;
    for (int i : g.members) mean_x += std::log(runs[i].params);
    mean_x /= m;
    Eigen::MatrixXd design(m, 3);
    Eigen::VectorXd loss(m);
    for (int k = 0; k < m; ++k) {
      const double x = std::log(runs[g.members[k]].params) - mean_x;
      design(k, 0) = 1;
      design(k, 1) = x;
      design(k, 2) = x * x;
      loss(k) = runs[g.members[k]].loss;
    }
    const Eigen::VectorXd q = design.colPivHouseholderQr().solve(loss);
    if (!(q(2) > 0)) continue;  // not convex: no minimum at this budget
    // Back to x = ln N: c0 + c1 x + c2 x^2 with x' = x - mean_x.
    IsoflopParabola p;
    p.budget_flops = g.budget_flops;
    p.c2 = q(2);
    p.c1 = q(1) - 2 * q(2) * mean_x;
    p.c0 = q(0) - q(1) * mean_x + q(2) * mean_x * mean_x;
    const double x_min = mean_x - q(1) / (2 * q(2));
    p.params_opt = std::exp(x_min);
    p.tokens_opt = g.budget_flops / (6.0 * p.params_opt);
    p.loss_at_min = q(0) - q(1) * q(1) / (4 * q(2));
    p.n_points = m;
    summary->parabolas.push_back(p);
    c.push_back(p.budget_flops);
    n.push_back(p.params_opt);
    d.push_back(p.tokens_opt);
  }
  if (summary->parabolas.size() < 2)
    return Status::InvalidArgument("parabola: " + std::to_string(summary->parabolas.size()) +
                                   " budget(s) have a convex fit with at least " +
                                   std::to_string(options.min_points_per_parabola) +
                                   " runs; a power law needs at least 2");
  summary->parabola_params = FitPowerLaw(c, n);
  summary->parabola_tokens = FitPowerLaw(c, d);
  return Status::OK();
}

}  // namespace isoflop::fitter_internal
