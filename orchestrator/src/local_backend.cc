// The local backend: runs each attempt as a process group on this machine, up to `slots` at
// once. Processes are started in their own session so they survive a daemon crash; the wrapper's
// exit file carries the outcome across it. A pid is trusted only while /proc/PID/cmdline still
// holds the attempt's key, so a recycled pid is never mistaken for a live run.
// GPU slots (spec `local.gpus`): each attempt gets its own GPU ids in CUDA_VISIBLE_DEVICES, written
// to RUN_DIR/.isoflop/<key>.gpus before it starts; they are free again once Poll sees the attempt
// finished. A restarted daemon re-learns the ids of adopted attempts from those files.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "backend.h"
#include "isoflop/file_util.h"

extern char** environ;

namespace isoflop::orchestrator {
namespace {

std::string ReadCmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsZombieOrGone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return true;
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z';
}

// True when `pid` is alive and is the wrapper of attempt `key` (argv[2] of the wrapper).
bool IsOurWrapper(pid_t pid, const std::string& key) {
  if (pid <= 0 || IsZombieOrGone(pid)) return false;
  std::string cmdline = ReadCmdline(pid);
  std::string needle = std::string("\0", 1) + key + std::string("\0", 1);
  return cmdline.find(needle) != std::string::npos;
}

std::string GpuFilePath(const std::string& run_dir, const std::string& key) {
  return run_dir + "/.isoflop/" + key + ".gpus";
}

// "0,2" -> {0, 2}; an unreadable or empty file -> {}.
std::vector<int> ReadGpuFile(const std::string& run_dir, const std::string& key) {
  std::ifstream in(GpuFilePath(run_dir, key));
  std::string text;
  std::getline(in, text);
  std::vector<int> ids;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) ids.push_back(std::atoi(item.c_str()));
  }
  return ids;
}

