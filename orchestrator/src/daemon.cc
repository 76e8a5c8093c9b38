// The daemon: one thread, one Boost.Asio io_context. A steady_timer drives ticks; each tick
// reconciles, polls every tracked job in one batched backend query, applies the retry policy,
// ingests metrics incrementally, refits after completions and launches pending runs within the
// throttle. The interval doubles (poll_min_s .. poll_max_s) while nothing changes, so an idle
// sweep of 10,000 runs costs a few queries a minute. SIGTERM/SIGINT stop between ticks (never
// inside a transaction); SIGHUP re-reads every sweep's spec. Beast serves read-only JSON.
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <utility>  // before Boost 1.74 asio under C++20 (std::exchange)

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "backend.h"
#include "daemon_internal.h"
#include "isoflop/file_util.h"
#include "isoflop/orchestrator.h"
#include "store.h"
#include "sweep_internal.h"

namespace isoflop::orchestrator {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;

bool DaemonOptions::IsValid(std::string* error) const {
  if (db_path.empty()) {
    *error = "--db: a database path is required";
    return false;
  }
  if (!(poll_min_s > 0) || !(poll_max_s >= poll_min_s)) {
    *error = "poll interval: need 0 < poll_min_s <= poll_max_s";
    return false;
  }
  if (!listen.empty() && listen != "off") {
    std::string host;
    int port = 0;
    Status s = ParseListenAddress(listen, &host, &port);
    if (!s.ok()) {
      *error = s.message();
      return false;
    }
    if (!listen_public && !IsLoopbackAddress(host)) {
      *error = "--listen " + listen +
               ": not a loopback address; the status API has no authentication, so it listens on "
               "127.0.0.1 or ::1 unless --listen-public is given";
      return false;
    }
  }
  return true;
}

Status ParseListenAddress(const std::string& listen, std::string* host, int* port) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("--listen: '" + listen + "' " + why +
                                   " (expected IP:PORT, e.g. 127.0.0.1:8470 or [::1]:8470, or off)");
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("has no port");
  std::string h = listen.substr(0, colon);
  const std::string p = listen.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return bad("writes an IPv6 address without brackets");
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return bad("has a port that is not a number");
  }
  const int v = std::stoi(p);
  if (v > 65535) return bad("has a port above 65535");
  boost::system::error_code ec;
  asio::ip::make_address(h, ec);
  if (ec) return bad("has an address that is not a numeric IP");
  *host = h;
  *port = v;
  return Status::OK();
}

bool IsLoopbackAddress(const std::string& host) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

std::string DaemonSummary::BriefReport() const {
  return "daemon stopped (" + stop_reason + "): " + std::to_string(launches) + " launches, " +
         std::to_string(completions) + " completions, " + std::to_string(retries) + " retries, " +
         std::to_string(refits) + " refits, " + std::to_string(polls) + " polls";
}

namespace {

std::string SelfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "isoflop" : p.string();
}

std::string RandomToken() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06x", rd() & 0xffffff);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Daemon::Daemon(DaemonOptions options, std::unique_ptr<Database> db)
    : options_(std::move(options)), db_(std::move(db)), interval_s_(options_.poll_min_s) {}

Daemon::~Daemon() = default;

Status Daemon::LoadSweeps() {
  auto q = db_->Prepare("SELECT id, name, spec_path, spec_yaml, backend FROM sweeps");
  if (!q.ok()) return q.status();
  while ((*q)->Step()) {
    int64_t id = (*q)->Int(0);
    // Runs imported from other engines' logs (run_import.h) are finished; there is nothing to launch.
    if ((*q)->Text(4) == "imported") continue;
    auto spec = ParseSweepSpecText((*q)->Text(3), (*q)->Text(2));
    if (!spec.ok()) return spec.status().WithContext("stored spec of sweep " + (*q)->Text(1));
    spec->backend = (*q)->Text(4);  // --backend override at submit time
    if (spec->trainer_command.empty()) spec->trainer_command = {SelfExe(), "train"};
    sweeps_[id] = std::move(*spec);
  }
  ISOFLOP_RETURN_IF_ERROR((*q)->status());
  for (const auto& [id, spec] : sweeps_) {
    if (backends_.count(spec.backend)) continue;
    int slots = 1;
    std::string conf;
    std::vector<int> gpus;  // the union of the local sweeps' local.gpus (one machine, one pool)
    for (const auto& [_, s] : sweeps_) {
      if (s.backend == "local") slots = std::max(slots, s.local_slots);
      if (s.backend == "local") {
        for (int g : s.local_gpus) {
          if (std::find(gpus.begin(), gpus.end(), g) == gpus.end()) gpus.push_back(g);
        }
      }
      if (s.backend == "slurm" && conf.empty()) conf = s.slurm.conf;
    }
    auto backend = MakeBackend(spec.backend, slots, conf, gpus);
    if (!backend.ok()) return backend.status();
    Log("backend " + (*backend)->name());
    backends_[spec.backend] = std::move(*backend);
  }
  return Status::OK();
}

