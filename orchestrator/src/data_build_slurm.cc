// The data build on Slurm: one job array per stage, through the Slurm backend (backend.h).
// See isoflop/data_build_slurm.h.
#include "isoflop/data_build_slurm.h"

#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "backend.h"
#include "slurm_api.h"

namespace isoflop::orchestrator {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// FNV-1a: a stable short name for the build (the same work directory, the same keys).
std::string ShortHash(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016" PRIx64, h);
  return std::string(hex, 8);
}

std::string JoinTasks(const std::vector<int>& tasks) {
  std::string out;
  for (int t : tasks) out += (out.empty() ? "" : ",") + std::to_string(t);
  return out;
}

// The last line a task printed about itself (its error), from the stage's log.
std::string LastTaskError(const std::string& run_dir) {
  std::ifstream in(run_dir + "/train.log");
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find("isoflop data stage") != std::string::npos) last = line;
  }
  return last;
}

}  // namespace

bool DataBuildSlurmOptions::IsValid(std::string* error) const {
  if (tasks < 1 || tasks > 10000) return *error = "--tasks must be in [1, 10000]", false;
  if (mem_mb < 64) return *error = "task memory must be >= 64 MB", false;
  if (time_limit_min < 1) return *error = "task time limit must be >= 1 minute", false;
  if (max_attempts < 1) return *error = "max_attempts must be >= 1", false;
  if (poll_s <= 0) return *error = "poll_s must be > 0", false;
  return true;
}

std::string DataBuildSlurmSummary::BriefReport() const {
  char line[160];
  std::snprintf(line, sizeof(line), "slurm: %d job array(s) submitted, %d task retr%s\n", arrays_submitted,
                retries, retries == 1 ? "y" : "ies");
  return line + build.BriefReport();
}

