// Golden-section search for the minimum of a unimodal function on an interval (Kiefer 1953; Press et
// al., "Numerical Recipes", 3rd ed., Sec. 10.2): the one implementation the scaling-law core (the
// data-constrained optimum) and the planner (the mixture-of-experts optimum) both use.
#ifndef ISOFLOP_GOLDEN_SECTION_H_
#define ISOFLOP_GOLDEN_SECTION_H_

#include <cmath>

namespace isoflop {

// The x in [lo, hi] that minimises f, to within `tolerance` (absolute, in x); f must be unimodal on
// [lo, hi]. At most 200 iterations (the interval shrinks by 0.618 per iteration).
template <typename F>
double GoldenSectionMinimum(F f, double lo, double hi, double tolerance) {
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
  double fa = f(a), fb = f(b);
  for (int i = 0; i < 200 && hi - lo > tolerance; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = f(b);
    }
  }
  return (lo + hi) / 2;
}

}  // namespace isoflop

#endif  // ISOFLOP_GOLDEN_SECTION_H_
