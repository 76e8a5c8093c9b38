// Memory per GPU on every pipeline rank, by term (docs/planner.md §3). Each term is its own
// function: training state (weights, gradients, optimizer) by ZeRO stage, activations by
// architecture, the ZeRO-3 gathered working set, the output layer's logits.
#include <algorithm>
#include <cmath>

#include "perf_internal.h"

namespace isoflop::planner::internal {

// ----- parameter counts ------------------------------------------------------------------------------

double LayerParams(const ModelShape& m) {
  const double final_norm = m.mlp == Mlp::kGelu ? 2.0 * m.d_model : m.d_model;
  return (m.ParamsNonEmbedding() - final_norm) / m.layers;
}

// The routed experts of the MoE layers, spread over all layers (the expert-parallel part: each of
// the ep ranks holds experts / ep of them).
double LayerExpertParams(const ModelShape& m) {
  if (!m.is_moe()) return 0;
  return static_cast<double>(m.moe_layers()) * m.experts * m.ExpertWeights() / m.layers;
}

double EmbeddingParams(const ModelShape& m) {
  // GELU (GPT/Megatron): token embedding + learned positions; SwiGLU (LLaMA): token embedding.
  const double h = m.d_model;
  return static_cast<double>(m.vocab) * h + (m.mlp == Mlp::kGelu ? static_cast<double>(m.seq_len) * h : 0.0);
}

namespace {
// The output layer's weights on the last pipeline rank: untied (LLaMA) always; tied (GPT)
// shares the embedding when one rank holds both, and Megatron keeps a copy on the last rank
// (synchronised by an all-reduce) when pp > 1 (megatron/core/models/common/language_module).
double OutputParams(const ModelShape& m, int p) {
  const double vh = static_cast<double>(m.vocab) * m.d_model;
  if (m.mlp == Mlp::kSwiglu) return vh + m.d_model;  // + final RMSNorm
  return (p > 1 ? vh : 0.0) + 2.0 * m.d_model;       // + final LayerNorm
}
}  // namespace

double OutputLayerParams(const ModelShape& m) {
  return OutputParams(m, 2);
}

// ----- activations -----------------------------------------------------------------------------------

// Stored activations of one transformer layer for one micro-batch (Korthikanti et al. 2022,
// Sec. 4.1 bookkeeping, bf16, with sequence parallelism dividing everything by t — Eq. 5 — and
// context parallelism dividing the sequence by c):
//  - GELU block (GPT/Megatron, LayerNorm, dropout): attention 7h + 4 kv_width (QKV input 2h, Q 2h,
//    K and V 2 x 2 kv_width, projection input 2h, dropout mask h; = 11h for multi-head), two
//    LayerNorm inputs 4h, MLP 3h + 4f (fc1 input 2h, fc1 output 2f, GELU output 2f, dropout mask
//    h); with f = 4h and multi-head attention this is Korthikanti's 34 s b h; scores 5 a s^2 b
//    (QK^T 2, softmax 2, dropout mask 1 byte per score) without FlashAttention.
//  - SwiGLU block (LLaMA: RMSNorm, no dropout; Touvron et al. 2023): attention 8h + 4 kv_width
//    (norm input 2h, QKV input 2h, Q 2h, K and V 2 x 2 kv_width with grouped-query attention,
//    Ainslie et al. 2023; attention output 2h), MLP 4h + 6f (norm input 2h, MLP input 2h; gate,
//    up and their product 3 x 2f, Shazeer 2020); scores 4 a s^2 b (no dropout mask).
//  - FlashAttention (Dao et al. 2022, Alg. 2) stores no scores, only the fp32 log-sum-exp per head
//    and token (4 a bytes), and recomputes the scores in the backward pass.
//  - Mixture of experts (MoE layers, averaged over all layers): the MLP's terms are replaced by
//    the norm and router inputs (4h), per routed copy of a token (top-k, times the load imbalance)
//    the permuted input 2h, the expert's inner activations (6 f_e SwiGLU, 4 f_e GELU) and its
//    output 2h before the combine (Megatron-Core's grouped MLP), and the shared experts' inner
//    activations.
double LayerActivationBytes(const ModelShape& m, int b, int t, int c, bool flash, double moe_imbalance) {
  const double s = m.seq_len, h = m.d_model, f = m.effective_ffn(), a = m.heads;
  const double kv_width = static_cast<double>(m.effective_kv_heads()) * m.head_dim();
  double per_token = 0, scores = 0;
  const double inner = m.mlp == Mlp::kSwiglu ? 6.0 : 4.0;
  double mlp = 0;
  if (m.mlp == Mlp::kSwiglu) {
    mlp = 4 * h + 6 * f;
    per_token = (8 * h + 4 * kv_width);
    scores = 4.0 * a * s;
  } else {
    mlp = 3 * h + 4 * f;
    per_token = (7 * h + 4 * kv_width) + 4 * h;
    scores = 5.0 * a * s;
  }
  if (m.is_moe()) {
    const double fe = m.effective_expert_ffn();
    const double moe_mlp = 4 * h + m.experts_per_token * moe_imbalance * (4 * h + inner * fe) +
                           m.shared_experts * inner * fe;
    const double share = static_cast<double>(m.moe_layers()) / m.layers;
    mlp = (1 - share) * mlp + share * moe_mlp;
  }
  per_token += mlp;
  const double extra = flash ? 4.0 * a : scores;
  return s * b * (per_token + extra) / (static_cast<double>(t) * c);
}

// Full recomputation keeps only each layer's input, 2 s b h bytes (Korthikanti Sec. 4.3).
double LayerInputBytes(const ModelShape& m, int b, int t, int c) {
  return 2.0 * m.seq_len * b * m.d_model / (static_cast<double>(t) * c);
}

// Logits in bf16 plus the fp32 copy the cross-entropy works on, vocabulary-parallel over t.
double LogitsBytes(const ModelShape& m, int b, int t, int c) {
  return static_cast<double>(m.seq_len) * b * m.vocab * (2.0 + 4.0) / (static_cast<double>(t) * c);
}

namespace {

struct TrainingState {
  double weights = 0, gradients = 0, optimizer = 0;
};

// ZeRO (Rajbhandari et al. 2020, Sec. 5, Fig. 1): stage 1 shards the optimizer states (fp32
// master copy and Adam moments), stage 2 also the gradients, stage 3 also the weights, over the
// data-parallel group (Megatron's distributed optimiser shards over DP x CP).
TrainingState StateBytes(double params_gpu, int zero, double shard, const PerfOptions& o) {
  TrainingState s;
  s.weights = o.weight_bytes * params_gpu / (zero >= 3 ? shard : 1.0);
  s.gradients = o.grad_bytes * params_gpu / (zero >= 2 ? shard : 1.0);
  s.optimizer = (o.master_weight_bytes + o.optimizer_state_bytes) * params_gpu / (zero >= 1 ? shard : 1.0);
  return s;
}

// ZeRO-3's working set: the full (unsharded over DP) weights of the unit being computed and of
// the one prefetched, and that unit's gradients before their reduce-scatter (FSDP: Zhao et al.
// 2023, "PyTorch FSDP", Sec. 3.2; one transformer layer per unit). ZeRO-2 holds one unit's
// gradients in full before its reduce-scatter.
double GatheredBytes(double unit_params_gpu, int zero, const PerfOptions& o) {
  if (zero >= 3) return (2 * o.weight_bytes + o.grad_bytes) * unit_params_gpu;
  if (zero == 2) return o.grad_bytes * unit_params_gpu;
  return 0;
}

}  // namespace

void RankMemory(const ReplicaModel& r, const ParallelConfig& cfg, const PerfOptions& o, const Hardware& hw,
                PerfSummary* out) {
  const int p = r.p, v = r.v;
  const double shard = static_cast<double>(cfg.dp) * cfg.cp;
  const double micro_batches = static_cast<double>(cfg.global_batch) / (static_cast<double>(cfg.dp) * cfg.micro_batch);
  // Micro-batches whose activations rank i holds at its peak: 1F1B keeps p - i in flight
  // (Narayanan et al. 2021 Sec. 2.2); interleaving multiplies by 1 + (p-1)/(p v) (Korthikanti
  // Sec. 4.2.3; Megatron's theoretical_memory_usage.py); without a pipeline one micro-batch at a
  // time (gradient accumulation).
  const double interleave = v > 1 ? 1.0 + (p - 1.0) / (static_cast<double>(p) * v) : 1.0;
  auto in_flight = [&](int rank) { return p == 1 ? 1.0 : std::min(micro_batches, double(p - rank)) * interleave; };

  auto rank_memory = [&](int layers, int rank, bool first, bool last) {
    MemoryBreakdown mem;
    double params = layers * r.layer_params_gpu;
    if (first) params += r.embedding_params_gpu;
    if (last) params += r.output_params_gpu;
    const TrainingState st = StateBytes(params, cfg.zero, shard, o);
    // Routed experts: ZeRO shards them over the expert-data-parallel group, dp c / ep ranks
    // (Megatron-Core's distributed optimiser keeps a separate expert DP group).
    const TrainingState ex = StateBytes(layers * r.layer_expert_params_gpu, cfg.zero, shard / r.e, o);
    mem.weights = st.weights + ex.weights;
    mem.gradients = st.gradients + ex.gradients;
    mem.optimizer = st.optimizer + ex.optimizer;
    double unit = r.layer_params_gpu + r.layer_expert_params_gpu;
    if (first) unit = std::max(unit, r.embedding_params_gpu);
    if (last) unit = std::max(unit, r.output_params_gpu);
    mem.gathered = shard > 1 ? GatheredBytes(unit, cfg.zero, o) : 0.0;
    mem.activations = r.act_per_layer * layers * in_flight(rank) + (layers > 0 ? r.act_working_set : 0.0);
    if (last) mem.logits = r.logits_bytes;
    mem.reserved = hw.reserved_bytes;
    return mem;
  };

  const StageLayers& sp = r.split;
  out->memory_first = rank_memory(sp.first, 0, true, p == 1);
  out->memory_last = p == 1 ? out->memory_first : rank_memory(sp.last, p - 1, false, true);
  out->memory = out->memory_first;
  out->memory_rank = "first";
  auto consider = [&](const MemoryBreakdown& mem, const char* name) {
    if (mem.total() > out->memory.total()) {
      out->memory = mem;
      out->memory_rank = name;
    }
  };
  if (p > 2) {
    consider(rank_memory(sp.second, 1, false, false), "second");
    if (sp.middle_max > sp.second) consider(rank_memory(sp.middle_max, std::min(2, p - 2), false, false), "middle");
  }
  if (p > 1) consider(out->memory_last, "last");
  out->memory_capacity_bytes = hw.usable_bytes;
}

double StateMemoryLowerBound(const ModelShape& m, int t, int c, int p, int d, const StageLayers& split,
                             const PerfOptions& o, bool allow_zero3, int e) {
  // Routed experts over t e GPUs, their state sharded over d c / e: per GPU the same optimizer
  // share as the rest, 1/e of the weights.
  const double expert = LayerExpertParams(m);
  const double layer = (LayerParams(m) - expert + expert / e) / t;
  const double first = split.first * layer + EmbeddingParams(m) / t + (p == 1 ? OutputParams(m, 1) / t : 0.0);
  const double last = split.last * layer + OutputParams(m, p) / t;
  const double middle = std::max(split.middle_max, split.second) * layer;
  const double params = std::max({first, last, middle});
  const double shard = static_cast<double>(d) * c;
  const double per_param = allow_zero3
                               ? (o.weight_bytes + o.grad_bytes + o.master_weight_bytes + o.optimizer_state_bytes) / shard
                               : o.weight_bytes + (o.grad_bytes + o.master_weight_bytes + o.optimizer_state_bytes) / shard;
  return params * per_param;
}

// Per-replica memory quantities (called from BuildReplica).
void FillReplicaMemory(const ModelShape& m, const PerfOptions& o, ReplicaModel* r) {
  const int t = r->t, c = r->c, b = r->b;
  r->layer_expert_params_gpu = LayerExpertParams(m) / (static_cast<double>(t) * r->e);
  r->layer_params_gpu = (LayerParams(m) - LayerExpertParams(m)) / t;
  r->embedding_params_gpu = EmbeddingParams(m) / t;
  r->output_params_gpu = OutputParams(m, r->p) / t;
  if (r->p == 1) {
    // One rank holds both ends: the embedding and (untied) output layer count once each.
    r->output_params_gpu = OutputParams(m, 1) / t;
  }
  const double full = LayerActivationBytes(m, b, t, c, o.flash_attention, o.moe_imbalance);
  switch (r->recompute) {
    case Recompute::kNone:
      r->act_per_layer = full;
      r->act_working_set = 0;
      break;
    case Recompute::kSelective:
      // Selective recomputation drops the score terms (Korthikanti Eq. 6); with FlashAttention
      // they are not stored anyway.
      r->act_per_layer = LayerActivationBytes(m, b, t, c, true, o.moe_imbalance);
      r->act_working_set = 0;
      break;
    case Recompute::kFull:
      r->act_per_layer = LayerInputBytes(m, b, t, c);
      r->act_working_set = full;  // one layer's activations while it is recomputed
      break;
  }
  r->logits_bytes = LogitsBytes(m, b, t, c);
}

}  // namespace isoflop::planner::internal