StatusOr<DataBuildSlurmSummary> RunDataBuildOnSlurm(const DataBuildSlurmOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  auto build = data::StagedBuild::Prepare(options.build, options.tasks, /*resume=*/true);
  if (!build.ok()) return build.status();
  data::StagedBuild& staged = **build;
  auto backend = MakeBackend("slurm", 0, options.slurm_conf);
  if (!backend.ok()) return backend.status();
  std::vector<std::string> command = options.isoflop_command;
  if (command.empty()) {
    std::error_code ec;
    command = {fs::read_symlink("/proc/self/exe", ec).string()};
    if (ec) return Status::Internal("cannot find this executable: " + ec.message());
  }
  const int threads = std::max(1, options.build.threads);
  // Not kRunKeyPrefix ("ifl-"): these are not sweep runs (the daemon's reaper and the sweep tests
  // look only at ifl- jobs).
  const std::string build_name = "isoflop-data-" + ShortHash(staged.work_dir());
  auto say = [&](const std::string& text) {
    if (options.progress) std::fprintf(stderr, "isoflop data build: slurm %s\n", text.c_str());
  };
  DataBuildSlurmSummary summary;

  for (const data::BuildStageInfo& stage : staged.stages()) {
    const auto stage_start = Clock::now();
    const std::string key = build_name + "-" + stage.name;
    const std::string run_dir = staged.work_dir() + "/slurm/" + stage.name;
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    std::set<int> pending;
    for (int t = 0; t < stage.tasks; ++t) {
      if (!staged.TaskDone(stage.name, t)) pending.insert(t);
    }
    std::map<int, TrackedJob> live;
    std::map<int, int> attempts;
    auto track = [&](const std::string& array_id, int t) {
      live[t] = TrackedJob{ArrayTaskJobId(array_id, t), key + "-" + std::to_string(t), run_dir};
    };
    // A previous driver's arrays (arrays.log: "ARRAY_ID TASKS" per submission): their tasks
    // still queued or running are waited for, not submitted again.
    {
      std::ifstream log(run_dir + "/arrays.log");
      std::string id, tasks;
      while (log >> id >> tasks) {
        for (int t : ParseArrayTasks(tasks)) {
          if (pending.count(t)) track(id, t);
        }
      }
      if (!live.empty()) {
        std::vector<TrackedJob> jobs;
        for (const auto& [t, job] : live) jobs.push_back(job);
        auto states = (*backend)->Poll(jobs);
        if (!states.ok()) return states.status();
        for (auto it = live.begin(); it != live.end();) {
          const JobPhase phase = (*states)[it->second.job_id].phase;
          it = phase == JobPhase::kQueued || phase == JobPhase::kRunning ? std::next(it) : live.erase(it);
        }
        if (!live.empty())
          say(stage.name + ": waiting for " + std::to_string(live.size()) + " task(s) of an earlier run");
      }
    }
    auto cancel_live = [&] {
      for (const auto& [t, job] : live) (void)(*backend)->Cancel(job);
    };
    while (!pending.empty()) {
      std::vector<int> submit;
      for (int t : pending) {
        if (!live.count(t)) submit.push_back(t);
      }
      if (!submit.empty()) {
        for (int t : submit) {
          if (++attempts[t] > options.max_attempts) {
            cancel_live();
            return Status::Aborted("stage " + stage.name + " task " + std::to_string(t) + " failed " +
                                   std::to_string(options.max_attempts) +
                                   " times; last error: " + LastTaskError(run_dir) + " (logs in " + run_dir +
                                   "; rerun the same command to resume)");
          }
        }
        LaunchRequest request;
        request.key = key;
        request.run_dir = run_dir;
        request.trainer_argv = command;
        for (const char* arg : {"data", "stage", "--work"}) request.trainer_argv.push_back(arg);
        request.trainer_argv.push_back(staged.work_dir());
        request.trainer_argv.insert(request.trainer_argv.end(), {"--stage", stage.name, "--task", "array",
                                                                 "--threads", std::to_string(threads)});
        request.resources.cpus = threads;
        request.resources.gpus = 0;
        request.resources.mem_mb = options.mem_mb;
        request.resources.time_limit_min = options.time_limit_min;
        request.slurm.partition = options.partition;
        request.slurm.signal = "";
        request.slurm.requeue = false;  // the driver retries (max_attempts), not Slurm
        request.slurm.conf = options.slurm_conf;
        request.sweep = "data build " + staged.work_dir();
        request.array = JoinTasks(submit);
        auto array_id = (*backend)->Launch(request);
        // A controller restarting answers nothing for a few seconds: ask again for a minute.
        for (int tries = 0;
             !array_id.ok() && array_id.status().code() == Status::Code::kUnavailable && tries < 30;
             ++tries) {
          std::this_thread::sleep_for(std::chrono::seconds(2));
          array_id = (*backend)->Launch(request);
        }
        if (!array_id.ok()) {
          cancel_live();
          return array_id.status().WithContext("submitting stage " + stage.name);
        }
        std::ofstream(run_dir + "/arrays.log", std::ios::app) << *array_id << ' ' << request.array << '\n';
        ++summary.arrays_submitted;
        for (int t : submit) track(*array_id, t);
        say(stage.name + ": array " + *array_id + " (task" + (submit.size() > 1 ? "s " : " ") +
            request.array + ")");
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(options.poll_s));
      std::vector<TrackedJob> jobs;
      for (const auto& [t, job] : live) jobs.push_back(job);
      auto states = (*backend)->Poll(jobs);
      if (!states.ok()) {
        say("poll failed (" + states.status().message() + "); retrying");
        continue;  // slurmctld restarting: states are kept, the next poll asks again
      }
      for (auto it = live.begin(); it != live.end();) {
        const int t = it->first;
        const JobState& state = (*states)[it->second.job_id];
        if (state.phase != JobPhase::kFinished) {
          ++it;
          continue;
        }
        if (state.exit_code && *state.exit_code == 0 && staged.TaskDone(stage.name, t)) {
          pending.erase(t);
        } else if (state.exit_code && *state.exit_code == 2) {  // bad input: a retry cannot help
          it = live.erase(it);
          cancel_live();
          return Status::InvalidArgument("stage " + stage.name + " task " + std::to_string(t) + ": " +
                                         LastTaskError(run_dir));
        } else if (state.cancelled) {
          it = live.erase(it);
          cancel_live();
          return Status::Aborted("stage " + stage.name + " task " + std::to_string(t) +
                                 " was cancelled in Slurm; rerun the same command to resume");
        } else {
          ++summary.retries;
          say(stage.name + ": task " + std::to_string(t) + " failed (" + state.reason + "); retrying");
        }
        it = live.erase(it);
      }
    }
    summary.stage_wall_s[stage.name] = std::chrono::duration<double>(Clock::now() - stage_start).count();
    say(stage.name + ": " + std::to_string(stage.tasks) + " task(s) done in " +
        std::to_string(static_cast<int>(summary.stage_wall_s[stage.name] + 0.5)) + " s");
  }
  auto committed = staged.Commit();
  if (!committed.ok()) return committed.status();
  summary.build = std::move(*committed);
  for (const auto& [stage, wall] : summary.stage_wall_s) summary.build.stage_seconds[stage + "_wall"] = wall;
  return summary;
}

}  // namespace isoflop::orchestrator
