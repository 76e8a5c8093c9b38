// The Chinchilla Approach 3 objective (law.cc, Objective) with 4-wide AVX2 + FMA, for CPUs that have
// them (chosen at run time: HaveAvx2Kernel). The portable path in law.cc runs on Eigen's SSE2 packets
// (2 doubles); this one does the same arithmetic 4 at a time, with exp and log written here so that
// nothing in this file has external linkage but the two entry points: every helper is static, and no
// Eigen or standard-library inline function is compiled with AVX flags (an AVX copy of a shared inline
// function could be picked by the linker for code that runs on a machine without AVX).
//
// exp and log follow Cephes 2.8 (S. L. Moshier, netlib.org/cephes, double/exp.c and double/log.c; the
// same rational approximations Eigen's pexp/plog use): |error| <= 1 ulp over the ranges used here,
// checked against std::exp/std::log by tests/fitter/fitter_objective_kernels_test.cc, which also pins
// this objective and gradient to the portable path's to 1e-13 relative.
#include "objective_kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace isoflop::fitter_internal {
namespace {

inline __m256d Set(double v) { return _mm256_set1_pd(v); }

// Cephes exp: x = n ln2 + r, |r| <= ln2/2, exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)), times 2^n.
// x is clamped to [-708, 708] so 2^n is a normal double (the objective's terms never need more:
// unshifted exponents are below 600 in magnitude, shifted ones at most 0).
inline __m256d Exp4(__m256d x) {
  x = _mm256_min_pd(_mm256_max_pd(x, Set(-708.0)), Set(708.0));
  const __m256d n = _mm256_round_pd(_mm256_fmadd_pd(x, Set(1.4426950408889634073599), Set(0.5)),
                                    _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_pd(n, Set(6.93145751953125e-1), x);
  x = _mm256_fnmadd_pd(n, Set(1.42860682030941723212e-6), x);
  const __m256d xx = _mm256_mul_pd(x, x);
  __m256d p = _mm256_fmadd_pd(Set(1.26177193074810590878e-4), xx, Set(3.02994407707441961300e-2));
  p = _mm256_fmadd_pd(p, xx, Set(9.99999999999999999910e-1));
  p = _mm256_mul_pd(p, x);
  __m256d q = _mm256_fmadd_pd(Set(3.00198505138664455042e-6), xx, Set(2.52448340349684104192e-3));
  q = _mm256_fmadd_pd(q, xx, Set(2.27265548208155028766e-1));
  q = _mm256_fmadd_pd(q, xx, Set(2.00000000000000000009e0));
  __m256d e = _mm256_div_pd(p, _mm256_sub_pd(q, p));
  e = _mm256_fmadd_pd(Set(2.0), e, Set(1.0));
  // 2^n from n's bits: n + 1.5 * 2^52 holds n in its low mantissa bits (two's complement), so
  // (bits + 1023) << 52 is the biased exponent of 2^n for n in [-1022, 1023].
  const __m256i bits = _mm256_castpd_si256(_mm256_add_pd(n, Set(6755399441055744.0)));
  const __m256i pow2 = _mm256_slli_epi64(_mm256_add_epi64(bits, _mm256_set1_epi64x(1023)), 52);
  return _mm256_mul_pd(e, _mm256_castsi256_pd(pow2));
}

// Cephes log for positive normal x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) from
// f = m - 1 as f - f^2/2 + f^3 P(f)/Q(f), plus e ln2 in two parts.
inline __m256d Log4(__m256d x) {
  const __m256i bits = _mm256_castpd_si256(x);
  // Biased exponent as a double: (bits >> 52) | 0x433 << 52, minus 2^52.
  const __m256i biased = _mm256_srli_epi64(bits, 52);
  __m256d e = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(biased, _mm256_set1_epi64x(0x4330000000000000LL))),
                            Set(4503599627370496.0));
  e = _mm256_sub_pd(e, Set(1022.0));  // mantissa below in [0.5, 1)
  __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                                  _mm256_set1_epi64x(0x3fe0000000000000LL)));
  const __m256d small = _mm256_cmp_pd(m, Set(0.70710678118654752440), _CMP_LT_OQ);
  e = _mm256_sub_pd(e, _mm256_and_pd(small, Set(1.0)));
  m = _mm256_sub_pd(_mm256_add_pd(m, _mm256_and_pd(small, m)), Set(1.0));
  const __m256d m2 = _mm256_mul_pd(m, m);
  const __m256d m3 = _mm256_mul_pd(m2, m);
  __m256d p = _mm256_fmadd_pd(Set(1.01875663804580931796e-4), m, Set(4.97494994976747001425e-1));
  p = _mm256_fmadd_pd(p, m, Set(4.70579119878881725854e0));
  p = _mm256_fmadd_pd(p, m, Set(1.44989225341610930846e1));
  p = _mm256_fmadd_pd(p, m, Set(1.79368678507819816313e1));
  p = _mm256_fmadd_pd(p, m, Set(7.70838733755885391666e0));
  __m256d q = _mm256_add_pd(m, Set(1.12873587189167450590e1));
  q = _mm256_fmadd_pd(q, m, Set(4.52279145837532221105e1));
  q = _mm256_fmadd_pd(q, m, Set(8.29875266912776603211e1));
  q = _mm256_fmadd_pd(q, m, Set(7.11544750618563894466e1));
  q = _mm256_fmadd_pd(q, m, Set(2.31251620126765340583e1));
  __m256d y = _mm256_mul_pd(_mm256_div_pd(p, q), m3);
  y = _mm256_fmadd_pd(e, Set(-2.121944400546905827679e-4), y);
  y = _mm256_fnmadd_pd(m2, Set(0.5), y);
  const __m256d r = _mm256_add_pd(m, y);
  return _mm256_fmadd_pd(e, Set(0.693359375), r);
}

