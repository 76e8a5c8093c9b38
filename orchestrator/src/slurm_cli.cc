// The Slurm CLI fallback: sbatch / scontrol / scancel run with an argv (posix_spawn, no shell),
// so no user string is ever parsed by a shell. One `scontrol -o show job` lists every job in a
// single RPC, the same batching as slurm_load_jobs.
#include <cctype>
#include <csignal>
#include <cstring>
#include <sstream>

#include "backend.h"
#include "slurm_api.h"

namespace isoflop::orchestrator {
namespace {

// `scontrol -o` prints "Key=value" pairs separated by spaces, and does not quote a value that
// has spaces in it (a path): the value of KEY runs up to the next " Word=".
std::string FieldWithSpaces(const std::string& line, const std::string& key) {
  auto at = line.find(" " + key + "=");
  if (at == std::string::npos) return "";
  size_t begin = at + key.size() + 2, end = begin;
  while (end < line.size()) {
    auto space = line.find(' ', end);
    if (space == std::string::npos) return line.substr(begin);
    size_t w = space + 1;
    while (w < line.size() &&
           (std::isalnum(static_cast<unsigned char>(line[w])) || line[w] == '_' || line[w] == ':'))
      ++w;
    if (w > space + 1 && w < line.size() && line[w] == '=') return line.substr(begin, space - begin);
    end = space + 1;
  }
  return line.substr(begin);
}

class SlurmCliApi : public SlurmApi {
 public:
  explicit SlurmCliApi(std::string conf) : conf_(std::move(conf)) {}
  std::string name() const override { return "slurm-cli"; }

  StatusOr<std::string> Submit(const SlurmJobRequest& r) override {
    std::vector<std::string> argv = {"sbatch",
                                     "--parsable",
                                     "--job-name=" + r.name,
                                     "--comment=" + r.comment,
                                     "--chdir=" + r.work_dir,
                                     "--output=" + r.std_out,
                                     "--open-mode=append",
                                     "--nodes=1",
                                     "--ntasks=1",
                                     "--cpus-per-task=" + std::to_string(r.cpus)};
    argv.push_back(r.requeue ? "--requeue" : "--no-requeue");
    if (r.mem_mb > 0) argv.push_back("--mem=" + std::to_string(r.mem_mb));
    if (r.time_limit_min > 0) argv.push_back("--time=" + std::to_string(r.time_limit_min));
    if (r.gpus > 0) argv.push_back("--gpus-per-node=" + std::to_string(r.gpus));
    if (!r.partition.empty()) argv.push_back("--partition=" + r.partition);
    if (r.warn_signal > 0) {
      std::string sig = std::string(r.warn_batch_only ? "B:" : "") + std::to_string(r.warn_signal) + "@" +
                        std::to_string(r.warn_time_s);
      argv.push_back("--signal=" + sig);
    }
    if (!r.array.empty()) argv.push_back("--array=" + r.array);
    // The job's environment is exactly what the libslurm path passes.
    argv.push_back("--export=NIL");
    std::vector<std::string> env = Env();
    for (const auto& e : r.environment) env.push_back(e);
    argv.push_back(r.script_path);
    argv.insert(argv.end(), r.args.begin(), r.args.end());
    int code = 0;
    auto out = RunProgram(argv, &code, env);
    if (!out.ok()) return out.status();
    if (code != 0) return Status::Unavailable("sbatch exited " + std::to_string(code));
    std::string id = *out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (auto semi = id.find(';'); semi != std::string::npos) id = id.substr(0, semi);  // "id;cluster"
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Unavailable("sbatch printed '" + id + "', not a job id");
    }
    return id;
  }

  StatusOr<std::vector<SlurmJobInfo>> LoadJobs() override {
    int code = 0;
    auto out = RunProgram({"scontrol", "-o", "show", "job"}, &code, Env());
    if (!out.ok()) return out.status();
    if (code != 0) return Status::Unavailable("scontrol show job exited " + std::to_string(code));
    std::vector<SlurmJobInfo> jobs;
    std::istringstream lines(*out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("JobId=", 0) != 0) continue;  // "No jobs in the system"
      SlurmJobInfo info;
      bool held = false;
      std::istringstream fields(line);
      std::string f;
      while (fields >> f) {
        auto eq = f.find('=');
        if (eq == std::string::npos) continue;
        std::string k = f.substr(0, eq), v = f.substr(eq + 1);
        if (k == "JobId")
          info.job_id = v;
        else if (k == "JobName")
          info.name = v;
        else if (k == "ArrayJobId")
          info.array_job_id = v;
        else if (k == "ArrayTaskId")
          info.array_tasks = v;
        else if (k == "JobState")
          info.state = v;
        else if (k == "Reason")
          info.reason = v;
        else if (k == "Restarts")
          info.restarts = std::atoi(v.c_str());
        else if (k == "Priority")
          held = v == "0";  // a held job has priority 0 (scontrol hold, "launch failed requeued held")
        else if (k == "ExitCode") {  // "code:signal"
          info.exit_code = std::atoi(v.c_str());
          if (auto c = v.find(':'); c != std::string::npos) info.exit_signal = std::atoi(v.c_str() + c + 1);
        }
      }
      info.work_dir = FieldWithSpaces(line, "WorkDir");
      if (!info.array_job_id.empty() && !info.array_tasks.empty()) {
        // One started task ("ArrayTaskId=4"), or the array's tasks not started yet ("2-3").
        if (info.array_tasks.find_first_not_of("0123456789") == std::string::npos) {
          info.array_task = std::atoi(info.array_tasks.c_str());
          info.job_id = info.array_job_id + "_" + info.array_tasks;
        } else {
          info.job_id = info.array_job_id;
        }
      }
      if (info.state == "PENDING" && held) info.state = "HELD";  // as slurm_api.cc
      if (!info.job_id.empty()) jobs.push_back(std::move(info));
    }
    return jobs;
  }

