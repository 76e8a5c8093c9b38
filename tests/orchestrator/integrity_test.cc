// The daemon checks the database before any work (issue 15, finding 10): a damaged state.db used to
// answer the daemon's few indexed queries with nothing, and the daemon exited 0 ("all runs final")
// on a database that `status` rejects. The damage here is real SQLite damage, made the way a bad
// write would make it: the index the daemon's queries use points at another index's pages.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "isoflop/orchestrator.h"
#include "store.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

TEST(IntegrityTest, TheDaemonRefusesADamagedDatabaseWithExitNotZero) {
  TempDir dir;
  testing::WriteFile(dir / "s.yaml", testing::TinySpec("ic", dir / "runs", "local", "", 1));
  auto spec = ParseSweepSpec(dir / "s.yaml");
  ASSERT_TRUE(spec.ok());
  SubmitOptions o;
  o.db_path = dir / "state.db";
  ASSERT_TRUE(SubmitSweep(*spec, o).ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(o.db_path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc =
        sqlite3_exec(db,
                     "PRAGMA writable_schema=ON; UPDATE sqlite_schema SET rootpage = (SELECT rootpage "
                     "FROM sqlite_schema WHERE name = 'attempts_by_run') WHERE name = 'runs_by_state';",
                     nullptr, nullptr, &err);
    ASSERT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  auto db = Database::Open(o.db_path, false);
  ASSERT_TRUE(db.ok());
  auto check = (*db)->IntegrityCheck();
  ASSERT_TRUE(check.ok());
  ASSERT_NE(*check, "ok");  // the damage is there
  db->reset();

  const int code = testing::RunDaemonToIdle(o.db_path, dir / "daemon.log");
  EXPECT_NE(code, 0) << ReadFile(dir / "daemon.log");
  EXPECT_NE(ReadFile(dir / "daemon.log").find("the state database is damaged"), std::string::npos)
      << ReadFile(dir / "daemon.log");
  EXPECT_FALSE(std::filesystem::exists(dir / "runs/ic"));  // nothing was launched
}

}  // namespace
}  // namespace isoflop::orchestrator
