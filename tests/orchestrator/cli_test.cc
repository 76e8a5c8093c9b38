// The orchestrator's commands through the real `isoflop` binary: exit codes (0 ok, 2 bad input,
// 1 other), errors that name file, line and field, and nothing written on bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <signal.h>

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

// Exit codes as documented (README.md, "Exit codes"): a database, a run or a file that does not
// exist is bad input, exit 2 (issue 15: `report --db nope.db`, `status`, `logs`, `cancel` exited 1).
TEST(OrchestratorCliTest, MissingDatabaseOrRunIsBadInputExitTwo) {
  TempDir dir;
  const std::string nope = dir / "nope.db";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"status", "--db", nope},
           {"logs", "--db", nope, "C1e13-L2-d32"},
           {"cancel", "--db", nope, "C1e13-L2-d32"},
           {"report", "--db", nope, "--text"},
           {"sweep", "submit", dir / "no-spec.yaml", "--db", dir / "state.db"}}) {
    Result r = Isoflop(args, dir.path());
    EXPECT_EQ(r.code, 2) << args[0] << ": " << r.out;
    EXPECT_NE(r.out.find("isoflop " + args[0]), std::string::npos) << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(nope));
  testing::WriteFile(dir / "s.yaml", testing::TinySpec("ex", dir / "runs", "local", "", 1));
  ASSERT_EQ(Isoflop({"sweep", "submit", dir / "s.yaml", "--db", dir / "state.db"}, dir.path()).code, 0);
  EXPECT_EQ(Isoflop({"cancel", "--db", dir / "state.db", "no-such-run"}, dir.path()).code, 2);
  EXPECT_EQ(Isoflop({"logs", "--db", dir / "state.db", "no-such-run"}, dir.path()).code, 2);
}

// `status --watch` into a pipe or a file: plain text, no terminal escape codes.
TEST(OrchestratorCliTest, WatchIntoAFileHasNoEscapeCodes) {
  TempDir dir;
  testing::WriteFile(dir / "s.yaml", testing::TinySpec("w", dir / "runs", "local", "", 1));
  ASSERT_EQ(Isoflop({"sweep", "submit", dir / "s.yaml", "--db", dir / "state.db"}, dir.path()).code, 0);
  const std::string log = dir / "watch.out";
  pid_t pid = testing::Spawn({ISOFLOP_BINARY, "status", "--db", dir / "state.db", "--watch", "0.2"}, log);
  ASSERT_TRUE(testing::WaitFor([&] { return ReadFile(log).find("--- ", 200) != std::string::npos; }, 20))
      << ReadFile(log);
  ::kill(pid, SIGTERM);
  testing::WaitExit(pid);
  const std::string out = ReadFile(log);
  EXPECT_EQ(out.find('\033'), std::string::npos) << out;
  EXPECT_EQ(out.rfind("--- ", 0), 0u) << out;
  EXPECT_NE(out.find("5 runs: 5 pending"), std::string::npos) << out;
}

// `isoflop train` is isoflop-train (the only libtorch binary), exec'ed with the same flags and
// exit codes; the rest of isoflop never loads libtorch.
TEST(OrchestratorCliTest, TrainRunsTheTrainerBesideTheBinary) {
  const std::string trainer = std::filesystem::path(ISOFLOP_BINARY).parent_path() / "isoflop-train";
  if (!std::filesystem::exists(trainer)) GTEST_SKIP() << "isoflop-train is not built (libtorch)";
  TempDir dir;
  Result help = Isoflop({"train", "--help"}, dir.path());
  EXPECT_EQ(help.code, 0) << help.out;
  EXPECT_NE(help.out.find("usage: isoflop train --config RUN.yaml"), std::string::npos) << help.out;
  // Finding 8: a directory where the run config should be trained with all defaults and exited 0.
  Result dir_config =
      Isoflop({"train", "--config", dir.path(), "--data", dir.path(), "--out", dir / "r"}, dir.path());
  EXPECT_EQ(dir_config.code, 2) << dir_config.out;
  EXPECT_NE(dir_config.out.find("is a directory"), std::string::npos) << dir_config.out;
  Result device =
      Isoflop({"train", "--config", "x", "--data", "y", "--out", "z", "--device", "tpu"}, dir.path());
  EXPECT_EQ(device.code, 2) << device.out;
}

TEST(OrchestratorCliTest, TrainWithoutTheTrainerBinarySaysHowToBuildIt) {
  TempDir dir;
  std::filesystem::copy_file(ISOFLOP_BINARY, dir / "isoflop");
  pid_t pid = testing::Spawn({dir / "isoflop", "train", "--help"}, dir / "out.log");
  EXPECT_EQ(testing::WaitExit(pid), 1);
  EXPECT_NE(ReadFile(dir / "out.log").find("cmake --build build --target isoflop-train"), std::string::npos)
      << ReadFile(dir / "out.log");
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
