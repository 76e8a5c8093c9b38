// Submission, status, cancel and logs: short transactions against the state store.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backend.h"
#include "isoflop/orchestrator.h"
#include "store.h"
#include "sweep_internal.h"

namespace isoflop::orchestrator {

namespace fs = std::filesystem;
using nlohmann::json;

bool SubmitOptions::IsValid(std::string* error) const {
  if (db_path.empty()) {
    *error = "--db: a database path is required";
    return false;
  }
  if (!backend_override.empty() && backend_override != "local" && backend_override != "slurm") {
    *error = "--backend: expected local or slurm, got '" + backend_override + "'";
    return false;
  }
  return true;
}

std::string SubmitSummary::BriefReport() const {
  return "sweep " + sweep + ": " + std::to_string(runs_added) + " runs added, " +
         std::to_string(runs_existing) + " already recorded";
}

Status AddSweepRuns(Database& db, const SweepSpec& spec, SubmitSummary* summary) {
  auto planned = PlanSweep(spec, spec.auto_sizes.enabled ? LatestFitJson(db) : "");
  if (!planned.ok()) return planned.status();
  Transaction txn(db);
  ISOFLOP_RETURN_IF_ERROR(txn.status());
  double now = NowSeconds();
  auto find = db.Prepare("SELECT id FROM sweeps WHERE name = ?1");
  if (!find.ok()) return find.status();
  (*find)->Bind(1, spec.name);
  int64_t sweep_id = 0;
  if ((*find)->Step()) {
    sweep_id = (*find)->Int(0);
    auto upd = db.Prepare("UPDATE sweeps SET spec_path = ?1, spec_yaml = ?2, backend = ?3 WHERE id = ?4");
    if (!upd.ok()) return upd.status();
    ISOFLOP_RETURN_IF_ERROR(
        (*upd)->Bind(1, spec.path).Bind(2, spec.yaml).Bind(3, spec.backend).Bind(4, sweep_id).Run());
  } else {
    ISOFLOP_RETURN_IF_ERROR((*find)->status());
    auto ins = db.Prepare(
        "INSERT INTO sweeps(name, spec_path, spec_yaml, backend, created_at) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!ins.ok()) return ins.status();
    ISOFLOP_RETURN_IF_ERROR((*ins)
                                ->Bind(1, spec.name)
                                .Bind(2, spec.path)
                                .Bind(3, spec.yaml)
                                .Bind(4, spec.backend)
                                .Bind(5, now)
                                .Run());
    sweep_id = db.LastInsertId();
  }
  auto add = db.Prepare(
      "INSERT OR IGNORE INTO runs(sweep_id, name, budget_flops, params, tokens, config_yaml, run_dir, state, "
      "updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8)");
  if (!add.ok()) return add.status();
  for (const PlannedRun& run : *planned) {
    std::string dir = (fs::path(spec.out_dir) / spec.name / run.name).string();
    ISOFLOP_RETURN_IF_ERROR((*add)
                                ->Bind(1, sweep_id)
                                .Bind(2, run.name)
                                .Bind(3, run.budget_flops)
                                .Bind(4, run.params)
                                .Bind(5, run.tokens)
                                .Bind(6, ConfigYaml(run.config))
                                .Bind(7, dir)
                                .Bind(8, now)
                                .Run());
    if (db.Changes() > 0) {
      ++summary->runs_added;
    } else {
      ++summary->runs_existing;
    }
  }
  auto ev = db.Prepare("INSERT INTO events(at, kind, detail) VALUES(?1, 'submit', ?2)");
  if (!ev.ok()) return ev.status();
  ISOFLOP_RETURN_IF_ERROR((*ev)->Bind(1, now).Bind(2, summary->BriefReport()).Run());
  return txn.Commit();
}

Status CheckDataPath(const SweepSpec& spec) {
  const std::string where = spec.path + ": data: " + spec.data;
  std::error_code ec;
  const auto st = fs::status(spec.data, ec);
  if (ec || !fs::exists(st)) {
    return Status::InvalidArgument(where +
                                   ": no such directory (build the token shards first: isoflop data build "
                                   "--input CORPUS --out " +
                                   spec.data + ")");
  }
  if (!fs::is_directory(st)) return Status::InvalidArgument(where + ": not a directory of token shards");
  // The shard index every set of shards has (docs/data.md, "Token shards").
  if (!fs::is_regular_file(fs::path(spec.data) / "index.tsv", ec)) {
    return Status::InvalidArgument(where +
                                   ": no index.tsv there, so not token shards written by `isoflop data "
                                   "build` (docs/data.md)");
  }
  return Status::OK();
}

StatusOr<SubmitSummary> SubmitSweep(const SweepSpec& spec_in, const SubmitOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  SweepSpec spec = spec_in;
  if (!options.backend_override.empty()) spec.backend = options.backend_override;
  // Validate everything before the database is created: bad input writes nothing (not even an
  // empty database). auto_sizes plans around the existing database's latest fit, read only.
  if (spec.backend == "slurm") ISOFLOP_RETURN_IF_ERROR(CheckSlurmPaths(spec, 0));
  ISOFLOP_RETURN_IF_ERROR(CheckDataPath(spec));
  auto planned = PlanSweepWithDb(spec, options.db_path);
  if (!planned.ok()) return planned.status();
  auto db = Database::Open(options.db_path, /*create=*/true);
  if (!db.ok()) return db.status();
  SubmitSummary summary;
  summary.sweep = spec.name;
  ISOFLOP_RETURN_IF_ERROR(AddSweepRuns(**db, spec, &summary));
  return summary;
}

// ---------------------------------------------------------------------------------------------

// Tokens trained and throughput from the last complete line of RUN_DIR/metrics.jsonl
// (docs/interfaces.md: the last line may be half-written while the run is alive). Reads at most
// the last 16 KiB, so it costs the same whatever the file's length.
void ReadRunProgress(RunStatus* r) {
  std::ifstream in(r->run_dir + "/metrics.jsonl", std::ios::binary | std::ios::ate);
  if (!in) return;
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - 16384);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.seekg(start);
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<size_t>(in.gcount()));
  const size_t end = tail.rfind('\n');
  if (end == std::string::npos) return;
  const size_t begin = tail.rfind('\n', end == 0 ? 0 : end - 1);
  const size_t from = begin == std::string::npos || begin == end ? 0 : begin + 1;
  if (begin == std::string::npos && start > 0) return;  // one line longer than the window
  json j = json::parse(tail.substr(from, end - from), nullptr, false);
  if (!j.is_object()) return;
  if (j.contains("tokens") && j["tokens"].is_number()) r->tokens_done = j["tokens"].get<int64_t>();
  if (j.contains("tokens_per_s") && j["tokens_per_s"].is_number() && j["tokens_per_s"].get<double>() > 0) {
    r->tokens_per_s = j["tokens_per_s"].get<double>();
  }
  if (r->tokens_per_s && r->tokens_done >= 0 && r->tokens > 0) {
    r->eta_s = std::max(0.0, (r->tokens - static_cast<double>(r->tokens_done)) / *r->tokens_per_s);
  }
}

