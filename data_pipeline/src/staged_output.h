// A build writes into a staging directory and moves its files into the output directory only
// when it has succeeded, so a failed or killed build never damages the dataset already there
// (campaign finding 7: a disk-full build truncated the old shards while the old index stayed)
// and leaves nothing behind (no `.kept.spill`).
//
//   DIR/.isoflop-build/        the staging directory (intermediate files, new outputs)
//   DIR/.isoflop-build.lock    flock()ed while a build runs: two builds into DIR never mix
//
// Commit order: index.tsv is removed first (a reader then sees "no index", never new shards
// under the old index), the old shards the new set does not overwrite are removed, the new
// files are renamed in, fsynced, and index.tsv comes last. Each rename is atomic; a crash in
// the middle of the commit (milliseconds) leaves a directory without index.tsv, which every
// reader refuses, and the next build repairs.
#ifndef ISOFLOP_DATA_PIPELINE_STAGED_OUTPUT_H_
#define ISOFLOP_DATA_PIPELINE_STAGED_OUTPUT_H_

#include <memory>
#include <string>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

class StagedOutput {
 public:
  // Creates `out_dir` if needed, takes its lock, and prepares DIR/.isoflop-build/ (emptied
  // unless `keep_existing`: a resumed distributed build keeps its finished tasks' files).
  // Fails when `out_dir` is a file, or another build holds the lock.
  // With `keep_existing`, a failed build also keeps it (a rerun resumes from its finished tasks).
  static StatusOr<std::unique_ptr<StagedOutput>> Begin(const std::string& out_dir,
                                                       bool keep_existing = false);
  // Removes the staging directory unless Commit() succeeded (or keep_existing).
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  const std::string& out_dir() const { return out_dir_; }
  const std::string& staging_dir() const { return staging_; }
  std::string StagingPath(const std::string& name) const;

  // A file written somewhere else (the --report file): written to `temp`, renamed to `final`
  // at commit, removed on failure.
  void AddExternal(const std::string& temp, const std::string& final_path);

  // Moves `files` (names inside the staging directory) into out_dir in the order described
  // above, then removes the staging directory.
  Status Commit(const std::vector<std::string>& files);

 private:
  StagedOutput() = default;
  std::string out_dir_, staging_;
  int lock_fd_ = -1;
  bool committed_ = false, keep_ = false;
  std::vector<std::pair<std::string, std::string>> external_;
};

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_STAGED_OUTPUT_H_
