// The Slurm backend: submits the launch wrapper as a batch job named by the attempt's
// idempotency key, reads every job's state in one RPC per poll, and maps Slurm's end states onto
// the retry policy (NODE_FAIL, PREEMPTED, TIMEOUT, BOOT_FAIL: infrastructure; the trainer's own
// exit code otherwise, from the wrapper's exit file when it exists).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "backend.h"
#include "slurm_api.h"

namespace isoflop::orchestrator {
namespace {

// scripts/slurm-local writes this file beside the slurm.conf of the cluster it starts: a one-node
// test cluster that isoflop itself runs, where the daemon may resume a node Slurm drained.
constexpr char kLocalClusterMarker[] = "isoflop-local-cluster";

class SlurmBackend : public Backend {
 public:
  SlurmBackend(std::unique_ptr<SlurmApi> api, const std::string& conf) : api_(std::move(api)) {
    std::string path = conf;
    if (path.empty()) {
      const char* env = std::getenv("SLURM_CONF");
      path = env ? env : "";
    }
    const size_t slash = path.rfind('/');
    std::error_code ec;
    own_cluster_ = slash != std::string::npos &&
                   std::filesystem::exists(path.substr(0, slash + 1) + kLocalClusterMarker, ec);
  }
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
    for (const char* var : {"PATH", "HOME", "LANG", "LD_LIBRARY_PATH", "SLURM_CONF", "OMP_NUM_THREADS",
                            "ISOFLOP_FAULT_HOLD"}) {
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
    r.array = req.array;
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
    for (const auto& j : *all) {
      by_id[j.job_id] = &j;
      // An array's tasks that have not started share one record: each is found under its id.
      if (!j.array_job_id.empty() && j.array_task < 0) {
        for (int t : ParseArrayTasks(j.array_tasks)) by_id.emplace(ArrayTaskJobId(j.array_job_id, t), &j);
      }
    }
    std::map<std::string, JobState> out;
    for (const TrackedJob& job : jobs) {
      JobState s;
      auto it = by_id.find(job.job_id);
      // A controller that lost its recent state (kill -9) hands out job ids again: an id whose
      // job carries another name is not ours any more. (An array task's key is the array's
      // name and "-TASK".)
      std::string name = job.key;
      if (auto underscore = job.job_id.find('_'); underscore != std::string::npos) {
        const std::string suffix = "-" + job.job_id.substr(underscore + 1);
        if (name.ends_with(suffix)) name.resize(name.size() - suffix.size());
      }
      if (it != by_id.end() && it->second->name != name) it = by_id.end();
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
      if (auto done = FinishedByTheWrapper(job, j)) {
        out[job.job_id] = *done;
        continue;
      }
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
    ReapLostCompletions(*all, jobs);
    return out;
  }

  Status Cancel(const TrackedJob& job) override { return api_->Cancel(job.job_id); }

 private:
  // A controller killed with -9 forgets what it had not saved yet (it batches state saves): a
  // job that already ran to the end comes back PENDING, is launched again, and slurmd, which
  // ran it, refuses the duplicate id. The job is then held ("launch failed requeued held") or
  // listed RUNNING with no process behind it until its time limit: hours of a sweep spent
  // waiting, or a finished run trained again. The wrapper's exit record is the trainer's own
  // verdict: exit 0 written by this very job (same id, same requeue count) means the run is
  // done, whatever the controller says. Only exit 0 is taken: 75 (checkpointed on a signal)
  // is a requeue in progress, which Slurm finishes by itself.
  std::optional<JobState> FinishedByTheWrapper(const TrackedJob& job, const SlurmJobInfo& j) {
    const std::string& st = j.state;
    const bool held = st == "HELD";
    const bool listed_running = st == "RUNNING";
    // Or the controller, finding no process for a job it restored as RUNNING, ends it itself.
    const bool ended_by_cluster =
        st == "NODE_FAIL" || st == "TIMEOUT" || st == "BOOT_FAIL" || st == "PREEMPTED" || st == "DEADLINE";
    if (!held && !listed_running && !ended_by_cluster) return std::nullopt;
    auto record = ReadExitRecord(job.run_dir, job.key);
    if (!record || record->code != 0 || record->job_id != job.job_id) return std::nullopt;
    // Only the incarnation that wrote the record: a requeued rerun deletes the record when it
    // starts, but not before Slurm lists it RUNNING. And RUNNING only once the normal path
    // (wrapper exits, slurmd reports, state COMPLETING) has had ample time.
    if (!held && record->restarts != j.restarts) return std::nullopt;
    if (listed_running && record->age_s < kLostCompletionGraceS) return std::nullopt;
    if (!ended_by_cluster) api_->Cancel(job.job_id);  // frees the allocation the controller holds
    JobState s;
    s.phase = JobPhase::kFinished;
    s.exit_code = 0;
    s.reason = "exit 0 (wrapper's exit record; slurmctld listed job " + job.job_id + " " + j.state +
               ": a completion it lost; job cancelled)";
    return s;
  }

  // The same lost completion, for a job no one tracks any more: its run was recorded done
  // before the controller was killed, and the controller brought it back RUNNING. Nothing
  // waits on it, but it holds its CPUs and GPUs until its time limit: cancel it. Any daemon's
  // job qualifies: the record proves the job's own process has exited.
  void ReapLostCompletions(const std::vector<SlurmJobInfo>& all, const std::vector<TrackedJob>& tracked) {
    std::set<std::string> tracked_ids;
    for (const TrackedJob& t : tracked) tracked_ids.insert(t.job_id);
    for (const SlurmJobInfo& j : all) {
      if (j.state != "RUNNING" || j.work_dir.empty() || tracked_ids.count(j.job_id)) continue;
      if (j.name.rfind(kRunKeyPrefix, 0) != 0) continue;
      (void)FinishedByTheWrapper(TrackedJob{j.job_id, j.name, j.work_dir}, j);
    }
  }

  StatusOr<std::vector<std::string>> ClusterProblems() override {
    auto nodes = api_->LoadNodes();
    if (!nodes.ok()) return nodes.status();
    std::vector<std::string> problems;
    for (const SlurmNodeInfo& n : *nodes) {
      if (!n.drained) continue;
      std::string line = "node " + n.name + " is drained (" + n.state + "; reason: " +
                         (n.reason.empty() ? "none given" : n.reason) + ")";
      // After a slurmctld kill -9 the controller hands out job ids again that slurmd still runs,
      // slurmd answers "Duplicate jobid" and Slurm drains the node: nothing is wrong with the node.
      const bool duplicate_jobid = n.reason.find("Duplicate jobid") != std::string::npos;
      if (duplicate_jobid && own_cluster_) {
        Status resumed = api_->ResumeNode(n.name);
        line += resumed.ok() ? ": resumed by the daemon (isoflop's own local cluster)"
                             : ": resuming it failed: " + resumed.message();
      } else if (duplicate_jobid) {
        line += ": left by a controller restart after a crash; an admin resumes it with `scontrol update "
                "nodename=" + n.name + " state=resume`";
      } else {
        line += "; no new job starts there until an admin resumes it";
      }
      problems.push_back(std::move(line));
    }
    return problems;
  }

  static constexpr double kLostCompletionGraceS = 30;

  std::unique_ptr<SlurmApi> api_;
  bool own_cluster_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> MakeSlurmBackend(const std::string& slurm_conf) {
  // ISOFLOP_SLURM_API=cli forces the CLI; otherwise libslurm when this build has it.
  const char* force = std::getenv("ISOFLOP_SLURM_API");
  if (force == nullptr || std::string(force) != "cli") {
    auto api = MakeLibSlurmApi(slurm_conf);
    if (api.ok()) return std::unique_ptr<Backend>(new SlurmBackend(std::move(*api), slurm_conf));
    if (force != nullptr && std::string(force) == "lib") return api.status();
  }
  return std::unique_ptr<Backend>(new SlurmBackend(MakeSlurmCliApi(slurm_conf), slurm_conf));
}

}  // namespace isoflop::orchestrator
