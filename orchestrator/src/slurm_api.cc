// libslurm adapter (Slurm 22.05). Every version-specific call lives in this file; when the C API
// changes, this is the file to port, and slurm_cli.cc keeps working meanwhile.
#include "slurm_api.h"

#ifdef ISOFLOP_HAVE_LIBSLURM
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <unistd.h>
#endif

#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace isoflop::orchestrator {

#ifdef ISOFLOP_HAVE_LIBSLURM
namespace {

std::string SlurmError(const char* what) {
  int err = slurm_get_errno();
  return std::string(what) + ": " + slurm_strerror(err) + " (" + std::to_string(err) + ")";
}

std::string StateName(uint32_t state, uint32_t priority) {
  if (state & JOB_COMPLETING) return "COMPLETING";
  // Held: e.g. "launch failed requeued held" after a controller restart reused a job id that a
  // slurmd still ran. A held job never starts by itself.
  if ((state & JOB_STATE_BASE) == JOB_PENDING && ((state & JOB_REQUEUE_HOLD) || priority == 0)) return "HELD";
  switch (state & JOB_STATE_BASE) {
    case JOB_PENDING:
      return "PENDING";
    case JOB_RUNNING:
      return "RUNNING";
    case JOB_SUSPENDED:
      return "SUSPENDED";
    case JOB_COMPLETE:
      return "COMPLETED";
    case JOB_CANCELLED:
      return "CANCELLED";
    case JOB_FAILED:
      return "FAILED";
    case JOB_TIMEOUT:
      return "TIMEOUT";
    case JOB_NODE_FAIL:
      return "NODE_FAIL";
    case JOB_PREEMPTED:
      return "PREEMPTED";
    case JOB_BOOT_FAIL:
      return "BOOT_FAIL";
    case JOB_DEADLINE:
      return "DEADLINE";
    case JOB_OOM:
      return "OUT_OF_MEMORY";
  }
  return "UNKNOWN";
}

class LibSlurmApi : public SlurmApi {
 public:
  std::string name() const override { return "libslurm"; }

