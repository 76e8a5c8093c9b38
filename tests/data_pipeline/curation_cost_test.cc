// The planner's data arithmetic (curation_cost.h): tokens → bytes of curated text → node-hours.
#include "isoflop/curation_cost.h"

#include <gtest/gtest.h>

namespace isoflop::data {
namespace {

TEST(CurationCost, Llama3ScaleTokensNeedTensOfTerabytes) {
  // Llama 3 405B trained on 15.6T tokens (Dubey et al. 2024, §3.3).
  const CurationEstimate e = EstimateCuration(15.6e12);
  EXPECT_NEAR(e.curated_bytes / 1e12, 15.6 * 3.94, 1e-9);  // 61.5 TB
  EXPECT_DOUBLE_EQ(e.input_bytes, e.curated_bytes);
  EXPECT_NEAR(e.core_hours, e.input_bytes / 1e9 * kBuildCpuSecondsPerGB / 3600, 1e-9);
  EXPECT_NEAR(e.cpu_node_hours * 64, e.core_hours, 1e-9);
  // 61.5 TB × 4 bytes moved per byte at 2 GB/s per node: 34 node-hours of I/O against 6.7 of
  // CPU on 64 cores: the file system bounds it.
  EXPECT_NEAR(e.io_node_hours, 61.464e12 * 4 / 2e9 / 3600, 1e-6);
  EXPECT_DOUBLE_EQ(e.node_hours, e.io_node_hours);
  EXPECT_GT(e.io_node_hours, e.cpu_node_hours);
  // A crawl that keeps a tenth of its bytes is read ten times over.
  const CurationEstimate web = EstimateCuration(15.6e12, 0.1, 128, 20.0);
  EXPECT_NEAR(web.input_bytes, 10 * e.curated_bytes, 1e-3);
  EXPECT_NEAR(web.cpu_node_hours, 10 * e.core_hours / 128, 1e-9);
}

TEST(CurationCost, NonsenseGivesZeros) {
  EXPECT_EQ(EstimateCuration(-1).curated_bytes, 0);
  EXPECT_EQ(EstimateCuration(1e9, 0).node_hours, 0);
  EXPECT_EQ(EstimateCuration(1e9, 1.5).node_hours, 0);
  EXPECT_EQ(EstimateCuration(1e9, 0.5, 0).node_hours, 0);
  EXPECT_EQ(EstimateCuration(1e9, 0.5, 64, 0).node_hours, 0);
}

}  // namespace
}  // namespace isoflop::data
