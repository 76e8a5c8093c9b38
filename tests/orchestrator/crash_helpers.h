// The kill -9 loop shared by the local and Slurm crash tests.
#ifndef ISOFLOP_TESTS_ORCHESTRATOR_CRASH_HELPERS_H_
#define ISOFLOP_TESTS_ORCHESTRATOR_CRASH_HELPERS_H_

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "isoflop/orchestrator.h"
#include "store.h"
#include "test_util.h"

namespace isoflop::orchestrator::testing {

// Kills the daemon with SIGKILL again and again -- at random times and at each step of the
// submission protocol (ISOFLOP_DAEMON_CRASH_AT) -- until it finishes the sweep on its own.
// Checks after every kill that the database passes PRAGMA integrity_check; returns the kills.
inline int KillDaemonUntilDone(const std::string& db, const std::string& log, int max_kills, uint32_t seed) {
  std::mt19937 rng(seed);
  const char* points[] = {"after-intent", "after-launch", "after-poll", "after-refit"};
  int kills = 0;
  for (int round = 0; round < max_kills + 20; ++round) {
    bool by_point = round % 2 == 1 && kills < max_kills;
    if (by_point) {
      std::string p = std::string(points[rng() % 4]) + ":" + std::to_string(1 + rng() % 3);
      ::setenv("ISOFLOP_DAEMON_CRASH_AT", p.c_str(), 1);
    }
    pid_t pid = Spawn({ISOFLOP_DAEMON_HELPER, db}, log);
    ::unsetenv("ISOFLOP_DAEMON_CRASH_AT");
    if (kills < max_kills) {
      // A crash point not reached in time (e.g. no refit due) falls back to a timed kill; a
      // daemon already dead is an unreaped zombie here, so the kill cannot hit another process.
      std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 400));
      ::kill(pid, SIGKILL);
    }
    int code = WaitExit(pid);
    if (code == 128 + SIGKILL) {
      ++kills;
    } else {
      EXPECT_EQ(code, 0) << ReadFile(log);
      if (code == 0) return kills;  // every run final
    }
    auto dbh = Database::Open(db, false);
    EXPECT_TRUE(dbh.ok());
    if (!dbh.ok()) return kills;
    auto check = (*dbh)->IntegrityCheck();
    EXPECT_TRUE(check.ok() && *check == "ok") << "after kill " << kills;
  }
  ADD_FAILURE() << "the daemon never finished the sweep";
  return kills;
}

// strict: every run was launched exactly once (one line in its launches.log, one start of the
// stand-in). Otherwise (a cluster that lost jobs, e.g. slurmctld kill -9): retries are allowed,
// but no attempt key was ever started under two different Slurm jobs -- i.e. never submitted twice.
inline void ExpectNoDuplicateLaunches(const StatusReport& report, bool strict = true) {
  for (const RunStatus& r : report.runs) {
    std::ifstream in(r.run_dir + "/.isoflop/launches.log");
    std::map<std::string, std::set<std::string>> jobs_per_key;
    std::string when, key, pid, job;
    int lines = 0;
    while (in >> when >> key >> pid >> job) {
      jobs_per_key[key].insert(job);
      ++lines;
    }
    if (strict) {
      EXPECT_EQ(lines, 1) << r.name << " was launched " << lines << " times";
      EXPECT_EQ(ReadFile(r.run_dir + "/fake_attempts"), "1\n") << r.name;
    } else {
      EXPECT_GE(lines, 1) << r.name;
    }
    for (const auto& [k, ids] : jobs_per_key)
      EXPECT_EQ(ids.size(), 1u) << r.name << ": key " << k << " submitted as " << ids.size() << " jobs";
  }
}

}  // namespace isoflop::orchestrator::testing

#endif  // ISOFLOP_TESTS_ORCHESTRATOR_CRASH_HELPERS_H_
