// Byte-level BPE: lossless on any bytes, merges learned as the algorithm says, deterministic
// training, tokenizer.json round trip, and real compression on real prose.
#include "isoflop/bpe_tokenizer.h"

#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <map>
#include <random>
#include <thread>

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

// The definition of encoding, written out independently of the library: split into
// pre-tokens, then per chunk apply the lowest-ranked merge present, everywhere, until none
// applies (the order training learned them in).
std::vector<uint32_t> ReferenceEncode(const BpeTokenizer& t, std::string_view text) {
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> rank;
  for (uint32_t m = 0; m < t.merges().size(); ++m) rank.emplace(t.merges()[m], m);
  std::vector<uint32_t> out;
  Pretokenize(text, [&](std::string_view chunk) {
    std::vector<uint32_t> w(chunk.begin(), chunk.end());
    for (auto& id : w) id &= 0xff;
    for (;;) {
      uint32_t best = UINT32_MAX;
      for (size_t i = 0; i + 1 < w.size(); ++i) {
        auto it = rank.find({w[i], w[i + 1]});
        if (it != rank.end()) best = std::min(best, it->second);
      }
      if (best == UINT32_MAX) break;
      std::vector<uint32_t> next;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && std::make_pair(w[i], w[i + 1]) == t.merges()[best]) {
          next.push_back(BpeTokenizer::kFirstMergeId + best);
          ++i;
        } else {
          next.push_back(w[i]);
        }
      }
      w = std::move(next);
    }
    out.insert(out.end(), w.begin(), w.end());
  });
  return out;
}

uint64_t HashIds(const std::vector<uint32_t>& ids) {
  return XXH3_64bits(ids.data(), ids.size() * sizeof(uint32_t));
}

TEST(BpeTokenizer, CachedEncodingEqualsTheDefinition) {
  // The cached encoder (and the uncached one) must give exactly the ids of the definition, on
  // real text (cache hits dominate), on random bytes, and with a cache small enough to be
  // cleared again and again.
  auto chapters = testing::AustenChapters();
  BpeTokenizer t = TrainOn(chapters, 2048);
  BpeEncodeCache cache, tiny(64);
  std::mt19937 rng(5);
  std::vector<std::string> texts = chapters;
  for (int trial = 0; trial < 100; ++trial) {
    std::string bytes(rng() % 500, '\0');
    for (char& c : bytes)
      c = static_cast<char>(rng() % 4 ? " \n\tabcdeAB01.,'\xC3\xA9"[rng() % 17] : rng() & 0xff);
    texts.push_back(bytes);
  }
  texts.push_back(std::string(5000, ' ') + "x" + std::string(3000, '!'));  // long chunks
  texts.push_back("");
  for (int pass = 0; pass < 2; ++pass) {  // the second pass is all cache hits
    for (const auto& text : texts) {
      const auto expected = ReferenceEncode(t, text);
      std::vector<uint32_t> plain, cached, small;
      t.Encode(text, &plain);
      t.Encode(text, &cached, &cache);
      t.Encode(text, &small, &tiny);
      ASSERT_EQ(plain, expected);
      ASSERT_EQ(cached, expected);
      ASSERT_EQ(small, expected);
    }
  }
  // Appending to a non-empty vector keeps what was there.
  std::vector<uint32_t> ids{7, 8};
  t.Encode("ab", &ids, &cache);
  EXPECT_EQ(ids[0], 7u);
  EXPECT_EQ(ids[1], 8u);
}

TEST(BpeTokenizer, TrainingAndEncodingArePinned) {
  // Pinned on the 12 test chapters: the merges learned (tokenizer.json bytes) and the ids of
  // every chapter. A faster trainer or encoder must not change either.
  auto chapters = testing::AustenChapters();
  BpeTokenizer t = TrainOn(chapters, 2048);
  EXPECT_EQ(t.vocab_size(), 2048u);
  const std::string json = t.ToJson();
  EXPECT_EQ(XXH3_64bits(json.data(), json.size()), uint64_t{11130565015997568637ULL});
  BpeEncodeCache cache;
  std::vector<uint32_t> ids;
  for (const auto& chapter : chapters) t.Encode(chapter, &ids, &cache);
  EXPECT_EQ(ids.size(), size_t{37798});
  EXPECT_EQ(HashIds(ids), uint64_t{5692004251829279172ULL});
}

TEST(BpeTokenizer, MergedTrainersLearnTheSameMerges) {
  // Counting split across trainers (as threads would), then merged, equals one trainer.
  auto chapters = testing::AustenChapters();
  BpeTrainer whole({.vocab_size = 2048}), first({.vocab_size = 2048}), second({.vocab_size = 2048}),
      third({.vocab_size = 2048});
  for (size_t i = 0; i < chapters.size(); ++i) {
    whole.Add(chapters[i]);
    (i % 3 == 0 ? first : i % 3 == 1 ? second : third).Add(chapters[i]);
  }
  first.Merge(second);
  first.Merge(third);
  EXPECT_EQ(first.bytes_counted(), whole.bytes_counted());
  const std::string json = first.Train().ToJson();
  EXPECT_EQ(json, whole.Train().ToJson());
  EXPECT_EQ(XXH3_64bits(json.data(), json.size()), uint64_t{11130565015997568637ULL});
}

TEST(BpeTokenizer, EncodingIsThreadIndependent) {
  auto chapters = testing::AustenChapters();
  BpeTokenizer t = TrainOn(chapters, 1024);
  std::vector<std::vector<uint32_t>> expected(chapters.size()), got(chapters.size());
  for (size_t i = 0; i < chapters.size(); ++i) t.Encode(chapters[i], &expected[i]);
  BpeEncodeCache a, b;
  std::thread other([&] {
    for (size_t i = 0; i < chapters.size(); i += 2) t.Encode(chapters[i], &got[i], &a);
  });
  for (size_t i = 1; i < chapters.size(); i += 2) t.Encode(chapters[i], &got[i], &b);
  other.join();
  EXPECT_EQ(got, expected);
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
