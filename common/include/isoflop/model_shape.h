// The model shape: one type and one parameter/FLOP count for the planner (its model files and
// shape search), the orchestrator (sweep shapes) and the trainer (its run config). Dependency-free,
// so the standalone trainer build (libtorch, CUDA, NCCL only) uses it too. Formulas: docs/planner.md
// ("Parameter count", "FLOPs per token").
#ifndef ISOFLOP_MODEL_SHAPE_H_
#define ISOFLOP_MODEL_SHAPE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "isoflop/status.h"

namespace isoflop {

enum class Mlp { kGelu, kSwiglu };
enum class Norm { kRmsNorm, kLayerNorm };
enum class Position { kRope, kLearned };
const char* MlpName(Mlp mlp);          // "gelu", "swiglu"
const char* NormName(Norm norm);       // "rmsnorm", "layernorm"
const char* PositionName(Position p);  // "rope", "learned"
StatusOr<Mlp> ParseMlp(const std::string& name);
StatusOr<Norm> ParseNorm(const std::string& name);

struct ParamCounts {
  double total = 0;          // every trainable parameter once (a tied matrix once)
  double embedding = 0;      // token embedding, the untied output matrix, learned positions
  double non_embedding = 0;  // total - embedding (Kaplan et al. 2020, Sec. 2.1)
  // The parameters one token uses: total less the routed experts it is not sent to (== total for a
  // dense shape). Memory is sized from total, FLOPs from active (docs/planner.md "Parameter count").
  double active = 0;
  double active_non_embedding = 0;  // active - embedding
};

struct ModelShape {
  int layers = 0;
  int d_model = 0;
  int heads = 0;
  int kv_heads = 0;  // grouped-query attention; 0 means heads (multi-head attention)
  int ffn = 0;       // MLP hidden width; 0 means 4 d_model
  int vocab = 0;
  int seq_len = 0;
  Mlp mlp = Mlp::kGelu;
  // Architecture details. Unset means the family of `mlp`: gelu is the GPT-2/Megatron block
  // (LayerNorm, linear biases, learned positions, tied embeddings), swiglu the LLaMA block (RMSNorm,
  // no biases, RoPE, untied output layer). The trainer fills them with what it builds
  // (AsTrainerBuilds).
  std::optional<Norm> norm;
  std::optional<Position> position;
  std::optional<bool> biases;
  std::optional<bool> tied_embeddings;
  double rope_theta = 10000.0;  // RoPE base (Su et al. 2021, eq. 15)
  // Mixture of experts (Shazeer et al. 2017; Fedus et al. 2022, Switch Transformer; Dai et al. 2024,
  // DeepSeekMoE). 0 experts: a dense model. Otherwise every moe_layer_every-th layer (layers k, 2k,
  // ... counting from 1; Megatron-Core's --moe-layer-freq, GShard's every other layer with 2) has,
  // in place of its MLP, `experts` routed experts of width expert_ffn (0: ffn) of which each token
  // uses experts_per_token (top-k), shared_experts experts of the same width every token uses, and
  // a d_model x experts router.
  int experts = 0;
  int experts_per_token = 0;
  int shared_experts = 0;
  int expert_ffn = 0;
  int moe_layer_every = 1;
  std::string name;             // optional label (sweep shapes: "L2-d32")

  int head_dim() const { return heads > 0 ? d_model / heads : 0; }
  int effective_kv_heads() const { return kv_heads > 0 ? kv_heads : heads; }
  int effective_ffn() const { return ffn > 0 ? ffn : 4 * d_model; }
  Norm norm_kind() const;
  Position position_kind() const;
  bool has_biases() const;
  bool tied() const;
  bool is_moe() const { return experts > 0; }
  int moe_layers() const { return is_moe() && moe_layer_every > 0 ? layers / moe_layer_every : 0; }
  int effective_expert_ffn() const { return expert_ffn > 0 ? expert_ffn : effective_ffn(); }

  // Parameters (Narayanan et al. 2021, Eq. 2, generalised to GQA, SwiGLU, RMSNorm, RoPE and untied
  // output layers; docs/planner.md "Parameter count").
  ParamCounts Params() const;
  double ParamsTotal() const { return Params().total; }
  double ParamsNonEmbedding() const { return Params().non_embedding; }
  double ParamsActive() const { return Params().active; }
  // Weights of the matmuls of one dense layer (no biases): Q and output projections, K and V, the
  // MLP. For a mixture of experts, the layers without experts; MatmulWeights() counts every layer.
  double MatmulWeightsPerLayer() const;
  // Weights of one expert (its MLP at expert_ffn) and of one MoE layer's router (d_model x experts).
  double ExpertWeights() const;
  double RouterWeights() const;
  // Matmul weights of all layers (every expert, the routers), and those one token uses (its top-k
  // routed experts, the shared experts, the routers). Equal for a dense shape.
  double MatmulWeights() const;
  double ActiveMatmulWeights() const;
  // Model FLOPs per trained token, forward + backward, no recomputation: every matmul (attention
  // scores and the output layer included), Korthikanti et al. 2022 Eq. 7 / Porian et al. 2024; for a
  // mixture of experts, the matmuls of the active parameters (a token computes only the experts it
  // is routed to: Fedus et al. 2022 Sec. 2; the routers' d_model x experts included).
  double ModelFlopsPerToken() const;
  // Names the field at fault ("field 'heads' must divide d_model").
  bool IsValid(std::string* error) const;
  // Flat `key: value` lines (layers, d_model, heads, kv_heads, ffn, vocab, seq_len, mlp, and the
  // architecture keys that are set; the MoE keys for a mixture of experts): the keys the trainer's
  // run config and the model files share.
  std::string ToYaml() const;
};

// The shape as isoflop's trainer builds it: unset architecture details become RMSNorm, RoPE, no
// linear biases and tied embeddings (docs/trainer.md); kv_heads and ffn are made explicit.
ModelShape AsTrainerBuilds(ModelShape shape);

}  // namespace isoflop

#endif  // ISOFLOP_MODEL_SHAPE_H_
