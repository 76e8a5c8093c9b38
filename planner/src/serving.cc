// Serving cost: replica sizing (memory per GPU by term), the decode step as a roofline of its HBM
// traffic and FLOPs (plus per-layer overhead and the small all-reduces of tensor parallelism),
// prefill as a compute-bound pass, and dollars and kWh per million tokens. Formulas and their
// sources: docs/planner.md, "Serving".
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "isoflop/planner.h"
#include "isoflop/serving.h"
#include "planner_internal.h"

namespace isoflop::planner {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;

int PrecisionIndex(WeightPrecision p) {
  return p == WeightPrecision::kBf16 ? 0 : p == WeightPrecision::kInt8 ? 1 : 2;
}

// Bytes per quantised matmul weight. int8: per-channel scales are negligible (one bf16 per output
// row). int4: 0.5 byte plus the group's scale (and zero point) bytes over its size (GPTQ/AWQ
// group-wise quantisation; Marlin's 4.125 bits at group 128 with one bf16 scale).
double WeightBytes(WeightPrecision p, const ServeOptions& o) {
  switch (p) {
    case WeightPrecision::kBf16:
      return 2.0;
    case WeightPrecision::kInt8:
      return 1.0;
    case WeightPrecision::kInt4:
      return 0.5 + o.int4_group_bytes / o.int4_group_size;
  }
  return 2.0;
}

// KV heads stored per GPU under tensor parallelism: kv_heads / tp, or one replicated head per GPU
// when tp exceeds kv_heads (vLLM and TensorRT-LLM replicate KV heads for GQA/MQA beyond that).
double KvHeadsPerGpu(const ModelShape& m, int tp) {
  return std::max(1.0, static_cast<double>(m.effective_kv_heads()) / tp);
}

// Matmul weights of all layers on one GPU of a tp group (a pipeline stage holds its share of
// them): Q, output projection, MLP and experts split tp ways (vLLM and gpt-fast shard every expert
// along its hidden width); K and V split by KV heads (replicated beyond kv_heads). `routed`: the
// routed experts counted per MoE layer (all of them for memory, those a step touches for its reads,
// experts_per_token for the FLOPs of one token).
double MatmulParamsPerGpu(const ModelShape& m, int tp, double routed) {
  const double h = m.d_model, hd = m.head_dim();
  const double kv_all = 2.0 * h * hd * m.effective_kv_heads() * m.layers;
  const double kv_gpu = 2.0 * h * hd * KvHeadsPerGpu(m, tp) * m.layers;
  double weights = m.MatmulWeights();
  if (m.is_moe()) weights -= m.moe_layers() * (m.experts - routed) * m.ExpertWeights();
  return (weights - kv_all) / tp + kv_gpu;
}

// Routed experts of one MoE layer that a pass over `tokens` tokens reads, with each token sent to
// experts_per_token of the experts uniformly (the balance the router's load-balancing loss aims at,
// Fedus et al. 2022 Sec. 2.2): E (1 - (1 - k/E)^tokens). k at one token, all E for long prompts.
double TouchedExperts(const ModelShape& m, double tokens) {
  if (!m.is_moe()) return 0;
  const double E = m.experts, k = m.experts_per_token;
  return E * (1.0 - std::pow(1.0 - k / E, tokens));
}

// Latency of one small-message all-reduce on n GPUs plus its bandwidth term (ring volume).
double DecodeAllReduceSeconds(double bytes, int n, double link_gb_s, const ServeOptions& o) {
  if (n <= 1) return 0;
  const double latency = (o.allreduce_base_us + o.allreduce_per_peer_us * (n - 1)) * 1e-6;
  return latency + 2.0 * (n - 1) / n * bytes / (link_gb_s * kGB * o.collective_efficiency);
}

struct Replica {
  int tp = 1, pp = 1;
};

// Memory per GPU of one replica layout (the heaviest pipeline stage, charged the embedding and the
// output layer both, which matters only for small models).
ServingMemory ReplicaMemory(const ModelShape& m, const ClusterSpec& cluster, const ServeOptions& o,
                            const Replica& r, double* kv_per_sequence_gpu) {
  const double h = m.d_model, V = m.vocab, hd = m.head_dim();
  const double layers_stage = std::ceil(static_cast<double>(m.layers) / r.pp);
  const double w = WeightBytes(o.precision, o);
  const double layer_matmul = m.MatmulWeights();
  const double output = m.tied() ? 0.0 : V * h;  // untied output layer
  // Everything else (embedding, norms, biases, positions) stays bf16.
  const double rest = m.ParamsTotal() - layer_matmul - output;
  const double output_bytes = output * (o.quantize_output_layer ? w : 2.0);
  ServingMemory mem;
  mem.weights = layers_stage / m.layers * MatmulParamsPerGpu(m, r.tp, m.experts) * w +
                (output_bytes + rest * 2.0) / r.tp;
  const double kv_seq = 2.0 * layers_stage * KvHeadsPerGpu(m, r.tp) * hd * o.kv_cache_bytes * o.context;
  if (kv_per_sequence_gpu) *kv_per_sequence_gpu = kv_seq;
  mem.kv_cache = kv_seq * o.batch;
  // Prefill working set of one chunk: the residual stream and the norm output (2 x 2h), Q/K/V
  // (h + 2 kv width) and the MLP's gate, up and product (3f), in bf16, split over tp; plus fp32
  // logits of the last token of every sequence.
  const double chunk = std::min<double>(o.prefill_chunk_tokens, static_cast<double>(o.batch) * o.context);
  const double kv_width = m.effective_kv_heads() * hd;
  const double mlp_width = (m.mlp == Mlp::kSwiglu ? 3.0 : 2.0) * m.effective_ffn();
  mem.activations =
      chunk * 2.0 * (4.0 * h + (h + 2.0 * kv_width + mlp_width) / r.tp) + o.batch * V * 4.0 / r.tp;
  mem.reserved = o.memory_reserved_gib * kGiB;
  (void)cluster;
  return mem;
}

bool LayoutAllowed(const ModelShape& m, int tp) {
  if (m.heads % tp != 0) return false;
  return m.effective_kv_heads() % tp == 0 || tp % m.effective_kv_heads() == 0;
}

// Decode step and prefill for a fixed replica; fills the time, rate, cost and energy fields.
void EvaluateReplica(const ModelShape& m, const ClusterSpec& cluster, const ServeOptions& o, const Replica& r,
                     ServeSummary* s) {
  const double h = m.d_model, V = m.vocab, hd = m.head_dim(), l = m.layers;
  const double B = o.batch;
  const double bw = cluster.hbm_bandwidth_gb_s * kGB * o.decode_bandwidth_efficiency;
  const double peak = cluster.peak_bf16_tflops * 1e12;
  const double w = WeightBytes(o.precision, o);
  const int gpus = r.tp * r.pp;
  const double link =
      gpus <= cluster.gpus_per_node ? cluster.intra_node_bandwidth_gb_s : cluster.inter_node_bandwidth_gb_s;
  const double tp_link =
      r.tp <= cluster.gpus_per_node ? cluster.intra_node_bandwidth_gb_s : cluster.inter_node_bandwidth_gb_s;
  const double output = V * h;  // the logits matmul reads the whole (tied or untied) matrix
  const double output_w = m.tied() ? 2.0 : (o.quantize_output_layer ? w : 2.0);

  s->prompt_tokens = o.output_tokens > 0 ? o.context - o.output_tokens : o.context;
  s->decode_kv_length = o.output_tokens > 0 ? o.context - o.output_tokens / 2.0 : o.context;

  // ---- decode step (all pipeline stages in sequence; each GPU reads its share).
  // Weights: every matmul weight once per step, whatever the batch (Pope et al. 2022 Sec. 3:
  // at small batch the step costs the time to load the parameters from HBM).
  // A mixture of experts reads the experts the batch's tokens are routed to (TouchedExperts).
  const double weight_bytes_gpu =
      MatmulParamsPerGpu(m, r.tp, TouchedExperts(m, B)) * w + output * output_w / r.tp;
  // KV cache: every sequence's K and V for every layer at the current KV length.
  const double kv_bytes_gpu =
      B * s->decode_kv_length * 2.0 * l * KvHeadsPerGpu(m, r.tp) * hd * o.kv_cache_bytes;
  s->decode_weights_s = weight_bytes_gpu / bw;
  s->decode_kv_s = kv_bytes_gpu / bw;
  // FLOPs: 2 per weight per token, and attention's QK^T and scores x V over the KV length.
  const double decode_flops_gpu =
      2.0 * B * (MatmulParamsPerGpu(m, r.tp, m.experts_per_token) + output / r.tp) +
      4.0 * B * s->decode_kv_length * l * (m.heads / static_cast<double>(r.tp)) * hd;
  s->decode_compute_s = decode_flops_gpu / (peak * o.prefill_matmul_efficiency);
  // Roofline (Williams et al. 2009): the step takes the longer of its memory and compute time.
  const double memory_s = s->decode_weights_s + s->decode_kv_s;
  s->decode_memory_bound = memory_s >= s->decode_compute_s;
  const double core_s = std::max(memory_s, s->decode_compute_s);
  s->decode_overhead_s = l * o.layer_overhead_us[PrecisionIndex(o.precision)] * 1e-6;
  // Tensor parallelism: two all-reduces of the batch's hidden states per layer (Shoeybi et al.
  // 2019); pipeline stages pass them on.
  const double hidden_bytes = B * h * 2.0;
  s->decode_comm_s =
      l * 2.0 * DecodeAllReduceSeconds(hidden_bytes, r.tp, tp_link, o) +
      (r.pp - 1) * (hidden_bytes / (link * kGB * o.collective_efficiency) + o.allreduce_base_us * 1e-6);
  s->decode_step_s = core_s + s->decode_overhead_s + s->decode_comm_s;
  s->time_per_output_token_s = s->decode_step_s;
  s->decode_tokens_per_s = B / s->decode_step_s;
  s->decode_tokens_per_s_per_gpu = s->decode_tokens_per_s / gpus;
  s->bandwidth_utilization =
      (weight_bytes_gpu + kv_bytes_gpu) / (s->decode_step_s * cluster.hbm_bandwidth_gb_s * kGB);
  s->compute_utilization = decode_flops_gpu / (s->decode_step_s * peak);

  // ---- prefill of the batch's prompts in one pass: compute-bound once the prompt is long.
  const double T = B * s->prompt_tokens;  // tokens prefilled
  const double P = s->prompt_tokens;
  const double prefill_flops_gpu =
      2.0 * T * MatmulParamsPerGpu(m, r.tp, m.experts_per_token) + 2.0 * B * output / r.tp +
      2.0 * B * P * P * l * (m.heads / static_cast<double>(r.tp)) * hd;  // causal
  const double prefill_compute_s = prefill_flops_gpu / (peak * o.prefill_matmul_efficiency);
  const double prefill_weight_bytes_gpu =
      MatmulParamsPerGpu(m, r.tp, TouchedExperts(m, T)) * w + output * output_w / r.tp;
  const double prefill_memory_s =
      (prefill_weight_bytes_gpu + kv_bytes_gpu * P / std::max(1.0, s->decode_kv_length)) / bw;
  s->prefill_s = std::max(prefill_compute_s, prefill_memory_s) + s->decode_overhead_s +
                 l * 2.0 * DecodeAllReduceSeconds(T * h * 2.0, r.tp, tp_link, o) +
                 (r.pp - 1) * (T * h * 2.0 / (link * kGB * o.collective_efficiency));
  s->prefill_tokens_per_s = T / s->prefill_s;
  s->ttft_s = s->prefill_s + s->decode_step_s;

  // ---- cost and energy per million tokens: the replica's GPU-hours at the cluster's price; its
  // GPUs at board power (a decode step keeps HBM and the SMs busy) plus their share of the node's
  // host and network power, x PUE: the same power the plan's inference estimate counts.
  ClusterSpec c = cluster;
  c.FillDefaults();
  s->replica_usd_per_hour = gpus * c.price_usd_per_gpu_hour;
  s->replica_kw = gpus *
                  (c.gpu_power_w + (c.host_power_w_per_node + c.network_power_w_per_node) / c.gpus_per_node) /
                  1000.0 * c.pue;
  const double usd_per_s = s->replica_usd_per_hour / 3600.0;
  const double kw = s->replica_kw;
  s->usd_per_million_tokens = usd_per_s * 1e6 / s->decode_tokens_per_s;
  s->kwh_per_million_tokens = kw * 1e6 / s->decode_tokens_per_s / 3600.0;
  s->usd_per_million_prompt_tokens = usd_per_s * 1e6 / s->prefill_tokens_per_s;
  s->kwh_per_million_prompt_tokens = kw * 1e6 / s->prefill_tokens_per_s / 3600.0;
}

std::string FitReason(const ServingMemory& mem, double usable, const Replica& r, const ClusterSpec& cluster) {
  struct Term {
    const char* name;
    double bytes;
  } terms[] = {{"weights", mem.weights}, {"KV cache", mem.kv_cache}, {"activations", mem.activations}};
  const Term* largest = &terms[0];
  for (const auto& t : terms)
    if (t.bytes > largest->bytes) largest = &t;
  std::ostringstream why;
  why << "TP" << r.tp << " PP" << r.pp << " needs " << internal::FormatBytes(mem.total())
      << " per GPU (weights " << internal::FormatBytes(mem.weights) << " + KV cache "
      << internal::FormatBytes(mem.kv_cache) << " + activations " << internal::FormatBytes(mem.activations)
      << " + reserved " << internal::FormatBytes(mem.reserved) << ") but " << internal::FormatBytes(usable)
      << " is usable (" << cluster.hbm_gib << " GiB less the fragmentation margin): exceeds by "
      << internal::FormatBytes(mem.total() - usable) << "; largest term: " << largest->name;
  return why.str();
}

}  // namespace

