// Prints the predicted-against-published table (docs/planner.md) and the worst error.
// Usage: planner_validate [CSV] [CLUSTER_YAML] [matmul_eff elementwise_factor coll_eff dp_overlap]
#include <cstdio>
#include <cstdlib>

#include "isoflop/planner.h"

int main(int argc, char** argv) {
  using namespace isoflop::planner;
  const std::string csv = argc > 1 ? argv[1] : "tests/data/parallel_configs.csv";
  const std::string cluster_path = argc > 2 ? argv[2] : "configs/clusters/a100-80gb.yaml";
  PerfOptions options;
  if (argc > 6) {
    options.matmul_efficiency = std::atof(argv[3]);
    options.elementwise_traffic_factor = std::atof(argv[4]);
    options.collective_efficiency = std::atof(argv[5]);
    options.dp_overlap = std::atof(argv[6]);
  }
  auto runs = LoadPublishedRuns(csv);
  auto cluster = LoadClusterYaml(cluster_path);
  if (!runs.ok() || !cluster.ok()) {
    std::fprintf(stderr, "%s\n", (!runs.ok() ? runs.status() : cluster.status()).ToString().c_str());
    return 2;
  }
  auto results = ValidateAgainstPublished(*runs, *cluster, options);
  if (!results.ok()) {
    std::fprintf(stderr, "%s\n", results.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", ValidationMarkdown(*results).c_str());
  double worst = 0;
  for (const auto& r : *results) worst = std::max(worst, r.worst_abs_error());
  std::printf("worst |error| = %.1f%%\n", worst * 100);
  return 0;
}
