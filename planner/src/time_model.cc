// Time per optimiser step, by term (docs/planner.md §4). BuildReplica computes what one
// micro-batch costs on each pipeline rank of one model replica; StepTime assembles the pipeline
// schedule, data-parallel communication and the optimizer step for a given DP, ZeRO stage and
// number of micro-batches.
#include <algorithm>
#include <cmath>

#include "perf_internal.h"

namespace isoflop::planner::internal {

double ReplicaModel::RankSeconds(int layers, bool first, bool last) const {
  double s = layers * (layer_gemm_s + layer_attention_s + layer_elementwise_s + layer_tp_s + layer_cp_s + layer_ep_s);
  if (first) s += embedding_s;
  if (last) s += output_gemm_s + output_elementwise_s;
  return s;
}

namespace {

// Forward, data-gradient and weight-gradient GEMMs of one linear layer y[M x N] = x[M x K] W[K x N].
struct LinearTimes {
  double fwd = 0, bwd = 0;
};
LinearTimes Linear(double m, double n, double k, const Hardware& hw, double batch = 1) {
  LinearTimes t;
  t.fwd = GemmSeconds(m, n, k, hw, batch);
  t.bwd = GemmSeconds(m, k, n, hw, batch) + GemmSeconds(k, n, m, hw, batch);
  return t;
}

}  // namespace

void BuildReplica(const ModelShape& m, const Hardware& hw, const PerfOptions& o, int t, int c, int p, int v, int b,
                  Recompute rc, const StageLayers& split, ReplicaModel* out, int e) {
  ReplicaModel& r = *out;
  r = ReplicaModel{};
  r.model = m;
  r.t = t;
  r.c = c;
  r.p = p;
  r.v = v;
  r.b = b;
  r.e = e;
  r.recompute = rc;
  r.split = split;
  const double s = m.seq_len, h = m.d_model, f = m.effective_ffn(), heads = m.heads, hd = m.head_dim();
  const double q_width = heads * hd, kv_width = static_cast<double>(m.effective_kv_heads()) * hd;
  const double tokens = s * b / c;  // tokens of one micro-batch on one context-parallel rank
  const double gate = m.mlp == Mlp::kSwiglu ? 2.0 : 1.0;
  const bool full = rc == Recompute::kFull;

  // ---- GEMMs of one layer (docs §4 "GEMMs"): QKV, attention output projection, MLP in and out,
  // each column- or row-parallel over t (Shoeybi et al. 2019).
  const LinearTimes qkv = Linear(tokens, (q_width + 2 * kv_width) / t, h, hw);
  const LinearTimes proj = Linear(tokens, h, q_width / t, hw);
  const LinearTimes fc1 = Linear(tokens, gate * f / t, h, hw);
  const LinearTimes fc2 = Linear(tokens, h, f / t, hw);
  double gemm_fwd = qkv.fwd + proj.fwd + fc1.fwd + fc2.fwd;
  double gemm_bwd = qkv.bwd + proj.bwd + fc1.bwd + fc2.bwd;
  double layer_gemm_flops = 6.0 * tokens * ((q_width + 2 * kv_width) * h + h * q_width + gate * f * h + f * h) / t;
  // ---- mixture of experts (docs §4 "Mixture of experts"): an MoE layer's MLP is the router
  // (d_model x experts, on the sequence-parallel shard), the shared experts (a dense MLP of
  // shared x expert_ffn) and the routed experts as grouped GEMMs: the ep ranks of an expert-
  // parallel group hold experts/ep experts each, tensor-parallel over t, and receive the top-k
  // copies of the group's tokens: ep tokens k / experts rows per expert on average, times the
  // load imbalance on the busiest rank. The per-layer terms are the mean over dense and MoE layers.
  if (m.is_moe()) {
    const double fe = m.effective_expert_ffn(), k = m.experts_per_token, experts = m.experts;
    const double local = experts / e;
    const double rows = e * tokens * k * o.moe_imbalance / experts;  // per local expert
    const LinearTimes up = Linear(rows, gate * fe / t, h, hw, local);
    const LinearTimes down = Linear(rows, h, fe / t, hw, local);
    const LinearTimes router = Linear(tokens / t, experts, h, hw);
    LinearTimes shared_up, shared_down;
    if (m.shared_experts > 0) {
      shared_up = Linear(tokens, gate * m.shared_experts * fe / t, h, hw);
      shared_down = Linear(tokens, h, m.shared_experts * fe / t, hw);
    }
    const double moe_fwd = qkv.fwd + proj.fwd + up.fwd + down.fwd + router.fwd + shared_up.fwd + shared_down.fwd;
    const double moe_bwd = qkv.bwd + proj.bwd + up.bwd + down.bwd + router.bwd + shared_up.bwd + shared_down.bwd;
    const double share = static_cast<double>(m.moe_layers()) / m.layers;
    gemm_fwd = (1 - share) * gemm_fwd + share * moe_fwd;
    gemm_bwd = (1 - share) * gemm_bwd + share * moe_bwd;
    const double moe_flops =
        6.0 * tokens *
        ((q_width + 2 * kv_width) * h + h * q_width +
         (k * o.moe_imbalance + m.shared_experts) * (gate + 1) * fe * h) / t + 6.0 * tokens / t * experts * h;
    layer_gemm_flops = (1 - share) * layer_gemm_flops + share * moe_flops;
  }
  r.layer_gemm_s = gemm_fwd + gemm_bwd + (full ? gemm_fwd : 0.0);
  // Achieved fraction of MAMF over the layer's GEMMs (what the shape losses leave), for reports.
  r.gemm_efficiency = layer_gemm_flops / (hw.matmul_flops / o.matmul_efficiency) / (gemm_fwd + gemm_bwd);

  // ---- attention core. FlashAttention (Dao et al. 2022) executes the causal half of QK^T and
  // scores x V (4 s^2 b q_width / 2 per layer forward) and recomputes QK^T in its backward pass
  // (backward = 2.5 x forward: five matmuls against two); it runs at the fused-attention rate.
  // Without it, QK^T and scores x V are batched GEMMs over b x heads / t on the full s x s scores,
  // and selective recomputation repeats their forward (Korthikanti Sec. 5).
  double attn_fwd = 0, attn_bwd = 0;
  if (o.flash_attention) {
    const double fwd_flops = 4.0 * tokens * s * q_width / t * 0.5;
    attn_fwd = fwd_flops / hw.attention_flops;
    attn_bwd = 2.5 * attn_fwd;
    r.layer_attention_s = attn_fwd + attn_bwd + (full ? attn_fwd : 0.0);
  } else {
    const double batch = b * heads / t;
    const double q = s / c;
    const double qk = GemmSeconds(q, s, hd, hw, batch), av = GemmSeconds(q, hd, s, hw, batch);
    attn_fwd = qk + av;
    attn_bwd = GemmSeconds(q, hd, s, hw, batch) + GemmSeconds(s, hd, q, hw, batch) +  // dQ, dK
               GemmSeconds(q, s, hd, hw, batch) + GemmSeconds(s, hd, q, hw, batch);   // dP, dV
    r.layer_attention_s = attn_fwd + attn_bwd + (rc != Recompute::kNone ? attn_fwd : 0.0);
  }
  r.layer_fwd_compute_s = gemm_fwd + attn_fwd;
  r.layer_bwd_compute_s = gemm_bwd + attn_bwd;

  // ---- element-wise ops (norms, activation function, dropout, residual adds, RoPE): HBM-bound;
  // traffic = elementwise_traffic_factor x the activation bytes they produce (written forward,
  // read backward, gradient written), repeated by full recompute. Without FlashAttention the
  // s x s scores go through softmax (and dropout for the GELU block) in HBM: per score, forward
  // softmax reads and writes 2 bytes each, dropout reads 2, writes 2 and a 1-byte mask; backward
  // dropout reads 2 + 1 and writes 2, softmax reads 2 + 2 and writes 2: 20 bytes per score with
  // dropout, 10 without (Megatron's fused scale-mask-softmax kernel); selective and full
  // recomputation repeat the forward part.
  const double act_no_scores = LayerActivationBytes(m, b, t, c, true, o.moe_imbalance);
  double elementwise_bytes = o.elementwise_traffic_factor * act_no_scores * (full ? 4.0 / 3.0 : 1.0);
  if (!o.flash_attention) {
    const double scores = static_cast<double>(b) * heads / t * (s / c) * s;
    const bool dropout = m.mlp == Mlp::kGelu;
    const double fwd = dropout ? 9.0 : 4.0, bwd = dropout ? 11.0 : 6.0;
    elementwise_bytes += scores * (fwd + bwd + (rc != Recompute::kNone ? fwd : 0.0));
  }
  r.layer_elementwise_s = elementwise_bytes / hw.hbm_bytes_per_s;

  // ---- tensor parallelism (Shoeybi et al. 2019; Korthikanti 2022 Sec. 4.2.2): with sequence
  // parallelism each layer all-gathers its two block inputs and reduce-scatters its two block
  // outputs forward, and the reverse backward — 4 all-reduce volumes of the s b h / c bf16 tensor
  // per layer (6 with full recompute); as 8 (12) all-gathers/reduce-scatters each pays NCCL's
  // latency. Megatron-Core --tp-comm-overlap (Transformer Engine userbuffers: the collective is
  // split and pipelined with the GEMM that consumes or produces it; Wang et al. 2023, ASPLOS,
  // "Overlap communication with dependent computation via decomposition") hides a fraction
  // tp_overlap_efficiency of it, at most the layer's GEMM time.
  if (t > 1) {
    const double bytes = 2.0 * tokens * h;
    const double collectives = full ? 12.0 : 8.0;
    const Group tp_group{t, 1};
    const double comm = collectives * AllGatherSeconds(bytes, tp_group, hw);
    r.layer_latency_s += collectives * CollectiveLatencySeconds(tp_group, false, hw);
    double hidden = 0;
    if (o.tp_comm_overlap) hidden = std::min(o.tp_overlap_efficiency * comm, r.layer_gemm_s);
    r.layer_tp_s = comm - hidden;
  }

  // ---- context parallelism (ring attention, Liu et al. 2023; Megatron-Core's CP): each rank
  // passes its K and V blocks around the ring ((c-1) steps) forward and K, V, dK, dV backward; the
  // exchange overlaps the attention blocks, only the excess is exposed.
  if (c > 1) {
    const double kv_bytes = 2.0 * tokens * kv_width / t * 2.0;  // K and V, bf16
    const double comm = 3.0 * (c - 1) * SendRecvSeconds(kv_bytes, Group{c, t}, hw);
    r.layer_cp_s = std::max(0.0, comm - r.layer_attention_s);
  }

  // ---- expert parallelism (Lepikhin et al. 2020, GShard; Megatron-Core's all-to-all token
  // dispatcher): per MoE layer each GPU sends the top-k copies of its sequence-parallel shard of
  // tokens (tokens / t x k x d_model bf16, times the load imbalance) to the experts' ranks and
  // receives them back (dispatch, combine) forward, and the same two backward: 4 all-to-alls
  // over the ep group (members t apart), 6 with full recompute. With t > 1 the expert tensor
  // parallelism all-gathers the dispatched tokens before the experts and reduce-scatters after
  // them (k copies where the dense MLP's sequence-parallel collectives move one), the excess over
  // the dense block's own TP collectives is added. Not overlapped (Megatron-Core before v0.14).
  if (m.is_moe()) {
    const double k = m.experts_per_token * o.moe_imbalance;
    const double a2a_bytes = 2.0 * tokens / t * k * h;
    const double a2a = (full ? 6.0 : 4.0) * AllToAllSeconds(a2a_bytes, Group{e, t}, hw);
    double etp = 0;
    if (t > 1 && k > 1)
      etp = (full ? 6.0 : 4.0) * (AllGatherSeconds(2.0 * tokens * k * h, Group{t, 1}, hw) -
                                  AllGatherSeconds(2.0 * tokens * h, Group{t, 1}, hw));
    r.layer_ep_s = static_cast<double>(m.moe_layers()) / m.layers * (a2a + etp);
  }

  // ---- the output layer and loss (last rank), the embedding (first rank).
  const LinearTimes out_layer = Linear(tokens, static_cast<double>(m.vocab) / t, h, hw);
  r.output_gemm_s = out_layer.fwd + out_layer.bwd;
  r.output_fwd_s = out_layer.fwd;
  r.output_bwd_s = out_layer.bwd;
  r.output_elementwise_s = o.elementwise_traffic_factor * LogitsBytes(m, b, t, c) / hw.hbm_bytes_per_s;
  r.embedding_s = 4.0 * tokens * h / t / hw.hbm_bytes_per_s;  // gather forward, scatter-add backward

  // ---- pipeline point-to-point: the sequence-parallel shard of one activation (Narayanan Sec. 4.1).
  r.pp_bytes = 2.0 * tokens * h / t;

  // ---- FLOPs per token. Model FLOPs: Korthikanti et al. 2022 Eq. 7 (ModelFlopsPerToken). Hardware
  // FLOPs add the recomputation: full recompute repeats every layer's forward (Narayanan et al.
  // 2021 Eq. 3); selective repeats QK^T and scores x V without FlashAttention (Korthikanti Eq. 8).
  const double layer_forward_flops = 2 * m.ActiveMatmulWeights() / m.layers + 4 * s * q_width;
  double recompute_per_token = 0;
  if (full) recompute_per_token = m.layers * layer_forward_flops;
  if (rc == Recompute::kSelective && !o.flash_attention) recompute_per_token = m.layers * 4 * s * q_width;
  r.model_flops_per_token = m.ModelFlopsPerToken();
  r.hardware_flops_per_token = r.model_flops_per_token + recompute_per_token;

  FillReplicaMemory(m, o, &r);
}

void StepTime(const ReplicaModel& r, const ParallelConfig& cfg, const PerfOptions& o, const Hardware& hw,
              PerfSummary* out) {
  const int p = r.p, v = r.v, t = r.t, c = r.c, d = cfg.dp;
  const double micro = static_cast<double>(cfg.global_batch) / (static_cast<double>(d) * cfg.micro_batch);
  const StageLayers& sp = r.split;

  // ---- the pipeline schedule: every rank runs `micro` micro-batches; the slowest rank sets the
  // pace, the others' work on one micro-batch is the fill and drain, divided by v with
  // interleaving (Narayanan et al. 2021 Sec. 2.2: bubble (p-1)/v micro-batch times for equal ranks).
  struct Rank {
    int layers;
    bool first, last;
    double seconds;
  };
  std::vector<Rank> ranks;
  if (p == 1) {
    ranks.push_back({sp.first, true, true, r.RankSeconds(sp.first, true, true)});
  } else {
    ranks.push_back({sp.first, true, false, r.RankSeconds(sp.first, true, false)});
    if (p > 2) ranks.push_back({sp.middle_max, false, false, r.RankSeconds(sp.middle_max, false, false)});
    ranks.push_back({sp.last, false, true, r.RankSeconds(sp.last, false, true)});
  }
  const Rank* slowest = &ranks.front();
  for (const Rank& k : ranks)
    if (k.seconds > slowest->seconds) slowest = &k;
  double sum = 0;
  if (p == 1) {
    sum = slowest->seconds;
  } else {
    const double per_layer = r.RankSeconds(1, false, false);
    sum = ranks.front().seconds + ranks.back().seconds + sp.middle_total * per_layer;
  }
  const double pipeline = micro * slowest->seconds + (sum - slowest->seconds) / v;
  const int L = slowest->layers;
  out->compute_s = micro * (L * r.layer_gemm_s + (slowest->last ? r.output_gemm_s : 0.0));
  out->attention_s = micro * L * r.layer_attention_s;
  out->elementwise_s = micro * (L * r.layer_elementwise_s + (slowest->last ? r.output_elementwise_s : 0.0) +
                                (slowest->first ? r.embedding_s : 0.0));
  out->tp_comm_s = micro * L * r.layer_tp_s;
  out->cp_comm_s = micro * L * r.layer_cp_s;
  out->ep_comm_s = micro * L * r.layer_ep_s;
  out->bubble_s = (sum - slowest->seconds) / v;
  out->latency_s = micro * L * r.layer_latency_s;

  // ---- pipeline point-to-point: one activation forward and one gradient backward per
  // micro-batch and virtual stage; the PP group's members are t c d ranks apart.
  out->pp_comm_s = p > 1 ? 2.0 * micro * v * SendRecvSeconds(r.pp_bytes, Group{p, t * c * d}, hw) : 0.0;

  // ---- data parallelism / ZeRO on the rank with the most parameters. The distributed optimiser
  // shards over DP x CP (Megatron-Core), a group of d c ranks t apart. Gradients travel in
  // grad_bytes, weights in weight_bytes:
  //   ZeRO-0: all-reduce of the gradients once per step;
  //   ZeRO-1: reduce-scatter of the gradients + all-gather of the updated weights (same volume);
  //   ZeRO-2: the reduce-scatter after every micro-batch (the gradients are not kept in full);
  //   ZeRO-3: every micro-batch all-gathers the weights for its forward and again for its
  //           backward and reduce-scatters the gradients (Rajbhandari et al. 2020 Sec. 7).
  // With overlap (Megatron-Core --overlap-grad-reduce/--overlap-param-gather, FSDP prefetch) a
  // collective hides behind the compute it can overlap — the backward (resp. forward) of one
  // micro-batch on this rank — at most a fraction dp_overlap_efficiency of it.
  const int shard = d * c;
  double params_rank = 0, expert_rank = 0;
  double fwd_window = 0, bwd_window = 0;
  for (const Rank& k : ranks) {
    double params = k.layers * r.layer_params_gpu + (k.first ? r.embedding_params_gpu : 0.0) +
                    (k.last ? r.output_params_gpu : 0.0);
    if (params > params_rank) {
      params_rank = params;
      expert_rank = k.layers * r.layer_expert_params_gpu;
      fwd_window = k.layers * r.layer_fwd_compute_s + (k.last ? r.output_fwd_s : 0.0);
      bwd_window = k.layers * r.layer_bwd_compute_s + (k.last ? r.output_bwd_s : 0.0);
    }
  }
  // The routed experts' gradients and weights travel over the expert-data-parallel group (dp c / e
  // ranks, t e apart), at the same time as the rest's over dp c: the larger of the two is charged.
  auto dp_time = [&](const Group& group, double params) {
    if (group.ranks <= 1 || params <= 0) return 0.0;
    auto exposed = [&](double comm, double window) {
      if (!o.dp_comm_overlap) return comm;
      return comm - std::min(o.dp_overlap_efficiency * comm, window);
    };
    const double grads = o.grad_bytes * params, weights = o.weight_bytes * params;
    switch (cfg.zero) {
      case 0:
        return exposed(AllReduceSeconds(grads, group, hw), bwd_window);
      case 1:
        return exposed(AllGatherSeconds(grads, group, hw), bwd_window) +
               exposed(AllGatherSeconds(weights, group, hw), fwd_window);
      case 2:
        return micro * exposed(AllGatherSeconds(grads, group, hw), bwd_window) +
               exposed(AllGatherSeconds(weights, group, hw), fwd_window);
      default:
        return micro * (exposed(AllGatherSeconds(weights, group, hw), fwd_window) +
                        exposed(AllGatherSeconds(weights, group, hw) + AllGatherSeconds(grads, group, hw), bwd_window));
    }
  };
  const int expert_shard = std::max(1, shard / r.e);
  double dp_exposed = std::max(dp_time(Group{shard, t}, params_rank),
                               dp_time(Group{expert_shard, t * r.e}, expert_rank));
  if (shard > 1) out->latency_s += CollectiveLatencySeconds(Group{shard, t}, cfg.zero == 0, hw);
  out->dp_comm_exposed_s = dp_exposed;

  // ---- optimizer step (Adam, memory-bound): read the gradient, the master copy and both moments,
  // write the master copy, the moments and the bf16 weights, per local parameter.
  const double local =
      params_rank / (cfg.zero >= 1 ? shard : 1) + expert_rank / (cfg.zero >= 1 ? expert_shard : 1);
  const double bytes_per_param = o.grad_bytes + 2 * (o.master_weight_bytes + o.optimizer_state_bytes) + o.weight_bytes;
  out->optimizer_s = bytes_per_param * local / hw.hbm_bytes_per_s;

  out->step_time_s = pipeline + out->pp_comm_s + out->dp_comm_exposed_s + out->optimizer_s;
  const double tokens_per_step = static_cast<double>(cfg.global_batch) * r.model.seq_len;
  const double gpus = cfg.gpus();
  out->model_flops_per_step = r.model_flops_per_token * tokens_per_step;
  out->hardware_flops_per_step = r.hardware_flops_per_token * tokens_per_step;
  out->tokens_per_s = tokens_per_step / out->step_time_s;
  out->model_tflops_per_gpu = out->model_flops_per_step / out->step_time_s / gpus / 1e12;
  out->hardware_tflops_per_gpu = out->hardware_flops_per_step / out->step_time_s / gpus / 1e12;
  out->mfu = out->model_tflops_per_gpu * 1e12 / hw.peak_flops;
  out->hfu = out->hardware_tflops_per_gpu * 1e12 / hw.peak_flops;
  out->busy_fraction =
      std::min(1.0, (out->compute_s + out->attention_s + out->elementwise_s + out->optimizer_s) / out->step_time_s);
  out->gemm_efficiency = r.gemm_efficiency;
}

}  // namespace isoflop::planner::internal
