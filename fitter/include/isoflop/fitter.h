// isoflop fitter: Chinchilla-style scaling laws fitted with Ceres Solver.
//
// One call does the job:
//
//   isoflop::CsvOptions csv;                       // defaults: columns params, tokens, loss
//   auto runs = isoflop::LoadRunsCsv("runs.csv", csv);
//   isoflop::FitOptions options;                   // defaults: Hoffmann's Approach 3, delta = 1e-3
//   isoflop::FitSummary summary;
//   isoflop::Status s = isoflop::Fit(*runs, options, &summary);
//   std::cout << summary.BriefReport();
//
// Formulas (docs/fit.md cites each one):
//   Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. (2) and Appendix D.2:
//     L(N, D) = E + A / N^alpha + B / D^beta, fitted by minimising
//     sum_i Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ), A = e^a, B = e^b, E = e^e.
//   Hoffmann et al. 2022, eq. (4): N_opt(C) = G (C/6)^a, D_opt(C) = G^-1 (C/6)^b,
//     G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta).
//   Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", eq. (5)-(7): the same law with
//     effective data D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)) and effective parameters N' likewise.
//
// No exception escapes this library: errors come back as isoflop::Status.
#ifndef ISOFLOP_FITTER_H_
#define ISOFLOP_FITTER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "isoflop/fit_record.h"
#include "isoflop/isoflop_curves.h"
#include "isoflop/scaling_law.h"
#include "isoflop/status.h"

namespace isoflop {

// One finished training run: the unit every fit consumes.
struct RunPoint {
  std::string run_id;        // optional; "line N" when the CSV has no run_id column
  double params = 0;         // N, model parameters
  double tokens = 0;         // D, training tokens seen
  double loss = 0;           // final evaluation loss (nats/token)
  double flops = 0;          // training compute C in FLOPs; 0 = use 6 N D
  double unique_tokens = 0;  // U_D for the data-constrained law; 0 = not known (no repetition)

  // C if given, else 6 N D (Kaplan et al. 2020, eq. 2.1; Hoffmann et al. 2022, Section 3).
  double ComputeFlops() const { return flops > 0 ? flops : 6.0 * params * tokens; }
};

// ---------------------------------------------------------------------------------------------
// Reading runs from CSV.
// ---------------------------------------------------------------------------------------------
struct CsvOptions {
  // Column mapping: canonical name -> header name in the file (case-insensitive). Canonical names:
  // params, tokens, loss, flops, unique_tokens, run_id. Unmapped canonical names are looked up by
  // their own name. Example from "--columns params=N,tokens=D,loss=C4 Eval Loss,flops=C".
  std::vector<std::pair<std::string, std::string>> columns;
  // Row filters: keep a row only if every (column, value) matches (string equality after trimming;
  // column names case-insensitive). Example from "--where dataset=owt2".
  std::vector<std::pair<std::string, std::string>> where;
  // At most this many runs (rows kept after `where`); one more is kInvalidArgument naming the file and
  // its line, before the rest of the file is read. 0 = no limit. A fit's time and memory grow linearly
  // with the runs (docs/fit.md, "Input": ~0.5 ms and ~300 bytes per run with the default method), and
  // published sweeps have tens to a few thousand (issue 15, finding 12: a 1.9M-row file).
  int64_t max_runs = kDefaultMaxRuns;
  static constexpr int64_t kDefaultMaxRuns = 100000;
  // Called every 100,000 records read and once at the end: records read, bytes read, file size.
  std::function<void(int64_t records, int64_t bytes_read, int64_t bytes_total)> progress;