std::string JoinIds(const std::vector<int>& ids) {
  std::string out;
  for (int id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

class LocalBackend : public Backend {
 public:
  LocalBackend(int slots, std::vector<int> gpus) : slots_(slots), gpus_(std::move(gpus)) {}
  std::string name() const override { return "local"; }
  int Capacity() const override { return slots_; }

  int FreeGpus() const override {
    if (gpus_.empty()) return -1;
    return static_cast<int>(gpus_.size() - BusyGpus().size());
  }

  StatusOr<std::string> Launch(const LaunchRequest& req) override {
    auto script = WriteLaunchScript(req.run_dir);
    if (!script.ok()) return script.status();
    // The environment of the attempt: the daemon's, with CUDA_VISIBLE_DEVICES set to the attempt's
    // own GPUs when this backend manages them ("" for a run that asks for none).
    std::vector<std::string> env;
    std::vector<int> gpus_for_launch;
    for (char** e = environ; *e != nullptr; ++e) {
      if (gpus_.empty() || std::strncmp(*e, "CUDA_VISIBLE_DEVICES=", 21) != 0) env.emplace_back(*e);
    }
    if (!gpus_.empty()) {
      std::vector<int> mine;
      const std::set<int> busy = BusyGpus();
      for (int id : gpus_) {
        if (static_cast<int>(mine.size()) >= req.resources.gpus) break;
        if (!busy.count(id)) mine.push_back(id);
      }
      if (static_cast<int>(mine.size()) < req.resources.gpus) {
        return Status::Unavailable("local backend: " + std::to_string(req.resources.gpus) + " GPUs asked, " +
                                   std::to_string(mine.size()) + " free (local.gpus)");
      }
      // On disk before the process exists, so a restarted daemon knows which GPUs it holds.
      const std::string path = GpuFilePath(req.run_dir, req.key);
      ISOFLOP_RETURN_IF_ERROR(WriteFileAtomically(path, JoinIds(mine) + "\n"));
      gpus_for_launch = mine;
      env.push_back("CUDA_VISIBLE_DEVICES=" + JoinIds(mine));
    }
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string wrapper_log = req.run_dir + "/.isoflop/wrapper.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, wrapper_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own session and process group: survives the daemon, and cancel can signal the group.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    std::vector<std::string> argv = {"/bin/bash", *script, req.key, req.run_dir};
    argv.insert(argv.end(), req.trainer_argv.begin(), req.trainer_argv.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, "/bin/bash", &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return Status::Unavailable("cannot start /bin/bash: " + std::string(std::strerror(rc)));
    if (!gpus_for_launch.empty()) assigned_[req.key] = {pid, gpus_for_launch};
    return std::to_string(pid);
  }

  StatusOr<std::optional<std::string>> FindByKey(const std::string& key,
                                                 const std::string& run_dir) override {
    // The wrapper writes its pid first thing; if we crashed before it could, scan /proc.
    std::ifstream in(PidFilePath(run_dir, key));
    pid_t pid = 0;
    if (in >> pid) {
      Adopt(key, run_dir, pid);  // an adopted attempt keeps the GPUs it was started with
      return std::optional<std::string>(std::to_string(pid));
    }
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return Status::IOError("/proc: cannot list");
    std::optional<std::string> found;
    while (dirent* e = ::readdir(proc)) {
      char* end = nullptr;
      long p = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || p <= 0) continue;
      if (IsOurWrapper(static_cast<pid_t>(p), key)) {
        Adopt(key, run_dir, static_cast<pid_t>(p));
        found = std::to_string(p);
        break;
      }
    }
    ::closedir(proc);
    return found;
  }

  StatusOr<std::map<std::string, JobState>> Poll(const std::vector<TrackedJob>& jobs) override {
    std::map<std::string, JobState> out;
    for (const TrackedJob& job : jobs) {
      pid_t pid = static_cast<pid_t>(std::strtol(job.job_id.c_str(), nullptr, 10));
      if (pid > 0) {
        int ws = 0;
        ::waitpid(pid, &ws, WNOHANG);  // reap our own children; ECHILD for adopted ones is fine
      }
      JobState state;
      if (auto code = ReadExitFile(job.run_dir, job.key)) {
        state.phase = JobPhase::kFinished;
        state.exit_code = code;
        state.reason = "exit " + std::to_string(*code);
      } else if (IsOurWrapper(pid, job.key)) {
        state.phase = JobPhase::kRunning;
      } else if (auto late = ReadExitFile(job.run_dir, job.key)) {  // exited between the checks
        state.phase = JobPhase::kFinished;
        state.exit_code = late;
        state.reason = "exit " + std::to_string(*late);
      } else {
        // Gone without an outcome: killed (OOM killer, reboot, kill -9 of the group).
        state.phase = JobPhase::kFinished;
        state.infrastructure = true;
        state.reason = "process lost without an exit status";
      }
      // GPUs: a finished attempt frees its ids; a running one holds those it was started with
      // (re-read after a daemon restart).
      if (state.phase == JobPhase::kFinished) {
        assigned_.erase(job.key);
      } else {
        Adopt(job.key, job.run_dir, pid);
      }
      out[job.job_id] = state;
    }
    return out;
  }

  Status Cancel(const TrackedJob& job) override {
    pid_t pid = static_cast<pid_t>(std::strtol(job.job_id.c_str(), nullptr, 10));
    if (!IsOurWrapper(pid, job.key)) return Status::OK();  // already finished
    // SIGTERM to the whole group: the trainer checkpoints and stops; the wrapper records it.
    if (::kill(-pid, SIGTERM) != 0 && errno != ESRCH) {
      return Status::IOError("kill " + job.job_id + ": " + std::strerror(errno));
    }
    return Status::OK();
  }

 private:
  struct Assignment {
    pid_t pid = 0;  // the attempt's wrapper
    std::vector<int> ids;
  };

  // Records the GPUs of an attempt this daemon did not start itself (after a restart).
  void Adopt(const std::string& key, const std::string& run_dir, pid_t pid) {
    if (gpus_.empty() || assigned_.count(key)) return;
    if (auto ids = ReadGpuFile(run_dir, key); !ids.empty()) assigned_[key] = {pid, ids};
  }

  // GPUs held by attempts whose wrapper is still alive. An attempt that has ended frees its
  // GPUs here even when the daemon no longer polls it (a cancelled run).
  std::set<int> BusyGpus() const {
    std::set<int> busy;
    for (auto it = assigned_.begin(); it != assigned_.end();) {
      if (!IsOurWrapper(it->second.pid, it->first)) {
        it = assigned_.erase(it);
        continue;
      }
      busy.insert(it->second.ids.begin(), it->second.ids.end());
      ++it;
    }
    return busy;
  }

  int slots_;
  std::vector<int> gpus_;                               // the pool (spec local.gpus); empty: not managed
  mutable std::map<std::string, Assignment> assigned_;  // attempt key -> its wrapper and GPU ids
};

}  // namespace

std::unique_ptr<Backend> MakeLocalBackend(int slots, const std::vector<int>& gpus) {
  return std::make_unique<LocalBackend>(slots, gpus);
}

}  // namespace isoflop::orchestrator
