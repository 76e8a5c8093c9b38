// Damaged shard directories fail on Open with a message naming the file and the fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sstream>

#include "isoflop/shard_writer.h"
#include "isoflop/token_reader.h"
#include "sha256.h"
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
  std::string Index() {
    std::ifstream in(dir_.Join("index.tsv"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  void WriteIndex(const std::string& text) { std::ofstream(dir_.Join("index.tsv"), std::ios::trunc) << text; }
  static std::string Replace(std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
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

// Campaign finding 9: a shard whose ids do not fit the vocabulary (its index entry rewritten to
// match, so the checksum passes) was found only mid-training, and the trainer exited 1
// (retried) instead of 2. The reader now checks every id on open, in the checksum pass.
TEST_F(DamagedShards, IdAboveTheVocabularyFailsOnOpen) {
  std::string error;
  std::string old_sha = Sha256OfFile(shard_, &error);
  {
    std::fstream f(shard_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 321);
    f.put(static_cast<char>(200));  // id 200 (little-endian uint16), vocab 100
    f.put('\0');
  }
  WriteIndex(Replace(Index(), old_sha, Sha256OfFile(shard_, &error)));
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("train-00000.bin: token 321 is 200, not below vocab_size 100"),
            std::string::npos)
      << reader.status().message();
}

// Finding 13: eos_id >= vocab_size and a shard listed twice were accepted silently.
TEST_F(DamagedShards, EosIdOutsideTheVocabularyIsCorruption) {
  WriteIndex(Replace(Index(), "eos_id\t99", "eos_id\t100"));
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("eos_id 100 is not below vocab_size 100"), std::string::npos)
      << reader.status().message();
}

TEST_F(DamagedShards, AShardListedTwiceIsCorruption) {
  std::string index = Index();
  std::string shard_line = index.substr(index.find("shard\t"));
  WriteIndex(index + shard_line);
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("train-00000.bin is listed twice (first on line"), std::string::npos)
      << reader.status().message();
  WriteIndex(index + "vocab_size\t100\n");
  reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("'vocab_size' given twice"), std::string::npos)
      << reader.status().message();
}

// Finding 9: the manifest's shard sha256 was never checked. When manifest.json is there (every
// `data build` writes one), the reader checks that it lists the same shards with the same hashes.
TEST_F(DamagedShards, ManifestThatDisagreesWithTheIndexIsCorruption) {
  std::string error;
  const std::string sha = Sha256OfFile(shard_, &error);
  auto manifest = [&](const std::string& listed_sha) {
    std::ofstream(dir_.Join("manifest.json"), std::ios::trunc)
        << "{\n  \"format\": \"isoflop-data-manifest\",\n  \"shards\": {\n    \"eos_id\": 99,\n    \"files\": [\n"
           "      {\n        \"documents\": 1,\n        \"file\": \"train-00000.bin\",\n        \"sha256\": \""
        << listed_sha << "\",\n        \"split\": \"train\",\n        \"tokens\": 501\n      }\n    ]\n  }\n}\n";
  };
  manifest(sha);
  EXPECT_TRUE(Open().ok());
  manifest(std::string(64, 'a'));
  auto reader = Open();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
  EXPECT_NE(reader.status().message().find("manifest.json's sha256 aaaa"), std::string::npos)
      << reader.status().message();
  EXPECT_TRUE(Open(/*verify=*/false).ok());  // verify_checksums = false skips every hash
}

}  // namespace
}  // namespace isoflop::data
