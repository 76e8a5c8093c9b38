// The Slurm backend: submits the launch wrapper as a batch job named by the attempt's
// idempotency key, reads every job's state in one RPC per poll, and maps Slurm's end states onto
// the retry policy (NODE_FAIL, PREEMPTED, TIMEOUT, BOOT_FAIL: infrastructure; the trainer's own
// exit code otherwise, from the wrapper's exit file when it exists).
#include <cstdlib>
#include <fstream>

#include "backend.h"
#include "slurm_api.h"

namespace isoflop::orchestrator {
namespace {

class SlurmBackend : public Backend {
 public:
  explicit SlurmBackend(std::unique_ptr<SlurmApi> api) : api_(std::move(api)) {}
  std::string name() const override { return "slurm (" + api_->name() + ")"; }
  int Capacity() const override { return 1 << 30; }

  StatusOr<std::string> Launch(const LaunchRequest& req) override {
    auto script = WriteLaunchScript(req.run_dir);
    if (!script.ok()) return script.status();
    SlurmJobRequest r;
    r.name = req.key;
    r.comment = "isoflop sweep=" + req.sweep;
    r.script = kLaunchScript;
    r.script_path = *script;
    r.args = {req.key, req.run_dir};
    r.args.insert(r.args.end(), req.trainer_argv.begin(), req.trainer_argv.end());
    for (const char* var : {"PATH", "HOME", "LANG", "LD_LIBRARY_PATH", "SLURM_CONF", "OMP_NUM_THREADS"}) {
      if (const char* v = std::getenv(var)) r.environment.push_back(std::string(var) + "=" + v);
    }
    if (std::getenv("PATH") == nullptr) r.environment.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
    r.work_dir = req.run_dir;
    r.std_out = req.run_dir + "/.isoflop/slurm-%j.out";
    r.partition = req.slurm.partition;
    r.cpus = req.resources.cpus;
    r.gpus = req.resources.gpus;
    r.mem_mb = req.resources.mem_mb;
    r.time_limit_min = req.resources.time_limit_min;
    r.requeue = req.slurm.requeue;
    if (!req.slurm.signal.empty()) {
      ISOFLOP_RETURN_IF_ERROR(
          ParseSlurmSignal(req.slurm.signal, &r.warn_signal, &r.warn_time_s, &r.warn_batch_only));
    }
    return api_->Submit(r);
  }

  StatusOr<std::optional<std::string>> FindByKey(const std::string& key,
                                                 const std::string& run_dir) override {
    auto jobs = api_->LoadJobs();
    if (!jobs.ok()) return jobs.status();
    for (const auto& j : *jobs) {
      if (j.name == key) return std::optional<std::string>(j.job_id);
    }
    // Purged already (MinJobAge)? The wrapper's files say whether it ran.
    std::ifstream launches(run_dir + "/.isoflop/launches.log");
    std::string when, k, pid, job;
    while (launches >> when >> k >> pid >> job) {
      if (k == key) return std::optional<std::string>(job);
    }
    return std::optional<std::string>();
  }

  StatusOr<std::map<std::string, JobState>> Poll(const std::vector<TrackedJob>& jobs) override {
    auto all = api_->LoadJobs();  // one RPC for every tracked job
    if (!all.ok()) return all.status();
    std::map<std::string, const SlurmJobInfo*> by_id;
    for (const auto& j : *all) by_id[j.job_id] = &j;
    std::map<std::string, JobState> out;
    for (const TrackedJob& job : jobs) {
      JobState s;
      auto it = by_id.find(job.job_id);
      // A controller that lost its recent state (kill -9) hands out job ids again: an id whose
      // job carries another name is not ours any more.
      if (it != by_id.end() && it->second->name != job.key) it = by_id.end();
      if (it == by_id.end()) {
        if (auto code = ReadExitFile(job.run_dir, job.key)) {
          s.phase = JobPhase::kFinished;
          s.exit_code = code;
          s.reason = "exit " + std::to_string(*code) + " (job purged by slurmctld)";
        } else {
          s.phase = JobPhase::kFinished;
          s.infrastructure = true;
          s.reason = "job " + job.job_id + " unknown to slurmctld and no exit status";
        }
        out[job.job_id] = s;
        continue;
      }
      const SlurmJobInfo& j = *it->second;
      const std::string& st = j.state;
      if (st == "HELD") {
        // Held jobs never start by themselves: cancel, and retry as an infrastructure failure.
        api_->Cancel(job.job_id);
        s.phase = JobPhase::kFinished;
        s.infrastructure = true;
        s.reason = "job " + job.job_id + " held by Slurm (" + j.reason + "); cancelled";
      } else if (st == "PENDING" || st == "REQUEUED" || st == "REQUEUE_HOLD" || st == "REQUEUE_FED" ||
                 st == "CONFIGURING") {
        s.phase = JobPhase::kQueued;
      } else if (st == "RUNNING" || st == "SUSPENDED" || st == "COMPLETING" || st == "STOPPED" ||
                 st == "RESIZING" || st == "SIGNALING" || st == "STAGE_OUT") {
        s.phase = JobPhase::kRunning;
      } else {
        s.phase = JobPhase::kFinished;
        s.reason = st;
        if (st == "COMPLETED" || st == "FAILED") {
          // The wrapper's file is the trainer's own code; Slurm's is the wrapper's, the same.
          auto code = ReadExitFile(job.run_dir, job.key);
          s.exit_code = code ? *code : j.exit_code;
          if (j.exit_signal != 0 && !code) {
            s.exit_code.reset();
            s.reason += " signal " + std::to_string(j.exit_signal);
          } else {
            s.reason += " exit " + std::to_string(*s.exit_code);
          }
        } else if (st == "CANCELLED") {
          s.cancelled = true;
        } else if (st == "OUT_OF_MEMORY") {
          s.reason += " (the run needs more memory than resources.mem_mb)";
        } else {  // TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE
          s.infrastructure = true;
        }
      }
      out[job.job_id] = s;
    }
    return out;
  }

  Status Cancel(const TrackedJob& job) override { return api_->Cancel(job.job_id); }

 private:
  std::unique_ptr<SlurmApi> api_;
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> MakeSlurmBackend(const std::string& slurm_conf) {
  // ISOFLOP_SLURM_API=cli forces the CLI; otherwise libslurm when this build has it.
  const char* force = std::getenv("ISOFLOP_SLURM_API");
  if (force == nullptr || std::string(force) != "cli") {
    auto api = MakeLibSlurmApi(slurm_conf);
    if (api.ok()) return std::unique_ptr<Backend>(new SlurmBackend(std::move(*api)));
    if (force != nullptr && std::string(force) == "lib") return api.status();
  }
  return std::unique_ptr<Backend>(new SlurmBackend(MakeSlurmCliApi(slurm_conf)));
}

}  // namespace isoflop::orchestrator
