// The shard writer lays documents out as documented (little-endian ids, end-of-document id
// after each, rolling shards) and index.tsv lists every shard with its real sha256.
#include "isoflop/shard_writer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "sha256.h"
#include "temp_dir.h"

namespace isoflop::data {
namespace {

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ShardWriter, Uint16LayoutWithEndOfDocumentIds) {
  testing::TempDir dir;
  ShardWriterOptions options{.out_dir = dir.path(), .vocab_size = 300, .eos_id = 0};
  auto summary = WriteShards(options, {{1, 2, 258}, {7}});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(summary->shards.size(), 1u);
  EXPECT_EQ(summary->token_bytes, 2u);
  const ShardInfo& shard = summary->shards[0];
  EXPECT_EQ(shard.file, "train-00000.bin");
  EXPECT_EQ(shard.num_tokens, 6);  // 3 + eos + 1 + eos
  EXPECT_EQ(shard.num_documents, 2);
  std::string bytes = ReadBytes(dir.Join("train-00000.bin"));
  EXPECT_EQ(bytes, std::string("\x01\x00\x02\x00\x02\x01\x00\x00\x07\x00\x00\x00", 12));
  EXPECT_EQ(shard.sha256, Sha256Hex(bytes));
}

TEST(ShardWriter, Uint32WhenVocabularyExceeds65536) {
  testing::TempDir dir;
  auto summary = WriteShards({.out_dir = dir.path(), .vocab_size = 70000, .eos_id = 69999}, {{65536}});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->token_bytes, 4u);
  EXPECT_EQ(ReadBytes(dir.Join("train-00000.bin")), std::string("\x00\x00\x01\x00\x6f\x11\x01\x00", 8));
}

TEST(ShardWriter, RollsShardsAndSplitsDocumentsAcrossThem) {
  testing::TempDir dir;
  ShardWriterOptions options{
      .out_dir = dir.path(), .vocab_size = 100, .eos_id = 99, .max_tokens_per_shard = 4};
  auto summary = WriteShards(options, {{1, 2, 3, 4, 5}, {6}, {7, 8}}, {"train", "val", "train"});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  // train stream: 1 2 3 4 | 5 99 7 8 | 99 ; val stream: 6 99
  ASSERT_EQ(summary->shards.size(), 4u);
  EXPECT_EQ(summary->shards[0].file, "train-00000.bin");
  EXPECT_EQ(summary->shards[2].file, "train-00002.bin");
  EXPECT_EQ(summary->shards[2].num_tokens, 1);
  EXPECT_EQ(summary->shards[3].file, "val-00000.bin");
  EXPECT_EQ(summary->TokensIn("train"), 9);
  EXPECT_EQ(summary->DocumentsIn("train"), 2);
  EXPECT_EQ(summary->DocumentsIn("val"), 1);

  auto index = ReadShardIndex(dir.path());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ(index->shards.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(index->shards[i].file, summary->shards[i].file);
    EXPECT_EQ(index->shards[i].sha256, Sha256Hex(ReadBytes(dir.Join(index->shards[i].file))));
  }
}

TEST(ShardWriter, RejectsIdsOutsideVocabularyAndBadOptions) {
  testing::TempDir dir;
  auto summary = WriteShards({.out_dir = dir.path(), .vocab_size = 10, .eos_id = 0}, {{3, 10}});
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(summary.status().message().find("token id 10"), std::string::npos);

  auto bad_eos = ShardWriter::Open({.out_dir = dir.path(), .vocab_size = 10, .eos_id = 10});
  ASSERT_FALSE(bad_eos.ok());
  EXPECT_NE(bad_eos.status().message().find("eos_id"), std::string::npos);

  auto writer = ShardWriter::Open({.out_dir = dir.path(), .vocab_size = 10, .eos_id = 0});
  ASSERT_TRUE(writer.ok());
  std::vector<uint32_t> doc{1};
  EXPECT_EQ((*writer)->Add("test", doc).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace isoflop::data
