// Inference-aware allocation held to the training budget (docs/planner.md §1, "Inference").
//
// Sardana et al. 2024 ("Beyond Chinchilla-Optimal: Accounting for Inference in Language Model
// Scaling Laws", Sec. 2) fix a target loss l and choose N minimising 6 N D(N) + 2 N T, with D(N)
// the tokens that reach l: D(N) = (B / (l - E - A/N^alpha))^(1/beta). Their optimum trains a
// smaller model longer than Chinchilla's, so at the Chinchilla loss of a budget it spends more
// than the budget on training. Here the budget holds: l is raised until Sardana's optimum at l
// costs exactly the budget to train. Training FLOPs f(l) = 6 N*(l) D(N*(l), l) fall as l rises
// (a higher loss needs less of everything), and f(l_C) >= C at the Chinchilla loss l_C, so a
// bisection on log(l - E) finds it.
#include <cmath>

#include "isoflop/planner.h"

namespace isoflop::planner {
namespace {

double TokensFor(const ChinchillaForm& law, double n, double loss) {
  const double gap = loss - law.E - law.A / std::pow(n, law.alpha);
  return gap > 0 ? std::pow(law.B / gap, 1.0 / law.beta) : INFINITY;
}

// Sardana's N*(l): golden-section search in log N between the smallest N that can reach l at all
// and an upper bound far beyond the Chinchilla N.
double SardanaParams(const ChinchillaForm& law, double loss, double inference_tokens, double n_hi) {
  auto total = [&](double log_n) {
    const double n = std::exp(log_n);
    return 6 * n * TokensFor(law, n, loss) + 2 * n * inference_tokens;
  };
  const double n_min = std::pow(law.A / (loss - law.E), 1.0 / law.alpha);
  double lo = std::log(n_min) + 1e-6, hi = std::max(std::log(n_hi), lo + 1e-3);
  const double phi = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 200 && hi - lo > 1e-10; ++i) {
    const double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
    if (total(a) < total(b)) {
      hi = b;
    } else {
      lo = a;
    }
  }
  return std::exp((lo + hi) / 2);
}

}  // namespace

StatusOr<InferenceAwareSplit> InferenceAwareAtBudget(const ChinchillaForm& law, double budget_flops,
                                                      double inference_tokens) {
  if (!(budget_flops > 0) || !(inference_tokens >= 0) || !(law.A > 0) || !(law.B > 0) || !(law.alpha > 0) ||
      !(law.beta > 0))
    return Status::InvalidArgument("inference-aware allocation: need a positive budget and a Chinchilla-form law");
  InferenceAwareSplit r;
  // Chinchilla's split of C = 6 N D (Hoffmann et al. 2022, Eq. 4).
  const double g = std::pow(law.alpha * law.A / (law.beta * law.B), 1.0 / (law.alpha + law.beta));
  r.chinchilla_params = g * std::pow(budget_flops / 6.0, law.beta / (law.alpha + law.beta));
  r.chinchilla_tokens = budget_flops / (6.0 * r.chinchilla_params);
  r.chinchilla_loss = law.E + law.A / std::pow(r.chinchilla_params, law.alpha) +
                      law.B / std::pow(r.chinchilla_tokens, law.beta);
  r.chinchilla_lifetime_flops = budget_flops + 2 * r.chinchilla_params * inference_tokens;
  if (inference_tokens == 0) {
    r.params = r.chinchilla_params;
    r.tokens = r.chinchilla_tokens;
    r.loss = r.chinchilla_loss;
  } else {
    const double n_hi = 10 * r.chinchilla_params;
    auto train_flops = [&](double loss, double* n_out) {
      const double n = SardanaParams(law, loss, inference_tokens, n_hi);
      if (n_out) *n_out = n;
      return 6 * n * TokensFor(law, n, loss);
    };
    // Bracket: the Chinchilla loss spends at least the budget; raise the loss until it spends less.
    double lo = std::log(r.chinchilla_loss - law.E), hi = lo;
    for (int i = 0; i < 60 && train_flops(law.E + std::exp(hi), nullptr) > budget_flops; ++i) hi += 0.1;
    for (int i = 0; i < 100 && hi - lo > 1e-12; ++i) {
      const double mid = (lo + hi) / 2;
      if (train_flops(law.E + std::exp(mid), nullptr) > budget_flops) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    r.loss = law.E + std::exp(hi);
    train_flops(r.loss, &r.params);
    r.tokens = budget_flops / (6 * r.params);  // exactly the budget
  }
  r.inference_flops = 2 * r.params * inference_tokens;
  r.lifetime_flops = budget_flops + r.inference_flops;
  return r;
}

}  // namespace isoflop::planner
