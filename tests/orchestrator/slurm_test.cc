// The Slurm backend against a REAL one-node Slurm 22.05 cluster started by scripts/slurm-local
// (CTest fixture orchestrator_slurm_up/down). Skipped only when the Slurm binaries were absent at
// configure time (scripts/setup installs them, so CI runs these).
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

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

// kill -9 a moment after a job ran to the end: the controller comes back without the
// completion (it batches its state saves), launches the job again, slurmd refuses the duplicate
// id, and the job is held or listed RUNNING with nothing behind it (until its time limit). The
// wrapper's exit record, written by this job, says the run finished: it is done, not retried.
class SlurmLostCompletionTest : public SlurmTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(SlurmLostCompletionTest, AFinishedJobTheControllerForgotIsTakenFromTheWrappersRecord) {
  ::setenv("ISOFLOP_SLURM_API", GetParam().c_str(), 1);  // libslurm, then the CLI fallback
  TempDir dir;
  auto backend = MakeBackend("slurm", 1, conf_);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  // Two jobs: one the daemon still tracks, one whose run it had already recorded done (nobody
  // polls it; it must not hold its CPU until its time limit either). The "trainer" runs until
  // the test lets it finish, so the controller's last save before the kill can be placed:
  // after the jobs started, before they ended.
  std::vector<LaunchRequest> reqs(2);
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    LaunchRequest& req = reqs[i];
    req.key = std::string(kRunKeyPrefix) + "lost-completion-" + std::to_string(i);
    req.run_dir = dir / ("run " + std::to_string(i));  // a space: the CLI's WorkDir parse
    req.trainer_argv = {"/bin/sh", "-c", "while [ ! -f finish ]; do sleep 0.05; done"};
    req.resources.cpus = 1;
    req.resources.mem_mb = 256;
    req.resources.time_limit_min = 5;
    req.sweep = "lost";
    auto job = (*backend)->Launch(req);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    ids.push_back(*job);
  }
  auto state_of = [&](const std::string& id) {
    std::istringstream listing(Scontrol({"-o", "show", "job", id}));
    std::string field;
    while (listing >> field) {
      if (field.rfind("JobState=", 0) == 0) return field.substr(9);
    }
    return std::string("(unknown)");
  };
  ASSERT_TRUE(
      testing::WaitFor([&] { return state_of(ids[0]) == "RUNNING" && state_of(ids[1]) == "RUNNING"; }, 60));
  // slurmctld writes its state at most every few seconds: let the save of the starts go by,
  // then change a job (a save now), end both (their completions wait for the next save), kill -9.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  Scontrol({"update", "jobid=" + ids[0], "comment=isoflop-test-last-save"});
  for (const LaunchRequest& req : reqs) testing::WriteFile(req.run_dir + "/finish", "");
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        testing::WaitFor([&] { return ReadExitRecord(reqs[i].run_dir, reqs[i].key).has_value(); }, 60));
    auto record = ReadExitRecord(reqs[i].run_dir, reqs[i].key);
    EXPECT_EQ(record->code, 0);
    EXPECT_EQ(record->job_id, ids[i]);
    EXPECT_EQ(record->restarts, 0);
  }
  int code = 0;
  auto out = RunProgram({ISOFLOP_SOURCE_DIR "/scripts/slurm-local", "restart-ctld", state_, "KILL"}, &code);
  ASSERT_EQ(code, 0) << (out.ok() ? *out : out.status().ToString());

  const TrackedJob tracked{ids[0], reqs[0].key, reqs[0].run_dir};
  std::vector<std::string> seen;  // what the controller said along the way
  JobState final_state;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::string now = state_of(ids[0]);
        if (seen.empty() || seen.back() != now) seen.push_back(now);
        auto polled = (*backend)->Poll({tracked});
        if (!polled.ok() || !polled->count(ids[0])) return false;
        final_state = polled->at(ids[0]);
        return final_state.phase == JobPhase::kFinished;
      },
      90))
      << ::testing::PrintToString(seen);
  std::cout << "controller states after the kill: " << ::testing::PrintToString(seen)
            << "; verdict: " << final_state.reason << "\n";
  ASSERT_TRUE(final_state.exit_code.has_value()) << final_state.reason;
  EXPECT_EQ(*final_state.exit_code, 0) << final_state.reason;
  EXPECT_FALSE(final_state.infrastructure) << final_state.reason;
  EXPECT_FALSE(final_state.cancelled) << final_state.reason;
  // Both allocations the controller still held are given back. The untracked ghost is reaped
  // by a poll once its record is kLostCompletionGraceS (30 s) old, or at once when held: the
  // daemon polls on (an idle backend at its cluster-check cadence), and so does this loop. The
  // poll that finished the tracked job may have come before the ghost's grace ran out (seen on
  // a CI machine, where the tracked job came back HELD and was taken at once).
  auto last_poll = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  for (const std::string& id : ids) {
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          if (std::chrono::steady_clock::now() - last_poll >= std::chrono::seconds(1)) {
            (void)(*backend)->Poll({});  // once a second, as a daemon would
            last_poll = std::chrono::steady_clock::now();
          }
          std::string st = state_of(id);
          return st != "RUNNING" && st != "PENDING";
        },
        60))
        << "job " << id << " is " << state_of(id);
  }
}

