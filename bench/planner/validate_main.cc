// Prints the predicted-against-published table (docs/planner.md §7) with the worst error on the
// calibration and on the held-out rows.
// Usage: planner_validate [CSV] [CLUSTERS_DIR]   (run from the repository root)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "isoflop/planner.h"

int main(int argc, char** argv) {
  using namespace isoflop::planner;
  const std::string csv = argc > 1 ? argv[1] : "tests/data/parallel_configs.csv";
  const std::string clusters = argc > 2 ? argv[2] : "configs/clusters";
  auto runs = LoadPublishedRuns(csv);
  if (!runs.ok()) {
    std::fprintf(stderr, "%s\n", runs.status().ToString().c_str());
    return 2;
  }
  auto results = ValidateAgainstPublished(*runs, clusters, PerfOptions{});
  if (!results.ok()) {
    std::fprintf(stderr, "%s\n", results.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", ValidationMarkdown(*results).c_str());
  if (const char* id = std::getenv("PLANNER_VALIDATE_DETAIL")) {
    for (const auto& r : *results)
      if (r.run.id == id) std::printf("\n%s\n", r.predicted.FullReport().c_str());
  }
  double worst[2] = {0, 0};
  int count[2] = {0, 0};
  for (const auto& r : *results) {
    const int held = r.run.held_out() ? 1 : 0;
    worst[held] = std::max(worst[held], r.worst_abs_error());
    ++count[held];
  }
  std::printf("worst |error|: calibration %.1f%% (%d rows), held out %.1f%% (%d rows)\n", worst[0] * 100, count[0],
              worst[1] * 100, count[1]);
  return 0;
}
