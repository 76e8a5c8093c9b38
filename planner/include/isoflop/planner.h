// The planner: "we have this budget and this cluster — what do we train, and how do we lay it out?"
//
// From a fitted (or published) scaling law L(N, D) = E + A/N^alpha + B/D^beta and an analytical
// performance model of a GPU cluster, it picks the compute-optimal parameter count N and token
// count D, a concrete transformer shape near N, and the fastest parallel layout
// (TP x PP (interleaved) x DP x CP, micro-batch, ZeRO stage, activation recomputation) that fits
// in GPU memory, with predicted step time, MFU/HFU, wall-clock, GPU-hours, cost, energy and CO2.
//
// Public API in Ceres' habit: Options structs whose defaults work (IsValid), one call per job
// (Plan, EvaluatePerf), Summary structs with BriefReport()/FullReport()/ToJson(). No exception
// escapes: every boundary returns isoflop::Status / StatusOr<T>. Every formula is cited in
// docs/planner.md (paper and equation) and beside its implementation in planner/src/.
#ifndef ISOFLOP_PLANNER_H_
#define ISOFLOP_PLANNER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "isoflop/fit_record.h"
#include "isoflop/model_shape.h"
#include "isoflop/prediction.h"
#include "isoflop/serving.h"
#include "isoflop/status.h"

namespace isoflop::planner {

struct LaunchOptions;  // isoflop/engines.h

// ---------------------------------------------------------------------------------------------
// Cluster (YAML; keys documented in docs/planner.md, examples in configs/clusters/).

struct ClusterSpec {
  std::string name;               // "h100-sxm"
  std::string gpu_model;          // "H100-SXM5-80GB"
  double peak_bf16_tflops = 0;    // dense bf16 tensor-core peak per GPU (no sparsity)
  double hbm_gib = 0;             // memory per GPU
  double hbm_bandwidth_gb_s = 0;  // HBM bandwidth per GPU, GB/s
  int gpus_per_node = 0;
  int nodes = 0;
  double intra_node_bandwidth_gb_s = 0;  // per GPU, one direction (NVLink)
  double inter_node_bandwidth_gb_s = 0;  // per GPU, one direction (InfiniBand/RoCE NIC)
  double price_usd_per_gpu_hour = 0;
  double gpu_power_w = 0;        // board power at full load (TDP)
  double pue = 1.0;              // data-centre power usage effectiveness
  double grid_gco2_per_kwh = 0;  // carbon intensity of the grid
  // Optional keys, each with a documented default (docs/planner.md, "Cluster files"):
  // measured maximum achievable bf16 matmul TFLOP/s (MAMF; gpu.matmul_tflops, default 0.8 x peak),
  double matmul_tflops = 0;
  int sm_count = 0;                    // gpu.sm_count (default 132): wave quantisation of GEMMs
  double idle_power_w = 0;             // gpu.idle_power_w (default 10% of gpu.power_w)
  double host_power_w_per_node = 0;    // node.host_power_w (default 350 W per GPU of the node)
  double network_power_w_per_node = 0; // network.power_w_per_node (default 80 W per GPU)
  int nvlink_domain_gpus = 0;          // network.nvlink_domain_gpus (default gpus_per_node)
  // NCCL's ring latencies (src/graph/tuning.cc): per hop on NVLink / on the network, and the
  // base latency of one collective (network.intra_node_latency_us, inter_node_latency_us,
  // collective_base_latency_us; defaults 3.4, 14, 8.4 us).
  double intra_node_latency_us = 0, inter_node_latency_us = 0, collective_base_latency_us = 0;
  std::string path;              // where it was read from

