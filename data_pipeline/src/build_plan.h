// The plan of a build: its options, its input files, and how they are cut into groups (the
// scan, verify and encode stages' tasks). One plan serves the one-process build (one group)
// and the distributed build (`--tasks N`); because every result is computed per document and
// every decision from global document order, the output does not depend on the grouping.
#ifndef ISOFLOP_DATA_PIPELINE_BUILD_PLAN_H_
#define ISOFLOP_DATA_PIPELINE_BUILD_PLAN_H_

#include <string>
#include <vector>

#include "document_source.h"
#include "isoflop/data_pipeline.h"
#include "isoflop/status.h"

namespace isoflop::data {

struct BuildPlan {
  BuildOptions options;  // threads and progress are not part of the plan
  std::vector<InputFileInfo> files;
  std::vector<std::vector<InputUnit>> groups;  // contiguous in input order, none empty
  int tasks = 1;                               // bands and assemble tasks
  int band_partitions = 1;                     // key ranges per band (band tasks = items)
  std::string work_dir;                        // where stage outputs go (OUT/.isoflop-build)
  std::string base_dir;                        // the directory relative paths are relative to
  // Not in plan.json: whether the work directory's files (task markers, plan, tokenizer,
  // manifest) are fsynced as they are written. A resumable build (the distributed one, and
  // every task run from plan.json) needs its markers to survive a crash; a one-process build
  // starts its work directory over every time, and fsyncs its outputs when it commits them.
  bool sync_task_files = true;

  int num_groups() const { return static_cast<int>(groups.size()); }
  // A path of the options (input, tokenizer), resolved against base_dir: tasks run elsewhere.
  std::string Resolve(const std::string& path) const;
  std::string ToJson() const;  // deterministic: the same build gives the same text
  static StatusOr<BuildPlan> FromJson(const std::string& text, const std::string& source);
};

// Expands and checks the inputs (DocumentSource's checks: existence, binary formats), and cuts
// them into at most `tasks` groups of about equal bytes (tasks <= 0: one per 8 GiB). Plain
// JSONL files are cut at line starts; compressed and plain-text files stay whole.
StatusOr<BuildPlan> MakeBuildPlan(const BuildOptions& options, int tasks, const std::string& work_dir);

// The stages of a build, in order, and their task counts for `plan`.
std::vector<BuildStageInfo> PlanStages(const BuildPlan& plan);

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_BUILD_PLAN_H_
