// One trainer per run directory (issue 15, finding 2). kill -9 of only the launch wrapper leaves its
// trainer running as an orphan; the daemon calls the attempt lost and launches the next one in the
// same directory. Before, the two trainers ran side by side ("checkpoint.pt: rename failed"); now the
// new wrapper finds the run directory locked, stops the orphan (SIGTERM: it checkpoints and exits
// 75), waits for the lock and resumes from the orphan's checkpoint.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

TEST(OrphanTrainerTest, KillingOnlyTheWrapperNeverLeavesTwoTrainersInOneRunDirectory) {
  TempDir dir;
  // One run whose stand-in trainer waits for a signal on its first attempt (fake_wait_signal).
  const std::string text = "name: orphan\nbackend: local\nout_dir: \"" + dir / "runs" + "\"\ndata: \"" +
                           testing::ShardsDir() +
                           "\"\nbudgets_flops: [1e13]\nmodels:\n  - {layers: 2, d_model: 32, heads: 2}\n"
                           "train:\n  fake_wait_signal: 1\ntrainer_command: [\"" ISOFLOP_FAKE_TRAINER
                           "\"]\n"
                           "retry: {max_attempts: 3, backoff_s: 0.05, backoff_max_s: 0.1}\n";
  testing::WriteFile(dir / "s.yaml", text);
  auto spec = ParseSweepSpec(dir / "s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  SubmitOptions o;
  o.db_path = dir / "state.db";
  ASSERT_TRUE(SubmitSweep(*spec, o).ok());
  const std::string run_dir = dir / "runs/orphan/C1e13-L2-d32";
  const std::string meta = run_dir + "/.isoflop";

  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, o.db_path}, dir / "daemon.log");
  // The first attempt's trainer is running once it wrote its metrics line.
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(run_dir + "/metrics.jsonl"); }, 30))
      << ReadFile(dir / "daemon.log");
  pid_t wrapper = 0;
  for (const auto& e : std::filesystem::directory_iterator(meta)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".pid" && name != "trainer.pid")
      wrapper = std::stoi(ReadFile(e.path().string()));
  }
  ASSERT_GT(wrapper, 0);
  const pid_t trainer = std::stoi(ReadFile(meta + "/trainer.pid"));
  ASSERT_EQ(::kill(wrapper, SIGKILL), 0);  // only the wrapper: its trainer lives on as an orphan

  bool exited = testing::WaitFor([&] { return ::waitpid(daemon, nullptr, WNOHANG) == daemon; }, 90);
  if (!exited) {
    ::kill(daemon, SIGKILL);
    testing::WaitExit(daemon);
  }
  ASSERT_TRUE(exited) << ReadFile(dir / "daemon.log") << ReadFile(run_dir + "/train.log");
  auto report = GetStatus(o.db_path);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->runs.size(), 1u);
  const RunStatus& r = report->runs[0];
  EXPECT_EQ(r.state, "done") << report->ToText() << ReadFile(run_dir + "/train.log");
  EXPECT_EQ(r.attempt, 2);
  // The orphan was stopped (it checkpointed), and the second attempt resumed from its checkpoint.
  // Gone, or a zombie waiting for its new parent (init) to reap it.
  const std::string stat = ReadFile("/proc/" + std::to_string(trainer) + "/stat");
  const bool alive = !stat.empty() && stat.find(") Z ") == std::string::npos;
  EXPECT_FALSE(alive) << "the orphaned trainer " << trainer << " still runs: " << stat;
  EXPECT_NE(ReadFile(run_dir + "/train.log").find("fake_trainer: checkpointed"), std::string::npos);
  EXPECT_EQ(ReadFile(run_dir + "/fake_resumed"), "2\n");
  EXPECT_NE(ReadFile(run_dir + "/train.log").find("still runs in this directory; stopping it"),
            std::string::npos);
}

}  // namespace
}  // namespace isoflop::orchestrator
