// The GPT-style decoder: pre-norm blocks (RMSNorm or LayerNorm), RoPE, causal attention
// through scaled_dot_product_attention with grouped-query attention (kv_heads), a GELU or
// SwiGLU MLP, tied or untied embeddings. No biases in the matmuls (as in LLaMA).
#ifndef ISOFLOP_TRAINER_GPT_MODEL_H_
#define ISOFLOP_TRAINER_GPT_MODEL_H_

#include <torch/torch.h>

#include <vector>

#include "isoflop/trainer.h"

namespace isoflop::trainer {

class GptModel : public torch::nn::Module {
 public:
  // Initialises on the CPU from `seed` (identical on every rank and device), then moves.
  GptModel(const ModelShape& shape, uint64_t seed);

  // Mean next-token cross-entropy of `inputs` (B, T) against `targets` (B, T), int64.
  // With `fused_output` (CUDA builds), the output matmul's logits are turned into the
  // loss and their gradient in place by trainer/cuda/fused_classifier.cu.
  torch::Tensor Loss(const torch::Tensor& inputs, const torch::Tensor& targets, bool fused_output);

  // AdamW groups: matrices (and embeddings) decay; norm weights and biases do not.
  const std::vector<torch::Tensor>& decay_params() const { return decay_; }
  const std::vector<torch::Tensor>& no_decay_params() const { return no_decay_; }
  const ModelShape& shape() const { return shape_; }

 private:
  struct Block {
    torch::Tensor norm1_w, norm1_b, wq, wk, wv, wo, norm2_w, norm2_b, w1, w2, w3;
  };
  torch::Tensor Norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const;
  torch::Tensor Rope(const torch::Tensor& x) const;  // x: (B, heads, T, head_dim)
  torch::Tensor Attention(const Block& blk, const torch::Tensor& x) const;
  torch::Tensor Mlp(const Block& blk, const torch::Tensor& x) const;
  torch::Tensor Matrix(const std::string& name, int64_t rows, int64_t cols, double std);
  torch::Tensor Vector(const std::string& name, int64_t n, double value);

  ModelShape shape_;
  torch::Tensor wte_, lm_head_, final_norm_w_, final_norm_b_;
  torch::Tensor rope_cos_, rope_sin_;
  std::vector<Block> blocks_;
  std::vector<torch::Tensor> decay_, no_decay_;
};

}  // namespace isoflop::trainer

#endif  // ISOFLOP_TRAINER_GPT_MODEL_H_
