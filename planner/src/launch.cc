// The launch of a plan on an engine (issue 12 item 2; docs/engines.md): node geometry, the
// checkpoint interval from the predicted failure rate, the time limit, and the files, written only
// after the engine's rules pass.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "isoflop/engines.h"
#include "isoflop/file_util.h"

namespace isoflop::planner {

bool LaunchOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& what) {
    if (error) *error = what;
    return false;
  };
  if (engine == Engine::kAny) return fail("--launch must name an engine: megatron, torchtitan or isoflop");
  if (dir.empty()) return fail("--launch-dir is required with --launch");
  if (!(time_margin >= 0) || !(time_fixed_s >= 0)) return fail("the time margin must be >= 0");
  if (!(max_time_hours >= 0) || !std::isfinite(max_time_hours)) return fail("--max-time must be >= 0 hours");
  if (signal_lead_s < 1 || signal_lead_s > 65535) return fail("--signal-lead must be 1..65535 seconds");
  if (!(failures_per_gpu_hour > 0) || !(checkpoint_write_gb_s_per_node > 0))
    return fail("the failure rate and the checkpoint write rate must be > 0");
  for (const std::string* s : {&partition, &account, &qos, &job_name})
    if (s->find_first_of(" \t\n'\"$`\\") != std::string::npos)
      return fail("Slurm option '" + *s + "' contains a space, quote, $ or backslash");
  if (max_time_hours > 0 && max_time_hours * 3600 <= signal_lead_s)
    return fail("--max-time must exceed the signal lead (" + std::to_string(signal_lead_s) + " s)");
  return true;
}

std::string LaunchSummary::BriefReport() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%d nodes x %d tasks, time limit %s%s; checkpoint every %d steps (%.0f s: write %.0f s, job "
                "MTBF %.1f h, "
                "Young/Daly), %lld steps",
                nodes, tasks_per_node, time_limit.c_str(),
                time_capped ? " (capped by --max-time: the job requeues itself)" : "", save_interval_steps,
                checkpoint_interval_s, checkpoint_write_s, job_mtbf_h, train_iters);
  return buf;
}

LaunchSummary PlanLaunch(const PlanSummary& plan, const LaunchOptions& o) {
  LaunchSummary s;
  const PerfSummary& best = plan.layouts.ranked.front();
  const int gpn = std::max(1, plan.cluster.gpus_per_node);
  const int gpus = best.config.gpus();
  s.tasks_per_node = std::min(gpus, gpn);
  s.nodes = (gpus + s.tasks_per_node - 1) / s.tasks_per_node;
  const double step_tokens = static_cast<double>(best.config.global_batch) * plan.shape.seq_len;
  s.train_iters = std::max(1LL, static_cast<long long>(std::ceil(plan.train_tokens / step_tokens - 1e-9)));
  s.train_samples = std::max(
      1LL,
      static_cast<long long>(std::ceil(plan.train_tokens / static_cast<double>(plan.shape.seq_len) - 1e-9)));
  const auto& ramp = plan.batch.ramp_sequences;
  if (!ramp.empty()) {
    // The ramp's stages as whole samples: stage i starts after the token fractions of the stages
    // before it; the final batch after the last.
    double fraction = 0;
    s.batch_schedule.emplace_back(0, ramp[0]);
    for (size_t i = 0; i < ramp.size() && s.schedule_error.empty(); ++i) {
      fraction += i < plan.batch.ramp_token_fractions.size() ? plan.batch.ramp_token_fractions[i] : 0;
      const long long at = std::llround(fraction * static_cast<double>(s.train_samples));
      if (at <= s.batch_schedule.back().first)
        s.schedule_error = "--batch-ramp: stage " + std::to_string(i + 1) + " is shorter than one sequence";
      s.batch_schedule.emplace_back(at, i + 1 < ramp.size() ? ramp[i + 1] : best.config.global_batch);
    }
    if (!s.schedule_error.empty()) s.batch_schedule.clear();
    // Iterations as Megatron counts them for sample-based training (megatron/training/training.py
    // update_train_iters @ d98e8a64): each iteration takes the batch of the stage its first sample is in.
    long long iters = 0, consumed = 0;
    for (size_t i = 0; i < s.batch_schedule.size(); ++i) {
      const long long end = i + 1 < s.batch_schedule.size() ? s.batch_schedule[i + 1].first : s.train_samples;
      if (consumed >= end) continue;
      const long long batch = s.batch_schedule[i].second;
      const long long n = (end - consumed + batch - 1) / batch;
      iters += n;
      consumed += n * batch;
    }
    if (iters > 0) s.train_iters = iters;
  }
  // Checkpoint: bf16 weights + fp32 master copy + Adam's two fp32 moments = 14 bytes per parameter
  // (Megatron-Core docs/user-guide/features/dist_optimizer.md), written in parallel by the nodes.
  const double bytes = 14.0 * plan.shape.ParamsTotal();
  s.checkpoint_write_s = bytes / (s.nodes * o.checkpoint_write_gb_s_per_node * 1e9);
  s.job_mtbf_h = 1.0 / (o.failures_per_gpu_hour * gpus);
  // Young 1974 (first order, Daly 2006 Eq. 1's leading term): tau = sqrt(2 delta M).
  s.checkpoint_interval_s = std::sqrt(2 * s.checkpoint_write_s * s.job_mtbf_h * 3600);
  const double step = best.step_time_s > 0 ? best.step_time_s : 1;
  s.save_interval_steps = static_cast<int>(std::clamp(std::llround(s.checkpoint_interval_s / step), 1LL,
                                                      std::max(1LL, std::min(s.train_iters, 1000000LL))));
  // Time limit: predicted wall-clock x (1 + margin) + fixed, capped by --max-time.
  double limit_s = plan.wall_clock_s * (1 + o.time_margin) + o.time_fixed_s;
  if (o.max_time_hours > 0 && limit_s > o.max_time_hours * 3600) {
    limit_s = o.max_time_hours * 3600;
    s.time_capped = true;
  }
  const long long minutes = std::max(1LL, static_cast<long long>(std::ceil(limit_s / 60 - 1e-9)));
  char limit[64];
  std::snprintf(limit, sizeof limit, "%lld-%02lld:%02lld:00", minutes / (24 * 60), (minutes / 60) % 24,
                minutes % 60);
  s.time_limit = limit;
  return s;
}

