// MinHash and LSH banding: the candidate curve of the band setting, the estimate's accuracy
// against exact shingle Jaccard, shingling details, and union–find's survivor rule.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <sstream>
#include <thread>

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

TEST(MinHash, ShingleJaccardIsExactOnSmallSets) {
  // {abcde, bcdef, cdefg} vs {abcde, bcdef, cdefh}: 2 shared of 4.
  EXPECT_DOUBLE_EQ(ShingleJaccard("a b c d e f g", "a b c d e f h", 5), 0.5);
  // Repeated shingles count once: abcde, bcdea, cdeab, deabc, eabcd.
  EXPECT_EQ(ShingleHashes("a b c d e a b c d e", 5).size(), 5u);
  EXPECT_DOUBLE_EQ(ShingleJaccard("a b c d e a b c d e", "A. B, c d e; a b c d e", 5), 1.0);
  // Word order matters inside a shingle; fewer than n words is one shingle of them all.
  EXPECT_DOUBLE_EQ(ShingleJaccard("a b c d e", "e d c b a", 5), 0.0);
  EXPECT_DOUBLE_EQ(ShingleJaccard("a b c", "a b c d", 5), 0.0);
  EXPECT_DOUBLE_EQ(ShingleJaccard("", "", 5), 1.0);
  EXPECT_TRUE(ShingleHashes(" ,.;! \n", 5).empty());
  // 1-grams: the word sets.
  EXPECT_DOUBLE_EQ(ShingleJaccard("x y z", "z y w", 1), 0.5);
}

// Random text over the bytes the normalisation treats specially.
std::string TrickyText(std::mt19937& rng, size_t pieces) {
  static const char* kPieces[] = {"Word",     "word",         "ABC",      "12",   "3",        " ",
                                  "  ",       "\n",           "\t",       ",",    ".",        "'",
                                  "\x7f",     "\xE2\x80\x9C", "\xE2\x80", "\xE2", "\x80",     "caf\xC3\xA9",
                                  "\xC3\xA9", "\x01",         "-",        "x9y",  "lowercase"};
  std::string out;
  for (size_t i = 0; i < pieces; ++i) out += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
  if (rng() % 4 == 0) out.push_back('\0');
  return out;
}