Status Daemon::ReloadSpecs() {
  // SIGHUP: re-read each sweep's spec file; runs it now adds are recorded, nothing is removed.
  for (auto& [id, spec] : sweeps_) {
    auto fresh = ParseSweepSpec(spec.path);
    if (!fresh.ok()) {
      Log("SIGHUP: keeping the stored spec: " + fresh.status().message());
      continue;
    }
    fresh->backend = spec.backend;
    SubmitSummary s;
    s.sweep = fresh->name;
    Status st = AddSweepRuns(*db_, *fresh, &s);
    Log("SIGHUP: " + (st.ok() ? s.BriefReport() : st.message()));
  }
  sweeps_.clear();
  return LoadSweeps();
}

void Daemon::Log(const std::string& line) {
  if (options_.verbose) std::fprintf(stderr, "isoflop daemon: %s\n", line.c_str());
}

Status Daemon::RecordEvent(int64_t run_id, const std::string& kind, const std::string& detail) {
  auto ev = db_->Prepare("INSERT INTO events(at, run_id, kind, detail) VALUES(?1, ?2, ?3, ?4)");
  if (!ev.ok()) return ev.status();
  return (*ev)->Bind(1, NowSeconds()).Bind(2, run_id).Bind(3, kind).Bind(4, detail).Run();
}

StatusOr<std::vector<LiveRunRow>> Daemon::LiveRuns() {
  auto q = db_->Prepare(
      "SELECT id, sweep_id, name, state, COALESCE(job_id, ''), COALESCE(idem_key, ''), run_dir, attempt "
      "FROM runs WHERE state IN ('submitting', 'queued', 'running')");
  if (!q.ok()) return q.status();
  std::vector<LiveRunRow> rows;
  while ((*q)->Step()) {
    LiveRunRow r;
    r.id = (*q)->Int(0);
    r.sweep_id = (*q)->Int(1);
    r.name = (*q)->Text(2);
    r.state = (*q)->Text(3);
    r.job_id = (*q)->Text(4);
    r.key = (*q)->Text(5);
    r.run_dir = (*q)->Text(6);
    r.attempt = static_cast<int>((*q)->Int(7));
    rows.push_back(std::move(r));
  }
  ISOFLOP_RETURN_IF_ERROR((*q)->status());
  return rows;
}

std::vector<std::string> Daemon::TrainerArgv(const SweepSpec& spec, const std::string& run_dir) const {
  // The trainer's command line (docs/interfaces.md); the wrapper appends --resume when a
  // checkpoint exists.
  std::vector<std::string> argv = spec.trainer_command;
  argv.insert(argv.end(), {"--config", run_dir + "/run.yaml", "--data", spec.data, "--out", run_dir,
                           "--device", spec.device});
  // A CPU run gets as many intra-op threads as the cores it was given (resources.cpus), not
  // libtorch's default of every core: N runs side by side on N cores would otherwise each start
  // N threads and oversubscribe the machine. A trainer_command that sets --threads itself wins.
  if (spec.device == "cpu" && std::find(argv.begin(), argv.end(), "--threads") == argv.end()) {
    argv.insert(argv.end(), {"--threads", std::to_string(spec.resources.cpus)});
  }
  return argv;
}