StatusOr<StatusReport> GetStatus(const std::string& db_path, const StatusOptions& options) {
  auto dbor = Database::Open(db_path, /*create=*/false);
  if (!dbor.ok()) return dbor.status();
  Database& db = **dbor;
  StatusReport report;
  // One read transaction: a consistent snapshot while the daemon writes (WAL).
  ISOFLOP_RETURN_IF_ERROR(db.ExecFixed("BEGIN"));
  auto counts = db.Prepare("SELECT state, COUNT(*) FROM runs GROUP BY state");
  if (!counts.ok()) return counts.status();
  while ((*counts)->Step()) {
    report.counts[(*counts)->Text(0)] = static_cast<int>((*counts)->Int(1));
    report.runs_total += static_cast<int>((*counts)->Int(1));
  }
  ISOFLOP_RETURN_IF_ERROR((*counts)->status());
  std::string select =
      "SELECT s.name, r.name, r.state, r.attempt, COALESCE(r.job_id, ''), r.run_dir, r.budget_flops, "
      "r.params, "
      "r.tokens, r.final_eval_loss, r.last_step, r.last_train_loss, r.corrupt_lines, r.reason "
      "FROM runs r JOIN sweeps s ON s.id = r.sweep_id ";
  if (!options.all_runs) {
    select +=
        "WHERE r.state IN ('submitting', 'queued', 'running') OR r.id IN (SELECT id FROM runs WHERE state IN "
        "('done', 'failed', 'diverged', 'bad_config', 'cancelled') ORDER BY updated_at DESC LIMIT ?1) ";
  }
  select += "ORDER BY r.id";
  auto q = db.Prepare(select);
  if (!q.ok()) return q.status();
  if (!options.all_runs) (*q)->Bind(1, options.recent_finished);
  while ((*q)->Step()) {
    RunStatus r;
    r.sweep = (*q)->Text(0);
    r.name = (*q)->Text(1);
    r.state = (*q)->Text(2);
    r.attempt = static_cast<int>((*q)->Int(3));
    r.job_id = (*q)->Text(4);
    r.run_dir = (*q)->Text(5);
    r.budget_flops = (*q)->Double(6);
    r.params = (*q)->Double(7);
    r.tokens = (*q)->Double(8);
    r.final_eval_loss = (*q)->OptDouble(9);
    r.last_step = (*q)->Int(10);
    r.last_train_loss = (*q)->OptDouble(11);
    r.corrupt_lines = (*q)->Int(12);
    r.reason = (*q)->Text(13);
    if (r.state == "running") ReadRunProgress(&r);
    report.runs.push_back(std::move(r));
  }
  ISOFLOP_RETURN_IF_ERROR((*q)->status());
  {
    auto cluster = db.Prepare("SELECT detail, at FROM events WHERE kind = 'cluster' ORDER BY id DESC LIMIT 1");
    if (!cluster.ok()) return cluster.status();
    if ((*cluster)->Step()) {
      std::istringstream lines((*cluster)->Text(0));
      for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) report.cluster_problems.push_back(line);
      }
      report.cluster_checked_at = (*cluster)->Double(1);
    }
    ISOFLOP_RETURN_IF_ERROR((*cluster)->status());
  }
  // The current law is the latest valid fit; narrowing compares two valid fits. A later failed or
  // degenerate refit is reported beside it (fit_error), never instead of it.
  auto fits = db.Prepare(
      "SELECT fit_json, COALESCE(plan_json, 'null') FROM fits WHERE valid = 1 ORDER BY id DESC LIMIT 2");
  if (!fits.ok()) return fits.status();
  std::vector<std::pair<std::string, std::string>> latest;
  while ((*fits)->Step()) latest.emplace_back((*fits)->Text(0), (*fits)->Text(1));
  ISOFLOP_RETURN_IF_ERROR((*fits)->status());
  auto failed = db.Prepare("SELECT valid, error FROM fits ORDER BY id DESC LIMIT 1");
  if (!failed.ok()) return failed.status();
  if ((*failed)->Step() && (*failed)->Int(0) == 0) report.fit_error = (*failed)->Text(1);
  ISOFLOP_RETURN_IF_ERROR((*failed)->status());
  db.ExecFixed("COMMIT");
  report.fit_json = latest.empty() ? "null" : latest[0].first;
  report.plan_json = latest.empty() ? "null" : latest[0].second;
  report.narrowing_json = "null";
  if (latest.size() == 2) {
    try {  // no exception escapes the library, whatever a stored fit holds
      report.narrowing_json = IntervalNarrowing(latest[1].first, latest[0].first);
    } catch (const std::exception& e) {
      report.narrowing_json =
          json{{"error", std::string("cannot compare the last two fits: ") + e.what()}}.dump();
    }
  }
  return report;
}

