// The narrow waist between the orchestrator and Slurm. Two implementations: libslurm
// (slurm_api.cc, the only file that includes <slurm/slurm.h>: its C API changes between
// releases) and the Slurm CLI (slurm_cli.cc: sbatch/scontrol/scancel, argv only, no shell).
#ifndef ISOFLOP_ORCHESTRATOR_SRC_SLURM_API_H_
#define ISOFLOP_ORCHESTRATOR_SRC_SLURM_API_H_

#include <memory>
#include <string>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::orchestrator {

struct SlurmJobRequest {
  std::string name;                      // the idempotency key
  std::string comment;                   // "isoflop sweep=<name>"
  std::string script;                    // batch script text (constant: see kLaunchScript)
  std::string script_path;               // the same, on disk (for sbatch)
  std::vector<std::string> args;         // script arguments ($1...)
  std::vector<std::string> environment;  // KEY=VALUE; the job sees only these (libslurm)
  std::string work_dir;
  std::string std_out;  // stdout+stderr of the batch script, appended across requeues
  std::string partition;
  int cpus = 1;
  int gpus = 0;
  int mem_mb = 0;
  int time_limit_min = 0;
  bool requeue = true;
  int warn_signal = 0;  // e.g. SIGUSR1, sent warn_time seconds before the time limit
  int warn_time_s = 0;
  bool warn_batch_only = true;  // "B:" prefix: signal only the batch shell (our wrapper)
  // A job array (sbatch --array): the task ids, e.g. "0-3" or "1,3"; "" = one job. Each task
  // runs the script with SLURM_ARRAY_TASK_ID set; the submission returns the array's job id.
  std::string array;
};

struct SlurmJobInfo {
  // "123", or for a task of a job array "ARRAY_TASK" ("123_4"), as scancel takes it. A record of
  // array tasks that have not started yet has job_id "ARRAY" and array_tasks their ids.
  std::string job_id;
  std::string array_job_id;  // "" unless part of a job array
  std::string array_tasks;   // "4", or e.g. "1-3,5" for the pending tasks of an array
  int array_task = -1;       // this record's task id, -1 when it is not one task
  std::string name;
  std::string state;  // PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
  int exit_code = 0;  // the batch script's exit code (decoded from the wait status)
  int exit_signal = 0;
  int restarts = 0;      // requeues so far (SLURM_RESTART_COUNT of the current incarnation)
  std::string work_dir;  // the run dir, for jobs isoflop submitted
  std::string reason;
};

struct SlurmNodeInfo {
  std::string name;
  std::string state;     // e.g. "IDLE+DRAIN", "MIXED"
  bool drained = false;  // DRAIN set: no new job starts on it until it is resumed
  std::string reason;    // why, as Slurm records it ("Duplicate jobid [slurm@2024-...]")
};

class SlurmApi {
 public:
  virtual ~SlurmApi() = default;
  virtual std::string name() const = 0;
  virtual StatusOr<std::string> Submit(const SlurmJobRequest& request) = 0;
  // Every job slurmctld still knows, in one RPC.
  virtual StatusOr<std::vector<SlurmJobInfo>> LoadJobs() = 0;
  virtual Status Cancel(const std::string& job_id) = 0;
  // Every node, in one RPC (slurm_load_node / `scontrol -o show node`).
  virtual StatusOr<std::vector<SlurmNodeInfo>> LoadNodes() = 0;
  // `scontrol update nodename=NAME state=resume`.
  virtual Status ResumeNode(const std::string& name) = 0;
};

// libslurm; kUnavailable when this build has no libslurm or the config file is missing.
StatusOr<std::unique_ptr<SlurmApi>> MakeLibSlurmApi(const std::string& conf);
std::unique_ptr<SlurmApi> MakeSlurmCliApi(const std::string& conf);

// Parses --signal's "[B:]SIG[@TIME]" (e.g. "B:USR1@120").
Status ParseSlurmSignal(const std::string& spec, int* signal, int* time_s, bool* batch_only);

// The task ids of an array expression "1-3,5" (Slurm's "%N" throttle suffix ignored); empty on
// anything else.
std::vector<int> ParseArrayTasks(const std::string& expression);

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_SRC_SLURM_API_H_
