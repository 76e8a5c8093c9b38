// Checkpoint/resume: a run killed at a random step (SIGKILL: no chance to save) and resumed
// from its last periodic checkpoint reproduces the uninterrupted loss curve to 1e-5; a
// SIGTERM (Slurm's preemption) checkpoints at once and exits 75, and the resumed run
// finishes the same curve.
#include <chrono>
#include <random>
#include <thread>

#include "trainer_test_util.h"

namespace isoflop::trainer::testing {
namespace {

constexpr int kSteps = 60;

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteCorpusShards(dir_.Join("shards"));
    config_ = WriteFile(dir_.Join("run.yaml"), TinyConfig(kSteps * 256));  // a checkpoint every 10 steps
    ASSERT_EQ(Run(dir_.Join("reference"), {}), 0) << ReadFile(dir_.Join("reference.log"));
    reference_ = ReadMetrics(dir_.Join("reference") + "/metrics.jsonl");
    ASSERT_EQ(reference_.size(), static_cast<size_t>(kSteps));
  }

  std::vector<std::string> Args(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--config", config_, "--data",    dir_.Join("shards"),
                                  "--out",    out,     "--threads", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  int Run(const std::string& out, std::vector<std::string> extra) {
    return RunTrainer(Args(out, extra), out + ".log");
  }
  // Starts a run and sends `sig` once metrics.jsonl shows `step` completed steps.
  int RunAndSignalAt(const std::string& out, int step, int sig) {
    pid_t pid = SpawnTrainer(Args(out, {}), out + ".log");
    if (pid < 0) return -1;
    for (int i = 0; i < 60000; ++i) {
      const auto m = ReadMetrics(out + "/metrics.jsonl");
      if (!m.empty() && m.back().step >= step) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(pid, sig);
    return Wait(pid);
  }
  void ExpectSameCurve(const std::string& out) {
    const auto resumed = ReadMetrics(out + "/metrics.jsonl");
    ASSERT_EQ(resumed.size(), reference_.size());
    for (size_t i = 0; i < resumed.size(); ++i) {
      EXPECT_EQ(resumed[i].step, reference_[i].step);
      EXPECT_NEAR(resumed[i].train_loss, reference_[i].train_loss, 1e-5) << "step " << resumed[i].step;
      EXPECT_NEAR(resumed[i].lr, reference_[i].lr, 1e-12) << "step " << resumed[i].step;
      EXPECT_NEAR(resumed[i].eval_loss, reference_[i].eval_loss, 1e-5) << "step " << resumed[i].step;
    }
    EXPECT_NE(ReadFile(out + "/summary.json").find("\"status\": \"done\""), std::string::npos);
  }

  TempDir dir_;
  std::string config_;
  std::vector<MetricsLine> reference_;
};

TEST_F(Resume, KilledAtARandomStepAndResumedReproducesTheCurve) {
  std::mt19937 rng(std::random_device{}());
  const int kill_step = std::uniform_int_distribution<int>(12, kSteps - 8)(rng);
  const std::string out = dir_.Join("killed");
  const int rc = RunAndSignalAt(out, kill_step, SIGKILL);
  ASSERT_EQ(rc, 128 + SIGKILL) << "kill step " << kill_step << "\n" << ReadFile(out + ".log");
  ASSERT_LT(ReadMetrics(out + "/metrics.jsonl").size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(Run(out, {"--resume"}), 0) << ReadFile(out + ".log");
  SCOPED_TRACE("killed at step " + std::to_string(kill_step));
  ExpectSameCurve(out);
}

TEST_F(Resume, SigtermCheckpointsExitsSeventyFiveAndResumes) {
  const std::string out = dir_.Join("preempted");
  ASSERT_EQ(RunAndSignalAt(out, 23, SIGTERM), 75) << ReadFile(out + ".log");
  const std::string ckpt = ReadFile(out + "/checkpoint.json");
  const int64_t ckpt_step = std::stoll(ckpt.substr(ckpt.find("\"step\": ") + 8));
  EXPECT_GE(ckpt_step, 23) << "checkpointed at the signal, not at the periodic step 20: " << ckpt;
  EXPECT_EQ(ReadMetrics(out + "/metrics.jsonl").back().step, ckpt_step);
  EXPECT_FALSE(fs::exists(out + "/summary.json")) << "a preempted run has no summary";
  ASSERT_EQ(Run(out, {"--resume"}), 0) << ReadFile(out + ".log");
  ExpectSameCurve(out);
}

TEST_F(Resume, StopAfterThenResumeReproducesTheCurve) {
  const std::string out = dir_.Join("stopped");
  ASSERT_EQ(Run(out, {"--stop-after", "37"}), 75) << ReadFile(out + ".log");
  EXPECT_EQ(ReadMetrics(out + "/metrics.jsonl").back().step, 37);
  EXPECT_NE(ReadFile(out + "/checkpoint.json").find("\"step\": 37,"), std::string::npos);
  ASSERT_EQ(Run(out, {"--resume"}), 0) << ReadFile(out + ".log");
  ExpectSameCurve(out);
}

}  // namespace
}  // namespace isoflop::trainer::testing
