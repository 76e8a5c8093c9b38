// The scaling law: one home for the law forms, the loss they predict and the compute-optimal
// allocation they imply. The fitter fits these laws, the planner plans with them, the report draws
// them and the orchestrator's daemon re-plans with them: all through this header.
//
// Formulas (docs/fit.md cites each one):
//   Chinchilla (Hoffmann et al. 2022, eq. 2):  L(N, D) = E + A / N^alpha + B / D^beta.
//   Allocation (Hoffmann et al. 2022, eq. 4):  N_opt(C) = G (C/6)^a, D_opt(C) = G^-1 (C/6)^b,
//     G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta).
//   Data-constrained (Muennighoff et al. 2023, eq. 5-7): the same law with effective data
//     D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)) and effective parameters N' likewise.
//   Power law (Hoffmann et al. 2022, Approaches 1 and 2, Sec. 3.1-3.2): an allocation only,
//     N_opt = k_N C^a_N and D_opt = k_D C^a_D, fitted in log-log space; it may carry a loss law of
//     its own (a Chinchilla law fitted on the same runs) for predicted losses.
//   Loss average (the calibrated fit, docs/fit.md "The loss law"): a second loss law without the
//     irreducible term, L0(N, D) = A0 / N^alpha0 + B0 / D^beta0 (eq. 2 with E = 0), and the predicted
//     loss L = L_E^(1-w) L0^w, a weighted geometric mean of the two forms.
#ifndef ISOFLOP_SCALING_LAW_H_
#define ISOFLOP_SCALING_LAW_H_

#include <string>

#include "isoflop/status.h"

namespace isoflop {

enum class LawForm {
  kChinchilla,       // Hoffmann et al. 2022, eq. (2)
  kDataConstrained,  // Muennighoff et al. 2023, eq. (5)-(7)
  kPowerLaw          // allocation-only N_opt = k C^a, D_opt = k C^b (Approaches 1 and 2)
};
const char* LawFormName(LawForm form);  // "chinchilla", "data-constrained", "power-law"
StatusOr<LawForm> ParseLawForm(const std::string& name);

// A loss law with no irreducible term, L0(N, D) = A / N^alpha + B / D^beta (Hoffmann et al. 2022,
// eq. 2, with E = 0; in each variable alone the pure power laws of Kaplan et al. 2020, eqs. 1.1-1.2),
// averaged with the law's own loss law: L = L_E^(1 - weight) * L0^weight. weight 0 = not used.
struct NoFloorLossLaw {
  double A = 0, B = 0, alpha = 0, beta = 0;
  double weight = 0;
  bool used() const { return weight != 0; }
};

// y = coefficient * C^exponent, fitted by least squares in log-log space.
struct PowerLaw {
  double coefficient = 0, exponent = 0;
  double r_squared = 0;
  int n_points = 0;
  double At(double flops) const;
};

struct ScalingLaw {
  LawForm form = LawForm::kChinchilla;
  // The loss law (Chinchilla / data-constrained); optional for kPowerLaw (all zero when absent).
  double E = 0, A = 0, B = 0, alpha = 0, beta = 0;
  // Data-constrained only: the repetition half-lives R_D* and R_N* (Muennighoff et al. 2023, eq. 5-6).
  double r_d_star = 0, r_n_star = 0;
  // kPowerLaw only: the allocation itself (C in FLOPs).
  PowerLaw params_opt, tokens_opt;
  // Optional (Chinchilla and power-law forms with a loss law): the no-floor loss law the predicted
  // loss is averaged with. It changes losses only, never the allocation.
  NoFloorLossLaw no_floor;

  // Whether the law predicts losses (kPowerLaw: only with a loss law attached).
  bool HasLoss() const;
  // Every parameter the form uses is finite and in range (exponents > 0, E >= 0, ...); the error
  // names the field ("law.alpha must be > 0").
  bool IsValid(std::string* error) const;
};

// Predicted loss (nats/token), averaged with `law.no_floor` when it is used. For kDataConstrained,
// unique_tokens = 0 means D unique tokens (no repetition), for which the law reduces to Chinchilla's. NaN
// when the law has no loss law.
double PredictLoss(const ScalingLaw& law, double params, double tokens, double unique_tokens = 0);

// The compute-optimal allocation of a loss law (Hoffmann et al. 2022, eq. 4 / Appendix D.3).
struct Allocation {
  double a = 0;  // N_opt proportional to C^a, a = beta / (alpha + beta)
  double b = 0;  // D_opt proportional to C^b, b = alpha / (alpha + beta)
  double G = 0;  // (alpha A / (beta B))^(1/(alpha+beta))
};
Allocation ComputeAllocation(const ScalingLaw& law);

// Compute-optimal N and D at C FLOPs (C = 6 N D). Chinchilla and data-constrained with unlimited
// unique data: eq. 4. kPowerLaw: its own allocation.
double OptimalParams(const ScalingLaw& law, double flops);
double OptimalTokens(const ScalingLaw& law, double flops);

// The compute-optimal point at C FLOPs with at most `unique_tokens` unique tokens (0 = unlimited).
// For kDataConstrained with a finite U, L(N, C/(6N), U) is minimised over ln N by golden-section
// search (Muennighoff et al. 2023, Sec. 5 allocate the same way); otherwise eq. 4 or the power law.
struct Optimum {
  double params = 0, tokens = 0;
  double loss = 0;    // NaN when the law has no loss law
  double epochs = 1;  // tokens / unique_tokens (1 when unlimited)
};
Optimum ComputeOptimum(const ScalingLaw& law, double flops, double unique_tokens = 0);

// Published laws (total parameters, Chinchilla's convention).
// Hoffmann et al. 2022, Section 3.3 / eq. 10: E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28.
ScalingLaw HoffmannLaw();
// Besiroglu et al. 2024 ("Chinchilla Scaling: A replication attempt"), eq. 4:
// E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658.
ScalingLaw EpochLaw();

}  // namespace isoflop

#endif  // ISOFLOP_SCALING_LAW_H_