inline double Sum4(__m256d v) {
  alignas(32) double lane[4];
  _mm256_store_pd(lane, v);
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

}  // namespace

bool Avx2KernelCompiled() { return true; }

void Exp4ForTest(const double* in, double* out) { _mm256_storeu_pd(out, Exp4(_mm256_loadu_pd(in))); }
void Log4ForTest(const double* in, double* out) { _mm256_storeu_pd(out, Log4(_mm256_loadu_pd(in))); }

double ChinchillaObjectiveAvx2(const ObjectiveData& d, double delta, const double* x, double* gradient) {
  const __m256d a = Set(x[0]), b = Set(x[1]), e = Set(x[2]), alpha = Set(x[3]), beta = Set(x[4]);
  const __m256d vdelta = Set(delta), neg_delta = Set(-delta), half_delta = Set(0.5 * delta);
  const __m256d exp_e = Set(d.exp_e);  // exp(x[2]), from the caller (no libm call compiled here)
  const __m256d limit = Set(600.0);  // |exponent| below this: the unshifted LSE loses nothing (law.cc)
  const __m256d sign = Set(-0.0);
  __m256d total = _mm256_setzero_pd(), g0 = total, g1 = total, g2 = total, g3 = total, g4 = total;
  for (long i = 0; i < d.n; i += 4) {
    const __m256d log_n = _mm256_loadu_pd(d.log_params + i), log_d = _mm256_loadu_pd(d.log_tokens + i);
    const __m256d log_l = _mm256_loadu_pd(d.log_loss + i), w = _mm256_loadu_pd(d.weight + i);
    const __m256d x1 = _mm256_fnmadd_pd(alpha, log_n, a);
    const __m256d x2 = _mm256_fnmadd_pd(beta, log_d, b);
    const __m256d m = _mm256_max_pd(_mm256_max_pd(x1, x2), e);
    __m256d t1, t2, t3, shift;
    if (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign, m), limit, _CMP_LT_OQ)) == 0xF) {
      t1 = Exp4(x1);
      t2 = Exp4(x2);
      t3 = exp_e;
      shift = _mm256_setzero_pd();
    } else {
      t1 = Exp4(_mm256_sub_pd(x1, m));
      t2 = Exp4(_mm256_sub_pd(x2, m));
      t3 = Exp4(_mm256_sub_pd(e, m));
      shift = m;
    }
    const __m256d s = _mm256_add_pd(_mm256_add_pd(t1, t2), t3);
    const __m256d r = _mm256_sub_pd(_mm256_add_pd(shift, Log4(s)), log_l);
    const __m256d abs_r = _mm256_andnot_pd(sign, r);
    const __m256d quadratic = _mm256_mul_pd(_mm256_mul_pd(Set(0.5), r), r);
    const __m256d linear = _mm256_mul_pd(vdelta, _mm256_sub_pd(abs_r, half_delta));
    const __m256d huber = _mm256_blendv_pd(linear, quadratic, _mm256_cmp_pd(abs_r, vdelta, _CMP_LE_OQ));
    total = _mm256_fmadd_pd(w, huber, total);
    if (gradient != nullptr) {
      const __m256d h = _mm256_min_pd(_mm256_max_pd(r, neg_delta), vdelta);  // Huber'(r)
      const __m256d hw = _mm256_div_pd(_mm256_mul_pd(w, h), s);
      const __m256d u1 = _mm256_mul_pd(hw, t1), u2 = _mm256_mul_pd(hw, t2);
      g0 = _mm256_add_pd(g0, u1);
      g1 = _mm256_add_pd(g1, u2);
      g2 = _mm256_fmadd_pd(hw, t3, g2);
      g3 = _mm256_fnmadd_pd(u1, log_n, g3);
      g4 = _mm256_fnmadd_pd(u2, log_d, g4);
    }
  }
  if (gradient != nullptr) {
    gradient[0] = Sum4(g0);
    gradient[1] = Sum4(g1);
    gradient[2] = Sum4(g2);
    gradient[3] = Sum4(g3);
    gradient[4] = Sum4(g4);
  }
  return Sum4(total);
}

}  // namespace isoflop::fitter_internal

#else  // no AVX2/FMA in this build: the portable path only

namespace isoflop::fitter_internal {
bool Avx2KernelCompiled() { return false; }
void Exp4ForTest(const double*, double*) {}
void Log4ForTest(const double*, double*) {}
double ChinchillaObjectiveAvx2(const ObjectiveData&, double, const double*, double*) { return 0; }
}  // namespace isoflop::fitter_internal

#endif
