// Energy and carbon for every allocated GPU-hour (docs/planner.md §5): busy GPUs by utilisation,
// idle power while waiting and for allocated GPUs a layout leaves unused, host and network power
// per node, PUE, grid intensity; 512 vs 16,384 GPUs differ by the idle and overhead terms.
#include <gtest/gtest.h>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec H100() {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}
}  // namespace

TEST(Energy, EveryTermAddsUp) {
  const ClusterSpec c = H100();
  PerfSummary layout;
  layout.config.dp = 60;  // 60 of 64 allocated GPUs busy
  layout.busy_fraction = 0.75;
  const double hours = 10, tokens = 1e12;
  const EnergyBreakdown e = TrainingEnergy(c, layout, 64, hours * 3600, tokens);
  EXPECT_NEAR(e.gpu_busy_kwh, 60 * hours * 0.75 * 0.700, 1e-9);
  EXPECT_NEAR(e.gpu_wait_kwh, 60 * hours * 0.25 * 0.070, 1e-9);
  EXPECT_NEAR(e.gpu_unused_kwh, 4 * hours * 0.070, 1e-9);
  EXPECT_NEAR(e.host_kwh, 8 * hours * 2.8, 1e-9);
  EXPECT_NEAR(e.network_kwh, 8 * hours * 0.64, 1e-9);
  EXPECT_NEAR(e.total_kwh, e.it_kwh * 1.1, 1e-9);
  EXPECT_NEAR(e.co2_kg, e.total_kwh * 0.390, 1e-9);
  EXPECT_NEAR(e.kwh_per_million_tokens, e.total_kwh / 1e6, 1e-12);
}

TEST(Energy, SameFlopsOnMoreGpusCostsTheIdleAndOverheadTerms) {
  // A 70B model on the same token budget at 512 and at 16,384 GPUs: the busy GPU energy (the
  // FLOPs) is within a few percent; the difference is waiting GPUs, hosts and network.
  const ClusterSpec c = H100();
  ModelShape m{80, 8192, 64, 8, 28672, 128256, 4096, Mlp::kSwiglu};
  const double tokens = 1.4e12;
  EnergyBreakdown e[2];
  int i = 0;
  for (int gpus : {512, 16384}) {
    LayoutSearchOptions o;
    o.gpus = gpus;
    o.global_batch = 4096;
    auto r = SearchLayouts(m, c, PerfOptions{}, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const PerfSummary& best = r->ranked.front();
    const double wall = tokens / best.tokens_per_s;
    e[i++] = TrainingEnergy(c, best, gpus, wall, tokens);
  }
  EXPECT_NEAR(e[1].gpu_busy_kwh / e[0].gpu_busy_kwh, 1.0, 0.10);
  EXPECT_GT(e[1].total_kwh, e[0].total_kwh);
  const double overhead0 = e[0].gpu_wait_kwh + e[0].gpu_unused_kwh + e[0].host_kwh + e[0].network_kwh;
  const double overhead1 = e[1].gpu_wait_kwh + e[1].gpu_unused_kwh + e[1].host_kwh + e[1].network_kwh;
  EXPECT_GT(overhead1, overhead0);
  // The difference in IT energy is the difference in busy energy plus the overhead terms.
  EXPECT_NEAR(e[1].it_kwh - e[0].it_kwh,
              (e[1].gpu_busy_kwh - e[0].gpu_busy_kwh) + (overhead1 - overhead0), 1e-6 * e[1].it_kwh);
  // The model-card convention (GPU-hours x TDP) ignores all of it.
}