  // Parses "params=N,tokens=D,loss=C4 Eval Loss" into `columns` (appends).
  Status ParseColumns(const std::string& spec);
  // Parses one "column=value" into `where` (appends).
  Status ParseWhere(const std::string& spec);
  bool IsValid(std::string* error) const;
};

// Reads runs. Required: loss, and two of params / tokens / flops (when params is missing,
// params = C / (6 D); when tokens is missing, tokens = C / (6 N)). A missing column, or a value that is
// non-numeric, non-finite or non-positive, is kInvalidArgument naming "file:line:column".
StatusOr<std::vector<RunPoint>> LoadRunsCsv(const std::string& path, const CsvOptions& options);

// ---------------------------------------------------------------------------------------------
// The law (LawForm, ScalingLaw, PredictLoss, the allocation of eq. 4), fit.json (FitRecord) and the
// IsoFLOP curves live in the scaling-law core, shared with the planner, report and orchestrator:
// isoflop/scaling_law.h, isoflop/fit_record.h, isoflop/isoflop_curves.h.
// ---------------------------------------------------------------------------------------------
// Fitting.
// ---------------------------------------------------------------------------------------------
// One start of the multi-start optimisation, in the optimiser's coordinates (Hoffmann Appendix D.2):
// A = exp(a), B = exp(b), E = exp(e). For the data-constrained law, log R_D* and log R_N* too.
struct StartPoint {
  double a = 0, b = 0, e = 0, alpha = 0, beta = 0;
  double log_r_d_star = 0, log_r_n_star = 0;
};
// Hoffmann's grid: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}:
// 5 * 5 * 5 * 6 * 6 = 4,500 starts, in a fixed order (start index = tie-break).
std::vector<StartPoint> HoffmannGrid();
// Reads starts from a CSV with header a,b,e,alpha,beta[,log_r_d_star,log_r_n_star].
StatusOr<std::vector<StartPoint>> LoadStartGrid(const std::string& path);

// A Gaussian prior on the law for a maximum a posteriori Approach 3 fit (isoflop fit --prior;
// docs/fit.md, "Priors and fixed parameters"): ln A, ln B, ln E, ln alpha, ln beta each ~ N(ln of the
// published law's value, width^2), independently.
struct LawPrior {
  std::string name;           // "" = none; "hoffmann" (Hoffmann et al. 2022), "epoch" (Besiroglu et al. 2024)
  double width = 0.5;         // standard deviation of each ln(parameter)
  double residual_scale = 0;  // s, the scale of one run's log-loss residual; 0 = estimated from the runs
};
// The published law a prior named `name` is centred on: hoffmann or epoch.
StatusOr<ScalingLaw> PriorCentre(const std::string& name);
// "hoffmann", "epoch", "hoffmann:0.3" (width 0.3).
StatusOr<LawPrior> ParseLawPrior(const std::string& spec);
// "E=1.69" or "E=1.69,alpha=0.34": appended to `fixed` (names E, A, B, alpha, beta, r_d_star, r_n_star).
Status ParseFixedParameters(const std::string& spec, std::vector<std::pair<std::string, double>>* fixed);

struct FitOptions {
  FitMethod method = FitMethod::kApproach3;
  LawForm law = LawForm::kChinchilla;
  double huber_delta = 1e-3;  // Hoffmann et al. 2022, Appendix D.2
  int drop_highest_loss = 0;  // drop the K highest-loss runs first (Epoch AI's replication drops 5)
  // Starts for Approach 3; empty = HoffmannGrid() (for data-constrained: the grid crossed with a few
  // R_D*, R_N* values, see docs/fit.md).
  std::vector<StartPoint> starts;
  // 0 = run L-BFGS from every start. K > 0: evaluate the objective at every start and run L-BFGS only
  // from the K lowest (ties: lower index). The data-constrained default grid (18,000 starts, autodiff
  // gradient) uses K = 64 unless set; see docs/fit.md.
  int screen_keep = 0;
  // 0 = no intervals. Approach 3 refits the law on each resample of the runs; Approaches 1 and 2 resample
  // the runs within each budget and refit the power laws (their replicates are power-law laws). Method
  // calibrated always has intervals: this is its total number of replicates, 0 = 400.
  int bootstrap_resamples = 0;
  uint64_t seed = 0;  // bootstrap resampling seed; identical seed -> identical output
  // Each resample is refitted from the full-data fit's best distinct local optima (best first), not from
  // the whole grid; docs/fit.md shows this reaches the grid's optimum. 1 = the full-data optimum only.
  int bootstrap_warm_starts = 1;
  int threads = 0;  // 0 = hardware concurrency; results never depend on it
  // Approach 3: law parameters held at a value instead of fitted (--fix E=1.69), by name (E, A, B, alpha,
  // beta; r_d_star, r_n_star for the data-constrained law).
  std::vector<std::pair<std::string, double>> fixed;
  // Approach 3: maximum a posteriori fit with a Gaussian prior in log space (--prior); no prior by default.
  LawPrior prior;
  // Budgets (FLOPs) at which bootstrap intervals for N_opt and D_opt are reported.
  std::vector<double> ci_budgets_flops;
  double confidence = 0.95;  // percentile interval level
  // Approaches 1 and 2: runs whose log10(C) lie within this gap of their neighbour share a budget
  // (single-linkage on sorted log10 C); the budget is the median C of its group.
  double budget_gap_decades = 0.1;
  int min_points_per_parabola = 3;  // budgets with fewer runs are skipped by Approach 2
  // Method calibrated: its "near-optimal" runs are those within this factor in N of their budget's
  // lowest-loss run (docs/fit.md, "Calibrated extrapolation").
  double calibration_window = 3.0;
  // Ceres L-BFGS per start. Ceres' defaults stop at 50 iterations; these do not stop early.
  int max_iterations = 10000;
  double function_tolerance = 1e-15;
  double gradient_tolerance = 1e-14;
  double parameter_tolerance = 1e-14;
  // A start "reached the optimum" if its objective is within this relative gap of the best.
  double optimum_relative_tolerance = 1e-6;

  // Provenance written to fit.json: what N means in these runs (kUnknown: assumed kTotal, Hoffmann
  // et al. 2022's convention, and marked as assumed) and the vocabulary they trained with (0 = unknown).
  ParamsConvention params_convention = ParamsConvention::kUnknown;
  int vocab = 0;

  // Progress of a long fit (isoflop fit prints it on stderr): stage (e.g. "approach 3 starts",
  // "bootstrap"), items done and total. Called on the calling thread only; never changes the result.
  std::function<void(const std::string& stage, int64_t done, int64_t total)> progress;

  bool IsValid(std::string* error) const;
};

// The fit: the fit.json record (isoflop/fit_record.h) plus how long it took and its reports.
struct FitSummary : FitRecord {
  double wall_time_s = 0;

  std::string BriefReport() const;  // one line per result
  std::string FullReport() const;   // tables: law, allocation, intervals, parabolas, envelope
  // fit.json (schema version 2, docs/fit.md): FitRecordToJson.
  std::string ToJson() const;
  // ParseFitJson; kInvalidArgument naming the key for a malformed file.
  static StatusOr<FitSummary> FromJson(const std::string& json, const std::string& source = "fit.json");
};

// Fits runs with options. kInvalidArgument for bad options or too few points (fewer points than
// parameters); the summary is filled only on success.
Status Fit(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary);

// The Approach 3 objective at a point, exposed for tests and the benchmark:
// sum_i Huber_delta(LSE(...) - log L_i), Huber_delta(r) = r^2/2 if |r| <= delta else delta(|r| - delta/2).
double HuberObjective(const std::vector<RunPoint>& runs, const ScalingLaw& law, double huber_delta);

}  // namespace isoflop

#endif  // ISOFLOP_FITTER_H_
