// The law forms, their losses and compute-optimal allocations (formulas cited in scaling_law.h and
// docs/fit.md).
#include "isoflop/scaling_law.h"

#include <cmath>
#include <limits>

#include "isoflop/data_constrained_terms.h"
#include "isoflop/golden_section.h"

namespace isoflop {
namespace {

constexpr double kNoLoss = std::numeric_limits<double>::quiet_NaN();

bool Positive(double v) {
  return std::isfinite(v) && v > 0;
}

}  // namespace

const char* LawFormName(LawForm form) {
  switch (form) {
    case LawForm::kChinchilla:
      return "chinchilla";
    case LawForm::kDataConstrained:
      return "data-constrained";
    case LawForm::kPowerLaw:
      return "power-law";
  }
  return "unknown";
}

StatusOr<LawForm> ParseLawForm(const std::string& name) {
  for (LawForm f : {LawForm::kChinchilla, LawForm::kDataConstrained, LawForm::kPowerLaw})
    if (name == LawFormName(f)) return f;
  return Status::InvalidArgument("law form '" + name +
                                 "' is not one of chinchilla, data-constrained, power-law");
}

double PowerLaw::At(double flops) const {
  return coefficient * std::pow(flops, exponent);
}

bool ScalingLaw::HasLoss() const {
  if (form != LawForm::kPowerLaw) return true;
  return Positive(A) && Positive(B) && Positive(alpha) && Positive(beta) && std::isfinite(E) && E >= 0;
}

bool ScalingLaw::IsValid(std::string* error) const {
  auto fail = [&](const std::string& what) {
    if (error) *error = what;
    return false;
  };
  const bool needs_loss = form != LawForm::kPowerLaw;
  const bool has_any_loss = A != 0 || B != 0 || alpha != 0 || beta != 0 || E != 0;
  if (needs_loss || has_any_loss) {
    if (!std::isfinite(E) || E < 0) return fail("law.E must be finite and >= 0");
    if (!Positive(A)) return fail("law.A must be finite and > 0");
    if (!Positive(B)) return fail("law.B must be finite and > 0");
    if (!Positive(alpha)) return fail("law.alpha must be finite and > 0");
    if (!Positive(beta)) return fail("law.beta must be finite and > 0");
  }
  if (form == LawForm::kDataConstrained) {
    if (!Positive(r_d_star)) return fail("law.r_d_star must be finite and > 0");
    if (!Positive(r_n_star)) return fail("law.r_n_star must be finite and > 0");
  }
  if (no_floor.used()) {
    if (form == LawForm::kDataConstrained)
      return fail("law.no_floor is not defined for a data-constrained law");
    if (!has_any_loss) return fail("law.no_floor needs the law's own loss law (E, A, B, alpha, beta)");
    if (!(no_floor.weight > 0 && no_floor.weight <= 1)) return fail("law.no_floor.weight must be in (0, 1]");
    if (!Positive(no_floor.A)) return fail("law.no_floor.A must be finite and > 0");
    if (!Positive(no_floor.B)) return fail("law.no_floor.B must be finite and > 0");
    if (!Positive(no_floor.alpha)) return fail("law.no_floor.alpha must be finite and > 0");
    if (!Positive(no_floor.beta)) return fail("law.no_floor.beta must be finite and > 0");
  }
  if (form == LawForm::kPowerLaw) {
    if (!Positive(params_opt.coefficient)) return fail("law.params_opt.coefficient must be finite and > 0");
    if (!Positive(params_opt.exponent)) return fail("law.params_opt.exponent must be finite and > 0");
    if (!Positive(tokens_opt.coefficient)) return fail("law.tokens_opt.coefficient must be finite and > 0");
    if (!Positive(tokens_opt.exponent)) return fail("law.tokens_opt.exponent must be finite and > 0");
  }
  return true;
}

double PredictLoss(const ScalingLaw& law, double params, double tokens, double unique_tokens) {
  if (!law.HasLoss()) return kNoLoss;
  if (law.form != LawForm::kDataConstrained) {
    // Hoffmann et al. 2022, eq. (2).
    const double with_floor =
        law.E + law.A / std::pow(params, law.alpha) + law.B / std::pow(tokens, law.beta);
    if (!law.no_floor.used()) return with_floor;
    // The same equation with E = 0, and the weighted geometric mean of the two (docs/fit.md, "The loss law").
    const NoFloorLossLaw& z = law.no_floor;
    const double no_floor = z.A / std::pow(params, z.alpha) + z.B / std::pow(tokens, z.beta);
    return std::exp((1 - z.weight) * std::log(with_floor) + z.weight * std::log(no_floor));
  }
  double log_n_eff = 0, log_d_eff = 0;
  DataConstrainedEffectiveLogs(std::log(law.A), std::log(law.B), law.alpha, law.beta, law.r_d_star,
                               law.r_n_star, params, tokens, unique_tokens, &log_n_eff, &log_d_eff);
  // Muennighoff et al. 2023, eq. (7).
  return law.E + law.A * std::exp(-law.alpha * log_n_eff) + law.B * std::exp(-law.beta * log_d_eff);
}

Allocation ComputeAllocation(const ScalingLaw& law) {
  // Hoffmann et al. 2022, eq. (4): a = beta/(alpha+beta), b = alpha/(alpha+beta),
  // G = (alpha A / (beta B))^(1/(alpha+beta)).
  Allocation out;
  const double s = law.alpha + law.beta;
  out.a = law.beta / s;
  out.b = law.alpha / s;
  out.G = std::pow(law.alpha * law.A / (law.beta * law.B), 1.0 / s);
  return out;
}

double OptimalParams(const ScalingLaw& law, double flops) {
  if (law.form == LawForm::kPowerLaw) return law.params_opt.At(flops);
  const Allocation al = ComputeAllocation(law);
  return al.G * std::pow(flops / 6.0, al.a);
}

double OptimalTokens(const ScalingLaw& law, double flops) {
  if (law.form == LawForm::kPowerLaw) return law.tokens_opt.At(flops);
  const Allocation al = ComputeAllocation(law);
  return std::pow(flops / 6.0, al.b) / al.G;
}

Optimum ComputeOptimum(const ScalingLaw& law, double flops, double unique_tokens) {
  Optimum o;
  o.params = OptimalParams(law, flops);
  o.tokens = OptimalTokens(law, flops);
  if (law.form == LawForm::kDataConstrained && unique_tokens > 0 && o.tokens > unique_tokens) {
    // With U unique tokens the unconstrained optimum repeats data; minimise L(N, C/(6N), U) over
    // ln N on a bracket of four decades around the unconstrained optimum (the loss is unimodal in
    // ln N there: more parameters trade against more repetitions).
    auto loss_at = [&](double log_n) {
      const double n = std::exp(log_n);
      return PredictLoss(law, n, flops / (6.0 * n), unique_tokens);
    };
    const double centre = std::log(o.params);
    const double log_n =
        GoldenSectionMinimum(loss_at, centre - 2 * std::log(10.0), centre + 2 * std::log(10.0), 1e-12);
    o.params = std::exp(log_n);
    o.tokens = flops / (6.0 * o.params);
  }
  o.loss = PredictLoss(law, o.params, o.tokens, unique_tokens);
  o.epochs = unique_tokens > 0 ? o.tokens / unique_tokens : 1.0;
  return o;
}

ScalingLaw HoffmannLaw() {
  ScalingLaw law;
  law.E = 1.69;
  law.A = 406.4;
  law.B = 410.7;
  law.alpha = 0.34;
  law.beta = 0.28;
  return law;
}

ScalingLaw EpochLaw() {
  ScalingLaw law;
  law.E = 1.82;
  law.A = 482.01;
  law.B = 2085.43;
  law.alpha = 0.3478;
  law.beta = 0.3658;
  return law;
}

}  // namespace isoflop
