// The Slurm backend against a REAL one-node Slurm 22.05 cluster started by scripts/slurm-local
// (CTest fixture orchestrator_slurm_up/down). Skipped only when the Slurm binaries were absent at
// configure time (scripts/setup installs them, so CI runs these).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "backend.h"
#include "crash_helpers.h"

namespace isoflop::orchestrator {
namespace {

using nlohmann::json;
using testing::ReadFile;
using testing::TempDir;

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* state = std::getenv("ISOFLOP_TEST_SLURM_STATE");
    if (state == nullptr) GTEST_SKIP() << "Slurm binaries were not found at configure time";
    state_ = state;
    conf_ = state_ + "/slurm.conf";
    ASSERT_TRUE(std::filesystem::exists(conf_)) << conf_ << ": the slurm fixture did not start the cluster";
    ::setenv("SLURM_CONF", conf_.c_str(), 1);
    ::unsetenv("ISOFLOP_SLURM_API");
  }
  // Each test leaves the cluster as it found it, so that one failure is not three: a daemon
  // still running is killed, every job is cancelled, a drained node is resumed.
  void TearDown() override {
    ::unsetenv("ISOFLOP_SLURM_API");
    if (state_.empty()) return;
    for (pid_t pid : daemons_) {
      int ws = 0;
      if (::waitpid(pid, &ws, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &ws, 0);
      }
    }
    int code = 0;
    (void)RunProgram({"scancel", "--full", "--user=" + std::to_string(::getuid())}, &code,
                     {"SLURM_CONF=" + conf_});
    testing::WaitFor(
        [&] {
          return Scontrol({"-o", "show", "job"}).find("JobState=RUNNING") == std::string::npos;
        },
        30);
    if (Scontrol({"show", "node", "localhost"}).find("DRAIN") != std::string::npos) {
      Scontrol({"update", "nodename=localhost", "state=resume"});
    }
  }

  // The daemon under test, owned by the fixture (TearDown kills it if a check failed early).
  pid_t SpawnDaemon(const std::string& db, const std::string& log) {
    pid_t pid = testing::Spawn({ISOFLOP_DAEMON_HELPER, db}, log);
    daemons_.push_back(pid);
    return pid;
  }

  std::string Submit(const TempDir& dir, const std::string& name, const std::string& train, int budgets = 2,
                     const std::string& extra = "") {
    std::string spec = testing::TinySpec(name, dir / "runs", "slurm", train, budgets,
                                         "slurm: {conf: \"" + conf_ + "\", signal: \"B:USR1@60\"}\n" + extra);
    testing::WriteFile(dir / "s.yaml", spec);
    auto parsed = ParseSweepSpec(dir / "s.yaml");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    SubmitOptions o;
    o.db_path = dir / "state.db";
    auto s = SubmitSweep(*parsed, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return o.db_path;
  }

 public:
  std::string Scontrol(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"scontrol"};
    argv.insert(argv.end(), args.begin(), args.end());
    int code = 0;
    auto out = RunProgram(argv, &code, {"SLURM_CONF=" + conf_});
    return out.ok() ? *out : "";
  }

  // Job names (our idempotency keys) -> how many Slurm jobs carry each.
  std::map<std::string, int> JobsPerName() {
    std::map<std::string, int> count;
    std::istringstream lines(Scontrol({"-o", "show", "job"}));
    std::string line;
    while (std::getline(lines, line)) {
      auto p = line.find("JobName=");
      if (p == std::string::npos) continue;
      std::string name = line.substr(p + 8, line.find(' ', p) - p - 8);
      if (name.rfind("ifl-", 0) == 0) ++count[name];
    }
    return count;
  }

  std::string state_, conf_;
  std::vector<pid_t> daemons_;
};

