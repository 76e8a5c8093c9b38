// Damaged shard directories fail on Open with a message naming the file and the fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "isoflop/shard_writer.h"
#include "isoflop/token_reader.h"
#include "temp_dir.h"

namespace isoflop::data {
namespace {

class DamagedShards : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<uint32_t> doc(500);
    for (size_t i = 0; i < doc.size(); ++i) doc[i] = i % 97;
    ASSERT_TRUE(WriteShards({.out_dir = dir_.path(), .vocab_size = 100, .eos_id = 99}, {doc}).ok());
    shard_ = dir_.Join("train-00000.bin");
  }
  StatusOr<std::unique_ptr<TokenReader>> Open(bool verify = true) {
    return TokenReader::Open(
        {.shards_dir = dir_.path(), .batch_size = 2, .seq_len = 16, .verify_checksums = verify});
  }
  testing::TempDir dir_;
  std::string shard_;
};

TEST_F(DamagedShards, IntactShardsOpen) {
  EXPECT_TRUE(Open().ok());
}

TEST_F(DamagedShards, TruncatedShardIsDetectedEvenWithoutChecksums) {
  std::filesystem::resize_file(shard_, 600);
  auto reader = Open(/*verify=*/false);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("train-00000.bin"), std::string::npos);
  EXPECT_NE(reader.status().message().find("truncated"), std::string::npos);
}

TEST_F(DamagedShards, FlippedByteFailsTheChecksum) {
  {
    std::fstream f(shard_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(123);
    f.put('\x42');
  }
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("sha256"), std::string::npos);
  EXPECT_NE(reader.status().message().find("train-00000.bin"), std::string::npos);
}

TEST_F(DamagedShards, MissingShardAndMissingIndexAreNamed) {
  std::filesystem::remove(shard_);
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("train-00000.bin"), std::string::npos);

  std::filesystem::remove(dir_.Join("index.tsv"));
  reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kNotFound);
  EXPECT_NE(reader.status().message().find("index.tsv"), std::string::npos);
}

TEST_F(DamagedShards, MalformedIndexLineNamesTheLine) {
  std::ofstream(dir_.Join("index.tsv"), std::ios::app) << "shard\ttrain\tx.bin\tnot-a-number\t1\tabc\n";
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("index.tsv:7"), std::string::npos) << reader.status().message();
}

TEST_F(DamagedShards, TooFewTokensForOneBatchIsAClearError) {
  auto reader = TokenReader::Open({.shards_dir = dir_.path(), .batch_size = 64, .seq_len = 256});
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("fewer than batch_size"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::data