const char* PrecisionName(WeightPrecision p) {
  switch (p) {
    case WeightPrecision::kBf16:
      return "bf16";
    case WeightPrecision::kInt8:
      return "int8";
    case WeightPrecision::kInt4:
      return "int4";
  }
  return "?";
}

StatusOr<WeightPrecision> ParsePrecision(const std::string& name) {
  if (name == "bf16") return WeightPrecision::kBf16;
  if (name == "int8") return WeightPrecision::kInt8;
  if (name == "int4") return WeightPrecision::kInt4;
  return Status::InvalidArgument("--precision must be bf16, int8 or int4 (got '" + name + "')");
}

bool ServeOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& what) {
    if (error) *error = what;
    return false;
  };
  if (context < 1) return fail("--context must be >= 1");
  if (batch < 1) return fail("--batch must be >= 1");
  if (output_tokens < 0 || output_tokens >= context)
    return fail("--output-tokens must be >= 0 and less than --context (the prompt needs a token)");
  if (tp < 0 || pp < 0) return fail("--tp and --pp must be >= 0 (0: the fewest GPUs that fit)");
  if (int4_group_size < 1) return fail("int4_group_size must be >= 1");
  if (!(int4_group_bytes >= 0)) return fail("int4_group_bytes must be >= 0");
  if (!(kv_cache_bytes > 0)) return fail("--kv-bytes must be > 0");
  if (prefill_chunk_tokens < 1) return fail("prefill_chunk_tokens must be >= 1");
  if (!(decode_bandwidth_efficiency > 0 && decode_bandwidth_efficiency <= 1))
    return fail("decode_bandwidth_efficiency must be in (0, 1]");
  for (double us : layer_overhead_us)
    if (!(us >= 0)) return fail("layer_overhead_us must be >= 0");
  if (!(allreduce_base_us >= 0 && allreduce_per_peer_us >= 0))
    return fail("all-reduce latencies must be >= 0");
  if (!(prefill_matmul_efficiency > 0 && prefill_matmul_efficiency <= 1))
    return fail("prefill_matmul_efficiency must be in (0, 1]");
  if (!(collective_efficiency > 0 && collective_efficiency <= 1))
    return fail("collective_efficiency must be in (0, 1]");
  if (!(memory_fragmentation >= 0 && memory_fragmentation < 1))
    return fail("memory_fragmentation must be in [0, 1)");
  if (!(memory_reserved_gib >= 0)) return fail("memory_reserved_gib must be >= 0");
  return true;
}

