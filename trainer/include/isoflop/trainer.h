// The libtorch GPT trainer: one call, Train(), runs a sweep point from a flat run config
// and token shards to RUN_DIR/metrics.jsonl, summary.json and an atomic checkpoint.
//
// The library depends on libtorch, the data pipeline's TokenReader and (with
// ISOFLOP_WITH_CUDA) CUDA and NCCL only, so that it builds on a GPU machine that has
// nothing else (docs/trainer.md, "Standalone build"). No exception escapes it.
#ifndef ISOFLOP_TRAINER_H_
#define ISOFLOP_TRAINER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "isoflop/model_shape.h"
#include "isoflop/status.h"

namespace isoflop::trainer {

enum class LrScheduleKind { kCosine, kWsd };

// The model is the one shared shape type (isoflop/model_shape.h: the keys shared with the
// planner's model files and the orchestrator's sweeps, one parameter count). The trainer builds
// RMSNorm or LayerNorm, RoPE, no linear biases, tied or untied embeddings: TrainerDefaultShape()
// sets those details explicitly, and a config may change norm and tied_embeddings.
using isoflop::Mlp;
using isoflop::ModelShape;
using isoflop::Norm;
// layers 2, d_model 64, heads 4, seq_len 64, gelu MLP, RMSNorm, RoPE, no biases, tied embeddings;
// kv_heads 0 (= heads), ffn 0 (= 4 d_model), vocab 0 (= the shards' vocabulary).
ModelShape TrainerDefaultShape();
// The trainer's own limits on a shape, beyond ModelShape::IsValid: d_model / heads even (RoPE
// rotates pairs), seq_len >= 2, no learned positions or linear biases (it does not build them).
bool IsTrainableShape(const ModelShape& shape, std::string* error);

// Everything in a run config; keys and defaults are listed in docs/trainer.md.
struct RunConfig {
  ModelShape model = TrainerDefaultShape();
  int64_t tokens = 2'000'000;   // training-token budget; steps = ceil(tokens / batch_tokens)
  int64_t batch_tokens = 8192;  // global batch in tokens (all ranks, all micro-batches)
  int64_t micro_batch = 8;      // sequences per forward/backward per rank
  double lr = 3e-3;             // peak learning rate
  double min_lr_ratio = 0.1;    // final lr = lr * min_lr_ratio
  int64_t warmup_steps = 20;
  LrScheduleKind schedule = LrScheduleKind::kCosine;
  double decay_fraction = 0.2;  // WSD: share of steps spent decaying
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double adam_eps = 1e-8;
  double grad_clip = 1.0;               // global-norm clip; 0 disables
  int64_t log_every = 10;               // steps between metrics.jsonl lines (the last step is always logged)
  int64_t eval_every = 100;             // steps between eval-loss measurements (and at the end)
  int64_t eval_batches = 4;             // micro-batches of the "val" split per evaluation; 0 disables eval
  int64_t checkpoint_every = 100;       // steps between checkpoints; 0: only on signals and at the end
  uint64_t seed = 1234;                 // initialisation and data order
  double divergence_factor = 4.0;       // diverged when loss > factor * running minimum
  int64_t divergence_grace_steps = 10;  // steps before the factor test applies
  double peak_flops_per_s = 0.0;        // per device, for MFU; 0: the device's datasheet value

  int64_t steps(int world_size) const;
  int64_t accumulation_steps(int world_size) const;
  bool IsValid(std::string* error, int world_size = 1) const;
};

// Reads a flat `key: value` run config. Errors name the file, the line and the key.
StatusOr<RunConfig> ParseRunConfigText(const std::string& text, const std::string& source_name);
StatusOr<RunConfig> ReadRunConfig(const std::string& path);

struct ParamCounts {
  int64_t total = 0;          // every trainable parameter once (a tied matrix once)
  int64_t embedding = 0;      // token embedding, plus the output matrix when untied
  int64_t non_embedding = 0;  // total - embedding (Kaplan et al. 2020, sec. 2.1)
};
// ModelShape::Params(), as exact integers (the trainer checks them against the built module).
ParamCounts CountParams(const ModelShape& shape);

// Training FLOPs per token, forward + backward (PaLM, Chowdhery et al. 2022, appendix B):
// 6 N_non_embedding + 6 d_model vocab (output layer) + 12 layers heads head_dim seq_len.
struct FlopsPerToken {
  double dense = 0;         // 6 N_non_embedding
  double output_layer = 0;  // 6 d_model vocab
  double attention = 0;     // 12 L H Q T (the full score and value matmuls, as PaLM counts them)
  double total() const { return dense + output_layer + attention; }
};
FlopsPerToken TrainingFlopsPerToken(const ModelShape& shape);

// Learning rate at `step` (0-based) of `total_steps`: linear warmup, then cosine
// (Loshchilov & Hutter 2017, eq. 5) or WSD (Hu et al. 2024, MiniCPM, eq. 1) down to lr * min_lr_ratio.
double LearningRateAt(const RunConfig& config, int64_t step, int64_t total_steps);

struct TrainOptions {
  std::string config_path;       // flat key: value run config (required)
  std::string data_dir;          // token shards from `isoflop data build` (required)
  std::string out_dir;           // RUN_DIR (required; created)
  bool resume = false;           // continue from RUN_DIR/checkpoint.pt
  std::string device = "cpu";    // "cpu" or "cuda"
  int rank = -1;                 // -1: SLURM_PROCID, else 0
  int world_size = -1;           // -1: SLURM_NTASKS, else 1
  int local_rank = -1;           // CUDA device index; -1: SLURM_LOCALID, else rank
  std::string rendezvous;        // file used to meet other ranks; default RUN_DIR/rendezvous
  int threads = 0;               // CPU intra-op threads; 0: libtorch's default
  int64_t stop_after_steps = 0;  // >0: stop (checkpoint, "preempted") after this step; for tests/tools
  bool handle_signals = true;    // SIGTERM/SIGUSR1 => checkpoint and exit "preempted"
  bool progress = true;          // one progress line per logged step on stderr (rank 0)
  bool fused_output = true;      // CUDA builds: fused output layer + cross-entropy kernel

  bool IsValid(std::string* error) const;
};

enum class RunOutcome { kDone, kDiverged, kPreempted };

struct TrainSummary {
  RunOutcome outcome = RunOutcome::kDone;
  std::string message;  // why it stopped, when not done
  ParamCounts params;
  FlopsPerToken flops_per_token;
  int64_t steps = 0;  // completed
  int64_t total_steps = 0;
  int64_t tokens = 0;  // trained, all ranks
  double flops = 0;    // tokens * flops_per_token.total()
  double first_train_loss = 0;
  double final_train_loss = 0;
  double final_eval_loss = -1;  // -1: never evaluated
  double wall_time_s = 0;
  double tokens_per_s = 0;
  double mfu = 0;
  double energy_kwh = 0;  // GPU only (NVML); 0 on CPU
  std::string run_dir;

  std::string BriefReport() const;
  std::string FullReport() const;
};

// Trains, writes RUN_DIR, returns the summary. A diverged or preempted run is not an
// error (the summary says so); bad config or shards return kInvalidArgument.
StatusOr<TrainSummary> Train(const TrainOptions& options);

// The exit codes of docs/interfaces.md.
inline constexpr int kExitDone = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitDiverged = 3;
inline constexpr int kExitPreempted = 75;  // EX_TEMPFAIL
int ExitCodeFor(const StatusOr<TrainSummary>& result);

}  // namespace isoflop::trainer

#endif  // ISOFLOP_TRAINER_H_
