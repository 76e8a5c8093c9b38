// The daemon on the local backend, end to end: a sweep of stand-in trainer runs (fake_trainer.sh,
// which follows the trainer's contract in docs/interfaces.md; the real `isoflop train` needs
// libtorch and minutes per run) is launched, watched, ingested, refitted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isoflop/orchestrator.h"
#include "store.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using nlohmann::json;
using testing::ReadFile;
using testing::TempDir;
using testing::TinySpec;
using testing::WriteFile;

StatusOr<SubmitSummary> SubmitText(const std::string& spec_path, const std::string& text,
                                   const std::string& db) {
  WriteFile(spec_path, text);
  auto spec = ParseSweepSpec(spec_path);
  if (!spec.ok()) return spec.status();
  SubmitOptions o;
  o.db_path = db;
  return SubmitSweep(*spec, o);
}

const RunStatus* Find(const StatusReport& r, const std::string& name) {
  for (const auto& run : r.runs) {
    if (run.name == name) return &run;
  }
  return nullptr;
}

TEST(DaemonLocalTest, RunsTheSweepIngestsEveryResultAndRefitsAfterEachCompletion) {
  TempDir dir;
  std::string db = dir / "state.db";
  ASSERT_TRUE(
      SubmitText(dir / "sweep.yaml", TinySpec("tiny", dir / "runs", "local", "  fake_corrupt_line: 1\n"), db)
          .ok());
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");

  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->runs.size(), 10u);
  EXPECT_EQ(report->counts["done"], 10) << report->ToText();
  for (const RunStatus& r : report->runs) {
    ASSERT_TRUE(r.final_eval_loss.has_value()) << r.name;
    // The stand-in's loss is Hoffmann's law at (12 L d^2, D) within its +-1% noise.
    double expected = 1.69 + 406.4 / std::pow(r.params, 0.34) + 410.7 / std::pow(r.tokens, 0.28);
    EXPECT_NEAR(*r.final_eval_loss, expected, 0.0101 * expected) << r.name;
    EXPECT_EQ(r.final_eval_loss,
              json::parse(ReadFile(r.run_dir + "/summary.json"))["final_eval_loss"].get<double>());
    EXPECT_EQ(r.last_step, 3) << r.name;
    EXPECT_EQ(r.corrupt_lines, 1) << r.name;  // one corrupt metrics line: skipped and counted
    EXPECT_EQ(r.attempt, 1);
  }
  // A fit after the 5th completion and after each later one: 6 fits, the last on all 10 runs.
  auto dbh = Database::Open(db, false);
  ASSERT_TRUE(dbh.ok());
  auto q = (*dbh)->Prepare("SELECT COUNT(*), MAX(n_runs), MIN(n_runs) FROM fits");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->Step());
  EXPECT_GE((*q)->Int(0), 2);
  EXPECT_EQ((*q)->Int(1), 10);
  EXPECT_GE((*q)->Int(2), 5);

  json status = json::parse(report->ToJson());
  ASSERT_TRUE(status["fit"].is_object()) << report->ToJson();
  EXPECT_EQ(status["fit"]["n_points"], 10);
  EXPECT_TRUE(status["fit"]["ci"].is_object());
  ASSERT_TRUE(status["narrowing"].is_object());
  EXPECT_EQ(status["narrowing"]["n_points_now"], 10);
  // Intervals with width: the narrowing of N_opt's interval at the target budget is a number.
  bool some_fraction = false;
  for (const auto& [key, v] : status["narrowing"].items()) {
    if (v.is_object() && v["narrowed_fraction"].is_number()) some_fraction = true;
  }
  EXPECT_TRUE(some_fraction) << status["narrowing"].dump();
  ASSERT_TRUE(status["plan"].is_object());
  EXPECT_GT(status["plan"]["params_opt"].get<double>(), 0);
  // Every run's trainer saw its own config and run dir.
  const RunStatus* r = Find(*report, "C1e13-L2-d32");
  ASSERT_NE(r, nullptr);
  EXPECT_NE(ReadFile(r->run_dir + "/run.yaml").find("layers: \"2\""), std::string::npos);
  EXPECT_NE(ReadFile(r->run_dir + "/train.log").find("fake_trainer attempt 1"), std::string::npos);
  auto check = (*dbh)->IntegrityCheck();
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(*check, "ok");
}

