#include "store.h"

#include <chrono>
#include <filesystem>

namespace isoflop::orchestrator {
namespace {

// Each entry migrates from version i to i+1 and runs inside one transaction with the
// user_version bump, so a crash mid-migration leaves the previous version intact.
const char* const kMigrations[] = {
    // 0 -> 1: sweeps, runs, attempts, fits, events.
    R"sql(
CREATE TABLE sweeps(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec_path TEXT NOT NULL,
  spec_yaml TEXT NOT NULL,
  backend TEXT NOT NULL,
  created_at REAL NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  name TEXT NOT NULL,
  budget_flops REAL NOT NULL,
  params REAL NOT NULL,
  tokens REAL NOT NULL,
  config_yaml TEXT NOT NULL,
  run_dir TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  job_id TEXT,
  idem_key TEXT,
  next_attempt_at REAL NOT NULL DEFAULT 0,
  exit_code INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  final_eval_loss REAL,
  summary_json TEXT,
  metrics_offset INTEGER NOT NULL DEFAULT 0,
  metrics_lines INTEGER NOT NULL DEFAULT 0,
  corrupt_lines INTEGER NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT -1,
  last_train_loss REAL,
  updated_at REAL NOT NULL,
  UNIQUE(sweep_id, name));
CREATE TABLE attempts(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  attempt INTEGER NOT NULL,
  idem_key TEXT NOT NULL UNIQUE,
  job_id TEXT,
  state TEXT NOT NULL,
  exit_code INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  intent_at REAL NOT NULL,
  submitted_at REAL,
  finished_at REAL);
CREATE TABLE fits(
  id INTEGER PRIMARY KEY,
  created_at REAL NOT NULL,
  n_runs INTEGER NOT NULL,
  inputs_json TEXT NOT NULL,
  fit_json TEXT NOT NULL,
  plan_json TEXT);
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  at REAL NOT NULL,
  run_id INTEGER,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '');
)sql",
    // 1 -> 2: indexes for the daemon's per-tick queries at 10,000 runs.
    R"sql(
CREATE INDEX runs_by_state ON runs(state);
CREATE INDEX attempts_by_run ON attempts(run_id, attempt);
CREATE INDEX events_by_run ON events(run_id);
)sql",
    // 2 -> 3: every refit attempt is recorded; a failed or degenerate one is kept for `status` but is
    // never the current law (valid = 0, error says why; fit_json 'null' when the fit failed).
    R"sql(
ALTER TABLE fits ADD COLUMN valid INTEGER NOT NULL DEFAULT 1;
ALTER TABLE fits ADD COLUMN error TEXT NOT NULL DEFAULT '';
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Statement& Statement::Bind(int index, const SqlValue& value) {
  int rc = SQLITE_OK;
  if (std::holds_alternative<std::nullptr_t>(value)) {
    rc = sqlite3_bind_null(stmt_, index);
  } else if (auto* i = std::get_if<int64_t>(&value)) {
    rc = sqlite3_bind_int64(stmt_, index, *i);
  } else if (auto* d = std::get_if<double>(&value)) {
    rc = sqlite3_bind_double(stmt_, index, *d);
  } else {
    const auto& s = std::get<std::string>(value);
    rc = sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  if (rc != SQLITE_OK && status_.ok())
    status_ = Status::Internal(std::string("bind: ") + sqlite3_errmsg(db_));
  return *this;
}

bool Statement::Step() {
  if (!status_.ok()) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = Status::IOError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return false;
}

Status Statement::Run() {
  while (Step()) {
  }
  Status s = status_;
  Reset();
  return s;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  status_ = Status::OK();
}

std::string Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path, bool create) {
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    return Status::NotFound(path + ": no such database (create it with `isoflop sweep submit`)");
  }
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) {
    return Status::IOError(path + ": cannot open database: " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 10000);
  // WAL: readers (status, the HTTP API) never block the daemon's writes; synchronous=FULL
  // makes each commit durable across power loss, which the crash tests rely on.
  Status s = db->ExecFixed("PRAGMA journal_mode=WAL");
  if (!s.ok()) return Status::Corruption(path + ": not an isoflop database: " + s.message());
  ISOFLOP_RETURN_IF_ERROR(db->ExecFixed("PRAGMA synchronous=FULL"));
  ISOFLOP_RETURN_IF_ERROR(db->ExecFixed("PRAGMA foreign_keys=ON"));
  ISOFLOP_RETURN_IF_ERROR(db->Migrate().WithContext(path));
  return db;
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

StatusOr<std::unique_ptr<Statement>> Database::Prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
  if (rc != SQLITE_OK)
    return Status::Internal("prepare: " + std::string(sqlite3_errmsg(db_)) + " in: " + sql);
  return std::make_unique<Statement>(db_, stmt);
}

Status Database::ExecFixed(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status::IOError("sqlite: " + msg);
  }
  return Status::OK();
}

int Database::SchemaVersion() {
  auto stmt = Prepare("PRAGMA user_version");
  if (!stmt.ok() || !(*stmt)->Step()) return -1;
  return static_cast<int>((*stmt)->Int(0));
}

Status Database::Migrate() {
  int version = SchemaVersion();
  if (version < 0) return Status::Corruption("cannot read the schema version");
  if (version > kSchemaVersion) {
    return Status::FailedPrecondition("database schema version " + std::to_string(version) +
                                      " is newer than this isoflop (" + std::to_string(kSchemaVersion) + ")");
  }
  while (version < kSchemaVersion) {
    Transaction txn(*this);
    ISOFLOP_RETURN_IF_ERROR(txn.status());
    // Re-read inside the write lock: another process may have migrated meanwhile.
    version = SchemaVersion();
    if (version >= kSchemaVersion) break;
    ISOFLOP_RETURN_IF_ERROR(
        ExecFixed(kMigrations[version]).WithContext("migration to " + std::to_string(version + 1)));
    // PRAGMA takes no bound parameters; the value is our own integer, not user input.
    std::string bump = "PRAGMA user_version=" + std::to_string(version + 1);
    ISOFLOP_RETURN_IF_ERROR(ExecFixed(bump.c_str()));
    ISOFLOP_RETURN_IF_ERROR(txn.Commit());
    ++version;
  }
  return Status::OK();
}

StatusOr<std::string> Database::IntegrityCheck() {
  auto stmt = Prepare("PRAGMA integrity_check");
  if (!stmt.ok()) return stmt.status();
  std::string out;
  while ((*stmt)->Step()) {
    if (!out.empty()) out += "\n";
    out += (*stmt)->Text(0);
  }
  ISOFLOP_RETURN_IF_ERROR((*stmt)->status());
  return out;
}

}  // namespace isoflop::orchestrator
