#include "isoflop/dedup.h"

#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <thread>

namespace isoflop::data {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

ContentHash HashContent(std::string_view text) {
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return ContentHash{h.low64, h.high64};
}

bool MinHashOptions::IsValid(std::string* error) const {
  if (ngram < 1) return *error = "minhash.ngram must be >= 1", false;
  if (num_bands < 1 || rows_per_band < 1)
    return *error = "minhash.bands and minhash.rows must be >= 1", false;
  if (NumHashes() > 1024) return *error = "minhash.bands * minhash.rows must be <= 1024", false;
  if (verify_threshold < 0 || verify_threshold > 1)
    return *error = "minhash.verify_threshold must be in [0, 1]", false;
  return true;
}

double CandidateProbability(double s, int num_bands, int rows_per_band) {
  return 1.0 - std::pow(1.0 - std::pow(s, rows_per_band), num_bands);
}

std::string ShingleNormalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto push_space = [&] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c + 32));
    } else if (c >= '0' && c <= '9') {
      out.push_back('0');  // FineWeb maps every digit run to one "0"
      while (i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9') ++i;
    } else if (c < 0x80 && (std::isspace(c) || std::ispunct(c) || c < 0x20)) {
      push_space();
    } else if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
      // U+2010–U+203F: dashes, curly quotes, bullets, ellipsis — punctuation → space.
      push_space();
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::vector<uint64_t> ShingleHashes(std::string_view text, int ngram) {
  std::string normalized = ShingleNormalize(text);
  std::vector<size_t> word_starts;
  for (size_t i = 0; i < normalized.size(); ++i) {
    if (i == 0 || normalized[i - 1] == ' ') word_starts.push_back(i);
  }
  std::vector<uint64_t> hashes;
  const size_t words = word_starts.size();
  if (words == 0) return hashes;
  if (words < static_cast<size_t>(ngram)) {
    hashes.push_back(XXH3_64bits(normalized.data(), normalized.size()));
    return hashes;
  }
  hashes.reserve(words - ngram + 1);
  for (size_t i = 0; i + ngram <= words; ++i) {
    size_t begin = word_starts[i];
    size_t end = i + ngram < words ? word_starts[i + ngram] - 1 : normalized.size();
    hashes.push_back(XXH3_64bits(normalized.data() + begin, end - begin));
  }
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

double ShingleJaccard(std::string_view a, std::string_view b, int ngram) {
  auto ha = ShingleHashes(a, ngram), hb = ShingleHashes(b, ngram);
  if (ha.empty() && hb.empty()) return 1.0;
  std::vector<uint64_t> common;
  std::set_intersection(ha.begin(), ha.end(), hb.begin(), hb.end(), std::back_inserter(common));
  return static_cast<double>(common.size()) / (ha.size() + hb.size() - common.size());
}

MinHasher::MinHasher(const MinHashOptions& options) : options_(options) {
  uint64_t state = options.seed;
  for (int k = 0; k < options.NumHashes(); ++k) {
    a_.push_back(SplitMix64(&state) | 1);  // odd multiplier
    b_.push_back(SplitMix64(&state));
  }
}

void MinHasher::Signature(std::string_view text, uint32_t* signature) const {
  const int n = options_.NumHashes();
  std::fill(signature, signature + n, UINT32_MAX);
  std::vector<uint64_t> shingles = ShingleHashes(text, options_.ngram);
  const uint64_t* a = a_.data();
  const uint64_t* b = b_.data();
  for (uint64_t x : shingles) {
    for (int k = 0; k < n; ++k) {
      uint32_t h = static_cast<uint32_t>((a[k] * x + b[k]) >> 32);
      signature[k] = std::min(signature[k], h);
    }
  }
}

std::vector<uint32_t> MinHasher::Signature(std::string_view text) const {
  std::vector<uint32_t> signature(options_.NumHashes());
  Signature(text, signature.data());
  return signature;
}

double EstimatedJaccard(const uint32_t* a, const uint32_t* b, int num_hashes) {
  int equal = 0;
  for (int k = 0; k < num_hashes; ++k) equal += a[k] == b[k];
  return static_cast<double>(equal) / num_hashes;
}

UnionFind::UnionFind(size_t n) : parent_(n) {
  std::iota(parent_.begin(), parent_.end(), 0u);
}

uint32_t UnionFind::Find(uint32_t x) {
  while (parent_[x] != x) {
    parent_[x] = parent_[parent_[x]];  // path halving
    x = parent_[x];
  }
  return x;
}

void UnionFind::Union(uint32_t a, uint32_t b) {
  a = Find(a);
  b = Find(b);
  if (a == b) return;
  // The smaller index becomes the root: the cluster's survivor is its earliest document.
  if (a < b) {
    parent_[b] = a;
  } else {
    parent_[a] = b;
  }
}

NearDedupResult ClusterNearDuplicates(const std::vector<uint32_t>& signatures, size_t count,
                                      const MinHashOptions& options, int threads,
                                      const PairSimilarity& exact_similarity) {
  const int num_hashes = options.NumHashes();
  const int rows = options.rows_per_band;
  NearDedupResult result;
  UnionFind clusters(count);
  threads = std::max(1, threads);
  // Bands are bucketed in parallel (groups of `threads`), then joined in band order, so the
  // result does not depend on the thread count.
  for (int first_band = 0; first_band < options.num_bands; first_band += threads) {
    int group = std::min(threads, options.num_bands - first_band);
    std::vector<std::vector<std::pair<uint64_t, uint32_t>>> buckets(group);
    auto bucket_band = [&](int g) {
      int band = first_band + g;
      auto& entries = buckets[g];
      entries.resize(count);
      for (size_t d = 0; d < count; ++d) {
        const uint32_t* rows_begin = signatures.data() + d * num_hashes + band * rows;
        entries[d] = {XXH3_64bits_withSeed(rows_begin, rows * sizeof(uint32_t), band),
                      static_cast<uint32_t>(d)};
      }
      std::sort(entries.begin(), entries.end());
    };
    std::vector<std::thread> workers;
    for (int g = 1; g < group; ++g) workers.emplace_back(bucket_band, g);
    bucket_band(0);
    for (auto& w : workers) w.join();

    for (const auto& entries : buckets) {
      size_t i = 0;
      while (i < entries.size()) {
        size_t end = i + 1;
        while (end < entries.size() && entries[end].first == entries[i].first) ++end;
        for (size_t j = i + 1; j < end; ++j) {
          uint32_t doc = entries[j].second;
          // Compare with up to 16 earlier members of the bucket, earliest first.
          for (size_t k = i; k < j && k < i + 16; ++k) {
            uint32_t other = entries[k].second;
            if (clusters.Find(doc) == clusters.Find(other)) break;
            ++result.candidate_pairs;
            bool similar = true;
            if (options.verify == "exact" && exact_similarity) {
              similar = exact_similarity(other, doc) >= options.verify_threshold;
            } else if (options.verify != "none") {
              similar = EstimatedJaccard(signatures.data() + size_t{doc} * num_hashes,
                                         signatures.data() + size_t{other} * num_hashes,
                                         num_hashes) >= options.verify_threshold;
            }
            if (similar) {
              clusters.Union(doc, other);
              ++result.verified_pairs;
              break;
            }
          }
        }
        i = end;
      }
    }
  }
  result.representative.resize(count);
  std::vector<uint8_t> has_duplicates(count, 0);
  for (size_t d = 0; d < count; ++d) {
    uint32_t root = clusters.Find(static_cast<uint32_t>(d));
    result.representative[d] = root;
    if (root != d && !has_duplicates[root]) {
      has_duplicates[root] = 1;
      ++result.clusters_with_duplicates;
    }
  }
  return result;
}

}  // namespace isoflop::data
