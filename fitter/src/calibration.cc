// The calibrated fit (method "calibrated", `isoflop fit`'s default; docs/fit.md, "Calibrated
// extrapolation"): a model average of Approaches 2 and 3 (Hoffmann et al. 2022, Sections 3.2-3.3),
// each fitted on four choices of runs, whose replicate laws carry the spread between methods as well
// as the resampling noise of each.
//
// Why: fitted on the smaller budgets of public IsoFLOP sweeps, Approach 3 alone misses the held-out
// larger budgets' N_opt by -61% to +117% and its bootstrap interval over runs misses 22 of 34 of them,
// while Approach 2 errs the other way on several sweeps: the error is in the method, which resampling
// runs cannot see. Li et al. 2025 ("(Mis)Fitting: A Survey of Scaling Laws") show that which runs are
// fitted and how change the extrapolated law; Porian et al. 2024 that the smallest budgets carry
// effects (warm-up, hyper-parameters) that bend the fitted exponents. So the variants are:
//   runs:      all | near-optimal (within a factor `calibration_window` in N of each budget's best run)
//              | the upper half of the IsoFLOP budgets | both;
//   approach:  3 (Huber on log loss, Besiroglu et al. 2024's fit, replicates = bootstrap over runs)
//              | 2 (parabola minima -> ln N_opt = ln k + a ln C, replicates = draws from the regression's
//                   posterior predictive, which carries the budgets' scatter about the power law).
// Approaches 3 and 2 get half the weight each (equal within), realised as replicate counts; the point
// allocation is the weighted mean of the variants' ln N_opt (itself a power law), and the loss law is
// Approach 3's on the runs nearest the budgets a plan extrapolates to (upper near-optimal, else
// near-optimal, upper, all), averaged with the same fit without the irreducible term (E = 0).
//
// Why the loss average: fitted below the held-out budgets, the law with E over-predicts their losses
// where the sweeps' losses keep falling (Porian et al.'s, by 4-7% at 16x: E is fitted on the small
// models), and the law without E under-predicts where they flatten; their geometric mean is the
// model average of the two published forms (Hoffmann et al. 2022 eq. 2; Kaplan et al. 2020's pure
// power laws), and each Approach 3 variant's replicates are half one form, half the other, so the
// loss interval spans the disagreement. docs/fit.md, "The loss law", has the held-out table.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <Eigen/Dense>

#include "internal.h"
#include "isoflop/fitter.h"
#include "isoflop/isoflop_curves.h"