Status EvaluateServing(const ModelShape& m, const ClusterSpec& cluster, const ServeOptions& o,
                       ServeSummary* out) {
  std::string error;
  if (!m.IsValid(&error)) return Status::InvalidArgument("model: " + error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  if (!o.IsValid(&error)) return Status::InvalidArgument("serving options: " + error);
  if (o.tp > 0 && !LayoutAllowed(m, o.tp))
    return Status::InvalidArgument("--tp " + std::to_string(o.tp) + " must divide heads (" +
                                   std::to_string(m.heads) + ") and divide or be a multiple of kv_heads (" +
                                   std::to_string(m.effective_kv_heads()) + ")");
  if (o.pp > m.layers)
    return Status::InvalidArgument("--pp " + std::to_string(o.pp) + " exceeds layers (" +
                                   std::to_string(m.layers) + ")");
  if (o.tp * std::max(o.pp, 1) > cluster.total_gpus())
    return Status::InvalidArgument("the replica needs " + std::to_string(o.tp * std::max(o.pp, 1)) +
                                   " GPUs; " + cluster.path + " has " + std::to_string(cluster.total_gpus()));

  ServeSummary s;
  s.cluster_name = cluster.name;
  s.gpu_model = cluster.gpu_model;
  s.options = o;
  s.hbm_bytes = cluster.hbm_gib * kGiB;
  s.memory_capacity_bytes = s.hbm_bytes * (1 - o.memory_fragmentation);
  {
    // Whole-model figures at this precision.
    ServeOptions one = o;
    one.batch = 1;
    double kv_seq = 0;
    const ServingMemory whole = ReplicaMemory(m, cluster, one, Replica{1, 1}, &kv_seq);
    s.weight_bytes_total = whole.weights;
    s.kv_bytes_per_token = kv_seq / o.context;
  }
  // Candidate layouts, fewest GPUs first: TP in powers of two up to a node, then pipeline stages
  // of whole nodes at full TP.
  std::vector<Replica> candidates;
  if (o.tp > 0 || o.pp > 0) {
    candidates.push_back(Replica{std::max(o.tp, 1), std::max(o.pp, 1)});
  } else {
    for (int tp = 1; tp <= cluster.gpus_per_node; tp *= 2)
      if (LayoutAllowed(m, tp)) candidates.push_back(Replica{tp, 1});
    int node_tp = 1;
    for (int tp = 1; tp <= cluster.gpus_per_node; tp *= 2)
      if (LayoutAllowed(m, tp)) node_tp = tp;
    for (int pp = 2; pp <= std::min(m.layers, cluster.nodes); ++pp)
      candidates.push_back(Replica{node_tp, pp});
  }
  if (candidates.empty())
    return Status::InvalidArgument("no tensor-parallel degree divides heads (" + std::to_string(m.heads) +
                                   ")");
  const Replica* chosen = nullptr;
  ServingMemory mem;
  double kv_seq = 0;
  for (const Replica& r : candidates) {
    mem = ReplicaMemory(m, cluster, o, r, &kv_seq);
    chosen = &r;
    if (mem.total() <= s.memory_capacity_bytes) break;
  }
  s.tp = chosen->tp;
  s.pp = chosen->pp;
  s.gpus_per_replica = s.tp * s.pp;
  s.memory = mem;
  s.fits = mem.total() <= s.memory_capacity_bytes;
  if (!s.fits) s.fit_reason = FitReason(mem, s.memory_capacity_bytes, *chosen, cluster);
  const double free_for_kv = s.memory_capacity_bytes - (mem.total() - mem.kv_cache);
  s.max_batch = kv_seq > 0 && free_for_kv > 0 ? static_cast<int>(std::floor(free_for_kv / kv_seq)) : 0;
  s.memory_utilization = mem.total() / (cluster.hbm_gib * kGiB);
  EvaluateReplica(m, cluster, o, *chosen, &s);
  *out = std::move(s);
  return Status::OK();
}

StatusOr<std::vector<ServeSummary>> EvaluateServingPrecisions(const ModelShape& m, const ClusterSpec& cluster,
                                                              const ServeOptions& options) {
  std::vector<ServeSummary> rows;
  for (WeightPrecision p : kAllPrecisions) {
    ServeOptions o = options;
    o.precision = p;
    ServeSummary s;
    ISOFLOP_RETURN_IF_ERROR(EvaluateServing(m, cluster, o, &s));
    rows.push_back(std::move(s));
  }
  return rows;
}

StatusOr<std::vector<ServingCost>> CostServing(const ModelShape& m, const ClusterSpec& cluster,
                                               const ServeOptions& options, const ServingDemand& demand) {
  if (!(demand.lifetime_tokens >= 0) || !std::isfinite(demand.lifetime_tokens))
    return Status::InvalidArgument("--serve-tokens must be >= 0");
  if (!(demand.requests_per_s >= 0) || !std::isfinite(demand.requests_per_s))
    return Status::InvalidArgument("--serve-qps must be >= 0");
  if (demand.requests_per_s > 0 && options.output_tokens < 1)
    return Status::InvalidArgument("--serve-qps needs --output-tokens (generated tokens per request, >= 1)");
  auto rows = EvaluateServingPrecisions(m, cluster, options);
  if (!rows.ok()) return rows.status();
  std::vector<ServingCost> costs;
  for (ServeSummary& r : *rows) {
    ServingCost c;
    c.replica = std::move(r);
    const ServeSummary& s = c.replica;
    if (demand.requests_per_s > 0 && s.fits) {
      // One replica serves `batch` requests at a time; each request holds its slot for its
      // prefill and its decode steps: busy seconds per request = (prefill + output x step) / batch.
      const double busy_s = (s.prefill_s + s.options.output_tokens * s.decode_step_s) / s.options.batch;
      c.replicas = std::ceil(demand.requests_per_s * busy_s - 1e-9);
      c.replicas = std::max(1.0, c.replicas);
      c.gpus = c.replicas * s.gpus_per_replica;
      c.usd_per_hour = c.replicas * s.replica_usd_per_hour;
      c.kw = c.replicas * s.replica_kw;
    }
    if (demand.lifetime_tokens > 0 && s.fits) {
      c.lifetime_gpu_hours = demand.lifetime_tokens / s.decode_tokens_per_s * s.gpus_per_replica / 3600.0;
      c.lifetime_usd = demand.lifetime_tokens / 1e6 * s.usd_per_million_tokens;
      c.lifetime_kwh = demand.lifetime_tokens / 1e6 * s.kwh_per_million_tokens;
    }
    costs.push_back(std::move(c));
  }
  return costs;
}

// ----- reports ---------------------------------------------------------------------------------------

std::string ServeSummary::BriefReport() const {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "%s: %d GPU(s) per replica (TP%d PP%d), %s/GPU%s, decode %.0f tok/s (%.1f ms/token), prefill %.0f "
      "tok/s, $%.3g and %.3g kWh per million tokens",
      PrecisionName(options.precision), gpus_per_replica, tp, pp,
      internal::FormatBytes(memory.total()).c_str(), fits ? "" : " (DOES NOT FIT)", decode_tokens_per_s,
      time_per_output_token_s * 1e3, prefill_tokens_per_s, usd_per_million_tokens, kwh_per_million_tokens);
  return buf;
}

