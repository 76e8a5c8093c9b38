// The Chinchilla objective's inner loop, for law.cc's Objective: plain arrays in, no Eigen, so the
// AVX2 translation unit (objective_avx2.cc, compiled with -mavx2 -mfma) shares no inline code with
// the rest of the library.
#ifndef ISOFLOP_FITTER_SRC_OBJECTIVE_KERNELS_H_
#define ISOFLOP_FITTER_SRC_OBJECTIVE_KERNELS_H_

namespace isoflop::fitter_internal {

struct ObjectiveData {
  const double* log_params;  // n values each; n is a multiple of 8 (Points pads with weight 0)
  const double* log_tokens;
  const double* log_loss;
  const double* weight;
  long n = 0;
  double exp_e = 0;  // exp(x[2])
};

// True when this build compiled the AVX2 kernel (x86-64 with GCC/Clang); whether the CPU runs it is
// HaveAvx2Kernel (law.cc).
bool Avx2KernelCompiled();

// Sum of w_i Huber_delta(LSE(a - alpha ln N_i, b - beta ln D_i, e) - ln L_i) and its gradient (when not
// null) at x = (a, b, e, alpha, beta), 4 points at a time. Call only when HaveAvx2Kernel().
double ChinchillaObjectiveAvx2(const ObjectiveData& data, double delta, const double* x, double* gradient);

// The kernel's exp and log on 4 values, for the accuracy test.
void Exp4ForTest(const double* in, double* out);
void Log4ForTest(const double* in, double* out);

}  // namespace isoflop::fitter_internal

#endif  // ISOFLOP_FITTER_SRC_OBJECTIVE_KERNELS_H_
