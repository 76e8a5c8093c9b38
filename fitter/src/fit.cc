// Fit(): options check, data preparation, then Approaches 1-3 and the bootstrap.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>
#include <utility>

#include "internal.h"
#include "isoflop/fitter.h"

namespace isoflop {
namespace {

// Starts for the data-constrained law: Hoffmann's grid for (a, b, e, alpha, beta) crossed with
// R_D*, R_N* in {4, 16} (log-parameterised, so R* stays positive). Muennighoff et al. 2023 (Appendix A)
// start from R* in {0, 4, ..., 20}; 0 is not representable in log space and the two ends bracket
// their optimum (R_D* = 15.4, R_N* = 5.3).
constexpr int kDataConstrainedScreenKeep = 64;

std::vector<StartPoint> DataConstrainedGrid() {
  std::vector<StartPoint> out;
  for (const StartPoint& s : HoffmannGrid())
    for (double rd : {4.0, 16.0})
      for (double rn : {4.0, 16.0}) {
        StartPoint p = s;
        p.log_r_d_star = std::log(rd);
        p.log_r_n_star = std::log(rn);
        out.push_back(p);
      }
  return out;
}

}  // namespace

bool FitOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(huber_delta > 0) || !std::isfinite(huber_delta))
    return fail("huber_delta must be positive and finite");
  if (drop_highest_loss < 0) return fail("drop_highest_loss must be >= 0");
  if (screen_keep < 0) return fail("screen_keep must be >= 0 (0 = no screening)");
  if (bootstrap_resamples < 0) return fail("bootstrap_resamples must be >= 0");
  if (bootstrap_warm_starts < 1) return fail("bootstrap_warm_starts must be >= 1");
  if (threads < 0) return fail("threads must be >= 0 (0 = all cores)");
  if (!(confidence > 0 && confidence < 1)) return fail("confidence must be in (0, 1)");
  if (!(budget_gap_decades > 0)) return fail("budget_gap_decades must be positive");
  if (min_points_per_parabola < 3)
    return fail("min_points_per_parabola must be >= 3 (a parabola has 3 coefficients)");
  if (max_iterations < 1) return fail("max_iterations must be >= 1");
  if (!(function_tolerance >= 0) || !(gradient_tolerance >= 0) || !(parameter_tolerance >= 0))
    return fail("solver tolerances must be >= 0");
  if (!(optimum_relative_tolerance >= 0)) return fail("optimum_relative_tolerance must be >= 0");
  for (double c : ci_budgets_flops)
    if (!(c > 0) || !std::isfinite(c)) return fail("ci budgets must be positive, finite FLOP counts");
  if (method == FitMethod::kPublished)
    return fail("method 'published' names a published law; nothing to fit");
  if (vocab < 0) return fail("vocab must be >= 0 (0 = unknown)");
  const bool fits_law =
      method == FitMethod::kApproach3 || method == FitMethod::kAll || method == FitMethod::kCalibrated;
  for (size_t i = 0; i < fixed.size(); ++i) {
    const auto& [name, value] = fixed[i];
    const bool chinchilla = name == "E" || name == "A" || name == "B" || name == "alpha" || name == "beta";
    const bool dc = name == "r_d_star" || name == "r_n_star";
    if (!chinchilla && !(dc && law == LawForm::kDataConstrained))
      return fail("fixed parameter '" + name + "' is not a parameter of the " + LawFormName(law) + " law");
    if (!(value > 0) || !std::isfinite(value))
      return fail("fixed parameter " + name + " must be positive and finite");
    for (size_t j = 0; j < i; ++j)
      if (fixed[j].first == name) return fail("parameter " + name + " is fixed twice");
  }
  if (!fixed.empty() && static_cast<int>(fixed.size()) >= fitter_internal::NumLawParameters(law))
    return fail("every law parameter is fixed: nothing is left to fit");
  if (!prior.name.empty()) {
    if (!PriorCentre(prior.name).ok())
      return fail("prior '" + prior.name + "' is not one of hoffmann, epoch");
    if (!(prior.width > 0) || !std::isfinite(prior.width))
      return fail("prior width must be positive and finite");
    if (!(prior.residual_scale >= 0) || !std::isfinite(prior.residual_scale))
      return fail("prior residual_scale must be >= 0 (0 = estimated)");
  }
  if (method == FitMethod::kCalibrated && law != LawForm::kChinchilla)
    return fail(
        "method calibrated fits the Chinchilla law (its Approach 2 side assumes no repeated data); "
        "use method approach3 for the data-constrained law");
  if (!(calibration_window > 1) || !std::isfinite(calibration_window))
    return fail("calibration_window must be a finite factor > 1");
  if ((!fixed.empty() || !prior.name.empty()) && !fits_law)
    return fail("--fix and --prior constrain Approach 3; use method approach3, all or calibrated");
  return true;
}

