// The stages of `isoflop data build` (data_pipeline.h, "The same build as stages of tasks").
// Each Run*Task runs one task of its stage for the plan, idempotently: it returns at once when
// its `.done` marker exists, and otherwise starts over (an earlier attempt's files are removed).
#ifndef ISOFLOP_DATA_PIPELINE_BUILD_STAGES_H_
#define ISOFLOP_DATA_PIPELINE_BUILD_STAGES_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "build_files.h"
#include "build_plan.h"

namespace isoflop::data {

Status RunScanTask(const BuildPlan& plan, int group, int threads, bool progress);
Status RunBandsTask(const BuildPlan& plan, int task, int threads, bool progress);
Status RunVerifyTask(const BuildPlan& plan, int group, int threads, bool progress);
Status RunDecideTask(const BuildPlan& plan, int threads, bool progress);
Status RunEncodeTask(const BuildPlan& plan, int group, int threads, bool progress);
Status RunAssembleTask(const BuildPlan& plan, int task, int threads, bool progress);
Status RunFinalizeTask(const BuildPlan& plan, int threads, bool progress);

// The manifest's "config": every option that changes the output, nothing that does not
// (threads, tasks, progress, report path), so the manifest is the same however it was built.
json ConfigJson(const BuildOptions& options);

// The document's content hash picks its split: stable across runs, orders, threads, tasks.
inline bool IsValidation(const ContentHash& hash, double val_fraction) {
  return static_cast<double>(hash.high % 1000000) < val_fraction * 1000000.0;
}

// `s` as a JSON string literal (invalid UTF-8 replaced), for the report and kept.jsonl.
std::string JsonString(const std::string& s);

// CPU time of the calling thread: per-stage costs stay meaningful on a busy machine.
double ThreadCpuSeconds();

// "isoflop data build: STAGE  N docs  docs/s  MB/s  %  ETA" on stderr, at most once a second.
class Progress {
 public:
  Progress(bool enabled, std::string stage);
  void Update(int64_t docs, int64_t bytes, double fraction, bool force = false);

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  std::string stage_;
  Clock::time_point start_, last_;
};

// The tokenizer of the decide stage: the given one, or one trained on the kept documents of
// smallest content hash up to tokenizer.max_train_bytes (counted in parallel, then merged).
// `drops` are sorted by document (global index in Drop::local). Writes WORK/tokenizer.json.
Status TrainBuildTokenizer(const BuildPlan& plan, const GroupIndex& groups, const std::vector<Drop>& drops,
                           int threads, bool progress, json* result);

// A build that keeps nothing to train on is bad input (exit 2): the error says where the
// documents went.
Status NothingKept(const json& counters, const BuildOptions& options);

// Counter keys every build reports (zero when nothing happened).
json ZeroCounters();
// Adds the numbers of `from` into `into` (counters of several tasks).
void AddCounters(const json& from, json* into);

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_BUILD_STAGES_H_
