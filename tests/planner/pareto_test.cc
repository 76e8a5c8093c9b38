// The Pareto front of wall-clock against cost and energy over whole-node GPU counts, and the
// objective's choice (cost by default; time; energy) with a deadline.
#include <gtest/gtest.h>

#include <algorithm>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
ClusterSpec H100(int nodes) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  c->nodes = nodes;
  return *c;
}
const ModelShape k13B{40, 5120, 40, 8, 13824, 128256, 4096, Mlp::kSwiglu};
constexpr double kTokens = 2.6e11;

isoflop::StatusOr<ParetoResult> Front(const ParetoOptions& o) {
  const ClusterSpec c = H100(128);
  LayoutSearchOptions s;
  s.global_batch = 2048;
  auto r = SearchLayouts(k13B, c, PerfOptions{}, s);
  if (!r.ok()) return r.status();
  return BuildPareto(r->per_allocation, c, kTokens, o, [](const PerfSummary& l) { return kTokens / l.tokens_per_s; });
}
}  // namespace

TEST(Pareto, FrontIsNonDominatedAndSpansGpuCounts) {
  auto r = Front(ParetoOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->front.size(), 5u);
  for (size_t i = 1; i < r->front.size(); ++i) {
    const ParetoPoint& a = r->front[i - 1];
    const ParetoPoint& b = r->front[i];
    EXPECT_LT(a.gpus_allocated, b.gpus_allocated);
    EXPECT_EQ(a.gpus_allocated % 8, 0);
    // Neither dominates the other.
    const bool a_dom = a.wall_clock_s <= b.wall_clock_s && a.cost_usd <= b.cost_usd &&
                       a.energy.total_kwh <= b.energy.total_kwh;
    const bool b_dom = b.wall_clock_s <= a.wall_clock_s && b.cost_usd <= a.cost_usd &&
                       b.energy.total_kwh <= a.energy.total_kwh;
    EXPECT_FALSE(a_dom || b_dom) << a.gpus_allocated << " vs " << b.gpus_allocated;
  }
  EXPECT_GE(r->front.back().gpus_allocated, 512);  // reaches far up the cluster
  EXPECT_LE(r->Thinned(6).size(), 7u);
}

TEST(Pareto, ObjectivesPickTheirEndOfTheFront) {
  ParetoOptions cost, time, energy;
  time.objective = Objective::kTime;
  energy.objective = Objective::kEnergy;
  auto c = Front(cost), t = Front(time), e = Front(energy);
  ASSERT_TRUE(c.ok() && t.ok() && e.ok());
  const ParetoPoint& pc = c->front[c->chosen];
  const ParetoPoint& pt = t->front[t->chosen];
  const ParetoPoint& pe = e->front[e->chosen];
  EXPECT_LE(pc.cost_usd, c->best_cost_usd * 1.05);
  EXPECT_LE(pt.wall_clock_s, t->best_wall_clock_s * 1.05);
  EXPECT_LE(pe.energy.total_kwh, e->best_energy_kwh * 1.05);
  EXPECT_LE(pt.wall_clock_s, pc.wall_clock_s);
  EXPECT_GE(pt.cost_usd, pc.cost_usd);
  EXPECT_NE(c->choice.find("cost"), std::string::npos);
}

TEST(Pareto, DeadlineRestrictsAndAnImpossibleOneSaysWhy) {
  auto free_run = Front(ParetoOptions{});
  ASSERT_TRUE(free_run.ok());
  double slowest = 0, fastest = 1e300;
  for (const ParetoPoint& p : free_run->front) {
    slowest = std::max(slowest, p.wall_clock_s);
    fastest = std::min(fastest, p.wall_clock_s);
  }
  ParetoOptions tight;
  tight.deadline_s = (slowest + fastest) / 2;
  auto r = Front(tight);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LE(r->front[r->chosen].wall_clock_s, tight.deadline_s);
  EXPECT_FALSE(r->front.front().meets_deadline && slowest > tight.deadline_s && r->front.front().wall_clock_s == slowest);
  ParetoOptions impossible;
  impossible.deadline_s = fastest / 2;
  auto bad = Front(impossible);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("deadline"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("fastest takes"), std::string::npos) << bad.status().message();
}