TEST(DaemonLocalTest, AHalfWrittenLastMetricsLineWaitsAndIsNotCountedCorrupt) {
  TempDir dir;
  std::string db = dir / "state.db";
  std::string text = TinySpec("partial", dir / "runs", "local", "  fake_partial_line: 1\n", 1);
  auto pos = text.find("  - {layers: 2, d_model: 64");
  text.erase(pos, text.find("train:") - pos);
  ASSERT_TRUE(SubmitText(dir / "s.yaml", text, db).ok());
  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, db}, dir / "daemon.log");
  // While the last line is half-written the daemon has ingested steps 1 and 2 only.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->runs[0].last_step == 2;
      },
      30));
  auto mid = GetStatus(db);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->runs[0].corrupt_lines, 0);
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->runs[0].state, "done");
  EXPECT_EQ(report->runs[0].last_step, 3);  // the completed line was read once it was whole
  EXPECT_EQ(report->runs[0].corrupt_lines, 0);
}

TEST(DaemonLocalTest, RetryPolicyFollowsTheTrainerExitCodes) {
  TempDir dir;
  std::string db = dir / "state.db";
  // Five sweeps of one run each, one per exit-code behaviour.
  struct Case {
    std::string name, train;
    std::string state;
    int attempts;
  };
  std::vector<Case> cases = {
      {"transient", "  fake_fail_first: 2\n  fake_fail_code: 1\n", "done", 3},        // exit 1 twice, then ok
      {"badconfig", "  fake_fail_first: 9\n  fake_fail_code: 2\n", "bad_config", 1},  // fail fast
      {"diverged", "  fake_fail_first: 9\n  fake_fail_code: 3\n", "diverged", 1},     // no blind retry
      {"exhausted", "  fake_fail_first: 9\n  fake_fail_code: 1\n", "failed", 3},      // retry limit
      {"preempted", "  fake_fail_first: 1\n  fake_fail_code: 75\n", "done", 2},       // resume at once
  };
  for (const Case& c : cases) {
    std::string text = TinySpec(c.name, dir / "runs", "local", c.train, 1);
    // One model per sweep keeps this test short.
    auto pos = text.find("  - {layers: 2, d_model: 64");
    text.erase(pos, text.find("train:") - pos);
    ASSERT_TRUE(SubmitText(dir / (c.name + ".yaml"), text, db).ok());
  }
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->runs.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const RunStatus& r = report->runs[i];
    EXPECT_EQ(r.sweep, cases[i].name);
    EXPECT_EQ(r.state, cases[i].state) << r.sweep << ": " << r.reason;
    EXPECT_EQ(r.attempt, cases[i].attempts) << r.sweep;
  }
  // The preempted run's second attempt was started with --resume (a checkpoint existed? the
  // stand-in writes none when failing on purpose, so --resume must not be forced) ...
  EXPECT_FALSE(std::filesystem::exists(report->runs[4].run_dir + "/fake_resumed"));
}

TEST(DaemonLocalTest, ARunPreemptedAfterACheckpointResumesFromIt) {
  TempDir dir;
  std::string db = dir / "state.db";
  std::string text = TinySpec("ckpt", dir / "runs", "local", "  fake_wait_signal: 1\n", 1);
  auto pos = text.find("  - {layers: 2, d_model: 64");
  text.erase(pos, text.find("train:") - pos);
  ASSERT_TRUE(SubmitText(dir / "s.yaml", text, db).ok());
  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, db}, dir / "daemon.log");
  std::string run_dir;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        if (!r.ok() || r->runs.empty() || r->runs[0].state != "running") return false;
        run_dir = r->runs[0].run_dir;
        return std::filesystem::exists(run_dir + "/metrics.jsonl");
      },
      30));
  // What Slurm's --signal=B:USR1@N does: USR1 to the wrapper, which forwards it to the trainer.
  std::string pid = ReadFile(dir / "runs/ckpt/C1e13-L2-d32/.isoflop/launches.log");
  std::istringstream fields(pid);
  std::string when, key, wrapper_pid;
  fields >> when >> key >> wrapper_pid;
  ASSERT_EQ(::kill(std::stoi(wrapper_pid), SIGUSR1), 0);
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->runs[0].state, "done") << report->runs[0].reason;
  EXPECT_EQ(report->runs[0].attempt, 2);
  EXPECT_EQ(ReadFile(run_dir + "/fake_resumed"), "2\n");  // attempt 2 got --resume
}

