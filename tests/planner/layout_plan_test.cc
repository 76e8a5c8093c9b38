// The layout part of a plan at issue 13's example: 5.76e23 FLOPs under Epoch's law on the shipped
// 16,384-GPU H100 cluster. The cost objective picks a point within 5% of the cheapest on its own
// Pareto front, and the front has at least 5 points from a few hundred GPUs to the whole cluster.
#include <gtest/gtest.h>

#include "isoflop/planner.h"
#include "isoflop/scaling_law.h"

using namespace isoflop::planner;

namespace {
ClusterSpec H100() {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}
struct EpochRun {
  ModelShape shape;
  double tokens, loss;
};
EpochRun EpochAt576e21() {
  const isoflop::ScalingLaw law = isoflop::EpochLaw();
  const double C = 5.76e23;
  ShapeSearchOptions so;
  so.vocab = 51200;
  so.seq_len = 2048;
  const double n = isoflop::OptimalParams(law, C), d = isoflop::OptimalTokens(law, C);
  const ModelShape shape = ShapesForParams(n, so).front();
  return {shape, C / (6 * shape.ParamsTotal()), isoflop::PredictLoss(law, n, d)};
}
}  // namespace

TEST(LayoutPlan, CostObjectiveOnItsOwnFrontAtTheIssuesBudget) {
  const EpochRun run = EpochAt576e21();
  LayoutPlanOptions o;
  LayoutPlan plan;
  ASSERT_TRUE(PlanLayouts(run.shape, run.tokens, 5.76e23, run.loss, H100(), o, &plan).ok());
  const ParetoResult& f = plan.pareto;
  ASSERT_GE(f.front.size(), 5u);
  EXPECT_LE(f.front.front().gpus_allocated, 512);     // from a few hundred GPUs...
  EXPECT_GE(f.front.back().gpus_allocated, 8192);     // ...to (most of) the cluster
  EXPECT_LE(plan.cost_usd, f.best_cost_usd * 1.05);   // within 5% of the cheapest point
  EXPECT_EQ(plan.gpus_allocated, f.front[f.chosen].gpus_allocated);
  EXPECT_EQ(plan.chosen.config.global_batch, plan.batch.sequences);
  EXPECT_EQ(plan.batch.sequences % (plan.chosen.config.dp * plan.chosen.config.micro_batch), 0);
  // The whole cluster is on the front but costs more than the choice.
  EXPECT_GT(f.front.back().cost_usd, plan.cost_usd);
}

TEST(LayoutPlan, FixedAllocationAndMaxGpus) {
  const EpochRun run = EpochAt576e21();
  LayoutPlanOptions o;
  o.gpus = 2048;
  LayoutPlan fixed;
  ASSERT_TRUE(PlanLayouts(run.shape, run.tokens, 5.76e23, run.loss, H100(), o, &fixed).ok());
  EXPECT_EQ(fixed.gpus_allocated, 2048);
  EXPECT_EQ(fixed.pareto.front.size(), 1u);
  LayoutPlanOptions capped;
  capped.max_gpus = 1024;
  LayoutPlan c;
  ASSERT_TRUE(PlanLayouts(run.shape, run.tokens, 5.76e23, run.loss, H100(), capped, &c).ok());
  EXPECT_LE(c.pareto.front.back().gpus_allocated, 1024);
  LayoutPlanOptions bad;
  bad.max_gpus = 1020;  // not whole 8-GPU nodes
  EXPECT_EQ(PlanLayouts(run.shape, run.tokens, 5.76e23, run.loss, H100(), bad, &c).code(),
            isoflop::Status::Code::kInvalidArgument);
}

TEST(LayoutPlan, RampAddsStepsAtSmallerBatches) {
  const EpochRun run = EpochAt576e21();
  LayoutPlanOptions o;
  o.gpus = 1024;
  LayoutPlan flat, ramped;
  ASSERT_TRUE(PlanLayouts(run.shape, run.tokens, 5.76e23, run.loss, H100(), o, &flat).ok());
  o.ramp = {{0.25, 0.02}, {0.5, 0.2}};
  ASSERT_TRUE(PlanLayouts(run.shape, run.tokens, 5.76e23, run.loss, H100(), o, &ramped).ok());
  EXPECT_GT(ramped.steps, flat.steps);
  EXPECT_GE(ramped.wall_clock_s, flat.wall_clock_s * 0.999);
  EXPECT_EQ(ramped.batch.ramp_sequences.size(), 2u);
  for (int b : ramped.batch.ramp_sequences)
    EXPECT_EQ(b % (ramped.chosen.config.dp * ramped.chosen.config.micro_batch), 0);
}