std::string StatusReport::ToJson() const {
  json j;
  j["counts"] = counts;
  j["runs_total"] = runs_total;
  json runs_j = json::array();
  for (const RunStatus& r : runs) {
    json o = {{"sweep", r.sweep},
              {"name", r.name},
              {"state", r.state},
              {"attempt", r.attempt},
              {"job_id", r.job_id},
              {"run_dir", r.run_dir},
              {"budget_flops", r.budget_flops},
              {"params", r.params},
              {"tokens", r.tokens},
              {"last_step", r.last_step},
              {"corrupt_metrics_lines", r.corrupt_lines},
              {"reason", r.reason}};
    o["final_eval_loss"] = r.final_eval_loss ? json(*r.final_eval_loss) : json(nullptr);
    o["last_train_loss"] = r.last_train_loss ? json(*r.last_train_loss) : json(nullptr);
    runs_j.push_back(std::move(o));
  }
  j["runs"] = std::move(runs_j);
  j["fit"] = json::parse(fit_json, nullptr, false);
  j["plan"] = json::parse(plan_json, nullptr, false);
  j["narrowing"] = json::parse(narrowing_json, nullptr, false);
  if (!fit_error.empty()) j["fit_error"] = fit_error;
  return j.dump(2);
}

// ---------------------------------------------------------------------------------------------