// Starts attempt `key` of a run already in state 'submitting' (intent recorded and committed).
Status Daemon::StartAttempt(const LiveRunRow& run, bool reconcile) {
  const SweepSpec& spec = sweeps_.at(run.sweep_id);
  Backend& backend = *backends_.at(spec.backend);
  std::optional<std::string> job_id;
  if (reconcile) {
    // Crash between intent and recording the job id: was it launched anyway?
    auto found = backend.FindByKey(run.key, run.run_dir);
    if (!found.ok()) return found.status();
    job_id = *found;
    if (job_id) Log("reconciled " + run.name + " (" + run.key + ") -> job " + *job_id);
  }
  if (!job_id) {
    // run.yaml is (re)written before every attempt, atomically.
    std::error_code ec;
    fs::create_directories(run.run_dir, ec);
    if (ec) return Status::IOError(run.run_dir + ": " + ec.message());
    ISOFLOP_RETURN_IF_ERROR(WriteFileAtomically(run.run_dir + "/run.yaml", run.config_yaml));
    LaunchRequest req;
    req.key = run.key;
    req.run_dir = run.run_dir;
    req.trainer_argv = TrainerArgv(spec, run.run_dir);
    req.resources = spec.resources;
    req.slurm = spec.slurm;
    req.sweep = spec.name;
    auto launched = backend.Launch(req);
    if (!launched.ok()) return launched.status();
    job_id = *launched;
    ++summary_.launches;
    Log("launched " + run.name + " attempt " + std::to_string(run.attempt) + " as job " + *job_id);
  }
  Transaction txn(*db_);
  ISOFLOP_RETURN_IF_ERROR(txn.status());
  auto upd = db_->Prepare(
      "UPDATE runs SET state = 'queued', job_id = ?2, updated_at = ?3 WHERE id = ?1 AND state = 'submitting' "
      "AND idem_key = ?4");
  if (!upd.ok()) return upd.status();
  ISOFLOP_RETURN_IF_ERROR(
      (*upd)->Bind(1, run.id).Bind(2, *job_id).Bind(3, NowSeconds()).Bind(4, run.key).Run());
  bool still_wanted = db_->Changes() > 0;
  auto att = db_->Prepare(
      "UPDATE attempts SET job_id = ?2, state = 'submitted', submitted_at = ?3 WHERE idem_key = ?1");
  if (!att.ok()) return att.status();
  ISOFLOP_RETURN_IF_ERROR((*att)->Bind(1, run.key).Bind(2, *job_id).Bind(3, NowSeconds()).Run());
  ISOFLOP_RETURN_IF_ERROR(txn.Commit());
  if (!still_wanted) {  // cancelled while we were submitting
    backend.Cancel({*job_id, run.key, run.run_dir});
  }
  return Status::OK();
}

// Pending runs whose backoff has passed -> 'submitting' (intent + key, one transaction), then
// started. The key goes into the database before the backend hears of it.
StatusOr<int> Daemon::LaunchPending() {
  std::map<std::string, int> in_flight;
  std::map<int64_t, int> in_flight_sweep;
  {
    auto q = db_->Prepare(
        "SELECT s.backend, r.sweep_id, COUNT(*) FROM runs r JOIN sweeps s ON s.id = r.sweep_id "
        "WHERE r.state IN ('submitting', 'queued', 'running') GROUP BY s.backend, r.sweep_id");
    if (!q.ok()) return q.status();
    while ((*q)->Step()) {
      in_flight[(*q)->Text(0)] += static_cast<int>((*q)->Int(2));
      in_flight_sweep[(*q)->Int(1)] = static_cast<int>((*q)->Int(2));
    }
    ISOFLOP_RETURN_IF_ERROR((*q)->status());
  }
  auto q = db_->Prepare(
      "SELECT id, sweep_id, name, run_dir, attempt, config_yaml FROM runs WHERE state = 'pending' AND "
      "next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT 256");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, NowSeconds());
  std::vector<LiveRunRow> chosen;
  std::map<std::string, int> free_gpus;  // per backend, counting the runs chosen in this tick
  for (const auto& [name, b] : backends_) free_gpus[name] = b->FreeGpus();
  while ((*q)->Step()) {
    LiveRunRow r;
    r.id = (*q)->Int(0);
    r.sweep_id = (*q)->Int(1);
    r.name = (*q)->Text(2);
    r.run_dir = (*q)->Text(3);
    r.attempt = static_cast<int>((*q)->Int(4)) + 1;
    r.config_yaml = (*q)->Text(5);
    auto it = sweeps_.find(r.sweep_id);
    if (it == sweeps_.end()) continue;
    const SweepSpec& spec = it->second;
    int cap = std::min(backends_.at(spec.backend)->Capacity(), spec.max_in_flight);
    if (spec.backend == "local") cap = std::min(cap, spec.local_slots);
    if (in_flight[spec.backend] >= backends_.at(spec.backend)->Capacity()) continue;
    if (in_flight_sweep[r.sweep_id] >= cap) continue;
    int& gpus_free = free_gpus[spec.backend];
    if (gpus_free >= 0 && spec.resources.gpus > 0) {
      if (gpus_free < spec.resources.gpus) continue;  // waits for its GPUs
      gpus_free -= spec.resources.gpus;
    }
    in_flight[spec.backend]++;
    in_flight_sweep[r.sweep_id]++;
    r.key = kRunKeyPrefix + std::to_string(r.sweep_id) + "-" + std::to_string(r.id) + "-a" +
            std::to_string(r.attempt) + "-" + RandomToken();
    chosen.push_back(std::move(r));
  }
  ISOFLOP_RETURN_IF_ERROR((*q)->status());
  (*q)->Reset();
  int started = 0;
  for (LiveRunRow& r : chosen) {
    {
      Transaction txn(*db_);
      ISOFLOP_RETURN_IF_ERROR(txn.status());
      auto upd = db_->Prepare(
          "UPDATE runs SET state = 'submitting', attempt = ?2, idem_key = ?3, job_id = NULL, updated_at = ?4 "
          "WHERE id = ?1 AND state = 'pending'");
      if (!upd.ok()) return upd.status();
      ISOFLOP_RETURN_IF_ERROR(
          (*upd)->Bind(1, r.id).Bind(2, r.attempt).Bind(3, r.key).Bind(4, NowSeconds()).Run());
      if (db_->Changes() == 0) continue;  // cancelled meanwhile
      auto ins = db_->Prepare(
          "INSERT INTO attempts(run_id, attempt, idem_key, state, intent_at) VALUES(?1, ?2, ?3, 'intent', "
          "?4)");
      if (!ins.ok()) return ins.status();
      ISOFLOP_RETURN_IF_ERROR(
          (*ins)->Bind(1, r.id).Bind(2, r.attempt).Bind(3, r.key).Bind(4, NowSeconds()).Run());
      ISOFLOP_RETURN_IF_ERROR(txn.Commit());
    }
    StepReached("after-intent");
    Status s = StartAttempt(r, /*reconcile=*/false);
    if (!s.ok()) {
      Log("launch of " + r.name + " failed: " + s.message());
      ISOFLOP_RETURN_IF_ERROR(LaunchFailed(r, s));
      continue;
    }
    ++started;
    StepReached("after-launch");
  }
  return started;
}

