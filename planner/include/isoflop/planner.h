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
#include <optional>
#include <string>
#include <vector>

#include "isoflop/fit_record.h"
#include "isoflop/model_shape.h"
#include "isoflop/prediction.h"
#include "isoflop/status.h"

namespace isoflop::planner {

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
  std::string path;              // where it was read from

  int total_gpus() const { return gpus_per_node * nodes; }
  // Field-by-field check; the error names `path` and the field.
  bool IsValid(std::string* error) const;
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
// Parallel layout and the performance model.

enum class Recompute { kNone, kSelective, kFull };
const char* RecomputeName(Recompute r);
StatusOr<Recompute> ParseRecompute(const std::string& s);

struct ParallelConfig {
  int tp = 1;            // tensor parallel (with sequence parallelism when tp > 1)
  int pp = 1;            // pipeline stages
  int dp = 1;            // data parallel replicas
  int cp = 1;            // context parallel (ring attention)
  int vpp = 1;           // interleaved virtual stages per pipeline rank
  int micro_batch = 1;   // sequences per micro-batch
  int global_batch = 1;  // sequences per optimiser step
  int zero = 1;          // ZeRO stage 0..3 (Rajbhandari et al. 2020); 1 = distributed optimiser
  Recompute recompute = Recompute::kSelective;
  int gpus() const { return tp * pp * dp * cp; }
  std::string ToString() const;
};

// Calibration constants and switches of the performance model. Defaults are the calibrated
// values documented in docs/planner.md (fit to tests/data/parallel_configs.csv).
struct PerfOptions {
  // Fraction of dense bf16 peak reached by a large transformer GEMM.
  double matmul_efficiency = 0.66;
  // HBM traffic of the element-wise (memory-bound) ops per stored activation byte.
  double elementwise_traffic_factor = 4.0;
  // Fraction of the link bandwidth a ring collective achieves (bus bandwidth / link bandwidth).
  double collective_efficiency = 0.60;
  // Fraction of the DP/ZeRO gradient collectives hidden behind the backward pass.
  double dp_overlap = 0.0;
  // FlashAttention (Dao et al. 2022): no s^2 activations stored or streamed.
  bool flash_attention = true;
  // Memory left unusable by the allocator (fragmentation) plus CUDA context/workspace.
  double memory_fragmentation = 0.10;
  double memory_reserved_gib = 2.0;
  bool IsValid(std::string* error) const;
};

struct MemoryBreakdown {  // bytes per GPU, on the most loaded pipeline rank (the first)
  double weights = 0, gradients = 0, optimizer = 0, activations = 0, reserved = 0;
  double total() const { return weights + gradients + optimizer + activations + reserved; }
};

struct PerfSummary {
  ParallelConfig config;
  bool feasible = false;
  std::string infeasible_reason;  // which constraint or memory term, by how much
  MemoryBreakdown memory;
  double memory_capacity_bytes = 0;  // usable per GPU after the fragmentation margin
  // Time per optimiser step, by term (seconds).
  double step_time_s = 0, compute_s = 0, elementwise_s = 0, tp_comm_s = 0, pp_comm_s = 0, bubble_s = 0,
         dp_comm_exposed_s = 0, cp_comm_s = 0, optimizer_s = 0;
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

struct LayoutSearchOptions {
  int global_batch = 0;  // sequences; 0: chosen (~4M tokens, Hoffmann-style), rounded
  int gpus = 0;          // 0: all of the cluster's GPUs
  bool allow_cp = true;
  bool allow_zero3 = true;
  int max_micro_batch = 8;
  int top_k = 5;
  // Skip layouts whose weights + gradients + optimizer states alone exceed memory before scoring
  // them (false only to measure what the pruning saves; the result is the same).
  bool prune = true;
  bool IsValid(std::string* error) const;
};

struct LayoutSearchResult {
  std::vector<PerfSummary> ranked;  // fastest first, feasible only, at most top_k
  int64_t evaluated = 0;            // configurations scored
  int64_t pruned = 0;               // rejected before scoring (divisibility, memory lower bound)
};

// Exhaustive, pruned search over TP x PP x VPP x DP x CP x micro-batch x ZeRO x recompute.
// kFailedPrecondition with the reason (the smallest memory excess seen) when nothing fits.
StatusOr<LayoutSearchResult> SearchLayouts(const ModelShape& model, const ClusterSpec& cluster,
                                           const PerfOptions& perf, const LayoutSearchOptions& options);

// ---------------------------------------------------------------------------------------------
// Validation against published training runs (tests/data/parallel_configs.csv; docs/planner.md).

struct PublishedRun {
  std::string id, source, table, row;
  ModelShape model;  // GELU GPT (Megatron), kv_heads = heads, ffn = 4 d_model
  ParallelConfig config;
  bool flash_attention = false;  // the 2021/2022 Megatron runs predate FlashAttention
  // Published figures (NaN when the row does not publish it). TFLOP/s per GPU follow the
  // paper's convention: Narayanan et al. 2021 count the recomputation (hardware FLOPs).
  double tflops_per_gpu = 0, mfu = 0, hfu = 0, iteration_s = 0;
};

struct ValidationResult {
  PublishedRun run;
  PerfSummary predicted;
  // predicted / published - 1 for each published figure (NaN when not published).
  double tflops_error = 0, mfu_error = 0, hfu_error = 0, iteration_error = 0;
  double worst_abs_error() const;
};

// Reads the CSV (header names the columns; errors name file:line and column).
StatusOr<std::vector<PublishedRun>> LoadPublishedRuns(const std::string& csv_path);
// Evaluates every run on `cluster` (the A100 the papers used) with `options`.
StatusOr<std::vector<ValidationResult>> ValidateAgainstPublished(const std::vector<PublishedRun>& runs,
                                                                 const ClusterSpec& cluster,
                                                                 const PerfOptions& options);
std::string ValidationMarkdown(const std::vector<ValidationResult>& results);

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
  double inference_tokens = 0;     // Sardana et al. 2024: a smaller model trained longer
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
  double train_tokens = 0;  // inference-aware plans only (D reaching the target loss); else 0
};

// kInvalidArgument for a budget outside the evidence without allow_extrapolation (the message
// starts "outside the evidence:"), or too small for any shape.
StatusOr<ModelPlan> PlanModel(const FitRecord& law, double budget_flops, const ModelPlanOptions& options);

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
  int gpus = 0;              // 0: the cluster's size
  int global_batch = 0;      // sequences per step; 0: ~4M tokens, at most 1/100 of the run
  int top_k = 5;
  PerfOptions perf;
  bool IsValid(std::string* error) const;
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
  double steps = 0;
  double wall_clock_s = 0, gpu_hours = 0, cost_usd = 0, energy_kwh = 0, co2_kg = 0;
  double search_seconds = 0;
  std::string BriefReport() const;
  std::string FullReport() const;
  std::string ToJson() const;
  // The trainer's flat run config for the big run: the model keys plus tokens, batch_tokens and
  // micro_batch (docs/interfaces.md, "Run config").
  std::string RunConfigYaml() const;
  // A ready-to-submit Slurm script for the big run (docs/planner.md, "--sbatch"): nodes, GPUs,
  // time limit from the predicted wall-clock plus margin, and the trainer command reading
  // `run_config_path` (written from RunConfigYaml()).
  std::string SbatchScript(const std::string& run_config_path) const;
};

// Budget -> N, D -> shape -> fastest layout -> predictions. kInvalidArgument for a budget too
// small for one optimiser step; kFailedPrecondition when no shape or no layout fits, and
// kOutOfRange (`IsOutsideEvidence`) when the budget is outside the law's evidence and
// allow_extrapolation is false: the message names the fitted range, the extrapolation factor and
// the N_opt interval.
Status Plan(const PlanOptions& options, const FitRecord& law, const ClusterSpec& cluster, PlanSummary* summary);

}  // namespace isoflop::planner

#endif  // ISOFLOP_PLANNER_H_