std::string ServeSummary::FullReport() const {
  std::ostringstream out;
  char buf[256];
  out << "serving " << (model_name.empty() ? std::string("the model") : model_name) << " on " << gpu_model
      << " (" << cluster_name << "), " << PrecisionName(options.precision) << " weights, context "
      << options.context << ", batch " << options.batch << "\n";
  out << "replica: " << gpus_per_replica << " GPU(s), TP" << tp << " PP" << pp << "; "
      << (fits ? "fits in memory" : "DOES NOT FIT: " + fit_reason) << "\n";
  out << "memory per GPU:\n";
  auto mem = [&](const char* name, double bytes) {
    std::snprintf(buf, sizeof buf, "  %-16s %10.2f GiB\n", name, bytes / kGiB);
    out << buf;
  };
  mem("weights", memory.weights);
  mem("KV cache", memory.kv_cache);
  mem("activations", memory.activations);
  mem("reserved", memory.reserved);
  mem("total", memory.total());
  mem("usable", memory_capacity_bytes);
  std::snprintf(buf, sizeof buf,
                "  largest batch at this context: %d sequences (KV cache %.3g MiB per token)\n", max_batch,
                kv_bytes_per_token / (1024.0 * 1024.0));
  out << buf;
  out << "decode step (" << (decode_memory_bound ? "memory-bound" : "compute-bound") << ", KV length "
      << decode_kv_length << "):\n";
  auto ms = [&](const char* name, double s) {
    std::snprintf(buf, sizeof buf, "  %-16s %10.3f ms\n", name, s * 1e3);
    out << buf;
  };
  ms("weights read", decode_weights_s);
  ms("KV cache read", decode_kv_s);
  ms("compute", decode_compute_s);
  ms("layer overhead", decode_overhead_s);
  ms("communication", decode_comm_s);
  ms("step", decode_step_s);
  std::snprintf(
      buf, sizeof buf,
      "throughput: decode %.0f tokens/s per replica (%.0f per GPU, %.1f ms per output token), prefill "
      "%.0f tokens/s (%d-token prompts, TTFT %.0f ms)\n",
      decode_tokens_per_s, decode_tokens_per_s_per_gpu, time_per_output_token_s * 1e3, prefill_tokens_per_s,
      prompt_tokens, ttft_s * 1e3);
  out << buf;
  std::snprintf(buf, sizeof buf,
                "utilisation: memory %.0f%%, HBM bandwidth %.0f%%, compute %.1f%% of peak during decode\n",
                memory_utilization * 100, bandwidth_utilization * 100, compute_utilization * 100);
  out << buf;
  std::snprintf(
      buf, sizeof buf,
      "cost: $%.4g per million generated tokens, $%.4g per million prompt tokens; energy %.4g kWh and %.4g "
      "kWh per million\n",
      usd_per_million_tokens, usd_per_million_prompt_tokens, kwh_per_million_tokens,
      kwh_per_million_prompt_tokens);
  out << buf;
  return out.str();
}