TEST(DaemonLocalTest, HostileStringsInPathsReachTheTrainerAsData) {
  TempDir dir;
  std::string db = dir / "state.db";
  // Quotes, command substitution, a newline and spaces in the output folder: passed as argv.
  std::string hostile = dir / "out 'q' \"dq\" $(touch PWNED) `touch PWNED2`; x";
  std::string text = TinySpec("hostile", "PLACEHOLDER", "local", "", 1);
  auto pos = text.find("  - {layers: 2, d_model: 64");
  text.erase(pos, text.find("train:") - pos);
  // YAML double-quoted string with escapes for the quote and a newline.
  std::string yaml_path = hostile + "\nnext";
  std::string escaped;
  for (char c : yaml_path) {
    if (c == '"')
      escaped += "\\\"";
    else if (c == '\n')
      escaped += "\\n";
    else
      escaped += c;
  }
  text.replace(text.find("\"PLACEHOLDER\""), 13, "\"" + escaped + "\"");
  ASSERT_TRUE(SubmitText(dir / "s.yaml", text, db).ok());
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->runs.size(), 1u);
  EXPECT_EQ(report->runs[0].state, "done") << report->runs[0].reason;
  EXPECT_EQ(report->runs[0].run_dir, yaml_path + "/hostile/C1e13-L2-d32");
  EXPECT_TRUE(std::filesystem::exists(report->runs[0].run_dir + "/summary.json"));
  for (const char* f : {"PWNED", "PWNED2"}) {
    EXPECT_FALSE(std::filesystem::exists(dir / f));
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::current_path() / f));
  }
}

TEST(DaemonLocalTest, CancelStopsARunningRunAndItIsNotRetried) {
  TempDir dir;
  std::string db = dir / "state.db";
  std::string text = TinySpec("cancel", dir / "runs", "local", "  fake_sleep_s: 30\n", 1);
  ASSERT_TRUE(SubmitText(dir / "s.yaml", text, db).ok());
  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, db}, dir / "daemon.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] == 4;  // local slots
      },
      30));
  auto n = CancelRuns(db, "", /*all=*/true);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 5);
  EXPECT_EQ(testing::WaitExit(daemon), 0);
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["cancelled"], 5) << report->ToText();
  for (const auto& r : report->runs) EXPECT_LE(r.attempt, 1) << r.name;
}

TEST(DaemonLocalTest, SighupReReadsTheSpecAndAddsItsNewRuns) {
  TempDir dir;
  std::string db = dir / "state.db";
  ASSERT_TRUE(
      SubmitText(dir / "s.yaml", TinySpec("hup", dir / "runs", "local", "  fake_sleep_s: 1\n", 1), db).ok());
  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, db}, dir / "daemon.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] >= 1;
      },
      30));
  // Add the second budget to the spec on disk, then SIGHUP: its five runs join the sweep.
  WriteFile(dir / "s.yaml", TinySpec("hup", dir / "runs", "local", "  fake_sleep_s: 1\n", 2));
  ASSERT_EQ(::kill(daemon, SIGHUP), 0);
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->runs.size(), 10u);
  EXPECT_EQ(report->counts["done"], 10) << report->ToText();
}

TEST(DaemonLocalTest, StatusApiServesReadOnlyJsonOnLoopback) {
  TempDir dir;
  std::string db = dir / "state.db";
  ASSERT_TRUE(
      SubmitText(dir / "s.yaml", TinySpec("api", dir / "runs", "local", "  fake_sleep_s: 2\n", 1), db).ok());
  int port = 40000 + (::getpid() % 20000);  // clear of slurm-local's 20000-28000
  std::string listen = "127.0.0.1:" + std::to_string(port);
  pid_t daemon = testing::Spawn({ISOFLOP_DAEMON_HELPER, db, "0.05", "0.2", listen}, dir / "daemon.log");
  std::string body;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        body = testing::Http("GET", port, "/api/runs");
        return !body.empty();
      },
      20))
      << ReadFile(dir / "daemon.log");
  json runs = json::parse(body, nullptr, false);
  ASSERT_TRUE(runs.is_array()) << body;
  EXPECT_EQ(runs.size(), 5u);
  std::string post = testing::Http("POST", port, "/api/runs");
  EXPECT_NE(post.find("GET only"), std::string::npos);
  std::string missing = testing::Http("GET", port, "/api/nope");
  EXPECT_NE(missing.find("no such endpoint"), std::string::npos);
  ::kill(daemon, SIGTERM);
  EXPECT_EQ(testing::WaitExit(daemon), 0);  // SIGTERM: clean exit
  EXPECT_NE(ReadFile(dir / "daemon.log").find("SIGTERM"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::orchestrator
