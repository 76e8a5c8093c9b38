// The analytical performance model: memory per GPU by term and time per optimiser step by term
// for one parallel layout, and the pruned exhaustive layout search. Each term cites its source;
// docs/planner.md collects them with the calibration of PerfOptions.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "isoflop/planner.h"
#include "planner_internal.h"

namespace isoflop::planner {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;

// ----- small helpers ---------------------------------------------------------------------------------

namespace internal {

std::string FormatBytes(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / kGiB);
  return buf;
}

std::string FormatSeconds(double s) {
  char buf[64];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%.3g s", s);
  } else if (s < 2 * 3600) {
    std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  } else if (s < 3 * 86400) {
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  }
  return buf;
}

std::string FormatCount(double x) {
  char buf[64];
  const char* suffix[] = {"", "K", "M", "B", "T", "P"};
  int i = 0;
  while (std::abs(x) >= 1000 && i < 5) {
    x /= 1000;
    ++i;
  }
  std::snprintf(buf, sizeof buf, "%.3g%s", x, suffix[i]);
  return buf;
}

std::string FormatFlops(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

}  // namespace internal

const char* RecomputeName(Recompute r) {
  switch (r) {
    case Recompute::kNone:
      return "none";
    case Recompute::kSelective:
      return "selective";
    case Recompute::kFull:
      return "full";
  }
  return "?";
}

StatusOr<Recompute> ParseRecompute(const std::string& s) {
  if (s == "none") return Recompute::kNone;
  if (s == "selective") return Recompute::kSelective;
  if (s == "full") return Recompute::kFull;
  return Status::InvalidArgument("--recompute must be none, selective or full (got '" + s + "')");
}

std::string ParallelConfig::ToString() const {
  std::ostringstream out;
  out << "TP" << tp << " PP" << pp;
  if (vpp > 1) out << "x" << vpp;
  out << " DP" << dp;
  if (cp > 1) out << " CP" << cp;
  out << " mb" << micro_batch << " gb" << global_batch << " ZeRO-" << zero
      << " recompute=" << RecomputeName(recompute);
  return out.str();
}

bool PerfOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (!(matmul_efficiency > 0 && matmul_efficiency <= 1)) return fail("matmul_efficiency must be in (0, 1]");
  if (!(elementwise_traffic_factor >= 0)) return fail("elementwise_traffic_factor must be >= 0");
  if (!(collective_efficiency > 0 && collective_efficiency <= 1))
    return fail("collective_efficiency must be in (0, 1]");
  if (!(dp_overlap >= 0 && dp_overlap <= 1)) return fail("dp_overlap must be in [0, 1]");
  if (!(memory_fragmentation >= 0 && memory_fragmentation < 1))
    return fail("memory_fragmentation must be in [0, 1)");
  if (!(memory_reserved_gib >= 0)) return fail("memory_reserved_gib must be >= 0");
  return true;
}

// ----- the model ---------------------------------------------------------------------------------------