StatusOr<int> CancelRuns(const std::string& db_path, const std::string& run, bool all) {
  if (!all && run.empty()) return Status::InvalidArgument("cancel: name a RUN or pass --all");
  auto dbor = Database::Open(db_path, false);
  if (!dbor.ok()) return dbor.status();
  Database& db = **dbor;
  struct Live {
    int64_t id;
    std::string backend, job_id, key, run_dir, conf_yaml, spec_path;
  };
  std::vector<Live> live;
  {
    Transaction txn(db);
    ISOFLOP_RETURN_IF_ERROR(txn.status());
    auto q = db.Prepare(
        "SELECT r.id, s.backend, COALESCE(r.job_id, ''), COALESCE(r.idem_key, ''), r.run_dir, s.spec_yaml, "
        "s.name, "
        "r.name, s.spec_path FROM runs r JOIN sweeps s ON s.id = r.sweep_id "
        "WHERE r.state IN ('pending', 'submitting', 'queued', 'running')");
    if (!q.ok()) return q.status();
    int matched = 0;
    while ((*q)->Step()) {
      std::string full = (*q)->Text(6) + "/" + (*q)->Text(7);
      if (!all && run != (*q)->Text(7) && run != full) continue;
      ++matched;
      live.push_back({(*q)->Int(0), (*q)->Text(1), (*q)->Text(2), (*q)->Text(3), (*q)->Text(4), (*q)->Text(5),
                      (*q)->Text(8)});
    }
    ISOFLOP_RETURN_IF_ERROR((*q)->status());
    if (!all && matched == 0) return Status::NotFound("cancel: no live run named '" + run + "'");
    auto upd = db.Prepare(
        "UPDATE runs SET state = 'cancelled', reason = 'cancelled by user', updated_at = ?2 WHERE id = ?1");
    if (!upd.ok()) return upd.status();
    for (const Live& l : live) ISOFLOP_RETURN_IF_ERROR((*upd)->Bind(1, l.id).Bind(2, NowSeconds()).Run());
    ISOFLOP_RETURN_IF_ERROR(txn.Commit());
  }
  // The database already says "cancelled", so the daemon launches nothing more for these runs;
  // stop what is running (a run in 'submitting' is cancelled by the daemon if its launch lands).
  Status first_error;
  for (const Live& l : live) {
    if (l.job_id.empty()) continue;
    std::string slurm_conf;
    if (l.backend == "slurm") {
      auto spec = ParseSweepSpecText(l.conf_yaml, l.spec_path);
      if (spec.ok()) slurm_conf = spec->slurm.conf;
    }
    auto backend = MakeBackend(l.backend, 1, slurm_conf);
    if (!backend.ok()) return backend.status();
    Status s = (*backend)->Cancel({l.job_id, l.key, l.run_dir});
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  if (!first_error.ok()) return first_error;
  return static_cast<int>(live.size());
}

StatusOr<std::string> RunLogPath(const std::string& db_path, const std::string& run) {
  auto dbor = Database::Open(db_path, false);
  if (!dbor.ok()) return dbor.status();
  auto q = (*dbor)->Prepare(
      "SELECT r.run_dir FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE r.name = ?1 OR s.name || '/' || "
      "r.name = ?1");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run);
  if (!(*q)->Step()) return Status::NotFound("logs: no run named '" + run + "'");
  return (*q)->Text(0) + "/train.log";
}

}  // namespace isoflop::orchestrator

