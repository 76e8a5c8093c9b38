// BuildDataset and StagedBuild: `isoflop data build` as a plan and seven stages (build_plan.h,
// build_stages.h), run here in one process, or task by task on a cluster by the orchestrator.
// Every decision is made per document and in global input order, so the output bytes depend
// neither on the thread count nor on the number of tasks.
#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "build_files.h"
#include "build_plan.h"
#include "build_stages.h"
#include "isoflop/data_pipeline.h"
#include "isoflop/hf_tokenizer.h"
#include "staged_output.h"

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of the whole process (every thread), user + system.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec * 1e-6;
}

constexpr char kPlanFile[] = "plan.json";

// The pipelines allocate each batch (~8 MB of records, texts, tokens) on one thread and free it
// on another. glibc gives every thread its own arena and hands an arena's free top back to the
// kernel (madvise, or munmap of a whole heap) as soon as it passes M_TRIM_THRESHOLD (128 KiB,
// or twice the largest mmapped block freed so far), so with 2 threads each batch was faulted in
// afresh: 35.8K page faults against 13.4K with 1 thread on the 200 MB bench corpus (~0.3 CPU-s
// of faults, sysmalloc and madvise; docs/benchmarks.md, issue 17). A 64 MiB trim threshold keeps
// the freed batches for the next ones. Setting it fixes the mmap threshold too (glibc stops
// raising it), so that is set to glibc's own ceiling for the raise, 32 MiB: blocks below it come
// from the arenas, not from fresh zeroed mmaps (15.9K faults with both, 16.9K with the trim
// threshold alone). The price: up to 64 MiB of free memory per arena is kept instead of returned
// (peak RSS with 2 threads on that corpus 66 -> 73 MiB, with 1 thread 49 -> 51 MiB).
// Set once, by the entry points that run build tasks (one process per task or per build).
void KeepFreedBatches() {
#if defined(__GLIBC__)
  static const bool done = [] {
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    return true;
  }();
  (void)done;
#endif
}

StatusOr<BuildPlan> LoadPlan(const std::string& work_dir) {
  const std::string path = (fs::path(work_dir) / kPlanFile).string();
  auto text = ReadText(path);
  if (!text.ok())
    return Status::InvalidArgument(path + ": no build plan (is " + work_dir + " a build's work directory?)");
  return BuildPlan::FromJson(*text, path);
}

Status RunTask(const BuildPlan& plan, const std::string& stage, int task, int threads, bool progress) {
  const int tasks = [&] {
    for (const auto& s : PlanStages(plan)) {
      if (s.name == stage) return s.tasks;
    }
    return -1;
  }();
  if (tasks < 0) return Status::InvalidArgument("unknown build stage '" + stage + "'");
  if (task < 0 || task >= tasks) {
    return Status::InvalidArgument("stage " + stage + " has tasks 0.." + std::to_string(tasks - 1) +
                                   ", not " + std::to_string(task));
  }
  threads = std::max(1, threads);
  if (stage == "scan") return RunScanTask(plan, task, threads, progress);
  if (stage == "bands") return RunBandsTask(plan, task, threads, progress);
  if (stage == "verify") return RunVerifyTask(plan, task, threads, progress);
  if (stage == "decide") return RunDecideTask(plan, threads, progress);
  if (stage == "encode") return RunEncodeTask(plan, task, threads, progress);
  if (stage == "assemble") return RunAssembleTask(plan, task, threads, progress);
  return RunFinalizeTask(plan, threads, progress);
}

}  // namespace

struct StagedBuild::Impl {
  BuildPlan plan;
  std::vector<BuildStageInfo> stages;
  std::unique_ptr<StagedOutput> output;
  std::map<std::string, double> stage_wall, stage_cpu;  // filled by RunHere
  Clock::time_point start = Clock::now();
};

