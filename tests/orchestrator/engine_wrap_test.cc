// `isoflop runs wrap` as a sweep's trainer_command: an external engine's output goes to
// RUN_DIR/engine.log, its log becomes the run directory the daemon reads, signals reach it and end
// the attempt as "preempted" (75). The engine is fake_engine.sh printing a real nanoGPT log
// (tests/data/engine_logs); the binary, the daemon, the store and the launch wrapper are real.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

const std::string kEngine = std::string(ISOFLOP_SOURCE_DIR) + "/tests/orchestrator/fake_engine.sh";
const std::string kLog =
    std::string(ISOFLOP_SOURCE_DIR) + "/tests/data/engine_logs/nanogpt_shakespeare_char_mps.log";

TEST(EngineWrap, LogBecomesTheRunDirectory) {
  testing::TempDir dir;
  const std::string run = dir / "run";
  pid_t pid = testing::Spawn({ISOFLOP_BINARY, "runs", "wrap", "--format", "nanogpt-log", "--", "/bin/sh",
                              kEngine, kLog, "--config", "x.yaml", "--out", run},
                             dir / "wrap.log");
  EXPECT_EQ(testing::WaitExit(pid), 0) << testing::ReadFile(dir / "wrap.log");
  EXPECT_EQ(testing::ReadFile(run + "/engine.log"), testing::ReadFile(kLog));
  auto summary = nlohmann::json::parse(testing::ReadFile(run + "/summary.json"));
  EXPECT_EQ(summary["status"], "done");
  EXPECT_DOUBLE_EQ(summary["final_eval_loss"].get<double>(), 1.7028);
  EXPECT_DOUBLE_EQ(summary["tokens"].get<double>(), 5000.0 * 16384);
  EXPECT_FALSE(summary.contains("params_non_embedding"))
      << "an engine's count is total; the sweep keeps its N";
}

TEST(EngineWrap, ForwardedSignalIsPreemption) {
  testing::TempDir dir;
  const std::string run = dir / "run";
  pid_t pid = testing::Spawn({ISOFLOP_BINARY, "runs", "wrap", "--format", "nanogpt-log", "--", "/bin/sh",
                              kEngine, kLog, "hold", "--out", run},
                             dir / "wrap.log");
  // Wait until the engine has printed its first half and set its trap (the binary can take seconds
  // to start on a loaded machine), then signal the wrapper, as the launch wrapper does.
  for (int i = 0;
       i < 1200 && testing::ReadFile(run + "/engine.log").find("waiting for a signal") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid, SIGUSR1);
  EXPECT_EQ(testing::WaitExit(pid), 75) << testing::ReadFile(dir / "wrap.log");
  EXPECT_NE(testing::ReadFile(run + "/engine.log").find("saving checkpoint at signal"), std::string::npos)
      << "the signal reached the engine";
  EXPECT_FALSE(std::filesystem::exists(run + "/summary.json"));
  EXPECT_NE(testing::ReadFile(run + "/metrics.jsonl").find("\"step\":1,"), std::string::npos);
}

TEST(EngineWrap, BadInput) {
  testing::TempDir dir;
  pid_t pid = testing::Spawn({ISOFLOP_BINARY, "runs", "wrap", "--format", "nanogpt-log", "--", "/bin/true"},
                             dir / "wrap.log");
  EXPECT_EQ(testing::WaitExit(pid), 2);
  EXPECT_NE(testing::ReadFile(dir / "wrap.log").find("--out"), std::string::npos);
  // An engine that "succeeds" without a loss in its log is a failure, not a result.
  pid = testing::Spawn({ISOFLOP_BINARY, "runs", "wrap", "--format", "nanogpt-log", "--", "/bin/echo", "hello",
                        "--out", dir / "r"},
                       dir / "wrap2.log");
  EXPECT_EQ(testing::WaitExit(pid), 1);
  EXPECT_FALSE(std::filesystem::exists(dir / "r/summary.json"));
}

TEST(EngineWrap, SweepOfAnExternalEngineThroughTheDaemon) {
  testing::TempDir dir;
  const std::string spec = dir / "spec.yaml";
  testing::WriteFile(
      spec, "name: ext\nout_dir: \"" + dir.path() +
                "/runs\"\ndata: \"" + testing::ShardsDir() + "\"\n"
                "budgets_flops: [1e13]\nmodels:\n  - {layers: 2, d_model: 32, heads: 2}\n"
                "  - {layers: 2, d_model: 64, heads: 2}\n"
                "trainer_command: [\"" ISOFLOP_BINARY
                "\", runs, wrap, --format, nanogpt-log, --, /bin/sh, \"" +
                kEngine + "\", \"" + kLog +
                "\"]\n"
                "retry: {max_attempts: 1, backoff_s: 0.05, backoff_max_s: 0.2}\nlocal: {slots: 2}\n");
  auto parsed = ParseSweepSpec(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  SubmitOptions submit;
  submit.db_path = dir / "state.db";
  ASSERT_TRUE(SubmitSweep(*parsed, submit).ok());
  DaemonOptions d;
  d.db_path = dir / "state.db";
  d.listen = "off";
  d.exit_when_idle = true;
  d.max_runtime_s = 120;
  auto ran = RunDaemon(d);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  auto status = GetStatus(dir / "state.db");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->counts["done"], 2);
  for (const RunStatus& r : status->runs) {
    ASSERT_TRUE(r.final_eval_loss.has_value()) << r.name << ": " << r.reason;
    EXPECT_DOUBLE_EQ(*r.final_eval_loss, 1.7028);
    EXPECT_DOUBLE_EQ(r.tokens, 5000.0 * 16384) << "the tokens the engine trained";
  }
}

}  // namespace
}  // namespace isoflop::orchestrator
