// fit.json: the one record of a fitted (or published) scaling law, with its provenance — which
// method, which law form, which parameter-count convention, which range of runs — and its
// replicates. The fitter writes it; the planner, the report, `isoflop predict` and the daemon read
// it, all through ParseFitJson / LoadLaw below. Schema: docs/fit.md ("fit.json"); version 2 adds
// "provenance"; version-1 files are still read (their provenance is "unknown").
#ifndef ISOFLOP_FIT_RECORD_H_
#define ISOFLOP_FIT_RECORD_H_

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "isoflop/scaling_law.h"
#include "isoflop/status.h"

namespace isoflop {

inline constexpr int kFitSchemaVersion = 2;

enum class FitMethod {
  kApproach3,  // parametric law, Huber on log loss (Hoffmann et al. 2022, Section 3.3)
  kEnvelope,   // Approach 1: lowest loss per compute budget -> power laws (Section 3.1)
  kParabola,   // Approach 2: per-budget parabola in log N -> minima -> power laws (Section 3.2)
  kAll,        // all three (the law is Approach 3's)
  kPublished,  // a published law (hoffmann, epoch): nothing fitted here
  kCalibrated  // model average of Approaches 2 and 3 over choices of runs (docs/fit.md, "Calibrated
               // extrapolation"): a power-law allocation with a loss law, mixed-form replicates
};
// "approach3", "envelope", "parabola", "all", "published", "calibrated"
const char* FitMethodName(FitMethod method);
StatusOr<FitMethod> ParseFitMethod(const std::string& name);

// Which parameter count N means (Kaplan et al. 2020 count non-embedding parameters; Hoffmann et al.
// 2022 count all of them). The planner matches shapes in the law's own convention.
enum class ParamsConvention { kUnknown, kTotal, kNonEmbedding };
const char* ParamsConventionName(ParamsConvention c);  // "unknown", "total", "non_embedding"
StatusOr<ParamsConvention> ParseParamsConvention(const std::string& name);

// A two-sided interval: [2.5th, 97.5th] percentile unless stated otherwise.
struct Interval {
  double lo = 0, hi = 0;
};

// [min, max] of a quantity over the fitted runs; NaN when unknown (version-1 files).
struct Range {
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  bool known() const { return min == min && max == max; }
  void Add(double v);
};

// Approach 2: one isoFLOP parabola, loss = c0 + c1 x + c2 x^2 with x = ln(N).
struct IsoflopParabola {
  double budget_flops = 0;
  double c0 = 0, c1 = 0, c2 = 0;
  double params_opt = 0;   // exp(-c1 / (2 c2))
  double tokens_opt = 0;   // C / (6 N_opt)
  double loss_at_min = 0;  // c0 - c1^2 / (4 c2)
  int n_points = 0;
};

// Approach 1: the lowest-loss run at one budget.
struct EnvelopePoint {
  double budget_flops = 0, params = 0, tokens = 0, loss = 0;
  std::string run_id;
};

// Where a law came from: what a number planned with it rests on.
struct FitProvenance {
  // "hoffmann", "epoch", or the fit.json path it was read from (filled by the reader, not stored).
  std::string source;
  std::string citation;  // published laws: the paper and equation
  ParamsConvention params_convention = ParamsConvention::kUnknown;
  bool params_convention_assumed = false;  // true: the fitter was not told and assumed kTotal
  int vocab = 0;                           // vocabulary the runs were trained with; 0 = unknown
  // The runs the law was fitted on (after any dropping): C = FLOPs, N, D, loss.
  Range flops, params, tokens, loss;
  std::vector<double> budgets_flops;  // the compute budgets (grouped, Approaches 1/2's grouping)
  // Intervals: how the replicates were made ("bootstrap over runs", "calibrated ensemble ...").
  std::string interval_method;
  // Approach 3's constraints (isoflop fit --fix, --prior; docs/fit.md "Priors and fixed parameters"):
  // parameters held at a value, and the Gaussian prior's centre ("hoffmann", "epoch"; "" = none), its
  // width in ln units and the residual scale s that weighed it against the runs.
  std::vector<std::pair<std::string, double>> fixed;
  std::string prior;
  double prior_width = 0;
  double prior_residual_scale = 0;
};

// One member of a calibrated fit's model average (method kCalibrated; docs/fit.md, "Calibrated
// extrapolation"): an approach fitted on one choice of runs, with its share of the replicates.
struct CalibrationVariant {
  std::string approach;  // "approach3" or "approach2"
  std::string runs;      // "all", "near-optimal", "upper", "upper near-optimal"
  int n_runs = 0;        // runs in that choice
  int n_budgets = 0;     // approach2: IsoFLOP minima in its regression
  double weight = 0;     // share of the model average
  int replicates = 0;    // its replicate laws in bootstrap_laws
  PowerLaw params_opt;   // its point allocation, N_opt = k C^a
  bool has_law = false;  // approach3: the law it fitted and that law's Huber objective
  ScalingLaw law;
  double objective = 0;
};

// Everything fit.json holds. FitSummary (the fitter's result) is a FitRecord plus timing and
// reports.
struct FitRecord {
  FitMethod method = FitMethod::kApproach3;
  int n_points = 0;   // points used (after drop_highest_loss)
  int n_dropped = 0;  // points dropped by drop_highest_loss
  FitProvenance provenance;