namespace {

// Ring all-reduce moves 2 (n-1)/n of the buffer through each GPU's link (Patarasuk & Yuan 2009;
// the NCCL "bus bandwidth" convention). Reduce-scatter or all-gather alone move half of that.
double RingAllReduceSeconds(double bytes, int n, double link_gb_s, double efficiency) {
  if (n <= 1 || bytes <= 0) return 0;
  return 2.0 * (n - 1) / n * bytes / (link_gb_s * kGB * efficiency);
}

// Activation bytes stored per transformer layer per micro-batch without recomputation, in bf16.
// GELU (GPT/Megatron, with dropout): Korthikanti et al. 2022 Eq. 1, s b h (34 + 5 a s / h) =
// attention 11 sbh + LayerNorm inputs 4 sbh + MLP 3 sbh + 4 sbf (f = 4h gives 19 sbh) + the score
// terms 5 a s^2 b (QK^T 2, softmax 2, dropout mask 1 byte per score).
// SwiGLU (LLaMA: RMSNorm, no dropout), the same bookkeeping without the dropout masks and outputs:
// attention: norm input 2h, QKV input 2h, Q 2h, K and V 2 x 2 kv_width, attention output 2h; MLP:
// norm input 2h, MLP input 2h, gate, up and their product 3 x 2f; scores (QK^T and softmax) 4 a s.
// FlashAttention (Dao et al. 2022) does not materialise the a s^2 b terms. Divided by t for tensor +
// sequence parallelism (Korthikanti Eq. 5) and by the context-parallel degree c.
double ActivationBytesPerLayer(const ModelShape& m, int b, int t, int c, bool flash) {
  const double s = m.seq_len, h = m.d_model, f = m.ffn, a = m.heads;
  double bytes = 0;
  if (m.mlp == Mlp::kSwiglu) {
    const double kv_width = static_cast<double>(m.kv_heads) * m.head_dim();
    bytes = s * b * (12 * h + 4 * kv_width + 6 * f);
    if (!flash) bytes += 4.0 * a * s * s * b;
  } else {
    bytes = s * b * (15 * h + 3 * h + 4 * f);
    if (!flash) bytes += 5.0 * a * s * s * b;
  }
  return bytes / (static_cast<double>(t) * c);
}

}  // namespace