StagedBuild::StagedBuild(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StagedBuild::~StagedBuild() = default;
const std::string& StagedBuild::work_dir() const {
  return impl_->plan.work_dir;
}
const std::vector<BuildStageInfo>& StagedBuild::stages() const {
  return impl_->stages;
}
bool StagedBuild::TaskDone(const std::string& stage, int task) const {
  return TaskIsDone(impl_->plan, stage, task);
}

StatusOr<std::unique_ptr<StagedBuild>> StagedBuild::Prepare(const BuildOptions& options, int tasks,
                                                            bool resume) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  if (tasks < 0) return Status::InvalidArgument("tasks must be >= 1 (or 0: one per 8 GiB of input)");
  // Everything the build refers to is checked before any work: the tokenizer to load, the
  // report's location, then the inputs (MakeBuildPlan: they exist and are text).
  if (!options.tokenizer_path.empty() && !options.skip_tokenize) {
    auto loaded = LoadTokenizerFile(options.tokenizer_path, options.tokenizer_eos);  // isoflop's or HF's
    if (!loaded.ok())
      return Status::InvalidArgument("--tokenizer (tokenizer.path) " + loaded.status().message());
    if (loaded->eos_id() == UINT32_MAX) {
      std::string names;
      for (const char* c : kEosCandidates) names += std::string(names.empty() ? "" : ", ") + c;
      return Status::InvalidArgument("--tokenizer (tokenizer.path) " + options.tokenizer_path +
                                     ": added_tokens: no end-of-document token (none of " + names +
                                     "); name one with --eos-token (tokenizer.eos_token)");
    }
  }
  if (!options.report_path.empty()) {
    std::error_code ec;
    const fs::path parent = fs::absolute(options.report_path, ec).parent_path();
    if (fs::is_directory(options.report_path, ec) ||
        (!fs::is_directory(parent, ec) && parent != fs::absolute(options.out_dir, ec))) {
      return Status::InvalidArgument("--report " + options.report_path + ": its directory does not exist");
    }
  }
  std::error_code ec;
  const std::string out_dir = fs::absolute(options.out_dir, ec).lexically_normal().string();
  const std::string work_dir = (fs::path(out_dir) / ".isoflop-build").string();
  auto impl = std::make_unique<Impl>();
  auto plan = MakeBuildPlan(options, tasks, work_dir);
  if (!plan.ok()) return plan.status();
  impl->plan = std::move(*plan);
  impl->plan.sync_task_files = resume;  // a build that does not resume starts its work directory over
  impl->stages = PlanStages(impl->plan);
  auto output = StagedOutput::Begin(out_dir, resume);
  if (!output.ok()) return output.status();
  impl->output = std::move(*output);
  const std::string plan_path = (fs::path(work_dir) / kPlanFile).string();
  const std::string plan_text = impl->plan.ToJson();
  if (resume) {
    auto existing = ReadText(plan_path);
    if (!existing.ok() || *existing != plan_text) {  // another build's tasks: start over
      for (const auto& entry : fs::directory_iterator(work_dir, ec)) fs::remove_all(entry.path(), ec);
    }
  }
  ISOFLOP_RETURN_IF_ERROR(WriteTaskFile(impl->plan, plan_path, plan_text));
  return std::unique_ptr<StagedBuild>(new StagedBuild(std::move(impl)));
}