// A launch that returned an error (the backend refused it: sbatch's "invalid partition", an out_dir
// that cannot be created, ...). An sbatch that timed out may still have created the job, so the
// backend is asked for the key first; when it does not know it, the attempt is over: it counts
// against retry.max_attempts like any infrastructure failure, the run goes back to 'pending' with
// backoff (or to 'failed'), its reason says why, and its slot is free (issue 15, finding 1). When
// the backend cannot even be asked (slurmctld down), the run stays 'submitting' with its key and
// the next tick reconciles it, as after a crash.
Status Daemon::LaunchFailed(const LiveRunRow& run, const Status& error) {
  const SweepSpec& spec = sweeps_.at(run.sweep_id);
  auto found = backends_.at(spec.backend)->FindByKey(run.key, run.run_dir);
  const std::string reason = "launch failed: " + error.message();
  if (!found.ok() || *found) {
    // Unknown, or the job exists after all (the next reconcile records it): keep the key.
    auto upd =
        db_->Prepare("UPDATE runs SET reason = ?2, updated_at = ?3 WHERE id = ?1 AND state = 'submitting'");
    if (!upd.ok()) return upd.status();
    return (*upd)->Bind(1, run.id).Bind(2, reason).Bind(3, NowSeconds()).Run();
  }
  const bool give_up = run.attempt >= spec.retry.max_attempts;
  const std::string state = give_up ? "failed" : "pending";
  const std::string run_reason = give_up ? reason + " (attempt " + std::to_string(run.attempt) +
                                               " of retry.max_attempts " +
                                               std::to_string(spec.retry.max_attempts) + ")"
                                         : "retrying: " + reason;
  const double delay = give_up ? 0 : RetryDelay(spec.retry, run.attempt);
  Transaction txn(*db_);
  ISOFLOP_RETURN_IF_ERROR(txn.status());
  auto upd = db_->Prepare(
      "UPDATE runs SET state = ?2, reason = ?3, job_id = NULL, next_attempt_at = ?4, updated_at = ?5 "
      "WHERE id = ?1 AND state = 'submitting' AND idem_key = ?6");
  if (!upd.ok()) return upd.status();
  ISOFLOP_RETURN_IF_ERROR((*upd)
                              ->Bind(1, run.id)
                              .Bind(2, state)
                              .Bind(3, run_reason)
                              .Bind(4, NowSeconds() + delay)
                              .Bind(5, NowSeconds())
                              .Bind(6, run.key)
                              .Run());
  auto att = db_->Prepare(
      "UPDATE attempts SET state = 'launch_failed', reason = ?2, finished_at = ?3 WHERE idem_key = ?1");
  if (!att.ok()) return att.status();
  ISOFLOP_RETURN_IF_ERROR((*att)->Bind(1, run.key).Bind(2, reason).Bind(3, NowSeconds()).Run());
  ISOFLOP_RETURN_IF_ERROR(RecordEvent(run.id, give_up ? "failed" : "retry", run_reason));
  ISOFLOP_RETURN_IF_ERROR(txn.Commit());
  if (!give_up) ++summary_.retries;
  Log(run.name + " attempt " + std::to_string(run.attempt) + ": " + reason + " -> " + state);
  return Status::OK();
}

