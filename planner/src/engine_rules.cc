// Each engine's layout rules (issue 12 item 1; docs/engines.md "Layout rules"), used as the
// layout search's LayoutFilter so that the planner only proposes layouts the engine runs.
// Sources: Megatron-LM @ d98e8a64 (megatron/training/arguments.py validate_args,
// megatron/core/transformer/transformer_config.py __post_init__); torchtitan @ 238fa995
// (torchtitan/models/llama3/infra/parallelize.py, torchtitan/distributed/pipeline_parallel.py,
// torchtitan/models/llama3/model/model.py); isoflop train (docs/trainer.md "Data parallel").
#include <string>

#include "isoflop/engines.h"

namespace isoflop::planner {

const char* EngineName(Engine e) {
  switch (e) {
    case Engine::kAny:
      return "any";
    case Engine::kIsoflop:
      return "isoflop";
    case Engine::kMegatron:
      return "megatron";
    case Engine::kTorchtitan:
      return "torchtitan";
  }
  return "any";
}

StatusOr<Engine> ParseEngine(const std::string& name) {
  for (Engine e : {Engine::kAny, Engine::kIsoflop, Engine::kMegatron, Engine::kTorchtitan})
    if (name == EngineName(e)) return e;
  return Status::InvalidArgument("unknown engine '" + name +
                                 "' (choose isoflop, megatron, torchtitan or any)");
}

namespace {

Status Refuse(Engine e, const std::string& why) {
  return Status::InvalidArgument(std::string(EngineName(e)) + " refuses it: " + why);
}

std::string N(long long x) {
  return std::to_string(x);
}

// Whole nodes: a layout spans whole nodes, or part of a single node.
Status CheckCommon(Engine e, const ParallelConfig& c, int gpn) {
  const int gpus = c.gpus();
  if (gpn > 0 && gpus > gpn && gpus % gpn != 0)
    return Refuse(e, N(gpus) + " GPUs are not whole " + N(gpn) + "-GPU nodes (" + N(gpus / gpn) +
                         " nodes and " + N(gpus % gpn) + " GPUs)");
  if (c.micro_batch < 1 || c.dp < 1 || c.global_batch % (static_cast<long long>(c.micro_batch) * c.dp) != 0)
    return Refuse(e, "global batch " + N(c.global_batch) + " is not divisible by micro batch " +
                         N(c.micro_batch) + " x data parallel " + N(c.dp) + " (the batch is never rounded)");
  return Status::OK();
}

// Megatron-Core's pipeline split (TransformerConfig.__post_init__, "Uneven PP", and
// validate_args' even-split checks): with explicit first/last stage layers the middle ranks share
// the rest exactly and every stage divides by VPP; without them layers divide by PP and, with
// VPP, layers per rank divide by VPP (--num-layers-per-virtual-pipeline-stage).
Status CheckMegatronSplit(const ModelShape& m, const ParallelConfig& c) {
  const Engine e = Engine::kMegatron;
  const int p = c.pp, v = c.vpp;
  if (v > 1 && p <= 2)
    return Refuse(e, "the interleaved schedule (VPP " + N(v) +
                         ") needs pipeline-model-parallel size > 2 without --overlap-p2p-communication (PP " +
                         N(p) + ")");
  if (p == 1) return Status::OK();
  const bool uneven = c.first_stage_layers > 0 || c.last_stage_layers > 0;
  if (!uneven) {
    if (m.layers % p != 0)
      return Refuse(e, "number of layers " + N(m.layers) +
                           " is not divisible by the pipeline-model-parallel size " + N(p));
    if (v > 1 && (m.layers / p) % v != 0)
      return Refuse(e, "layers per pipeline stage " + N(m.layers / p) + " are not divisible by VPP " + N(v));
    return Status::OK();
  }
  int layers = m.layers, ranks = p;
  for (int stage : {c.first_stage_layers, c.last_stage_layers}) {
    if (stage <= 0) continue;
    if (v > 1 && stage % v != 0)
      return Refuse(e, "first/last stage layers " + N(stage) + " are not divisible by VPP " + N(v));
    layers -= stage;
    --ranks;
  }
  if ((layers != 0) != (ranks != 0) || layers < 0)
    return Refuse(e, N(layers) + " middle layers for " + N(ranks) + " middle pipeline stages");
  if (ranks > 0 && layers % ranks != 0)
    return Refuse(e,
                  "middle layers " + N(layers) + " are not divisible by the " + N(ranks) + " middle stages");
  if (ranks > 0 && v > 1 && (layers / ranks) % v != 0)
    return Refuse(e, "layers per middle stage " + N(layers / ranks) + " are not divisible by VPP " + N(v));
  return Status::OK();
}

Status CheckMegatron(const ModelShape& m, const ParallelConfig& c) {
  const Engine e = Engine::kMegatron;
  if (m.heads % c.tp != 0)
    return Refuse(e, "num_attention_heads " + N(m.heads) +
                         " is not a multiple of tensor_model_parallel_size " + N(c.tp));
  const int groups = m.effective_kv_heads();
  if (groups % c.tp != 0 && c.tp % groups != 0)
    return Refuse(e,
                  "num_query_groups " + N(groups) + " is neither a multiple nor a divisor of TP " + N(c.tp));
  if (c.cp > 1 && m.seq_len % (2 * c.cp) != 0)
    return Refuse(
        e, "seq-length " + N(m.seq_len) + " is not a multiple of 2 x context-parallel-size " + N(c.cp));
  if (c.zero > 1)
    return Refuse(e,
                  "ZeRO-" + N(c.zero) +
                      ": Megatron's distributed optimizer is ZeRO-1 (isoflop does not emit Megatron-FSDP)");
  return CheckMegatronSplit(m, c);
}

// torchtitan's llama3: tok_embeddings + TransformerBlocks (RMSNorm, RoPE, SwiGLU FeedForward, no
// biases) + norm + untied output (model.py); the pipeline split is emitted explicitly
// (parallelism.module_fqns_per_model_part), so each rank's layers divide into VPP equal chunks.
Status CheckTorchtitan(const ModelShape& m, const ParallelConfig& c) {
  const Engine e = Engine::kTorchtitan;
  if (m.mlp != Mlp::kSwiglu || m.norm_kind() != Norm::kRmsNorm || m.position_kind() != Position::kRope ||
      m.has_biases() || m.tied())
    return Refuse(e,
                  "its llama3 model is a SwiGLU/RMSNorm/RoPE block without biases and with an untied output "
                  "layer; plan with --mlp swiglu (and without --trainer-arch)");
  if (m.heads % c.tp != 0 || m.effective_kv_heads() % c.tp != 0)
    return Refuse(e, "heads " + N(m.heads) + " and kv heads " + N(m.effective_kv_heads()) +
                         " must divide by tensor_parallel_degree " + N(c.tp));
  if (c.cp > 1 && m.seq_len % (2 * c.cp) != 0)
    return Refuse(e, "seq_len " + N(m.seq_len) + " is not a multiple of 2 x context_parallel_degree " +
                         N(c.cp) + " (the head-tail load balancer)");
  if (c.zero == 1) return Refuse(e, "ZeRO-1: torchtitan shards with FSDP2 (ZeRO-2/3) or replicates (DDP)");
  if (c.zero == 0 && (c.tp > 1 || c.pp > 1 || c.cp > 1))
    return Refuse(e,
                  "ZeRO-0 (DDP) with TP/PP/CP: \"DDP has not supported > 1D parallelism\" (parallelize.py)");
  if (c.pp > 1) {
    auto split = SplitPipelineLayers(m.layers, c);
    if (!split.ok()) return Refuse(e, split.status().message());
    if (c.vpp > 1) {
      for (int layers : {split->first, split->last, split->middle_max})
        if (layers > 0 && layers % c.vpp != 0)
          return Refuse(e, "a pipeline rank's " + N(layers) + " layers do not split into " + N(c.vpp) +
                               " equal virtual stages");
      if (c.pp > 2 && split->middle_total % (c.pp - 2) != 0)
        return Refuse(e, "the middle ranks' layers are uneven");
    }
  }
  return Status::OK();
}

// isoflop train: data parallel over all ranks with full replicas, gradients all-reduced
// (docs/trainer.md "Data parallel"); no tensor/pipeline/context parallelism, no sharding, no
// activation recomputation.
Status CheckIsoflop(const ModelShape& m, const ParallelConfig& c) {
  const Engine e = Engine::kIsoflop;
  if (c.tp != 1 || c.pp != 1 || c.cp != 1)
    return Refuse(e, "isoflop train is data parallel only (TP " + N(c.tp) + ", PP " + N(c.pp) + ", CP " +
                         N(c.cp) + ")");
  if (c.zero != 0) return Refuse(e, "isoflop train keeps full replicas (ZeRO-" + N(c.zero) + ")");
  if (c.recompute != Recompute::kNone) return Refuse(e, "isoflop train does not recompute activations");
  return Status::OK();
}

}  // namespace

Status CheckEngineLayout(Engine engine, const ModelShape& model, const ParallelConfig& config,
                         int gpus_per_node) {
  if (engine == Engine::kAny) return Status::OK();
  Status st = CheckCommon(engine, config, gpus_per_node);
  if (!st.ok()) return st;
  switch (engine) {
    case Engine::kMegatron:
      return CheckMegatron(model, config);
    case Engine::kTorchtitan:
      return CheckTorchtitan(model, config);
    case Engine::kIsoflop:
      return CheckIsoflop(model, config);
    case Engine::kAny:
      break;
  }
  return Status::OK();
}

Status CheckEngineModel(Engine engine, const PlanOptions& options) {
  if (engine == Engine::kTorchtitan && (options.mlp != Mlp::kSwiglu || options.trainer_architecture))
    return Refuse(engine,
                  "its llama3 model is a SwiGLU/RMSNorm/RoPE block with an untied output layer; plan with "
                  "--mlp swiglu and without --trainer-arch");
  return Status::OK();
}

LayoutFilter EngineLayoutFilter(Engine engine, int gpus_per_node) {
  if (engine == Engine::kAny) return {};
  return [engine, gpus_per_node](const ModelShape& m, const ParallelConfig& c, std::string* reason) {
    Status st = CheckEngineLayout(engine, m, c, gpus_per_node);
    if (!st.ok() && reason) *reason = st.message();
    return st.ok();
  };
}

}  // namespace isoflop::planner
