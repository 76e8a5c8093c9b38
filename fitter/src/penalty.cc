// Fixed parameters and Gaussian priors for Approach 3 (isoflop fit --fix, --prior; docs/fit.md,
// "Priors and fixed parameters").
//
// A fixed parameter is held constant by Ceres (ceres::SubsetManifold on the GradientProblem); a prior
// adds s^2 * sum_j (z_j - mu_j)^2 / (2 sigma^2) to the Huber objective, with z = (ln A, ln B, ln E,
// ln alpha, ln beta) and mu the same coordinates of a published law. Minimising that sum is maximising
// the posterior when each run's log-loss residual has scale s (the Huber terms are then the negative
// log-likelihood times s^2), so s sets how much one run counts against the prior.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "internal.h"
#include "isoflop/fitter.h"

namespace isoflop {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Parses a whole string as a finite double.
bool ParseNumber(const std::string& text, double* value) {
  const std::string t = Trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v)) return false;
  *value = v;
  return true;
}

// The optimiser coordinate of a law parameter: x = (ln A, ln B, ln E, alpha, beta, ln R_D*, ln R_N*).
int CoordinateOf(const std::string& name) {
  static const char* const kNames[] = {"A", "B", "E", "alpha", "beta", "r_d_star", "r_n_star"};
  for (int i = 0; i < 7; ++i)
    if (name == kNames[i]) return i;
  return -1;
}

}  // namespace

StatusOr<ScalingLaw> PriorCentre(const std::string& name) {
  if (name == "hoffmann") return HoffmannLaw();  // Hoffmann et al. 2022, eq. (10)
  if (name == "epoch") return EpochLaw();        // Besiroglu et al. 2024, eq. (4)
  return Status::InvalidArgument("prior '" + name + "' is not one of hoffmann, epoch");
}

StatusOr<LawPrior> ParseLawPrior(const std::string& spec) {
  LawPrior prior;
  const size_t colon = spec.find(':');
  prior.name = Trim(spec.substr(0, colon));
  auto centre = PriorCentre(prior.name);
  if (!centre.ok()) return Status::InvalidArgument("--prior: " + centre.status().message());
  if (colon != std::string::npos) {
    double width = 0;
    if (!ParseNumber(spec.substr(colon + 1), &width) || !(width > 0))
      return Status::InvalidArgument("--prior: width '" + spec.substr(colon + 1) +
                                     "' is not a positive number (e.g. hoffmann:0.5)");
    prior.width = width;
  }
  return prior;
}

Status ParseFixedParameters(const std::string& spec, std::vector<std::pair<std::string, double>>* fixed) {
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (Trim(item).empty()) continue;
    const size_t eq = item.find('=');
    const std::string name = Trim(item.substr(0, eq));
    if (eq == std::string::npos || CoordinateOf(name) < 0)
      return Status::InvalidArgument("--fix: '" + Trim(item) +
                                     "' is not NAME=VALUE with NAME one of E, A, B, alpha, beta, r_d_star, "
                                     "r_n_star (e.g. E=1.69)");
    double value = 0;
    if (!ParseNumber(item.substr(eq + 1), &value) || !(value > 0))
      return Status::InvalidArgument("--fix: the value of " + name + " ('" + Trim(item.substr(eq + 1)) +
                                     "') must be a positive number");
    for (const auto& [n, v] : *fixed)
      if (n == name) return Status::InvalidArgument("--fix: " + name + " is fixed twice");
    fixed->emplace_back(name, value);
  }
  return Status::OK();
}

namespace fitter_internal {

Penalty MakePenalty(const FitOptions& options, LawForm form) {
  Penalty p;
  p.num_parameters = NumLawParameters(form);
  for (const auto& [name, value] : options.fixed) {
    const int i = CoordinateOf(name);
    if (i < 0 || i >= p.num_parameters) continue;  // IsValid rejects these first
    p.fixed_index.push_back(i);
    // alpha and beta are optimised as themselves; the others in log space.
    p.fixed_value.push_back(i == 3 || i == 4 ? value : std::log(value));
  }
  if (!options.prior.name.empty()) {
    auto centre = PriorCentre(options.prior.name);
    if (centre.ok()) {
      p.has_prior = true;
      p.mu = {std::log(centre->A), std::log(centre->B), std::log(centre->E), std::log(centre->alpha),
              std::log(centre->beta)};
      const double s = options.prior.residual_scale;
      p.weight = s * s / (options.prior.width * options.prior.width);
      // A fixed coordinate is not pulled by the prior (it does not move).
      for (int i : p.fixed_index)
        if (i < 5) p.prior_on[i] = false;
    }
  }
  return p;
}

void Penalty::Apply(double* x) const {
  for (size_t k = 0; k < fixed_index.size(); ++k) x[fixed_index[k]] = fixed_value[k];
}

double Penalty::Evaluate(const double* x, double* gradient) const {
  if (!has_prior || weight == 0) return 0;
  double total = 0;
  for (int i = 0; i < 5; ++i) {
    if (!prior_on[i]) continue;
    // z = x for ln A, ln B, ln E; z = ln x for alpha, beta (d z / d x = 1 / x).
    const bool exponent = i == 3 || i == 4;
    if (exponent && !(x[i] > 0)) return std::numeric_limits<double>::infinity();
    const double z = exponent ? std::log(x[i]) : x[i];
    const double d = z - mu[i];
    total += 0.5 * weight * d * d;
    if (gradient != nullptr) gradient[i] += weight * d / (exponent ? x[i] : 1.0);
  }
  return total;
}

std::vector<StartPoint> ApplyFixedToStarts(const std::vector<StartPoint>& starts, LawForm form,
                                           const Penalty& penalty) {
  if (penalty.fixed_index.empty()) return starts;
  // Setting the fixed coordinates makes starts that differ only there identical; keep the first of each
  // (in grid order, so the start index stays a deterministic tie-break).
  std::vector<StartPoint> out;
  std::vector<std::vector<double>> seen;
  for (const StartPoint& s : starts) {
    std::vector<double> x(7, 0.0);
    StartToVector(s, form, x.data());
    penalty.Apply(x.data());
    if (std::find(seen.begin(), seen.end(), x) != seen.end()) continue;
    seen.push_back(x);
    StartPoint t;
    t.a = x[0], t.b = x[1], t.e = x[2], t.alpha = x[3], t.beta = x[4];
    t.log_r_d_star = x[5], t.log_r_n_star = x[6];
    out.push_back(t);
  }
  return out;
}

double RobustResidualScale(const Points& points, const ScalingLaw& law, double floor) {
  std::vector<double> abs_r;
  for (const PreparedPoint& p : points.rows) {
    const double predicted = PredictLoss(law, p.params, p.tokens, p.unique_tokens);
    const double r = std::log(predicted) - p.log_loss;
    if (std::isfinite(r)) abs_r.push_back(std::fabs(r));
  }
  if (abs_r.empty()) return floor;
  // 1.4826 median |r| (1.4826 = 1 / Phi^-1(3/4)): for normal residuals of scale s it estimates s, and a few
  // outlying runs do not move it.
  return std::max(floor, 1.4826 * Percentile(abs_r, 0.5));
}

}  // namespace fitter_internal
}  // namespace isoflop