namespace {

// The model itself, on a layout EvaluatePerf has validated. `explain` formats the reason of an
// infeasible layout (the search skips it: formatting costs more than the model).
void EvaluateUnchecked(const ModelShape& m, const ClusterSpec& cluster, const ParallelConfig& cfg,
                       const PerfOptions& options, bool explain, PerfSummary* out) {
  PerfSummary r;
  r.config = cfg;
  const int t = cfg.tp, p = cfg.pp, d = cfg.dp, c = cfg.cp, v = cfg.vpp, b = cfg.micro_batch;
  const int gpn = cluster.gpus_per_node;
  const double s = m.seq_len, h = m.d_model, l = m.layers, V = m.vocab;
  const double m_micro = static_cast<double>(cfg.global_batch) / (d * b);  // micro-batches per step
  const double tokens_per_step = static_cast<double>(cfg.global_batch) * s;
  const double gpus = cfg.gpus();
  const double layers_per_stage = std::ceil(l / p);
  const bool flash = options.flash_attention;

  // FLOPs per step. Model FLOPs: Korthikanti et al. 2022 Eq. 7 (ModelFlopsPerToken). Hardware
  // FLOPs add the recomputation: full recompute repeats every layer's forward (Narayanan et al.
  // 2021 Eq. 3: 96 B s l h^2 (1 + s/(6h) + V/(16 l h))); selective repeats QK^T and scores x V
  // (Korthikanti Eq. 8: + 4 s h per layer per token).
  const double attention_width = static_cast<double>(m.heads) * m.head_dim();
  const double layer_forward_flops = 2 * m.MatmulWeightsPerLayer() + 4 * s * attention_width;
  double recompute_per_token = 0;
  if (cfg.recompute == Recompute::kFull) recompute_per_token = l * layer_forward_flops;
  if (cfg.recompute == Recompute::kSelective) recompute_per_token = l * 4 * s * attention_width;
  r.model_flops_per_step = m.ModelFlopsPerToken() * tokens_per_step;
  r.hardware_flops_per_step = (m.ModelFlopsPerToken() + recompute_per_token) * tokens_per_step;

  // ---- memory on the first pipeline stage (the most loaded: it holds the embedding and the most
  // in-flight micro-batches).
  const double layer_params =
      (m.ParamsNonEmbedding() - (m.mlp == Mlp::kGelu ? 2 * h : h)) / l;  // without the final norm
  const double embedding_params = V * h + (m.mlp == Mlp::kGelu ? s * h : 0);
  const double params_stage = (layers_per_stage * layer_params + embedding_params) / t;
  // Mixed-precision Adam: 2 bytes bf16 weights + 2 bytes gradients + 12 bytes fp32 master copy,
  // momentum and variance (K = 12) per parameter; ZeRO stage 1/2/3 shards the optimizer states /
  // + gradients / + weights over the data-parallel group (Rajbhandari et al. 2020, Sec. 5, Fig. 1).
  const double shard = static_cast<double>(d) * c;  // the distributed optimiser shards over DP x CP
  r.memory.weights = 2 * params_stage / (cfg.zero >= 3 ? shard : 1);
  r.memory.gradients = 2 * params_stage / (cfg.zero >= 2 ? shard : 1);
  r.memory.optimizer = 12 * params_stage / (cfg.zero >= 1 ? shard : 1);
  // Activations (Korthikanti et al. 2022, Sec. 4): per layer as above; selective recompute drops
  // the 5as^2b score terms (Eq. 6); full recompute stores only the layer input 2sbh/t (Sec. 4.3)
  // plus one layer's working set during its backward. 1F1B keeps min(m, p) micro-batches in flight
  // on the first stage, i.e. the activations of p x (l/p) = l layers; interleaving multiplies by
  // 1 + (p-1)/(p v) (Korthikanti Sec. 4.2.3).
  const double act_full_layer = ActivationBytesPerLayer(m, b, t, c, flash);
  const double act_selective_layer = ActivationBytesPerLayer(m, b, t, c, true);
  const double in_flight = std::min<double>(m_micro, p);
  const double interleave = v > 1 ? 1.0 + (p - 1.0) / (p * v) : 1.0;
  double per_layer = act_full_layer;
  double working_set = 0;
  if (cfg.recompute == Recompute::kSelective) per_layer = act_selective_layer;
  if (cfg.recompute == Recompute::kFull) {
    per_layer = 2 * s * b * h / (static_cast<double>(t) * c);
    working_set = act_full_layer;
  }
  r.memory.activations = per_layer * layers_per_stage * in_flight * interleave + working_set;
  if (p == 1)
    r.memory.activations += s * b * V * (2 + 4) / (static_cast<double>(t) * c);  // logits, bf16 + fp32
  r.memory.reserved = options.memory_reserved_gib * kGiB;
  r.memory_capacity_bytes = cluster.hbm_gib * kGiB * (1 - options.memory_fragmentation);

  // ---- time per step.
  const double peak = cluster.peak_bf16_tflops * 1e12;
  r.compute_s = r.hardware_flops_per_step / gpus / (peak * options.matmul_efficiency);
  // Element-wise ops (LayerNorm, GELU/SwiGLU, dropout, softmax, residual adds) are bound by HBM
  // bandwidth: traffic ~ elementwise_traffic_factor x the activation bytes they produce
  // (written in forward, read in backward, gradient written), repeated by full recompute.
  const double elementwise_bytes_mb = options.elementwise_traffic_factor * act_full_layer * layers_per_stage *
                                      (cfg.recompute == Recompute::kFull ? 4.0 / 3.0 : 1.0);
  const double elementwise_mb = elementwise_bytes_mb / (cluster.hbm_bandwidth_gb_s * kGB);
  // Tensor parallelism (Shoeybi et al. 2019; Korthikanti 2022 Sec. 4.2.2): per layer 2 all-reduces
  // forward + 2 backward of s b h bf16 values (sequence parallelism turns each into reduce-scatter +
  // all-gather, same volume); full recompute adds the 2 of the repeated forward.
  const double tp_link = t <= gpn ? cluster.intra_node_bandwidth_gb_s : cluster.inter_node_bandwidth_gb_s;
  const double collectives_per_layer = cfg.recompute == Recompute::kFull ? 6 : 4;
  const double tp_mb = layers_per_stage * collectives_per_layer *
                       RingAllReduceSeconds(2 * s * b * h / c, t, tp_link, options.collective_efficiency);
  // Context parallelism (ring attention, Liu et al. 2023): each rank passes its K and V blocks
  // around the ring (c-1 steps) forward and K, V, dK, dV backward; hidden behind the attention
  // compute of the same step when that is longer.
  double cp_mb = 0;
  if (c > 1) {
    const double cp_link =
        t * c <= gpn ? cluster.intra_node_bandwidth_gb_s : cluster.inter_node_bandwidth_gb_s;
    const double kv_width = static_cast<double>(m.kv_heads) * m.head_dim() / t;
    const double kv_bytes = 2 * (s / c) * b * kv_width * 2;  // K and V, bf16
    const double comm = 3 * (c - 1) * kv_bytes / (cp_link * kGB * options.collective_efficiency);
    const double attention_flops = 12 * (s / c) * s * b * attention_width / t;  // fwd+bwd scores
    const double attention_s = attention_flops / (peak * options.matmul_efficiency);
    cp_mb = layers_per_stage * std::max(0.0, comm - attention_s);
  }
  // Pipeline point-to-point: one s b h / (t c) activation per boundary forward and its gradient
  // backward per micro-batch and virtual stage (scatter/gather optimisation, Narayanan Sec. 4.1).
  double pp_step = 0;
  if (p > 1) {
    const double stride = static_cast<double>(t) * c * d;
    const double pp_link =
        stride < gpn ? cluster.intra_node_bandwidth_gb_s : cluster.inter_node_bandwidth_gb_s;
    const double bytes = 2 * s * b * h / (static_cast<double>(t) * c);
    pp_step = 2 * m_micro * v * bytes / (pp_link * kGB * options.collective_efficiency);
  }
  const double per_micro = r.compute_s / m_micro + elementwise_mb + tp_mb + cp_mb;
  r.elementwise_s = elementwise_mb * m_micro;
  r.tp_comm_s = tp_mb * m_micro;
  r.cp_comm_s = cp_mb * m_micro;
  r.pp_comm_s = pp_step;
  // Pipeline bubble: (p-1)/v micro-batch times per step, i.e. a fraction (p-1)/(v m) of the ideal
  // time (Narayanan et al. 2021 Sec. 2.2.1-2.2.2).
  r.bubble_s = (p - 1.0) / v * per_micro;
  // Data parallelism: gradients (2 bytes each) all-reduced over the DP x CP group once per step;
  // ZeRO-1/2 do a reduce-scatter + all-gather (same volume), ZeRO-3 adds a parameter all-gather in
  // backward: 1.5x (Rajbhandari et al. 2020 Sec. 7). A fraction dp_overlap hides behind backward.
  const double dp_group = static_cast<double>(d) * c;
  const bool dp_in_node = static_cast<double>(t) * d * c <= gpn;
  const double dp_link = dp_in_node ? cluster.intra_node_bandwidth_gb_s : cluster.inter_node_bandwidth_gb_s;
  double dp_time = RingAllReduceSeconds(2 * params_stage, static_cast<int>(dp_group), dp_link,
                                        options.collective_efficiency);
  if (cfg.zero >= 3) dp_time *= 1.5;
  r.dp_comm_exposed_s = dp_time * (1 - options.dp_overlap);
  // Adam step: memory-bound, ~30 bytes of HBM traffic per local parameter (read fp32 gradient and
  // the 12-byte state, write the state and the bf16 weight).
  const double local_params = params_stage / (cfg.zero >= 1 ? shard : 1);
  r.optimizer_s = 30 * local_params / (cluster.hbm_bandwidth_gb_s * kGB);

  r.step_time_s = per_micro * m_micro + r.bubble_s + r.pp_comm_s + r.dp_comm_exposed_s + r.optimizer_s;
  r.tokens_per_s = tokens_per_step / r.step_time_s;
  r.model_tflops_per_gpu = r.model_flops_per_step / r.step_time_s / gpus / 1e12;
  r.hardware_tflops_per_gpu = r.hardware_flops_per_step / r.step_time_s / gpus / 1e12;
  r.mfu = r.model_tflops_per_gpu / cluster.peak_bf16_tflops;
  r.hfu = r.hardware_tflops_per_gpu / cluster.peak_bf16_tflops;

  // Feasibility: the sum of the terms against the usable HBM.
  const double total = r.memory.total();
  if (total > r.memory_capacity_bytes && !explain) {
    r.feasible = false;
  } else if (total > r.memory_capacity_bytes) {
    struct Term {
      const char* name;
      double bytes;
    } terms[] = {{"weights", r.memory.weights},
                 {"gradients", r.memory.gradients},
                 {"optimizer states", r.memory.optimizer},
                 {"activations", r.memory.activations}};
    const Term* largest = &terms[0];
    for (const auto& term : terms)
      if (term.bytes > largest->bytes) largest = &term;
    std::ostringstream why;
    why << "needs " << internal::FormatBytes(total) << " per GPU but "
        << internal::FormatBytes(r.memory_capacity_bytes) << " is usable (" << cluster.hbm_gib << " GiB less "
        << options.memory_fragmentation * 100 << "% fragmentation margin): exceeds by "
        << internal::FormatBytes(total - r.memory_capacity_bytes) << "; largest term: " << largest->name
        << " " << internal::FormatBytes(largest->bytes);
    r.feasible = false;
    r.infeasible_reason = why.str();
  } else {
    r.feasible = true;
  }
  *out = std::move(r);
}

}  // namespace