namespace isoflop::fitter_internal {
namespace {

// Budgets with at least this many IsoFLOP budgets let the upper half (>= 3 budgets) be a choice.
constexpr int kMinBudgetsForUpperHalf = 5;
// Approach 2's regression needs residual degrees of freedom: 4 minima leave 2.
constexpr int kMinMinimaForRegression = 4;
// Approach 3 needs more runs than its 5 parameters.
constexpr int kMinRunsForApproach3 = 6;
// The no-floor fit holds E here (E = 0 is outside Approach 3's log-space parameters): its term,
// 1e-12 nats, changes no loss by more than 1e-12 relative.
constexpr double kNoFloorE = 1e-12;
// A budget whose runs span more than this (decades of C) is not one IsoFLOP curve but a chain of runs
// single linkage joined (e.g. Chinchilla's Figure 4 points at the default 0.1-decade gap): no parabola.
constexpr double kMaxIsoflopSpanDecades = 0.15;

struct RunChoice {
  std::string name;
  std::vector<RunPoint> runs;
};

std::vector<BudgetGroup> Groups(const std::vector<RunPoint>& runs, double gap) {
  std::vector<double> flops;
  flops.reserve(runs.size());
  for (const RunPoint& r : runs) flops.push_back(r.ComputeFlops());
  return GroupByBudget(flops, gap);
}

// Enough runs for a parabola, all at one compute budget.
bool IsIsoflopBudget(const BudgetGroup& g, const std::vector<RunPoint>& runs, const FitOptions& options) {
  if (static_cast<int>(g.members.size()) < options.min_points_per_parabola) return false;
  double lo = runs[g.members.front()].ComputeFlops(), hi = lo;
  for (int i : g.members) {
    lo = std::min(lo, runs[i].ComputeFlops());
    hi = std::max(hi, runs[i].ComputeFlops());
  }
  return std::log10(hi / lo) <= kMaxIsoflopSpanDecades;
}

// Keeps, in budgets with enough runs for a parabola, the runs within a factor `window` in N of the
// budget's lowest-loss run (ties: the first); smaller groups are kept whole.
std::vector<RunPoint> NearOptimal(const std::vector<RunPoint>& runs, const FitOptions& options) {
  std::vector<char> keep(runs.size(), 0);
  const double log_window = std::log(options.calibration_window) * (1 + 1e-12);
  for (const BudgetGroup& g : Groups(runs, options.budget_gap_decades)) {
    if (!IsIsoflopBudget(g, runs, options)) {
      for (int i : g.members) keep[i] = 1;
      continue;
    }
    int best = g.members.front();
    for (int i : g.members)
      if (runs[i].loss < runs[best].loss) best = i;
    for (int i : g.members)
      if (std::fabs(std::log(runs[i].params / runs[best].params)) <= log_window) keep[i] = 1;
  }
  std::vector<RunPoint> out;
  for (size_t i = 0; i < runs.size(); ++i)
    if (keep[i]) out.push_back(runs[i]);
  return out;
}

// The runs of the budgets from the median IsoFLOP budget up (empty when there are too few budgets).
std::vector<RunPoint> UpperHalf(const std::vector<RunPoint>& runs, const FitOptions& options) {
  const auto groups = Groups(runs, options.budget_gap_decades);
  std::vector<double> iso;
  for (const BudgetGroup& g : groups)
    if (IsIsoflopBudget(g, runs, options)) iso.push_back(g.budget_flops);
  if (static_cast<int>(iso.size()) < kMinBudgetsForUpperHalf) return {};
  const double cut = iso[iso.size() / 2];
  std::vector<char> keep(runs.size(), 0);
  for (const BudgetGroup& g : groups)
    if (g.budget_flops >= cut)
      for (int i : g.members) keep[i] = 1;
  std::vector<RunPoint> out;
  for (size_t i = 0; i < runs.size(); ++i)
    if (keep[i]) out.push_back(runs[i]);
  return out;
}

bool SameRuns(const std::vector<RunPoint>& a, const std::vector<RunPoint>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].params != b[i].params || a[i].tokens != b[i].tokens || a[i].loss != b[i].loss) return false;
  return true;
}

// The choices of runs; one that selects the same runs as an earlier one is not a second variant.
std::vector<RunChoice> RunChoices(const std::vector<RunPoint>& runs, const FitOptions& options) {
  std::vector<RunChoice> candidates;
  candidates.push_back({"all", runs});
  candidates.push_back({"near-optimal", NearOptimal(runs, options)});
  std::vector<RunPoint> upper = UpperHalf(runs, options);
  if (!upper.empty()) {
    candidates.push_back({"upper near-optimal", NearOptimal(upper, options)});
    candidates.push_back({"upper", std::move(upper)});
  }
  std::vector<RunChoice> out;
  for (RunChoice& c : candidates) {
    bool seen = false;
    for (const RunChoice& o : out) seen = seen || SameRuns(o.runs, c.runs);
    if (!seen) out.push_back(std::move(c));
  }
  return out;
}

