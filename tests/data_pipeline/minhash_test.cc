// MinHash and LSH banding: the candidate curve of the band setting, the estimate's accuracy
// against exact shingle Jaccard, shingling details, and union–find's survivor rule.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "isoflop/dedup.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

TEST(MinHash, CandidateCurveOf14Bands8Rows) {
  // 1 − (1 − s^8)^14 (Leskovec et al., MMDS §3.4.2): the values FineWeb's setting gives.
  EXPECT_NEAR(CandidateProbability(0.70, 14, 8), 0.56, 0.01);
  EXPECT_NEAR(CandidateProbability(0.75, 14, 8), 0.77, 0.01);
  EXPECT_NEAR(CandidateProbability(0.80, 14, 8), 0.92, 0.01);
  EXPECT_NEAR(CandidateProbability(0.85, 14, 8), 0.988, 0.002);
  EXPECT_LT(CandidateProbability(0.30, 14, 8), 0.001);
}

TEST(MinHash, ShingleNormalisation) {
  EXPECT_EQ(ShingleNormalize("Hello,  World! It's 2024-11-24."), "hello world it s 0 0 0");
  EXPECT_EQ(ShingleNormalize("\xE2\x80\x9CQuoted\xE2\x80\x9D \xE2\x80\x94 caf\xC3\xA9"),
            "quoted caf\xC3\xA9");
  EXPECT_EQ(ShingleHashes("one two three four five six", 5).size(), 2u);
  EXPECT_EQ(ShingleHashes("too short", 5).size(), 1u) << "short texts are one shingle";
  EXPECT_DOUBLE_EQ(ShingleJaccard("A b c d e f", "a, B; c d e f!", 5), 1.0);
}

TEST(MinHash, EstimateTracksExactJaccardOnRealText) {
  // Replace a growing share of a real document's words; the 112-hash estimate should stay
  // within 4 standard errors (sqrt(J(1−J)/112) ≤ 0.047) of the exact shingle Jaccard.
  auto docs = testing::AustenDocuments(400);
  ASSERT_GE(docs.size(), 5u);
  MinHasher hasher(MinHashOptions{});
  std::mt19937 rng(1);
  for (size_t d = 0; d < 5; ++d) {
    auto words = testing::SplitWords(docs[d]);
    for (double rate : {0.0, 0.01, 0.03, 0.08, 0.2}) {
      auto edited = words;
      for (auto& w : edited) {
        if (std::uniform_real_distribution<>(0, 1)(rng) < rate) w = "zz" + std::to_string(rng() % 100000);
      }
      std::string text = testing::JoinWords(edited);
      double exact = ShingleJaccard(docs[d], text, 5);
      auto a = hasher.Signature(docs[d]), b = hasher.Signature(text);
      double estimate = EstimatedJaccard(a.data(), b.data(), 112);
      EXPECT_NEAR(estimate, exact, 4 * std::sqrt(exact * (1 - exact) / 112) + 0.01)
          << "doc " << d << " rate " << rate;
    }
  }
}

TEST(UnionFind, SurvivorIsTheSmallestIndex) {
  UnionFind uf(6);
  uf.Union(4, 5);
  uf.Union(5, 2);
  uf.Union(3, 1);
  EXPECT_EQ(uf.Find(4), 2u);
  EXPECT_EQ(uf.Find(5), 2u);
  EXPECT_EQ(uf.Find(3), 1u);
  uf.Union(2, 3);
  EXPECT_EQ(uf.Find(5), 1u);
  EXPECT_EQ(uf.Find(0), 0u);
}

TEST(MinHash, ClusteringIsIndependentOfThreadCount) {
  auto docs = testing::AustenDocuments(150);
  MinHashOptions options;
  MinHasher hasher(options);
  std::vector<uint32_t> signatures;
  for (const auto& d : docs) {
    auto s = hasher.Signature(d);
    signatures.insert(signatures.end(), s.begin(), s.end());
  }
  // Plant copies with one word changed.
  for (size_t d = 0; d < docs.size(); d += 3) {
    auto words = testing::SplitWords(docs[d]);
    words[words.size() / 2] = "changed";
    auto s = hasher.Signature(testing::JoinWords(words));
    signatures.insert(signatures.end(), s.begin(), s.end());
  }
  size_t count = signatures.size() / 112;
  auto one = ClusterNearDuplicates(signatures, count, options, 1);
  auto four = ClusterNearDuplicates(signatures, count, options, 4);
  EXPECT_EQ(one.representative, four.representative);
  EXPECT_EQ(one.verified_pairs, four.verified_pairs);
  size_t planted = 0;
  for (size_t d = 0; d < docs.size(); d += 3) {
    EXPECT_EQ(one.representative[docs.size() + planted], d);
    ++planted;
  }
}

}  // namespace
}  // namespace isoflop::data
