// The Approach 3 objective and its gradient (the laws themselves: isoflop/scaling_law.h).
//
// Objective: Hoffmann et al. 2022, Appendix D.2 (Huber on log loss, delta = 1e-3, LSE parameterisation
// A = e^a, B = e^b, E = e^e). Data-constrained law: Muennighoff et al. 2023, eq. (5)-(7) and Appendix A.
#include <algorithm>
#include <cmath>
#include <limits>

#include <ceres/jet.h>

#include "internal.h"
#include "isoflop/data_constrained_terms.h"
#include "isoflop/fitter.h"
#include "objective_kernels.h"

namespace isoflop {
namespace {

using std::exp;
using std::log;

// Huber_delta(r) = r^2/2 for |r| <= delta, delta (|r| - delta/2) otherwise (scipy.special.huber).
template <typename T>
T Huber(const T& r, double delta) {
  using ceres::abs;
  using std::abs;
  const T abs_r = abs(r);
  if (abs_r <= delta) return 0.5 * r * r;
  return delta * (abs_r - 0.5 * delta);
}

template <typename T>
T LogSumExp3(const T& x1, const T& x2, const T& x3) {
  using ceres::exp;
  using ceres::log;
  using std::exp;
  using std::log;
  T m = x1;
  if (x2 > m) m = x2;
  if (x3 > m) m = x3;
  return m + log(exp(x1 - m) + exp(x2 - m) + exp(x3 - m));
}

// Data-constrained objective with forward-mode autodiff (7 parameters).
template <typename T>
T DataConstrainedObjective(const fitter_internal::Points& points, double delta, const T* x) {
  using ceres::exp;
  using std::exp;
  const T r_d_star = exp(x[5]);
  const T r_n_star = exp(x[6]);
  T total = T(0.0);
  for (const auto& p : points.rows) {
    T log_n_eff, log_d_eff;
    DataConstrainedEffectiveLogs(x[0], x[1], x[3], x[4], r_d_star, r_n_star, p.params, p.tokens, p.unique_tokens,
                                 &log_n_eff, &log_d_eff);
    const T r = LogSumExp3(x[0] - x[3] * log_n_eff, x[1] - x[4] * log_d_eff, x[2]) - p.log_loss;
    total += p.weight * Huber(r, delta);
  }
  return total;
}

}  // namespace

std::vector<StartPoint> HoffmannGrid() {
  // Hoffmann et al. 2022, Appendix D.2: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1},
  // a, b in {0, 5, ..., 25}. Order: a (outermost), b, e, alpha, beta (innermost); the index is the
  // tie-break between equal objectives.
  std::vector<StartPoint> grid;
  grid.reserve(4500);
  for (int ia = 0; ia < 6; ++ia)
    for (int ib = 0; ib < 6; ++ib)
      for (int ie = 0; ie < 5; ++ie)
        for (int ial = 0; ial < 5; ++ial)
          for (int ibe = 0; ibe < 5; ++ibe) {
            StartPoint s;
            s.a = 5.0 * ia;
            s.b = 5.0 * ib;
            s.e = -1.0 + 0.5 * ie;
            s.alpha = 0.5 * ial;
            s.beta = 0.5 * ibe;
            grid.push_back(s);
          }
  return grid;
}

double HuberObjective(const std::vector<RunPoint>& runs, const ScalingLaw& law, double huber_delta) {
  const auto points = fitter_internal::Prepare(runs);
  double x[7];
  fitter_internal::LawToVector(law, x);
  return fitter_internal::Objective(points, law.form, huber_delta, x, nullptr);
}

namespace fitter_internal {

Points MakePoints(std::vector<PreparedPoint> rows) {
  Points out;
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  const Eigen::Index padded = (n + kBlock - 1) / kBlock * kBlock;
  // Padding: copies of the first point with weight 0 (finite values, zero contribution).
  out.log_params.setConstant(padded, n > 0 ? rows[0].log_params : 0.0);
  out.log_tokens.setConstant(padded, n > 0 ? rows[0].log_tokens : 0.0);
  out.log_loss.setConstant(padded, n > 0 ? rows[0].log_loss : 0.0);
  out.weight.setZero(padded);
  for (Eigen::Index i = 0; i < n; ++i) {
    out.log_params[i] = rows[i].log_params;
    out.log_tokens[i] = rows[i].log_tokens;
    out.log_loss[i] = rows[i].log_loss;
    out.weight[i] = rows[i].weight;
  }
  out.rows = std::move(rows);
  return out;
}

Points Prepare(const std::vector<RunPoint>& runs) {
  std::vector<PreparedPoint> out;
  out.reserve(runs.size());
  for (const auto& r : runs) {
    PreparedPoint p;
    p.params = r.params;
    p.tokens = r.tokens;
    p.unique_tokens = r.unique_tokens > 0 ? std::min(r.unique_tokens, r.tokens) : r.tokens;
    p.log_params = std::log(r.params);
    p.log_tokens = std::log(r.tokens);
    p.log_loss = std::log(r.loss);
    out.push_back(p);
  }
  return MakePoints(std::move(out));
}

int NumLawParameters(LawForm form) {
  return form == LawForm::kChinchilla ? 5 : 7;
}

void StartToVector(const StartPoint& s, LawForm form, double* x) {
  x[0] = s.a;
  x[1] = s.b;
  x[2] = s.e;
  x[3] = s.alpha;
  x[4] = s.beta;
  if (form == LawForm::kDataConstrained) {
    x[5] = s.log_r_d_star;
    x[6] = s.log_r_n_star;
  }
}

ScalingLaw VectorToLaw(const double* x, LawForm form) {
  ScalingLaw law;
  law.form = form;
  law.A = std::exp(x[0]);
  law.B = std::exp(x[1]);
  law.E = std::exp(x[2]);
  law.alpha = x[3];
  law.beta = x[4];
  if (form == LawForm::kDataConstrained) {
    law.r_d_star = std::exp(x[5]);
    law.r_n_star = std::exp(x[6]);
  }
  return law;
}

void LawToVector(const ScalingLaw& law, double* x) {
  x[0] = std::log(law.A);
  x[1] = std::log(law.B);
  x[2] = std::log(law.E);
  x[3] = law.alpha;
  x[4] = law.beta;
  if (law.form == LawForm::kDataConstrained) {
    x[5] = std::log(law.r_d_star);
    x[6] = std::log(law.r_n_star);
  }
}

bool HaveAvx2Kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool have =
      Avx2KernelCompiled() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return have;
#else
  return false;
#endif
}

double Avx2Objective(const Points& points, double delta, const double* x, double* gradient) {
  ObjectiveData data;
  data.log_params = points.log_params.data();
  data.log_tokens = points.log_tokens.data();
  data.log_loss = points.log_loss.data();
  data.weight = points.weight.data();
  data.n = static_cast<long>(points.log_params.size());
  data.exp_e = std::exp(x[2]);
  return ChinchillaObjectiveAvx2(data, delta, x, gradient);
}

double Objective(const Points& points, LawForm form, double delta, const double* x, double* gradient) {
  if (form == LawForm::kDataConstrained) {
    if (gradient == nullptr) return DataConstrainedObjective<double>(points, delta, x);
    using Jet7 = ceres::Jet<double, 7>;
    Jet7 jx[7];
    for (int i = 0; i < 7; ++i) jx[i] = Jet7(x[i], i);
    const Jet7 f = DataConstrainedObjective<Jet7>(points, delta, jx);
    for (int i = 0; i < 7; ++i) gradient[i] = f.v[i];
    return f.a;
  }
  // The Chinchilla objective is most of a fit's time (80% of its instructions): 4-wide AVX2 + FMA
  // where the CPU has them (objective_avx2.cc), else Eigen's portable packets below.
  if (HaveAvx2Kernel()) return Avx2Objective(points, delta, x, gradient);
  return PortableObjective(points, delta, x, gradient);
}

double PortableObjective(const Points& points, double delta, const double* x, double* gradient) {
  // Chinchilla: analytic gradient. With w_k the softmax weights of the three LSE terms and h = Huber'(r):
  // d/da = h w1, d/dalpha = -h w1 ln N, d/db = h w2, d/dbeta = -h w2 ln D, d/de = h w3.
  // Evaluated in fixed blocks of kBlock points so Eigen vectorises exp and log without allocating;
  // MakePoints pads the arrays with zero-weight points. Partial sums live in per-lane accumulators and
  // are reduced in a fixed order: the result depends on the data only, never on the thread count.
  const double a = x[0], b = x[1], e = x[2], alpha = x[3], beta = x[4];
  // |exponent| < 600: exp neither overflows (limit ~709) nor leaves the normal range (~-708) for the
  // largest term, so the unshifted LSE below loses no accuracy.
  constexpr double kUnshiftedExponentLimit = 600.0;
  const double exp_e = std::exp(e);
  using Block = Eigen::Array<double, kBlock, 1>;
  Block total = Block::Zero(), g0 = Block::Zero(), g1 = Block::Zero(), g2 = Block::Zero(), g3 = Block::Zero(),
        g4 = Block::Zero();
  const Eigen::Index n = points.log_params.size();
  for (Eigen::Index i = 0; i < n; i += kBlock) {
    const Eigen::Map<const Block> log_n(points.log_params.data() + i), log_d(points.log_tokens.data() + i),
        log_l(points.log_loss.data() + i), w(points.weight.data() + i);
    const Block x1 = a - alpha * log_n;
    const Block x2 = b - beta * log_d;
    // LSE(x1, x2, e). When every term's exponent is moderate, the unshifted sum is as accurate as the
    // max-shifted one and needs 2 exp per point instead of 3 (exp(e) is one scalar per evaluation);
    // otherwise shift by the max so nothing overflows. t_k are the terms up to a common factor 1/s.
    const Block m = x1.max(x2).max(e);
    Block t1, t2, t3, shift;
    if ((m.abs() < kUnshiftedExponentLimit).all()) {
      t1 = x1.exp();
      t2 = x2.exp();
      t3.setConstant(exp_e);
      shift.setZero();
    } else {
      t1 = (x1 - m).exp();
      t2 = (x2 - m).exp();
      t3 = (e - m).exp();
      shift = m;
    }
    const Block s = t1 + t2 + t3;
    const Block r = shift + s.log() - log_l;
    const Block abs_r = r.abs();
    const Block quadratic = 0.5 * r.square();
    const Block linear = delta * (abs_r - 0.5 * delta);
    total += w * (abs_r <= delta).select(quadratic, linear);
    if (gradient != nullptr) {
      const Block h = r.max(-delta).min(delta);  // Huber'(r) = clamp(r, -delta, delta)
      const Block hw = w * h / s;
      g0 += hw * t1;
      g1 += hw * t2;
      g2 += hw * t3;
      g3 -= hw * t1 * log_n;
      g4 -= hw * t2 * log_d;
    }
  }
  if (gradient != nullptr) {
    gradient[0] = g0.sum();
    gradient[1] = g1.sum();
    gradient[2] = g2.sum();
    gradient[3] = g3.sum();
    gradient[4] = g4.sum();
  }
  return total.sum();
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

}  // namespace fitter_internal
}  // namespace isoflop