TEST_F(SlurmTest, SweepRunsEndToEndAndTheFitFollowsEachCompletion) {
  TempDir dir;
  std::string db = Submit(dir, "e2e", "");
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 10) << report->ToText() << ReadFile(dir / "daemon.log");
  std::set<std::string> job_ids;
  for (const RunStatus& r : report->runs) {
    EXPECT_FALSE(r.job_id.empty());
    job_ids.insert(r.job_id);
    // The batch script's output went under the run dir.
    EXPECT_TRUE(std::filesystem::exists(r.run_dir + "/.isoflop/slurm-" + r.job_id + ".out")) << r.name;
  }
  EXPECT_EQ(job_ids.size(), 10u);
  json status = json::parse(report->ToJson());
  EXPECT_EQ(status["fit"]["n_points"], 10);
  EXPECT_TRUE(status["narrowing"].is_object());
  for (const auto& [name, n] : JobsPerName()) EXPECT_EQ(n, 1) << name;
}

TEST_F(SlurmTest, TheCliFallbackRunsTheSameSweep) {
  ::setenv("ISOFLOP_SLURM_API", "cli", 1);
  TempDir dir;
  std::string db = Submit(dir, "cli", "", 1);
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 5) << report->ToText();
}

TEST_F(SlurmTest, ExitCodesMapOntoTheRetryPolicy) {
  TempDir dir;
  std::string db = Submit(dir, "codes", "  fake_fail_first: 9\n  fake_fail_code: 3\n", 1);
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["diverged"], 5) << report->ToText();
  for (const auto& r : report->runs) EXPECT_EQ(r.attempt, 1);
}

TEST_F(SlurmTest, KillNineLoopSubmitsEachAttemptOnce) {
  TempDir dir;
  std::string db = Submit(dir, "crash", "  fake_sleep_s: 0.5\n");
  int kills = testing::KillDaemonUntilDone(db, dir / "daemon.log", /*max_kills=*/10, /*seed=*/7);
  EXPECT_GE(kills, 6);
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 10) << report->ToText() << ReadFile(dir / "daemon.log");
  testing::ExpectNoDuplicateLaunches(*report);
  for (const auto& [name, n] : JobsPerName()) EXPECT_EQ(n, 1) << name << " was submitted " << n << " times";
}

// slurmctld stopped (SIGTERM: it saves its state) and restarted mid-sweep: the daemon rides
// through the outage (polls fail, states are kept) and every job is still the one it submitted.
TEST_F(SlurmTest, SurvivesSlurmctldStoppedAndRestartedMidSweep) {
  TempDir dir;
  std::string db = Submit(dir, "ctld", "  fake_sleep_s: 1\n");
  pid_t daemon = SpawnDaemon(db, dir / "daemon.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] >= 1 && r->counts["done"] >= 1;
      },
      60));
  int code = 0;
  auto out = RunProgram({ISOFLOP_SOURCE_DIR "/scripts/slurm-local", "restart-ctld", state_, "TERM"}, &code);
  ASSERT_EQ(code, 0) << (out.ok() ? *out : out.status().ToString());
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 10) << report->ToText() << ReadFile(dir / "daemon.log");
  testing::ExpectNoDuplicateLaunches(*report);
}

// slurmctld kill -9: it loses the jobs submitted since its last state save and hands their ids
// out again; slurmd, still running the old jobs, reports "Duplicate jobid" and Slurm drains the
// node. The daemon resubmits the lost runs as new attempts (a job id now carrying another name
// is not taken for ours; held jobs are cancelled and retried). The test plays the admin who
// resumes the node.
TEST_F(SlurmTest, SurvivesSlurmctldKilledNineMidSweep) {
  // Precondition: the controller's saved state is current, so that the kill below loses only
  // this test's jobs. slurmctld batches its state saves (up to ~5 s behind), so jobs an earlier
  // test saw finish a moment ago can still be saved as RUNNING; after a kill -9 they come back
  // as ghosts that hold the node's CPUs until their time limit. A SIGTERM restart saves first.
  {
    int code = 0;
    auto out = RunProgram({ISOFLOP_SOURCE_DIR "/scripts/slurm-local", "restart-ctld", state_, "TERM"}, &code);
    ASSERT_EQ(code, 0) << (out.ok() ? *out : out.status().ToString());
  }
  TempDir dir;
  std::string db = Submit(dir, "ctld9", "  fake_sleep_s: 1\n");
  pid_t daemon = SpawnDaemon(db, dir / "daemon.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] >= 1 && r->counts["done"] >= 1;
      },
      60));
  int code = 0;
  auto out = RunProgram({ISOFLOP_SOURCE_DIR "/scripts/slurm-local", "restart-ctld", state_, "KILL"}, &code);
  ASSERT_EQ(code, 0) << (out.ok() ? *out : out.status().ToString());
  int exit_code = -1;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        int ws = 0;
        if (::waitpid(daemon, &ws, WNOHANG) == daemon) {
          exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
          return true;
        }
        if (Scontrol({"show", "node", "localhost"}).find("DRAIN") != std::string::npos) {
          Scontrol({"update", "nodename=localhost", "state=resume"});
        }
        return false;
      },
      200));
  EXPECT_EQ(exit_code, 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 10) << report->ToText() << ReadFile(dir / "daemon.log");
  testing::ExpectNoDuplicateLaunches(*report, /*strict=*/false);
}

