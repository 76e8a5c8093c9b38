// Scaling-curve reports: one self-contained HTML page (inline SVG + CSS, no scripts, no
// network) or a terminal summary, from the runs of an IsoFLOP sweep, an optional fit and an
// optional plan.
//
// The report draws the law through the scaling-law core (isoflop/scaling_law.h,
// isoflop/prediction.h, isoflop/isoflop_curves.h): the fit is the core's FitRecord, read by the
// core's one fit.json reader (isoflop::LoadFitJson / ParseFitJson), and every N_opt, D_opt, loss
// and interval the report shows is the core's (PredictAtBudget, PredictAtPoint), so it is the
// number `isoflop predict` and `isoflop plan` give for the same fit.json. The orchestrator's daemon
// fills a ReportInput from its database and serves RenderHtml() at `/`; the CLI fills one from a
// runs CSV, fit.json and plan.json. Formulas and reference lines are cited in docs/report.md.
//
// Usage:
//   isoflop::report::ReportInput input;
//   auto runs = isoflop::report::LoadRunsCsv("runs.csv");
//   if (!runs.ok()) { ... runs.status() ... }
//   input.runs = *runs;
//   auto fit = isoflop::LoadFitJson("fit.json");         // optional
//   if (fit.ok()) input.fit = *fit;
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

#include "isoflop/fit_record.h"
#include "isoflop/isoflop_curves.h"
#include "isoflop/status.h"

