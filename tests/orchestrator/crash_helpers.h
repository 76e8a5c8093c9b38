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
    if (!by_point && kills < max_kills) {
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

// Every attempt key was launched exactly once (one line per key in each run's launches.log) and
// every run ran exactly once (the stand-in counts its own starts).
inline void ExpectNoDuplicateLaunches(const StatusReport& report) {
  for (const RunStatus& r : report.runs) {
    std::ifstream in(r.run_dir + "/.isoflop/launches.log");
    std::map<std::string, int> per_key;
    std::string when, key, pid, job;
    int lines = 0;
    while (in >> when >> key >> pid >> job) {
      ++per_key[key];
      ++lines;
    }
    EXPECT_EQ(lines, 1) << r.name << " was launched " << lines << " times";
    EXPECT_EQ(ReadFile(r.run_dir + "/fake_attempts"), "1\n") << r.name;
  }
}

}  // namespace isoflop::orchestrator::testing

#endif  // ISOFLOP_TESTS_ORCHESTRATOR_CRASH_HELPERS_H_