  StatusOr<std::vector<SlurmNodeInfo>> LoadNodes() override {
    int code = 0;
    auto out = RunProgram({"scontrol", "-o", "show", "node"}, &code, Env());
    if (!out.ok()) return out.status();
    if (code != 0) return Status::Unavailable("scontrol show node exited " + std::to_string(code));
    std::vector<SlurmNodeInfo> nodes;
    std::istringstream lines(*out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("NodeName=", 0) != 0) continue;
      SlurmNodeInfo n;
      n.name = line.substr(9, line.find(' ') - 9);
      n.state = FieldWithSpaces(line, "State");
      n.drained = n.state.find("DRAIN") != std::string::npos;
      n.reason = FieldWithSpaces(line, "Reason");
      nodes.push_back(std::move(n));
    }
    return nodes;
  }

  Status ResumeNode(const std::string& name) override {
    int code = 0;
    auto out = RunProgram({"scontrol", "update", "nodename=" + name, "state=resume"}, &code, Env());
    if (!out.ok()) return out.status();
    if (code != 0) return Status::Unavailable("scontrol update nodename=" + name + " exited " + std::to_string(code));
    return Status::OK();
  }

  Status Cancel(const std::string& job_id) override {
    int code = 0;
    auto out = RunProgram({"scancel", job_id}, &code, Env());
    if (!out.ok()) return out.status();
    if (code != 0) return Status::Unavailable("scancel " + job_id + " exited " + std::to_string(code));
    return Status::OK();
  }

 private:
  std::vector<std::string> Env() const {
    if (conf_.empty()) return {};
    return {"SLURM_CONF=" + conf_};
  }
  std::string conf_;
};

}  // namespace

std::unique_ptr<SlurmApi> MakeSlurmCliApi(const std::string& conf) {
  return std::make_unique<SlurmCliApi>(conf);
}

std::vector<int> ParseArrayTasks(const std::string& expression) {
  std::vector<int> tasks;
  std::string e = expression.substr(0, expression.find('%'));
  std::stringstream parts(e);
  std::string part;
  while (std::getline(parts, part, ',')) {
    auto dash = part.find('-');
    const std::string a = part.substr(0, dash), b = dash == std::string::npos ? a : part.substr(dash + 1);
    if (a.empty() || b.empty() || a.find_first_not_of("0123456789") != std::string::npos ||
        b.find_first_not_of("0123456789") != std::string::npos || a.size() > 7 || b.size() > 7) {
      return {};
    }
    for (int t = std::atoi(a.c_str()); t <= std::atoi(b.c_str()); ++t) tasks.push_back(t);
  }
  return tasks;
}

Status ParseSlurmSignal(const std::string& spec, int* signal, int* time_s, bool* batch_only) {
  std::string s = spec;
  *batch_only = false;
  if (s.rfind("B:", 0) == 0) {
    *batch_only = true;
    s = s.substr(2);
  }
  *time_s = 60;  // Slurm's default
  if (auto at = s.find('@'); at != std::string::npos) {
    std::string t = s.substr(at + 1);
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("slurm.signal: bad time in '" + spec + "'");
    }
    *time_s = std::atoi(t.c_str());
    s = s.substr(0, at);
  }
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const std::pair<const char*, int> kNames[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2},
                                                       {"TERM", SIGTERM}, {"INT", SIGINT},
                                                       {"HUP", SIGHUP},   {"QUIT", SIGQUIT}};
  for (const auto& [n, v] : kNames) {
    if (s == n) {
      *signal = v;
      return Status::OK();
    }
  }
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    *signal = std::atoi(s.c_str());
    return Status::OK();
  }
  return Status::InvalidArgument("slurm.signal: unknown signal in '" + spec + "'");
}

}  // namespace isoflop::orchestrator
