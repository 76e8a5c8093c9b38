// Runs a program in a child process (execv, no shell) and measures what that child alone used:
// wall time, and peak RSS from wait4 (the kernel's count for the child, not for the test). Shared
// by the tests that hold a command to a memory bound through the real binary (issue 15, finding 12).
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace isoflop::testing {

struct MeasuredRun {
  int exit_code = -1;  // 128 + signal when the child was killed
  std::string out, err;
  double peak_rss_mib = 0;
  double wall_s = 0;
};

// The child's stdout and stderr go through files in `scratch_dir`, named after this process's pid
// (tests of other executables may share the directory).
inline MeasuredRun RunMeasured(const std::string& program, const std::vector<std::string>& args,
                               const std::string& scratch_dir) {
  const std::string prefix = scratch_dir + "/" + std::to_string(::getpid()) + "-";
  const std::string out = prefix + "stdout.txt", err = prefix + "stderr.txt";
  const auto t0 = std::chrono::steady_clock::now();
  pid_t child = ::fork();
  if (child == 0) {
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr)) ::_exit(127);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(child, &status, 0, &usage);
  MeasuredRun r;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_mib = usage.ru_maxrss / 1024.0;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

}  // namespace isoflop::testing
