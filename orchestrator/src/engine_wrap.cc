// `isoflop runs wrap`: runs an external engine (Megatron-LM, torchtitan, nanoGPT) as a sweep's
// trainer_command and turns its log into the run directory the daemon reads (docs/orchestrator.md,
// "Runs from other engines").
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "isoflop/run_import.h"

namespace isoflop::orchestrator {
namespace {

std::atomic<int> g_pending_signal{0};

void OnSignal(int sig) {
  g_pending_signal.store(sig);
}

void WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

int RunEngine(const EngineRunOptions& options, std::string* message) {
  if (options.format != "megatron-log" && options.format != "torchtitan-log" &&
      options.format != "nanogpt-log") {
    *message = "unknown --format '" + options.format + "' (megatron-log, torchtitan-log, nanogpt-log)";
    return 2;
  }
  if (options.command.empty()) {
    *message = "no engine command after --";
    return 2;
  }
  std::string run_dir = options.run_dir;
  for (size_t i = 0; options.run_dir.empty() && i + 1 < options.command.size(); ++i) {
    if (options.command[i] == "--out") run_dir = options.command[i + 1];  // the last one wins
  }
  if (run_dir.empty()) {
    *message =
        "no run directory: pass --run-dir, or an --out DIR in the engine's arguments (the orchestrator "
        "appends one)";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  const std::string log_path = run_dir + "/engine.log";
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *message = "cannot open " + log_path + ": " + std::strerror(errno);
    return 1;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *message = std::string("pipe: ") + std::strerror(errno);
    ::close(log_fd);
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) ::sigaction(sig, &sa, nullptr);

  const pid_t child = ::fork();
  if (child < 0) {
    *message = std::string("fork: ") + std::strerror(errno);
    return 1;
  }
  if (child == 0) {
    ::setpgid(0, 0);  // its own group: a forwarded signal reaches torchrun and its workers alike
    for (int sig : {SIGTERM, SIGUSR1, SIGINT}) ::signal(sig, SIG_DFL);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    std::vector<char*> argv;
    for (const auto& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    const std::string err =
        "isoflop runs wrap: cannot run " + options.command[0] + ": " + std::strerror(errno) + "\n";
    WriteAll(2, err.data(), err.size());
    ::_exit(127);
  }
  ::setpgid(child, child);
  ::close(pipe_fds[1]);
  bool forwarded = false;
  char buf[65536];
  int status = 0;
  bool exited = false;
  // Copy the engine's output until it exits; then what is left in the pipe (a straggler of its
  // group that keeps the pipe open does not hold the wrapper up for more than a few seconds).
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    if (const int sig = g_pending_signal.exchange(0); sig != 0) {
      ::kill(-child, sig);
      forwarded = true;
    }
    if (!exited && ::waitpid(child, &status, WNOHANG) == child) {
      exited = true;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    }
    if (exited && std::chrono::steady_clock::now() > deadline) break;
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, exited ? 50 : 200);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (exited) break;  // drained
      continue;
    }
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (exited) break;
      // Every writer closed the pipe; wait for the exit status (a signal interrupts the wait and
      // is forwarded: no SA_RESTART).
      while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) break;
        if (const int sig = g_pending_signal.exchange(0); sig != 0) {
          ::kill(-child, sig);
          forwarded = true;
        }
      }
      exited = true;
      break;
    }
    WriteAll(log_fd, buf, static_cast<size_t>(n));
    WriteAll(2, buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  ::close(log_fd);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  auto run = ParseEngineLog(options.format, log_path, options.overrides);
  if (forwarded) {
    // The engine checkpoints on the signal (Megatron --exit-signal-handler, torchtitan's checkpointer,
    // ...): a requeue resumes it. Progress so far is kept, the summary waits for the end.
    if (run.ok()) WriteRunDirectory(*run, run_dir, /*with_summary=*/false);
    *message = "engine stopped by a forwarded signal (exit " + std::to_string(code) + "): preempted";
    return 75;
  }
  if (code != 0) {
    if (run.ok()) WriteRunDirectory(*run, run_dir, /*with_summary=*/false);
    *message = "engine exited with " + std::to_string(code) + " (log: " + log_path + ")";
    return code >= 1 && code <= 125 ? code : 1;
  }
  if (!run.ok()) {
    *message = "engine exited 0 but its log gives no result: " + run.status().message();
    return 1;
  }
  const Status written = WriteRunDirectory(*run, run_dir);
  if (!written.ok()) {
    *message = written.message();
    return 1;
  }
  *message = "loss " + std::to_string(run->loss) + " (" + run->loss_kind + ") at " +
             std::to_string(run->tokens) + " tokens";
  return 0;
}

}  // namespace isoflop::orchestrator
