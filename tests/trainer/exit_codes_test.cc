// The exit codes the orchestrator acts on (docs/interfaces.md): 2 for bad input with a
// message naming the file and field, 3 for divergence (with summary.json "diverged").
#include <fstream>

#include "trainer_test_util.h"

namespace isoflop::trainer::testing {
namespace {

class ExitCodes : public ::testing::Test {
 protected:
  void SetUp() override { WriteCorpusShards(dir_.Join("shards")); }
  int Train(const std::string& config_text, const std::string& data, std::string* log) {
    const std::string config = WriteFile(dir_.Join("run.yaml"), config_text);
    const int rc =
        RunTrainer({"--config", config, "--data", data, "--out", dir_.Join("run"), "--threads", "1"},
                   dir_.Join("log.txt"));
    *log = ReadFile(dir_.Join("log.txt"));
    return rc;
  }
  TempDir dir_;
};

TEST_F(ExitCodes, BadConfigValueExitsTwoNamingFileLineAndKey) {
  std::string log;
  EXPECT_EQ(Train(TinyConfig(2560) + "warmup_stepz: 3\n", dir_.Join("shards"), &log), 2);
  EXPECT_NE(log.find("run.yaml:18: unknown key `warmup_stepz`"), std::string::npos) << log;
  EXPECT_EQ(Train("layers: two\n", dir_.Join("shards"), &log), 2);
  EXPECT_NE(log.find("run.yaml:1: key `layers` must be an integer, got `two`"), std::string::npos) << log;
  EXPECT_EQ(Train("d_model: 64\nheads: 5\n", dir_.Join("shards"), &log), 2);
  EXPECT_NE(log.find("run.yaml:"), std::string::npos) << log;
  EXPECT_NE(log.find("d_model must be a multiple of heads"), std::string::npos) << log;
}

TEST_F(ExitCodes, MissingShardsExitTwoNamingTheDirectory) {
  std::string log;
  EXPECT_EQ(Train(TinyConfig(2560), dir_.Join("no-such-shards"), &log), 2);
  EXPECT_NE(log.find("no-such-shards"), std::string::npos) << log;
}

TEST_F(ExitCodes, CorruptShardExitsTwoNamingTheShard) {
  {
    std::fstream f(dir_.Join("shards/train-00001.bin"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  std::string log;
  EXPECT_EQ(Train(TinyConfig(2560), dir_.Join("shards"), &log), 2);
  EXPECT_NE(log.find("train-00001.bin"), std::string::npos) << log;
}

TEST_F(ExitCodes, VocabSmallerThanTheShardsExitsTwo) {
  std::string log;
  EXPECT_EQ(Train(TinyConfig(2560, 8, "vocab: 100\n"), dir_.Join("shards"), &log), 2);
  EXPECT_NE(log.find("vocab (100) is smaller than the shards' vocabulary (256)"), std::string::npos) << log;
}

TEST_F(ExitCodes, DivergenceExitsThreeAndSaysSoInTheSummary) {
  std::string log;
  // An absurd learning rate without clipping blows the loss up within a few steps.
  const std::string config =
      "layers: 2\nd_model: 64\nheads: 4\nffn: 192\nseq_len: 32\nmicro_batch: 8\n"
      "batch_tokens: 256\ntokens: 25600\nlr: 50\nwarmup_steps: 0\ngrad_clip: 0\n"
      "weight_decay: 0\ndivergence_grace_steps: 2\nlog_every: 1\n";
  EXPECT_EQ(Train(config, dir_.Join("shards"), &log), 3) << log;
  const std::string summary = ReadFile(dir_.Join("run/summary.json"));
  EXPECT_NE(summary.find("\"status\": \"diverged\""), std::string::npos) << summary;
  EXPECT_LT(ReadMetrics(dir_.Join("run/metrics.jsonl")).size(), 100u) << "stopped early";
}

}  // namespace
}  // namespace isoflop::trainer::testing
