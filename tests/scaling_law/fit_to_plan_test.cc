// The fit -> plan handoff on real components: the real fitter writes fit.json, the real planner
// reads it. Llama 3's own method (Approach 2 on its IsoFLOP points) plans its published model; a
// plan counts N the way the fit did; a budget outside the evidence is refused, or flagged.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "isoflop/fitter.h"
#include "isoflop/planner.h"

using namespace isoflop;

namespace {
planner::ClusterSpec H100() {
  auto c = planner::LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

// fit -> fit.json on disk -> LoadLaw, as `isoflop fit --out` then `isoflop plan --law` do.
FitRecord FitAndReload(const std::vector<RunPoint>& runs, const FitOptions& options,
                       const std::string& name) {
  FitSummary summary;
  const Status st = Fit(runs, options, &summary);
  EXPECT_TRUE(st.ok()) << st.ToString();
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << summary.ToJson();
  auto record = LoadLaw(path);
  EXPECT_TRUE(record.ok()) << record.status().ToString();
  return *record;
}

std::vector<RunPoint> Llama3Points() {
  CsvOptions csv;
  EXPECT_TRUE(csv.ParseColumns("flops=compute_budget,tokens=training_tokens,loss=validation_loss").ok());
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/llama3_isoflops_points_ericczech.csv", csv);
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  return *runs;
}
}  // namespace

// Dubey et al. 2024 (Llama 3), Sec. 3.2.1: from these IsoFLOP points, 3.8e25 FLOPs -> a 402B model on
// 16.55T tokens.
TEST(FitToPlan, Llama3ApproachTwoPlansItsPublishedModel) {
  FitOptions options;
  options.method = FitMethod::kParabola;
  const FitRecord law = FitAndReload(Llama3Points(), options, "l3.json");
  planner::PlanOptions plan_options;
  plan_options.budget = 3.8e25;
  plan_options.seq_len = 8192;
  plan_options.vocab = 128256;
  planner::PlanSummary plan;
  const Status st = planner::Plan(plan_options, law, H100(), &plan);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_NEAR(plan.params_opt / 402e9, 1.0, 0.10) << plan.params_opt;
  EXPECT_NEAR(plan.tokens_opt / 16.55e12, 1.0, 0.10) << plan.tokens_opt;
  EXPECT_NEAR(plan.shape_params / 402e9, 1.0, 0.10) << plan.shape_params;
  EXPECT_NEAR(plan.train_tokens / 16.55e12, 1.0, 0.10) << plan.train_tokens;
  EXPECT_TRUE(plan.evidence.supported) << plan.evidence.reason;  // 3,800x: within 10,000x
  EXPECT_TRUE(std::isnan(plan.loss_pred));  // Approach 2 predicts an allocation, not a loss
}

// The same fit.json gives the same N_opt through the fitter's law, `isoflop predict` and the planner.
TEST(FitToPlan, OneCodePathForNOpt) {
  FitOptions options;
  options.drop_highest_loss = 5;
  options.bootstrap_resamples = 40;
  options.seed = 3;
  CsvOptions csv;
  auto runs = LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/chinchilla_epoch.csv", csv);
  ASSERT_TRUE(runs.ok());
  FitSummary summary;
  ASSERT_TRUE(Fit(*runs, options, &summary).ok());
  const FitRecord law = FitAndReload(*runs, options, "epoch_fit.json");
  const double budget = 1e23;
  auto predicted = PredictAtBudget(law, budget);
  ASSERT_TRUE(predicted.ok());
  planner::PlanOptions plan_options;
  plan_options.budget = budget;
  planner::PlanSummary plan;
  ASSERT_TRUE(planner::Plan(plan_options, law, H100(), &plan).ok());
  EXPECT_EQ(plan.params_opt, predicted->params_opt);
  EXPECT_EQ(plan.params_opt, OptimalParams(summary.law, budget));
  ASSERT_TRUE(plan.params_interval.has_value());
  EXPECT_EQ(plan.params_interval->lo, predicted->params_opt_interval->lo);
  EXPECT_EQ(plan.params_interval->hi, predicted->params_opt_interval->hi);
}

// A sweep of tiny runs cannot support 1e24 FLOPs: refused with the reason; planned and flagged
// with allow_extrapolation. The shape counts N the way the sweep did (non-embedding, its vocab).
TEST(FitToPlan, TinySweepRefusesFarBudgetsAndCountsNItsOwnWay) {
  // A synthetic sweep from a known law, small budgets only (3e9..3e10 FLOPs, 1.7K-25K parameters).
  const ScalingLaw truth = EpochLaw();
  std::vector<RunPoint> runs;
  for (double c : {3e9, 1e10, 3e10})
    for (double n : {1.7e3, 3e3, 6e3, 1.2e4, 2.5e4}) {
      RunPoint p;
      p.params = n;
      p.tokens = c / (6 * n);
      p.loss = PredictLoss(truth, p.params, p.tokens);
      runs.push_back(p);
    }
  FitOptions options;
  options.method = FitMethod::kParabola;
  options.bootstrap_resamples = 50;
  options.seed = 1;
  options.params_convention = ParamsConvention::kNonEmbedding;
  options.vocab = 512;
  const FitRecord law = FitAndReload(runs, options, "tiny.json");
  EXPECT_EQ(law.provenance.params_convention, ParamsConvention::kNonEmbedding);
  EXPECT_EQ(law.provenance.vocab, 512);

  planner::PlanOptions far;
  far.budget = 1e24;
  far.gpus = 1024;
  planner::PlanSummary plan;
  Status st = planner::Plan(far, law, H100(), &plan);
  ASSERT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("outside the evidence"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("3e+09-3e+10 FLOPs"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("x the largest fitted budget"), std::string::npos) << st.message();
  far.allow_extrapolation = true;
  st = planner::Plan(far, law, H100(), &plan);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(plan.extrapolated);
  EXPECT_NE(plan.FullReport().find("EXTRAPOLATED PLAN"), std::string::npos);
  EXPECT_NE(plan.ToJson().find("\"extrapolated\": true"), std::string::npos);

  // 10x the top budget is within the evidence, and the shape is matched in non-embedding N at vocab 512.
  planner::PlanOptions near;
  near.budget = 3e11;
  near.gpus = 1;
  near.seq_len = 64;
  st = planner::Plan(near, law, H100(), &plan);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(plan.extrapolated);
  EXPECT_EQ(plan.vocab, 512);
  EXPECT_EQ(plan.vocab_source, "fit.json");
  EXPECT_EQ(plan.convention, ParamsConvention::kNonEmbedding);
  EXPECT_NEAR(plan.shape.ParamsNonEmbedding() / plan.params_opt, 1.0, 0.05);
  EXPECT_GT(plan.shape.ParamsTotal(), plan.shape.ParamsNonEmbedding());
}