Status EvaluatePerf(const ModelShape& m, const ClusterSpec& cluster, const ParallelConfig& cfg,
                    const PerfOptions& options, PerfSummary* out) {
  std::string error;
  if (!m.IsValid(&error)) return Status::InvalidArgument("model: " + error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  if (!options.IsValid(&error)) return Status::InvalidArgument("perf options: " + error);
  auto bad = [](const std::string& what) { return Status::InvalidArgument(what); };
  if (cfg.tp < 1 || cfg.pp < 1 || cfg.dp < 1 || cfg.cp < 1 || cfg.vpp < 1 || cfg.micro_batch < 1 ||
      cfg.global_batch < 1)
    return bad("--tp, --pp, --dp, --cp, --vpp, --micro-batch and --global-batch must be >= 1");
  if (cfg.zero < 0 || cfg.zero > 3) return bad("--zero must be 0, 1, 2 or 3");
  if (m.heads % cfg.tp != 0 || m.kv_heads % cfg.tp != 0)
    return bad("--tp " + std::to_string(cfg.tp) + " must divide heads (" + std::to_string(m.heads) +
               ") and kv_heads (" + std::to_string(m.kv_heads) + ")");
  // Uneven splits are allowed (Megatron and LLaMA-3 put fewer layers on the first/last stage);
  // the model charges every stage the largest stage's ceil(l/p) layers.
  if (cfg.pp > m.layers)
    return bad("--pp (" + std::to_string(cfg.pp) + ") exceeds layers (" + std::to_string(m.layers) + ")");
  if (cfg.vpp > (m.layers + cfg.pp - 1) / cfg.pp)
    return bad("--vpp (" + std::to_string(cfg.vpp) + ") exceeds the layers per pipeline stage");
  if (cfg.vpp > 1 && cfg.pp == 1) return bad("--vpp > 1 needs --pp > 1");
  if (m.seq_len % cfg.cp != 0) return bad("--cp must divide seq_len");
  if (cfg.global_batch % (cfg.dp * cfg.micro_batch) != 0)
    return bad("--global-batch (" + std::to_string(cfg.global_batch) +
               ") must be a multiple of --dp x --micro-batch (" + std::to_string(cfg.dp * cfg.micro_batch) +
               ")");
  if (cfg.gpus() > cluster.total_gpus())
    return bad("the layout needs " + std::to_string(cfg.gpus()) + " GPUs; " + cluster.path + " has " +
               std::to_string(cluster.total_gpus()));

  EvaluateUnchecked(m, cluster, cfg, options, /*explain=*/true, out);
  return Status::OK();
}

// ----- reports -----------------------------------------------------------------------------------------

std::string PerfSummary::BriefReport() const {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s: step %.3f s, %.0f tokens/s, MFU %.1f%%, HFU %.1f%%, %s/GPU%s%s",
                config.ToString().c_str(), step_time_s, tokens_per_s, mfu * 100, hfu * 100,
                internal::FormatBytes(memory.total()).c_str(),
                feasible ? "" : " — INFEASIBLE: ", feasible ? "" : infeasible_reason.c_str());
  return buf;
}

