// Budget grouping, per-budget parabolas and power laws (Hoffmann et al. 2022, Sections 3.1-3.2).
#include "isoflop/isoflop_curves.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include <Eigen/Dense>

namespace isoflop {

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(i);
  return i + 1 < values.size() ? values[i] * (1 - frac) + values[i + 1] * frac : values[i];
}

std::vector<BudgetGroup> GroupByBudget(const std::vector<double>& flops, double gap_decades) {
  std::vector<int> order;
  for (size_t i = 0; i < flops.size(); ++i)
    if (std::isfinite(flops[i]) && flops[i] > 0) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int l, int r) { return flops[l] < flops[r]; });
  std::vector<BudgetGroup> groups;
  double previous_log = 0;
  for (int i : order) {
    const double lg = std::log10(flops[i]);
    if (groups.empty() || lg - previous_log > gap_decades) groups.emplace_back();
    groups.back().members.push_back(i);
    previous_log = lg;
  }
  for (auto& g : groups) {
    std::vector<double> c;
    for (int i : g.members) c.push_back(flops[i]);
    g.budget_flops = Percentile(c, 0.5);
  }
  return groups;
}

std::optional<IsoflopParabola> FitIsoflopParabola(const std::vector<double>& params,
                                                  const std::vector<double>& losses, double budget_flops) {
  const int m = static_cast<int>(std::min(params.size(), losses.size()));
  if (std::set<double>(params.begin(), params.begin() + m).size() < 3) return std::nullopt;
  // Least squares in x = ln N, centred for conditioning; Householder QR from Eigen.
  double mean_x = 0;
  for (int k = 0; k < m; ++k) mean_x += std::log(params[k]);
  mean_x /= m;
  Eigen::MatrixXd design(m, 3);
  Eigen::VectorXd loss(m);
  for (int k = 0; k < m; ++k) {
    const double x = std::log(params[k]) - mean_x;
    design(k, 0) = 1;
    design(k, 1) = x;
    design(k, 2) = x * x;
    loss(k) = losses[k];
  }
  const Eigen::VectorXd q = design.colPivHouseholderQr().solve(loss);
  if (!(q(2) > 0)) return std::nullopt;  // not convex: no minimum at this budget
  // Back to x = ln N: c0 + c1 x + c2 x^2 with x' = x - mean_x.
  IsoflopParabola p;
  p.budget_flops = budget_flops;
  p.c2 = q(2);
  p.c1 = q(1) - 2 * q(2) * mean_x;
  p.c0 = q(0) - q(1) * mean_x + q(2) * mean_x * mean_x;
  const double x_min = mean_x - q(1) / (2 * q(2));
  // Only an interior minimum is evidence of N_opt at this budget (Hoffmann et al. 2022, Sec. 3.2,
  // centre their IsoFLOP profiles on it): a minimum outside the sampled sizes is an extrapolated
  // curve, not a measurement (the demo's smallest budget put one at N = 0.01 from runs of 1.7K-25K).
  const auto [min_n, max_n] = std::minmax_element(params.begin(), params.begin() + m);
  if (x_min < std::log(*min_n) || x_min > std::log(*max_n)) return std::nullopt;
  p.params_opt = std::exp(x_min);
  p.tokens_opt = budget_flops / (6.0 * p.params_opt);
  p.loss_at_min = q(0) - q(1) * q(1) / (4 * q(2));
  p.n_points = m;
  return p;
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

}  // namespace isoflop
