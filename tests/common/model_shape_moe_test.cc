// A mixture of experts in the one model shape (common/model_shape.h): total parameters count every
// expert, active parameters the top-k routed and the shared experts a token uses, and the model
// FLOPs per token follow the active parameters. Figures checked against the models' papers.
#include <gtest/gtest.h>

#include "isoflop/model_shape.h"

using isoflop::Mlp;
using isoflop::ModelShape;

namespace {

// Mixtral 8x7B (Jiang et al. 2024, "Mixtral of Experts", Table 1 and Sec. 2: 32 layers, d 4096,
// 32 heads, 8 KV heads, 8 experts of width 14,336, top-2, vocabulary 32,000; "47B parameters,
// 13B active").
ModelShape Mixtral() {
  ModelShape m;
  m.layers = 32;
  m.d_model = 4096;
  m.heads = 32;
  m.kv_heads = 8;
  m.ffn = 14336;
  m.vocab = 32000;
  m.seq_len = 4096;
  m.mlp = Mlp::kSwiglu;
  m.experts = 8;
  m.experts_per_token = 2;
  m.expert_ffn = 14336;
  return m;
}

}  // namespace

TEST(ModelShapeMoe, MixtralTotalAndActiveParameters) {
  const ModelShape m = Mixtral();
  std::string error;
  ASSERT_TRUE(m.IsValid(&error)) << error;
  const auto p = m.Params();
  EXPECT_NEAR(p.total / 1e9, 46.70, 0.01);   // "47B"
  EXPECT_NEAR(p.active / 1e9, 12.88, 0.01);  // "13B active"
  EXPECT_DOUBLE_EQ(p.active - p.embedding, p.active_non_embedding);
  // Skipped: 6 of 8 experts (3 x 4096 x 14336 each) in each of 32 layers.
  EXPECT_DOUBLE_EQ(p.total - p.active, 32.0 * 6 * 3 * 4096 * 14336);
  // FLOPs per token from the active matmuls (router included), not the total.
  ModelShape dense_equivalent = m;
  dense_equivalent.experts = dense_equivalent.experts_per_token = dense_equivalent.expert_ffn = 0;
  dense_equivalent.ffn = 2 * 14336;  // two experts' width as one MLP: the same active matmuls
  const double router = 6.0 * 32 * 4096 * 8;
  EXPECT_DOUBLE_EQ(m.ModelFlopsPerToken(), dense_equivalent.ModelFlopsPerToken() + router);
  EXPECT_LT(m.ModelFlopsPerToken(), 6.0 * p.total);
}

TEST(ModelShapeMoe, SharedExpertsAndInterleavedLayers) {
  // Fine-grained experts with a shared one (DeepSeekMoE, Dai et al. 2024), MoE every other layer.
  ModelShape m = Mixtral();
  m.experts = 64;
  m.experts_per_token = 6;
  m.shared_experts = 2;
  m.expert_ffn = 1408;
  m.moe_layer_every = 2;
  std::string error;
  ASSERT_TRUE(m.IsValid(&error)) << error;
  EXPECT_EQ(m.moe_layers(), 16);
  const double expert = 3.0 * 4096 * 1408;
  const double attention = 2.0 * 4096 * 4096 + 2.0 * 4096 * 1024;
  const double dense_layer = attention + 3.0 * 4096 * 14336;
  EXPECT_DOUBLE_EQ(m.MatmulWeights(), 16 * dense_layer + 16 * (attention + 66 * expert + 4096.0 * 64));
  EXPECT_DOUBLE_EQ(m.ActiveMatmulWeights(), m.MatmulWeights() - 16 * 58 * expert);
  EXPECT_DOUBLE_EQ(m.Params().total - m.Params().active, 16 * 58 * expert);
  // A dense shape: active == total, MatmulWeights == layers x MatmulWeightsPerLayer.
  ModelShape d = Mixtral();
  d.experts = d.experts_per_token = d.expert_ffn = 0;
  EXPECT_DOUBLE_EQ(d.Params().active, d.Params().total);
  EXPECT_DOUBLE_EQ(d.MatmulWeights(), 32 * d.MatmulWeightsPerLayer());
}

TEST(ModelShapeMoe, InvalidFieldsAreNamed) {
  std::string error;
  ModelShape m = Mixtral();
  m.experts_per_token = 9;
  EXPECT_FALSE(m.IsValid(&error));
  EXPECT_NE(error.find("experts_per_token"), std::string::npos) << error;
  m = Mixtral();
  m.moe_layer_every = 0;
  EXPECT_FALSE(m.IsValid(&error));
  EXPECT_NE(error.find("moe_layer_every"), std::string::npos) << error;
  m = Mixtral();
  m.experts = 0;  // top-k without experts
  EXPECT_FALSE(m.IsValid(&error));
  EXPECT_NE(error.find("experts"), std::string::npos) << error;
  // The keys round-trip through ToYaml.
  EXPECT_NE(Mixtral().ToYaml().find("experts: 8\nexperts_per_token: 2\n"), std::string::npos)
      << Mixtral().ToYaml();
}
