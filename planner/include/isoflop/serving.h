// Serving cost: what a trained model costs to serve, per precision of its weights.
//
// For one model on one cluster at a given context length and decode batch, EvaluateServing
// sizes one replica (the fewest GPUs whose memory holds the weights at bf16, int8 or int4, the KV
// cache of the batch and a prefill working set), predicts decode and prefill throughput from a
// roofline of the decode step (memory-bound at small batch: every step streams the weights and
// the KV cache from HBM; Williams et al. 2009; Pope et al. 2022 Sec. 2-3) and of the prefill
// (compute-bound), and prices them in dollars and kWh per million tokens. Formulas, calibration
// and validation against published decode throughput: docs/planner.md, "Serving".
//
//   isoflop::planner::ServeOptions options;        // defaults: bf16, context 4096, batch 1
//   options.precision = isoflop::planner::WeightPrecision::kInt4;
//   isoflop::planner::ServeSummary summary;
//   isoflop::Status st = isoflop::planner::EvaluateServing(model, cluster, options, &summary);
//   std::cout << summary.FullReport();
#ifndef ISOFLOP_SERVING_H_
#define ISOFLOP_SERVING_H_

#include <string>
#include <vector>

#include "isoflop/model_shape.h"
#include "isoflop/status.h"

namespace isoflop::planner {

struct ClusterSpec;  // isoflop/planner.h

// Weight precision of the served model: bf16, or weight-only quantisation with bf16 activations
// (W8A16 per-channel int8, W4A16 group-wise int4 as in GPTQ/AWQ/gpt-fast): the matmuls still run
// on bf16 tensor cores, so quantisation shrinks memory and the bytes a decode step reads, not the
// FLOPs.
enum class WeightPrecision { kBf16, kInt8, kInt4 };
const char* PrecisionName(WeightPrecision p);  // "bf16", "int8", "int4"
StatusOr<WeightPrecision> ParsePrecision(const std::string& name);
inline constexpr WeightPrecision kAllPrecisions[] = {WeightPrecision::kBf16, WeightPrecision::kInt8,
                                                     WeightPrecision::kInt4};

struct ServeOptions {
  WeightPrecision precision = WeightPrecision::kBf16;
  // Tokens held in each sequence's KV cache (prompt + generated): sizes the cache.
  int context = 4096;
  // Tokens generated per request. 0: every decode step sees the full context (the most
  // expensive step); otherwise the prompt is context - output_tokens and the decode step is
  // evaluated at the mean KV length over the generation, context - output_tokens / 2.
  int output_tokens = 0;
  int batch = 1;  // sequences decoded together on one replica
  // A fixed replica layout (tensor x pipeline parallel); 0: the fewest GPUs that fit (TP in powers
  // of two up to a node, then pipeline stages of whole nodes).
  int tp = 0;
  int pp = 0;
  // Quantisation format. int8: one bf16 scale per output channel (negligible). int4: groups of
  // int4_group_size weights sharing int4_group_bytes of scale and zero point: AWQ/GPTQ's group 128
  // with a bf16 scale and zero, 0.5 + 4/128 bytes per weight (gpt-fast: group 32, 4 bytes).
  int int4_group_size = 128;
  double int4_group_bytes = 4;
  // Whether the output layer (the V x d_model logits matrix) is quantised too. AWQ and GPTQ keep
  // it in 16 bits (the default); gpt-fast quantises every linear layer. The input embedding
  // always stays bf16 (a lookup reads one row).
  bool quantize_output_layer = false;
  double kv_cache_bytes = 2;  // bytes per cached K or V element: 2 (bf16), 1 (fp8/int8 KV cache)
  // Tokens of one prefill chunk (vLLM's max_num_batched_tokens): sizes the activation working set.
  int prefill_chunk_tokens = 8192;
  // Calibrated constants (docs/planner.md "Serving"): CalibrateServing's weighted least-squares
  // fit on the calibration rows of tests/data/serving_published.csv, checked on the held-out rows.
  // Fraction of the HBM bandwidth a decode step's weight and KV streaming achieves.
  double decode_bandwidth_efficiency = 0.703;
  // Fixed time per transformer layer per decode step (kernel launches and tails, the
  // dequantisation's set-up), by precision: bf16, int8, int4.
  double layer_overhead_us[3] = {8.7, 59.9, 72.5};
  // Latency of one small-message all-reduce over n GPUs, base + per_peer x (n - 1): the one-shot
  // all-reduce inference engines use for decode-sized messages (vLLM custom_all_reduce, PyTorch's
  // intra-node comm), not NCCL's ring latency. Two per layer under tensor parallelism.
  double allreduce_base_us = 18.6;
  double allreduce_per_peer_us = 0.86;
  // Fraction of dense bf16 peak the prefill GEMMs reach (the training model's matmul efficiency).
  double prefill_matmul_efficiency = 0.66;
  double collective_efficiency = 0.60;  // fraction of link bandwidth a ring collective achieves
  // Memory: unusable fraction of HBM (vLLM's gpu_memory_utilization 0.9) and CUDA context/workspace.
  double memory_fragmentation = 0.10;
  double memory_reserved_gib = 2.0;
  bool IsValid(std::string* error) const;
};

struct ServingMemory {  // bytes per GPU on the most loaded GPU of the replica
  double weights = 0, kv_cache = 0, activations = 0, reserved = 0;
  double total() const { return weights + kv_cache + activations + reserved; }
};

struct ServeSummary {
  std::string model_name, cluster_name, gpu_model;
  ServeOptions options;
  int tp = 1, pp = 1, gpus_per_replica = 1;
  bool fits = false;
  std::string fit_reason;  // why not, term by term
  ServingMemory memory;
  double memory_capacity_bytes = 0;  // usable per GPU
  double hbm_bytes = 0;              // per GPU
  double weight_bytes_total = 0;     // the whole model at this precision
  double kv_bytes_per_token = 0;     // one token's K and V over all layers (whole model)
  int max_batch = 0;                 // the largest batch whose KV cache fits at this context
  double decode_kv_length = 0;       // KV length the decode step is evaluated at
  int prompt_tokens = 0;             // prefilled tokens per request
  // One decode step of the whole batch (seconds), by term.
  double decode_step_s = 0, decode_weights_s = 0, decode_kv_s = 0, decode_compute_s = 0,
         decode_overhead_s = 0, decode_comm_s = 0;
  bool decode_memory_bound = true;
  double decode_tokens_per_s = 0;  // per replica: batch / step
  double decode_tokens_per_s_per_gpu = 0;
  double time_per_output_token_s = 0;  // per user: one step
  // Prefill of the batch's prompts.
  double prefill_s = 0, prefill_tokens_per_s = 0;  // per replica
  double ttft_s = 0;                               // prefill + one decode step
  // EfficientLLM-style utilisation of the decode step (Yuan et al. 2024 metrics).
  double memory_utilization = 0;     // memory.total() / HBM
  double bandwidth_utilization = 0;  // bytes read per step / (step x HBM bandwidth), MBU
  double compute_utilization = 0;    // decode FLOPs / (step x peak)
  // Cost and energy per million tokens at the decode rate (generated tokens) and the prefill rate
  // (prompt tokens): the replica's GPU-hours x price; GPU board power plus the node's host and
  // network share, x PUE.
  double replica_usd_per_hour = 0, replica_kw = 0;
  double usd_per_million_tokens = 0, kwh_per_million_tokens = 0;
  double usd_per_million_prompt_tokens = 0, kwh_per_million_prompt_tokens = 0;
  std::string BriefReport() const;
  std::string FullReport() const;
  std::string ToJson() const;
};

// Evaluates serving `model` on `cluster`. kInvalidArgument for bad options or a malformed fixed
// layout (tp not dividing the heads); a replica that does not fit (a fixed layout, or the largest
// one the cluster has) returns OK with fits == false and the reason.
Status EvaluateServing(const ModelShape& model, const ClusterSpec& cluster, const ServeOptions& options,
                       ServeSummary* summary);

// The same for bf16, int8 and int4 (options.precision ignored), in that order.
StatusOr<std::vector<ServeSummary>> EvaluateServingPrecisions(const ModelShape& model,
                                                              const ClusterSpec& cluster,
                                                              const ServeOptions& options);
// A side-by-side table of the precisions, and their JSON array (each element ServeSummary::ToJson's).
std::string ServingTable(const std::vector<ServeSummary>& rows);
std::string ServingJson(const std::vector<ServeSummary>& rows);

// ---------------------------------------------------------------------------------------------
// Serving demand in a plan: a lifetime token count, or a request rate.

struct ServingDemand {
  double lifetime_tokens = 0;  // generated tokens over the model's life (--serve-tokens)
  double requests_per_s = 0;   // --serve-qps: requests of options.output_tokens generated tokens
  bool any() const { return lifetime_tokens > 0 || requests_per_s > 0; }
};

struct ServingCost {  // one precision under a demand
  ServeSummary replica;
  double replicas = 0;  // for the request rate (ceil); 0 without one
  double gpus = 0;      // replicas x GPUs per replica
  double usd_per_hour = 0, kw = 0;
  double lifetime_gpu_hours = 0, lifetime_usd = 0, lifetime_kwh = 0;  // for the lifetime tokens
};

// The replica for each precision and what the demand costs: the lifetime tokens at the replica's
// decode rate (GPU-hours, dollars, kWh), and the replicas a request rate needs (each request holds
// its replica for prompt / prefill rate + output tokens / decode rate, the replica serving
// `batch` requests at once).
StatusOr<std::vector<ServingCost>> CostServing(const ModelShape& model, const ClusterSpec& cluster,
                                               const ServeOptions& options, const ServingDemand& demand);
// The precisions' table with what the demand costs, and JSON: {"lifetime_tokens", "requests_per_s",
// "precisions": [ServeSummary::ToJson's keys + replicas, gpus, usd_per_hour, kw, lifetime_gpu_hours,
// lifetime_usd, lifetime_kwh]}.
std::string ServingCostsTable(const std::vector<ServingCost>& costs, const ServingDemand& demand);
std::string ServingCostsJson(const std::vector<ServingCost>& costs, const ServingDemand& demand);

// ---------------------------------------------------------------------------------------------
// Validation against published decode throughput (tests/data/serving_published.csv).

struct PublishedServing {
  std::string id, source, split;  // split: "calibration" or "held_out"
  std::string cluster;            // configs/clusters/<cluster>.yaml
  ModelShape model;
  ServeOptions options;               // precision, tp, context, batch, quantisation format
  double published_tokens_per_s = 0;  // decode tokens/s per replica (NaN if not published)
  std::string published_fit;          // "", "fits" or "oom": a published fit / out-of-memory result
  bool held_out() const { return split == "held_out"; }
};

struct ServingValidation {
  PublishedServing row;
  ServeSummary predicted;
  double error = 0;  // predicted / published - 1 (decode throughput); NaN without a figure
  bool fit_agrees = true;
};

StatusOr<std::vector<PublishedServing>> LoadPublishedServing(const std::string& csv_path);
// Evaluates every row on its own cluster file under `clusters_dir`, with the constants of
// `calibration` and each row's own setting.
StatusOr<std::vector<ServingValidation>> ValidateServing(const std::vector<PublishedServing>& rows,
                                                         const std::string& clusters_dir,
                                                         const ServeOptions& calibration);
// Fits decode_bandwidth_efficiency, layer_overhead_us (per precision) and the all-reduce latency
// (base, per peer) to the calibration rows' published decode throughput: the decode step is
// linear in 1/efficiency and the four latencies, so minimising the squared relative error is a
// weighted linear least-squares problem (solved exactly). The other fields come from `start`.
StatusOr<ServeOptions> CalibrateServing(const std::vector<PublishedServing>& rows,
                                        const std::string& clusters_dir, const ServeOptions& start);
std::string ServingValidationMarkdown(const std::vector<ServingValidation>& results);

}  // namespace isoflop::planner

#endif  // ISOFLOP_SERVING_H_