namespace isoflop::report {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

// Where a run is in its life. Only kDone runs enter fits; the others are drawn differently.
enum class RunState { kPending, kRunning, kDone, kFailed, kDiverged };
const char* RunStateName(RunState state);
// Parses "pending|queued|submitted", "running", "done|completed|finished", "failed",
// "diverged" (case-insensitive). Unknown text is an error.
StatusOr<RunState> ParseRunState(const std::string& text);

// What a run is for. Sweep runs are what the law is fitted on (IsoFLOP curves, residuals);
// validation runs check the law's prediction: they are not part of the fit, and the report sets
// their observed loss beside the law's predicted loss and its 95% interval at their (N, D).
enum class RunRole { kSweep, kValidation };
const char* RunRoleName(RunRole role);  // "sweep", "validation"
// "sweep" or "validation" (case-insensitive; empty is "sweep"). Unknown text is an error.
StatusOr<RunRole> ParseRunRole(const std::string& text);

// One training run. Unknown numbers are NaN (kUnknown).
struct RunRecord {
  std::string id;
  double params = kUnknown;  // N, parameters (counted in the fit's convention)
  double tokens = kUnknown;  // D, training tokens
  double flops = kUnknown;   // C, training FLOPs; when unknown, C = 6·N·D (Kaplan et al. 2020, Eq. 2.1)
  double loss = kUnknown;    // final eval loss, nats/token; unknown while running
  // Unique tokens U_D (data-constrained law, Muennighoff et al. 2023); unknown = no repetition.
  double unique_tokens = kUnknown;
  RunState state = RunState::kDone;
  RunRole role = RunRole::kSweep;
  int attempts = 1;
  double tokens_per_s = kUnknown;
  double mfu = kUnknown;  // model FLOPs utilisation, fraction 0..1
  double energy_kwh = kUnknown;
};

// The plan for the target budget (the planner's plan.json; docs/planner.md). The headline numbers
// are fields; everything else is kept as labelled rows so the report prints whatever the planner
// chose to say, units included.
struct PlanInfo {
  double budget_flops = kUnknown;
  double params = kUnknown;  // N of the chosen shape (shape_params), else the law's N_opt
  double tokens = kUnknown;  // training tokens (train_tokens), else the law's D_opt
  // The law's compute-optimal point at the budget and its 95% intervals ([2.5th, 97.5th]
  // percentiles over the fit's replicate laws; plan.json keys params_opt, params_opt_interval,
  // tokens_opt, tokens_opt_interval, loss_pred, loss_interval). No interval: the law has none.
  double params_opt = kUnknown, tokens_opt = kUnknown, loss = kUnknown;
  std::optional<Interval> params_opt_interval, tokens_opt_interval, loss_interval;
  std::string interval_source;  // intervals.source
  // The plan knows its evidence (docs/planner.md): planned outside it with --allow-extrapolation.
  bool extrapolated = false;
  std::string warning;  // plan.json "warning" (present when extrapolated)
  bool evidence_supported = true;
  std::string evidence_reason;      // evidence.reason
  double extrapolation = kUnknown;  // budget over the largest fitted budget (provenance.extrapolation)
  std::string law_source;           // law.source ("hoffmann", "epoch", a fit.json path)
  std::string provenance;           // provenance.description
  // The planner's Pareto front of wall-clock against cost (plan.json key "pareto", docs/planner.md
  // §6), fewest GPUs first; empty for older plans.
  struct ParetoPoint {
    int gpus = 0;
    double wall_clock_s = kUnknown, cost_usd = kUnknown, energy_kwh = kUnknown;
    std::string layout;
    bool chosen = false;
  };
  std::vector<ParetoPoint> pareto;
  std::string objective;  // "cost", "time" or "energy"
  // Training beside serving (plan.json keys "gpu_hours", "cost_usd", "energy_kwh" and "serving",
  // isoflop plan --serve-tokens/--serve-qps; docs/planner.md §8): one option per weight precision.
  double train_gpu_hours = kUnknown, train_cost_usd = kUnknown, train_energy_kwh = kUnknown;
  struct ServingOption {
    std::string precision;  // "bf16", "int8", "int4"
    bool fits = false;
    int gpus_per_replica = 0;
    double memory_per_gpu_bytes = kUnknown, memory_utilization = kUnknown, bandwidth_utilization = kUnknown,
           compute_utilization = kUnknown, time_per_output_token_s = kUnknown, decode_tokens_per_s = kUnknown,
           prefill_tokens_per_s = kUnknown, usd_per_million_tokens = kUnknown, kwh_per_million_tokens = kUnknown,
           lifetime_usd = kUnknown, lifetime_kwh = kUnknown, replicas = kUnknown;
  };
  std::vector<ServingOption> serving;
  double serving_lifetime_tokens = kUnknown, serving_requests_per_s = kUnknown;
  // Dense beside a mixture of experts (plan.json "moe", isoflop plan --moe E:K; docs/planner.md §9):
  // one column each, the same quantities.
  struct MoeColumn {
    std::string label;  // "dense (this plan)", "MoE 64 experts, top-8"
    double params_total = kUnknown, params_active = kUnknown, train_tokens = kUnknown, loss = kUnknown;
    std::string loss_law, layout;
    double gpus_allocated = kUnknown, wall_clock_s = kUnknown, gpu_hours = kUnknown, cost_usd = kUnknown,
           energy_kwh = kUnknown, memory_per_gpu_bytes = kUnknown;
    double serving_gpus_per_replica = kUnknown, serving_usd_per_million_tokens = kUnknown;
  };
  struct MoeComparison {
    int experts = 0, top_k = 0;
    MoeColumn dense, moe;
    std::string law_citation, law_equation;
    bool extrapolated = false;
    std::vector<std::string> extrapolation;
    double law_dense_loss = kUnknown, law_moe_loss = kUnknown;  // the MoE law's two fits at the budget
  };
  std::optional<MoeComparison> moe;
  struct Row {
    std::string section;  // "model", "parallelism", "predictions", ...
    std::string name;     // key as in plan.json, units in the name (e.g. "wall_clock_h")
    std::string value;
  };
  std::vector<Row> rows;
};

struct ReportInput {
  std::vector<RunRecord> runs;
  // The fit (isoflop::LoadFitJson / ParseFitJson: fit.json versions 1 and 2, every law form).
  std::optional<FitRecord> fit;
  std::optional<PlanInfo> plan;
  std::string source;  // where the runs came from, printed in the header (e.g. "runs.csv")
};

struct ReportOptions {
  std::string title = "isoflop scaling report";
  // Budgets: isoflop::GroupByBudget's gap in log10 C (single linkage), the fitter's default, so
  // the report's IsoFLOP curves are the fitter's Approach 1/2 budgets.
  double budget_gap_decades = kDefaultBudgetGapDecades;
  // A done run is flagged an outlier when |log residual| > outlier_sigmas × robust sigma
  // (1.4826 × median absolute residual), and never below outlier_min_abs_residual.
  double outlier_sigmas = 3.0;
  double outlier_min_abs_residual = 0.02;
  // Plot size in CSS pixels (each SVG scales to its container).
  int plot_width_px = 600;
  int plot_height_px = 400;
  // Upper end of the frontier plots' compute axis [FLOP]; they start at the smallest run budget.
  // 0 (the default) = automatic: 3x the largest run budget, or 1.5x the plan's budget when a plan
  // is given and that is larger. The axes span the data, not a far-off target.
  double frontier_max_flops = 0;
  // Rows of the runs table before "... N more" (the daemon may track thousands of runs).
  int max_table_rows = 500;

