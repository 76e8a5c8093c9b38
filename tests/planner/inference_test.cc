// --inference-tokens keeps the training spend within the budget (Sardana et al. 2024, held to the
// budget): a smaller model trained longer, 6 N D = C exactly, a lower lifetime cost than the
// Chinchilla-optimal model, inference FLOPs reported separately.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
const ChinchillaForm kHoffmann{1.69, 406.4, 410.7, 0.34, 0.28};
}

TEST(Inference, TrainingStaysWithinTheBudget) {
  const double C = 1e23, T = 2e13;
  auto r = InferenceAwareAtBudget(kHoffmann, C, T);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR(6 * r->params * r->tokens / C, 1.0, 1e-9);  // the training budget, not more
  EXPECT_LT(r->params, r->chinchilla_params);             // smaller...
  EXPECT_GT(r->tokens, r->chinchilla_tokens);             // ...trained longer
  EXPECT_GT(r->loss, r->chinchilla_loss);                 // at a slightly higher loss
  EXPECT_LT(r->loss - r->chinchilla_loss, 0.05);
  EXPECT_LT(r->lifetime_flops, r->chinchilla_lifetime_flops);  // cheaper over its lifetime
  EXPECT_NEAR(r->inference_flops, 2 * r->params * T, 1e-6 * r->inference_flops);
  // The loss it reaches is what the law predicts for that N and D.
  const double l = 1.69 + 406.4 / std::pow(r->params, 0.34) + 410.7 / std::pow(r->tokens, 0.28);
  EXPECT_NEAR(r->loss, l, 1e-6);
}

TEST(Inference, MoreInferenceMeansASmallerModel) {
  auto few = InferenceAwareAtBudget(kHoffmann, 1e23, 1e12);
  auto many = InferenceAwareAtBudget(kHoffmann, 1e23, 1e14);
  auto none = InferenceAwareAtBudget(kHoffmann, 1e23, 0);
  ASSERT_TRUE(few.ok() && many.ok() && none.ok());
  EXPECT_LT(many->params, few->params);
  EXPECT_NEAR(none->params / none->chinchilla_params, 1.0, 1e-12);
  EXPECT_FALSE(InferenceAwareAtBudget(kHoffmann, -1, 1e12).ok());
}
