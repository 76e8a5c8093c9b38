// Helpers shared by the orchestrator's sources (not part of the public API).
#ifndef ISOFLOP_ORCHESTRATOR_SRC_SWEEP_INTERNAL_H_
#define ISOFLOP_ORCHESTRATOR_SRC_SWEEP_INTERNAL_H_

#include <map>
#include <string>
#include <vector>

#include "isoflop/orchestrator.h"

namespace isoflop::orchestrator {

std::string FormatNumber(double v);                                        // %.6g
std::string RunName(double budget, const ModelShape& shape);               // "C1e+12" -> "C1e12-L2-d64"
std::string ConfigYaml(const std::map<std::string, std::string>& config);  // flat key: "value" lines

// The most tokens a run may train: D is written as an integer into run.yaml and counted in int64 by
// the trainer; 2^53 keeps it exact in a double.
inline constexpr double kMaxRunTokens = 9007199254740992.0;

// The slurm backend cannot take an out_dir with '%' or '\' (sbatch expands them in --output).
// `line`: the spec line of out_dir for the message (0: unknown).
Status CheckSlurmPaths(const SweepSpec& spec, int line);

// `data` must be token shards (a directory with index.tsv, docs/data.md) before any run is recorded.
Status CheckDataPath(const SweepSpec& spec);

// Progress of a run in flight from the last complete line of RUN_DIR/metrics.jsonl: tokens_done,
// tokens_per_s and eta_s of `run` (sweep.cc).
void ReadRunProgress(RunStatus* run);

// `auto_sizes`: `count` shapes log-spaced over [N_opt / factor, N_opt * factor] for `budget`.
// N_opt comes from the latest fit when there is one (Hoffmann et al. 2022, eq. 4), else from
// their rule of thumb D ~ 20 N (Table 3), i.e. C = 6 N D = 120 N^2. Shapes from the planner.
StatusOr<std::vector<ModelShape>> AutoShapes(const SweepSpec& spec, double budget,
                                             const std::string& latest_fit_json);
// The latest stored fit (fit.json text), or "" when none. (refit.cc)
class Database;
std::string LatestFitJson(Database& db);

// How much each fitted parameter's interval narrowed between two fit JSON documents (refit.cc).
std::string IntervalNarrowing(const std::string& previous_fit_json, const std::string& current_fit_json);

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_SRC_SWEEP_INTERNAL_H_
