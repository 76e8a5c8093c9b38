// Backends run one attempt of a run and report its state. Both use the same launch wrapper
// (kLaunchScript): a constant bash script that receives every user-controlled value as an
// argument ("$@"), never as shell text, so names with quotes, $(...), newlines or spaces are
// data. The wrapper records its pid and, when the trainer exits, `<key>.exit`, in the run
// directory: the daemon can learn an attempt's outcome after its own crash, and after Slurm
// has purged the job (MinJobAge), without sacct.
#ifndef ISOFLOP_ORCHESTRATOR_SRC_BACKEND_H_
#define ISOFLOP_ORCHESTRATOR_SRC_BACKEND_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "isoflop/orchestrator.h"
#include "isoflop/status.h"

namespace isoflop::orchestrator {

// Every attempt's idempotency key starts with this (the Slurm job name, the exit record's name).
inline constexpr char kRunKeyPrefix[] = "ifl-";

struct LaunchRequest {
  std::string key;                        // idempotency key: Slurm job name, wrapper argument, exit-file name
  std::string run_dir;                    // absolute; the trainer's --out
  std::vector<std::string> trainer_argv;  // full argv (without --resume; the wrapper adds it)
  Resources resources;
  SlurmSettings slurm;
  std::string sweep;  // for the Slurm comment
  // Slurm only: a job array of these task ids ("0-3", "1,3"). Task T runs as key "<key>-T"
  // (its exit record's name) and is tracked as job "<array id>_T" (ArrayTaskJobId).
  std::string array;
};

// The job id Slurm gives task `task` of array job `array_job_id` ("123_4").
inline std::string ArrayTaskJobId(const std::string& array_job_id, int task) {
  return array_job_id + "_" + std::to_string(task);
}

enum class JobPhase { kQueued, kRunning, kFinished, kMissing };

struct JobState {
  JobPhase phase = JobPhase::kMissing;
  std::optional<int> exit_code;  // the trainer's exit code when known
  bool infrastructure = false;   // finished by the cluster (node failure, preemption, timeout, lost)
  bool cancelled = false;
  std::string reason;  // e.g. "NODE_FAIL", "TIMEOUT", "exit 3"
};

struct TrackedJob {
  std::string job_id;
  std::string key;
  std::string run_dir;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Starts an attempt; returns the backend's job id.
  virtual StatusOr<std::string> Launch(const LaunchRequest& request) = 0;
  // Reconciliation after a crash between "intent recorded" and "job id recorded": the job id
  // of an attempt already started with this key, if any.
  virtual StatusOr<std::optional<std::string>> FindByKey(const std::string& key,
                                                         const std::string& run_dir) = 0;
  // State of every tracked job, in one batched query (one RPC for Slurm, not one per job).
  virtual StatusOr<std::map<std::string, JobState>> Poll(const std::vector<TrackedJob>& jobs) = 0;
  virtual Status Cancel(const TrackedJob& job) = 0;
  // Runs that can be in flight at once on this backend (local: slots; Slurm: unlimited here,
  // the spec's max_in_flight throttles).
  virtual int Capacity() const = 0;
  // GPUs free to hand out now, or -1 when this backend does not manage GPUs (Slurm's gres does;
  // the local backend only when given GPU ids). The daemon launches a run asking for G GPUs
  // only when at least G are free, so a run never starts without its GPUs.
  virtual int FreeGpus() const { return -1; }
  // What keeps runs from starting that only an operator can fix, one line each (Slurm: drained
  // nodes with their reason); empty when nothing does. Slurm drains a node for "Duplicate jobid"
  // after its controller was killed with -9 (docs/orchestrator.md); on isoflop's own local cluster
  // (scripts/slurm-local) the backend resumes such a node itself and says so.
  virtual StatusOr<std::vector<std::string>> ClusterProblems() { return std::vector<std::string>{}; }
};

// backend: "local" or "slurm". slurm_conf: SLURM_CONF ("" = environment). local_gpus: the GPU
// ids the local backend hands out (empty: GPUs not managed).
StatusOr<std::unique_ptr<Backend>> MakeBackend(const std::string& backend, int local_slots,
                                               const std::string& slurm_conf,
                                               const std::vector<int>& local_gpus = {});

// The wrapper; see backend.cc.
extern const char* const kLaunchScript;
// Writes kLaunchScript to RUN_DIR/.isoflop/launch.sh (0755) and returns its path.
StatusOr<std::string> WriteLaunchScript(const std::string& run_dir);
std::string ExitFilePath(const std::string& run_dir, const std::string& key);
std::string PidFilePath(const std::string& run_dir, const std::string& key);
// Reads `<key>.exit`: the trainer's exit code when the wrapper has written it.
std::optional<int> ReadExitFile(const std::string& run_dir, const std::string& key);

// The whole `<key>.exit` record: "CODE [SLURM_JOB_ID SLURM_RESTART_COUNT]" and when it was
// written. The job id and requeue count say which incarnation of a Slurm job wrote it, so a
// record left by a job's previous run (before a requeue) is never taken for the current one.
struct ExitRecord {
  int code = 0;
  std::string job_id;  // "" when run outside Slurm
  int restarts = 0;    // SLURM_RESTART_COUNT of the incarnation that wrote it
  double age_s = 0;    // seconds since it was written
};
std::optional<ExitRecord> ReadExitRecord(const std::string& run_dir, const std::string& key);

// Runs a program (no shell) and captures stdout; exit code in *exit_code.
StatusOr<std::string> RunProgram(const std::vector<std::string>& argv, int* exit_code,
                                 const std::vector<std::string>& extra_env = {});

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_SRC_BACKEND_H_
