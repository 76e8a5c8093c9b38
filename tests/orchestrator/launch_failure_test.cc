// A launch the backend refuses (issue 15, finding 1: an out_dir that cannot be created, Slurm's
// "invalid partition") is a failed attempt: counted against retry.max_attempts, its reason in
// `status`, the slot freed, and `--exit-when-idle` exits once the runs are final. Before, the runs
// stayed in `submitting` forever and the daemon never went idle.
#include <gtest/gtest.h>

#include <chrono>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

TEST(LaunchFailureTest, AnOutDirThatCannotBeCreatedFailsTheRunsAfterMaxAttempts) {
  TempDir dir;
  // /dev/null is a character device: nothing can be created below it.
  std::string text = testing::TinySpec("lf", "/dev/null/runs", "local", "", 1);
  text = text.substr(0, text.find("retry:")) +
         "retry: {max_attempts: 2, backoff_s: 0.05, backoff_max_s: 0.1}\n" + "local: {slots: 2}\n";
  testing::WriteFile(dir / "s.yaml", text);
  auto spec = ParseSweepSpec(dir / "s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  SubmitOptions o;
  o.db_path = dir / "state.db";
  ASSERT_TRUE(SubmitSweep(*spec, o).ok());

  const auto start = std::chrono::steady_clock::now();
  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, o.db_path}, dir / "daemon.log");
  // The helper gives up after 240 s; a daemon that never goes idle is the bug.
  bool exited = testing::WaitFor([&] { return ::waitpid(daemon, nullptr, WNOHANG) == daemon; }, 60);
  if (!exited) {
    ::kill(daemon, SIGKILL);
    testing::WaitExit(daemon);
  }
  ASSERT_TRUE(exited) << "the daemon did not go idle within 60 s\n" << ReadFile(dir / "daemon.log");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60);

  auto report = GetStatus(o.db_path);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["failed"], 5) << report->ToText();
  for (const RunStatus& r : report->runs) {
    EXPECT_EQ(r.attempt, 2) << r.name;  // both attempts counted
    EXPECT_NE(r.reason.find("launch failed"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("/dev/null/runs"), std::string::npos) << r.reason;
  }
  // The person reading `status` sees why.
  const std::string text_report = report->ToText();
  EXPECT_NE(text_report.find("Flagged runs (5)"), std::string::npos) << text_report;
  EXPECT_NE(text_report.find("launch failed"), std::string::npos) << text_report;
}

}  // namespace
}  // namespace isoflop::orchestrator