// Approach 2 on a choice of runs: the minima (ln C, ln N_opt) of the convex parabolas whose minimum
// lies inside the budget's sampled N (an edge minimum is an extrapolation, not a measurement).
void IsoflopMinima(const std::vector<RunPoint>& runs, const FitOptions& options, std::vector<double>* log_c,
                   std::vector<double>* log_n) {
  for (const BudgetGroup& g : Groups(runs, options.budget_gap_decades)) {
    if (!IsIsoflopBudget(g, runs, options)) continue;
    std::vector<double> params, losses;
    for (int i : g.members) {
      params.push_back(runs[i].params);
      losses.push_back(runs[i].loss);
    }
    const auto p = FitIsoflopParabola(params, losses, g.budget_flops);
    if (!p) continue;
    const auto [lo, hi] = std::minmax_element(params.begin(), params.end());
    if (!(p->params_opt > *lo && p->params_opt < *hi)) continue;
    log_c->push_back(std::log(g.budget_flops));
    log_n->push_back(std::log(p->params_opt));
  }
}

// A normal deviate from SplitMix64 (Box-Muller), so draws are the same on every platform.
double Normal(SplitMix64& rng) {
  constexpr double kTwoPi = 6.283185307179586;
  const double u1 = (static_cast<double>(rng.Next() >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = static_cast<double>(rng.Next() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

// Ordinary least squares of ln N_opt on ln C and draws from its posterior predictive under the flat
// prior (Gelman et al., "Bayesian Data Analysis", 3rd ed., Sec. 14.2): sigma^2 = s^2 nu / chi^2_nu
// (nu = n - 2), (ln k, a) ~ N(OLS, sigma^2 (X'X)^-1), and ln k gets one more N(0, sigma^2): the scatter
// of a new budget's minimum about the power law. A draw is a power law N_opt = k C^a.
struct PowerLawDraws {
  double log_k = 0, a = 0;                       // the least-squares point
  std::vector<std::pair<double, double>> draws;  // (ln k, a)
};
PowerLawDraws DrawPowerLaws(const std::vector<double>& x, const std::vector<double>& y, int count,
                            uint64_t seed) {
  const int n = static_cast<int>(x.size());
  Eigen::MatrixXd design(n, 2);
  Eigen::VectorXd target(n);
  for (int i = 0; i < n; ++i) {
    design(i, 0) = 1;
    design(i, 1) = x[i];
    target(i) = y[i];
  }
  const Eigen::Matrix2d xtx_inv = (design.transpose() * design).inverse();
  const Eigen::Vector2d beta = xtx_inv * design.transpose() * target;
  const Eigen::VectorXd residual = target - design * beta;
  const int nu = n - 2;
  const double s2 = residual.squaredNorm() / nu;
  const Eigen::Matrix2d chol = Eigen::LLT<Eigen::Matrix2d>(xtx_inv).matrixL();
  PowerLawDraws out;
  out.log_k = beta(0);
  out.a = beta(1);
  for (int r = 0; r < count; ++r) {
    SplitMix64 rng = ResampleGenerator(seed, r);
    double chi2 = 0;
    for (int k = 0; k < nu; ++k) {
      const double z = Normal(rng);
      chi2 += z * z;
    }
    const double sigma = std::sqrt(s2 * nu / chi2);
    const Eigen::Vector2d z(Normal(rng), Normal(rng));
    const Eigen::Vector2d b = beta + sigma * (chol * z);
    out.draws.emplace_back(b(0) + sigma * Normal(rng), b(1));
  }
  return out;
}

ScalingLaw PowerLawAllocation(double log_k, double a) {
  // N_opt = k C^a and, from C = 6 N D, D_opt = C / (6 N_opt) = (1 / (6 k)) C^(1 - a).
  ScalingLaw law;
  law.form = LawForm::kPowerLaw;
  law.params_opt.coefficient = std::exp(log_k);
  law.params_opt.exponent = a;
  law.tokens_opt.coefficient = 1.0 / (6.0 * std::exp(log_k));
  law.tokens_opt.exponent = 1.0 - a;
  return law;
}

// ln N_opt = ln k + a ln C of a Chinchilla law (Hoffmann et al. 2022, eq. 4: N_opt = G (C/6)^a).
std::pair<double, double> LogAllocation(const ScalingLaw& law) {
  const Allocation al = ComputeAllocation(law);
  return {std::log(al.G) - al.a * std::log(6.0), al.a};
}

struct Variant {
  CalibrationVariant record;
  // Approach 3: the fit (with its prepared points, for the bootstrap) and, when `has_no_floor`, the
  // same runs fitted with E = 0; Approach 2: the minima.
  Approach3Fit fit3, fit0;
  bool has_no_floor = false;
  std::vector<double> log_c, log_n;
};

NoFloorLossLaw NoFloorOf(const ScalingLaw& fitted_with_zero_e, double weight) {
  NoFloorLossLaw z;
  z.A = fitted_with_zero_e.A;
  z.B = fitted_with_zero_e.B;
  z.alpha = fitted_with_zero_e.alpha;
  z.beta = fitted_with_zero_e.beta;
  z.weight = weight;
  return z;
}

}  // namespace

std::vector<StartPoint> CalibrationGrid() {
  std::vector<StartPoint> grid;
  for (const StartPoint& s : HoffmannGrid()) {
    // Hoffmann's values: a, b in {0, 5, ..., 25}, e in {-1, -0.5, ..., 1}, alpha, beta in {0, 0.5, ..., 2}.
    const auto every_other = [](double v, double step) {
      const long k = std::lround(v / step);
      return k % 2 == 0;
    };
    if (s.a <= 20 && s.b <= 20 && every_other(s.a, 5) && every_other(s.b, 5) && every_other(s.e + 1, 0.5) &&
        every_other(s.alpha, 0.5) && every_other(s.beta, 0.5))
      grid.push_back(s);
  }
  return grid;
}

Status FitCalibrated(const std::vector<RunPoint>& runs, const FitOptions& options, int threads,
                     FitSummary* out) {
  const std::vector<RunChoice> choices = RunChoices(runs, options);
  FitOptions variant_options = options;
  if (variant_options.starts.empty()) variant_options.starts = CalibrationGrid();
  std::vector<Variant> variants;
  std::vector<std::string> skipped;
  for (const RunChoice& choice : choices) {
    if (static_cast<int>(choice.runs.size()) >= kMinRunsForApproach3) {
      Variant v;
      v.record.approach = "approach3";
      v.record.runs = choice.name;
      v.record.n_runs = static_cast<int>(choice.runs.size());
      FitOptions choice_options = variant_options;
      if (options.progress)
        choice_options.progress = [&](const std::string& stage, int64_t done, int64_t total) {
          options.progress("calibrated, " + stage + " (" + choice.name + " runs)", done, total);
        };
      Status s = FitApproach3(choice.runs, choice_options, threads, &v.fit3);
      if (s.ok()) s = v.fit3.finite;
      if (s.ok()) {
        v.record.has_law = true;
        v.record.law = v.fit3.multi_start.law;
        v.record.objective = v.fit3.multi_start.objective;
        const auto [log_k, a] = LogAllocation(v.record.law);
        v.record.params_opt = PowerLawAllocation(log_k, a).params_opt;
        // The loss average's second form: the same runs with E = 0. Not with --fix or --prior: those
        // are the user's own loss law, which the fit keeps as it is.
        if (options.fixed.empty() && options.prior.name.empty() && options.law == LawForm::kChinchilla) {
          FitOptions zero = choice_options;
          zero.fixed = {{"E", kNoFloorE}};
          Status z = FitApproach3(choice.runs, zero, threads, &v.fit0);
          if (z.ok()) z = v.fit0.finite;
          v.has_no_floor = z.ok() && v.fit0.multi_start.law.IsValid(nullptr);
        }
        variants.push_back(std::move(v));
      } else {
        skipped.push_back("approach3/" + choice.name + ": " + s.message());
      }
    }
    Variant v2;
    IsoflopMinima(choice.runs, options, &v2.log_c, &v2.log_n);
    if (static_cast<int>(v2.log_c.size()) >= kMinMinimaForRegression) {
      v2.record.approach = "approach2";
      v2.record.runs = choice.name;
      v2.record.n_runs = static_cast<int>(choice.runs.size());
      v2.record.n_budgets = static_cast<int>(v2.log_c.size());
      const PowerLawDraws point = DrawPowerLaws(v2.log_c, v2.log_n, 0, 0);
      v2.record.params_opt = PowerLawAllocation(point.log_k, point.a).params_opt;
      variants.push_back(std::move(v2));
    }
  }
  if (variants.empty())
    return Status::InvalidArgument(
        "calibrated: no variant could be fitted (Approach 3 needs at least " +
        std::to_string(kMinRunsForApproach3) + " runs and a finite law, Approach 2 at least " +
        std::to_string(kMinMinimaForRegression) + " budgets with an interior IsoFLOP minimum)" +
        (skipped.empty() ? std::string() : ": " + skipped.front()));

  // Weights: half to each approach present, split equally among its variants.
  int n3 = 0, n2 = 0;
  for (const Variant& v : variants) (v.record.approach == "approach3" ? n3 : n2) += 1;
  const int total =
      options.bootstrap_resamples > 0 ? options.bootstrap_resamples : kDefaultCalibrationReplicates;
  double log_k = 0, a = 0;
  for (Variant& v : variants) {
    const bool three = v.record.approach == "approach3";
    const double share = (n3 > 0 && n2 > 0) ? 0.5 : 1.0;
    v.record.weight = share / (three ? n3 : n2);
    v.record.replicates = std::max(1, static_cast<int>(std::lround(total * v.record.weight)));
    log_k += v.record.weight * std::log(v.record.params_opt.coefficient);
    a += v.record.weight * v.record.params_opt.exponent;
  }

  // Replicates, variant by variant (each deterministic in the seed and its own index).
  FitSummary result = *out;
  result.bootstrap_laws.clear();
  for (size_t j = 0; j < variants.size(); ++j) {
    Variant& v = variants[j];
    const uint64_t seed = options.seed ^ (0x9e3779b97f4a7c15ULL * (j + 1));
    if (v.record.approach == "approach3") {
      FitOptions boot = v.fit3.options;
      if (options.progress)
        boot.progress = [&](const std::string& stage, int64_t done, int64_t total) {
          options.progress("calibrated, " + stage + " (" + v.record.runs + " runs)", done, total);
        };
      boot.bootstrap_resamples = v.record.replicates;
      boot.seed = seed;
      boot.ci_budgets_flops.clear();
      FitSummary replicates, zero_replicates;
      ISOFLOP_RETURN_IF_ERROR(Bootstrap(v.fit3.points, boot, threads, v.fit3.multi_start, &replicates));
      if (v.has_no_floor) {
        // Half as many resamples of the same runs fitted with E = 0: every other replicate predicts its
        // loss with one of them (weight 1), so the replicates are half one form, half the other. The
        // allocation of every replicate stays its Approach 3 law's.
        FitOptions boot0 = v.fit0.options;
        boot0.progress = boot.progress;
        boot0.bootstrap_resamples = (boot.bootstrap_resamples + 1) / 2;
        boot0.seed = seed;
        boot0.ci_budgets_flops.clear();
        if (!Bootstrap(v.fit0.points, boot0, threads, v.fit0.multi_start, &zero_replicates).ok())
          zero_replicates.bootstrap_laws.clear();
      }
      v.record.replicates = 0;
      const std::vector<ScalingLaw>& zeros = zero_replicates.bootstrap_laws;
      size_t emitted = 0;
      for (ScalingLaw law : replicates.bootstrap_laws) {
        if (!law.IsValid(nullptr)) continue;  // fit.json lists valid laws only: keep memory and file equal
        const size_t j = emitted++;
        if (j % 2 == 1 && !zeros.empty()) {
          ScalingLaw with = law;
          with.no_floor = NoFloorOf(zeros[(j / 2) % zeros.size()], 1.0);
          if (with.IsValid(nullptr)) law = with;
        }
        result.bootstrap_laws.push_back(law);
        ++v.record.replicates;
      }
    } else {
      const PowerLawDraws draws = DrawPowerLaws(v.log_c, v.log_n, v.record.replicates, seed);
      v.record.replicates = 0;
      for (const auto& [lk, slope] : draws.draws) {
        // A draw with a <= 0 or a >= 1 has N_opt or D_opt shrinking with C: no allocation, left out.
        const ScalingLaw law = PowerLawAllocation(lk, slope);
        if (!law.IsValid(nullptr)) continue;
        result.bootstrap_laws.push_back(law);
        ++v.record.replicates;
      }
    }
  }

  // The point: the weighted mean allocation, with the loss law of the preferred Approach 3 variant.
  result.has_law = true;
  result.law = PowerLawAllocation(log_k, a);
  const Variant* loss_variant = nullptr;
  for (const char* name : {"upper near-optimal", "near-optimal", "upper", "all"}) {
    for (const Variant& v : variants)
      if (!loss_variant && v.record.approach == "approach3" && v.record.runs == name) loss_variant = &v;
  }
  if (loss_variant != nullptr) {
    const ScalingLaw& l = loss_variant->record.law;
    result.law.E = l.E, result.law.A = l.A, result.law.B = l.B, result.law.alpha = l.alpha;
    result.law.beta = l.beta;
    if (loss_variant->has_no_floor) result.law.no_floor = NoFloorOf(loss_variant->fit0.multi_start.law, 0.5);
    const MultiStartResult& ms = loss_variant->fit3.multi_start;
    result.objective = ms.objective;
    result.starts = ms.starts;
    result.starts_at_optimum = ms.starts_at_optimum;
    result.best_start_index = ms.best_index;
    result.iterations_best = ms.iterations_best;
    result.allocation = ComputeAllocation(l);
    result.provenance.prior_residual_scale = loss_variant->fit3.options.prior.residual_scale;
  }
  result.calibration.clear();
  for (const Variant& v : variants) result.calibration.push_back(v.record);
  result.bootstrap_resamples = static_cast<int>(result.bootstrap_laws.size());

  // Intervals at the requested budgets (and of the N_opt exponent) over all replicates.
  const double tail = (1.0 - options.confidence) / 2.0;
  result.ci.clear();
  std::vector<double> exponents;
  for (const ScalingLaw& law : result.bootstrap_laws)
    exponents.push_back(law.form == LawForm::kPowerLaw ? law.params_opt.exponent : ComputeAllocation(law).a);
  result.ci.push_back({"a", Interval{Percentile(exponents, tail), Percentile(exponents, 1 - tail)}});
  for (double c : options.ci_budgets_flops) {
    std::vector<double> n, d;
    for (const ScalingLaw& law : result.bootstrap_laws) {
      n.push_back(OptimalParams(law, c));
      d.push_back(OptimalTokens(law, c));
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6g", c);
    result.ci.push_back(
        {std::string("N_opt@") + buf, Interval{Percentile(n, tail), Percentile(n, 1 - tail)}});
    result.ci.push_back(
        {std::string("D_opt@") + buf, Interval{Percentile(d, tail), Percentile(d, 1 - tail)}});
  }
  result.provenance.interval_method = "calibrated ensemble: Approaches 2 and 3 on " +
                                      std::to_string(choices.size()) + " choices of runs (docs/fit.md)";
  *out = std::move(result);
  return Status::OK();
}

}  // namespace isoflop::fitter_internal