namespace {

nlohmann::json SummaryJson(const ServeSummary& s) {
  nlohmann::json j;
  j["precision"] = PrecisionName(s.options.precision);
  j["cluster"] = s.cluster_name;
  j["gpu_model"] = s.gpu_model;
  j["context"] = s.options.context;
  j["output_tokens"] = s.options.output_tokens;
  j["prompt_tokens"] = s.prompt_tokens;
  j["batch"] = s.options.batch;
  j["kv_cache_bytes_per_element"] = s.options.kv_cache_bytes;
  j["tp"] = s.tp;
  j["pp"] = s.pp;
  j["gpus_per_replica"] = s.gpus_per_replica;
  j["fits"] = s.fits;
  if (!s.fits) j["fit_reason"] = s.fit_reason;
  j["memory_per_gpu_bytes"] = s.memory.total();
  j["memory_bytes"] = {{"weights", s.memory.weights},         {"kv_cache", s.memory.kv_cache},
                       {"activations", s.memory.activations}, {"reserved", s.memory.reserved},
                       {"total", s.memory.total()},           {"usable", s.memory_capacity_bytes}};
  j["weight_bytes_total"] = s.weight_bytes_total;
  j["kv_bytes_per_token"] = s.kv_bytes_per_token;
  j["max_batch"] = s.max_batch;
  j["decode_kv_length"] = s.decode_kv_length;
  j["decode_step_s"] = {{"step", s.decode_step_s},         {"weights", s.decode_weights_s},
                        {"kv_cache", s.decode_kv_s},       {"compute", s.decode_compute_s},
                        {"overhead", s.decode_overhead_s}, {"communication", s.decode_comm_s}};
  j["decode_memory_bound"] = s.decode_memory_bound;
  j["decode_tokens_per_s"] = s.decode_tokens_per_s;
  j["decode_tokens_per_s_per_gpu"] = s.decode_tokens_per_s_per_gpu;
  j["time_per_output_token_s"] = s.time_per_output_token_s;
  j["prefill_s"] = s.prefill_s;
  j["prefill_tokens_per_s"] = s.prefill_tokens_per_s;
  j["ttft_s"] = s.ttft_s;
  j["memory_utilization"] = s.memory_utilization;
  j["bandwidth_utilization"] = s.bandwidth_utilization;
  j["compute_utilization"] = s.compute_utilization;
  j["usd_per_million_tokens"] = s.usd_per_million_tokens;
  j["kwh_per_million_tokens"] = s.kwh_per_million_tokens;
  j["usd_per_million_prompt_tokens"] = s.usd_per_million_prompt_tokens;
  j["kwh_per_million_prompt_tokens"] = s.kwh_per_million_prompt_tokens;
  return j;
}

}  // namespace