// Backoff before retry number `attempt` (1-based): backoff_s * 2^(attempt-1), capped.
double RetryDelay(const RetryPolicy& p, int attempt) {
  double d = p.backoff_s;
  for (int i = 1; i < attempt && d < p.backoff_max_s; ++i) d *= 2;
  return std::min(d, p.backoff_max_s);
}

Status Daemon::FinishAttempt(const LiveRunRow& run, const JobState& js, bool* completed_ok) {
  const SweepSpec& spec = sweeps_.at(run.sweep_id);
  *completed_ok = false;
  std::string state;
  std::string reason = js.reason;
  std::optional<double> final_loss, trained_params, trained_tokens;
  std::string summary_text;
  bool retry = false;
  double delay = 0;
  if (js.cancelled) {
    state = "cancelled";
    reason = "cancelled outside isoflop (" + js.reason + ")";
  } else if (js.infrastructure) {
    retry = true;
    delay = RetryDelay(spec.retry, run.attempt);
  } else if (!js.exit_code) {
    retry = true;
    delay = RetryDelay(spec.retry, run.attempt);
  } else {
    switch (*js.exit_code) {
      case 0: {
        std::ifstream in(run.run_dir + "/summary.json");
        std::stringstream ss;
        ss << in.rdbuf();
        summary_text = ss.str();
        json summary = json::parse(summary_text, nullptr, false);
        if (!in || summary.is_discarded() || !summary.contains("final_eval_loss") ||
            !summary["final_eval_loss"].is_number()) {
          state = "failed";
          reason = run.run_dir + "/summary.json: missing or without a numeric final_eval_loss";
        } else if (summary.contains("status") && summary["status"].is_string() &&
                   summary["status"].get<std::string>() == "diverged") {
          state = "diverged";
          reason = "trainer reported divergence";
        } else {
          state = "done";
          final_loss = summary["final_eval_loss"].get<double>();
          // The fit uses what the trainer actually trained (docs/interfaces.md summary.json).
          if (summary.contains("params_non_embedding") && summary["params_non_embedding"].is_number() &&
              summary["params_non_embedding"].get<double>() > 0) {
            trained_params = summary["params_non_embedding"].get<double>();
          }
          if (summary.contains("tokens") && summary["tokens"].is_number() &&
              summary["tokens"].get<double>() > 0) {
            trained_tokens = summary["tokens"].get<double>();
          }
          reason = "";
          *completed_ok = true;
        }
        break;
      }
      case 2:
        state = "bad_config";
        reason = "exit 2: bad input (see " + run.run_dir + "/train.log); not retried";
        break;
      case 3:
        state = "diverged";
        reason = "exit 3: diverged; not retried";
        break;
      case 75:  // preempted after a checkpoint: resume at once
        retry = true;
        delay = 0;
        break;
      default:  // 1 and anything unexpected: transient until proven otherwise
        retry = true;
        delay = RetryDelay(spec.retry, run.attempt);
        break;
    }
  }
  if (retry) {
    if (run.attempt >= spec.retry.max_attempts) {
      state = "failed";
      reason = js.reason + " after " + std::to_string(run.attempt) + " attempts (retry.max_attempts)";
      retry = false;
    } else {
      state = "pending";
      reason = "retrying: " + js.reason;
      ++summary_.retries;
    }
  }
  auto upd = db_->Prepare(
      "UPDATE runs SET state = ?2, reason = ?3, exit_code = ?4, final_eval_loss = COALESCE(?5, "
      "final_eval_loss), "
      "summary_json = COALESCE(?6, summary_json), next_attempt_at = ?7, updated_at = ?8, "
      "params = COALESCE(?10, params), tokens = COALESCE(?11, tokens) "
      "WHERE id = ?1 AND idem_key = ?9 AND state IN ('queued', 'running')");
  if (!upd.ok()) return upd.status();
  (*upd)->Bind(1, run.id).Bind(2, state).Bind(3, reason);
  if (js.exit_code) {
    (*upd)->Bind(4, *js.exit_code);
  } else {
    (*upd)->Bind(4, nullptr);
  }
  (*upd)->Bind(5, final_loss);
  if (summary_text.empty()) {
    (*upd)->Bind(6, nullptr);
  } else {
    (*upd)->Bind(6, summary_text);
  }
  (*upd)->Bind(10, trained_params).Bind(11, trained_tokens);
  ISOFLOP_RETURN_IF_ERROR((*upd)->Bind(7, NowSeconds() + delay).Bind(8, NowSeconds()).Bind(9, run.key).Run());
  auto att = db_->Prepare(
      "UPDATE attempts SET state = ?2, exit_code = ?3, reason = ?4, finished_at = ?5 WHERE idem_key = ?1");
  if (!att.ok()) return att.status();
  (*att)->Bind(1, run.key).Bind(2, js.infrastructure ? "infrastructure" : "finished");
  if (js.exit_code) {
    (*att)->Bind(3, *js.exit_code);
  } else {
    (*att)->Bind(3, nullptr);
  }
  ISOFLOP_RETURN_IF_ERROR((*att)->Bind(4, js.reason).Bind(5, NowSeconds()).Run());
  ISOFLOP_RETURN_IF_ERROR(RecordEvent(run.id, state == "pending" ? "retry" : state, reason));
  Log(run.name + " attempt " + std::to_string(run.attempt) + ": " + (js.reason.empty() ? state : js.reason) +
      " -> " + state);
  return Status::OK();
}

