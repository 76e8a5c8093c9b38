// A ~100K-parameter model trained 200 steps on byte-level shards of a real English text:
// the loss starts near ln(vocab) and falls well below it; metrics.jsonl and summary.json
// carry the keys of docs/interfaces.md.
#include <cmath>

#include "trainer_test_util.h"

namespace isoflop::trainer::testing {
namespace {

TEST(Training, TwoHundredStepsTakeTheLossFromLnVocabToWellBelow) {
  TempDir dir;
  WriteCorpusShards(dir.Join("shards"));
  const std::string config = WriteFile(dir.Join("run.yaml"), TinyConfig());
  const std::string out = dir.Join("run");
  const int rc =
      RunTrainer({"--config", config, "--data", dir.Join("shards"), "--out", out, "--threads", "1"},
                 dir.Join("log.txt"));
  ASSERT_EQ(rc, 0) << ReadFile(dir.Join("log.txt"));

  const auto metrics = ReadMetrics(out + "/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 200u);
  const double ln_vocab = std::log(256.0);
  EXPECT_NEAR(metrics.front().train_loss, ln_vocab, 0.15) << "an untrained model predicts ~uniformly";
  double tail = 0;
  for (size_t i = 190; i < 200; ++i) tail += metrics[i].train_loss / 10;
  EXPECT_LT(tail, 0.6 * ln_vocab) << "the last 10 steps average " << tail;
  EXPECT_LT(metrics.back().eval_loss, 0.6 * ln_vocab);
  EXPECT_GT(metrics.back().eval_loss, 0.0);

  for (const char* key : {"step", "tokens", "train_loss", "lr", "tokens_per_s", "step_latency_s", "mfu",
                          "peak_mem_bytes", "mean_mem_bytes"}) {
    EXPECT_TRUE(metrics.back().all.count(key)) << key;
  }
  EXPECT_EQ(metrics.back().all.at("tokens"), 200.0 * 256);
  EXPECT_GT(metrics.back().all.at("tokens_per_s"), 0);
  EXPECT_GT(metrics.back().all.at("peak_mem_bytes"), 1e6);
  EXPECT_EQ(metrics[49].eval_loss >= 0, true) << "eval every 50 steps";
  EXPECT_LT(metrics[10].eval_loss, 0) << "no eval at step 11";

  const std::string summary = ReadFile(out + "/summary.json");
  EXPECT_NE(summary.find("\"status\": \"done\""), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"params_total\": 115008"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"params_non_embedding\": 98624"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"tokens\": 51200"), std::string::npos) << summary;
  EXPECT_TRUE(fs::exists(out + "/checkpoint.pt"));
  EXPECT_TRUE(fs::exists(out + "/checkpoint.json"));
}

}  // namespace
}  // namespace isoflop::trainer::testing