StatusOr<BuildSummary> StagedBuild::Commit() {
  const BuildPlan& plan = impl_->plan;
  auto result = ReadTaskResult(plan, "finalize", 0);
  if (!result.ok()) return result.status();
  std::vector<std::string> outputs = result->at("outputs").get<std::vector<std::string>>();
  if (!plan.options.report_path.empty()) {
    impl_->output->AddExternal(plan.work_dir + "/report.jsonl", plan.options.report_path);
  }
  ISOFLOP_RETURN_IF_ERROR(impl_->output->Commit(outputs));
  BuildSummary summary;
  summary.out_dir = plan.options.out_dir;
  for (const auto& [key, value] : result->at("counters").items())
    summary.counters[key] = value.get<int64_t>();
  for (const auto& [key, value] : result->at("seconds").items())
    summary.stage_seconds[key] = value.get<double>();
  for (const auto& [stage, wall] : impl_->stage_wall) summary.stage_seconds[stage + "_wall"] = wall;
  for (const auto& [stage, cpu] : impl_->stage_cpu) summary.stage_seconds[stage + "_cpu"] = cpu;
  summary.input_bytes = result->at("input_bytes").get<int64_t>();
  summary.wall_seconds = Seconds(impl_->start);
  return summary;
}

Status RunBuildTask(const std::string& work_dir, const std::string& stage, int task, int threads,
                    bool progress) {
  auto plan = LoadPlan(work_dir);
  if (!plan.ok()) return plan.status();
  KeepFreedBatches();
  return RunTask(*plan, stage, task, threads, progress);
}

Status StagedBuild::RunHere(int threads, bool progress) {
  KeepFreedBatches();
  for (const BuildStageInfo& stage : impl_->stages) {
    const auto t = Clock::now();
    const double cpu = ProcessCpuSeconds();
    for (int task = 0; task < stage.tasks; ++task) {
      ISOFLOP_RETURN_IF_ERROR(RunTask(impl_->plan, stage.name, task, threads, progress));
    }
    impl_->stage_wall[stage.name] += Seconds(t);
    impl_->stage_cpu[stage.name] += ProcessCpuSeconds() - cpu;
  }
  return Status::OK();
}

StatusOr<BuildSummary> BuildDataset(const BuildOptions& options) {
  auto build = StagedBuild::Prepare(options, /*tasks=*/0, /*resume=*/false);
  if (!build.ok()) return build.status();
  ISOFLOP_RETURN_IF_ERROR((*build)->RunHere(options.threads, options.progress));
  return (*build)->Commit();
}

std::string BuildSummary::BriefReport() const {
  auto get = [&](const char* key) {
    auto it = counters.find(key);
    return it == counters.end() ? int64_t{0} : it->second;
  };
  char line[512];
  std::snprintf(line, sizeof(line),
                "%" PRId64 " documents read, %" PRId64 " kept (quality %" PRId64 ", exact %" PRId64
                ", near %" PRId64 ", invalid %" PRId64 ", empty %" PRId64 " dropped); %" PRId64
                " train + %" PRId64 " val tokens; %.1f MB in %.2f s (%.1f MB/s)\n",
                get("documents_read"), get("kept"), get("quality_dropped"), get("exact_dup"), get("near_dup"),
                get("invalid_records"), get("empty_documents"), get("tokens_train"), get("tokens_val"),
                input_bytes / 1e6, wall_seconds, wall_seconds > 0 ? input_bytes / 1e6 / wall_seconds : 0.0);
  return line;
}

std::string BuildSummary::FullReport() const {
  std::ostringstream out;
  out << BriefReport() << "counters:\n";
  for (const auto& [key, value] : counters) out << "  " << key << ": " << value << '\n';
  out << "seconds (\"_cpu\": the process's CPU time in a stage; \"_core\": CPU time of one kind of work, "
         "summed over\n"
         "threads; \"_wall\": elapsed):\n";
  for (const auto& [key, value] : stage_seconds) out << "  " << key << ": " << value << '\n';
  return out.str();
}

std::string BuildSummary::ToJson() const {
  json j;
  j["out_dir"] = out_dir;
  j["counters"] = counters;
  j["stage_seconds"] = stage_seconds;
  j["input_bytes"] = input_bytes;
  j["wall_seconds"] = wall_seconds;
  j["mb_per_s"] = wall_seconds > 0 ? input_bytes / 1e6 / wall_seconds : 0.0;
  return j.dump(2);
}

}  // namespace isoflop::data
