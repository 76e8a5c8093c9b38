#include "backend.h"
#include "isoflop/file_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace isoflop::orchestrator {

namespace fs = std::filesystem;

// Arguments: $1 idempotency key (a job array's task appends "-TASK"), $2 run dir, then the
// trainer's argv. Nothing user-controlled
// is ever part of this text; it only moves "$@" around. Signals: Slurm's --signal=B:USR1@N and
// scancel --signal reach this (batch) shell; they are forwarded to the trainer, which
// checkpoints and exits 75 (docs/interfaces.md). A requeued Slurm job reruns this from the top
// and resumes from the checkpoint.
const char* const kLaunchScript = R"sh(#!/bin/bash
# isoflop launch wrapper (written by the orchestrator; do not edit).
key=$1
dir=$2
shift 2
# A task of a job array has its own key: its own pid file and exit record, and its own lock (the
# tasks of one array share the directory and run side by side: none is another's orphan).
slot=
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then key="$key-$SLURM_ARRAY_TASK_ID"; slot="-$SLURM_ARRAY_TASK_ID"; fi
meta="$dir/.isoflop"
mkdir -p "$meta" || exit 1
echo "$$" > "$meta/$key.pid.tmp" && mv -f "$meta/$key.pid.tmp" "$meta/$key.pid"
printf '%s %s %s %s\n' "$(date +%s)" "$key" "$$" "${SLURM_JOB_ID:-local}" >> "$meta/launches.log"
rm -f "$meta/$key.exit"
finish() {
  echo "$1 ${SLURM_JOB_ID:-} ${SLURM_RESTART_COUNT:-0}" > "$meta/$key.exit.tmp" && mv -f "$meta/$key.exit.tmp" "$meta/$key.exit"
  exit "$1"
}
# One trainer per run directory: this wrapper and its trainer (which inherits fd 9) hold an flock
# on attempt.lock for as long as either lives. A trainer orphaned by an earlier wrapper that was
# killed still holds it: ask it to stop (SIGTERM: it checkpoints and exits 75), wait for the lock,
# and resume from its checkpoint; one that ignores TERM for 120 s gets SIGKILL.
exec 9>>"$meta/attempt$slot.lock" || finish 1
if ! flock -n 9; then
  old=$(cat "$meta/trainer$slot.pid" 2>/dev/null)
  # Only a process working in this directory is the orphan (a recycled pid is left alone).
  if [ -n "$old" ] && [ "$(readlink "/proc/$old/cwd" 2>/dev/null)" != "$(cd "$dir" && pwd -P)" ]; then old=; fi
  echo "isoflop: a trainer of an earlier attempt (pid ${old:-unknown}) still runs in this directory; stopping it" >> "$dir/train.log"
  if [ -n "$old" ]; then kill -TERM "$old" 2>/dev/null; fi
  if ! flock -w 120 9; then
    if [ -n "$old" ]; then kill -KILL "$old" 2>/dev/null; fi
    flock -w 30 9 || { echo "isoflop: the run directory stays locked by another process" >> "$dir/train.log"; finish 1; }
  fi
fi
if [ -f "$dir/checkpoint.pt" ]; then set -- "$@" --resume; fi
child=
forward() { if [ -n "$child" ]; then kill "-$1" "$child" 2>/dev/null; fi; }
trap 'forward USR1' USR1
trap 'forward TERM' TERM
trap 'forward INT' INT
cd "$dir" || exit 1
"$@" >> "$dir/train.log" 2>&1 &
child=$!
echo "$child" > "$meta/trainer$slot.pid"
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
# A wait interrupted by a trap returns 128+signal; bash still holds the child's real status.
wait "$child" 2>/dev/null
final=$?
if [ "$final" -ne 127 ]; then rc=$final; fi
finish "$rc"
)sh";

std::string ExitFilePath(const std::string& run_dir, const std::string& key) {
  return run_dir + "/.isoflop/" + key + ".exit";
}
std::string PidFilePath(const std::string& run_dir, const std::string& key) {
  return run_dir + "/.isoflop/" + key + ".pid";
}

std::optional<int> ReadExitFile(const std::string& run_dir, const std::string& key) {
  if (auto record = ReadExitRecord(run_dir, key)) return record->code;
  return std::nullopt;
}

std::optional<ExitRecord> ReadExitRecord(const std::string& run_dir, const std::string& key) {
  std::string path = ExitFilePath(run_dir, key);
  std::ifstream in(path);
  ExitRecord r;
  if (!(in >> r.code)) return std::nullopt;
  std::string job, restarts;
  if (in >> job >> restarts) {  // outside Slurm the wrapper writes "CODE  0": no job id
    r.job_id = job;
    r.restarts = std::atoi(restarts.c_str());
  }
  std::error_code ec;
  auto written = fs::last_write_time(path, ec);
  if (!ec) r.age_s = std::chrono::duration<double>(fs::file_time_type::clock::now() - written).count();
  return r;
}

StatusOr<std::string> WriteLaunchScript(const std::string& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir + "/.isoflop", ec);
  if (ec) return Status::IOError(run_dir + "/.isoflop: " + ec.message());
  std::string path = run_dir + "/.isoflop/launch.sh";
  AtomicWriteOptions executable;
  executable.mode = 0755;
  ISOFLOP_RETURN_IF_ERROR(WriteFileAtomically(path, kLaunchScript, executable));
  return path;
}

StatusOr<std::string> RunProgram(const std::vector<std::string>& argv, int* exit_code,
                                 const std::vector<std::string>& extra_env) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return Status::Unavailable(argv[0] + ": cannot run: " + std::strerror(rc));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(pipefd[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  *exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return out;
}

std::unique_ptr<Backend> MakeLocalBackend(int slots, const std::vector<int>& gpus);
StatusOr<std::unique_ptr<Backend>> MakeSlurmBackend(const std::string& slurm_conf);

StatusOr<std::unique_ptr<Backend>> MakeBackend(const std::string& backend, int local_slots,
                                               const std::string& slurm_conf,
                                               const std::vector<int>& local_gpus) {
  if (backend == "local") return MakeLocalBackend(local_slots, local_gpus);
  if (backend == "slurm") return MakeSlurmBackend(slurm_conf);
  return Status::InvalidArgument("backend: expected local or slurm, got '" + backend + "'");
}

}  // namespace isoflop::orchestrator
