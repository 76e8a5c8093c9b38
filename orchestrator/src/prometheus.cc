// GET /metrics on the status server: the state database in Prometheus' text exposition format,
// version 0.0.4 (prometheus/docs, content/docs/instrumenting/exposition_formats.md at commit
// 005490b8f7f8decd77d847a6b90706272f7ad978, "Text format details"): `# HELP` and `# TYPE` before
// each metric's samples, one uninterrupted group per metric, label values with \\, \" and \n
// escaped, `\n` line ends. Written by hand (a few dozen lines) rather than with prometheus-cpp,
// which would add a library for string formatting. Metric names: docs/orchestrator.md, "Metrics".
#include <cmath>
#include <cstdio>
#include <sstream>

#include "daemon_internal.h"
#include "store.h"
#include "sweep_internal.h"

namespace isoflop::orchestrator {
namespace {

std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Exposition {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void Sample(const char* name, double value) { out_ << name << " " << Value(value) << "\n"; }
  void Sample(const char* name, const std::vector<std::pair<std::string, std::string>>& labels,
              double value) {
    out_ << name << "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      out_ << (i ? "," : "") << labels[i].first << "=\"" << LabelValue(labels[i].second) << "\"";
    }
    out_ << "} " << Value(value) << "\n";
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

constexpr const char* kStates[] = {"pending", "submitting", "queued",     "running",  "done",
                                   "failed",  "diverged",   "bad_config", "cancelled"};

}  // namespace

StatusOr<std::string> PrometheusMetrics(const std::string& db_path) {
  StatusOptions options;
  options.all_runs = true;
  auto report = GetStatus(db_path, options);
  if (!report.ok()) return report.status();
  auto db = Database::Open(db_path, /*create=*/false);
  if (!db.ok()) return db.status();
  Exposition e;

  e.Family("isoflop_runs", "gauge", "Runs in the state database, by state.");
  for (const char* state : kStates) {
    auto it = report->counts.find(state);
    e.Sample("isoflop_runs", {{"state", state}}, it == report->counts.end() ? 0 : it->second);
  }

  // One read transaction for the counters, so they agree with each other.
  ISOFLOP_RETURN_IF_ERROR((*db)->ExecFixed("BEGIN"));
  auto q = (*db)->Prepare(
      "SELECT (SELECT COUNT(*) FROM attempts), (SELECT COUNT(*) FROM attempts WHERE attempt > 1), "
      "(SELECT COUNT(*) FROM fits), (SELECT MAX(created_at) FROM fits), "
      "(SELECT n_runs FROM fits ORDER BY id DESC LIMIT 1)");
  if (!q.ok()) return q.status();
  if (!(*q)->Step()) return (*q)->status();
  const double attempts = static_cast<double>((*q)->Int(0));
  const double retries = static_cast<double>((*q)->Int(1));
  const double fits = static_cast<double>((*q)->Int(2));
  const bool have_fit = !(*q)->IsNull(3);
  const double last_fit_at = (*q)->Double(3);
  const double last_fit_runs = static_cast<double>((*q)->Int(4));
  (*q)->Reset();
  (*db)->ExecFixed("COMMIT");

  e.Family("isoflop_attempts_total", "counter", "Attempts launched (every run, every retry).");
  e.Sample("isoflop_attempts_total", attempts);
  e.Family("isoflop_retries_total", "counter", "Attempts after a run's first (retries and resumes).");
  e.Sample("isoflop_retries_total", retries);
  e.Family("isoflop_refits_total", "counter", "Fits the daemon stored (one per refit).");
  e.Sample("isoflop_refits_total", fits);
  if (have_fit) {
    e.Family("isoflop_last_fit_timestamp_seconds", "gauge", "When the latest fit was stored (Unix time).");
    e.Sample("isoflop_last_fit_timestamp_seconds", last_fit_at);
    e.Family("isoflop_last_fit_runs", "gauge", "Finished runs the latest fit used.");
    e.Sample("isoflop_last_fit_runs", last_fit_runs);
  }

  // Per run: throughput and loss of the runs in flight; the final loss of finished ones.
  auto labels = [](const RunStatus& r) {
    return std::vector<std::pair<std::string, std::string>>{{"sweep", r.sweep}, {"run", r.name}};
  };
  e.Family("isoflop_run_tokens_per_second", "gauge",
           "Training throughput of a running run (last metrics.jsonl line), tokens/s.");
  for (const RunStatus& r : report->runs) {
    if (r.state == "running" && r.tokens_per_s)
      e.Sample("isoflop_run_tokens_per_second", labels(r), *r.tokens_per_s);
  }
  e.Family("isoflop_run_train_loss", "gauge", "Latest training loss of a running run (nats/token).");
  for (const RunStatus& r : report->runs) {
    if (r.state == "running" && r.last_train_loss)
      e.Sample("isoflop_run_train_loss", labels(r), *r.last_train_loss);
  }
  e.Family("isoflop_run_step", "gauge", "Latest logged optimiser step of a running run.");
  for (const RunStatus& r : report->runs) {
    if (r.state == "running" && r.last_step >= 0)
      e.Sample("isoflop_run_step", labels(r), static_cast<double>(r.last_step));
  }
  e.Family("isoflop_run_eta_seconds", "gauge", "Estimated time left of a running run, seconds.");
  for (const RunStatus& r : report->runs) {
    if (r.state == "running" && r.eta_s) e.Sample("isoflop_run_eta_seconds", labels(r), *r.eta_s);
  }
  e.Family("isoflop_run_final_eval_loss", "gauge", "Final evaluation loss of a finished run (nats/token).");
  for (const RunStatus& r : report->runs) {
    if (r.state == "done" && r.final_eval_loss)
      e.Sample("isoflop_run_final_eval_loss", labels(r), *r.final_eval_loss);
  }
  return e.str();
}

}  // namespace isoflop::orchestrator
