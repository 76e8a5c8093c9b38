// Orchestrator benchmarks. Usage:
//   bench_orchestrator daemon-cpu [SECONDS]   10,000 runs (2 running, 9,998 pending): daemon CPU
//   bench_orchestrator status                  GetStatus + JSON over 10,000 runs (median of 20)
//   bench_orchestrator slurm [JOBS]            submission rate (libslurm vs sbatch per job) and
//                                              poll cost (one batched RPC vs one scontrol per job)
//                                              against a local slurmctld (scripts/slurm-local)
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "isoflop/orchestrator.h"
#include "isoflop/shard_writer.h"
#include "slurm_api.h"

namespace orch = isoflop::orchestrator;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string MakeTmp() {
  std::string t = (fs::temp_directory_path() / "isoflop-bench-XXXXXX").string();
  return ::mkdtemp(t.data());
}

// Token shards for `data:` (sweep submit checks them); the idle trainer never reads them.
std::string Shards(const std::string& dir) {
  isoflop::data::ShardWriterOptions o;
  o.out_dir = dir + "/shards";
  o.vocab_size = 256;
  auto written = isoflop::data::WriteShards(o, {{1, 2, 3}, {4, 5, 6}}, {"train", "val"});
  if (!written.ok()) {
    std::fprintf(stderr, "%s\n", written.status().ToString().c_str());
    std::exit(1);
  }
  return o.out_dir;
}

// 100 budgets x 100 shapes = 10,000 runs.
std::string BigSpec(const std::string& dir) {
  std::string s = "name: big\nbackend: local\nout_dir: \"" + dir + "/runs\"\ndata: \"" + Shards(dir) +
                  "\"\nbudgets_flops: [";
  for (int i = 0; i < 100; ++i) s += (i ? ", " : "") + std::to_string(1e18 * (1 + i));
  s += "]\nmodels:\n";
  for (int i = 0; i < 100; ++i) {
    s += "  - {layers: " + std::to_string(1 + i % 10) + ", d_model: " + std::to_string(64 * (1 + i / 10)) +
         ", heads: 2}\n";
  }
  s += "trainer_command: [\"" ISOFLOP_IDLE_TRAINER "\"]\nlocal: {slots: 2}\n";
  return s;
}

std::string SubmitBig(const std::string& dir) {
  std::ofstream(dir + "/big.yaml") << BigSpec(dir);
  auto spec = orch::ParseSweepSpec(dir + "/big.yaml");
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    std::exit(1);
  }
  orch::SubmitOptions o;
  o.db_path = dir + "/state.db";
  auto t0 = Clock::now();
  auto s = orch::SubmitSweep(*spec, o);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  std::printf("submit: %d runs recorded in %.3f s\n", s->runs_added,
              std::chrono::duration<double>(Clock::now() - t0).count());
  return o.db_path;
}

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  std::istringstream rest(line.substr(close + 2));
  std::string f;
  std::vector<std::string> fields;
  while (rest >> f) fields.push_back(f);
  // fields[11] = utime, fields[12] = stime (stat fields 14 and 15), in clock ticks.
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int DaemonCpu(double seconds, double poll_max) {
  std::string dir = MakeTmp();
  std::string db = SubmitBig(dir);
  pid_t pid = fork();
  if (pid == 0) {
    orch::DaemonOptions o;
    o.db_path = db;
    o.listen = "off";
    o.poll_max_s = poll_max;
    o.max_runtime_s = seconds + 30;
    auto s = orch::RunDaemon(o);
    std::fprintf(stderr, "%s\n", s.ok() ? s->BriefReport().c_str() : s.status().ToString().c_str());
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::seconds(10));  // launch + settle into backoff
  double c0 = CpuSeconds(pid);
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
  double c1 = CpuSeconds(pid);
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "daemon-cpu: 10000 runs tracked (2 running, 9998 pending), poll_max_s=%.1f: %.3f CPU-s in %.1f s = "
      "%.2f%% of one core\n",
      poll_max, c1 - c0, wall, 100.0 * (c1 - c0) / wall);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  orch::CancelRuns(db, "", true);
  fs::remove_all(dir);
  return 0;
}

