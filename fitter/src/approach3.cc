// Approach 3 (Hoffmann et al. 2022, Section 3.3 and Appendix D.2) with Ceres Solver, and its bootstrap.
//
// Ceres problem type: ceres::GradientProblem + L-BFGS (GradientProblemSolver). The objective is a plain
// sum of Huber terms of a scalar residual, which is what Hoffmann et al. and Epoch AI minimise with
// L-BFGS; a GradientProblem lets us hand Ceres that exact sum with an analytic gradient (no 1/2 factor,
// no squared-residual reparameterisation), so the printed objective is the minimised quantity itself.
// docs/fit.md explains the choice against Problem + HuberLoss.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>

#include <ceres/first_order_function.h>
#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/manifold.h>
#include <glog/logging.h>

#include "internal.h"

namespace isoflop::fitter_internal {
namespace {

// The Huber objective plus the prior term of `penalty` (zero without a prior; penalty.cc).
class HuberLogLossFunction final : public ceres::FirstOrderFunction {
 public:
  HuberLogLossFunction(const Points* points, LawForm form, double delta, const Penalty* penalty)
      : points_(points), form_(form), delta_(delta), penalty_(penalty) {}
  bool Evaluate(const double* x, double* cost, double* gradient) const override {
    *cost = Objective(*points_, form_, delta_, x, gradient) + penalty_->Evaluate(x, gradient);
    if (!std::isfinite(*cost)) return false;
    if (gradient != nullptr) {
      for (int i = 0; i < NumParameters(); ++i)
        if (!std::isfinite(gradient[i])) return false;
    }
    return true;
  }
  int NumParameters() const override { return NumLawParameters(form_); }

 private:
  const Points* points_;
  LawForm form_;
  double delta_;
  const Penalty* penalty_;
};

// Ceres logs a WARNING through glog whenever its line search meets a flat cubic ("Trying to extract
// roots from a constant polynomial"), which happens routinely once a start has converged to machine
// precision; thousands of starts would flood stderr. Raise glog's threshold to ERROR once, unless the
// embedding program already chose one.
void QuietCeresWarnings() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (FLAGS_minloglevel < google::GLOG_ERROR) FLAGS_minloglevel = google::GLOG_ERROR;
  });
}

}  // namespace

SolveResult SolveFromStart(const Points& points, LawForm form, const FitOptions& options, double* x,
                           Tolerances tolerances) {
  QuietCeresWarnings();
  const bool coarse = tolerances == Tolerances::kCoarse;
  // Fixed parameters (--fix) are held by a SubsetManifold; a prior (--prior) adds its term to the cost.
  const Penalty penalty = MakePenalty(options, form);
  penalty.Apply(x);
  auto* function = new HuberLogLossFunction(&points, form, options.huber_delta, &penalty);
  std::unique_ptr<ceres::GradientProblem> owned_problem;
  if (penalty.fixed_index.empty()) {
    owned_problem = std::make_unique<ceres::GradientProblem>(function);
  } else {
    owned_problem = std::make_unique<ceres::GradientProblem>(
        function, new ceres::SubsetManifold(NumLawParameters(form), penalty.fixed_index));
  }
  ceres::GradientProblem& problem = *owned_problem;
  ceres::GradientProblemSolver::Options solver_options;
  solver_options.line_search_direction_type = ceres::LBFGS;
  solver_options.max_num_iterations = options.max_iterations;
  solver_options.function_tolerance = options.function_tolerance;
  solver_options.gradient_tolerance = options.gradient_tolerance;
  solver_options.parameter_tolerance = options.parameter_tolerance;
  if (coarse) {
    solver_options.function_tolerance = std::max(kCoarseFunctionTolerance, options.function_tolerance);
    solver_options.gradient_tolerance = std::max(kCoarseGradientTolerance, options.gradient_tolerance);
    solver_options.parameter_tolerance = std::max(kCoarseParameterTolerance, options.parameter_tolerance);
    solver_options.max_lbfgs_rank = kCoarseLbfgsRank;
  }
  solver_options.logging_type = ceres::SILENT;
  ceres::GradientProblemSolver::Summary summary;
  ceres::Solve(solver_options, problem, x, &summary);
  SolveResult out;
  out.iterations = static_cast<int>(summary.iterations.size()) - 1;
  // What was minimised: the Huber sum, plus the prior term when there is one.
  out.objective = Objective(points, form, options.huber_delta, x, nullptr) + penalty.Evaluate(x, nullptr);
  out.usable = std::isfinite(out.objective);
  for (int i = 0; i < NumLawParameters(form); ++i) out.usable = out.usable && std::isfinite(x[i]);
  return out;
}