  // The law the plan uses: Approach 3's (Chinchilla or data-constrained) for approach3/all, the
  // power-law allocation of Approach 2 (parabola) or 1 (envelope), or a published law.
  bool has_law = false;
  ScalingLaw law;
  // Method kAll only: why Approach 3 gave no law (e.g. a degenerate fit, docs/fit.md); Approaches
  // 1-2 are still reported. Empty otherwise.
  std::string approach3_error;
  // --method all when Approach 2 found no power law (e.g. runs not on IsoFLOP budgets, or fewer than
  // two budgets with an interior minimum) while Approach 3 gave a law: why (fit.json
  // "approach2_error"; no "parabolas").
  std::string approach2_error;
  double objective = 0;       // Approach 3: the plain sum of Huber terms at the optimum
  int starts = 0;             // starts run
  int starts_at_optimum = 0;  // starts whose objective is within the optimum tolerance of the best
  int best_start_index = -1;  // lowest objective; ties broken by the lower index
  int iterations_best = 0;    // L-BFGS iterations of the best start
  Allocation allocation;      // of the Approach 3 loss law

  // Intervals. Keys: E, A, B, alpha, beta, a, b, G, (r_d_star, r_n_star), and "N_opt@<C>",
  // "D_opt@<C>" for each requested budget, in a fixed order.
  int bootstrap_resamples = 0;
  std::vector<std::pair<std::string, Interval>> ci;
  // The replicate laws behind the intervals (fit.json "bootstrap"), in resample order; forms may
  // differ between replicates (a calibrated ensemble mixes them). Only valid laws are written.
  std::vector<ScalingLaw> bootstrap_laws;

  // Method kCalibrated: the variants averaged (the law's allocation is their weighted mean of ln N_opt).
  std::vector<CalibrationVariant> calibration;

  // Approach 2.
  std::vector<IsoflopParabola> parabolas;
  PowerLaw parabola_params;  // N_opt = k C^a
  PowerLaw parabola_tokens;  // D_opt = k C^b
  // Approach 1.
  std::vector<EnvelopePoint> envelope;
  PowerLaw envelope_params;
  PowerLaw envelope_tokens;
};

// fit.json text (schema version 2, docs/fit.md). Doubles are printed with 17 significant digits.
std::string FitRecordToJson(const FitRecord& record);
// Parses fit.json (versions 1 and 2). Errors are kInvalidArgument naming `source` and the key
// ("fit.json: key 'law.alpha': must be a number"); an unknown schema version is refused.
StatusOr<FitRecord> ParseFitJson(const std::string& text, const std::string& source);
// Reads a fit.json file (kNotFound / kInvalidArgument naming the path).
StatusOr<FitRecord> LoadFitJson(const std::string& path);
// "hoffmann", "epoch" (published laws with their provenance) or a fit.json path. A fit.json without
// a law (e.g. a degenerate Approach 3) is kFailedPrecondition saying why.
StatusOr<FitRecord> LoadLaw(const std::string& name_or_path);
// The published laws as records (method kPublished, provenance from the paper's data).
FitRecord HoffmannRecord();
FitRecord EpochRecord();

// Fills provenance.flops/params/tokens/loss from runs given as (C, N, D, loss) tuples.
struct RunExtent {
  double flops = 0, params = 0, tokens = 0, loss = 0;
};
void SetFittedRange(const std::vector<RunExtent>& runs, FitProvenance* provenance);

}  // namespace isoflop

#endif  // ISOFLOP_FIT_RECORD_H_