INSTANTIATE_TEST_SUITE_P(Api, SlurmLostCompletionTest,
                         ::testing::Values(std::string("lib"), std::string("cli")),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

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

namespace isoflop::orchestrator {
namespace {

// Issue 15, finding 14: after a slurmctld kill -9, slurmd reports "Duplicate jobid" and Slurm drains
// the node; the sweep then waited for an admin without a word. The daemon now says so in `status`,
// and on isoflop's own local cluster (scripts/slurm-local marks it) resumes the node itself. The
// drain is made with scontrol and the same reason, so the test does not need the kill's timing.
TEST_F(SlurmTest, ANodeDrainedForDuplicateJobidIsReportedAndResumedOnTheLocalCluster) {
  ASSERT_TRUE(std::filesystem::exists(state_ + "/isoflop-local-cluster"));
  TempDir dir;
  std::string db = Submit(dir, "dupjob", "  fake_sleep_s: 2\n", 1);
  pid_t daemon = SpawnDaemon(db, dir / "daemon.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] >= 1;
      },
      60));
  Scontrol({"update", "nodename=localhost", "state=drain", "reason=Duplicate jobid"});
  std::string seen;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        if (!r.ok()) return false;
        seen = r->ToText();
        return seen.find("node localhost is drained") != std::string::npos &&
               seen.find("resumed by the daemon") != std::string::npos;
      },
      45))
      << seen << ReadFile(dir / "daemon.log");
  EXPECT_NE(seen.find("reason: Duplicate jobid"), std::string::npos) << seen;
  EXPECT_TRUE(testing::WaitFor(
      [&] { return Scontrol({"show", "node", "localhost"}).find("DRAIN") == std::string::npos; }, 10));
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 5) << report->ToText();
}

// Any other drain is the operator's: reported with its reason, never resumed by the daemon.
TEST_F(SlurmTest, AnOperatorsDrainIsReportedAndLeftAlone) {
  TempDir dir;
  std::string db = Submit(dir, "opdrain", "  fake_sleep_s: 2\n", 1);
  Scontrol({"update", "nodename=localhost", "state=drain", "reason=maintenance window"});
  pid_t daemon = SpawnDaemon(db, dir / "daemon.log");
  std::string seen;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        if (!r.ok()) return false;
        seen = r->ToText();
        return seen.find("node localhost is drained") != std::string::npos;
      },
      45))
      << seen << ReadFile(dir / "daemon.log");
  EXPECT_NE(seen.find("reason: maintenance window"), std::string::npos) << seen;
  EXPECT_NE(seen.find("until an admin resumes it"), std::string::npos) << seen;
  std::this_thread::sleep_for(std::chrono::seconds(12));  // past the next cluster check
  EXPECT_NE(Scontrol({"show", "node", "localhost"}).find("DRAIN"), std::string::npos) << "resumed by the daemon";
  Scontrol({"update", "nodename=localhost", "state=resume"});
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 5) << report->ToText();
  EXPECT_TRUE(report->cluster_problems.empty()) << report->ToText();  // cleared once resumed
}

}  // namespace
}  // namespace isoflop::orchestrator
