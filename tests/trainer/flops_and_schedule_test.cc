// Parameter counts, FLOPs per token (PaLM appendix B) and the lr schedules, checked
// against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/trainer.h"

namespace isoflop::trainer {
namespace {

// GPT-2 small's shape (12 x 768, 12 heads, ffn 3072, vocab 50257, seq 1024), in this
// trainer's architecture: no biases, no learned positions (RoPE), LayerNorm with bias.
ModelShape Gpt2Small() {
  ModelShape s = TrainerDefaultShape();
  s.layers = 12;
  s.d_model = 768;
  s.heads = 12;
  s.ffn = 3072;
  s.vocab = 50257;
  s.seq_len = 1024;
  s.norm = Norm::kLayerNorm;
  s.mlp = Mlp::kGelu;
  return s;
}

TEST(ParamCounts, Gpt2SmallShapeByHand) {
  const ParamCounts p = CountParams(Gpt2Small());
  // Per layer: 4 d^2 (attention) + 2 d ffn (MLP) + 2 * 2d (two LayerNorms) = 7,080,960.
  EXPECT_EQ(p.non_embedding, 12 * (4 * 768 * 768 + 2 * 768 * 3072 + 4 * 768) + 2 * 768);
  EXPECT_EQ(p.embedding, 50257 * 768);
  EXPECT_EQ(p.total, 123'570'432);
}

TEST(ParamCounts, GroupedQueryUntiedSwiglu) {
  ModelShape s = TrainerDefaultShape();
  s.layers = 2;
  s.d_model = 64;
  s.heads = 4;
  s.kv_heads = 2;
  s.ffn = 192;
  s.vocab = 256;
  s.mlp = Mlp::kSwiglu;
  s.tied_embeddings = false;
  const ParamCounts p = CountParams(s);
  // attention: q 64x64, k and v 64x32 each, o 64x64 = 12,288; SwiGLU 3 x 64 x 192 = 36,864; RMSNorms 2 x 64.
  EXPECT_EQ(p.non_embedding, 2 * (12'288 + 36'864 + 128) + 64);
  EXPECT_EQ(p.embedding, 2 * 256 * 64);
}

TEST(FlopsPerToken, PalmFormulaForGpt2Small) {
  const ModelShape s = Gpt2Small();
  const FlopsPerToken f = TrainingFlopsPerToken(s);
  const double matmul_params = 12.0 * (4 * 768 * 768 + 2 * 768 * 3072);  // 84,934,656
  EXPECT_DOUBLE_EQ(f.dense, 6 * matmul_params);
  EXPECT_DOUBLE_EQ(f.output_layer, 6.0 * 768 * 50257);
  EXPECT_DOUBLE_EQ(f.attention, 12.0 * 12 * 12 * 64 * 1024);
  // 509.6M + 231.6M + 113.2M = 854.4 MFLOP per token.
  EXPECT_NEAR(f.total(), 854.4e6, 0.1e6);
}

TEST(LearningRate, WarmupThenCosineToTheFloor) {
  RunConfig c;
  c.lr = 1e-3;
  c.min_lr_ratio = 0.1;
  c.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 0, 110), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 9, 110), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 10, 110), 1e-3);
  EXPECT_NEAR(LearningRateAt(c, 60, 110), 0.55e-3, 1e-12);  // halfway: (max + min) / 2
  EXPECT_NEAR(LearningRateAt(c, 110, 110), 1e-4, 1e-12);
}

TEST(LearningRate, WsdIsFlatThenDecaysLinearly) {
  RunConfig c;
  c.lr = 1e-3;
  c.min_lr_ratio = 0.0;
  c.warmup_steps = 0;
  c.schedule = LrScheduleKind::kWsd;
  c.decay_fraction = 0.2;
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 0, 100), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(c, 79, 100), 1e-3);
  EXPECT_NEAR(LearningRateAt(c, 89, 100), 0.5e-3, 1e-12);  // 10 of 20 decay steps done
  EXPECT_NEAR(LearningRateAt(c, 99, 100), 0.0, 1e-12);
}

TEST(ExitCodeFor, OutcomesMapToTheInterfaceCodes) {
  TrainSummary s;
  EXPECT_EQ(ExitCodeFor(StatusOr<TrainSummary>(s)), 0);
  s.outcome = RunOutcome::kDiverged;
  EXPECT_EQ(ExitCodeFor(StatusOr<TrainSummary>(s)), 3);
  s.outcome = RunOutcome::kPreempted;
  EXPECT_EQ(ExitCodeFor(StatusOr<TrainSummary>(s)), 75);
  EXPECT_EQ(ExitCodeFor(StatusOr<TrainSummary>(Status::InvalidArgument("x"))), 2);
  EXPECT_EQ(ExitCodeFor(StatusOr<TrainSummary>(Status::IOError("x"))), 1);
}

}  // namespace
}  // namespace isoflop::trainer
