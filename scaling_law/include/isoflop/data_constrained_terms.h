// The effective data and parameters of the data-constrained law (Muennighoff et al. 2023, eq. 5-6),
// as a template so the fitter can differentiate it with Ceres' Jets (found by argument-dependent
// lookup) and the law core can evaluate it with doubles: one implementation of the formula.
#ifndef ISOFLOP_DATA_CONSTRAINED_TERMS_H_
#define ISOFLOP_DATA_CONSTRAINED_TERMS_H_

#include <algorithm>
#include <cmath>

namespace isoflop {

// Logs of the effective parameters N' and effective data D'. a = ln A, b = ln B.
// D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)), R_D = D / U_D - 1 (repetitions beyond the first epoch).
// U_N = min(N, N_opt(U_D)) where N_opt(U_D) is the Chinchilla-optimal model for U_D tokens:
// D_opt(C) = G^-1 (C/6)^b  =>  C/6 = (G U_D)^(1/b), N_opt = G (C/6)^a = G (G U_D)^(beta/alpha);
// N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)), R_N = N / U_N - 1.
template <typename T>
void DataConstrainedEffectiveLogs(const T& a, const T& b, const T& alpha, const T& beta, const T& r_d_star,
                                  const T& r_n_star, double params, double tokens, double unique_tokens,
                                  T* log_n_eff, T* log_d_eff) {
  using std::exp;
  using std::log;
  const double u_d = unique_tokens > 0 ? std::min(unique_tokens, tokens) : tokens;
  const double r_d = tokens / u_d - 1.0;
  *log_d_eff = std::log(u_d) + log(1.0 + r_d_star * (1.0 - exp(-r_d / r_d_star)));
  T log_u_n = T(std::log(params));
  if (alpha > 0.0 && beta > 0.0) {
    const T log_g = (log(alpha) + a - log(beta) - b) / (alpha + beta);
    const T log_n_opt = log_g + (beta / alpha) * (log_g + std::log(u_d));
    if (log_n_opt < log_u_n) log_u_n = log_n_opt;
  }
  const T r_n = exp(T(std::log(params)) - log_u_n) - 1.0;
  *log_n_eff = log_u_n + log(1.0 + r_n_star * (1.0 - exp(-r_n / r_n_star)));
}

}  // namespace isoflop

#endif  // ISOFLOP_DATA_CONSTRAINED_TERMS_H_
