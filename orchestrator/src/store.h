// SQLite state store: WAL mode, a versioned schema with migrations (PRAGMA user_version),
// prepared statements only (values are bound, never spliced into SQL), every change inside a
// transaction. One connection per process; the daemon is the only writer in steady state, the
// CLI writes in short transactions (submit, cancel), readers see consistent snapshots (WAL).
#ifndef ISOFLOP_ORCHESTRATOR_SRC_STORE_H_
#define ISOFLOP_ORCHESTRATOR_SRC_STORE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::orchestrator {

// The schema version this build writes; older databases are migrated forward on open.
inline constexpr int kSchemaVersion = 3;

using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;

// A prepared statement; reset and re-bound for each use.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, const SqlValue& value);
  Statement& Bind(int index, std::nullptr_t) { return Bind(index, SqlValue(nullptr)); }
  Statement& Bind(int index, int64_t v) { return Bind(index, SqlValue(v)); }
  Statement& Bind(int index, int v) { return Bind(index, SqlValue(static_cast<int64_t>(v))); }
  Statement& Bind(int index, double v) { return Bind(index, SqlValue(v)); }
  Statement& Bind(int index, const std::string& v) { return Bind(index, SqlValue(v)); }
  Statement& Bind(int index, const char* v) { return Bind(index, SqlValue(std::string(v))); }
  Statement& Bind(int index, const std::optional<double>& v) {
    return v ? Bind(index, *v) : Bind(index, nullptr);
  }

  // Steps once: true when a row is available, false when done; errors go to status().
  bool Step();
  // Runs to completion (for statements without rows).
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const;
  std::optional<double> OptDouble(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<double>(Double(col));
  }
  const Status& status() const { return status_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  Status status_;
};

class Database {
 public:
  // Opens (creating when `create`) and migrates to kSchemaVersion. A missing file without
  // `create` is kNotFound; a file that is not a database, or newer than this build, is an error.
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql);
  // For fixed SQL without parameters (schema, pragmas, BEGIN/COMMIT).
  Status ExecFixed(const char* sql);
  Status Begin() { return ExecFixed("BEGIN IMMEDIATE"); }
  Status Commit() { return ExecFixed("COMMIT"); }
  void Rollback() { ExecFixed("ROLLBACK"); }
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  int SchemaVersion();
  // "ok" or the problems PRAGMA integrity_check reports.
  StatusOr<std::string> IntegrityCheck();
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Migrate();
  sqlite3* db_;
  std::string path_;
};

// Commits on Commit(), rolls back if destroyed before it (an early return on error).
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) { status_ = db_.Begin(); }
  ~Transaction() {
    if (status_.ok() && !done_) db_.Rollback();
  }
  const Status& status() const { return status_; }
  Status Commit() {
    done_ = true;
    return db_.Commit();
  }

 private:
  Database& db_;
  Status status_;
  bool done_ = false;
};

double NowSeconds();  // wall clock, seconds since the epoch

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_SRC_STORE_H_
