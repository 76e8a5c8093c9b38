// Internals of the fitter, shared by its translation units (not installed, not public).
#ifndef ISOFLOP_FITTER_SRC_INTERNAL_H_
#define ISOFLOP_FITTER_SRC_INTERNAL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "isoflop/fitter.h"
#include "isoflop/parallel_for.h"

namespace isoflop::fitter_internal {

// One run in the optimiser's coordinates. `weight` counts how often the run occurs (a bootstrap
// resample draws runs with replacement; a run drawn k times contributes k Huber terms).
struct PreparedPoint {
  double log_params = 0, log_tokens = 0, log_loss = 0;
  double params = 0, tokens = 0, unique_tokens = 0;  // unique_tokens = min(U, D); D when unknown
  double weight = 1;
};
// The points of one fit: rows for the data-constrained law, and the same values as contiguous arrays so
// the Chinchilla objective runs on Eigen's vectorised exp/log.
inline constexpr int kBlock = 8;
struct Points {
  std::vector<PreparedPoint> rows;
  Eigen::ArrayXd log_params, log_tokens, log_loss, weight;
};
Points MakePoints(std::vector<PreparedPoint> rows);
Points Prepare(const std::vector<RunPoint>& runs);

// Number of free parameters of a law form (5 for Chinchilla, 7 for data-constrained).
int NumLawParameters(LawForm form);

// Parameter vector <-> law. Layout: a, b, e, alpha, beta[, log R_D*, log R_N*].
void StartToVector(const StartPoint& start, LawForm form, double* x);
ScalingLaw VectorToLaw(const double* x, LawForm form);
void LawToVector(const ScalingLaw& law, double* x);

// The Approach 3 objective at x: sum_i w_i Huber_delta(LSE(...) - log L_i), and its gradient when
// gradient != nullptr.
double Objective(const Points& points, LawForm form, double delta, const double* x, double* gradient);
// Its two Chinchilla implementations (Objective picks one): Eigen's portable packets, and 4-wide
// AVX2 + FMA (objective_avx2.cc; only when HaveAvx2Kernel(): compiled in, and the CPU has both).
double PortableObjective(const Points& points, double delta, const double* x, double* gradient);
double Avx2Objective(const Points& points, double delta, const double* x, double* gradient);
bool HaveAvx2Kernel();

// One L-BFGS solve from x (updated in place). Returns the final objective.
struct SolveResult {
  double objective = 0;
  int iterations = 0;
  bool usable = false;  // finite objective and parameters
};
// Two-phase multi-start (docs/fit.md, "Two phases"). Phase 1 solves every start to these coarse
// tolerances (never tighter than FitOptions' own) with a shorter L-BFGS memory; phase 2 polishes the
// best kPolishBasins distinct phase-1 ends (objectives more than optimum_relative_tolerance apart) to
// FitOptions' tolerances, and the best polished end is the fit. Chosen by measurement on the Epoch data
// (docs/benchmarks.md, "Fitter").
inline constexpr double kCoarseFunctionTolerance = 1e-7;
inline constexpr double kCoarseGradientTolerance = 1e-10;
inline constexpr double kCoarseParameterTolerance = 1e-8;
inline constexpr int kCoarseLbfgsRank = 10;
inline constexpr int kPolishBasins = 8;

// kFinal: FitOptions' tolerances (Ceres' default L-BFGS rank); kCoarse: the phase-1 settings above.
enum class Tolerances { kFinal, kCoarse };
SolveResult SolveFromStart(const Points& points, LawForm form, const FitOptions& options, double* x,
                           Tolerances tolerances = Tolerances::kFinal);

// The K starts with the lowest objective (ties: lower index), in their original order.
std::vector<StartPoint> ScreenStarts(const Points& points, LawForm form, double delta,
                                     const std::vector<StartPoint>& starts, int keep, int threads);

// The multi-start optimisation: every start solved independently (in parallel) to the coarse
// tolerances, the best kPolishBasins distinct basins polished to the final ones, the best objective kept,
// ties broken by the lower start index, so the answer never depends on the thread count.
struct MultiStartResult {
  ScalingLaw law;
  double objective = 0;
  int starts = 0;
  int starts_at_optimum = 0;
  int best_index = -1;
  int iterations_best = 0;
  // Distinct local optima (parameter vectors), best first, for warm-starting bootstrap resamples.
  std::vector<std::vector<double>> distinct_optima;
};
Status MultiStart(const Points& points, LawForm form, const std::vector<StartPoint>& starts,
                  const FitOptions& options, int threads, MultiStartResult* result);

// SplitMix64 (Steele, Lea, Flood 2014): a small, fully specified generator, so a seed gives the same
// resamples on every platform and standard library (std::uniform_int_distribution is not specified).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by multiply-shift (Lemire 2019); the bias is below 2^-50 for n < 2^14.
  int Below(int n) {
    return static_cast<int>((static_cast<unsigned __int128>(Next()) * static_cast<uint64_t>(n)) >> 64);
  }

