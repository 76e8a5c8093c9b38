// Megatron-LM's arguments for a plan (issue 12 item 2; docs/engines.md "Megatron-LM"). Flag names
// are Megatron's at NVIDIA/Megatron-LM @ d98e8a64: the dataclass fields that
// megatron/training/argument_utils.py ArgumentGroupFactory turns into "--field-name" (bool fields
// defaulting to False become store_true flags; add_bias_linear's metadata names
// --disable-bias-linear) in megatron/core/transformer/transformer_config.py,
// megatron/core/model_parallel_config.py and megatron/training/config/training_config.py, and the
// add_argument calls of megatron/training/arguments.py.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <utility>
#include <vector>

#include "isoflop/engines.h"

namespace isoflop::planner {

std::string MegatronArgs::Text() const {
  std::ostringstream out;
  for (const auto& [flag, value] : flags) out << flag << (value.empty() ? "" : " " + value) << "\n";
  return out.str();
}

const std::string* MegatronArgs::Find(const std::string& flag) const {
  for (const auto& [f, v] : flags)
    if (f == flag) return &v;
  return nullptr;
}

namespace {
std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}
}  // namespace

StatusOr<MegatronArgs> BuildMegatronArgs(const PlanSummary& plan, const LaunchOptions& o) {
  if (plan.layouts.ranked.empty()) return Status::InvalidArgument("the plan has no layout");
  const ModelShape& m = plan.shape;
  const ParallelConfig& c = plan.layouts.ranked.front().config;
  const LaunchSummary launch = PlanLaunch(plan, o);
  MegatronArgs a;
  a.world_size = c.gpus();
  auto add = [&](const std::string& flag, const std::string& value = "") {
    a.flags.emplace_back(flag, value);
  };
  auto addi = [&](const std::string& flag, long long value) { add(flag, std::to_string(value)); };

  // Model shape (TransformerConfig; arguments.py _add_network_size_args).
  addi("--num-layers", m.layers);
  addi("--hidden-size", m.d_model);
  addi("--ffn-hidden-size", m.effective_ffn());
  addi("--num-attention-heads", m.heads);
  if (m.effective_kv_heads() != m.heads) {
    add("--group-query-attention");
    addi("--num-query-groups", m.effective_kv_heads());
  }
  addi("--seq-length", m.seq_len);
  addi("--max-position-embeddings", m.seq_len);
  if (m.position_kind() == Position::kRope) {
    add("--position-embedding-type", "rope");
    addi("--rotary-base", std::llround(m.rope_theta));
  } else {
    add("--position-embedding-type", "learned_absolute");
  }
  if (m.mlp == Mlp::kSwiglu) add("--swiglu");
  add("--normalization", m.norm_kind() == Norm::kRmsNorm ? "RMSNorm" : "LayerNorm");
  if (!m.has_biases()) add("--disable-bias-linear");
  if (!m.tied()) add("--untie-embeddings-and-output-weights");
  add("--attention-dropout", "0.0");
  add("--hidden-dropout", "0.0");
  add("--init-method-std", "0.02");
  // Pre-tokenized data (`isoflop data export --format megatron`): the null tokenizer with the
  // plan's vocabulary (its eod id is vocab - 1 unless --null-tokenizer-eod-id says otherwise).
  add("--tokenizer-type", "NullTokenizer");
  addi("--vocab-size", m.vocab);

  // Parallelism (ModelParallelConfig; arguments.py _add_distributed_args).
  addi("--tensor-model-parallel-size", c.tp);
  addi("--pipeline-model-parallel-size", c.pp);
  const bool uneven = c.pp > 1 && (c.first_stage_layers > 0 || c.last_stage_layers > 0);
  if (uneven) {
    if (c.first_stage_layers > 0) addi("--decoder-first-pipeline-num-layers", c.first_stage_layers);
    if (c.last_stage_layers > 0) addi("--decoder-last-pipeline-num-layers", c.last_stage_layers);
    if (c.vpp > 1) addi("--num-virtual-stages-per-pipeline-rank", c.vpp);
  } else if (c.vpp > 1) {
    addi("--num-layers-per-virtual-pipeline-stage", m.layers / (c.pp * c.vpp));
  }
  addi("--context-parallel-size", c.cp);
  // Mixture of experts (arguments.py _add_moe_args @ d98e8a64): experts, top-k, expert width,
  // shared experts, which layers (every k-th, counting from 1: a pattern unless every layer), and
  // expert parallelism from the DP x CP ranks with the expert TP left at its default (= TP), as the
  // performance model assumes (docs/planner.md §4 "Mixture of experts").
  if (m.is_moe()) {
    addi("--num-experts", m.experts);
    addi("--moe-router-topk", m.experts_per_token);
    addi("--moe-ffn-hidden-size", m.effective_expert_ffn());
    if (m.shared_experts > 0)
      addi("--moe-shared-expert-intermediate-size",
           static_cast<long long>(m.shared_experts) * m.effective_expert_ffn());
    if (m.moe_layer_every > 1) {
      const int k = m.moe_layer_every;
      std::string pattern = "([0]*" + std::to_string(k - 1) + "+[1])*" + std::to_string(m.layers / k);
      if (m.layers % k != 0) pattern += "+[0]*" + std::to_string(m.layers % k);
      add("--moe-layer-freq", pattern);
    }
    addi("--expert-model-parallel-size", c.ep);
    add("--moe-grouped-gemm");
    add("--moe-token-dispatcher-type", "alltoall");
  }
  if (c.tp > 1) add("--sequence-parallel");  // the performance model's TP is Megatron's TP + SP
  addi("--micro-batch-size", c.micro_batch);
  // A batch ramp is Megatron's step schedule (megatron/core/num_microbatches_calculator.py
  // StepBatchsizeNumMicroBatchesCalculator @ d98e8a64; --rampup-batch-size is deprecated and ignored
  // there): "THRESHOLD:BATCH,..." with thresholds in tokens (--seq-length is set), converted to samples
  // by integer division, so each is written as a whole number of samples x seq_len. It excludes
  // --global-batch-size (arguments.py 698), and the training is sample-based: with --train-iters
  // Megatron's lr schedule counts iterations x --global-batch-size samples (training.py 2558-2569),
  // which would be micro x DP under a schedule.
  const bool ramp = !plan.batch.ramp_sequences.empty();
  const long long seq = m.seq_len;
  const long long train_samples = launch.train_samples;
  if (ramp) {
    if (!launch.schedule_error.empty()) return Status::InvalidArgument(launch.schedule_error);
    std::string text;
    for (const auto& [at, batch] : launch.batch_schedule)
      text += (text.empty() ? "" : ",") + std::to_string(at * seq) + ":" + std::to_string(batch);
    add("--step-batch-size-schedule", text);  // commas: megatron.args is word-split by $(cat ...)
  } else {
    addi("--global-batch-size", c.global_batch);
  }
  if (c.recompute == Recompute::kFull) {
    add("--recompute-granularity", "full");
    add("--recompute-method", "uniform");
    addi("--recompute-num-layers", 1);
  } else if (c.recompute == Recompute::kSelective) {
    add("--recompute-granularity", "selective");
  }
  if (c.zero == 1) add("--use-distributed-optimizer");
  if (c.dp * c.cp > 1) {
    add("--overlap-grad-reduce");
    if (c.zero == 1) add("--overlap-param-gather");
  }
  add("--bf16");

  // Optimiser and schedule: the plan's peak lr (DeepSeek LLM 2024 Eq. 1) and step count; cosine to
  // 10% with 1% warm-up (at most 2,000 steps) are assumptions stated in docs/engines.md.
  const long long iters = launch.train_iters;  // with a ramp: the schedule's iterations
  const double lr = plan.batch.peak_lr > 0 ? plan.batch.peak_lr : 3e-4;
  add("--lr", Num(lr));
  add("--min-lr", Num(lr * 0.1));
  add("--lr-decay-style", "cosine");
  if (ramp) {
    // The same warm-up as without a ramp: 1% of the run, at most 2,000 full-batch steps.
    addi("--lr-warmup-samples", std::max(1LL, std::min(2000LL * c.global_batch, train_samples / 100)));
    addi("--lr-decay-samples", train_samples);
    addi("--train-samples", train_samples);
  } else {
    addi("--lr-warmup-iters", std::max(1LL, std::min(2000LL, iters / 100)));
    addi("--lr-decay-iters", iters);
    addi("--train-iters", iters);
  }
  add("--weight-decay", "0.1");
  add("--adam-beta1", "0.9");
  add("--adam-beta2", "0.95");
  add("--clip-grad", "1.0");

  // Data, checkpoints, signals.
  add("--data-path", o.data_path.empty() ? o.dir + "/data/megatron_text_document" : o.data_path);
  add("--split", "99,1,0");
  const std::string ckpt = o.checkpoint_dir.empty() ? o.dir + "/checkpoints" : o.checkpoint_dir;
  add("--save", ckpt);
  add("--load", ckpt);  // the same directory: a requeued job resumes from the latest checkpoint
  addi("--save-interval", launch.save_interval_steps);
  add("--ckpt-format", "torch_dist");
  add("--exit-signal-handler");  // SIGTERM (the default --exit-signal): checkpoint and exit
  addi("--eval-interval", std::min(1000LL, iters));  // Megatron's usual 1,000, not tied to the save interval
  addi("--eval-iters", 10);
  addi("--log-interval", 10);
  return a;
}

}  // namespace isoflop::planner
