// The layout search (docs/planner.md §6): the global batch is fixed before the search and never
// rounded (DP x micro-batch divides it and every batch of a ramp), allocations are whole nodes,
// an engine hook can refuse layouts, and a batch nothing divides is an error naming it.
#include <gtest/gtest.h>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec H100(int nodes) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  c->nodes = nodes;
  return *c;
}
const ModelShape k7B{32, 4096, 32, 8, 14336, 128256, 4096, Mlp::kSwiglu};
}  // namespace

TEST(LayoutSearch, BatchIsNeverRoundedAndDataParallelismDividesIt) {
  LayoutSearchOptions o;
  o.gpus = 96;  // 12 nodes
  o.global_batch = 1000;
  o.top_k = 50;
  auto r = SearchLayouts(k7B, H100(16), PerfOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const PerfSummary& s : r->ranked) {
    EXPECT_EQ(s.config.global_batch, 1000);
    EXPECT_EQ(1000 % (s.config.dp * s.config.micro_batch), 0) << s.config.ToString();
    EXPECT_LE(s.config.gpus(), 96);
    EXPECT_GE(s.config.gpus(), 84);  // >= 7/8 of the allocation busy
  }
}

TEST(LayoutSearch, RampBatchesAreDividedToo) {
  LayoutSearchOptions o;
  o.gpus = 64;
  o.global_batch = 1024;
  o.ramp_batches = {256, 512};
  o.top_k = 50;
  auto r = SearchLayouts(k7B, H100(8), PerfOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const PerfSummary& s : r->ranked) EXPECT_EQ(256 % (s.config.dp * s.config.micro_batch), 0);
}

TEST(LayoutSearch, SweepCoversWholeNodeAllocations) {
  LayoutSearchOptions o;
  o.global_batch = 1024;
  o.max_gpus = 256;
  auto r = SearchLayouts(k7B, H100(64), PerfOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->per_allocation.size(), 5u);
  int previous = 0;
  for (const LayoutAllocation& a : r->per_allocation) {
    EXPECT_EQ(a.gpus_allocated % 8, 0);
    EXPECT_GT(a.gpus_allocated, previous);
    EXPECT_LE(a.best.config.gpus(), a.gpus_allocated);
    EXPECT_GT(a.best.config.gpus(), a.gpus_allocated - 8);  // needs this many nodes
    EXPECT_TRUE(a.best.feasible);
    previous = a.gpus_allocated;
  }
  EXPECT_LE(previous, 256);
}

TEST(LayoutSearch, EngineHookRefusesLayouts) {
  // The hook the engine rules (issue 12) plug into: e.g. Megatron's "layers divisible by PP x VPP".
  LayoutSearchOptions o;
  o.gpus = 64;
  o.global_batch = 512;
  o.top_k = 100;
  int asked = 0;
  o.accept = [&](const ModelShape& m, const ParallelConfig& c, std::string* why) {
    ++asked;
    if (m.layers % (c.pp * c.vpp) != 0 || c.first_stage_layers != 0) {
      *why = "layers not divisible by PP x VPP";
      return false;
    }
    return true;
  };
  auto r = SearchLayouts(k7B, H100(8), PerfOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(asked, 0);
  EXPECT_GT(r->rejected_by_engine, 0);
  for (const PerfSummary& s : r->ranked) EXPECT_EQ(32 % (s.config.pp * s.config.vpp), 0) << s.config.ToString();
}

TEST(LayoutSearch, BatchNothingDividesIsAnErrorNamingIt) {
  // Two layers and 8 heads: at most TP8 x PP2 = 16 GPUs per replica, so 64 GPUs need DP >= 4,
  // and nothing between 4 and 64 divides a batch of 53 sequences.
  const ModelShape tiny{2, 1024, 8, 8, 4096, 32000, 2048, Mlp::kGelu};
  LayoutSearchOptions o;
  o.gpus = 64;
  o.global_batch = 53;
  auto r = SearchLayouts(tiny, H100(8), PerfOptions{}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("53"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("divides"), std::string::npos) << r.status().message();
}
