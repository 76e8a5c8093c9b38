// Parameter and FLOP counts of a transformer shape (docs/planner.md, "Parameter count" and
// "FLOPs per token").
#include "isoflop/model_shape.h"

#include <sstream>

namespace isoflop {

const char* MlpName(Mlp mlp) {
  return mlp == Mlp::kSwiglu ? "swiglu" : "gelu";
}
const char* NormName(Norm norm) {
  return norm == Norm::kLayerNorm ? "layernorm" : "rmsnorm";
}
const char* PositionName(Position p) {
  return p == Position::kLearned ? "learned" : "rope";
}

StatusOr<Mlp> ParseMlp(const std::string& name) {
  if (name == "gelu") return Mlp::kGelu;
  if (name == "swiglu") return Mlp::kSwiglu;
  return Status::InvalidArgument("must be gelu or swiglu (got '" + name + "')");
}

StatusOr<Norm> ParseNorm(const std::string& name) {
  if (name == "rmsnorm") return Norm::kRmsNorm;
  if (name == "layernorm") return Norm::kLayerNorm;
  return Status::InvalidArgument("must be rmsnorm or layernorm (got '" + name + "')");
}

Norm ModelShape::norm_kind() const {
  return norm.value_or(mlp == Mlp::kGelu ? Norm::kLayerNorm : Norm::kRmsNorm);
}
Position ModelShape::position_kind() const {
  return position.value_or(mlp == Mlp::kGelu ? Position::kLearned : Position::kRope);
}
bool ModelShape::has_biases() const {
  return biases.value_or(mlp == Mlp::kGelu);
}
bool ModelShape::tied() const {
  return tied_embeddings.value_or(mlp == Mlp::kGelu);
}

double ModelShape::MatmulWeightsPerLayer() const {
  const double h = d_model, q = static_cast<double>(heads) * head_dim();
  const double kv = static_cast<double>(effective_kv_heads()) * head_dim();
  const double attention = 2.0 * h * q + 2.0 * h * kv;  // Q and output, K and V
  const double mlp_weights = (mlp == Mlp::kSwiglu ? 3.0 : 2.0) * h * effective_ffn();
  return attention + mlp_weights;
}

double ModelShape::ExpertWeights() const {
  return (mlp == Mlp::kSwiglu ? 3.0 : 2.0) * d_model * static_cast<double>(effective_expert_ffn());
}

double ModelShape::RouterWeights() const {
  return is_moe() ? static_cast<double>(d_model) * experts : 0.0;
}

// Dense layers: MatmulWeightsPerLayer each. An MoE layer: the same attention, no dense MLP, every
// routed and shared expert, the router; a token uses its top-k routed experts of them.
double ModelShape::MatmulWeights() const {
  if (!is_moe()) return layers * MatmulWeightsPerLayer();
  const double attention =
      MatmulWeightsPerLayer() - (mlp == Mlp::kSwiglu ? 3.0 : 2.0) * d_model * effective_ffn();
  const double moe = moe_layers();
  return (layers - moe) * MatmulWeightsPerLayer() +
         moe * (attention + (experts + shared_experts) * ExpertWeights() + RouterWeights());
}

double ModelShape::ActiveMatmulWeights() const {
  if (!is_moe()) return layers * MatmulWeightsPerLayer();
  return MatmulWeights() - moe_layers() * static_cast<double>(experts - experts_per_token) * ExpertWeights();
}

// Per layer: the matmul weights, their biases when the block has them (Q, K, V, output; the MLP's
// input (two for SwiGLU) and output projections), and two norms (weight, plus bias for LayerNorm);
// then a final norm. Embeddings: the token matrix, the output matrix when untied, the position
// table when learned. For the GPT block with f = 4h this is Narayanan et al. 2021, Eq. 2's
// 12 l h^2 + 13 l h (+ V h + s h).
ParamCounts ModelShape::Params() const {
  const double h = d_model, f = effective_ffn();
  const double q = static_cast<double>(heads) * head_dim();
  const double kv = static_cast<double>(effective_kv_heads()) * head_dim();
  const double norm_size = norm_kind() == Norm::kLayerNorm ? 2 * h : h;
  const double biases_per_layer =
      has_biases() ? (q + 2 * kv) + h + (mlp == Mlp::kSwiglu ? 2 * f : f) + h : 0.0;
  ParamCounts p;
  p.non_embedding = layers * (MatmulWeightsPerLayer() + biases_per_layer + 2 * norm_size) + norm_size;
  p.embedding = static_cast<double>(vocab) * h * (tied() ? 1 : 2) +
                (position_kind() == Position::kLearned ? static_cast<double>(seq_len) * h : 0.0);
  double skipped = 0;  // routed experts a token does not use
  if (is_moe()) {
    // An MoE layer trades its dense MLP (and its biases) for the experts (each with the MLP's
    // biases at expert_ffn) and the router.
    const double fe = effective_expert_ffn();
    const double mlp_biases = has_biases() ? (mlp == Mlp::kSwiglu ? 2 * f : f) + h : 0.0;
    const double expert_biases = has_biases() ? (mlp == Mlp::kSwiglu ? 2 * fe : fe) + h : 0.0;
    const double dense_mlp = (mlp == Mlp::kSwiglu ? 3.0 : 2.0) * h * f + mlp_biases;
    const double expert = ExpertWeights() + expert_biases;
    p.non_embedding += moe_layers() * ((experts + shared_experts) * expert + RouterWeights() - dense_mlp);
    skipped = moe_layers() * static_cast<double>(experts - experts_per_token) * expert;
  }
  p.total = p.non_embedding + p.embedding;
  p.active_non_embedding = p.non_embedding - skipped;
  p.active = p.total - skipped;
  return p;
}

// Forward = 2 FLOPs per matmul weight per token, plus attention scores QK^T and scores x V (2 s h
// each per token per layer), plus the output layer (2 V h); backward = 2 x forward. For GELU with
// f = 4h this is 72 l h^2 (1 + s/(6h) + V/(12 l h)) per token (Korthikanti et al. 2022, Eq. 7).
double ModelShape::ModelFlopsPerToken() const {
  const double h = d_model, s = seq_len;
  const double attention_width = static_cast<double>(heads) * head_dim();
  return 6.0 * (ActiveMatmulWeights() + static_cast<double>(vocab) * h) + 12.0 * layers * s * attention_width;
}

bool ModelShape::IsValid(std::string* error) const {
  auto fail = [&](const std::string& what) {
    if (error) *error = what;
    return false;
  };
  if (layers < 1) return fail("field 'layers' must be >= 1");
  if (d_model < 1) return fail("field 'd_model' must be >= 1");
  if (heads < 1) return fail("field 'heads' must be >= 1");
  if (d_model % heads != 0) return fail("field 'heads' must divide d_model");
  if (kv_heads < 0 || effective_kv_heads() > heads || heads % effective_kv_heads() != 0)
    return fail("field 'kv_heads' must divide heads (0 means heads)");
  if (ffn < 0) return fail("field 'ffn' must be >= 1 (0 means 4 d_model)");
  if (vocab < 0) return fail("field 'vocab' must be >= 1");
  if (seq_len < 1) return fail("field 'seq_len' must be >= 1");
  if (!(rope_theta > 0)) return fail("field 'rope_theta' must be > 0");
  if (experts < 0) return fail("field 'experts' must be >= 0 (0: a dense model)");
  if (experts == 0) {
    if (experts_per_token != 0 || shared_experts != 0 || expert_ffn != 0)
      return fail("fields 'experts_per_token', 'shared_experts' and 'expert_ffn' need 'experts' >= 1");
  } else {
    if (experts_per_token < 1 || experts_per_token > experts)
      return fail("field 'experts_per_token' must be in [1, experts]");
    if (shared_experts < 0) return fail("field 'shared_experts' must be >= 0");
    if (expert_ffn < 0) return fail("field 'expert_ffn' must be >= 1 (0 means ffn)");
    if (moe_layer_every < 1 || moe_layer_every > layers)
      return fail("field 'moe_layer_every' must be in [1, layers]");
  }
  return true;
}

std::string ModelShape::ToYaml() const {
  std::ostringstream out;
  out << "layers: " << layers << "\nd_model: " << d_model << "\nheads: " << heads
      << "\nkv_heads: " << effective_kv_heads() << "\nffn: " << effective_ffn() << "\nvocab: " << vocab
      << "\nseq_len: " << seq_len << "\nmlp: " << MlpName(mlp) << "\n";
  if (norm) out << "norm: " << NormName(*norm) << "\n";
  if (tied_embeddings) out << "tied_embeddings: " << (*tied_embeddings ? "true" : "false") << "\n";
  if (is_moe()) {
    out << "experts: " << experts << "\nexperts_per_token: " << experts_per_token
        << "\nshared_experts: " << shared_experts << "\nexpert_ffn: " << effective_expert_ffn()
        << "\nmoe_layer_every: " << moe_layer_every << "\n";
  }
  return out.str();
}

ModelShape AsTrainerBuilds(ModelShape s) {
  if (!s.norm) s.norm = Norm::kRmsNorm;
  if (!s.position) s.position = Position::kRope;
  if (!s.biases) s.biases = false;
  if (!s.tied_embeddings) s.tied_embeddings = true;
  s.kv_heads = s.effective_kv_heads();
  s.ffn = s.effective_ffn();
  return s;
}

}  // namespace isoflop
