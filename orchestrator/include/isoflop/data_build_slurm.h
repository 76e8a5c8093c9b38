// `isoflop data build --backend slurm --tasks N`: the data pipeline's build (data_pipeline.h,
// StagedBuild) run as Slurm job arrays, one per stage, through the orchestrator's Slurm backend
// (the launch wrapper, libslurm or the CLI). Each array task runs `isoflop data stage` for one
// task of the stage; the driver (this call) submits a stage when the previous one is done,
// retries a failed or killed task (a task is idempotent: it starts over and writes the same
// bytes), and commits the output when the last stage is done. The result is byte-identical to
// the one-process build (BuildDataset) of the same input and config. Killed itself, the driver
// is rerun with the same command: finished tasks are kept (OUT/.isoflop-build/), tasks still
// queued or running in Slurm are waited for, the rest is submitted. docs/data.md, "Distributed
// build".
#ifndef ISOFLOP_DATA_BUILD_SLURM_H_
#define ISOFLOP_DATA_BUILD_SLURM_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "isoflop/data_pipeline.h"
#include "isoflop/status.h"

namespace isoflop::orchestrator {

struct DataBuildSlurmOptions {
  data::BuildOptions build;  // inputs, out_dir, config; build.threads = CPUs per task
  int tasks = 4;             // input groups (scan, verify, encode) and band/assemble tasks
  // The program a task runs, then "data stage --work DIR --stage S --task array --threads T".
  // Default: this executable (/proc/self/exe), i.e. the isoflop binary.
  std::vector<std::string> isoflop_command;
  std::string slurm_conf;  // SLURM_CONF; "" = the environment's
  std::string partition;   // "" = the cluster's default
  int mem_mb = 4096;       // per task (docs/data.md gives what each stage needs)
  int time_limit_min = 120;
  int max_attempts = 3;  // per task, for failures other than bad input
  double poll_s = 0.5;
  bool progress = true;  // one line per stage event on stderr
  bool IsValid(std::string* error) const;
};

struct DataBuildSlurmSummary {
  data::BuildSummary build;
  int arrays_submitted = 0;  // one per stage, plus one per retry
  int retries = 0;           // task attempts after the first
  std::map<std::string, double> stage_wall_s;
  std::string BriefReport() const;
};

StatusOr<DataBuildSlurmSummary> RunDataBuildOnSlurm(const DataBuildSlurmOptions& options);

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_DATA_BUILD_SLURM_H_
