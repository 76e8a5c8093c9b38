// Runs the real daemon (orchestrator::RunDaemon) in its own process, so tests can kill -9 it
// without linking the whole isoflop binary. Usage: daemon_helper DB [poll_min_s] [poll_max_s] [listen]
#include <cstdio>
#include <cstdlib>

#include "isoflop/orchestrator.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DB [poll_min_s] [poll_max_s] [listen]\n", argv[0]);
    return 2;
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
