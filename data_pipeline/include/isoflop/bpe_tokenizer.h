// Stage 5 of `isoflop data build`: a byte-level BPE tokenizer (Sennrich et al. 2016,
// "Neural Machine Translation of Rare Words with Subword Units"; byte-level as in GPT-2,
// Radford et al. 2019), trained on the kept corpus or loaded from tokenizer.json.
//
// Ids 0–255 are the bytes, 256 is the end-of-document token <|endoftext|>, and id 257 + i
// is merge i. Text is first split into chunks by a GPT-2-style pre-tokenizer (an optional
// leading space plus a run of letters, of digits or of other symbols; whitespace runs), so
// merges never cross chunk boundaries. Encoding is lossless: Decode(Encode(t)) == t for any
// byte string. Why our own and not sentencepiece: docs/data.md ("Tokenizer").
#ifndef ISOFLOP_BPE_TOKENIZER_H_
#define ISOFLOP_BPE_TOKENIZER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

// Calls `chunk` for each pre-token of `text`, in order; their concatenation is `text`.
void Pretokenize(std::string_view text, const std::function<void(std::string_view)>& chunk);

// Per-thread memo of chunk → ids: most chunks of prose repeat, so encoding is mostly lookups.
class BpeEncodeCache {
 public:
  explicit BpeEncodeCache(size_t max_entries = 1 << 18) : max_entries_(max_entries) {}

 private:
  friend class BpeTokenizer;
  size_t max_entries_;
  std::unordered_map<std::string, std::vector<uint32_t>> entries_;
};

class BpeTokenizer {
 public:
  static constexpr uint32_t kEosId = 256;
  static constexpr uint32_t kFirstMergeId = 257;
  static constexpr const char* kEosText = "<|endoftext|>";

  BpeTokenizer() : BpeTokenizer(std::vector<std::pair<uint32_t, uint32_t>>{}) {}
  explicit BpeTokenizer(std::vector<std::pair<uint32_t, uint32_t>> merges);

  // tokenizer.json: {"format": "isoflop-byte-bpe", "version": 1, "pretokenizer":
  // "gpt2-ascii-v1", "vocab_size": N, "eos_id": 256, "merges": [[left, right], ...]}.
  static StatusOr<BpeTokenizer> FromJson(std::string_view json, const std::string& source_name);
  static StatusOr<BpeTokenizer> Load(const std::string& path);
  std::string ToJson() const;  // deterministic bytes for the same merges
  Status Save(const std::string& path) const;

  // Appends the ids of `text` to `ids`. Thread-safe with one cache per thread.
  void Encode(std::string_view text, std::vector<uint32_t>* ids, BpeEncodeCache* cache = nullptr) const;
  // The bytes of `ids`; the end-of-document id renders as kEosText when render_eos.
  std::string Decode(std::span<const uint32_t> ids, bool render_eos = true) const;

  uint32_t vocab_size() const { return kFirstMergeId + static_cast<uint32_t>(merges_.size()); }
  const std::vector<std::pair<uint32_t, uint32_t>>& merges() const { return merges_; }
  const std::string& token_bytes(uint32_t id) const { return pieces_[id]; }

 private:
  void EncodeChunk(std::string_view chunk, std::vector<uint32_t>* ids) const;
  std::vector<std::pair<uint32_t, uint32_t>> merges_;
  std::unordered_map<uint64_t, uint32_t> merge_rank_;  // (left << 32 | right) → merge index
  std::vector<std::string> pieces_;                    // id → bytes
};

struct BpeTrainerOptions {
  uint32_t vocab_size = 8192;           // including the 256 bytes and <|endoftext|>
  int64_t max_train_bytes = 256 << 20;  // text beyond this is not counted (bounds time, not memory)
  int64_t min_pair_count = 2;           // stop early when no pair occurs this often
  bool IsValid(std::string* error) const;
};

// Counts pre-token chunks as text streams in, then learns merges.
class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainerOptions options) : options_(options) {}
  void Add(std::string_view text);
  int64_t bytes_counted() const { return bytes_counted_; }
  // Greedy: repeatedly merges the most frequent adjacent pair (ties: smallest ids).
  BpeTokenizer Train() const;

 private:
  BpeTrainerOptions options_;
  int64_t bytes_counted_ = 0;
  std::unordered_map<std::string, int64_t> chunk_counts_;
};

}  // namespace isoflop::data

#endif  // ISOFLOP_BPE_TOKENIZER_H_