TEST_F(SlurmTest, ARequeuedJobResumesFromItsCheckpoint) {
  TempDir dir;
  // One run in flight at a time: the requeued job must not find the node's CPUs taken by the
  // next runs (which wait for a signal that never comes) when Slurm starts it again.
  std::string db = Submit(dir, "requeue", "  fake_wait_signal: 1\n", 1, "max_in_flight: 1\n");
  pid_t daemon = SpawnDaemon(db, dir / "daemon.log");
  std::string job, run_dir;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        if (!r.ok()) return false;
        for (const auto& run : r->runs) {
          if (run.state == "running" && std::filesystem::exists(run.run_dir + "/metrics.jsonl")) {
            job = run.job_id;
            run_dir = run.run_dir;
            return true;
          }
        }
        return false;
      },
      60));
  // What preemption does: the job is requeued (the batch script is signalled, the trainer
  // checkpoints and stops), then rerun from the top.
  Scontrol({"requeue", job});
  Scontrol({"update", "jobid=" + job, "StartTime=now"});
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(run_dir + "/fake_resumed"); }, 90))
      << ReadFile(run_dir + "/train.log");
  // The next run waits for a signal that never comes: cancel the rest once the requeued one is done.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        if (!r.ok()) return false;
        for (const auto& run : r->runs) {
          if (run.job_id == job) return run.state == "done";
        }
        return false;
      },
      90));
  ASSERT_TRUE(CancelRuns(db, "", true).ok());
  EXPECT_EQ(testing::WaitExit(daemon), 0);
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  for (const auto& run : report->runs) {
    if (run.job_id != job) continue;
    EXPECT_EQ(run.state, "done");
    EXPECT_EQ(run.attempt, 1);  // Slurm reran it under the same job: no new submission
    EXPECT_NE(ReadFile(run.run_dir + "/train.log").find("resume=1"), std::string::npos);
  }
}

TEST_F(SlurmTest, ADrainedNodeLetsRunningJobsFinishAndHoldsTheRest) {
  TempDir dir;
  std::string db = Submit(dir, "drain", "  fake_sleep_s: 2\n", 1);
  pid_t daemon = SpawnDaemon(db, dir / "daemon.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] >= 1;
      },
      60));
  Scontrol({"update", "nodename=localhost", "state=drain", "reason=isoflop-test"});
  struct ResumeOnExit {  // a failed assertion must not leave the node drained for the next test
    SlurmTest* test;
    bool done = false;
    ~ResumeOnExit() {
      if (!done) test->Scontrol({"update", "nodename=localhost", "state=resume"});
    }
  } resume{this};
  // Running jobs finish; nothing new starts while drained; nothing fails.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  auto mid = GetStatus(db);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->counts["failed"], 0) << mid->ToText();
  EXPECT_EQ(mid->counts["running"], 0) << mid->ToText();
  EXPECT_GE(mid->counts["queued"], 1) << mid->ToText();
  Scontrol({"update", "nodename=localhost", "state=resume"});
  resume.done = true;
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 5) << report->ToText();
  testing::ExpectNoDuplicateLaunches(*report);
}

}  // namespace
}  // namespace isoflop::orchestrator
