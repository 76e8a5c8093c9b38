// Runs trained by other engines, into and out of the orchestrator's store.
//
//   ImportOptions options;
//   options.db_path = "state.db";
//   options.format = "megatron-log";            // megatron-log | torchtitan-log | nanogpt-log | csv
//   options.files = {"slurm-1809579.out"};
//   auto summary = ImportRuns(options);         // StatusOr<ImportSummary>
//
// Each log becomes a finished run (state `done`) of the sweep `options.sweep` with a run directory
// in isoflop's own format (metrics.jsonl + summary.json, docs/interfaces.md) beside the database,
// so `status`, `report --db`, `runs export` → `fit` and the daemon's refit treat it like a run of
// `isoflop train`. What each engine's log says and how it is read (file and commit of the engine's
// source that prints it): docs/orchestrator.md, "Runs from other engines".
#ifndef ISOFLOP_RUN_IMPORT_H_
#define ISOFLOP_RUN_IMPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "isoflop/fitter.h"
#include "isoflop/status.h"

namespace isoflop::orchestrator {

// What a log may not say; a value given here wins over the log's.
struct LogOverrides {
  double params = 0;            // total parameters
  int64_t seq_len = 0;          // tokens per sequence
  int64_t tokens_per_step = 0;  // global batch in tokens
  int gpus = 0;                 // devices (torchtitan prints tokens/s per device)
  double peak_tflops = 0;       // per device, for MFU where the log gives TFLOP/s but not MFU (Megatron)
};

// One logged optimiser step (or evaluation) of an engine's log.
struct EngineLogPoint {
  int64_t step = 0;
  double tokens = 0;                   // trained tokens after this step (all ranks)
  std::optional<double> train_loss;    // nats
  std::optional<double> eval_loss;     // nats
  std::optional<double> tokens_per_s;  // all ranks
  std::optional<double> step_latency_s;
  std::optional<double> mfu;  // fraction
};

struct ParsedRun {
  std::string source;  // the log file
  std::string format;
  double params = 0;          // total parameters
  std::string params_source;  // where `params` came from (log line, arguments, flag)
  double tokens = 0;          // trained tokens at the loss below
  double flops = 0;           // 6·N·D (Kaplan et al. 2020 eq. 2.2; the fit's convention)
  double loss = 0;            // nats: the last evaluation loss, else the last training loss
  std::string loss_kind;      // "eval" or "train"
  int64_t steps = 0;          // optimiser steps logged
  std::optional<double> tokens_per_s, mfu;
  std::vector<EngineLogPoint> points;
  std::vector<std::string> notes;
};

// Parses one log. Errors (kInvalidArgument) name the file, and the line when one is malformed, or
// the value the log lacks and the flag that supplies it.
StatusOr<ParsedRun> ParseEngineLog(const std::string& format, const std::string& path,
                                   const LogOverrides& overrides = {});

struct ImportOptions {
  std::string db_path = "isoflop.db";
  std::string format;  // megatron-log | torchtitan-log | nanogpt-log | csv
  std::vector<std::string> files;
  std::string sweep = "imported";  // the imported runs' sweep (created, backend "imported")
  std::string runs_dir;            // run directories; "" = <db dir>/imported/<sweep>
  LogOverrides overrides;
  // csv only: the fitter's column mapping and row filter syntax (isoflop fit --columns/--where).
  std::vector<std::pair<std::string, std::string>> columns, where;
  int64_t max_runs = CsvOptions::kDefaultMaxRuns;  // csv only: rows per file (0 = none), as fit's
  bool IsValid(std::string* error) const;
};

struct ImportSummary {
  std::string sweep;
  std::vector<ParsedRun> runs;  // parsed and stored
  int added = 0;
  int replaced = 0;  // a run of the same name imported again
  std::string BriefReport() const;
  std::string ToJson() const;
};

// Parses every file first (nothing is written if one is bad), then stores all runs in one
// transaction.
StatusOr<ImportSummary> ImportRuns(const ImportOptions& options);

// Writes RUN_DIR/metrics.jsonl (the points, in the trainer's keys) and, with `with_summary`,
// RUN_DIR/summary.json (status done, final_eval_loss, params_total, tokens, flops, ...; no
// params_non_embedding: an engine's count is total), each atomically (docs/interfaces.md).
Status WriteRunDirectory(const ParsedRun& run, const std::string& run_dir, bool with_summary = true);

// `isoflop runs wrap`: an external engine as a sweep's trainer_command.
struct EngineRunOptions {
  std::string format;                // megatron-log | torchtitan-log | nanogpt-log
  std::vector<std::string> command;  // the engine's argv, with what the orchestrator appended
  std::string run_dir;               // "" = the value after the last "--out" in `command`
  LogOverrides overrides;
};

// Runs the engine in its own process group with its stdout and stderr appended to RUN_DIR/engine.log
// (and echoed to this process's stderr), forwards SIGTERM, SIGUSR1 and SIGINT to that group, then
// reads engine.log and writes the run directory. Returns the trainer's exit code (docs/interfaces.md):
// 0 engine exit 0 and a loss read (summary.json written); 75 a forwarded signal ended it (the engine
// checkpoints on it; metrics.jsonl written, no summary); the engine's own code 1–125 otherwise; 1 when
// it exited 0 but its log has no loss; 2 bad input (no --out, unknown format, cannot start).
int RunEngine(const EngineRunOptions& options, std::string* message);

// Every finished run of the store as CSV: run_id, params, tokens, flops, loss, tokens_per_s, mfu,
// state, sweep (the columns `isoflop fit --runs` and `isoflop report --runs` read).
StatusOr<std::string> ExportRunsCsv(const std::string& db_path, bool all_states = false);

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_RUN_IMPORT_H_