  StatusOr<std::string> Submit(const SlurmJobRequest& r) override {
    job_desc_msg_t desc;
    slurm_init_job_desc_msg(&desc);
    // libslurm takes non-const char*; these strings outlive the call.
    std::vector<std::string> store = {r.name, r.comment, r.script, r.work_dir, r.std_out, r.partition};
    desc.name = store[0].data();
    desc.comment = store[1].data();
    desc.script = store[2].data();
    desc.work_dir = store[3].data();
    desc.std_out = store[4].data();
    desc.std_err = store[4].data();
    if (!r.partition.empty()) desc.partition = store[5].data();
    std::vector<std::string> argv_store = {r.script_path};
    argv_store.insert(argv_store.end(), r.args.begin(), r.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    desc.argc = static_cast<uint32_t>(argv_store.size());
    desc.argv = argv.data();
    std::vector<std::string> env_store = r.environment;
    std::vector<char*> env;
    for (auto& e : env_store) env.push_back(e.data());
    env.push_back(nullptr);
    desc.environment = env.data();  // required (else errno 2019)
    desc.env_size = static_cast<uint32_t>(env_store.size());
    desc.open_mode = OPEN_MODE_APPEND;
    desc.requeue = r.requeue ? 1 : 0;
    desc.min_nodes = 1;
    desc.max_nodes = 1;
    desc.num_tasks = 1;
    desc.cpus_per_task = static_cast<uint16_t>(r.cpus);
    desc.min_cpus = static_cast<uint32_t>(r.cpus);
    if (r.mem_mb > 0) desc.pn_min_memory = static_cast<uint64_t>(r.mem_mb);
    if (r.time_limit_min > 0) desc.time_limit = static_cast<uint32_t>(r.time_limit_min);
    std::string gres = "gres:gpu:" + std::to_string(r.gpus);
    if (r.gpus > 0) desc.tres_per_node = gres.data();
    if (r.warn_signal > 0) {
      desc.warn_signal = static_cast<uint16_t>(r.warn_signal);
      desc.warn_time = static_cast<uint16_t>(r.warn_time_s);
      if (r.warn_batch_only) desc.warn_flags = KILL_JOB_BATCH;
    }
    std::string array = r.array;
    if (!array.empty()) desc.array_inx = array.data();
    desc.user_id = getuid();
    desc.group_id = getgid();
    submit_response_msg_t* resp = nullptr;
    if (slurm_submit_batch_job(&desc, &resp) != SLURM_SUCCESS) {
      return Status::Unavailable(SlurmError("slurm_submit_batch_job"));
    }
    std::string id = std::to_string(resp->job_id);
    slurm_free_submit_response_response_msg(resp);
    return id;
  }

  StatusOr<std::vector<SlurmJobInfo>> LoadJobs() override {
    job_info_msg_t* msg = nullptr;
    if (slurm_load_jobs(0, &msg, SHOW_ALL) != SLURM_SUCCESS)
      return Status::Unavailable(SlurmError("slurm_load_jobs"));
    std::vector<SlurmJobInfo> out;
    out.reserve(msg->record_count);
    for (uint32_t i = 0; i < msg->record_count; ++i) {
      const slurm_job_info_t& j = msg->job_array[i];
      SlurmJobInfo info;
      info.job_id = std::to_string(j.job_id);
      if (j.array_job_id != 0) {
        info.array_job_id = std::to_string(j.array_job_id);
        if (j.array_task_id != NO_VAL) {
          info.array_task = static_cast<int>(j.array_task_id);
          info.array_tasks = std::to_string(j.array_task_id);
          info.job_id = info.array_job_id + "_" + info.array_tasks;
        } else if (j.array_task_str != nullptr) {  // tasks not started yet
          info.array_tasks = j.array_task_str;
          info.job_id = info.array_job_id;
        }
      }
      info.name = j.name ? j.name : "";
      info.state = StateName(j.job_state, j.priority);
      // exit_code is a wait(2) status: 1280 is exit 5.
      if (WIFSIGNALED(j.exit_code)) {
        info.exit_signal = WTERMSIG(j.exit_code);
      } else {
        info.exit_code = WEXITSTATUS(j.exit_code);
      }
      info.restarts = j.restart_cnt;
      info.work_dir = j.work_dir ? j.work_dir : "";
      info.reason = std::to_string(j.state_reason);
      out.push_back(std::move(info));
    }
    slurm_free_job_info_msg(msg);
    return out;
  }

  StatusOr<std::vector<SlurmNodeInfo>> LoadNodes() override {
    node_info_msg_t* msg = nullptr;
    if (slurm_load_node(0, &msg, SHOW_ALL) != SLURM_SUCCESS) return Status::Unavailable(SlurmError("slurm_load_node"));
    std::vector<SlurmNodeInfo> out;
    for (uint32_t i = 0; i < msg->record_count; ++i) {
      const node_info_t& n = msg->node_array[i];
      if (n.name == nullptr) continue;
      SlurmNodeInfo info;
      info.name = n.name;
      // slurm.h's base states (enum node_states), as scontrol names them; DRAIN is a flag.
      static const char* const kBase[] = {"UNKNOWN", "DOWN", "IDLE", "ALLOCATED", "ERROR", "MIXED", "FUTURE"};
      const uint32_t base = n.node_state & NODE_STATE_BASE;
      info.state = base < sizeof kBase / sizeof kBase[0] ? kBase[base] : "UNKNOWN";
      info.drained = (n.node_state & NODE_STATE_DRAIN) != 0;
      if (info.drained) info.state += "+DRAIN";
      info.reason = n.reason ? n.reason : "";
      out.push_back(std::move(info));
    }
    slurm_free_node_info_msg(msg);
    return out;
  }

  Status ResumeNode(const std::string& name) override {
    update_node_msg_t msg;
    slurm_init_update_node_msg(&msg);
    std::string names = name;
    msg.node_names = names.data();
    msg.node_state = NODE_RESUME;
    if (slurm_update_node(&msg) != SLURM_SUCCESS) return Status::Unavailable(SlurmError("slurm_update_node"));
    return Status::OK();
  }

  Status Cancel(const std::string& job_id) override {
    // SIGKILL with no flags is what scancel does: the job ends CANCELLED. (The string form also
    // names one task of an array, "123_4".)
    if (slurm_kill_job2(job_id.c_str(), SIGKILL, 0, nullptr) != SLURM_SUCCESS) {
      int err = slurm_get_errno();
      if (err == ESLURM_ALREADY_DONE || err == ESLURM_INVALID_JOB_ID) return Status::OK();
      return Status::Unavailable(SlurmError("slurm_kill_job"));
    }
    return Status::OK();
  }
};

}  // namespace

StatusOr<std::unique_ptr<SlurmApi>> MakeLibSlurmApi(const std::string& conf) {
  // slurm_init() with a missing config retries for 60 s and then exit(1)s the process: check first.
  std::string path = conf;
  if (path.empty()) {
    const char* env = std::getenv("SLURM_CONF");
    path = env ? env : "/etc/slurm/slurm.conf";
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::Unavailable(path + ": no Slurm configuration");
  // slurm_init() reads the configuration once per process.
  static std::once_flag once;
  static std::string first_conf;
  std::call_once(once, [&] {
    first_conf = path;
    slurm_init(path.c_str());
  });
  if (first_conf != path) {
    return Status::FailedPrecondition("libslurm is already initialised with " + first_conf + ", not " + path);
  }
  return std::unique_ptr<SlurmApi>(new LibSlurmApi());
}

#else

StatusOr<std::unique_ptr<SlurmApi>> MakeLibSlurmApi(const std::string&) {
  return Status::Unavailable("this build has no libslurm");
}

#endif

}  // namespace isoflop::orchestrator