std::vector<StartPoint> ScreenStarts(const Points& points, LawForm form, double delta,
                                     const std::vector<StartPoint>& starts, int keep, int threads) {
  const int n = static_cast<int>(starts.size());
  std::vector<double> value(n);
  ParallelFor(n, threads, [&](int i) {
    double x[7];
    StartToVector(starts[i], form, x);
    value[i] = Objective(points, form, delta, x, nullptr);
    if (!std::isfinite(value[i])) value[i] = std::numeric_limits<double>::infinity();
  });
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int l, int r) { return value[l] < value[r]; });
  order.resize(std::min(keep, n));
  std::sort(order.begin(), order.end());
  std::vector<StartPoint> out;
  for (int i : order) out.push_back(starts[i]);
  return out;
}

Status MultiStart(const Points& points, LawForm form, const std::vector<StartPoint>& starts,
                  const FitOptions& options, int threads, MultiStartResult* result) {
  const int n = static_cast<int>(starts.size());
  const int k = NumLawParameters(form);

  // Phase 1: every start, independently (in parallel), to the coarse tolerances: most
  // of a tight solve's iterations are spent creeping along flat valleys that end at a local optimum
  // (docs/fit.md, "Two phases"), so stopping early there loses nothing.
  std::vector<std::vector<double>> finals(n, std::vector<double>(k));
  std::vector<SolveResult> solved(n);
  std::atomic<int64_t> done{0};
  ParallelFor(n, threads, [&](int worker, int i) {
    StartToVector(starts[i], form, finals[i].data());
    solved[i] = SolveFromStart(points, form, options, finals[i].data(), Tolerances::kCoarse);
    const int64_t d = done.fetch_add(1) + 1;
    if (worker == 0 && options.progress) options.progress("approach 3 starts", d, n);  // the calling thread
  });

  // Deterministic order: lowest objective first, ties to the lower start index.
  std::vector<int> order;
  for (int i = 0; i < n; ++i)
    if (solved[i].usable) order.push_back(i);
  if (order.empty()) return Status::FailedPrecondition("no start converged to a finite objective");
  std::stable_sort(order.begin(), order.end(),
                   [&](int l, int r) { return solved[l].objective < solved[r].objective; });

  // Distinct basins, best first: a phase-1 end is a new basin if its objective differs from every kept
  // one by more than the optimum tolerance (relative to the best phase-1 objective).
  const double phase1_tol = options.optimum_relative_tolerance * std::fabs(solved[order.front()].objective);
  std::vector<int> basins;
  for (int i : order) {
    bool is_new = true;
    for (int b : basins)
      if (std::fabs(solved[i].objective - solved[b].objective) <= phase1_tol) is_new = false;
    if (!is_new) continue;
    basins.push_back(i);
    if (static_cast<int>(basins.size()) == kPolishBasins) break;
  }

  // Phase 2: polish the best basins' representatives to the final tolerances (in parallel, each one
  // independent, so the result does not depend on the thread count).
  {
    const int polish = static_cast<int>(basins.size());
    std::vector<std::vector<double>> polished_x(polish);
    std::vector<SolveResult> polished(polish);
    ParallelFor(polish, threads, [&](int j) {
      polished_x[j] = finals[basins[j]];
      polished[j] = SolveFromStart(points, form, options, polished_x[j].data(), Tolerances::kFinal);
    });
    for (int j = 0; j < polish; ++j) {
      const int i = basins[j];
      // A polish never raises the objective (L-BFGS with a Wolfe line search only accepts decreases);
      // an unusable one (never seen) keeps the phase-1 end.
      if (!polished[j].usable) continue;
      polished[j].iterations += solved[i].iterations;
      solved[i] = polished[j];
      finals[i] = std::move(polished_x[j]);
    }
    std::sort(basins.begin(), basins.end(), [&](int l, int r) {
      if (solved[l].objective != solved[r].objective) return solved[l].objective < solved[r].objective;
      return l < r;
    });
  }
  const int best = basins.front();
  const double best_objective = solved[best].objective;

  result->law = VectorToLaw(finals[best].data(), form);
  result->objective = best_objective;
  result->starts = n;
  result->best_index = best;
  result->iterations_best = solved[best].iterations;
  // With two phases a start counts as reaching the optimum when its phase-1 end is already within the
  // optimum tolerance of the polished optimum (docs/fit.md defines it); the polished starts count with
  // their polished objective.
  result->starts_at_optimum = 0;
  const double tol = options.optimum_relative_tolerance * std::fabs(best_objective);
  for (int i : order)
    if (solved[i].objective - best_objective <= tol) ++result->starts_at_optimum;

  // Distinct local optima (parameter vectors), best first, for warm-starting bootstrap resamples.
  result->distinct_optima.clear();
  std::vector<double> kept_objectives;
  for (int i : basins) {
    bool is_new = true;
    for (double o : kept_objectives)
      if (std::fabs(solved[i].objective - o) <= tol) is_new = false;
    if (!is_new) continue;
    kept_objectives.push_back(solved[i].objective);
    result->distinct_optima.push_back(finals[i]);
  }
  return Status::OK();
}