std::vector<uint64_t> ReferenceWordHashes(std::string_view text) {
  std::string normalized = ShingleNormalize(text);
  std::vector<uint64_t> out;
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find(' ', start);
    if (end == std::string::npos) end = normalized.size();
    out.push_back(NormalizedWordHash(std::string_view(normalized).substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

TEST(MinHash, FusedNormalisationMatchesShingleNormalize) {
  // Word hashes are computed while scanning the raw text; they must be those of the words of
  // ShingleNormalize(text), on real text and on random text full of edge cases (digit runs,
  // E2 80 xx punctuation, a truncated E2 80 at the end, DEL, controls, NUL, UTF-8 letters).
  for (const auto& chapter : testing::AustenChapters())
    EXPECT_EQ(ShingleWordHashes(chapter), ReferenceWordHashes(chapter));
  std::mt19937 rng(7);
  for (int t = 0; t < 3000; ++t) {
    std::string text = TrickyText(rng, 1 + rng() % 40);
    ASSERT_EQ(ShingleWordHashes(text), ReferenceWordHashes(text)) << t;
  }
  EXPECT_EQ(ShingleWordHashes("end\xE2\x80"), ReferenceWordHashes("end\xE2\x80"));
  EXPECT_EQ(ShingleWordHashes("Caf\xC3\xA9 2024-11"), ReferenceWordHashes("caf\xC3\xA9 0 0"));
  // Long words (several 8-byte lanes) and words differing only past the first lane.
  EXPECT_NE(NormalizedWordHash("internationalisation"), NormalizedWordHash("internationalization"));
  EXPECT_NE(NormalizedWordHash("abcdefgh"), NormalizedWordHash("abcdefghi"));
  EXPECT_NE(NormalizedWordHash("a"), NormalizedWordHash("aa"));
}

TEST(MinHash, SimdAndPortablePathsAreBitIdentical) {
  // Signature dispatches to AVX2 where the CPU has it; every path must give the same values,
  // for band settings that are and are not whole 8-lane vectors.
  auto docs = testing::AustenDocuments(50);
  std::mt19937 rng(3);
  for (int t = 0; t < 200; ++t) docs.push_back(TrickyText(rng, rng() % 300));
  docs.push_back("");
  for (auto [bands, rows] :
       {std::pair{14, 8}, std::pair{9, 13}, std::pair{1, 1}, std::pair{3, 5}, std::pair{64, 16}}) {
    MinHashOptions options;
    options.num_bands = bands;
    options.rows_per_band = rows;
    MinHasher hasher(options);
    std::vector<uint32_t> portable(options.NumHashes());
    for (const auto& d : docs) {
      hasher.SignaturePortable(d, portable.data());
      ASSERT_EQ(hasher.Signature(d), portable) << bands << "x" << rows;
    }
  }
  std::printf("MinHash AVX2 path on this CPU: %s\n", MinHasher::UsesAvx2() ? "yes" : "no");
}

TEST(MinHash, SignaturesArePinnedAndThreadIndependent) {
  // Pinned values: the hash family is fixed by the seed alone (no std::hash, no CPU
  // dependence), so signatures agree across machines and builds.
  MinHasher hasher(MinHashOptions{});
  auto sig = hasher.Signature("The quick brown fox jumps over the lazy dog, twice: 2 times!");
  ASSERT_EQ(sig.size(), 112u);
  const std::vector<uint32_t> first = {sig[0], sig[1], sig[2], sig[111]};
  EXPECT_EQ(first, (std::vector<uint32_t>{40568962u, 710016525u, 454804771u, 260101596u}));
  EXPECT_EQ(hasher.Signature(""), std::vector<uint32_t>(112, UINT32_MAX));
  // Two threads hashing at once (per-thread scratch) give the single-thread values.
  auto docs = testing::AustenDocuments(100);
  std::vector<std::vector<uint32_t>> expected;
  for (const auto& d : docs) expected.push_back(hasher.Signature(d));
  std::vector<std::vector<uint32_t>> got(docs.size());
  std::thread other([&] {
    for (size_t i = 0; i < docs.size(); i += 2) got[i] = hasher.Signature(docs[i]);
  });
  for (size_t i = 1; i < docs.size(); i += 2) got[i] = hasher.Signature(docs[i]);
  other.join();
  EXPECT_EQ(got, expected);
}

TEST(MinHash, HashFunctionsBehaveIndependently) {
  // If the 112 functions were correlated, the estimate's spread would exceed the binomial
  // √(J(1−J)/112). Over many edited pairs, z = (estimate − J) / √(J(1−J)/112) must have mean
  // ≈ 0 (unbiased: P[equal minhash] = J) and mean square ≈ 1 (independent functions).
  auto docs = testing::AustenDocuments(300);
  ASSERT_GE(docs.size(), 20u);
  MinHasher hasher(MinHashOptions{});
  std::mt19937 rng(11);
  double sum_z = 0, sum_z2 = 0;
  int pairs = 0;
  for (int t = 0; t < 400; ++t) {
    const auto& doc = docs[t % docs.size()];
    auto words = testing::SplitWords(doc);
    const double rate = 0.02 + 0.08 * (t % 5) / 4.0;
    for (auto& w : words) {
      if (std::uniform_real_distribution<>(0, 1)(rng) < rate) w = "q" + std::to_string(rng() % 1000000);
    }
    std::string edited = testing::JoinWords(words);
    double exact = ShingleJaccard(doc, edited, 5);
    if (exact < 0.05 || exact > 0.95) continue;
    auto a = hasher.Signature(doc), b = hasher.Signature(edited);
    double z = (EstimatedJaccard(a.data(), b.data(), 112) - exact) / std::sqrt(exact * (1 - exact) / 112);
    sum_z += z;
    sum_z2 += z * z;
    ++pairs;
  }
  ASSERT_GE(pairs, 300);
  const double mean = sum_z / pairs, mean_square = sum_z2 / pairs;
  std::printf("MinHash z over %d pairs: mean %.3f, mean square %.3f\n", pairs, mean, mean_square);
  EXPECT_LT(std::abs(mean), 0.25);
  EXPECT_GT(mean_square, 0.7);
  EXPECT_LT(mean_square, 1.35);
}

TEST(MinHash, ShingleHashesAreTheDistinctShinglesSorted) {
  // On real chapters (thousands of shingles, many repeated phrases): strictly increasing, and
  // exactly as many as the distinct normalised 5-gram strings, so nothing collides or repeats.
  for (const auto& chapter : testing::AustenChapters()) {
    std::istringstream in(ShingleNormalize(chapter));
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    std::set<std::string> distinct;
    for (size_t i = 0; i + 5 <= words.size(); ++i) {
      std::string shingle = words[i];
      for (size_t j = 1; j < 5; ++j) shingle += " " + words[i + j];
      distinct.insert(shingle);
    }
    auto hashes = ShingleHashes(chapter, 5);
    ASSERT_GT(hashes.size(), 256u);
    EXPECT_EQ(hashes.size(), distinct.size());
    for (size_t i = 1; i < hashes.size(); ++i) ASSERT_LT(hashes[i - 1], hashes[i]);
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

}  // namespace
}  // namespace isoflop::data
