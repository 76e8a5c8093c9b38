// The daemon's internals, visible to its tests and to the status server.
#ifndef ISOFLOP_ORCHESTRATOR_SRC_DAEMON_INTERNAL_H_
#define ISOFLOP_ORCHESTRATOR_SRC_DAEMON_INTERNAL_H_

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "isoflop/orchestrator.h"
#include "store.h"

namespace isoflop::orchestrator {

struct LiveRunRow {
  int64_t id = 0;
  int64_t sweep_id = 0;
  std::string name, state, job_id, key, run_dir, config_yaml;
  int attempt = 0;
};

// Records the sweep and the runs not yet in the database (one transaction).
Status AddSweepRuns(Database& db, const SweepSpec& spec, SubmitSummary* summary);

// Fits the law on every finished run, re-plans the target budget, stores both with their
// inputs. Returns false when there are too few runs to fit. (refit.cc)
StatusOr<bool> RefitAndStore(Database& db, const std::map<int64_t, SweepSpec>& sweeps);
double RetryDelay(const RetryPolicy& policy, int attempt);

// Read-only JSON over HTTP (Boost.Beast) on the daemon's io_context: /api/runs, /api/fit,
// /api/plan, /api/status, /metrics (Prometheus). Each request opens its own read snapshot.
class StatusServer {
 public:
  // `public_ok`: accept any Host header (the operator chose --listen-public); otherwise only
  // loopback names and addresses, so a web page cannot reach the API by DNS rebinding.
  static StatusOr<std::unique_ptr<StatusServer>> Start(boost::asio::io_context& io, const std::string& listen,
                                                       const std::string& db_path, bool public_ok = false);
  virtual ~StatusServer() = default;
  virtual std::string endpoint() const = 0;
};

// "IP:PORT" or "[IPv6]:PORT" for the status server: the port is 0..65535 in decimal digits only
// (no "80x"), the address a numeric IP. kInvalidArgument naming --listen otherwise.
Status ParseListenAddress(const std::string& listen, std::string* host, int* port);
bool IsLoopbackAddress(const std::string& host);

// GET /metrics: the database in Prometheus' text exposition format 0.0.4 (prometheus.cc).
StatusOr<std::string> PrometheusMetrics(const std::string& db_path);

// Test seam: the daemon calls the hook at each step of its protocol ("after-intent",
// "after-launch", "after-poll", "after-refit"). Null in the isoflop binary; the crash tests'
// daemon helper (tests/orchestrator/daemon_helper.cc) installs one that kills the process there.
using DaemonStepHook = void (*)(const char* step);
void SetDaemonStepHookForTesting(DaemonStepHook hook);

class Daemon {
 public:
  Daemon(DaemonOptions options, std::unique_ptr<Database> db);
  ~Daemon();
  StatusOr<DaemonSummary> Run();

 private:
  Status LoadSweeps();
  Status ReloadSpecs();
  StatusOr<bool> Tick();
  StatusOr<std::vector<LiveRunRow>> LiveRuns();
  Status StartAttempt(const LiveRunRow& run, bool reconcile);
  StatusOr<int> LaunchPending();
  Status FinishAttempt(const LiveRunRow& run, const JobState& js, bool* completed_ok);
  Status LaunchFailed(const LiveRunRow& run, const Status& error);
  Status IngestMetrics(const LiveRunRow& run, bool* changed);
  Status RecordEvent(int64_t run_id, const std::string& kind, const std::string& detail);
  StatusOr<bool> AllFinal();
  Status CheckCluster();
  double NextRetryIn();
  std::vector<std::string> TrainerArgv(const SweepSpec& spec, const std::string& run_dir) const;
  void StepReached(const char* step);
  void Log(const std::string& line);

  DaemonOptions options_;
  std::unique_ptr<Database> db_;
  std::map<int64_t, SweepSpec> sweeps_;
  std::map<std::string, std::unique_ptr<Backend>> backends_;
  DaemonSummary summary_;
  double interval_s_;
  static constexpr double kClusterCheckS = 10;
  double last_cluster_check_ = 0;
  std::string cluster_note_;  // the last 'cluster' event's detail
  bool cluster_note_known_ = false;
};

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_SRC_DAEMON_INTERNAL_H_