// Reads the complete lines appended to metrics.jsonl since the last tick. A half-written last
// line (no newline yet) waits for the next tick; a line that does not parse is counted and skipped.
Status Daemon::IngestMetrics(const LiveRunRow& run, bool* changed) {
  std::string path = run.run_dir + "/metrics.jsonl";
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status::OK();  // not written yet
  auto q = db_->Prepare("SELECT metrics_offset, metrics_lines, corrupt_lines FROM runs WHERE id = ?1");
  if (!q.ok()) return q.status();
  (*q)->Bind(1, run.id);
  if (!(*q)->Step()) return (*q)->status();
  int64_t offset = (*q)->Int(0), lines = (*q)->Int(1), corrupt = (*q)->Int(2);
  (*q)->Reset();
  if (static_cast<int64_t>(size) < offset) offset = 0;  // rewritten from the start
  if (static_cast<int64_t>(size) == offset) return Status::OK();
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::string chunk(static_cast<size_t>(size) - static_cast<size_t>(offset), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  size_t end = chunk.rfind('\n');
  if (end == std::string::npos) return Status::OK();
  std::optional<double> train_loss;
  int64_t step = -1;
  size_t pos = 0;
  while (pos <= end) {
    size_t nl = chunk.find('\n', pos);
    std::string_view line(chunk.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) {
      ++corrupt;
      continue;
    }
    ++lines;
    step = j["step"].get<int64_t>();
    if (j.contains("train_loss") && j["train_loss"].is_number()) train_loss = j["train_loss"].get<double>();
  }
  auto upd = db_->Prepare(
      "UPDATE runs SET metrics_offset = ?2, metrics_lines = ?3, corrupt_lines = ?4, "
      "last_step = CASE WHEN ?5 >= 0 THEN ?5 ELSE last_step END, "
      "last_train_loss = COALESCE(?6, last_train_loss) WHERE id = ?1");
  if (!upd.ok()) return upd.status();
  ISOFLOP_RETURN_IF_ERROR((*upd)
                              ->Bind(1, run.id)
                              .Bind(2, offset + static_cast<int64_t>(end) + 1)
                              .Bind(3, lines)
                              .Bind(4, corrupt)
                              .Bind(5, step)
                              .Bind(6, train_loss)
                              .Run());
  *changed = true;
  return Status::OK();
}

StatusOr<bool> Daemon::Tick() {
  ++summary_.polls;
  bool changed = false;
  auto live = LiveRuns();
  if (!live.ok()) return live.status();

  // 1. Reconcile attempts left in 'submitting' (a crash, or a launch that failed).
  for (LiveRunRow& r : *live) {
    if (r.state != "submitting" || !sweeps_.count(r.sweep_id)) continue;
    auto cfg = db_->Prepare("SELECT config_yaml FROM runs WHERE id = ?1");
    if (!cfg.ok()) return cfg.status();
    (*cfg)->Bind(1, r.id);
    if ((*cfg)->Step()) r.config_yaml = (*cfg)->Text(0);
    (*cfg)->Reset();
    Status s = StartAttempt(r, /*reconcile=*/true);
    if (!s.ok()) {
      Log("reconcile of " + r.name + ": " + s.message());
      ISOFLOP_RETURN_IF_ERROR(LaunchFailed(r, s));
    }
    changed = true;
  }

  // 2. One batched poll per backend.
  std::map<std::string, std::vector<const LiveRunRow*>> by_backend;
  for (const LiveRunRow& r : *live) {
    if (r.state == "submitting" || r.job_id.empty() || !sweeps_.count(r.sweep_id)) continue;
    by_backend[sweeps_.at(r.sweep_id).backend].push_back(&r);
  }
  bool any_completed = false;
  for (auto& [backend_name, runs] : by_backend) {
    std::vector<TrackedJob> jobs;
    for (const LiveRunRow* r : runs) jobs.push_back({r->job_id, r->key, r->run_dir});
    auto states = backends_.at(backend_name)->Poll(jobs);
    if (!states.ok()) {
      // slurmctld down or restarting: keep every state as it is and back off.
      Log("poll " + backend_name + ": " + states.status().message());
      continue;
    }
    Transaction txn(*db_);
    ISOFLOP_RETURN_IF_ERROR(txn.status());
    for (const LiveRunRow* r : runs) {
      auto it = states->find(r->job_id);
      if (it == states->end()) continue;
      const JobState& js = it->second;
      ISOFLOP_RETURN_IF_ERROR(IngestMetrics(*r, &changed));
      if (js.phase == JobPhase::kFinished) {
        bool ok = false;
        ISOFLOP_RETURN_IF_ERROR(FinishAttempt(*r, js, &ok));
        ++summary_.completions;
        any_completed |= ok;
        changed = true;
      } else {
        std::string next = js.phase == JobPhase::kRunning ? "running" : "queued";
        if (next != r->state) {
          auto upd = db_->Prepare(
              "UPDATE runs SET state = ?2, updated_at = ?3 WHERE id = ?1 AND state IN ('queued', 'running')");
          if (!upd.ok()) return upd.status();
          ISOFLOP_RETURN_IF_ERROR((*upd)->Bind(1, r->id).Bind(2, next).Bind(3, NowSeconds()).Run());
          changed = true;
        }
      }
    }
    ISOFLOP_RETURN_IF_ERROR(txn.Commit());
    StepReached("after-poll");
  }

  // 2b. What only an operator can fix (Slurm: drained nodes), at most every kClusterCheckS seconds.
  if (NowSeconds() - last_cluster_check_ >= kClusterCheckS) {
    last_cluster_check_ = NowSeconds();
    ISOFLOP_RETURN_IF_ERROR(CheckCluster());
    // A backend with no live run is not polled above, yet a poll is what reaps the ghosts a
    // controller crash leaves of runs already recorded done (jobs RUNNING with nothing behind
    // them, holding their CPUs until the time limit): poll it here, at the check's cadence.
    for (const auto& [name, backend] : backends_) {
      if (!by_backend.count(name)) (void)backend->Poll({});
    }
  }

  // 3. Refit on every finished run, and re-plan the target budget (a no-op when the latest fit
  // already covers every finished run).
  (void)any_completed;
  {
    auto refit = RefitAndStore(*db_, sweeps_);
    if (!refit.ok()) {
      Log("refit: " + refit.status().message());
    } else if (*refit) {
      ++summary_.refits;
      Log("refit stored");
    }
    StepReached("after-refit");
  }

  // 4. Launch what the throttle allows.
  auto launched = LaunchPending();
  if (!launched.ok()) return launched.status();
  if (*launched > 0) changed = true;
  return changed;
}

// Records the backends' cluster problems as a 'cluster' event when they change (an empty detail:
// none any more), so `status` can say why runs do not start (issue 15, finding 14).
Status Daemon::CheckCluster() {
  std::string note;
  for (const auto& [name, backend] : backends_) {
    auto problems = backend->ClusterProblems();
    if (!problems.ok()) return Status::OK();  // the controller does not answer: the poll says so
    for (const std::string& p : *problems) note += (note.empty() ? "" : "\n") + p;
  }
  if (!cluster_note_known_) {
    auto q = db_->Prepare("SELECT detail FROM events WHERE kind = 'cluster' ORDER BY id DESC LIMIT 1");
    if (!q.ok()) return q.status();
    cluster_note_ = (*q)->Step() ? (*q)->Text(0) : "";
    ISOFLOP_RETURN_IF_ERROR((*q)->status());
    cluster_note_known_ = true;
  }
  if (note == cluster_note_) return Status::OK();
  auto ev = db_->Prepare("INSERT INTO events(at, run_id, kind, detail) VALUES(?1, NULL, 'cluster', ?2)");
  if (!ev.ok()) return ev.status();
  ISOFLOP_RETURN_IF_ERROR((*ev)->Bind(1, NowSeconds()).Bind(2, note).Run());
  cluster_note_ = note;
  Log(note.empty() ? "cluster: no problems any more" : "cluster: " + note);
  return Status::OK();
}

StatusOr<bool> Daemon::AllFinal() {
  auto q =
      db_->Prepare("SELECT COUNT(*) FROM runs WHERE state IN ('pending', 'submitting', 'queued', 'running')");
  if (!q.ok()) return q.status();
  if (!(*q)->Step()) return (*q)->status();
  return (*q)->Int(0) == 0;
}

double Daemon::NextRetryIn() {
  // Only retries still backing off: pending runs already due wait for a free slot, and slots
  // free up on completions, which the (backed-off) poll finds.
  auto q =
      db_->Prepare("SELECT MIN(next_attempt_at) FROM runs WHERE state = 'pending' AND next_attempt_at > ?1");
  if (!q.ok()) return 1e9;
  (*q)->Bind(1, NowSeconds());
  if (!(*q)->Step() || (*q)->IsNull(0)) return 1e9;
  return std::max(0.0, (*q)->Double(0) - NowSeconds());
}

namespace {
DaemonStepHook g_step_hook = nullptr;
}  // namespace

void SetDaemonStepHookForTesting(DaemonStepHook hook) {
  g_step_hook = hook;
}

void Daemon::StepReached(const char* step) {
  if (g_step_hook != nullptr) g_step_hook(step);
}

StatusOr<DaemonSummary> Daemon::Run() {
  ISOFLOP_RETURN_IF_ERROR(LoadSweeps());
  asio::io_context io;
  asio::steady_timer timer(io);
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  Status failure;
  bool stopping = false;
  auto start = std::chrono::steady_clock::now();

  std::unique_ptr<StatusServer> server;
  if (!options_.listen.empty() && options_.listen != "off") {
    auto srv = StatusServer::Start(io, options_.listen, options_.db_path, options_.listen_public);
    if (!srv.ok()) return srv.status();
    server = std::move(*srv);
    Log("status API on http://" + server->endpoint() + "/api/runs");
  }

  std::function<void()> schedule;
  std::function<void()> tick = [&] {
    if (stopping) return;
    auto changed = Tick();
    if (!changed.ok()) {
      failure = changed.status();
      io.stop();
      return;
    }
    interval_s_ = *changed ? options_.poll_min_s : std::min(interval_s_ * 2, options_.poll_max_s);
    if (options_.exit_when_idle) {
      auto idle = AllFinal();
      if (idle.ok() && *idle) {
        (void)CheckCluster();  // what `status` shows after the daemon is gone is current
        summary_.stop_reason = "all runs final";
        io.stop();
        return;
      }
    }
    if (options_.max_runtime_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
            options_.max_runtime_s) {
      summary_.stop_reason = "max runtime";
      io.stop();
      return;
    }
    schedule();
  };
  schedule = [&] {
    double wait = std::min(interval_s_, std::max(options_.poll_min_s, NextRetryIn()));
    timer.expires_after(std::chrono::milliseconds(static_cast<int64_t>(wait * 1000)));
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  };
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        Status s = ReloadSpecs();
        if (!s.ok()) Log("SIGHUP: " + s.message());
        interval_s_ = options_.poll_min_s;
        wait_signal();
        return;
      }
      // Handlers run between ticks, so no transaction is open here.
      stopping = true;
      summary_.stop_reason = sig == SIGTERM ? "SIGTERM" : "SIGINT";
      io.stop();
    });
  };
  wait_signal();
  asio::post(io, tick);
  io.run();
  if (!failure.ok()) return failure;
  return summary_;
}

StatusOr<DaemonSummary> RunDaemon(const DaemonOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  auto db = Database::Open(options.db_path, /*create=*/false);
  if (!db.ok()) return db.status();
  // A damaged database can answer the daemon's few queries with nothing ("all runs final") while
  // `status` fails on it: check the whole file, indexes against tables included, before any work
  // (issue 15, finding 10); milliseconds at 10,000 runs.
  auto check = (*db)->IntegrityCheck();
  if (!check.ok())
    return Status::Corruption(options.db_path +
                              ": the state database cannot be checked: " + check.status().message());
  if (*check != "ok") {
    return Status::Corruption(options.db_path + ": the state database is damaged (SQLite integrity_check: " +
                              check->substr(0, 300) +
                              "); restore it from a copy, or submit the sweeps to a new one");
  }
  Daemon daemon(options, std::move(*db));
  return daemon.Run();
}

}  // namespace isoflop::orchestrator
