// The state store: versioned schema with migrations, WAL, integrity check, refusal of files it
// does not understand.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::TempDir;

TEST(StoreTest, CreatesTheCurrentSchemaInWalModeAndPassesIntegrityCheck) {
  TempDir dir;
  auto db = Database::Open(dir / "state.db", /*create=*/true);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->SchemaVersion(), kSchemaVersion);
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE((*mode)->Step());
  EXPECT_EQ((*mode)->Text(0), "wal");
  auto check = (*db)->IntegrityCheck();
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(*check, "ok");
}

TEST(StoreTest, MigratesAVersionOneDatabaseForwardKeepingItsRows) {
  TempDir dir;
  std::string path = dir / "old.db";
  {
    auto db = Database::Open(path, true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->ExecFixed("INSERT INTO sweeps(name, spec_path, spec_yaml, backend, created_at) "
                                "VALUES('s', 'p', 'y', 'local', 0)")
                    .ok());
    // Roll the file back to version 1 as an older isoflop would have left it.
    ASSERT_TRUE(
        (*db)
            ->ExecFixed("DROP INDEX runs_by_state; DROP INDEX attempts_by_run; DROP INDEX events_by_run; "
                        "ALTER TABLE fits DROP COLUMN valid; ALTER TABLE fits DROP COLUMN error; "
                        "PRAGMA user_version=1")
            .ok());
  }
  auto db = Database::Open(path, false);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->SchemaVersion(), 3);
  auto idx =
      (*db)->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'runs_by_state'");
  ASSERT_TRUE(idx.ok());
  ASSERT_TRUE((*idx)->Step());
  EXPECT_EQ((*idx)->Int(0), 1);
  auto rows = (*db)->Prepare("SELECT name FROM sweeps");
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE((*rows)->Step());
  EXPECT_EQ((*rows)->Text(0), "s");
}

TEST(StoreTest, RefusesADatabaseFromANewerIsoflop) {
  TempDir dir;
  std::string path = dir / "new.db";
  {
    auto db = Database::Open(path, true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->ExecFixed("PRAGMA user_version=99").ok());
  }
  auto db = Database::Open(path, false);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("99"), std::string::npos);
}

TEST(StoreTest, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir / "notes.txt";
  testing::WriteFile(path, std::string(4096, 'x'));
  auto db = Database::Open(path, false);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find(path), std::string::npos);
  EXPECT_EQ(testing::ReadFile(path), std::string(4096, 'x'));  // nothing overwritten
}

TEST(StoreTest, MissingDatabaseWithoutCreateIsNotFound) {
  TempDir dir;
  auto db = Database::Open(dir / "absent.db", false);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir / "absent.db"));
}

TEST(StoreTest, BoundValuesAreDataNotSql) {
  TempDir dir;
  auto db = Database::Open(dir / "s.db", true);
  ASSERT_TRUE(db.ok());
  std::string hostile = "x'); DROP TABLE runs; --";
  auto ins = (*db)->Prepare(
      "INSERT INTO sweeps(name, spec_path, spec_yaml, backend, created_at) VALUES(?1, '', '', 'local', 0)");
  ASSERT_TRUE(ins.ok());
  ASSERT_TRUE((*ins)->Bind(1, hostile).Run().ok());
  auto q = (*db)->Prepare("SELECT name FROM sweeps");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->Step());
  EXPECT_EQ((*q)->Text(0), hostile);
  auto runs = (*db)->Prepare("SELECT COUNT(*) FROM runs");
  EXPECT_TRUE(runs.ok());
}

TEST(StoreTest, TransactionRollsBackWhenNotCommitted) {
  TempDir dir;
  auto db = Database::Open(dir / "t.db", true);
  ASSERT_TRUE(db.ok());
  {
    Transaction txn(**db);
    ASSERT_TRUE(txn.status().ok());
    ASSERT_TRUE((*db)->ExecFixed("INSERT INTO events(at, kind) VALUES(0, 'x')").ok());
  }  // no Commit(): an early return on error
  auto q = (*db)->Prepare("SELECT COUNT(*) FROM events");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->Step());
  EXPECT_EQ((*q)->Int(0), 0);
}

}  // namespace
}  // namespace isoflop::orchestrator