namespace isoflop::orchestrator {

StatusOr<std::vector<PlannedRun>> PlanSweepWithDb(const SweepSpec& spec, const std::string& db_path) {
  std::string fit;
  std::error_code ec;
  if (spec.auto_sizes.enabled && !db_path.empty() && fs::exists(db_path, ec)) {
    auto db = Database::Open(db_path, false);
    if (!db.ok()) return db.status();
    fit = LatestFitJson(**db);
  }
  return PlanSweep(spec, fit);
}

std::string PlannedRunsToJson(const std::vector<PlannedRun>& runs) {
  json arr = json::array();
  for (const PlannedRun& r : runs) {
    arr.push_back({{"name", r.name},
                   {"budget_flops", r.budget_flops},
                   {"params_non_embedding", r.params},
                   {"tokens", r.tokens},
                   {"config", r.config}});
  }
  return arr.dump(2);
}

std::string PlannedRunsToText(const std::vector<PlannedRun>& runs) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %12s %8s %8s %6s %12s %12s\n", "run", "budget_flops", "layers",
                "d_model", "heads", "params", "tokens");
  out << line;
  for (const PlannedRun& r : runs) {
    std::snprintf(line, sizeof line, "%-28s %12.4g %8d %8d %6d %12.4g %12.4g\n", r.name.c_str(),
                  r.budget_flops, r.shape.layers, r.shape.d_model, r.shape.heads, r.params, r.tokens);
    out << line;
  }
  out << runs.size() << " runs (nothing submitted)\n";
  return out.str();
}

Status StreamRunLog(const std::string& db_path, const std::string& run, bool follow,
                    const std::function<void(std::string_view)>& sink) {
  auto path = RunLogPath(db_path, run);
  if (!path.ok()) return path.status();
  std::ifstream in;
  std::streamoff offset = 0;
  char buf[65536];
  for (;;) {
    if (!in.is_open()) in.open(*path, std::ios::binary);
    if (in.is_open()) {
      in.clear();
      in.seekg(offset);
      while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        sink(std::string_view(buf, static_cast<size_t>(in.gcount())));
        offset += in.gcount();
        if (in.eof()) break;
      }
    } else if (!follow) {
      return Status::FailedPrecondition(*path + ": no log yet (the run has not started)");
    }
    if (!follow) return Status::OK();
    auto report = GetStatus(db_path);
    if (!report.ok()) return report.status();
    bool live = false;
    for (const RunStatus& r : report->runs) {
      if ((r.name == run || r.sweep + "/" + r.name == run) &&
          (r.state == "pending" || r.state == "submitting" || r.state == "queued" || r.state == "running")) {
        live = true;
      }
    }
    if (!live) {
      // One last read: the tail written just before the run ended.
      if (in.is_open()) {
        in.clear();
        in.seekg(offset);
        while (in.read(buf, sizeof buf) || in.gcount() > 0) {
          sink(std::string_view(buf, static_cast<size_t>(in.gcount())));
          if (in.eof()) break;
        }
      }
      return Status::OK();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace isoflop::orchestrator
