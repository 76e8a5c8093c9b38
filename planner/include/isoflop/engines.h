// The big run on the engines teams use (issue 12, items 1-2): each engine's layout rules as the
// planner's LayoutFilter, and the launch material for a plan — a Slurm script plus Megatron-LM's
// argument file or torchtitan's TOML — written only after the engine's own validation rules pass.
//
// Every flag, key and rule comes from the engine's source at a pinned commit (docs/engines.md):
// Megatron-LM NVIDIA/Megatron-LM @ d98e8a64 (megatron/training/arguments.py validate_args,
// megatron/core/transformer/transformer_config.py, megatron/core/num_microbatches_calculator.py),
// torchtitan pytorch/torchtitan @ 238fa995 (torchtitan/config/job_config.py, the last TOML-era
// commit before the config refactor 9810191b).
#ifndef ISOFLOP_ENGINES_H_
#define ISOFLOP_ENGINES_H_

#include <string>
#include <utility>
#include <vector>

#include "isoflop/planner.h"
#include "isoflop/status.h"

namespace isoflop::planner {

// kAny: no engine rules (the performance model's Megatron-class layout, as before issue 12).
enum class Engine { kAny, kIsoflop, kMegatron, kTorchtitan };
const char* EngineName(Engine e);                       // "any", "isoflop", "megatron", "torchtitan"
StatusOr<Engine> ParseEngine(const std::string& name);  // kInvalidArgument naming the choices

// Item 1: whether `engine` runs `config` of `model` on nodes of `gpus_per_node` GPUs. OK, or
// kInvalidArgument whose message is the first rule broken. The rules (docs/engines.md, "Layout
// rules"): every engine: whole nodes (or part of one node), DP x micro-batch divides the global
// batch (never rounded); isoflop: data parallel only (TP = PP = CP = 1, ZeRO-0, no recomputation);
// Megatron: heads and query groups by TP, layers by PP (x VPP per rank, explicit first/last stages
// leave a middle that divides evenly), VPP > 1 needs PP > 2, seq_len by 2 x CP, ZeRO 0 or 1
// (the distributed optimizer), sequence parallel = TP > 1; torchtitan: a SwiGLU/RMSNorm/RoPE
// block with untied output (its llama3 model), heads and kv heads by TP, every pipeline rank's
// layers by VPP, seq_len by 2 x CP, ZeRO-2/3 (FSDP2), or ZeRO-0 (DDP) only without TP/PP/CP.
Status CheckEngineLayout(Engine engine, const ModelShape& model, const ParallelConfig& config,
                         int gpus_per_node);

// The model family the plan sizes (PlanOptions::mlp, trainer_architecture) against the engine's
// model: torchtitan's llama3 is a SwiGLU block with an untied output layer; kInvalidArgument
// before any search when the engine cannot build the family at all.
Status CheckEngineModel(Engine engine, const PlanOptions& options);

// The same rules as the planner's engine hook (LayoutSearchOptions::accept); kAny accepts all.
LayoutFilter EngineLayoutFilter(Engine engine, int gpus_per_node);

// ---------------------------------------------------------------------------------------------
// Megatron-LM arguments: one flag per entry, value empty for a store_true flag.

struct MegatronArgs {
  std::vector<std::pair<std::string, std::string>> flags;  // {"--num-layers", "126"}
  int world_size = 0;                                      // ranks the launch starts
  std::string Text() const;                                // one flag (and its value) per line
  const std::string* Find(const std::string& flag) const;  // nullptr when absent
  bool Has(const std::string& flag) const { return Find(flag) != nullptr; }
};

// Megatron's own argument rules, ported from validate_args (megatron/training/arguments.py),
// TransformerConfig.__post_init__ and the micro-batch calculator at NVIDIA/Megatron-LM @ d98e8a64
// (docs/engines.md lists each rule with its line): OK, or kInvalidArgument naming the rule and the
// values. Applied to every argument set before it is written, and by the tests to every emitted set.
Status ValidateMegatronArgs(const MegatronArgs& args);

// ---------------------------------------------------------------------------------------------
// Launch material (`isoflop plan --launch megatron|torchtitan --launch-dir DIR`, and `--sbatch`
// for `isoflop train`).

struct LaunchOptions {
  Engine engine = Engine::kMegatron;  // kMegatron, kTorchtitan or kIsoflop
  std::string dir;                    // DIR: run.sbatch and the engine's configuration
  // Slurm: partition, account, qos (omitted when empty); the time limit is the predicted
  // wall-clock x (1 + time_margin) + time_fixed_s, capped by max_time_hours (0: no cap) — a run
  // longer than the cap continues by requeueing itself (below).
  std::string partition, account, qos, job_name = "isoflop-big-run";
  double time_margin = 0.2;
  double time_fixed_s = 1800;
  double max_time_hours = 0;
  // The warning before the time limit (#SBATCH --signal=B:USR1@signal_lead_s): the batch shell's
  // trap forwards it to the engine (which checkpoints: Megatron --exit-signal-handler, isoflop
  // train's SIGUSR1 handler; torchtitan has none and restarts from its last interval checkpoint)
  // and requeues the job, which resumes from the latest checkpoint.
  int signal_lead_s = 900;
  // false: no --gpus-per-node line (a GPU-free test cluster; the tests use it). Default true.
  bool gres = true;
  // Checkpoint interval from the predicted failure rate (Young 1974 / Daly 2006: sqrt(2 x write
  // time x MTBF)): failures per GPU-hour (default: Llama 3 405B, Dubey et al. 2024 Sec. 3.3.4,
  // 419 unexpected interruptions in 54 days on 16,384 H100 = 1.97e-5) and the checkpoint write
  // rate per node (GB/s; default 2, an assumption: set your file system's).
  double failures_per_gpu_hour = 419.0 / (54 * 24 * 16384.0);
  double checkpoint_write_gb_s_per_node = 2.0;
  // Engine inputs (the script's defaults; each can be overridden by the environment at submit).
  std::string data_path;       // Megatron --data-path prefix / torchtitan dataset_path / isoflop shards
  std::string tokenizer;       // Megatron --tokenizer-model / torchtitan hf_assets_path
  std::string checkpoint_dir;  // default DIR/checkpoints (isoflop: the run directory)
  std::string run_config;      // isoflop: the trainer's run config (default DIR/run.yaml)
  bool IsValid(std::string* error) const;
};

struct LaunchSummary {
  std::vector<std::string> files;  // written, in order
  std::string time_limit;          // Slurm D-HH:MM:SS
  bool time_capped = false;        // the cap cut the predicted run: it continues by requeue
  int nodes = 0, tasks_per_node = 0;
  int save_interval_steps = 0;
  double checkpoint_write_s = 0, job_mtbf_h = 0, checkpoint_interval_s = 0;
  long long train_iters = 0;    // with a batch ramp: the iterations of the schedule below
  long long train_samples = 0;  // ceil(tokens / seq_len)
  // With a batch ramp (--batch-ramp): (first sample, global batch) per stage, the first at 0, as
  // Megatron's --step-batch-size-schedule counts it; empty without a ramp, or with `schedule_error`
  // when a stage is shorter than one sequence.
  std::vector<std::pair<long long, long long>> batch_schedule;
  std::string schedule_error;
  std::string BriefReport() const;
};

// The checkpoint interval, the time limit and the node geometry of `plan` under `options`.
LaunchSummary PlanLaunch(const PlanSummary& plan, const LaunchOptions& options);

// Megatron-LM's arguments for the plan's chosen layout (model shape incl. GQA/SwiGLU/RoPE,
// TP/PP/VPP/CP, sequence parallel, batches, recomputation, distributed optimizer, lr schedule and
// train iters from the plan, data, save/load/interval, exit signal handler).
StatusOr<MegatronArgs> BuildMegatronArgs(const PlanSummary& plan, const LaunchOptions& options);
// torchtitan's TOML ([job], [model], [optimizer], [lr_scheduler], [training], [parallelism],
// [checkpoint], [activation_checkpoint], [experimental]) and the Python module that registers the
// planned shape as llama3 flavor "isoflop_plan" (torchtitan's [model] names a flavor, not a shape).
struct TorchtitanConfig {
  std::string toml;
  std::string flavor_module;  // isoflop_flavor.py
};
StatusOr<TorchtitanConfig> BuildTorchtitanConfig(const PlanSummary& plan, const LaunchOptions& options);
// run.sbatch for the engine: nodes, tasks, GPUs, time limit, --signal with the forwarding trap,
// --requeue with resume, partition/account/qos.
std::string BuildSbatch(const PlanSummary& plan, const LaunchOptions& options, const LaunchSummary& launch);

// Checks the chosen layout against the engine's rules, builds the material, validates it (Megatron:
// ValidateMegatronArgs) and writes DIR/run.sbatch and DIR/megatron.args, or DIR/torchtitan.toml and
// DIR/isoflop_flavor.py, or DIR/run.yaml (isoflop), each atomically. Nothing is written on error.
StatusOr<LaunchSummary> WriteLaunch(const PlanSummary& plan, const LaunchOptions& options);

}  // namespace isoflop::planner

#endif  // ISOFLOP_ENGINES_H_