std::string ServeSummary::ToJson() const {
  return SummaryJson(*this).dump(2);
}

std::string ServingJson(const std::vector<ServeSummary>& rows) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : rows) j.push_back(SummaryJson(s));
  return j.dump(2);
}

std::string ServingTable(const std::vector<ServeSummary>& rows) {
  std::ostringstream out;
  char buf[320];
  std::snprintf(buf, sizeof buf, "%-9s %5s %9s %6s %11s %10s %11s %10s %11s %11s\n", "precision", "GPUs",
                "GiB/GPU", "fits", "max batch", "ms/token", "decode t/s", "prefill", "$/M tok", "kWh/M tok");
  out << buf;
  for (const auto& s : rows) {
    std::snprintf(buf, sizeof buf, "%-9s %5d %9.1f %6s %11d %10.2f %11.0f %10.0f %11.4g %11.4g\n",
                  PrecisionName(s.options.precision), s.gpus_per_replica, s.memory.total() / kGiB,
                  s.fits ? "yes" : "NO", s.max_batch, s.time_per_output_token_s * 1e3, s.decode_tokens_per_s,
                  s.prefill_tokens_per_s, s.usd_per_million_tokens, s.kwh_per_million_tokens);
    out << buf;
  }
  return out.str();
}

std::string ServingCostsJson(const std::vector<ServingCost>& costs, const ServingDemand& demand) {
  nlohmann::json j;
  j["lifetime_tokens"] = demand.lifetime_tokens;
  j["requests_per_s"] = demand.requests_per_s;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : costs) {
    nlohmann::json r = SummaryJson(c.replica);
    if (demand.requests_per_s > 0) {
      r["replicas"] = c.replicas;
      r["gpus"] = c.gpus;
      r["usd_per_hour"] = c.usd_per_hour;
      r["kw"] = c.kw;
    }
    if (demand.lifetime_tokens > 0) {
      r["lifetime_gpu_hours"] = c.lifetime_gpu_hours;
      r["lifetime_usd"] = c.lifetime_usd;
      r["lifetime_kwh"] = c.lifetime_kwh;
    }
    rows.push_back(std::move(r));
  }
  j["precisions"] = std::move(rows);
  return j.dump(2);
}

