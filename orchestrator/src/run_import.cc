// `isoflop runs import | export`: other engines' runs into the store as finished runs with run
// directories in isoflop's format (docs/interfaces.md), and the store's finished runs out as CSV.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "isoflop/fitter.h"
#include "isoflop/run_import.h"
#include "store.h"

namespace isoflop::orchestrator {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Letters, digits and -_. (the sweep-name alphabet); anything else becomes '_'.
std::string SafeName(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out.empty() ? "run" : out;
}

Status WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::IOError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::OK();
}

json Optional(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json SummaryJson(const ParsedRun& r) {
  json j = {{"status", "done"},
            {"final_eval_loss", r.loss},
            {"loss_kind", r.loss_kind},
            {"params_total", r.params},
            {"params_source", r.params_source},
            {"tokens", r.tokens},
            {"steps", r.steps},
            {"flops", r.flops},
            {"flops_convention", "6·N·D"},
            {"tokens_per_s", Optional(r.tokens_per_s)},
            {"mfu", Optional(r.mfu)},
            {"engine_format", r.format},
            {"imported_from", r.source},
            {"notes", r.notes}};
  return j;
}

// metrics.jsonl in the trainer's keys (docs/interfaces.md); only the values the log gave.
std::string MetricsJsonl(const ParsedRun& r) {
  std::string out;
  for (const auto& p : r.points) {
    json j = {{"step", p.step}, {"tokens", p.tokens}};
    if (p.train_loss) j["train_loss"] = *p.train_loss;
    if (p.eval_loss) j["eval_loss"] = *p.eval_loss;
    if (p.tokens_per_s) j["tokens_per_s"] = *p.tokens_per_s;
    if (p.step_latency_s) j["step_latency_s"] = *p.step_latency_s;
    if (p.mfu) j["mfu"] = *p.mfu;
    out += j.dump() + "\n";
  }
  return out;
}

// (run name, run) for every row of every CSV, read by the fitter's CSV reader (one implementation).
StatusOr<std::vector<std::pair<std::string, ParsedRun>>> ReadCsvRuns(const ImportOptions& o) {
  CsvOptions csv;
  csv.columns = o.columns;
  csv.where = o.where;
  csv.max_runs = o.max_runs;
  std::vector<std::pair<std::string, ParsedRun>> runs;
  for (const std::string& file : o.files) {
    auto points = LoadRunsCsv(file, csv);
    if (!points.ok()) return points.status();
    for (const RunPoint& p : *points) {
      ParsedRun r;
      r.source = file + (p.run_id.empty() ? "" : " (" + p.run_id + ")");
      r.format = "csv";
      r.params = p.params;
      r.params_source = "csv";
      r.tokens = p.tokens;
      r.flops = p.ComputeFlops();
      r.loss = p.loss;
      r.loss_kind = "eval";
      EngineLogPoint point;
      point.tokens = p.tokens;
      point.eval_loss = p.loss;
      r.points.push_back(point);
      runs.emplace_back(p.run_id, std::move(r));
    }
  }
  return runs;
}

}  // namespace

