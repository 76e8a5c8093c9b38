#include "gpt_model.h"

#include <torch/version.h>

#include <cmath>

#if ISOFLOP_WITH_CUDA
#include "fused_classifier.h"
#endif

namespace isoflop::trainer {
namespace {

// scaled_dot_product_attention became public in PyTorch 2.0; 1.13 (Debian 12) has the
// same kernel as the private _scaled_dot_product_attention.
torch::Tensor CausalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true);
#else
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                                       /*need_attn_weights=*/false, /*is_causal=*/true));
#endif
}

#if ISOFLOP_WITH_CUDA
// Output layer + cross-entropy with the logits' gradient computed in the forward pass and
// stored over the logits (llm.c's fused_classifier): no fp32 copy of the (B*T, V) logits
// and no separate softmax tensor. The matmuls stay on cuBLAS through libtorch.
class FusedClassifierLoss : public torch::autograd::Function<FusedClassifierLoss> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor h, torch::Tensor w,
                               torch::Tensor targets) {
    // The trainer runs CUDA in bf16 autocast, so the output matmul is bf16 there too.
    const auto compute = torch::kBFloat16;
    auto hc = h.to(compute).contiguous();
    auto wc = w.to(compute).contiguous();
    auto logits = torch::matmul(hc, wc.t()).contiguous();
    auto losses = torch::empty({logits.size(0)}, h.options().dtype(torch::kFloat32));
    auto t = targets.to(torch::kInt64).contiguous();
    const int rc = cuda::LaunchFusedClassifier(
        logits.data_ptr(),
        compute == torch::kBFloat16 ? cuda::LogitsType::kBFloat16 : cuda::LogitsType::kFloat32,
        t.data_ptr<int64_t>(), losses.data_ptr<float>(), logits.size(0), logits.size(1),
        1.0f / static_cast<float>(logits.size(0)), /*stream=*/nullptr);
    TORCH_CHECK(rc == 0, "fused classifier kernel failed with CUDA error ", rc);
    ctx->save_for_backward({hc, wc, logits});
    ctx->saved_data["h_dtype"] = static_cast<int64_t>(h.scalar_type());
    ctx->saved_data["w_dtype"] = static_cast<int64_t>(w.scalar_type());
    return losses.mean();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    auto dlogits = saved[2] * grad_out[0].to(saved[2].scalar_type());
    auto dh =
        torch::matmul(dlogits, saved[1]).to(static_cast<c10::ScalarType>(ctx->saved_data["h_dtype"].toInt()));
    auto dw = torch::matmul(dlogits.t(), saved[0])
                  .to(static_cast<c10::ScalarType>(ctx->saved_data["w_dtype"].toInt()));
    return {dh, dw, torch::Tensor()};
  }
};
#endif

}  // namespace

torch::Tensor GptModel::Matrix(const std::string& name, int64_t rows, int64_t cols, double std) {
  auto t = register_parameter(name, torch::randn({rows, cols}) * std);
  decay_.push_back(t);
  return t;
}

torch::Tensor GptModel::Vector(const std::string& name, int64_t n, double value) {
  auto t = register_parameter(name, torch::full({n}, value));
  no_decay_.push_back(t);
  return t;
}

GptModel::GptModel(const ModelShape& s, uint64_t seed) : shape_(s) {
  torch::manual_seed(seed);
  const int64_t d = s.d_model, hd = s.head_dim(), kv = s.effective_kv_heads();
  const bool ln = s.norm_kind() == Norm::kLayerNorm;
  // GPT-2 initialisation (Radford et al. 2019, sec. 2.3): N(0, 0.02), residual projections
  // scaled by 1/sqrt(2 * layers).
  const double std = 0.02, resid_std = 0.02 / std::sqrt(2.0 * s.layers);
  wte_ = Matrix("wte", s.vocab, d, std);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "h" + std::to_string(l) + "_";  // libtorch forbids dots in names
    Block b;
    b.norm1_w = Vector(p + "norm1_w", d, 1.0);
    if (ln) b.norm1_b = Vector(p + "norm1_b", d, 0.0);
    b.wq = Matrix(p + "attn_wq", s.heads * hd, d, std);
    b.wk = Matrix(p + "attn_wk", kv * hd, d, std);
    b.wv = Matrix(p + "attn_wv", kv * hd, d, std);
    b.wo = Matrix(p + "attn_wo", d, s.heads * hd, resid_std);
    b.norm2_w = Vector(p + "norm2_w", d, 1.0);
    if (ln) b.norm2_b = Vector(p + "norm2_b", d, 0.0);
    b.w1 = Matrix(p + "mlp_w1", s.effective_ffn(), d, std);
    if (s.mlp == Mlp::kSwiglu) b.w3 = Matrix(p + "mlp_w3", s.effective_ffn(), d, std);
    b.w2 = Matrix(p + "mlp_w2", d, s.effective_ffn(), resid_std);
    blocks_.push_back(std::move(b));
  }
  final_norm_w_ = Vector("final_norm_w", d, 1.0);
  if (ln) final_norm_b_ = Vector("final_norm_b", d, 0.0);
  lm_head_ = s.tied() ? wte_ : Matrix("lm_head", s.vocab, d, std);

  // RoPE tables (Su et al. 2021, eq. 34): theta_i = base^(-2i/head_dim), angle = pos * theta_i.
  auto inv_freq =
      torch::pow(s.rope_theta, -torch::arange(0, hd, 2, torch::kFloat64) / static_cast<double>(hd));
  auto angles = torch::outer(torch::arange(s.seq_len, torch::kFloat64), inv_freq);
  rope_cos_ = register_buffer("rope_cos", torch::cos(angles).to(torch::kFloat32));
  rope_sin_ = register_buffer("rope_sin", torch::sin(angles).to(torch::kFloat32));
}

