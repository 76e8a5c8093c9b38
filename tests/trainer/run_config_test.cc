// The flat run config: defaults, every key, comments and quotes, and errors that name the
// file, line and key; the shipped configs/runs/tiny.yaml parses into a ~100K model.
#include "isoflop/trainer.h"

#include <gtest/gtest.h>

namespace isoflop::trainer {
namespace {

TEST(RunConfig, ParsesKeysCommentsAndQuotes) {
  auto c = ParseRunConfigText(
      "# a sweep point\nlayers: 4\nd_model: 128   # width\nheads: 8\nkv_heads: 2\nffn: 512\nvocab: 1000\n"
      "seq_len: 128\nmlp: \"swiglu\"\nnorm: layernorm\ntied_embeddings: false\ntokens: 1e6\n"
      "batch_tokens: 4096\nmicro_batch: 16\nlr: 6e-4\nschedule: wsd\ndecay_fraction: 0.25\nseed: 3\n"
      "name: run-17\n",
      "point.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->model.layers, 4);
  EXPECT_EQ(c->model.d_model, 128);
  EXPECT_EQ(c->model.effective_kv_heads(), 2);
  EXPECT_EQ(c->model.mlp, Mlp::kSwiglu);
  EXPECT_EQ(c->model.norm_kind(), Norm::kLayerNorm);
  EXPECT_FALSE(c->model.tied());
  EXPECT_EQ(c->tokens, 1000000);
  EXPECT_DOUBLE_EQ(c->lr, 6e-4);
  EXPECT_EQ(c->schedule, LrScheduleKind::kWsd);
  EXPECT_EQ(c->seed, 3u);
  EXPECT_EQ(c->accumulation_steps(1), 2);  // 4096 / (16 * 128)
  EXPECT_EQ(c->steps(1), 245);             // ceil(1e6 / 4096)
}

TEST(RunConfig, FfnDefaultsToFourTimesDModel) {
  auto c = ParseRunConfigText("d_model: 32\nheads: 2\n", "f.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->model.effective_ffn(), 128);
  c->model.vocab = 100;
  EXPECT_EQ(CountParams(c->model).non_embedding, 2 * (4 * 32 * 32 + 2 * 32 * 128 + 2 * 32) + 32);
}

TEST(RunConfig, ErrorsNameFileLineAndKey) {
  auto unknown = ParseRunConfigText("layers: 2\nlayer_count: 3\n", "a.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(),
            "a.yaml:2: unknown key `layer_count` (keys are listed in docs/trainer.md)");

  auto bad = ParseRunConfigText("lr: fast\n", "b.yaml");
  EXPECT_EQ(bad.status().message(), "b.yaml:1: key `lr` must be a number, got `fast`");

  auto twice = ParseRunConfigText("lr: 1\nlr: 2\n", "c.yaml");
  EXPECT_EQ(twice.status().message(), "c.yaml:2: key `lr` repeats line 1");

  auto nested = ParseRunConfigText("model:\n  layers: 2\n", "d.yaml");
  EXPECT_NE(nested.status().message().find("d.yaml:1: key `model` has no value"), std::string::npos);

  auto indivisible = ParseRunConfigText("micro_batch: 3\nseq_len: 64\nbatch_tokens: 1000\n", "e.yaml");
  ASSERT_FALSE(indivisible.ok());
  EXPECT_NE(indivisible.status().message().find("e.yaml:3: batch_tokens (1000) must be a multiple"),
            std::string::npos)
      << indivisible.status().message();

  EXPECT_EQ(ReadRunConfig("/no/such/run.yaml").status().message(),
            "/no/such/run.yaml: no such file (the run config, --config)");
}

TEST(RunConfig, ShippedTinyConfigIsAHundredThousandParameterModel) {
  auto c = ReadRunConfig(std::string(ISOFLOP_SOURCE_DIR) + "/configs/runs/tiny.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ModelShape shape = c->model;
  if (shape.vocab == 0)
    shape.vocab = 256;  // the byte-level vocabulary of `isoflop data build --tokenizer bytes`
  const auto p = CountParams(shape);
  EXPECT_GT(p.total, 80'000);
  EXPECT_LT(p.total, 130'000);
}

}  // namespace
}  // namespace isoflop::trainer