  int total_gpus() const { return gpus_per_node * nodes; }
  // Field-by-field check; the error names `path` and the field.
  bool IsValid(std::string* error) const;
  // Fills every optional key left at 0 with its documented default (LoadClusterYaml does it).
  void FillDefaults();
};

// Reads a cluster file. Missing file -> kNotFound; missing, non-numeric, zero or negative field
// -> kInvalidArgument naming the file and the field ("configs/clusters/x.yaml: field
// 'gpu.peak_bf16_tflops' is missing").
StatusOr<ClusterSpec> LoadClusterYaml(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Model shape (YAML; the same keys the trainer reads: docs/interfaces.md).

// The model shape and its parameter/FLOP counts are the one shared type (isoflop/model_shape.h);
// mlp gelu is the GPT/Megatron block (biases, LayerNorm, learned positions, tied embeddings),
// swiglu the LLaMA block (no biases, RMSNorm, RoPE, untied output layer), unless the shape's
// architecture fields say otherwise. Parameter counts in docs/planner.md.
using isoflop::Mlp;
using isoflop::MlpName;
using isoflop::ModelShape;

StatusOr<ModelShape> LoadModelYaml(const std::string& path);
Status SaveModelYaml(const ModelShape& shape, const std::string& path);

// The scaling law and its fit.json come from the scaling-law core (isoflop/fit_record.h,
// isoflop/prediction.h): the planner plans with a FitRecord — a fitted law with its provenance and
// replicates, or a published one (isoflop::LoadLaw("hoffmann" | "epoch" | fit.json)).

// ---------------------------------------------------------------------------------------------
// Shape search.

struct ShapeSearchOptions {
  int vocab = 51200;
  int seq_len = 2048;
  Mlp mlp = Mlp::kSwiglu;
  int width_multiple = 128;  // d_model and ffn are multiples of this (tensor-core friendly)
  int head_dim = 128;        // preferred head dimension (64 for small widths)
  int tp_divisor = 8;        // heads and kv_heads divisible by this (TP up to a node); 1 to ignore
  double tolerance = 0.02;   // |N(shape)/n - 1| <= tolerance
  // Which count n means: the law's convention (kUnknown counts as kTotal).
  ParamsConvention convention = ParamsConvention::kTotal;
  // Architecture details given to every candidate (unset: the family of `mlp`). TrainerArchitecture()
  // sizes shapes as `isoflop train` builds them (the demo's validation run).
  std::optional<isoflop::Norm> norm;
  std::optional<isoflop::Position> position;
  std::optional<bool> biases, tied_embeddings;
  // Depth/width aspect: d_model/layers inside the flat optimum of Kaplan et al. 2020 (Fig. 5:
  // aspect 50..200 within ~3% loss) — bounds below.
  double min_aspect = 32;
  double max_aspect = 256;
  int max_results = 8;
  bool IsValid(std::string* error) const;
};

// Shapes whose parameter count in `convention` is within `tolerance` of n, best first (aspect nearest 100 — the
// centre of Kaplan's flat region — then smallest parameter error). Empty if none exists.
std::vector<ModelShape> ShapesForParams(double n, const ShapeSearchOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Parallel layout and the performance model (memory: planner/src/memory_model.cc, time:
// time_model.cc and gemm_model.cc, composed in perf_model.cc; formulas in docs/planner.md §3-4).

enum class Recompute { kNone, kSelective, kFull };
const char* RecomputeName(Recompute r);
StatusOr<Recompute> ParseRecompute(const std::string& s);

struct ParallelConfig {
  int tp = 1;            // tensor parallel (with sequence parallelism when tp > 1)
  int pp = 1;            // pipeline stages (ranks)
  int dp = 1;            // data parallel replicas
  int cp = 1;            // context parallel (ring attention)
  // Expert parallel (mixture of experts only): the routed experts of every MoE layer are split over
  // ep ranks taken from the DP x CP ranks of a pipeline stage, each expert tensor-parallel over the
  // same tp (Megatron-Core's expert rank generator with --expert-tensor-parallel-size left at its
  // default, tp: megatron/core/parallel_state.py @ 934c8260); ep divides dp x cp and experts.
  int ep = 1;
  int vpp = 1;           // interleaved virtual stages per pipeline rank
  int micro_batch = 1;   // sequences per micro-batch
  int global_batch = 1;  // sequences per optimiser step
  int zero = 1;          // ZeRO stage 0..3 (Rajbhandari et al. 2020); 1 = distributed optimiser
  Recompute recompute = Recompute::kSelective;
  // Transformer layers on the first and on the last pipeline rank; 0 = the default split (below).
  // Moving layers off the end ranks balances the embedding / output layer and the first rank's
  // in-flight activations (Megatron-Core --decoder-first-pipeline-num-layers and
  // --decoder-last-pipeline-num-layers; LLaMA-3, Dubey et al. 2024 Sec. 3.3.2).
  int first_stage_layers = 0;
  int last_stage_layers = 0;
  int gpus() const { return tp * pp * dp * cp; }
  std::string ToString() const;
};

// Transformer layers per pipeline rank. The default split of l layers on p ranks gives every rank
// floor(l/p) or ceil(l/p) layers and puts the lighter ranks at the ends first (first, last, then
// second, second-to-last, ...); explicit first/last counts share the rest evenly over the middle
// ranks (the heaviest middle rank is charged ceil).
struct StageLayers {
  int first = 0;         // rank 0 (holds the embedding)
  int second = 0;        // rank 1 (the most in-flight micro-batches after rank 0); = last when p == 2
  int middle_max = 0;    // heaviest of ranks 1..p-2 (0 when p <= 2)
  int middle_total = 0;  // layers on ranks 1..p-2
  int last = 0;          // rank p-1 (holds the output layer); = first when p == 1
  std::string ToString() const;  // "7+8x14+7"
};
// kInvalidArgument when the counts do not add up (or leave a rank without layers).
StatusOr<StageLayers> SplitPipelineLayers(int layers, const ParallelConfig& config);

// Calibration constants, engine switches and training-state precision of the performance model.
// Defaults: the calibrated values (docs/planner.md §7, fit by bench/planner/calibrate_main.cc on
// the calibration half of tests/data/parallel_configs.csv) and Megatron-Core's bf16 defaults.
struct PerfOptions {
  // Fraction of the cluster's measured maximum achievable matmul rate (MAMF, gpu.matmul_tflops) a
  // training GEMM reaches before its shape losses (roofline and wave quantisation, gemm_model.cc).
  double matmul_efficiency = 0.86;
  // Fused (flash) attention forward + backward rate on the FLOPs it executes (causal half), as a
  // fraction of MAMF.
  double attention_efficiency = 0.42;
  // HBM traffic of the element-wise (memory-bound) ops per stored activation byte.
  double elementwise_traffic_factor = 0.75;
  // Fraction of the link bandwidth a ring collective achieves (bus bandwidth / link bandwidth).
  double collective_efficiency = 0.80;
  // Fraction of the TP (resp. DP/ZeRO) communication hidden behind the GEMMs (resp. the backward
  // and forward passes) that can overlap it, when the engine overlaps it at all (below).
  double tp_overlap_efficiency = 0.20;
  double dp_overlap_efficiency = 0.80;
  // Engine switches.
  bool flash_attention = true;  // FlashAttention (Dao et al. 2022): no s^2 activations stored
  bool tp_comm_overlap = true;  // Megatron-Core --tp-comm-overlap (Transformer Engine userbuffers)
  bool dp_comm_overlap = true;  // --overlap-grad-reduce --overlap-param-gather; FSDP prefetching
  // Training state, bytes per parameter (Megatron-Core docs/user-guide/features/dist_optimizer.md:
  // bf16 parameters with fp32 main gradients = 18 bytes, 6 + 12/d with the distributed optimiser).
  double weight_bytes = 2;           // bf16 weights
  double grad_bytes = 4;             // main gradients (4: fp32, Megatron's bf16 default; 2: bf16)
  double master_weight_bytes = 4;    // fp32 master copy (0 when the weights are the master copy)
  double optimizer_state_bytes = 8;  // Adam's two moments in fp32
  // Memory left unusable by the allocator (fragmentation) plus CUDA context/workspace.
  double memory_fragmentation = 0.10;
  double memory_reserved_gib = 2.0;
  // Mixture of experts: routed tokens on the busiest expert-parallel rank / the mean (router load
  // imbalance; docs/planner.md "Mixture of experts"). 1.1 is an assumption inside the capacity
  // factors 1.0-1.25 of Fedus et al. 2022 (Switch Transformer, Sec. 2.2, Table 1) for an
  // auxiliary-loss-balanced router; it multiplies the expert GEMMs and the all-to-all.
  double moe_imbalance = 1.1;
  bool IsValid(std::string* error) const;
};

struct MemoryBreakdown {  // bytes per GPU on one pipeline rank
  double weights = 0, gradients = 0, optimizer = 0;  // optimizer: master copy + Adam moments
  double activations = 0;  // stored activations of the in-flight micro-batches
  double logits = 0;       // output layer logits and loss (last rank)
  double gathered = 0;     // ZeRO-3 gathered weights/gradients of the layers being computed
  double reserved = 0;
  double total() const { return weights + gradients + optimizer + activations + logits + gathered + reserved; }
};

struct PerfSummary {
  ParallelConfig config;
  StageLayers stage_layers;
  bool feasible = false;
  std::string infeasible_reason;  // which constraint or memory term, by how much
  MemoryBreakdown memory;         // the most loaded pipeline rank
  std::string memory_rank;        // which one: "first", "second", "middle" or "last"
  MemoryBreakdown memory_first, memory_last;  // the end ranks (== memory when p == 1)
  double memory_capacity_bytes = 0;           // usable per GPU after the fragmentation margin
  // Time per optimiser step, by term (seconds; the pipeline's slowest rank x micro-batches, plus
  // the fill and drain of the others for the bubble).
  double step_time_s = 0, compute_s = 0, attention_s = 0, elementwise_s = 0, tp_comm_s = 0, pp_comm_s = 0,
         bubble_s = 0, dp_comm_exposed_s = 0, cp_comm_s = 0, optimizer_s = 0, latency_s = 0;
  double ep_comm_s = 0;  // mixture of experts: exposed all-to-all dispatch/combine (and expert TP)
  double busy_fraction = 0;  // (matmul + attention + element-wise + optimizer) / step: power model
  double gemm_efficiency = 0;  // achieved / MAMF over the layer GEMMs (shape losses), for reports
  double model_flops_per_step = 0, hardware_flops_per_step = 0;
  double tokens_per_s = 0;
  double model_tflops_per_gpu = 0, hardware_tflops_per_gpu = 0;
  double mfu = 0, hfu = 0;
  std::string BriefReport() const;
  std::string FullReport() const;
  std::string ToJson() const;
};

// Evaluates one layout of `model` on `cluster`. Returns kInvalidArgument when the layout is
// malformed (e.g. heads not divisible by tp, global batch not divisible by dp*micro_batch, more
// GPUs than the cluster has); a layout that is well-formed but does not fit in memory returns
// OK with summary->feasible == false and the reason.
Status EvaluatePerf(const ModelShape& model, const ClusterSpec& cluster, const ParallelConfig& config,
                    const PerfOptions& options, PerfSummary* summary);

// The engine hook: a layout the target engine refuses (issue 12: Megatron's divisibility rules,
// torchtitan's) returns false with a reason; called on every candidate before it is scored.
using LayoutFilter = std::function<bool(const ModelShape&, const ParallelConfig&, std::string* reason)>;

struct LayoutSearchOptions {
  // Sequences per optimiser step, fixed before the search: DP x micro-batch must divide it (and
  // every batch of a ramp), no layout changes it.
  int global_batch = 0;
  std::vector<int> ramp_batches;
  // A fixed allocation: layouts use at most `gpus` and at least min_used_fraction of them. 0: a
  // sweep over allocations in whole nodes up to max_gpus (0: the cluster), see per_allocation.
  int gpus = 0;
  int max_gpus = 0;
  double min_used_fraction = 0.875;
  bool allow_cp = true;
  bool allow_zero3 = true;
  bool uneven_stages = true;  // also try 1-2 layers fewer on the first and last pipeline rank
  int max_micro_batch = 8;
  int top_k = 5;
  // Skip layouts whose weights + gradients + optimizer states alone exceed memory before scoring
  // them (false only to measure what the pruning saves; the result is the same).
  bool prune = true;
  LayoutFilter accept;  // optional engine rules
  bool IsValid(std::string* error) const;
};

struct LayoutAllocation {
  int gpus_allocated = 0;  // whole nodes
  PerfSummary best;        // the fastest layout that needs this allocation
};

struct LayoutSearchResult {
  std::vector<PerfSummary> ranked;              // fixed allocation: feasible, fastest first, <= top_k
  std::vector<LayoutAllocation> per_allocation;  // sweep: ascending GPU count
  int64_t evaluated = 0;                        // configurations scored
  int64_t pruned = 0;                           // rejected before scoring (divisibility, memory bound)
  int64_t rejected_by_engine = 0;               // refused by options.accept
};

// Exhaustive, pruned search over TP x PP x VPP x stage split x DP x CP x micro-batch x ZeRO x
// recompute. kFailedPrecondition with the reason (the smallest memory excess seen) when nothing
// fits; kInvalidArgument when no DP x micro-batch divides the batch on the allowed GPUs.
StatusOr<LayoutSearchResult> SearchLayouts(const ModelShape& model, const ClusterSpec& cluster,
                                           const PerfOptions& perf, const LayoutSearchOptions& options);

// ---------------------------------------------------------------------------------------------
// Energy and carbon of a run (planner/src/energy_model.cc; docs/planner.md §5).

struct EnergyBreakdown {
  double gpu_busy_kwh = 0;    // GPUs of the layout while computing: idle + (TDP - idle) x busy
  double gpu_wait_kwh = 0;    // the same GPUs waiting (communication, bubble): idle power
  double gpu_unused_kwh = 0;  // allocated GPUs the layout leaves unused: idle power
  double host_kwh = 0;        // CPUs, memory, fans, NVSwitch: node.host_power_w x nodes
  double network_kwh = 0;     // switch fabric: network.power_w_per_node x nodes
  double it_kwh = 0;          // sum of the above
  double total_kwh = 0;       // it_kwh x PUE
  double co2_kg = 0;          // total_kwh x grid_gco2_per_kwh
  double kwh_per_million_tokens = 0;
  std::string ToJson() const;
};

// Energy of `wall_clock_s` seconds of `layout` on `gpus_allocated` GPUs (whole nodes) training
// `tokens` tokens; every allocated GPU-hour is counted.
EnergyBreakdown TrainingEnergy(const ClusterSpec& cluster, const PerfSummary& layout, int gpus_allocated,
                               double wall_clock_s, double tokens);

// ---------------------------------------------------------------------------------------------
// Validation against published training runs (tests/data/parallel_configs.csv; docs/planner.md §7).

struct PublishedRun {
  std::string id, source, table, row;
  std::string cluster;  // configs/clusters/<cluster>.yaml: the machine of the run
  std::string split;    // "calibration" (used to fit PerfOptions) or "held_out"
  ModelShape model;
  ParallelConfig config;
  bool flash_attention = false;  // the 2021/2022 Megatron runs predate FlashAttention
  bool tp_comm_overlap = false, dp_comm_overlap = false;
  double grad_bytes = 4;  // main-gradient dtype of the run (NeMo's performance recipes: bf16)
  // Published figures (NaN when the row does not publish it). Hardware TFLOP/s count the
  // recomputation (Narayanan et al. 2021); model TFLOP/s and MFU use ModelFlopsPerToken.
  double tflops_per_gpu = 0, model_tflops_per_gpu = 0, mfu = 0, hfu = 0, iteration_s = 0,
         tokens_per_s_per_gpu = 0;
  bool held_out() const { return split == "held_out"; }
};

struct ValidationResult {
  PublishedRun run;
  PerfSummary predicted;
  // predicted / published - 1 for each published figure (NaN when not published).
  double tflops_error = 0, model_tflops_error = 0, mfu_error = 0, hfu_error = 0, iteration_error = 0,
         tokens_error = 0;
  double worst_abs_error() const;
};

// Reads the CSV (header names the columns; errors name file:line and column).
StatusOr<std::vector<PublishedRun>> LoadPublishedRuns(const std::string& csv_path);
// Evaluates every run on its own cluster file, configs/clusters/<cluster>.yaml under
// `clusters_dir`, with `options` (each row sets its engine switches).
StatusOr<std::vector<ValidationResult>> ValidateAgainstPublished(const std::vector<PublishedRun>& runs,
                                                                 const std::string& clusters_dir,
                                                                 const PerfOptions& options);
std::string ValidationMarkdown(const std::vector<ValidationResult>& results);

// ---------------------------------------------------------------------------------------------
// Global batch size from a batch-size law (planner/src/batch_size.cc; docs/planner.md §6).

struct BatchRampStage {
  double batch_fraction = 1;  // of the final batch (e.g. 0.25, 0.5)
  double token_fraction = 0;  // of the run's tokens trained at this batch
};

struct BatchSizeChoice {
  int sequences = 0;             // the global batch, fixed before the layout search
  double tokens = 0;             // sequences x seq_len
  double law_tokens = 0;         // DeepSeek LLM 2024 Eq. 1 at the budget: 0.2920 C^0.3271
  double critical_tokens = 0;    // the critical batch at the predicted loss (Kaplan 2020 Eq. 5.3)
  bool bounded_by_critical = false;
  double peak_lr = 0;            // DeepSeek LLM 2024 Eq. 1: 0.3118 C^-0.1250
  std::string source;            // where the number comes from, for the report
  std::vector<int> ramp_sequences;      // the ramp's batches (sequences), smallest first
  std::vector<double> ramp_token_fractions;
};

// The global batch for a run of `flops` training FLOPs whose predicted loss is `loss` (nats):
// DeepSeek LLM 2024 (Bi et al., arXiv:2401.02954, Sec. 3.1, Eq. 1) B_opt = 0.2920 C^0.3271 tokens,
// at most the critical batch B_crit(L) = 2e8 / L^(1/0.21) tokens (Kaplan et al. 2020 Eq. 5.3,
// the McCandlish et al. 2018 gradient-noise scale fitted to language models), rounded to the
// nearest 2^k or 3 x 2^k sequences so that data parallelism has divisors (the report says so).
// `user_sequences` > 0 takes the user's batch as is. Each ramp stage's batch must be a whole
// number of sequences; kInvalidArgument otherwise.
StatusOr<BatchSizeChoice> ChooseGlobalBatch(double flops, double loss, int seq_len, int user_sequences,
                                            const std::vector<BatchRampStage>& ramp);
// Parses "--batch-ramp 0.25:0.01,0.5:0.2" (batch fraction : token fraction, ...).
StatusOr<std::vector<BatchRampStage>> ParseBatchRamp(const std::string& text);

// ---------------------------------------------------------------------------------------------
// Objective and the Pareto front of wall-clock against cost and energy over GPU counts
// (planner/src/pareto.cc; docs/planner.md §6).

enum class Objective { kCost, kTime, kEnergy };
const char* ObjectiveName(Objective o);
StatusOr<Objective> ParseObjective(const std::string& s);

struct ParetoPoint {
  int gpus_allocated = 0;
  PerfSummary layout;
  double wall_clock_s = 0, gpu_hours = 0, cost_usd = 0;
  EnergyBreakdown energy;
  bool meets_deadline = true;
};

struct ParetoOptions {
  Objective objective = Objective::kCost;
  double deadline_s = 0;  // 0: none
  // The objective's choice: the fastest point within `slack` of the cheapest (cost), of the least
  // energy (energy); the cheapest within `slack` of the fastest (time).
  double slack = 0.05;
  bool IsValid(std::string* error) const;
};

struct ParetoResult {
  std::vector<ParetoPoint> front;  // non-dominated in (wall-clock, cost, energy), fewest GPUs first
  int chosen = -1;                 // index into front
  std::string choice;              // why that point, in words
  double best_cost_usd = 0, best_wall_clock_s = 0, best_energy_kwh = 0;  // over all allocations
  // A readable subset for text reports: at most `max_points`, spread over GPU counts, with both
  // ends and the chosen point.
  std::vector<int> Thinned(int max_points = 12) const;
};

// Turns the search's per-allocation layouts into the front for a run of `tokens` tokens and picks
// the objective's point. `wall_clock` gives a layout's wall-clock for the run (ramp-aware).
// kInvalidArgument naming the deadline when no allocation meets it.
StatusOr<ParetoResult> BuildPareto(const std::vector<LayoutAllocation>& allocations, const ClusterSpec& cluster,
                                   double tokens, const ParetoOptions& options,
                                   const std::function<double(const PerfSummary&)>& wall_clock);

// ---------------------------------------------------------------------------------------------
// The layout part of a plan (planner/src/layout_plan.cc): for one shape and token count, the
// global batch, the sweep, the Pareto front, the objective's choice and its alternatives, the
// ramp-aware wall-clock, cost and energy. Plan() calls it after the law and the shape.

struct LayoutPlanOptions {
  int gpus = 0;      // a fixed allocation (whole nodes); 0: sweep up to max_gpus
  int max_gpus = 0;  // 0: the cluster
  int global_batch = 0;  // sequences; 0: ChooseGlobalBatch's law
  std::vector<BatchRampStage> ramp;
  ParetoOptions pareto;
  int top_k = 5;
  PerfOptions perf;
  LayoutFilter accept;  // engine rules (issue 12)
  bool IsValid(std::string* error) const;
};

struct LayoutPlan {
  BatchSizeChoice batch;
  ParetoResult pareto;           // the front (one point when the allocation is fixed)
  LayoutSearchResult layouts;    // ranked: the chosen allocation's layouts, fastest first
  PerfSummary chosen;            // == layouts.ranked.front()
  int gpus_allocated = 0;
  double steps = 0;              // optimizer steps, ramp included
  double wall_clock_s = 0, gpu_hours = 0, cost_usd = 0;  // allocated GPU-hours
  EnergyBreakdown energy;
  double search_seconds = 0;
};

// kInvalidArgument for a batch nothing divides, a ramp that is not whole sequences or a deadline
// no allocation meets; kFailedPrecondition when no layout fits.
Status PlanLayouts(const ModelShape& shape, double train_tokens, double budget_flops, double predicted_loss,
                   const ClusterSpec& cluster, const LayoutPlanOptions& options, LayoutPlan* out);

// ---------------------------------------------------------------------------------------------
// Inference-aware allocation within a training budget (planner/src/inference.cc; Sardana et al.
// 2024, "Beyond Chinchilla-Optimal", Sec. 2, held to the budget; docs/planner.md §1).

struct ChinchillaForm {  // L(N, D) = E + A/N^alpha + B/D^beta
  double E = 0, A = 0, B = 0, alpha = 0, beta = 0;
};

struct InferenceAwareSplit {
  double params = 0, tokens = 0;  // N, D with 6 N D = the training budget
  double loss = 0;                // the loss they reach (above the Chinchilla-optimal loss)
  double chinchilla_params = 0, chinchilla_tokens = 0, chinchilla_loss = 0;
  double inference_flops = 0;     // 2 N T over the model's lifetime
  double lifetime_flops = 0;      // 6 N D + 2 N T
  double chinchilla_lifetime_flops = 0;
};

// The model that is lifetime-optimal (Sardana: minimises 6 N D + 2 N T at its loss) among those
// whose training costs exactly `budget_flops`: the loss l solves 6 N*(l) D(N*(l), l) = budget,
// found by bisection. The training spend never exceeds the budget; the inference FLOPs are
// reported beside it, not charged to it. kInvalidArgument for non-positive inputs.
StatusOr<InferenceAwareSplit> InferenceAwareAtBudget(const ChinchillaForm& law, double budget_flops,
                                                      double inference_tokens);

// ---------------------------------------------------------------------------------------------
// The model half of a plan: law -> N, D at the budget (with intervals) -> evidence -> a shape in
// the law's N convention. Plan() runs it; so does the orchestrator's re-plan after each refit.

inline constexpr int kDefaultVocab = 51200;

struct ModelPlanOptions {
  int vocab = 0;  // 0: the fit's vocabulary when fit.json records one, else kDefaultVocab
  int seq_len = 2048;
  Mlp mlp = Mlp::kSwiglu;
  bool trainer_architecture = false;  // size shapes as `isoflop train` builds them (AsTrainerBuilds)
  int tp_divisor = 8;              // heads divisible by this (ShapeSearchOptions::tp_divisor)
  double unique_tokens = 0;        // 0 = unlimited
  double inference_tokens = 0;     // Sardana et al. 2024 within the budget: smaller, trained longer
  bool allow_extrapolation = false;
  EvidenceOptions evidence;
  bool IsValid(std::string* error) const;
};

struct ModelPlan {
  BudgetPrediction prediction;  // PredictAtBudget: N_opt, D_opt, loss and intervals
  EvidenceSummary evidence;
  bool extrapolated = false;  // outside the evidence, planned with allow_extrapolation
  ParamsConvention convention = ParamsConvention::kTotal;
  int vocab = 0;
  std::string vocab_source;  // "--vocab", "fit.json", "default"
  ModelShape shape;
  std::vector<ModelShape> alternative_shapes;
  double shape_params = 0;  // in `convention`
  // With inference tokens: the lifetime-optimal N within the training budget (Sardana et al. 2024
  // held to the budget, InferenceAwareAtBudget), which the shape is sized to.
  std::optional<InferenceAwareSplit> inference;
};

// kInvalidArgument for a budget outside the evidence without allow_extrapolation (the message
// starts "outside the evidence:"), or too small for any shape.
StatusOr<ModelPlan> PlanModel(const FitRecord& law, double budget_flops, const ModelPlanOptions& options);

// ---------------------------------------------------------------------------------------------
// Mixture of experts beside the dense plan (issue 14 item 3; planner/src/moe_plan.cc;
// docs/planner.md §9). `isoflop plan --moe E:K`: E routed experts, top-K routing.

struct MoeOption {
  int experts = 0, top_k = 0;
  bool any() const { return experts > 0; }
};
// "64:8" -> {64, 8}; kInvalidArgument naming --moe otherwise (K >= 1, K < E).
StatusOr<MoeOption> ParseMoeOption(const std::string& text);

// Krajewski et al. 2024, "Scaling Laws for Fine-Grained Mixture of Experts" (arXiv:2402.07871),
// Eq. 9 and its fitted coefficients: L(N, D, G) = c + (g / G^gamma + a) / N^alpha + b / D^beta, N the
// MoE's total non-embedding parameters, D tokens, G the granularity (tokens go to G experts of
// 1/G the dense MLP width); and the same paper's dense fit L(N, D) = c + a / N^alpha + b / D^beta on
// the same data (C4, GPT-2 tokenizer). Fitted on 129M-3.7B parameters, 16B-130B tokens, G 1-16,
// expansion rate (total / active MLP) 64 (16 in an appendix).
struct FineGrainedMoeLaw {
  double a = 18.1, alpha = 0.115, b = 30.8, beta = 0.147, g = 2.1, gamma = 0.58, c = 0.47;
  double dense_a = 16.3, dense_alpha = 0.126, dense_b = 26.7, dense_beta = 0.127, dense_c = 0.47;
  double min_params = 129e6, max_params = 3.7e9, min_tokens = 16e9, max_tokens = 130e9;
  double max_granularity = 16;
  double expansion_rates[2] = {64, 16};
  double MoeLoss(double total_params, double tokens, double granularity) const;
  double DenseLoss(double params, double tokens) const;
};

struct MoePlan {
  MoeOption option;
  double granularity = 0, expansion_rate = 0;  // G = K; expansion E / K (total / active MLP)
  std::string law, citation, equation;          // the law's provenance, for reports
  // Outside the law's published range (N, D, G or expansion rate): every output says so.
  bool extrapolated = false;
  std::vector<std::string> extrapolation;  // what is outside and by how much
  // The law's compute-optimal split at the budget (6 N_active D = C): active and total non-embedding
  // parameters, tokens, loss; and its dense fit's optimum at the same budget (same data).
  double active_params = 0, total_params = 0, tokens = 0, loss = 0;
  double dense_params = 0, dense_tokens = 0, dense_loss = 0;
  // The planned shape (the dense shape search at N_active, its MLP split into E experts of ffn/K),
  // trained on budget / (6 x its active parameters) tokens, laid out with expert parallelism.
  ModelShape shape;
  double train_tokens = 0, flops_per_token = 0;
  PerfSummary layout;
  int gpus_allocated = 0;
  double steps = 0, wall_clock_s = 0, gpu_hours = 0, cost_usd = 0, energy_kwh = 0;
  // Serving at bf16 (the plan's serving options) of the MoE shape and of the dense plan's shape.
  ServeSummary serving, dense_serving;
  std::string ToJson() const;  // the "moe" object of the plan's JSON (docs/planner.md §9)
};

// ---------------------------------------------------------------------------------------------
// The plan.

enum class BudgetKind { kFlops, kGpuHours, kUsd, kKwh };

struct PlanOptions {
  BudgetKind budget_kind = BudgetKind::kFlops;
  double budget = 0;            // in the unit of budget_kind
  double inference_tokens = 0;  // lifetime inference tokens (Sardana et al. 2024); 0: none
  int seq_len = 2048;
  int vocab = 0;  // 0: the fit's vocabulary when fit.json records one, else kDefaultVocab
  Mlp mlp = Mlp::kSwiglu;
  // Size the shape as `isoflop train` builds it (RMSNorm, RoPE, no linear biases, tied embeddings)
  // instead of the family of `mlp` (GPT/Megatron or LLaMA block).
  bool trainer_architecture = false;
  // Unique tokens available (0 = unlimited). With a data-constrained law the plan repeats data and
  // says how often (Muennighoff et al. 2023); with other forms, a plan needing more is refused.
  double unique_tokens = 0;
  // A fitted law is refused where the budget is outside its evidence (EvidenceOptions); true plans
  // anyway and flags the plan as an extrapolation in text and JSON.
  bool allow_extrapolation = false;
  EvidenceOptions evidence;
  bool exact_flops = false;  // use the shape's exact FLOPs/token instead of 6N
  // GPUs: `gpus` > 0 fixes the allocation (whole nodes); 0 sweeps every allocation of whole nodes
  // up to `max_gpus` (0: the cluster) and builds the Pareto front of wall-clock against cost and
  // energy, from which `objective` picks (docs/planner.md §6).
  int gpus = 0;
  int max_gpus = 0;
  Objective objective = Objective::kCost;
  double deadline_hours = 0;  // 0: none
  double slack = 0.05;        // the objective's tolerance (ParetoOptions::slack)
  // Sequences per step; 0: DeepSeek LLM 2024's batch law bounded by the critical batch
  // (ChooseGlobalBatch). Fixed before the layout search; DP x micro-batch must divide it.
  int global_batch = 0;
  std::vector<BatchRampStage> batch_ramp;
  // Lifetime inference at this model FLOPs utilisation (an assumption: serving efficiency depends
  // on batching; issue 14 models serving) for the separately reported inference cost and energy.
  double inference_mfu = 0.3;
  // Serving the planned model (issue 14; docs/planner.md "Serving"): with a lifetime token count
  // (--serve-tokens) or a request rate (--serve-qps), the plan prices serving the shape at bf16,
  // int8 and int4 on the cluster: GPUs per replica, memory per GPU, decode and prefill tokens/s,
  // $ and kWh per million tokens, and what the demand costs. serve.context 0: the plan's seq_len;
  // serve.output_tokens 0 with a request rate: min(512, context / 2) generated tokens per request
  // (an assumption the report prints).
  ServingDemand serve_demand;
  ServeOptions serve = PlanServeDefaults();
  // --moe E:K: a mixture-of-experts plan beside the dense one (MoePlan).
  MoeOption moe;
  int top_k = 5;
  PerfOptions perf;
  LayoutFilter accept;  // engine rules (issue 12: EngineLayoutFilter in isoflop/engines.h)
  std::string engine;   // the engine whose rules `accept` applies, for reports ("" : none)
  bool IsValid(std::string* error) const;
  static ServeOptions PlanServeDefaults() {
    ServeOptions o;
    o.context = 0;
    return o;
  }
};

// The lifetime inference of the planned model, reported beside the training budget, never
// charged to it (docs/planner.md §1, "Inference").
struct InferenceReport {
  double tokens = 0;
  double flops = 0;         // tokens x forward FLOPs per token of the shape
  double gpu_hours = 0;     // at PlanOptions::inference_mfu of the cluster's peak
  double cost_usd = 0, energy_kwh = 0, co2_kg = 0;
  double mfu = 0;
  InferenceAwareSplit split;  // the law's inference-aware N, D within the budget vs Chinchilla's
};

struct PlanSummary {
  FitRecord law;  // the law planned with, its provenance and replicates
  ClusterSpec cluster;
  double budget_flops = 0;  // training FLOPs after converting the budget
  // The law at the budget (isoflop::PredictAtBudget: the same numbers `isoflop predict` prints),
  // with [2.5th, 97.5th] percentile intervals over the law's replicates when it has them.
  BudgetPrediction prediction;
  double params_opt = 0;  // N from the law (the law's N convention)
  double tokens_opt = 0;  // D from the law
  double loss_pred = 0;   // NaN for an allocation-only law
  std::optional<Interval> params_interval, tokens_interval, loss_interval;
  std::string interval_source;
  // Whether the budget is within the law's evidence (CheckEvidence); a plan made with
  // allow_extrapolation outside it says so everywhere it prints.
  EvidenceSummary evidence;
  bool extrapolated = false;
  ParamsConvention convention = ParamsConvention::kTotal;  // how shape and law count N
  int vocab = 0;                                           // the vocabulary planned with
  std::string vocab_source;                                // "--vocab", "fit.json", "default"
  double epochs = 1;                                       // tokens / unique tokens
  ModelShape shape;
  std::vector<ModelShape> alternative_shapes;
  double shape_params = 0;
  double train_tokens = 0;     // D for the chosen shape so that its FLOPs meet the budget
  double flops_per_token = 0;  // 6 N, or the shape's exact model FLOPs per token
  LayoutSearchResult layouts;  // ranked[0] is the chosen layout
  BatchSizeChoice batch;       // the global batch, its law and ramp
  ParetoResult pareto;         // the front over GPU counts and the objective's choice
  Objective objective = Objective::kCost;
  int gpus_allocated = 0;      // whole nodes; GPU-hours, cost and energy count all of them
  double steps = 0;
  double wall_clock_s = 0, gpu_hours = 0, cost_usd = 0, energy_kwh = 0, co2_kg = 0;
  EnergyBreakdown energy;      // energy_kwh == energy.total_kwh, co2_kg == energy.co2_kg
  std::optional<InferenceReport> inference;
  std::string engine;  // whose layout rules the search applied ("": none; isoflop/engines.h)
  // Serving the shape, per precision (bf16, int8, int4), under serving_demand; empty without one.
  ServingDemand serving_demand;
  std::vector<ServingCost> serving;
  std::optional<MoePlan> moe;  // with PlanOptions::moe
  double search_seconds = 0;
  std::string BriefReport() const;
  std::string FullReport() const;
  std::string ToJson() const;
  // The trainer's flat run config for the big run: the model keys plus tokens, batch_tokens and
  // micro_batch (docs/interfaces.md, "Run config").
  std::string RunConfigYaml() const;
  // A ready-to-submit Slurm script for `isoflop train` (docs/planner.md, "--sbatch"): the isoflop
  // engine's run.sbatch (BuildSbatch in isoflop/engines.h: nodes, GPUs, time limit, USR1 forwarded
  // by a trap, requeue and --resume) reading `run_config_path` (written from RunConfigYaml()).
  // `slurm` (optional) gives the Slurm options: partition, account, qos, max time, signal lead, gres.
  std::string SbatchScript(const std::string& run_config_path, const LaunchOptions* slurm = nullptr) const;
};

// Budget -> N, D -> shape -> fastest layout -> predictions. kInvalidArgument for a budget too
// small for one optimiser step; kFailedPrecondition when no shape or no layout fits, and
// kOutOfRange (`IsOutsideEvidence`) when the budget is outside the law's evidence and
// allow_extrapolation is false: the message names the fitted range, the extrapolation factor and
// the N_opt interval.
Status Plan(const PlanOptions& options, const FitRecord& law, const ClusterSpec& cluster, PlanSummary* summary);

}  // namespace isoflop::planner

#endif  // ISOFLOP_PLANNER_H_
