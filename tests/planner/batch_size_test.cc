// The global batch from DeepSeek LLM 2024's batch-size law, bounded by the critical batch
// (Kaplan et al. 2020 / McCandlish et al. 2018), fixed before the layout search, with a ramp.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/planner.h"

using namespace isoflop::planner;

TEST(BatchSize, DeepSeekLawAtTheIssuesBudget) {
  // 5.76e23 FLOPs: B_opt = 0.2920 C^0.3271 = ~17M tokens (issue 13), peak lr 0.3118 C^-0.125.
  auto b = ChooseGlobalBatch(5.76e23, 0, 2048, 0, {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NEAR(b->law_tokens / 1e6, 0.2920 * std::pow(5.76e23, 0.3271) / 1e6, 1e-9);
  EXPECT_NEAR(b->law_tokens / 1e6, 17.2, 0.2);
  EXPECT_NEAR(b->peak_lr, 0.3118 * std::pow(5.76e23, -0.125), 1e-12);
  EXPECT_FALSE(b->bounded_by_critical);  // no loss given: no bound
  // Rounded to 2^k or 3 x 2^k sequences (divisors for data parallelism), within 20%.
  EXPECT_EQ(b->sequences, 8192);
  EXPECT_NEAR(b->tokens / b->law_tokens, 1.0, 0.2);
  EXPECT_NE(b->source.find("DeepSeek"), std::string::npos);
}

TEST(BatchSize, CriticalBatchBoundsTheLaw) {
  // At a predicted loss of 2.0 nats the critical batch is 2e8 / 2^(1/0.21) = 7.4M tokens.
  auto b = ChooseGlobalBatch(5.76e23, 2.0, 2048, 0, {});
  ASSERT_TRUE(b.ok());
  EXPECT_NEAR(b->critical_tokens / 1e6, 2e8 / std::pow(2.0, 1 / 0.21) / 1e6, 1e-9);
  EXPECT_TRUE(b->bounded_by_critical);
  EXPECT_LT(b->tokens, b->law_tokens);
  EXPECT_NE(b->source.find("critical"), std::string::npos);
  // The law grows with compute: more budget, larger batch.
  auto small = ChooseGlobalBatch(1e21, 0, 2048, 0, {});
  ASSERT_TRUE(small.ok());
  EXPECT_LT(small->sequences, b->sequences);
}

TEST(BatchSize, UserBatchAndRamp) {
  auto b = ChooseGlobalBatch(1e24, 2.0, 8192, 2048, {{0.25, 0.001}, {0.5, 0.18}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->sequences, 2048);  // the user's batch, as given
  ASSERT_EQ(b->ramp_sequences.size(), 2u);
  EXPECT_EQ(b->ramp_sequences[0], 512);
  EXPECT_EQ(b->ramp_sequences[1], 1024);
  auto odd = ChooseGlobalBatch(1e24, 2.0, 8192, 1001, {{0.3, 0.1}});
  EXPECT_FALSE(odd.ok());  // 0.3 x 1001 sequences is not a whole number: refused, not rounded
  auto ramp = ParseBatchRamp("0.25:0.01,0.5:0.2");
  ASSERT_TRUE(ramp.ok());
  EXPECT_EQ(ramp->size(), 2u);
  EXPECT_FALSE(ParseBatchRamp("0.25").ok());
  EXPECT_FALSE(ParseBatchRamp("0.5:0.7,0.25:0.5").ok());  // token fractions add up past 1
}