torch::Tensor GptModel::Norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const {
  if (shape_.norm_kind() == Norm::kLayerNorm) return torch::layer_norm(x, {shape_.d_model}, w, b, 1e-5);
  // RMSNorm (Zhang & Sennrich 2019, eq. 4), computed in fp32.
  auto xf = x.to(torch::kFloat32);
  auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + 1e-6);
  return (y * w).to(x.scalar_type());
}

torch::Tensor GptModel::Rope(const torch::Tensor& x) const {
  const int64_t T = x.size(2), half = x.size(3) / 2;
  auto cos = rope_cos_.slice(0, 0, T).view({1, 1, T, half}).to(x.scalar_type());
  auto sin = rope_sin_.slice(0, 0, T).view({1, 1, T, half}).to(x.scalar_type());
  auto x1 = x.slice(-1, 0, half), x2 = x.slice(-1, half);
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, -1);
}

torch::Tensor GptModel::Attention(const Block& b, const torch::Tensor& x) const {
  const int64_t B = x.size(0), T = x.size(1), H = shape_.heads, KV = shape_.effective_kv_heads(),
                hd = shape_.head_dim();
  auto q = torch::linear(x, b.wq).view({B, T, H, hd}).transpose(1, 2);
  auto k = torch::linear(x, b.wk).view({B, T, KV, hd}).transpose(1, 2);
  auto v = torch::linear(x, b.wv).view({B, T, KV, hd}).transpose(1, 2);
  q = Rope(q);
  k = Rope(k);
  if (KV != H) {  // grouped-query attention (Ainslie et al. 2023): each kv head serves H/KV query heads
    k = k.repeat_interleave(H / KV, 1);
    v = v.repeat_interleave(H / KV, 1);
  }
  auto y = CausalAttention(q, k, v).transpose(1, 2).contiguous().view({B, T, H * hd});
  return torch::linear(y, b.wo);
}

torch::Tensor GptModel::Mlp(const Block& b, const torch::Tensor& x) const {
  if (shape_.mlp == Mlp::kSwiglu) {  // Shazeer 2020, eq. 6
    return torch::linear(torch::silu(torch::linear(x, b.w1)) * torch::linear(x, b.w3), b.w2);
  }
  return torch::linear(torch::gelu(torch::linear(x, b.w1)), b.w2);
}

torch::Tensor GptModel::Loss(const torch::Tensor& inputs, const torch::Tensor& targets, bool fused_output) {
  auto x = torch::embedding(wte_, inputs);
  for (const Block& b : blocks_) {
    x = x + Attention(b, Norm(x, b.norm1_w, b.norm1_b));
    x = x + Mlp(b, Norm(x, b.norm2_w, b.norm2_b));
  }
  x = Norm(x, final_norm_w_, final_norm_b_);
  auto h = x.reshape({-1, shape_.d_model});
#if ISOFLOP_WITH_CUDA
  if (fused_output && h.is_cuda()) return FusedClassifierLoss::apply(h, lm_head_, targets.reshape({-1}));
#else
  (void)fused_output;
#endif
  auto logits = torch::linear(h, lm_head_).to(torch::kFloat32);
  return torch::nn::functional::cross_entropy(logits, targets.reshape({-1}));
}

}  // namespace isoflop::trainer
