// Stages 3 and 4 of `isoflop data build`: exact and near-duplicate removal.
//
// Exact: XXH3-128 of the normalised text; the first occurrence in input order is kept.
//
// Near (Broder 1997, "On the resemblance and containment of documents"; LSH banding as in
// Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", §3.4; FineWeb's 14 × 8):
//  - shingles: word 5-grams of the text after shingle normalisation (lowercase, ASCII
//    punctuation → space, digit runs → "0", whitespace collapsed); a text with fewer than
//    5 words is one shingle of all its words. The normalisation writes into a reused
//    per-thread buffer (no new string); each word is hashed once, and a shingle's 64-bit hash is
//    Fmix64(Σ_j w_{i+j}·B^{4−j} mod 2⁶⁴) of its word hashes w, rolled in O(1) per word;
//  - num_bands × rows_per_band hash functions h_k(x) = (a_k·x + b_k) mod 2³² (odd a_k: a
//    random affine permutation of 32-bit keys; multiply-add hashing, Dietzfelbinger et al.
//    1997) of the shingle's 32-bit key x (high half of its 64-bit hash) keep their minimum:
//    P[min_k(A) = min_k(B)] ≈ J(A, B); computed in 32-bit lanes (AVX2 where the CPU has it,
//    else portable code; bit-identical results);
//  - a pair is a candidate when all rows of one band agree: P = 1 − (1 − s^r)^b;
//  - candidates are verified (by default by their exact shingle Jaccard, computed from the
//    two texts; or by the fraction of agreeing minhashes, an unbiased estimate of J) against
//    verify_threshold, then joined with union–find; each cluster keeps its earliest document
//    in input order. Which candidates are checked, and the clustering, are the build's bands,
//    verify and decide stages (stage_dedup.cc; docs/data.md), per document and so the same
//    whatever the thread or task count.
#ifndef ISOFLOP_DEDUP_H_
#define ISOFLOP_DEDUP_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace isoflop::data {

// 128-bit content hash for exact dedup.
struct ContentHash {
  uint64_t low = 0, high = 0;
  bool operator==(const ContentHash&) const = default;
};
ContentHash HashContent(std::string_view text);

struct MinHashOptions {
  int ngram = 5;          // words per shingle
  int num_bands = 14;     // b
  int rows_per_band = 8;  // r
  uint64_t seed = 1;      // of the hash functions' coefficients
  // How a candidate pair is checked: "exact" (shingle Jaccard of the two texts), "estimate"
  // (fraction of equal minhashes) or "none" (every candidate is a duplicate, as datatrove).
  std::string verify = "exact";
  double verify_threshold = 0.8;  // Jaccard a candidate needs to be joined
  int NumHashes() const { return num_bands * rows_per_band; }
  bool IsValid(std::string* error) const;
};

// Probability that a pair with Jaccard similarity s becomes a candidate: 1 − (1 − s^r)^b.
double CandidateProbability(double s, int num_bands, int rows_per_band);

// The lowercase/punctuation/digit normalisation applied before shingling.
std::string ShingleNormalize(std::string_view text);

// Word n-gram shingle hashes of a text (after ShingleNormalize), deduplicated and sorted.
std::vector<uint64_t> ShingleHashes(std::string_view text, int ngram);

// The hashes of the words of ShingleNormalize(text), in order, computed without the copy;
// equal to NormalizedWordHash of each space-separated word of ShingleNormalize(text).
std::vector<uint64_t> ShingleWordHashes(std::string_view text);
// Hash of one already-normalised word (the reference for ShingleWordHashes).
uint64_t NormalizedWordHash(std::string_view word);

// Exact Jaccard similarity of two texts' shingle sets (for tests and diagnostics).
double ShingleJaccard(std::string_view a, std::string_view b, int ngram);

class MinHasher {
 public:
  explicit MinHasher(const MinHashOptions& options);
  // Fills `signature` (NumHashes() values) for `text`. Thread-safe (const).
  void Signature(std::string_view text, uint32_t* signature) const;
  std::vector<uint32_t> Signature(std::string_view text) const;
  // The same values as Signature, always by the portable (non-SIMD) code path.
  void SignaturePortable(std::string_view text, uint32_t* signature) const;
  // Whether Signature uses the AVX2 kernel on this CPU.
  static bool UsesAvx2();
  const MinHashOptions& options() const { return options_; }

 private:
  void Compute(std::string_view text, uint32_t* signature, bool allow_simd) const;
  MinHashOptions options_;
  std::vector<uint32_t> a_, b_;  // padded to a multiple of 8 lanes
};

// Fraction of equal positions: the MinHash estimate of Jaccard similarity.
double EstimatedJaccard(const uint32_t* a, const uint32_t* b, int num_hashes);

// Union–find over [0, n) (path halving; the root of a set is its smallest element, so the
// survivor of each cluster is the earliest document).
class UnionFind {
 public:
  explicit UnionFind(size_t n);
  uint32_t Find(uint32_t x);
  void Union(uint32_t a, uint32_t b);

 private:
  std::vector<uint32_t> parent_;
};

}  // namespace isoflop::data

#endif  // ISOFLOP_DEDUP_H_
