// The orchestrator: runs an IsoFLOP sweep on the local machine or on Slurm, watches it,
// retries what infrastructure breaks, ingests results and keeps the fit current.
//
// Public API in Ceres' habit: each job has an Options struct whose defaults work, one call,
// and a Summary/record with reports. State lives in SQLite (see orchestrator/src/store.h);
// nothing here throws: every boundary returns isoflop::Status / StatusOr<T>.
#ifndef ISOFLOP_ORCHESTRATOR_H_
#define ISOFLOP_ORCHESTRATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isoflop/model_shape.h"
#include "isoflop/status.h"

namespace isoflop::orchestrator {

// ---------------------------------------------------------------------------------------------
// Sweep spec (YAML; documented in docs/orchestrator.md, examples in configs/sweeps/).

// A sweep shape is the one model-shape type (isoflop/model_shape.h); `name` is its run-name stem,
// e.g. "L2-d64". Its architecture details are the trainer's (AsTrainerBuilds).
using isoflop::ModelShape;

struct Resources {
  int cpus = 1;
  int gpus = 0;
  int mem_mb = 1024;
  int time_limit_min = 60;
};

struct RetryPolicy {
  int max_attempts = 3;        // total attempts for infrastructure failures
  double backoff_s = 5.0;      // first retry delay; doubles per attempt
  double backoff_max_s = 600;  // cap
};

struct SlurmSettings {
  std::string partition;              // empty: the cluster default
  std::string signal = "B:USR1@120";  // --signal: the trainer checkpoints on USR1 and exits 75
  bool requeue = true;                // --requeue
  std::string conf;                   // SLURM_CONF; empty: the environment's
};

struct AutoSizes {
  bool enabled = false;
  int count = 5;        // shapes per budget
  double factor = 4.0;  // span N_opt/factor .. N_opt*factor (log-spaced)
};

struct SweepSpec {
  std::string path;  // where it was read from
  std::string name;
  std::string backend = "local";  // local | slurm
  std::string out_dir;            // run directories go under out_dir/<sweep>/<run>; absolute
  std::string data;               // token shards passed to the trainer (--data)
  std::vector<double> budgets_flops;
  std::vector<ModelShape> models;            // explicit shapes (used for every budget)
  AutoSizes auto_sizes;                      // or shapes around the current N_opt (planner)
  std::map<std::string, std::string> train;  // flat trainer settings merged into run.yaml
  std::vector<std::string> trainer_command;  // default: {this binary, "train"}
  std::string device = "cpu";
  Resources resources;
  RetryPolicy retry;
  SlurmSettings slurm;
  int local_slots = 2;  // concurrent runs on the local backend
  // GPU ids of this machine the local backend hands out (`local.gpus: [0, 1]`). Empty: GPUs are
  // not managed (runs inherit the daemon's CUDA_VISIBLE_DEVICES). Non-empty: each run gets
  // resources.gpus ids of its own in CUDA_VISIBLE_DEVICES ("" when it asks for none), disjoint
  // from every other running run's; a run waits until enough are free.
  std::vector<int> local_gpus;
  int max_in_flight = 64;          // submission throttle for any backend
  double target_budget_flops = 0;  // re-planned after each refit (0: largest budget x 100)
  std::string yaml;                // the spec text, stored with the sweep
};

// Reads and validates a spec. Errors name "file:line: field: problem" (kInvalidArgument).
StatusOr<SweepSpec> ParseSweepSpec(const std::string& path);
StatusOr<SweepSpec> ParseSweepSpecText(const std::string& text, const std::string& path);

// One run the sweep would launch.
struct PlannedRun {
  std::string name;  // "<budget>-<shape>", unique in the sweep
  double budget_flops = 0;
  ModelShape shape;
  double params = 0;  // non-embedding N (Kaplan et al. 2020, eq. 2.1: N ~ 2 d L (2 d_attn + d_ff))
  double tokens = 0;  // D = C / (6 N) (Kaplan et al. 2020, eq. 2.2; Hoffmann et al. 2022, C ~ 6ND)
  std::map<std::string, std::string> config;  // the flat run.yaml
};

// Non-embedding parameters of a shape as the trainer builds it (Kaplan et al. 2020, Sec. 2.1: every
// parameter but the embeddings; the count the trainer reports in summary.json and the fit uses).
double NonEmbeddingParams(const ModelShape& shape);

// Expands a spec into runs. `latest_fit_json` (fit.json schema, docs/fit.md) centres `auto_sizes`
// on the fitted N_opt; empty: Hoffmann et al. 2022's D ~ 20 N rule of thumb.
StatusOr<std::vector<PlannedRun>> PlanSweep(const SweepSpec& spec, const std::string& latest_fit_json = "");

// PlanSweep centred on the latest fit stored in `db_path` (when the database exists; nothing is
// written or created).
StatusOr<std::vector<PlannedRun>> PlanSweepWithDb(const SweepSpec& spec, const std::string& db_path);
std::string PlannedRunsToJson(const std::vector<PlannedRun>& runs);
std::string PlannedRunsToText(const std::vector<PlannedRun>& runs);

// ---------------------------------------------------------------------------------------------
// Submission: records the sweep and its runs in the database (state "pending"); the daemon
// launches them. Idempotent: resubmitting the same sweep adds only runs not yet recorded.

struct SubmitOptions {
  std::string db_path = "isoflop.db";
  std::string backend_override;  // "" keeps the spec's backend
  bool IsValid(std::string* error) const;
};

struct SubmitSummary {
  std::string sweep;
  int runs_added = 0;
  int runs_existing = 0;
  std::string BriefReport() const;
};

StatusOr<SubmitSummary> SubmitSweep(const SweepSpec& spec, const SubmitOptions& options);

// ---------------------------------------------------------------------------------------------
// Daemon: polls the backend (batched, with backoff), launches pending runs within the throttle,
// applies the retry policy, ingests metrics.jsonl and summary.json, refits after completions,
// serves read-only JSON on loopback.

struct DaemonOptions {
  std::string db_path = "isoflop.db";
  std::string listen = "127.0.0.1:8470";  // IP:PORT ([IPv6]:PORT), "" or "off": no HTTP server
  // The API has no authentication: an address other than loopback is refused unless this is set.
  bool listen_public = false;
  double poll_min_s = 0.5;                // poll interval right after an event
  double poll_max_s = 15.0;               // interval doubles while nothing changes, up to this
  bool exit_when_idle = false;            // stop when every run is final (tests, scripts)
  double max_runtime_s = 0;               // 0: run until SIGTERM
  bool verbose = false;                   // progress lines on stderr
  bool IsValid(std::string* error) const;
};

struct DaemonSummary {
  int launches = 0;
  int completions = 0;
  int retries = 0;
  int refits = 0;
  int polls = 0;
  std::string stop_reason;
  std::string BriefReport() const;
};

StatusOr<DaemonSummary> RunDaemon(const DaemonOptions& options);

// ---------------------------------------------------------------------------------------------
// Status, cancel, logs.

struct RunStatus {
  std::string sweep;
  std::string name;
  std::string state;  // pending, submitting, queued, running, done, failed, diverged, bad_config, cancelled
  int attempt = 0;
  std::string job_id;
  std::string run_dir;
  double budget_flops = 0, params = 0, tokens = 0;
  std::optional<double> final_eval_loss;
  std::optional<double> last_train_loss;
  int64_t last_step = -1;
  int64_t corrupt_lines = 0;
  std::string reason;
  // Read from the last complete line of RUN_DIR/metrics.jsonl for runs in flight (text and
  // /metrics only; `status --json` keeps its keys): tokens trained so far, throughput, and the
  // estimated time left = (tokens - tokens_done) / tokens_per_s.
  int64_t tokens_done = -1;
  std::optional<double> tokens_per_s;
  std::optional<double> eta_s;
};

struct StatusOptions {
  // true: every run. false: the runs in flight plus the `recent_finished` most recently finished
  // (what a person reads; `status` answers in milliseconds at 10,000 runs).
  bool all_runs = true;
  int recent_finished = 20;
};

struct StatusReport {
  std::vector<RunStatus> runs;        // all, or the selection of StatusOptions
  int runs_total = 0;                 // in the database
  std::map<std::string, int> counts;  // state -> runs (all runs)
  std::string fit_json;               // latest fit (JSON object) or "null"
  std::string plan_json;              // latest plan or "null"
  std::string narrowing_json;         // interval widths now vs. previous fit, or "null"
  // Why the latest refit attempt gave no usable law (it is kept, flagged, and not current); "" when
  // the latest attempt is the current fit.
  std::string fit_error;
  // What the daemon last saw that only an operator can fix (Slurm: drained nodes), one line each,
  // and when (text only; `--json` keeps its keys).
  std::vector<std::string> cluster_problems;
  double cluster_checked_at = 0;
  std::string ToJson() const;
  // For people (status_text.cc): the counts; the runs with state, attempt, step, loss and ETA; the
  // law with its intervals; how the intervals narrowed; the plan's headline with its interval; the
  // flagged runs with their reasons. No colour codes.
  std::string ToText() const;
};

StatusOr<StatusReport> GetStatus(const std::string& db_path, const StatusOptions& options = {});

// Cancels one run (by name, or sweep/name) or every live run. Returns how many were cancelled.
StatusOr<int> CancelRuns(const std::string& db_path, const std::string& run, bool all);

// Path of a run's current log file (the trainer's stdout+stderr).
StatusOr<std::string> RunLogPath(const std::string& db_path, const std::string& run);

// Streams a run's log to `sink`; with `follow`, keeps reading until the run reaches a final state.
Status StreamRunLog(const std::string& db_path, const std::string& run, bool follow,
                    const std::function<void(std::string_view)>& sink);

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_H_