StatusOr<LaunchSummary> WriteLaunch(const PlanSummary& plan, const LaunchOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  if (plan.layouts.ranked.empty()) return Status::InvalidArgument("the plan has no layout to launch");
  LaunchOptions o = options;
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::absolute(o.dir, ec);
  if (ec) return Status::InvalidArgument("--launch-dir " + o.dir + ": " + ec.message());
  o.dir = dir.lexically_normal().string();
  if (!o.dir.empty() && o.dir.back() == '/' && o.dir.size() > 1) o.dir.pop_back();
  if (o.dir.find_first_of(" \t\n'\"$`\\") != std::string::npos)
    return Status::InvalidArgument("--launch-dir " + o.dir + " contains a space, quote, $ or backslash");
  const ParallelConfig& c = plan.layouts.ranked.front().config;
  Status layout = CheckEngineLayout(o.engine, plan.shape, c, plan.cluster.gpus_per_node);
  if (!layout.ok())
    return Status::InvalidArgument(layout.message() + " (plan with --engine " + EngineName(o.engine) +
                                   " so that the search only proposes layouts it runs)");
  const LaunchSummary launch = PlanLaunch(plan, o);
  std::vector<std::pair<std::string, std::string>> files;  // path, contents
  switch (o.engine) {
    case Engine::kMegatron: {
      auto args = BuildMegatronArgs(plan, o);
      if (!args.ok()) return args.status();
      Status valid = ValidateMegatronArgs(*args);
      if (!valid.ok()) return valid;
      files.emplace_back(o.dir + "/megatron.args", args->Text());
      break;
    }
    case Engine::kTorchtitan: {
      auto config = BuildTorchtitanConfig(plan, o);
      if (!config.ok()) return config.status();
      files.emplace_back(o.dir + "/torchtitan.toml", config->toml);
      files.emplace_back(o.dir + "/isoflop_flavor.py", config->flavor_module);
      break;
    }
    case Engine::kIsoflop:
      if (!plan.batch.ramp_sequences.empty())
        return Status::InvalidArgument(
            "--launch isoflop does not express a batch ramp yet; plan without --batch-ramp");
      files.emplace_back(o.dir + "/run.yaml", plan.RunConfigYaml());
      break;
    case Engine::kAny:
      break;
  }
  files.emplace_back(o.dir + "/run.sbatch", BuildSbatch(plan, o, launch));
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return Status::IOError("--launch-dir " + o.dir + ": " + ec.message());
  LaunchSummary out = launch;
  for (const auto& [path, text] : files) {
    Status written = WriteFileAtomically(path, text);
    if (!written.ok()) return written;
    out.files.push_back(path);
  }
  std::filesystem::permissions(o.dir + "/run.sbatch", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add, ec);
  return out;
}

}  // namespace isoflop::planner
