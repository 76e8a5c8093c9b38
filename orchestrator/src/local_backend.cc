// The local backend: runs each attempt as a process group on this machine, up to `slots` at
// once. Processes are started in their own session so they survive a daemon crash; the wrapper's
// exit file carries the outcome across it. A pid is trusted only while /proc/PID/cmdline still
// holds the attempt's key, so a recycled pid is never mistaken for a live run.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "backend.h"

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

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(int slots) : slots_(slots) {}
  std::string name() const override { return "local"; }
  int Capacity() const override { return slots_; }

  StatusOr<std::string> Launch(const LaunchRequest& req) override {
    auto script = WriteLaunchScript(req.run_dir);
    if (!script.ok()) return script.status();
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
    int rc = posix_spawn(&pid, "/bin/bash", &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return Status::Unavailable("cannot start /bin/bash: " + std::string(std::strerror(rc)));
    return std::to_string(pid);
  }

  StatusOr<std::optional<std::string>> FindByKey(const std::string& key,
                                                 const std::string& run_dir) override {
    // The wrapper writes its pid first thing; if we crashed before it could, scan /proc.
    std::ifstream in(PidFilePath(run_dir, key));
    pid_t pid = 0;
    if (in >> pid) return std::optional<std::string>(std::to_string(pid));
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return Status::IOError("/proc: cannot list");
    std::optional<std::string> found;
    while (dirent* e = ::readdir(proc)) {
      char* end = nullptr;
      long p = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || p <= 0) continue;
      if (IsOurWrapper(static_cast<pid_t>(p), key)) {
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
  int slots_;
};

}  // namespace

std::unique_ptr<Backend> MakeLocalBackend(int slots) {
  return std::make_unique<LocalBackend>(slots);
}

}  // namespace isoflop::orchestrator