std::string PerfSummary::FullReport() const {
  std::ostringstream out;
  char buf[256];
  out << "layout: " << config.ToString() << " (" << config.gpus() << " GPUs)\n";
  out << (feasible ? "fits in memory\n" : "DOES NOT FIT: " + infeasible_reason + "\n");
  out << "memory per GPU (first pipeline stage):\n";
  auto mem = [&](const char* name, double bytes) {
    std::snprintf(buf, sizeof buf, "  %-18s %10.2f GiB\n", name, bytes / kGiB);
    out << buf;
  };
  mem("weights", memory.weights);
  mem("gradients", memory.gradients);
  mem("optimizer states", memory.optimizer);
  mem("activations", memory.activations);
  mem("reserved", memory.reserved);
  mem("total", memory.total());
  mem("usable", memory_capacity_bytes);
  out << "time per step:\n";
  auto sec = [&](const char* name, double s) {
    std::snprintf(buf, sizeof buf, "  %-18s %10.4f s\n", name, s);
    out << buf;
  };
  sec("matmul compute", compute_s);
  sec("element-wise", elementwise_s);
  sec("TP collectives", tp_comm_s);
  sec("CP ring exchange", cp_comm_s);
  sec("PP send/recv", pp_comm_s);
  sec("pipeline bubble", bubble_s);
  sec("DP/ZeRO exposed", dp_comm_exposed_s);
  sec("optimizer step", optimizer_s);
  sec("step", step_time_s);
  std::snprintf(buf, sizeof buf,
                "throughput: %.0f tokens/s; model %.1f TFLOP/s/GPU (MFU %.1f%%), hardware %.1f TFLOP/s/GPU "
                "(HFU %.1f%%)\n",
                tokens_per_s, model_tflops_per_gpu, mfu * 100, hardware_tflops_per_gpu, hfu * 100);
  out << buf;
  return out.str();
}

