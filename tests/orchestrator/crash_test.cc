// Crash safety on the local backend: kill -9 the daemon at random points of a sweep, many
// times, and restart it. No run starts twice, no finished result is lost, the database stays
// intact.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crash_helpers.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

TEST(CrashTest, KillNineAtRandomPointsNeverLaunchesTwiceOrLosesAResult) {
  TempDir dir;
  std::string db = dir / "state.db";
  testing::WriteFile(dir / "s.yaml",
                     testing::TinySpec("crash", dir / "runs", "local", "  fake_sleep_s: 0.5\n"));
  auto spec = ParseSweepSpec(dir / "s.yaml");
  ASSERT_TRUE(spec.ok());
  SubmitOptions o;
  o.db_path = db;
  ASSERT_TRUE(SubmitSweep(*spec, o).ok());

  int kills = testing::KillDaemonUntilDone(db, dir / "daemon.log", /*max_kills=*/16, /*seed=*/42);
  EXPECT_GE(kills, 10);

  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 10) << report->ToText() << ReadFile(dir / "daemon.log");
  for (const RunStatus& r : report->runs) EXPECT_TRUE(r.final_eval_loss.has_value()) << r.name;
  testing::ExpectNoDuplicateLaunches(*report);
  // The last fit saw every run.
  auto fit = nlohmann::json::parse(report->fit_json, nullptr, false);
  ASSERT_TRUE(fit.is_object()) << report->fit_json;
  EXPECT_EQ(fit["n_points"], 10);
}

}  // namespace
}  // namespace isoflop::orchestrator
