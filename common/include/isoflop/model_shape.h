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
  std::string name;             // optional label (sweep shapes: "L2-d32")

  int head_dim() const { return heads > 0 ? d_model / heads : 0; }
  int effective_kv_heads() const { return kv_heads > 0 ? kv_heads : heads; }
  int effective_ffn() const { return ffn > 0 ? ffn : 4 * d_model; }
  Norm norm_kind() const;
  Position position_kind() const;
  bool has_biases() const;
  bool tied() const;

  // Parameters (Narayanan et al. 2021, Eq. 2, generalised to GQA, SwiGLU, RMSNorm, RoPE and untied
  // output layers; docs/planner.md "Parameter count").
  ParamCounts Params() const;
  double ParamsTotal() const { return Params().total; }
  double ParamsNonEmbedding() const { return Params().non_embedding; }
  // Weights of the matmuls of one layer (no biases): Q and output projections, K and V, the MLP.
  double MatmulWeightsPerLayer() const;
  // Model FLOPs per trained token, forward + backward, no recomputation: every matmul (attention
  // scores and the output layer included), Korthikanti et al. 2022 Eq. 7 / Porian et al. 2024.
  double ModelFlopsPerToken() const;
  // Names the field at fault ("field 'heads' must divide d_model").
  bool IsValid(std::string* error) const;
  // Flat `key: value` lines (layers, d_model, heads, kv_heads, ffn, vocab, seq_len, mlp, and the
  // architecture keys that are set): the keys the trainer's run config and the model files share.
  std::string ToYaml() const;
};

// The shape as isoflop's trainer builds it: unset architecture details become RMSNorm, RoPE, no
// linear biases and tied embeddings (docs/trainer.md); kv_heads and ffn are made explicit.
ModelShape AsTrainerBuilds(ModelShape shape);

}  // namespace isoflop

#endif  // ISOFLOP_MODEL_SHAPE_H_
