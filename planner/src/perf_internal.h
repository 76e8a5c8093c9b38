// Internals of the performance model, shared by its translation units: the hardware rates
// derived from a cluster file (hardware.cc), the GEMM and collective cost functions
// (gemm_model.cc, collectives.cc), the memory terms (memory_model.cc) and the time terms
// (time_model.cc). Each memory and time term is a separate, named function so that new model
// families (mixture-of-experts, issue 14) add terms instead of editing existing ones.
#ifndef ISOFLOP_PLANNER_PERF_INTERNAL_H_
#define ISOFLOP_PLANNER_PERF_INTERNAL_H_

#include <string>

#include "isoflop/planner.h"
#include "planner_internal.h"  // the Format* helpers (format.cc)

namespace isoflop::planner::internal {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;

// ----- hardware (hardware.cc) --------------------------------------------------------------------

struct Hardware {
  double peak_flops = 0;       // dense bf16 peak, FLOP/s
  double matmul_flops = 0;     // MAMF x matmul_efficiency: a large, well-shaped GEMM
  double attention_flops = 0;  // MAMF x attention_efficiency: fused attention on executed FLOPs
  double hbm_bytes_per_s = 0;
  int sm_count = 132;
  int gpus_per_node = 8;
  int nvlink_domain = 8;              // GPUs that share NVLink
  double intra_bytes_per_s = 0;       // NVLink bus bandwidth a ring achieves
  double inter_bytes_per_s = 0;       // NIC bus bandwidth a ring achieves
  double base_latency_s = 0;          // per collective
  double intra_hop_latency_s = 0;     // per ring step on NVLink
  double inter_hop_latency_s = 0;     // per ring (or tree) step on the network
  double usable_bytes = 0;            // HBM less fragmentation margin
  double reserved_bytes = 0;
};
Hardware MakeHardware(const ClusterSpec& cluster, const PerfOptions& options);

// ----- GEMMs (gemm_model.cc) -----------------------------------------------------------------------

// Seconds for `batch` independent bf16 GEMMs C[m x n] = A[m x k] B[k x n] on one GPU: the larger
// of the compute time (tile and wave quantisation with 128 x 128 output tiles on the SMs) and the
// HBM time (reading A and B, writing C): a roofline (Williams et al. 2009) with the quantisation
// of NVIDIA's "Matrix Multiplication Background" guide.
double GemmSeconds(double m, double n, double k, const Hardware& hw, double batch = 1);

// ----- collectives (collectives.cc) -----------------------------------------------------------------

// A communication group of `ranks` GPUs whose consecutive members are `stride` ranks apart in
// Megatron's rank order (TP innermost, then CP, DP, PP): on NVLink while it fits in one NVLink
// domain, on the network otherwise.
struct Group {
  int ranks = 1;
  int stride = 1;
};
// Ring all-reduce: 2 (n-1)/n x bytes through each GPU's link (Patarasuk & Yuan 2009; NCCL's bus
// bandwidth), plus NCCL's latency (base + per-step hop latency; tree steps across nodes).
double AllReduceSeconds(double bytes, const Group& group, const Hardware& hw);
// All-gather or reduce-scatter of a `bytes` buffer (the gathered size): half of the all-reduce.
double AllGatherSeconds(double bytes, const Group& group, const Hardware& hw);
// One point-to-point transfer between neighbours of `group`.
double SendRecvSeconds(double bytes, const Group& group, const Hardware& hw);
// All-to-all in which every GPU of `group` sends `bytes` (its whole buffer, 1/n of it to each
// member including itself): the share for members in the same NVLink domain crosses NVLink, the
// rest the GPU's NIC, both at once (NCCL's all-to-all is point-to-point sends to every peer).
double AllToAllSeconds(double bytes, const Group& group, const Hardware& hw);
// Latency part alone of one all-gather / reduce-scatter (for reports).
double CollectiveLatencySeconds(const Group& group, bool all_reduce, const Hardware& hw);

// ----- model counts (memory_model.cc) ------------------------------------------------------------

double LayerParams(const ModelShape& m);         // one transformer layer, norms and biases included
                                                 // (for a mixture of experts: the mean over layers)
// The routed experts' share of LayerParams (mean over layers; 0 for a dense model): split over ep.
double LayerExpertParams(const ModelShape& m);
double EmbeddingParams(const ModelShape& m);     // input embedding (+ learned positions)
double OutputLayerParams(const ModelShape& m);   // untied output layer, or the tied copy Megatron
                                                 // keeps on the last rank when pp > 1 (0 at pp == 1)

// Bytes of activations one transformer layer stores for one micro-batch of b sequences, divided
// over tensor (with sequence parallelism) and context parallelism, for the model's architecture
// (docs/planner.md §3): `stored` without recomputation; `flash` drops the s^2 score terms.
double LayerActivationBytes(const ModelShape& m, int b, int t, int c, bool flash, double moe_imbalance = 1.0);
double LayerInputBytes(const ModelShape& m, int b, int t, int c);  // what full recompute keeps
double LogitsBytes(const ModelShape& m, int b, int t, int c);       // bf16 logits + fp32 loss

// ----- the per-replica model (time_model.cc) -------------------------------------------------------

// Everything about one model replica (TP x CP x PP with its micro-batch, stage split and
// recomputation) that does not depend on DP, ZeRO or the number of micro-batches. The layout
// search builds one per replica shape and finishes it for every DP x ZeRO cheaply.
struct ReplicaModel {
  ModelShape model;
  int t = 1, c = 1, p = 1, v = 1, b = 1, e = 1;  // e: expert parallel
  Recompute recompute = Recompute::kSelective;
  StageLayers split;
  // Per micro-batch, per transformer layer (seconds): GEMMs forward and backward (and the
  // recomputed forward), attention, element-wise, exposed TP and CP communication.
  double layer_gemm_s = 0, layer_attention_s = 0, layer_elementwise_s = 0, layer_tp_s = 0, layer_cp_s = 0,
         layer_latency_s = 0;
  double layer_ep_s = 0;  // mixture of experts: all-to-all (+ expert TP) per layer, mean over layers
  double layer_fwd_compute_s = 0, layer_bwd_compute_s = 0;  // compute only, for overlap windows
  double output_gemm_s = 0, output_elementwise_s = 0;  // last rank: output layer and loss
  double output_fwd_s = 0, output_bwd_s = 0;           // compute only, for overlap windows
  double embedding_s = 0;   // first rank: embedding lookup and its gradient
  double pp_bytes = 0;      // one activation (or gradient) transfer between ranks
  double gemm_efficiency = 0;  // achieved / MAMF over the layer GEMMs (report)
  // Memory per micro-batch in flight, per layer.
  double act_per_layer = 0, act_working_set = 0, logits_bytes = 0;
  double layer_params_gpu = 0, embedding_params_gpu = 0, output_params_gpu = 0;  // per GPU (/ t)
  // The routed experts' part per layer and GPU (/ t e), sharded by ZeRO over dp c / e ranks; not
  // included in layer_params_gpu.
  double layer_expert_params_gpu = 0;
  double model_flops_per_token = 0, hardware_flops_per_token = 0;
  double RankSeconds(int layers, bool first, bool last) const;  // one micro-batch through a rank
};
// Fills a ReplicaModel; the layout must be well-formed (EvaluatePerf checks it).
void BuildReplica(const ModelShape& m, const Hardware& hw, const PerfOptions& options, int t, int c, int p,
                  int v, int b, Recompute recompute, const StageLayers& split, ReplicaModel* out, int e = 1);

// The per-replica memory quantities of a ReplicaModel (parameters per GPU, activations per layer
// and micro-batch for its recomputation, logits); BuildReplica calls it.
void FillReplicaMemory(const ModelShape& m, const PerfOptions& options, ReplicaModel* r);

// Memory of every pipeline rank for a finished layout (memory_model.cc): fills summary->memory
// (the most loaded rank), memory_rank, memory_first, memory_last.
void RankMemory(const ReplicaModel& r, const ParallelConfig& cfg, const PerfOptions& options,
                const Hardware& hw, PerfSummary* summary);
// A lower bound of the per-GPU memory of any layout with this replica shape and DP (the most
// sharding ZeRO allows, no activations): the search prunes on it.
double StateMemoryLowerBound(const ModelShape& m, int t, int c, int p, int d, const StageLayers& split,
                             const PerfOptions& options, bool allow_zero3, int e = 1);

// Time of a finished layout (time_model.cc): every time field of the summary, tokens/s, MFU.
void StepTime(const ReplicaModel& r, const ParallelConfig& cfg, const PerfOptions& options, const Hardware& hw,
              PerfSummary* summary);

// The whole model on one layout (perf_model.cc); `explain` formats the reason of an infeasible
// layout (the search skips it: formatting costs more than the model).
void FinishLayout(const ReplicaModel& r, const ParallelConfig& cfg, const PerfOptions& options,
                  const Hardware& hw, bool explain, PerfSummary* out);

}  // namespace isoflop::planner::internal

#endif  // ISOFLOP_PLANNER_PERF_INTERNAL_H_
