// Runs the real daemon (orchestrator::RunDaemon) in its own process, so tests can kill -9 it
// without linking the whole isoflop binary. Usage: daemon_helper DB [poll_min_s] [poll_max_s] [listen]
//
// ISOFLOP_DAEMON_CRASH_AT=<step>[:<n>] (crash tests): SIGKILL this process the n-th time the daemon
// reaches <step> of its protocol (after-intent, after-launch, after-poll, after-refit), through the
// daemon's test seam; the isoflop binary has no such hook.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon_internal.h"
#include "isoflop/orchestrator.h"

namespace {

std::string g_crash_step;
int g_crash_after = 1;
int g_crash_seen = 0;

void CrashAtStep(const char* step) {
  if (g_crash_step == step && ++g_crash_seen >= g_crash_after) ::kill(::getpid(), SIGKILL);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DB [poll_min_s] [poll_max_s] [listen]\n", argv[0]);
    return 2;
  }
  if (const char* spec = std::getenv("ISOFLOP_DAEMON_CRASH_AT"); spec != nullptr && *spec != '\0') {
    const std::string s = spec;
    const size_t colon = s.find(':');
    g_crash_step = s.substr(0, colon);
    g_crash_after = colon == std::string::npos ? 1 : std::atoi(s.c_str() + colon + 1);
    isoflop::orchestrator::SetDaemonStepHookForTesting(&CrashAtStep);
  }
  isoflop::orchestrator::DaemonOptions options;
  options.db_path = argv[1];
  options.poll_min_s = argc > 2 ? std::atof(argv[2]) : 0.05;
  options.poll_max_s = argc > 3 ? std::atof(argv[3]) : 0.2;
  options.listen = argc > 4 ? argv[4] : "off";
  options.exit_when_idle = true;
  options.max_runtime_s = 240;
  options.verbose = std::getenv("ISOFLOP_TEST_VERBOSE") != nullptr;
  auto summary = isoflop::orchestrator::RunDaemon(options);
  if (!summary.ok()) {
    std::fprintf(stderr, "daemon: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", summary->BriefReport().c_str());
  return 0;
}
