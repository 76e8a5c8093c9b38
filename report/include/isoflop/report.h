// Scaling-curve reports: one self-contained HTML page (inline SVG + CSS, no scripts, no
// network) or a terminal summary, from the runs of an IsoFLOP sweep, an optional fit and an
// optional plan.
//
// The inputs are plain structs so that the report depends on nothing but the standard
// library: the orchestrator's daemon fills a ReportInput from its database and serves
// RenderHtml() at `/`; the CLI fills one from a runs CSV, fit.json and plan.json
// (LoadRunsCsv, LoadFitJson, LoadPlanJson below). Formulas and reference lines are cited in
// docs/report.md.
//
// Usage:
//   isoflop::report::ReportInput input;
//   auto runs = isoflop::report::LoadRunsCsv("runs.csv");
//   if (!runs.ok()) { ... runs.status() ... }
//   input.runs = *runs;
//   isoflop::report::ReportOptions options;             // defaults work
//   isoflop::report::ReportSummary summary;
//   auto html = isoflop::report::RenderHtml(input, options, &summary);
//   if (!html.ok()) { ... html.status() ... }
#ifndef ISOFLOP_REPORT_H_
#define ISOFLOP_REPORT_H_

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::report {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

// Where a run is in its life. Only kDone runs enter fits; the others are drawn differently.
enum class RunState { kPending, kRunning, kDone, kFailed, kDiverged };
const char* RunStateName(RunState state);
// Parses "pending|queued|submitted", "running", "done|completed|finished", "failed",
// "diverged" (case-insensitive). Unknown text is an error.
StatusOr<RunState> ParseRunState(const std::string& text);

// One training run of the sweep. Unknown numbers are NaN (kUnknown).
struct RunRecord {
  std::string id;
  double params = kUnknown;  // N, parameters
  double tokens = kUnknown;  // D, training tokens
  double flops = kUnknown;   // C, training FLOPs; when unknown, C = 6·N·D (Kaplan et al. 2020, Eq. 2.1)
  double loss = kUnknown;    // final eval loss, nats/token; unknown while running
  RunState state = RunState::kDone;
  int attempts = 1;
  double tokens_per_s = kUnknown;
  double mfu = kUnknown;  // model FLOPs utilisation, fraction 0..1
  double energy_kwh = kUnknown;
};

// A two-sided interval (95% bootstrap percentile interval unless stated otherwise).
struct Interval {
  double lo = kUnknown;
  double hi = kUnknown;
};

// L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, Eq. 2).
struct Law {
  double E = kUnknown;
  double A = kUnknown;
  double B = kUnknown;
  double alpha = kUnknown;
  double beta = kUnknown;

  bool IsSet() const;
  double Loss(double params, double tokens) const;
  // Compute-optimal allocation under C = 6ND (Hoffmann et al. 2022, Eq. 4):
  // G = (alpha·A / (beta·B))^(1/(alpha+beta)), N_opt = G·(C/6)^(beta/(alpha+beta)),
  // D_opt = (C/6)^(alpha/(alpha+beta)) / G.
  double NOpt(double flops) const;
  double DOpt(double flops) const;
};

// Approach 2 of Hoffmann et al. 2022: per budget, loss ≈ c0 + c1·x + c2·x² with x = ln N.
struct BudgetParabola {
  double flops = kUnknown;
  double c0 = kUnknown, c1 = kUnknown, c2 = kUnknown;
  double n_opt = kUnknown;     // exp(−c1 / (2·c2))
  double loss_min = kUnknown;  // parabola at n_opt
  int n_points = 0;
};

// What the report needs of a fit (the fitter's fit.json; docs/fit.md).
struct FitInfo {
  std::string method;  // e.g. "approach3"
  Law law;
  double objective = kUnknown;
  int n_points = 0;
  // "E","A","B","alpha","beta","a","b", and "N_opt@<C>", "D_opt@<C>" at the budgets the fit
  // was asked for (the fitter's fit.json); the latter are drawn as intervals on N_opt/D_opt.
  std::map<std::string, Interval> ci;
  std::vector<Law> bootstrap_laws;           // refits on resamples; draws the frontier bands when present
  std::vector<BudgetParabola> parabolas;     // from the fitter when given; else computed from the runs
  std::vector<std::string> dropped_run_ids;  // runs the fit left out (e.g. --drop-highest-loss)
};

// The plan for the target budget (the planner's plan.json; docs/planner.md). Kept as
// labelled rows so the report prints whatever the planner chose to say, units included.
struct PlanInfo {
  double budget_flops = kUnknown;
  double params = kUnknown;
  double tokens = kUnknown;
  struct Row {
    std::string section;  // "model", "parallelism", "predictions", ...
    std::string name;     // key as in plan.json, units in the name (e.g. "wall_clock_h")
    std::string value;
  };
  std::vector<Row> rows;
};

struct ReportInput {
  std::vector<RunRecord> runs;
  std::optional<FitInfo> fit;
  std::optional<PlanInfo> plan;
  std::string source;  // where the runs came from, printed in the header (e.g. "runs.csv")
};

struct ReportOptions {
  std::string title = "isoflop scaling report";
  // Budgets: runs whose C lies within this factor of each other share one IsoFLOP curve.
  double budget_group_factor = 1.25;
  // A done run is flagged an outlier when |log residual| > outlier_sigmas × robust sigma
  // (1.4826 × median absolute residual), and never below outlier_min_abs_residual.
  double outlier_sigmas = 3.0;
  double outlier_min_abs_residual = 0.02;
  // Plot size in CSS pixels (each SVG scales to its container).
  int plot_width_px = 600;
  int plot_height_px = 400;
  // Compute range of the frontier plots: from the smallest run budget to this budget (or
  // the plan's budget when given, whichever is larger).
  double frontier_max_flops = 1e24;
  // Rows of the runs table before "... N more" (the daemon may track thousands of runs).
  int max_table_rows = 500;

  bool IsValid(std::string* error) const;
};

// What the render saw and did; BriefReport()/FullReport() in Ceres' manner.
struct ReportSummary {
  int n_runs = 0;
  int n_done = 0, n_running = 0, n_pending = 0, n_failed = 0, n_diverged = 0;
  int n_budgets = 0;
  int n_parabolas = 0;
  int n_outliers = 0;
  int n_plots = 0;
  bool has_fit = false, has_plan = false, has_band = false;
  std::vector<std::string> notes;  // what was left out and why (e.g. "no fit: residuals not drawn")

  std::string BriefReport() const;
  std::string FullReport() const;
};

// The self-contained HTML page. Runs with non-finite or non-positive N/D are an error
// naming the run.
StatusOr<std::string> RenderHtml(const ReportInput& input, const ReportOptions& options,
                                 ReportSummary* summary = nullptr);

// The same findings as plain text for a terminal.
StatusOr<std::string> RenderText(const ReportInput& input, const ReportOptions& options,
                                 ReportSummary* summary = nullptr);

// ---- Loaders used by the CLI (errors name file, line and column) ----

// CSV with a header, columns by name, case-insensitive: `params`, `tokens`, `loss` required
// (loss may be empty for runs not done); optional `run_id`/`id`, `flops`, `state`,
// `attempts`, `tokens_per_s`, `mfu`, `energy_kwh`, `run_dir` (a run directory whose
// metrics.jsonl/summary.json fill the three before it when empty; see FillFromRunDir); other
// columns ignored.
// `columns`: canonical name -> header name (as `isoflop fit --columns params=N,loss=Eval Loss`);
// `where`: keep only rows whose column equals the value (trimmed; names case-insensitive).
struct RunsCsvOptions {
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<std::pair<std::string, std::string>> where;
};
StatusOr<std::vector<RunRecord>> LoadRunsCsv(const std::string& path, const RunsCsvOptions& options = {});
// fit.json as written by `isoflop fit --out` (docs/fit.md); unknown keys ignored.
StatusOr<FitInfo> LoadFitJson(const std::string& path);
// plan.json as written by `isoflop plan --out` (docs/planner.md); unknown keys kept as rows.
StatusOr<PlanInfo> LoadPlanJson(const std::string& path);
// The same from text already in memory (the daemon's stored fit and plan); `source` names it
// in errors.
StatusOr<FitInfo> ParseFitJson(const std::string& text, const std::string& source);
StatusOr<PlanInfo> ParsePlanJson(const std::string& text, const std::string& source);

// Fills a run's throughput, MFU and energy from its run directory (docs/interfaces.md): the
// last complete line of RUN_DIR/metrics.jsonl (`tokens_per_s`, `mfu`, `energy_kwh`) and
// RUN_DIR/summary.json (`energy_kwh`; tokens / wall_time_s when metrics give no throughput).
// Missing files leave the fields unknown and are not an error (the run may not have started);
// a summary.json that does not parse is kCorruption naming the file.
Status FillFromRunDir(const std::string& run_dir, RunRecord* run);

// ---- Building blocks, exposed for tests ----

// Groups budgets: sorted distinct C values merged while within `factor` of the group's first.
std::vector<double> GroupBudgets(const std::vector<RunRecord>& runs, double factor);
// Least-squares parabola of loss in ln N over the done runs of one budget; needs ≥ 3 distinct
// N and an upward curvature (c2 > 0), else std::nullopt.
std::optional<BudgetParabola> FitBudgetParabola(const std::vector<RunRecord>& runs, double flops);
// Escapes &, <, >, " and ' for HTML/XML text and attributes.
std::string XmlEscape(const std::string& text);

}  // namespace isoflop::report

#endif  // ISOFLOP_REPORT_H_