Status WriteRunDirectory(const ParsedRun& run, const std::string& run_dir, bool with_summary) {
  const fs::path dir(run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
  ISOFLOP_RETURN_IF_ERROR(WriteAtomically(dir / "metrics.jsonl", MetricsJsonl(run)));
  if (with_summary)
    ISOFLOP_RETURN_IF_ERROR(WriteAtomically(dir / "summary.json", SummaryJson(run).dump(2) + "\n"));
  return Status::OK();
}

bool ImportOptions::IsValid(std::string* error) const {
  if (format != "megatron-log" && format != "torchtitan-log" && format != "nanogpt-log" && format != "csv") {
    *error = "format must be megatron-log, torchtitan-log, nanogpt-log or csv (got '" + format + "')";
    return false;
  }
  if (files.empty()) return *error = "no files to import", false;
  if (db_path.empty()) return *error = "db_path is required (--db)", false;
  if (sweep.empty() || SafeName(sweep) != sweep)
    return *error = "sweep name must be letters, digits and -_. (got '" + sweep + "')", false;
  if (format != "csv" && (!columns.empty() || !where.empty()))
    return *error = "--columns/--where apply to --format csv only", false;
  return true;
}

StatusOr<ImportSummary> ImportRuns(const ImportOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("runs import: " + error);
  // Every file is read first: a bad one stores nothing.
  std::vector<ParsedRun> runs;
  std::vector<std::string> names;
  if (options.format == "csv") {
    auto csv = ReadCsvRuns(options);
    if (!csv.ok()) return csv.status();
    for (auto& [id, r] : *csv) {
      names.push_back(SafeName(id.empty() ? "row" + std::to_string(names.size() + 1) : id));
      runs.push_back(std::move(r));
    }
  } else {
    for (const std::string& file : options.files) {
      auto run = ParseEngineLog(options.format, file, options.overrides);
      if (!run.ok()) return run.status();
      names.push_back(SafeName(fs::path(file).stem().string()));
      runs.push_back(std::move(*run));
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) {
        return Status::InvalidArgument("runs import: two inputs would both be run '" + names[i] + "' (" +
                                       runs[j].source + ", " + runs[i].source + ")");
      }
    }
  }

  auto db = Database::Open(options.db_path, /*create=*/true);
  if (!db.ok()) return db.status();
  const fs::path runs_dir = options.runs_dir.empty()
                                ? fs::absolute(options.db_path).parent_path() / "imported" / options.sweep
                                : fs::absolute(options.runs_dir);
  // Run directories first (each file atomically); the store then points at them in one transaction.
  std::vector<std::string> dirs;
  for (size_t i = 0; i < runs.size(); ++i) {
    const fs::path dir = runs_dir / names[i];
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
    ISOFLOP_RETURN_IF_ERROR(WriteRunDirectory(runs[i], dir.string()));
    if (options.format != "csv") {
      fs::copy_file(runs[i].source, dir / "engine.log", fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::IOError("cannot copy " + runs[i].source + ": " + ec.message());
    }
    dirs.push_back(dir.string());
  }

  Database& d = **db;
  Transaction txn(d);
  ISOFLOP_RETURN_IF_ERROR(txn.status());
  const double now = NowSeconds();
  int64_t sweep_id = 0;
  {
    auto find = d.Prepare("SELECT id, backend FROM sweeps WHERE name = ?1");
    if (!find.ok()) return find.status();
    (*find)->Bind(1, options.sweep);
    if ((*find)->Step()) {
      if ((*find)->Text(1) != "imported") {
        return Status::InvalidArgument("runs import: sweep '" + options.sweep +
                                       "' is a submitted sweep; import into another (--sweep NAME)");
      }
      sweep_id = (*find)->Int(0);
    } else {
      ISOFLOP_RETURN_IF_ERROR((*find)->status());
      auto ins = d.Prepare(
          "INSERT INTO sweeps(name, spec_path, spec_yaml, backend, created_at) VALUES(?1, '', '', "
          "'imported', ?2)");
      if (!ins.ok()) return ins.status();
      ISOFLOP_RETURN_IF_ERROR((*ins)->Bind(1, options.sweep).Bind(2, now).Run());
      sweep_id = d.LastInsertId();
    }
  }
  ImportSummary summary;
  summary.sweep = options.sweep;
  auto exists = d.Prepare("SELECT id FROM runs WHERE sweep_id = ?1 AND name = ?2");
  auto insert = d.Prepare(
      "INSERT INTO runs(sweep_id, name, budget_flops, params, tokens, config_yaml, run_dir, state, reason, "
      "final_eval_loss, summary_json, last_step, last_train_loss, updated_at) "
      "VALUES(?1, ?2, ?3, ?4, ?5, '', ?6, 'done', ?7, ?8, ?9, ?10, ?11, ?12)");
  auto update = d.Prepare(
      "UPDATE runs SET budget_flops = ?3, params = ?4, tokens = ?5, run_dir = ?6, state = 'done', reason = "
      "?7, "
      "final_eval_loss = ?8, summary_json = ?9, last_step = ?10, last_train_loss = ?11, updated_at = ?12 "
      "WHERE sweep_id = ?1 AND name = ?2");
  auto event = d.Prepare("INSERT INTO events(at, run_id, kind, detail) VALUES(?1, ?2, 'imported', ?3)");
  if (!exists.ok()) return exists.status();
  if (!insert.ok()) return insert.status();
  if (!update.ok()) return update.status();
  if (!event.ok()) return event.status();
  for (size_t i = 0; i < runs.size(); ++i) {
    const ParsedRun& r = runs[i];
    std::optional<double> last_train;
    for (const auto& p : r.points) {
      if (p.train_loss) last_train = p.train_loss;
    }
    (*exists)->Reset();
    (*exists)->Bind(1, sweep_id).Bind(2, names[i]);
    const bool replace = (*exists)->Step();
    ISOFLOP_RETURN_IF_ERROR((*exists)->status());
    Statement& st = replace ? **update : **insert;
    st.Reset();
    const std::string reason = "imported from " + r.source + " (" + r.format + ", " + r.loss_kind + " loss)";
    ISOFLOP_RETURN_IF_ERROR(st.Bind(1, sweep_id)
                                .Bind(2, names[i])
                                .Bind(3, r.flops)
                                .Bind(4, r.params)
                                .Bind(5, r.tokens)
                                .Bind(6, dirs[i])
                                .Bind(7, reason)
                                .Bind(8, r.loss)
                                .Bind(9, SummaryJson(r).dump())
                                .Bind(10, r.steps)
                                .Bind(11, last_train)
                                .Bind(12, now)
                                .Run());
    (*exists)->Reset();
    (*exists)->Bind(1, sweep_id).Bind(2, names[i]);
    if (!(*exists)->Step()) return Status::Internal("runs import: run " + names[i] + " not stored");
    const int64_t run_id = (*exists)->Int(0);
    (*event)->Reset();
    ISOFLOP_RETURN_IF_ERROR((*event)->Bind(1, now).Bind(2, run_id).Bind(3, r.source).Run());
    (replace ? summary.replaced : summary.added) += 1;
  }
  ISOFLOP_RETURN_IF_ERROR(txn.Commit());
  summary.runs = std::move(runs);
  return summary;
}

std::string ImportSummary::BriefReport() const {
  std::ostringstream out;
  out << "sweep " << sweep << ": " << added << " runs added, " << replaced << " replaced\n";
  for (const auto& r : runs) {
    char line[512];
    std::snprintf(
        line, sizeof(line), "  %s: N = %.4g (%s), D = %.4g tokens, C = %.4g FLOPs (6ND), %s loss %.4f",
        r.source.c_str(), r.params, r.params_source.c_str(), r.tokens, r.flops, r.loss_kind.c_str(), r.loss);
    out << line;
    if (r.tokens_per_s) out << ", " << *r.tokens_per_s << " tokens/s";
    if (r.mfu) out << ", MFU " << *r.mfu * 100 << "%";
    out << "\n";
    for (const auto& n : r.notes) out << "    note: " << n << "\n";
  }
  return out.str();
}

std::string ImportSummary::ToJson() const {
  json j = {{"sweep", sweep}, {"added", added}, {"replaced", replaced}, {"runs", json::array()}};
  for (const auto& r : runs) {
    json run = SummaryJson(r);
    run["loss"] = r.loss;
    j["runs"].push_back(run);
  }
  return j.dump(2);
}

StatusOr<std::string> ExportRunsCsv(const std::string& db_path, bool all_states) {
  auto db = Database::Open(db_path, /*create=*/false);
  if (!db.ok()) return db.status();
  auto q = (*db)->Prepare(
      "SELECT s.name || '/' || r.name, r.params, r.tokens, r.budget_flops, r.final_eval_loss, "
      "COALESCE(r.summary_json, ''), r.state, s.name FROM runs r JOIN sweeps s ON s.id = r.sweep_id " +
      std::string(all_states ? "" : "WHERE r.state = 'done' AND r.final_eval_loss IS NOT NULL ") +
      "ORDER BY r.id");
  if (!q.ok()) return q.status();
  auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string quoted = "\"";
    for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  };
  auto number = [](double v) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.10g", v);
    return std::string(buf);
  };
  std::string out = "run_id,params,tokens,flops,loss,tokens_per_s,mfu,state,sweep\n";
  while ((*q)->Step()) {
    json summary = json::parse((*q)->Text(5), nullptr, false);
    auto from_summary = [&](const char* key) {
      if (summary.is_object() && summary.contains(key) && summary[key].is_number())
        return number(summary[key].get<double>());
      return std::string();
    };
    out += field((*q)->Text(0)) + "," + number((*q)->Double(1)) + "," + number((*q)->Double(2)) + "," +
           number((*q)->Double(3)) + "," + ((*q)->IsNull(4) ? "" : number((*q)->Double(4))) + "," +
           from_summary("tokens_per_s") + "," + from_summary("mfu") + "," + (*q)->Text(6) + "," +
           field((*q)->Text(7)) + "\n";
  }
  ISOFLOP_RETURN_IF_ERROR((*q)->status());
  return out;
}

}  // namespace isoflop::orchestrator
