// TokenReader: windows hold the right tokens, the shuffle is a deterministic permutation
// of all windows, ranks are disjoint, state round-trips and resume continues exactly.
#include "isoflop/token_reader.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "isoflop/shard_writer.h"
#include "temp_dir.h"

namespace isoflop::data {
namespace {

// One long "document" 1, 2, ..., n-1 (ids equal positions + 1) spread over small shards,
// so any window's content shows where it came from.
void WriteCountingStream(const std::string& dir, uint32_t n, int64_t max_tokens_per_shard) {
  std::vector<uint32_t> doc(n - 1);
  std::iota(doc.begin(), doc.end(), 1);
  auto summary = WriteShards(
      {.out_dir = dir, .vocab_size = n + 1, .eos_id = n, .max_tokens_per_shard = max_tokens_per_shard},
      {doc});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
}

TEST(TokenReader, WindowsAreContiguousAcrossShardsAndCoverEveryWindowOncePerEpoch) {
  testing::TempDir dir;
  WriteCountingStream(dir.path(), 1001, 37);  // 1001 tokens incl. eos, 28 shards
  TokenReaderOptions options{.shards_dir = dir.path(), .batch_size = 4, .seq_len = 10, .seed = 7};
  auto reader = TokenReader::Open(options);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->total_tokens(), 1001);
  EXPECT_EQ((*reader)->windows_per_epoch(), 100);  // (1001 - 1) / 10
  EXPECT_EQ((*reader)->vocab_size(), 1002u);

  std::set<int32_t> starts;
  std::vector<int32_t> tokens;
  for (int batch = 0; batch < 25; ++batch) {
    ASSERT_TRUE((*reader)->Next(&tokens).ok());
    ASSERT_EQ(tokens.size(), 44u);
    for (int row = 0; row < 4; ++row) {
      int32_t first = tokens[row * 11];
      EXPECT_EQ((first - 1) % 10, 0) << "window must start on a multiple of seq_len";
      for (int i = 1; i < 11; ++i) EXPECT_EQ(tokens[row * 11 + i], first + i);
      starts.insert(first);
    }
  }
  EXPECT_EQ(starts.size(), 100u) << "one epoch visits every window exactly once";
  EXPECT_EQ((*reader)->state().epoch, 0u);
  EXPECT_EQ((*reader)->state().position, 100u);
  ASSERT_TRUE((*reader)->Next(&tokens).ok());
  EXPECT_EQ((*reader)->state().epoch, 1u);
  EXPECT_EQ((*reader)->state().position, 4u);
}

TEST(TokenReader, SameSeedSameOrderOtherSeedOtherOrder) {
  testing::TempDir dir;
  WriteCountingStream(dir.path(), 2001, 1000);
  auto order = [&](uint64_t seed) {
    auto reader = TokenReader::Open({.shards_dir = dir.path(), .batch_size = 8, .seq_len = 16, .seed = seed});
    EXPECT_TRUE(reader.ok());
    std::vector<int32_t> tokens, firsts;
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE((*reader)->Next(&tokens).ok());
      for (int row = 0; row < 8; ++row) firsts.push_back(tokens[row * 17]);
    }
    return firsts;
  };
  EXPECT_EQ(order(3), order(3));
  EXPECT_NE(order(3), order(4));
  std::vector<int32_t> unshuffled(40);
  for (int i = 0; i < 40; ++i) unshuffled[i] = 1 + 16 * i;
  EXPECT_NE(order(3), unshuffled);
}

TEST(TokenReader, RanksReadDisjointWindowsThatTogetherCoverTheEpoch) {
  testing::TempDir dir;
  WriteCountingStream(dir.path(), 1201, 300);  // 1200 / 8 = 150 windows, 50 per rank
  std::set<int32_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    auto reader = TokenReader::Open(
        {.shards_dir = dir.path(), .batch_size = 5, .seq_len = 8, .seed = 11, .rank = rank, .world_size = 3});
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ((*reader)->windows_per_epoch(), 50);
    std::vector<int32_t> tokens;
    for (int batch = 0; batch < 10; ++batch) {
      ASSERT_TRUE((*reader)->Next(&tokens).ok());
      for (int row = 0; row < 5; ++row)
        EXPECT_TRUE(seen.insert(tokens[row * 9]).second) << "window read twice";
    }
  }
  EXPECT_EQ(seen.size(), 150u);
}

TEST(TokenReader, ResumeFromSerializedStateContinuesExactly) {
  testing::TempDir dir;
  WriteCountingStream(dir.path(), 3001, 512);
  TokenReaderOptions options{.shards_dir = dir.path(), .batch_size = 6, .seq_len = 32, .seed = 5};
  auto straight = TokenReader::Open(options);
  ASSERT_TRUE(straight.ok());
  std::vector<int32_t> tokens;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*straight)->Next(&tokens).ok());  // crosses an epoch (93 windows)
  std::string saved = (*straight)->state().Serialize();
  EXPECT_EQ(saved, "epoch=1 position=27");
  std::vector<std::vector<int32_t>> expected(5);
  for (auto& batch : expected) ASSERT_TRUE((*straight)->Next(&batch).ok());

  auto resumed = TokenReader::Open(options);
  ASSERT_TRUE(resumed.ok());
  auto state = TokenReaderState::Parse(saved);
  ASSERT_TRUE(state.ok());
  ASSERT_TRUE((*resumed)->Restore(*state).ok());
  for (const auto& batch : expected) {
    ASSERT_TRUE((*resumed)->Next(&tokens).ok());
    EXPECT_EQ(tokens, batch);
  }
}

TEST(TokenReader, ValidationSplitIsReadSeparately) {
  testing::TempDir dir;
  std::vector<std::vector<uint32_t>> docs{{1, 1, 1, 1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 2, 2, 2, 2, 2}};
  ASSERT_TRUE(
      WriteShards({.out_dir = dir.path(), .vocab_size = 4, .eos_id = 3}, docs, {"train", "val"}).ok());
  auto val = TokenReader::Open({.shards_dir = dir.path(), .split = "val", .batch_size = 1, .seq_len = 4});
  ASSERT_TRUE(val.ok()) << val.status().ToString();
  EXPECT_EQ((*val)->total_tokens(), 10);
  std::vector<int32_t> tokens;
  ASSERT_TRUE((*val)->Next(&tokens).ok());
  for (int32_t id : tokens) EXPECT_TRUE(id == 2 || id == 3);
}

TEST(TokenReaderState, ParseRejectsGarbage) {
  EXPECT_TRUE(TokenReaderState::Parse("epoch=0 position=0").ok());
  EXPECT_FALSE(TokenReaderState::Parse("epoch=1").ok());
  EXPECT_FALSE(TokenReaderState::Parse("epoch=-1 position=2").ok());
  EXPECT_FALSE(TokenReaderState::Parse("epoch=1 position=2 extra").ok());
}

TEST(TokenReaderOptions, InvalidOptionsNameTheField) {
  std::string error;
  EXPECT_FALSE((TokenReaderOptions{.shards_dir = "x", .rank = 2, .world_size = 2}).IsValid(&error));
  EXPECT_NE(error.find("rank"), std::string::npos);
  EXPECT_FALSE((TokenReaderOptions{.shards_dir = "x", .split = "test"}).IsValid(&error));
  EXPECT_NE(error.find("split"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::data