  bool IsValid(std::string* error) const;
};

// What the render saw and did; BriefReport()/FullReport() in Ceres' manner.
struct ReportSummary {
  int n_runs = 0;
  int n_done = 0, n_running = 0, n_pending = 0, n_failed = 0, n_diverged = 0;
  int n_validation = 0;  // runs with role validation (in n_runs too)
  int n_budgets = 0;
  int n_parabolas = 0;
  int n_outliers = 0;
  int n_plots = 0;
  bool has_fit = false;       // the fit holds a law (any form)
  bool has_loss_law = false;  // ... that predicts losses (not an allocation-only power law)
  bool has_plan = false, has_band = false;
  bool plan_extrapolated = false;
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
// (fit.json is read by the scaling-law core: isoflop::LoadFitJson, isoflop/fit_record.h.)

// CSV with a header, columns by name, case-insensitive: `loss` and two of `params`, `tokens`,
// `flops` required (loss may be empty for runs not done); optional `run_id`/`id`, `state`,
// `role` (sweep | validation), `unique_tokens`, `attempts`, `tokens_per_s`, `mfu`, `energy_kwh`,
// `run_dir` (a run directory whose metrics.jsonl/summary.json fill the three before it when
// empty; see FillFromRunDir); other columns ignored.
// `columns`: canonical name -> header name (as `isoflop fit --columns params=N,loss=Eval Loss`);
// `where`: keep only rows whose column equals the value (trimmed; names case-insensitive).
struct RunsCsvOptions {
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<std::pair<std::string, std::string>> where;
};
StatusOr<std::vector<RunRecord>> LoadRunsCsv(const std::string& path, const RunsCsvOptions& options = {});
// plan.json as written by `isoflop plan --out` (docs/planner.md); unknown keys kept as rows.
StatusOr<PlanInfo> LoadPlanJson(const std::string& path);
// The same from text already in memory (the daemon's stored plan); `source` names it in errors.
StatusOr<PlanInfo> ParsePlanJson(const std::string& text, const std::string& source);

// Fills a run's throughput, MFU and energy from its run directory (docs/interfaces.md): the
// last complete line of RUN_DIR/metrics.jsonl (`tokens_per_s`, `mfu`, `energy_kwh`) and
// RUN_DIR/summary.json (`energy_kwh`; tokens / wall_time_s when metrics give no throughput).
// Missing files leave the fields unknown and are not an error (the run may not have started);
// a summary.json that does not parse is kCorruption naming the file.
Status FillFromRunDir(const std::string& run_dir, RunRecord* run);

// Escapes &, <, >, " and ' for HTML/XML text and attributes.
std::string XmlEscape(const std::string& text);

}  // namespace isoflop::report

#endif  // ISOFLOP_REPORT_H_