std::string PerfSummary::ToJson() const {
  nlohmann::json j;
  j["config"] = {{"tp", config.tp},
                 {"pp", config.pp},
                 {"vpp", config.vpp},
                 {"dp", config.dp},
                 {"cp", config.cp},
                 {"micro_batch", config.micro_batch},
                 {"global_batch", config.global_batch},
                 {"zero", config.zero},
                 {"recompute", RecomputeName(config.recompute)},
                 {"gpus", config.gpus()}};
  j["feasible"] = feasible;
  if (!feasible) j["infeasible_reason"] = infeasible_reason;
  j["memory_bytes"] = {{"weights", memory.weights},      {"gradients", memory.gradients},
                       {"optimizer", memory.optimizer},  {"activations", memory.activations},
                       {"reserved", memory.reserved},    {"total", memory.total()},
                       {"usable", memory_capacity_bytes}};
  j["time_s"] = {{"step", step_time_s},          {"compute", compute_s},
                 {"elementwise", elementwise_s}, {"tp_comm", tp_comm_s},
                 {"cp_comm", cp_comm_s},         {"pp_comm", pp_comm_s},
                 {"bubble", bubble_s},           {"dp_comm_exposed", dp_comm_exposed_s},
                 {"optimizer", optimizer_s}};
  j["model_flops_per_step"] = model_flops_per_step;
  j["hardware_flops_per_step"] = hardware_flops_per_step;
  j["tokens_per_s"] = tokens_per_s;
  j["model_tflops_per_gpu"] = model_tflops_per_gpu;
  j["hardware_tflops_per_gpu"] = hardware_tflops_per_gpu;
  j["mfu"] = mfu;
  j["hfu"] = hfu;
  return j.dump(2);
}