std::string ServingCostsTable(const std::vector<ServingCost>& costs, const ServingDemand& demand) {
  std::vector<ServeSummary> replicas;
  for (const auto& c : costs) replicas.push_back(c.replica);
  std::ostringstream out;
  out << ServingTable(replicas);
  char buf[320];
  for (const auto& c : costs) {
    if (!c.replica.fits) {
      std::snprintf(buf, sizeof buf, "  %s: does not fit: %s\n", PrecisionName(c.replica.options.precision),
                    c.replica.fit_reason.c_str());
      out << buf;
      continue;
    }
    if (demand.requests_per_s > 0) {
      std::snprintf(buf, sizeof buf,
                    "  %s: %.3g requests/s need %.0f replica(s), %.0f GPUs, $%.4g/h, %.4g kW\n",
                    PrecisionName(c.replica.options.precision), demand.requests_per_s, c.replicas, c.gpus,
                    c.usd_per_hour, c.kw);
      out << buf;
    }
    if (demand.lifetime_tokens > 0) {
      std::snprintf(buf, sizeof buf, "  %s: %s lifetime tokens: %.4g GPU-hours, $%.4g, %.4g kWh\n",
                    PrecisionName(c.replica.options.precision),
                    internal::FormatCount(demand.lifetime_tokens).c_str(), c.lifetime_gpu_hours,
                    c.lifetime_usd, c.lifetime_kwh);
      out << buf;
    }
  }
  return out.str();
}

}  // namespace isoflop::planner