double MedianMs(const std::function<void()>& f, int reps = 20) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int StatusLatency() {
  std::string dir = MakeTmp();
  std::string db = SubmitBig(dir);
  // Two runs in flight (the idle stand-in): what `status` reads while a big sweep runs.
  {
    orch::DaemonOptions o;
    o.db_path = db;
    o.listen = "off";
    o.max_runtime_s = 3;
    orch::RunDaemon(o);
  }
  orch::StatusOptions person;  // `isoflop status [--json]`: in flight + 20 recently finished
  person.all_runs = false;
  size_t bytes = 0;
  double text = MedianMs([&] {
    auto r = orch::GetStatus(db, person);
    bytes = r->ToText().size();
  });
  double json = MedianMs([&] {
    auto r = orch::GetStatus(db, person);
    bytes = r->ToJson().size();
  });
  std::printf("status: `isoflop status` (text) over 10000 runs: median %.1f ms\n", text);
  std::printf("status: `isoflop status --json` over 10000 runs: median %.1f ms (%zu bytes)\n", json, bytes);
  orch::StatusOptions all;
  double all_json = MedianMs(
      [&] {
        auto r = orch::GetStatus(db, all);
        bytes = r->ToJson().size();
      },
      5);
  std::printf(
      "status: `isoflop status --json --all` (every run, also /api/runs): median %.1f ms (%zu bytes)\n",
      all_json, bytes);
  orch::CancelRuns(db, "", true);
  fs::remove_all(dir);
  return 0;
}

int Slurm(int jobs) {
  const char* conf = std::getenv("SLURM_CONF");
  if (conf == nullptr || !fs::exists(conf)) {
    std::printf(
        "slurm: skipped (set SLURM_CONF, e.g. export SLURM_CONF=$(scripts/slurm-local up "
        "/tmp/isoflop-bench-slurm))\n");
    return 0;
  }
  std::string dir = MakeTmp();
  auto script = orch::WriteLaunchScript(dir);
  for (const char* which : {"lib", "cli"}) {
    std::unique_ptr<orch::SlurmApi> api;
    if (std::string(which) == "lib") {
      auto a = orch::MakeLibSlurmApi(conf);
      if (!a.ok()) {
        std::printf("slurm: libslurm unavailable: %s\n", a.status().message().c_str());
        continue;
      }
      api = std::move(*a);
    } else {
      api = orch::MakeSlurmCliApi(conf);
    }
    std::vector<std::string> ids;
    auto t0 = Clock::now();
    for (int i = 0; i < jobs; ++i) {
      orch::SlurmJobRequest r;
      r.name = std::string("bench-") + which + "-" + std::to_string(i);
      r.comment = "isoflop bench";
      r.script = orch::kLaunchScript;
      r.script_path = *script;
      r.args = {r.name, dir, "/bin/true"};
      r.environment = {"PATH=/usr/bin:/bin"};
      r.work_dir = dir;
      r.std_out = "/dev/null";
      r.mem_mb = 64;
      r.time_limit_min = 5;
      auto id = api->Submit(r);
      if (!id.ok()) {
        std::printf("slurm: submit failed: %s\n", id.status().ToString().c_str());
        break;
      }
      ids.push_back(*id);
    }
    double submit_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("slurm: %s submitted %zu jobs in %.2f s = %.1f jobs/s (sequential: one RPC in flight)\n",
                api->name().c_str(), ids.size(), submit_s, ids.size() / submit_s);
    // Poll cost: one batched query for all jobs vs one `scontrol show job ID` per job.
    auto p0 = Clock::now();
    auto all = api->LoadJobs();
    double batched_ms = std::chrono::duration<double, std::milli>(Clock::now() - p0).count();
    std::printf("slurm: %s one batched poll of %zu jobs: %.1f ms\n", api->name().c_str(),
                all.ok() ? all->size() : 0, batched_ms);
    if (std::string(which) == "cli") {
      auto q0 = Clock::now();
      int n = 0;
      for (size_t i = 0; i < ids.size() && i < 50; ++i, ++n) {
        int code = 0;
        orch::RunProgram({"scontrol", "-o", "show", "job", ids[i]}, &code);
      }
      double per_job_ms = std::chrono::duration<double, std::milli>(Clock::now() - q0).count();
      std::printf(
          "slurm: peer (one `scontrol show job ID` per job, as per-job watchers do): %d jobs in %.1f ms = "
          "%.1f ms/job\n",
          n, per_job_ms, per_job_ms / n);
    }
    for (const auto& id : ids) api->Cancel(id);
  }
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "";
  if (what == "daemon-cpu")
    return DaemonCpu(argc > 2 ? std::atof(argv[2]) : 60, argc > 3 ? std::atof(argv[3]) : 15);
  if (what == "status") return StatusLatency();
  if (what == "slurm") return Slurm(argc > 2 ? std::atoi(argv[2]) : 200);
  std::fprintf(stderr, "usage: %s daemon-cpu [SECONDS] [POLL_MAX_S] | status | slurm [JOBS]\n", argv[0]);
  return 2;
}