 private:
  uint64_t state_;
};

// The generator of bootstrap resample `resample` under `seed`: each resample draws from its own
// stream, so the draw never depends on the thread count.
SplitMix64 ResampleGenerator(uint64_t seed, int resample);
// Fixed parameters and the prior of FitOptions (fixed, prior), in the optimiser's coordinates
// x = (ln A, ln B, ln E, alpha, beta[, ln R_D*, ln R_N*]); penalty.cc, docs/fit.md.
struct Penalty {
  int num_parameters = 5;
  std::vector<int> fixed_index;     // coordinates Ceres holds constant (SubsetManifold)
  std::vector<double> fixed_value;  // their values
  bool has_prior = false;
  // z = (ln A, ln B, ln E, ln alpha, ln beta) ~ N(mu, width^2) each; weight = s^2 / width^2.
  std::array<double, 5> mu{};
  std::array<bool, 5> prior_on{true, true, true, true, true};
  double weight = 0;

  bool Active() const { return has_prior || !fixed_index.empty(); }
  void Apply(double* x) const;  // sets the fixed coordinates
  // The prior term at x, added to gradient when not null (0 without a prior).
  double Evaluate(const double* x, double* gradient) const;
};
Penalty MakePenalty(const FitOptions& options, LawForm form);
// Starts with the fixed coordinates set, duplicates dropped (first kept, order preserved).
std::vector<StartPoint> ApplyFixedToStarts(const std::vector<StartPoint>& starts, LawForm form,
                                           const Penalty& penalty);
// max(floor, 1.4826 median |ln L_pred - ln L|): the residual scale s of the prior's weight.
double RobustResidualScale(const Points& points, const ScalingLaw& law, double floor);

// The rows of bootstrap resample `resample`: n draws with replacement, as weights (a run drawn k times
// has weight k; undrawn runs are left out). Deterministic in (seed, resample).
std::vector<PreparedPoint> ResampleRows(const Points& points, uint64_t seed, int resample);

// Bootstrap percentile intervals (fills summary->ci).
Status Bootstrap(const Points& points, const FitOptions& options, int threads,
                 const MultiStartResult& full_fit, FitSummary* summary);

// Approach 3 on `runs` with `options` (starts, --fix, --prior, screening): the multi-start optimum.
// `finite` says whether the law is finite (a degenerate fit is not an error here); `options` is what
// was fitted with (the prior's residual scale filled in), `points` the prepared runs, for the bootstrap.
struct Approach3Fit {
  Points points;
  FitOptions options;
  MultiStartResult multi_start;
  Status finite;
};
Status FitApproach3(const std::vector<RunPoint>& runs, const FitOptions& options, int threads,
                    Approach3Fit* out);

// Method calibrated (calibration.cc, docs/fit.md "Calibrated extrapolation"): fills the law, the
// replicates, the intervals and the variants. kDefaultCalibrationReplicates when
// options.bootstrap_resamples is 0.
inline constexpr int kDefaultCalibrationReplicates = 400;
Status FitCalibrated(const std::vector<RunPoint>& runs, const FitOptions& options, int threads,
                     FitSummary* out);
// The starts of the calibrated fit's Approach 3 variants: Hoffmann's grid at every other value on each
// axis (a, b in {0, 10, 20}, e in {-1, 0, 1}, alpha, beta in {0, 1, 2}): 243 starts, which reach the
// full grid's optimum on every variant of the calibration datasets (docs/fit.md).
std::vector<StartPoint> CalibrationGrid();

// Approaches 1 and 2 (fill the summary's envelope/parabola fields).
Status FitEnvelope(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary);
Status FitParabolas(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary);
// Bootstrap of Approach 1 or 2 (options.method): replicate power laws and their intervals.
Status BootstrapAllocation(const std::vector<RunPoint>& runs, const FitOptions& options, int threads,
                           FitSummary* summary);

int ResolveThreads(int requested);

// ParallelFor: the project's one (common/include/isoflop/parallel_for.h), found from here by
// unqualified lookup in the enclosing namespace isoflop.

}  // namespace isoflop::fitter_internal

#endif  // ISOFLOP_FITTER_SRC_INTERNAL_H_
