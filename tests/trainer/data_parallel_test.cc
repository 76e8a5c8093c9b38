// Data parallel on CPU through Gloo (Debian's libtorch has it): two ranks with half the
// micro-batch each train the same curve as one rank with the same global batch, because
// the reader deals windows to ranks by stride and the gradients are averaged.
// Not exercised here: NCCL (no GPU on this machine); trainer/cuda/ is only compiled
// (trainer_cuda_compiles).
#include <cmath>

#include "trainer_test_util.h"

namespace isoflop::trainer::testing {
namespace {

TEST(DataParallel, TwoGlooRanksMatchOneRankWithTheSameGlobalBatch) {
  TempDir dir;
  WriteCorpusShards(dir.Join("shards"));
  const int64_t tokens = 40 * 256;
  const std::string one = WriteFile(dir.Join("one.yaml"), TinyConfig(tokens, /*micro_batch=*/8));
  const std::string two = WriteFile(dir.Join("two.yaml"), TinyConfig(tokens, /*micro_batch=*/4));
  ASSERT_EQ(
      RunTrainer({"--config", one, "--data", dir.Join("shards"), "--out", dir.Join("r1"), "--threads", "1"},
                 dir.Join("r1.log")),
      0)
      << ReadFile(dir.Join("r1.log"));

  const std::string out = dir.Join("r2");
  std::vector<pid_t> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(
        SpawnTrainer({"--config", two, "--data", dir.Join("shards"), "--out", out, "--threads", "1", "--rank",
                      std::to_string(r), "--world-size", "2", "--rendezvous", dir.Join("rendezvous")},
                     dir.Join("rank" + std::to_string(r) + ".log")));
    ASSERT_GT(ranks.back(), 0);
  }
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(Wait(ranks[r]), 0) << ReadFile(dir.Join("rank" + std::to_string(r) + ".log"));
  }

  const auto single = ReadMetrics(dir.Join("r1") + "/metrics.jsonl");
  const auto dp = ReadMetrics(out + "/metrics.jsonl");
  ASSERT_EQ(single.size(), 40u);
  ASSERT_EQ(dp.size(), 40u);
  for (size_t i = 0; i < single.size(); ++i) {
    // Same windows, same averaged gradients; only the summation order differs.
    EXPECT_NEAR(dp[i].train_loss, single[i].train_loss, 2e-4) << "step " << single[i].step;
  }
  EXPECT_NEAR(dp.back().eval_loss, single.back().eval_loss, 2e-4);
  EXPECT_GT(single.front().train_loss - single.back().train_loss, 1.0) << "the runs compared did learn";
  EXPECT_NE(ReadFile(out + "/summary.json").find("\"world_size\": 2"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::trainer::testing
