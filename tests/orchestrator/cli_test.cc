// The orchestrator's commands through the real `isoflop` binary: exit codes (0 ok, 2 bad input,
// 1 other), errors that name file, line and field, and nothing written on bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backend.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

struct Result {
  int code = -1;
  std::string out;
};

Result Isoflop(std::vector<std::string> args, const std::string& dir) {
  std::string log = dir + "/cli.out";
  std::filesystem::remove(log);
  args.insert(args.begin(), ISOFLOP_BINARY);
  Result r;
  r.code = testing::WaitExit(testing::Spawn(args, log));
  r.out = ReadFile(log);
  return r;
}

TEST(OrchestratorCliTest, MalformedSpecExitsTwoNamingFileLineFieldAndWritesNothing) {
  TempDir dir;
  testing::WriteFile(dir / "bad.yaml",
                     testing::TinySpec("bad", dir / "runs", "local") + "max_in_flight: lots\n");
  Result r = Isoflop({"sweep", "submit", dir / "bad.yaml", "--db", dir / "state.db"}, dir.path());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.yaml:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max_in_flight: expected an integer"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "state.db"));
}

TEST(OrchestratorCliTest, PlanPrintsRunsAsJsonAndWritesNothing) {
  TempDir dir;
  testing::WriteFile(dir / "s.yaml", testing::TinySpec("plan", dir / "runs", "local"));
  Result r = Isoflop({"sweep", "plan", dir / "s.yaml", "--db", dir / "state.db", "--json"}, dir.path());
  ASSERT_EQ(r.code, 0) << r.out;
  auto runs = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(runs.is_array()) << r.out;
  EXPECT_EQ(runs.size(), 10u);
  EXPECT_FALSE(std::filesystem::exists(dir / "state.db"));
}

TEST(OrchestratorCliTest, SubmitDaemonStatusRoundTrip) {
  TempDir dir;
  // Two budgets: one budget cannot identify the law (the refit is then flagged, not current).
  testing::WriteFile(dir / "s.yaml", testing::TinySpec("rt", dir / "runs", "local", "", 2));
  ASSERT_EQ(Isoflop({"sweep", "submit", dir / "s.yaml", "--db", dir / "state.db"}, dir.path()).code, 0);
  Result d = Isoflop({"daemon", "--db", dir / "state.db", "--listen", "off", "--poll-min", "0.05",
                      "--poll-max", "0.2", "--exit-when-idle"},
                     dir.path());
  ASSERT_EQ(d.code, 0) << d.out;
  Result s = Isoflop({"status", "--db", dir / "state.db", "--json"}, dir.path());
  ASSERT_EQ(s.code, 0) << s.out;
  auto j = nlohmann::json::parse(s.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << s.out;
  EXPECT_EQ(j["counts"]["done"], 10);
  EXPECT_EQ(j["fit"]["n_points"], 10);
  EXPECT_FALSE(j.contains("fit_error")) << s.out;
  Result logs = Isoflop({"logs", "--db", dir / "state.db", "C1e13-L2-d32"}, dir.path());
  EXPECT_EQ(logs.code, 0);
  EXPECT_NE(logs.out.find("fake_trainer attempt 1"), std::string::npos) << logs.out;
}

TEST(OrchestratorCliTest, CancelNeedsARunOrAll) {
  TempDir dir;
  Result r = Isoflop({"cancel", "--db", dir / "state.db"}, dir.path());
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST(OrchestratorCliTest, HelpShowsExamples) {
  TempDir dir;
  for (const char* cmd : {"daemon", "status", "cancel", "logs"}) {
    Result r = Isoflop({cmd, "--help"}, dir.path());
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Examples"), std::string::npos) << cmd << ": " << r.out;
  }
}

}  // namespace
}  // namespace isoflop::orchestrator
