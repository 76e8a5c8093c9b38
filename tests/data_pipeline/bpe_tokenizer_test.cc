// Byte-level BPE: lossless on any bytes, merges learned as the algorithm says, deterministic
// training, tokenizer.json round trip, and real compression on real prose.
#include "isoflop/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <random>

#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

BpeTokenizer TrainOn(const std::vector<std::string>& texts, uint32_t vocab) {
  BpeTrainer trainer({.vocab_size = vocab});
  for (const auto& t : texts) trainer.Add(t);
  return trainer.Train();
}

TEST(Pretokenize, SplitsLikeGpt2AndConcatenatesBack) {
  std::vector<std::string> chunks;
  std::string text = "Hello, world!  It's 2024\n\n  ok";
  Pretokenize(text, [&](std::string_view c) { chunks.emplace_back(c); });
  std::vector<std::string> expected{"Hello", ",", " world", "!",     " ",  " It",
                                    "'",     "s", " 2024",  "\n\n ", " ok"};
  EXPECT_EQ(chunks, expected);
}

TEST(BpeTokenizer, FirstMergesAreTheMostFrequentPairs) {
  // "ab" occurs 6 times, then "abc" (the pair (ab, c)) 4 times.
  BpeTokenizer t = TrainOn({"abc abc abc abc ab ab"}, 259);
  ASSERT_EQ(t.merges().size(), 2u);
  EXPECT_EQ(t.merges()[0], std::make_pair(uint32_t{'a'}, uint32_t{'b'}));
  // Chunks are " abc" ×3, "abc", " ab" ×2: (' ', ab) occurs 5 times, (ab, c) 4 times.
  EXPECT_EQ(t.merges()[1], std::make_pair(uint32_t{' '}, uint32_t{257}));
  std::vector<uint32_t> ids;
  t.Encode(" ab", &ids);
  EXPECT_EQ(ids, std::vector<uint32_t>{258});
}

TEST(BpeTokenizer, LosslessOnRealTextAndArbitraryBytes) {
  auto chapters = testing::AustenChapters();
  BpeTokenizer t = TrainOn(chapters, 1024);
  BpeEncodeCache cache;
  for (const auto& chapter : chapters) {
    std::vector<uint32_t> ids;
    t.Encode(chapter, &ids, &cache);
    EXPECT_EQ(t.Decode(ids), chapter);
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::string bytes(rng() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    std::vector<uint32_t> ids;
    t.Encode(bytes, &ids);
    EXPECT_EQ(t.Decode(ids), bytes);
  }
}

TEST(BpeTokenizer, CompressesRealProse) {
  auto chapters = testing::AustenChapters();
  BpeTokenizer t = TrainOn(chapters, 4096);
  // Training stops early when no pair occurs twice: 140 KB of text has fewer merges to give.
  EXPECT_LE(t.vocab_size(), 4096u);
  EXPECT_GT(t.vocab_size(), 3000u);
  size_t bytes = 0, tokens = 0;
  for (const auto& chapter : chapters) {
    std::vector<uint32_t> ids;
    t.Encode(chapter, &ids);
    bytes += chapter.size();
    tokens += ids.size();
  }
  // English BPE with a few thousand merges gives ~4 bytes per token (GPT-2: ~4.5 at 50k).
  EXPECT_GT(static_cast<double>(bytes) / tokens, 3.5);
}

TEST(BpeTokenizer, TrainingIsDeterministicAndJsonRoundTrips) {
  auto chapters = testing::AustenChapters();
  BpeTokenizer a = TrainOn(chapters, 700);
  std::vector<std::string> reversed(chapters.rbegin(), chapters.rend());
  BpeTokenizer b = TrainOn(reversed, 700);  // counts do not depend on order
  EXPECT_EQ(a.ToJson(), b.ToJson());

  testing::TempDir dir;
  ASSERT_TRUE(a.Save(dir.Join("tokenizer.json")).ok());
  auto loaded = BpeTokenizer::Load(dir.Join("tokenizer.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->merges(), a.merges());
  std::vector<uint32_t> x, y;
  a.Encode(chapters[3], &x);
  loaded->Encode(chapters[3], &y);
  EXPECT_EQ(x, y);
}

TEST(BpeTokenizer, RejectsMalformedJson) {
  EXPECT_FALSE(BpeTokenizer::FromJson("{", "t.json").ok());
  auto bad_merge = BpeTokenizer::FromJson(
      R"({"format": "isoflop-byte-bpe", "version": 1, "pretokenizer": "gpt2-ascii-v1", "merges": [[97, 300]]})",
      "t.json");
  ASSERT_FALSE(bad_merge.ok());
  EXPECT_NE(bad_merge.status().message().find("merges[0]"), std::string::npos);
  EXPECT_FALSE(BpeTokenizer::Load("/nonexistent/tokenizer.json").ok());
}

TEST(BpeTokenizer, EndOfDocumentRendersOnlyWhenAsked) {
  BpeTokenizer t;
  std::vector<uint32_t> ids{'h', 'i', BpeTokenizer::kEosId};
  EXPECT_EQ(t.Decode(ids), "hi<|endoftext|>");
  EXPECT_EQ(t.Decode(ids, /*render_eos=*/false), "hi");
}

}  // namespace
}  // namespace isoflop::data