namespace {

// The best optimum of the multi-start can lie at infinity: when the runs do not pin one term of
// eq. 2 (Hoffmann et al. 2022), e.g. every IsoFLOP curve's small-N side is one capacity-limited
// step, A/N^alpha is fitted as a wall (alpha -> inf, A -> inf) that no finite law reproduces. Such a
// "law" has no N_opt and cannot be written to fit.json (JSON has no inf), so it is an error that says
// which parameter ran away, not a file that downstream tools fail to read.
Status CheckLawIsFinite(const ScalingLaw& law, int n_points) {
  const std::pair<const char*, double> params[] = {
      {"E", law.E}, {"A", law.A}, {"B", law.B}, {"alpha", law.alpha}, {"beta", law.beta}};
  std::string bad;
  for (const auto& [name, v] : params) {
    if (std::isfinite(v)) continue;
    std::ostringstream o;
    o << (bad.empty() ? "" : ", ") << name << " = " << v;
    bad += o.str();
  }
  if (bad.empty()) return Status::OK();
  std::ostringstream all;
  all.precision(4);
  all << "E = " << law.E << ", A = " << law.A << ", B = " << law.B << ", alpha = " << law.alpha
      << ", beta = " << law.beta;
  return Status::FailedPrecondition(
      "approach3: the best fit to these " + std::to_string(n_points) + " runs is degenerate (" + bad + "; " +
      all.str() +
      "): the runs do not constrain every term of L = E + A/N^alpha + B/D^beta. Add runs that bracket "
      "each budget's IsoFLOP minimum, or use --method envelope / parabola (Approaches 1-2)");
}

}  // namespace

namespace fitter_internal {

Status FitApproach3(const std::vector<RunPoint>& runs, const FitOptions& options, int threads,
                    Approach3Fit* out) {
  const int k = NumLawParameters(options.law);
  if (static_cast<int>(runs.size()) < k)
    return Status::InvalidArgument("approach3: " + std::to_string(runs.size()) + " points for a law with " +
                                   std::to_string(k) + " parameters (need at least " + std::to_string(k) +
                                   ")");
  out->points = Prepare(runs);
  const Points& points = out->points;
  std::vector<StartPoint> starts = options.starts;
  int screen_keep = options.screen_keep;
  if (starts.empty()) {
    starts = options.law == LawForm::kChinchilla ? HoffmannGrid() : DataConstrainedGrid();
    if (options.law == LawForm::kDataConstrained && screen_keep == 0)
      screen_keep = kDataConstrainedScreenKeep;
  }
  // Fixed parameters (--fix): every start holds them; starts that then coincide are run once.
  starts = ApplyFixedToStarts(starts, options.law, MakePenalty(options, options.law));
  if (screen_keep > 0 && screen_keep < static_cast<int>(starts.size()))
    starts = ScreenStarts(points, options.law, options.huber_delta, starts, screen_keep, threads);
  // A prior (--prior) weighs s^2 / width^2 against the Huber sum, s the scale of one run's log-loss
  // residual (docs/fit.md): unless given, s is measured on the fit without the prior.
  out->options = options;
  if (!options.prior.name.empty() && options.prior.residual_scale == 0) {
    FitOptions unpenalized = options;
    unpenalized.prior = LawPrior{};
    MultiStartResult ms0;
    ISOFLOP_RETURN_IF_ERROR(MultiStart(points, options.law, starts, unpenalized, threads, &ms0));
    out->options.prior.residual_scale = RobustResidualScale(points, ms0.law, options.huber_delta);
  }
  MultiStartResult& ms = out->multi_start;
  ISOFLOP_RETURN_IF_ERROR(MultiStart(points, options.law, starts, out->options, threads, &ms));
  if (!options.prior.name.empty()) {
    // The reported objective stays the Huber sum of the runs (the prior's term is not part of it).
    double x[7];
    LawToVector(ms.law, x);
    ms.objective = Objective(points, options.law, options.huber_delta, x, nullptr);
  }
  out->finite = CheckLawIsFinite(ms.law, static_cast<int>(runs.size()));
  return Status::OK();
}

}  // namespace fitter_internal

