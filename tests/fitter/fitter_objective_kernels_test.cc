// The AVX2 + FMA objective kernel (fitter/src/objective_avx2.cc) against the portable one (law.cc):
// its exp and log within 2 ulp of std::exp / std::log over the ranges the objective uses, and the
// objective and gradient equal to 1e-13 relative at the Epoch data's optimum, at Hoffmann's starts and
// at points whose exponents need the max-shifted log-sum-exp. Skipped on a CPU without AVX2/FMA.
#include <cmath>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "internal.h"
#include "isoflop/fitter.h"
#include "objective_kernels.h"

namespace isoflop::fitter_internal {
namespace {

double UlpDistance(double a, double b) {
  if (a == b) return 0;
  return std::fabs(a - b) / std::fabs(std::nextafter(b, INFINITY) - b);
}

TEST(ObjectiveKernels, ExpAndLogWithinTwoUlp) {
  if (!HaveAvx2Kernel()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-700, 700), mantissa(-1, 1);
  double worst_exp = 0, worst_log = 0;
  for (int i = 0; i < 200000; ++i) {
    double in[4], out[4];
    for (double& v : in) v = i % 2 ? exponent(rng) : mantissa(rng) * 3;
    Exp4ForTest(in, out);
    for (int k = 0; k < 4; ++k) worst_exp = std::max(worst_exp, UlpDistance(out[k], std::exp(in[k])));
    for (double& v : in) v = std::exp(i % 2 ? exponent(rng) : mantissa(rng) * 3);
    Log4ForTest(in, out);
    for (int k = 0; k < 4; ++k) {
      const double want = std::log(in[k]);
      // Near x = 1 log is near 0 and ulps shrink; compare those to the ulp of the input's scale.
      worst_log = std::max(worst_log, std::fabs(want) < 1e-3 ? std::fabs(out[k] - want) / 2.2e-16
                                                             : UlpDistance(out[k], want));
    }
  }
  EXPECT_LE(worst_exp, 2.0);
  EXPECT_LE(worst_log, 2.0);
}

TEST(ObjectiveKernels, Avx2ObjectiveAndGradientMatchThePortablePath) {
  if (!HaveAvx2Kernel()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", CsvOptions{});
  ASSERT_TRUE(runs.ok());
  const Points points = Prepare(*runs);
  std::vector<std::vector<double>> xs = {
      {std::log(477.8), std::log(2143.4), std::log(1.817), 0.3473, 0.3672},  // near the optimum
      {800.0, 800.0, 1.0, 0.0, 0.0},  // exponents beyond the unshifted limit: the shifted path
  };
  for (const StartPoint& s : HoffmannGrid()) xs.push_back({s.a, s.b, s.e, s.alpha, s.beta});
  for (const auto& x : xs) {
    double g_portable[5], g_avx2[5];
    const double f_portable = PortableObjective(points, 1e-3, x.data(), g_portable);
    const double f_avx2 = Avx2Objective(points, 1e-3, x.data(), g_avx2);
    ASSERT_NEAR(f_avx2, f_portable, 1e-13 * std::fabs(f_portable)) << x[0] << " " << x[3];
    for (int k = 0; k < 5; ++k) {
      ASSERT_NEAR(g_avx2[k], g_portable[k], 1e-12 * std::fabs(g_portable[k]) + 1e-14) << k;
    }
  }
}

}  // namespace
}  // namespace isoflop::fitter_internal