// ----- layout search -------------------------------------------------------------------------------------

bool LayoutSearchOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (global_batch < 0) return fail("global_batch must be >= 0");
  if (gpus < 0) return fail("gpus must be >= 0");
  if (max_micro_batch < 1) return fail("max_micro_batch must be >= 1");
  if (top_k < 1) return fail("top_k must be >= 1");
  return true;
}

StatusOr<LayoutSearchResult> SearchLayouts(const ModelShape& m, const ClusterSpec& cluster,
                                           const PerfOptions& perf, const LayoutSearchOptions& o) {
  std::string error;
  if (!o.IsValid(&error)) return Status::InvalidArgument("layout search: " + error);
  if (!m.IsValid(&error)) return Status::InvalidArgument("model: " + error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  const int gpus = o.gpus > 0 ? o.gpus : cluster.total_gpus();
  if (gpus > cluster.total_gpus())
    return Status::InvalidArgument("--gpus " + std::to_string(gpus) + " exceeds the cluster's " +
                                   std::to_string(cluster.total_gpus()));
  // Default global batch: ~4M tokens (Hoffmann et al. 2022 trained Chinchilla with 1.5M-3M token
  // batches; LLaMA-3 405B used 4M-16M), at least one sequence per GPU group.
  const int target_batch =
      o.global_batch > 0 ? o.global_batch : std::max(1, static_cast<int>(std::lround(4194304.0 / m.seq_len)));

  LayoutSearchResult result;
  std::vector<PerfSummary> feasible;
  double smallest_excess = std::numeric_limits<double>::infinity();
  std::string smallest_reason;
  ParallelConfig closest_infeasible;
  bool have_closest = false;
  const double usable = cluster.hbm_gib * kGiB * (1 - perf.memory_fragmentation);
  const double h = m.d_model;
  const double layer_params = m.MatmulWeightsPerLayer();

  for (int t = 1; t <= std::min(cluster.gpus_per_node, gpus); t *= 2) {
    if (m.heads % t != 0 || m.kv_heads % t != 0) {
      ++result.pruned;
      continue;
    }
    for (int c = 1; c <= 16; c *= 2) {
      if (c > 1 && !o.allow_cp) break;
      // Context parallelism only for long sequences: chunks of >= 4K tokens keep the ring
      // exchange hidden behind attention (LLaMA-3 used it for 128K-token training only).
      if (m.seq_len % c != 0 || (c > 1 && m.seq_len / c < 4096)) {
        ++result.pruned;
        continue;
      }
      for (int p = 1; p <= std::min(m.layers, 128); ++p) {
        const long long model_parallel = static_cast<long long>(t) * c * p;
        if (model_parallel > gpus) break;
        // Whole replicas only: d = floor(gpus / (t c p)); layouts leaving more than 1/8 of the
        // GPUs idle are not worth scoring.
        const int d = static_cast<int>(gpus / model_parallel);
        if (static_cast<double>(d) * model_parallel < 0.875 * gpus) {
          ++result.pruned;
          continue;
        }
        // Memory lower bound before anything else: weights + gradients + optimizer with the most
        // sharding available (ZeRO-3, or ZeRO-1 when pipelined) must fit.
        const double params_stage =
            (std::ceil(static_cast<double>(m.layers) / p) * layer_params + m.vocab * h) / t;
        const double shard = static_cast<double>(d) * c;
        const double lower =
            p > 1 || !o.allow_zero3 ? params_stage * (4 + 12 / shard) : params_stage * 16 / shard;
        if (o.prune && lower > usable) {
          ++result.pruned;
          if (lower - usable < smallest_excess) {
            smallest_excess = lower - usable;
            have_closest = false;
            smallest_reason = "TP" + std::to_string(t) + " PP" + std::to_string(p) + " DP" +
                              std::to_string(d) + ": weights, gradients and optimizer states alone need " +
                              internal::FormatBytes(lower) + " per GPU, " + internal::FormatBytes(usable) +
                              " usable";
          }
          continue;
        }
        const int stage_layers = (m.layers + p - 1) / p;
        for (int v = 1; v <= (p > 1 ? std::min(8, stage_layers) : 1); ++v) {
          if (stage_layers % v != 0) continue;
          for (int b = 1; b <= o.max_micro_batch; b *= 2) {
            // Round the global batch to a multiple of dp x b (Megatron requires it).
            const long long unit = static_cast<long long>(d) * b;
            long long gb = std::max<long long>(unit, (target_batch + unit / 2) / unit * unit);
            if (2 * gb > 3LL * target_batch) {  // more than 1.5x the target batch: too much DP x b
              ++result.pruned;
              continue;
            }
            if (gb > std::numeric_limits<int>::max()) continue;
            for (int zero = 0; zero <= 3; ++zero) {
              if (zero >= 2 && p > 1) continue;  // ZeRO-2/3 with pipelining: not supported (DeepSpeed)
              if (zero == 3 && !o.allow_zero3) continue;
              if (d * c == 1 && zero > 0) continue;  // nothing to shard over
              for (Recompute rc : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
                ParallelConfig cfg;
                cfg.tp = t;
                cfg.pp = p;
                cfg.dp = d;
                cfg.cp = c;
                cfg.vpp = v;
                cfg.micro_batch = b;
                cfg.global_batch = static_cast<int>(gb);
                cfg.zero = zero;
                cfg.recompute = rc;
                // Every loop bound above keeps the layout well-formed: no re-validation here.
                PerfSummary summary;
                EvaluateUnchecked(m, cluster, cfg, perf, /*explain=*/false, &summary);
                ++result.evaluated;
                if (!summary.feasible) {
                  const double excess = summary.memory.total() - summary.memory_capacity_bytes;
                  if (excess < smallest_excess) {
                    smallest_excess = excess;
                    closest_infeasible = cfg;
                    have_closest = true;
                  }
                  continue;
                }
                feasible.push_back(std::move(summary));
              }
            }
          }
        }
      }
    }
  }
  if (have_closest) {
    PerfSummary closest;
    EvaluateUnchecked(m, cluster, closest_infeasible, perf, /*explain=*/true, &closest);
    smallest_reason = closest_infeasible.ToString() + ": " + closest.infeasible_reason;
  }
  if (feasible.empty()) {
    std::string why = "no parallel layout of this model fits on " + std::to_string(gpus) + " x " +
                      cluster.gpu_model + " (" + std::to_string(result.evaluated) + " layouts scored, " +
                      std::to_string(result.pruned) + " pruned)";
    if (!smallest_reason.empty()) why += "; closest: " + smallest_reason;
    return Status::FailedPrecondition(why);
  }
  // Rank by step time per token (global batches differ slightly after rounding).
  // Ties (layouts the model cannot tell apart) go to the one with more memory headroom.
  const size_t keep = std::min<size_t>(feasible.size(), static_cast<size_t>(o.top_k));
  std::partial_sort(feasible.begin(), feasible.begin() + keep, feasible.end(),
                    [](const PerfSummary& a, const PerfSummary& b) {
                      if (std::abs(a.tokens_per_s / b.tokens_per_s - 1) > 1e-9)
                        return a.tokens_per_s > b.tokens_per_s;
                      return a.memory.total() < b.memory.total();
                    });
  feasible.resize(keep);
  result.ranked = std::move(feasible);
  return result;
}

}  // namespace isoflop::planner
