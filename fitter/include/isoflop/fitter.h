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
#include <string>
#include <utility>
#include <vector>

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
// The law.
// ---------------------------------------------------------------------------------------------
enum class LawForm {
  kChinchilla,      // Hoffmann et al. 2022, eq. (2)
  kDataConstrained  // Muennighoff et al. 2023, eq. (5)-(7)
};

struct ScalingLaw {
  LawForm form = LawForm::kChinchilla;
  double E = 0, A = 0, B = 0, alpha = 0, beta = 0;
  // Data-constrained only: the repetition half-lives R_D* and R_N* (Muennighoff et al. 2023, eq. 5-6).
  double r_d_star = 0, r_n_star = 0;
};

// Predicted loss. For kDataConstrained, unique_tokens = 0 means D unique tokens (no repetition), for
// which the law reduces to Chinchilla's.
double PredictLoss(const ScalingLaw& law, double params, double tokens, double unique_tokens = 0);

// Compute-optimal allocation of the Chinchilla law (Hoffmann et al. 2022, eq. 4 / Appendix D.3).
struct Allocation {
  double a = 0;  // N_opt proportional to C^a, a = beta / (alpha + beta)
  double b = 0;  // D_opt proportional to C^b, b = alpha / (alpha + beta)
  double G = 0;  // (alpha A / (beta B))^(1/(alpha+beta))
};
Allocation ComputeAllocation(const ScalingLaw& law);
double OptimalParams(const ScalingLaw& law, double flops);  // N_opt(C) = G (C/6)^a
double OptimalTokens(const ScalingLaw& law, double flops);  // D_opt(C) = G^-1 (C/6)^b

// ---------------------------------------------------------------------------------------------
// Fitting.
// ---------------------------------------------------------------------------------------------
enum class FitMethod {
  kApproach3,  // parametric law, Huber on log loss (Hoffmann et al. 2022, Section 3.3)
  kEnvelope,   // Approach 1: lowest loss per compute budget -> power laws (Section 3.1)
  kParabola,   // Approach 2: per-budget parabola in log N -> minima -> power laws (Section 3.2)
  kAll         // all three
};
const char* FitMethodName(FitMethod method);  // "approach3", "envelope", "parabola", "all"
StatusOr<FitMethod> ParseFitMethod(const std::string& name);
const char* LawFormName(LawForm form);  // "chinchilla", "data-constrained"
StatusOr<LawForm> ParseLawForm(const std::string& name);

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
  int bootstrap_resamples = 0;  // 0 = no intervals
  uint64_t seed = 0;            // bootstrap resampling seed; identical seed -> identical output
  // Each resample is refitted from the full-data fit's best distinct local optima (best first), not from
  // the whole grid; docs/fit.md shows this reaches the grid's optimum. 1 = the full-data optimum only.
  int bootstrap_warm_starts = 1;
  int threads = 0;  // 0 = hardware concurrency; results never depend on it
  // Budgets (FLOPs) at which bootstrap intervals for N_opt and D_opt are reported.
  std::vector<double> ci_budgets_flops;
  double confidence = 0.95;  // percentile interval level
  // Approaches 1 and 2: runs whose log10(C) lie within this gap of their neighbour share a budget
  // (single-linkage on sorted log10 C); the budget is the median C of its group.
  double budget_gap_decades = 0.1;
  int min_points_per_parabola = 3;  // budgets with fewer runs are skipped by Approach 2
  // Ceres L-BFGS per start. Ceres' defaults stop at 50 iterations; these do not stop early.
  int max_iterations = 10000;
  double function_tolerance = 1e-15;
  double gradient_tolerance = 1e-14;
  double parameter_tolerance = 1e-14;
  // A start "reached the optimum" if its objective is within this relative gap of the best.
  double optimum_relative_tolerance = 1e-6;

  bool IsValid(std::string* error) const;
};

// 95% (by default) percentile interval from the bootstrap.
struct Interval {
  double lo = 0, hi = 0;
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

// y = coefficient * C^exponent, fitted by least squares in log-log space.
struct PowerLaw {
  double coefficient = 0, exponent = 0;
  double r_squared = 0;
  int n_points = 0;
};

struct FitSummary {
  FitMethod method = FitMethod::kApproach3;
  int n_points = 0;   // points used (after drop_highest_loss)
  int n_dropped = 0;  // points dropped by drop_highest_loss

  // Approach 3 (valid when has_law).
  bool has_law = false;
  // Method kAll only: why Approach 3 gave no law (e.g. a degenerate fit, docs/fit.md); Approaches
  // 1-2 are still reported. Empty otherwise. (Method kApproach3 returns that reason as its Status.)
  std::string approach3_error;
  ScalingLaw law;
  double objective = 0;       // the plain sum of Huber terms at the optimum (not a mean)
  int starts = 0;             // starts run
  int starts_at_optimum = 0;  // starts whose objective is within optimum_relative_tolerance of the best
  int best_start_index = -1;  // lowest objective; ties broken by the lower index
  int iterations_best = 0;    // L-BFGS iterations of the best start
  Allocation allocation;

  // Bootstrap (empty when bootstrap_resamples = 0). Keys: E, A, B, alpha, beta, a, b, G,
  // (r_d_star, r_n_star), and "N_opt@<C>", "D_opt@<C>" for each ci budget, in a fixed order.
  int bootstrap_resamples = 0;
  std::vector<std::pair<std::string, Interval>> ci;
  // Each fitted resample's law, in resample order: what the report draws the frontier's band from
  // and the planner reads as replicates (fit.json "bootstrap"; only laws with every parameter
  // positive and finite are written there).
  std::vector<ScalingLaw> bootstrap_laws;

  // Approach 2.
  std::vector<IsoflopParabola> parabolas;
  PowerLaw parabola_params;  // N_opt = k C^a
  PowerLaw parabola_tokens;  // D_opt = k C^b
  // Approach 1.
  std::vector<EnvelopePoint> envelope;
  PowerLaw envelope_params;
  PowerLaw envelope_tokens;

  double wall_time_s = 0;

  std::string BriefReport() const;  // one line per result
  std::string FullReport() const;   // tables: law, allocation, intervals, parabolas, envelope
  // The stable fit.json schema (docs/fit.md). Doubles are printed with 17 significant digits.
  std::string ToJson() const;
  static StatusOr<FitSummary> FromJson(const std::string& json);
};

// Fits runs with options. kInvalidArgument for bad options or too few points (fewer points than
// parameters); the summary is filled only on success.
Status Fit(const std::vector<RunPoint>& runs, const FitOptions& options, FitSummary* summary);

// The Approach 3 objective at a point, exposed for tests and the benchmark:
// sum_i Huber_delta(LSE(...) - log L_i), Huber_delta(r) = r^2/2 if |r| <= delta else delta(|r| - delta/2).
double HuberObjective(const std::vector<RunPoint>& runs, const ScalingLaw& law, double huber_delta);

}  // namespace isoflop

#endif  // ISOFLOP_FITTER_H_