SplitMix64 ResampleGenerator(uint64_t seed, int resample) {
  SplitMix64 seeder(seed ^ (0x632be59bd9b4e019ULL * static_cast<uint64_t>(resample + 1)));
  return SplitMix64(seeder.Next());
}

std::vector<PreparedPoint> ResampleRows(const Points& points, uint64_t seed, int resample) {
  // One generator per resample, seeded from (seed, resample): the draw never depends on the thread count.
  SplitMix64 rng = ResampleGenerator(seed, resample);
  const int n = static_cast<int>(points.rows.size());
  std::vector<PreparedPoint> rows = points.rows;
  for (auto& p : rows) p.weight = 0;
  for (int i = 0; i < n; ++i) rows[rng.Below(n)].weight += 1;
  std::erase_if(rows, [](const PreparedPoint& p) { return p.weight == 0; });
  return rows;
}

Status Bootstrap(const Points& points, const FitOptions& options, int threads,
                 const MultiStartResult& full_fit, FitSummary* summary) {
  const int resamples = options.bootstrap_resamples;
  const LawForm form = options.law;

  // Each resample starts from the full-data fit's distinct local optima (best first) rather than the
  // whole grid: a resample's optimum lies near the full-data one, and the other optima cover the case
  // where the resample moves the global minimum to another basin. docs/fit.md and
  // tests/fitter/bootstrap_warm_start_test.cc show it reaches the optimum the full grid finds.
  std::vector<std::vector<double>> results(resamples);
  std::vector<ScalingLaw> laws(resamples);
  std::vector<char> ok(resamples, 0);
  const int warm = std::min<int>(options.bootstrap_warm_starts, full_fit.distinct_optima.size());
  std::atomic<int64_t> done{0};
  ParallelFor(resamples, threads, [&](int worker, int r) {
    struct Report {  // counts this resample as done however it ends; only the calling thread reports
      std::atomic<int64_t>& done;
      const FitOptions& options;
      int worker, resamples;
      ~Report() {
        const int64_t d = done.fetch_add(1) + 1;
        if (worker == 0 && options.progress) options.progress("bootstrap", d, resamples);
      }
    } report{done, options, worker, resamples};
    const Points sample = MakePoints(ResampleRows(points, options.seed, r));
    double best = std::numeric_limits<double>::infinity();
    std::vector<double> best_x;
    for (int w = 0; w < warm; ++w) {
      std::vector<double> x = full_fit.distinct_optima[w];
      const SolveResult s = SolveFromStart(sample, form, options, x.data());
      if (s.usable && s.objective < best) {
        best = s.objective;
        best_x = x;
      }
    }
    if (best_x.empty()) return;
    const ScalingLaw law = VectorToLaw(best_x.data(), form);
    const Allocation al = ComputeAllocation(law);
    std::vector<double> v = {law.E, law.A, law.B, law.alpha, law.beta, al.a, al.b, al.G};
    if (form == LawForm::kDataConstrained) {
      v.push_back(law.r_d_star);
      v.push_back(law.r_n_star);
    }
    for (double c : options.ci_budgets_flops) {
      v.push_back(OptimalParams(law, c));
      v.push_back(OptimalTokens(law, c));
    }
    results[r] = std::move(v);
    laws[r] = law;
    ok[r] = 1;
  });

  std::vector<std::string> names = {"E", "A", "B", "alpha", "beta", "a", "b", "G"};
  if (form == LawForm::kDataConstrained) {
    names.push_back("r_d_star");
    names.push_back("r_n_star");
  }
  for (double c : options.ci_budgets_flops) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6g", c);
    names.push_back(std::string("N_opt@") + buf);
    names.push_back(std::string("D_opt@") + buf);
  }
  int used = 0;
  for (char o : ok) used += o;
  if (used == 0) return Status::FailedPrecondition("no bootstrap resample could be fitted");
  const double tail = (1.0 - options.confidence) / 2.0;
  summary->ci.clear();
  for (size_t j = 0; j < names.size(); ++j) {
    std::vector<double> column;
    column.reserve(used);
    for (int r = 0; r < resamples; ++r)
      if (ok[r]) column.push_back(results[r][j]);
    summary->ci.push_back({names[j], Interval{Percentile(column, tail), Percentile(column, 1.0 - tail)}});
  }
  summary->bootstrap_resamples = used;
  summary->bootstrap_laws.clear();
  for (int r = 0; r < resamples; ++r)
    if (ok[r]) summary->bootstrap_laws.push_back(laws[r]);
  return Status::OK();
}

}  // namespace isoflop::fitter_internal
