// The plan knows its evidence: a budget is outside it when N_opt's interval spans more than a
// factor of 10, or when it is more than 10,000x the largest fitted budget; the reason names the
// fitted range, the factor and the interval.
#include <gtest/gtest.h>

#include "isoflop/prediction.h"

using namespace isoflop;

namespace {
FitRecord SmallSweep() {
  FitRecord r;
  r.method = FitMethod::kApproach3;
  r.n_points = 15;
  r.has_law = true;
  r.law = EpochLaw();
  SetFittedRange({{3e9, 1.7e3, 2.9e5, 4.2}, {3e10, 2.5e4, 2e5, 3.6}}, &r.provenance);
  return r;
}
}  // namespace

TEST(Evidence, FarBeyondTheLargestBudgetIsRefusedAndSaysWhy) {
  const FitRecord r = SmallSweep();
  auto near = PredictAtBudget(r, 3e11);
  ASSERT_TRUE(near.ok());
  EXPECT_TRUE(CheckEvidence(r, *near).supported);  // 10x: supported
  auto far = PredictAtBudget(r, 1e24);
  ASSERT_TRUE(far.ok());
  const EvidenceSummary e = CheckEvidence(r, *far);
  EXPECT_FALSE(e.supported);
  EXPECT_NE(e.reason.find("15 runs"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("3e+09-3e+10 FLOPs"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("3.33e+13x"), std::string::npos) << e.reason;
}

TEST(Evidence, AWideIntervalIsRefusedEvenNearTheData) {
  FitRecord r = SmallSweep();
  for (double scale : {0.05, 1.0, 20.0}) {  // replicates whose N_opt differ by 400x
    ScalingLaw l = r.law;
    l.A *= scale;
    r.bootstrap_laws.push_back(l);
  }
  auto p = PredictAtBudget(r, 6e10);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->params_opt_interval.has_value());
  const EvidenceSummary e = CheckEvidence(r, *p);
  EXPECT_FALSE(e.supported);
  EXPECT_NE(e.reason.find("95% interval"), std::string::npos) << e.reason;
  EvidenceOptions loose;
  loose.max_interval_ratio = 1e9;
  EXPECT_TRUE(CheckEvidence(r, *p, loose).supported);
}

TEST(Evidence, PublishedLawsAreCheckedAgainstTheirOwnRuns) {
  auto llama = PredictAtBudget(EpochRecord(), 3.8e25);  // 2,900x Chinchilla's largest run
  ASSERT_TRUE(llama.ok());
  EXPECT_TRUE(CheckEvidence(EpochRecord(), *llama).supported);
  auto absurd = PredictAtBudget(EpochRecord(), 1e30);
  ASSERT_TRUE(absurd.ok());
  EXPECT_FALSE(CheckEvidence(EpochRecord(), *absurd).supported);
}

TEST(Evidence, AFitWithNoKnownRangeNeedsAnInterval) {
  FitRecord r;
  r.has_law = true;
  r.law = HoffmannLaw();  // a hand-written fit.json: no range, no replicates
  auto p = PredictAtBudget(r, 1e23);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(CheckEvidence(r, *p).supported);
}
