// Integer settings whose products overflow (issue 15, findings 4, 5 and 8): a run config with
// `tokens: 9223372036854775807` trained 0 steps and exited 0 with a null loss; seq_len x micro_batch
// overflowing int64 to 0 ended in SIGFPE; a directory given as --config trained with every default.
// Each is now bad input naming the file and key.
#include "isoflop/trainer.h"

#include <gtest/gtest.h>

namespace isoflop::trainer {
namespace {

constexpr const char* kShape = "layers: 2\nd_model: 64\nheads: 4\nseq_len: 64\n";

TEST(ConfigLimits, TokensBeyondTwoToThe53AreRefused) {
  auto c =
      ParseRunConfigText(std::string(kShape) + "tokens: 9223372036854775807\nbatch_tokens: 512\n", "r.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("r.yaml:5"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("tokens must be <= 2^53"), std::string::npos) << c.status().message();
}

TEST(ConfigLimits, StepsNeverOverflow) {
  auto c =
      ParseRunConfigText(std::string(kShape) + "tokens: 9007199254740992\nbatch_tokens: 512\n", "r.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->steps(1), 9007199254740992 / 512);
  c->tokens = 9223372036854775807;  // beyond IsValid's bound, still no wrap-around in steps()
  c->batch_tokens = 2;
  EXPECT_EQ(c->steps(1), 4611686018427387904);
}

TEST(ConfigLimits, ProductsThatOverflowInt64AreRefused) {
  // 2^32 * 2^32 = 2^64 wraps to 0 in int64 arithmetic.
  auto c = ParseRunConfigText(
      "layers: 2\nd_model: 64\nheads: 4\nseq_len: 4294967296\nmicro_batch: 4294967296\nbatch_tokens: 512\n",
      "r.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("seq_len"), std::string::npos) << c.status().message();
  auto big_batch =
      ParseRunConfigText(std::string(kShape) + "micro_batch: 4294967296\nbatch_tokens: 512\n", "r.yaml");
  ASSERT_FALSE(big_batch.ok());
  EXPECT_NE(big_batch.status().message().find("micro_batch must be <="), std::string::npos)
      << big_batch.status().message();
  RunConfig direct;
  direct.micro_batch = 1 << 20;
  direct.model.seq_len = 1 << 20;
  std::string error;
  EXPECT_FALSE(direct.IsValid(&error, 1 << 30));  // 2^70 tokens per pass
  EXPECT_NE(error.find("is too large"), std::string::npos) << error;
}

TEST(ConfigLimits, ADirectoryIsNotARunConfig) {
  auto c = ReadRunConfig(::testing::TempDir());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("is a directory"), std::string::npos) << c.status().message();
}

}  // namespace
}  // namespace isoflop::trainer