Status Fit(const std::vector<RunPoint>& input, const FitOptions& options, FitSummary* summary) {
  using fitter_internal::NumLawParameters;
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("fit options: " + error);
  if (summary == nullptr) return Status::InvalidArgument("fit: summary is null");
  for (size_t i = 0; i < input.size(); ++i) {
    const RunPoint& r = input[i];
    for (double v : {r.params, r.tokens, r.loss})
      if (!(v > 0) || !std::isfinite(v))
        return Status::InvalidArgument("run " + std::to_string(i) + " (" + r.run_id +
                                       "): params, tokens and loss must be positive and finite");
  }
  if (options.drop_highest_loss >= static_cast<int>(input.size()))
    return Status::InvalidArgument("drop_highest_loss = " + std::to_string(options.drop_highest_loss) +
                                   " would drop all " + std::to_string(input.size()) + " runs");

  // Drop the K highest-loss runs (Epoch AI, Besiroglu et al. 2024, drop 5 on Chinchilla's data); the rest
  // keep their order. Ties: the later row is dropped first (stable sort, descending).
  std::vector<RunPoint> runs;
  {
    std::vector<int> order(input.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int l, int r) { return input[l].loss > input[r].loss; });
    std::vector<char> drop(input.size(), 0);
    for (int k = 0; k < options.drop_highest_loss; ++k) drop[order[k]] = 1;
    for (size_t i = 0; i < input.size(); ++i)
      if (!drop[i]) runs.push_back(input[i]);
  }

  FitSummary out;
  out.method = options.method;
  out.n_points = static_cast<int>(runs.size());
  out.n_dropped = options.drop_highest_loss;
  const int threads = fitter_internal::ResolveThreads(options.threads);
  const bool want3 = options.method == FitMethod::kApproach3 || options.method == FitMethod::kAll;
  const bool want1 = options.method == FitMethod::kEnvelope || options.method == FitMethod::kAll;
  const bool want2 = options.method == FitMethod::kParabola || options.method == FitMethod::kAll;

  if (want3) {
    fitter_internal::Approach3Fit fit3;
    ISOFLOP_RETURN_IF_ERROR(fitter_internal::FitApproach3(runs, options, threads, &fit3));
    if (!fit3.finite.ok() && options.method == FitMethod::kApproach3) return fit3.finite;
    if (!fit3.finite.ok()) {
      // kAll: the IsoFLOP approaches need no law; report them, and why there is no law.
      out.approach3_error = fit3.finite.message();
    } else {
      const fitter_internal::MultiStartResult& ms = fit3.multi_start;
      out.has_law = true;
      out.law = ms.law;
      out.objective = ms.objective;
      out.starts = ms.starts;
      out.starts_at_optimum = ms.starts_at_optimum;
      out.best_start_index = ms.best_index;
      out.iterations_best = ms.iterations_best;
      out.allocation = ComputeAllocation(ms.law);
      out.provenance.prior_residual_scale = fit3.options.prior.residual_scale;
      if (options.bootstrap_resamples > 0)
        ISOFLOP_RETURN_IF_ERROR(fitter_internal::Bootstrap(fit3.points, fit3.options, threads, ms, &out));
    }
  }
  if (options.method == FitMethod::kCalibrated)
    ISOFLOP_RETURN_IF_ERROR(fitter_internal::FitCalibrated(runs, options, threads, &out));
  // Approach 3's constraints, for the record.
  if (want3 || options.method == FitMethod::kCalibrated) {
    out.provenance.fixed = options.fixed;
    out.provenance.prior = options.prior.name;
    if (!options.prior.name.empty()) out.provenance.prior_width = options.prior.width;
  }
  if (want1) ISOFLOP_RETURN_IF_ERROR(fitter_internal::FitEnvelope(runs, options, &out));
  if (want2) {
    Status approach2 = fitter_internal::FitParabolas(runs, options, &out);
    // --method all keeps Approach 3's law when Approach 2 finds no power law, and says why.
    if (!approach2.ok() && options.method != FitMethod::kAll) return approach2;
    if (!approach2.ok()) {
      out.approach2_error = approach2.message();
      out.parabolas.clear();
    }
  }
  if (!out.has_law) {
    // Approaches 1 and 2 alone (or --method all when Approach 3 gave no law): the power laws through
    // the IsoFLOP minima are the law the planner uses (Llama 3's method, Dubey et al. 2024,
    // Sec. 3.2.1), with intervals from a within-budget bootstrap. Approach 2 when it has a law,
    // else Approach 1.
    const bool use_parabolas = want2 && !out.parabolas.empty();
    if (use_parabolas || (want1 && !out.envelope.empty())) {
      out.law.form = LawForm::kPowerLaw;
      out.law.params_opt = use_parabolas ? out.parabola_params : out.envelope_params;
      out.law.tokens_opt = use_parabolas ? out.parabola_tokens : out.envelope_tokens;
      std::string why;
      out.has_law = out.law.IsValid(&why);
      if (!out.has_law && !want3)
        return Status::FailedPrecondition(std::string(FitMethodName(options.method)) +
                                          ": the fitted power laws give no usable allocation (" + why +
                                          "): N_opt and D_opt must grow with C");
      if (out.has_law && options.bootstrap_resamples > 0) {
        FitOptions curve_options = options;
        curve_options.method = use_parabolas ? FitMethod::kParabola : FitMethod::kEnvelope;
        ISOFLOP_RETURN_IF_ERROR(fitter_internal::BootstrapAllocation(runs, curve_options, threads, &out));
      }
    }
  }

  // Provenance: what the runs were and what N means in them.
  out.provenance.params_convention = options.params_convention == ParamsConvention::kUnknown
                                         ? ParamsConvention::kTotal
                                         : options.params_convention;
  out.provenance.params_convention_assumed = options.params_convention == ParamsConvention::kUnknown;
  out.provenance.vocab = options.vocab;
  std::vector<RunExtent> extents;
  for (const RunPoint& r : runs) extents.push_back({r.ComputeFlops(), r.params, r.tokens, r.loss});
  SetFittedRange(extents, &out.provenance);
  if (out.bootstrap_resamples > 0 && options.method != FitMethod::kCalibrated)
    out.provenance.interval_method =
        out.law.form != LawForm::kPowerLaw
            ? "bootstrap over runs, Approach 3 refit per resample"
            : "bootstrap over runs within each budget, power laws refit per resample";

  out.wall_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  *summary = std::move(out);
  return Status::OK();
}

}  // namespace isoflop
