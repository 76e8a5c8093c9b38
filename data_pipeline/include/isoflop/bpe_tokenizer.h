// Stage 5 of `isoflop data build`: a byte-level BPE tokenizer (Sennrich et al. 2016,
// "Neural Machine Translation of Rare Words with Subword Units"; byte-level as in GPT-2,
// Radford et al. 2019), trained on the kept corpus or loaded from tokenizer.json.
//
// isoflop's layout (trained here, or its tokenizer.json): ids 0–255 are the bytes, 256 is the
// end-of-document token <|endoftext|>, and id 257 + i is merge i. Text is first split into
// chunks by a GPT-2-style pre-tokenizer (an optional leading space plus a run of letters, of
// digits or of other symbols; whitespace runs), so merges never cross chunk boundaries.
// Encoding is lossless: Decode(Encode(t)) == t for any byte string. Why our own and not
// sentencepiece: docs/data.md ("Tokenizer").
//
// A Hugging Face byte-level BPE (hf_tokenizer.h, LoadTokenizerFile) is the same model with the
// file's own ids, merges that may make any id, its added tokens cut out of the text first and
// its pre-tokenizer (HfPretokenizer: GPT-2's regex or the file's Split regex, through ICU).
#ifndef ISOFLOP_BPE_TOKENIZER_H_
#define ISOFLOP_BPE_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <cstring>
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

class HfPretokenizer;  // hf_pretokenizer.h

// A byte-level BPE in any id layout (what a Hugging Face tokenizer.json describes).
struct BpeModel {
  std::vector<std::string> pieces;       // id → bytes ("" where no token has the id)
  std::array<uint32_t, 256> byte_ids{};  // the id of each single byte
  struct Merge {
    uint32_t left, right, id;  // left + right → id
  };
  std::vector<Merge> merges;     // in rank order
  uint32_t eos_id = UINT32_MAX;  // UINT32_MAX: none chosen
  // ignore_merges (Llama 3): a chunk that is itself a model token is that token (bytes → id).
  bool ignore_merges = false;
  std::unordered_map<std::string, uint32_t> whole;
  std::shared_ptr<const HfPretokenizer> pretokenizer;  // null: isoflop's (gpt2-ascii-v1)
};

namespace bpe_internal {

// Open-addressing hash map (linear probing, ≤ 50% load) from byte strings to a 64-bit value.
// Keys of ≤ 16 bytes (most pre-tokens) live in the slot itself and compare as two words;
// longer ones live back to back in one arena. A lookup is a hash, one or two probes and no
// allocation (unlike std::unordered_map<std::string, ...>).
class ChunkTable {
 public:
  struct Key {
    std::string_view bytes;
    uint64_t w0 = 0, w1 = 0;  // the first 16 bytes, zero-padded (used when ≤ 16 bytes)
    uint64_t hash = 0;
  };
  // Bytes up to `readable_end` (≥ the key's end) may be read: short keys load 16 at once.
  static Key MakeKey(std::string_view bytes, const char* readable_end);
  uint64_t* Find(const Key& key);
  // The value of `key`, inserted as 0 when absent (*inserted = true).
  uint64_t* FindOrInsert(const Key& key, bool* inserted);
  // Starts loading the slot `key` probes first (a hint: lookups of a batch of keys then
  // overlap their cache misses instead of waiting for each in turn).
  void Prefetch(const Key& key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[key.hash & (slots_.size() - 1)]);
  }
  size_t size() const { return size_; }
  void Clear();
  // f(key, value) for every entry, in table order (not a stable order: sort if it matters).
  template <typename F>
  void ForEach(F&& f) const {
    for (const Slot& slot : slots_) {
      if (slot.length == 0) continue;
      if (slot.length <= 16) {
        char bytes[16];
        std::memcpy(bytes, &slot.w0, 8);
        std::memcpy(bytes + 8, &slot.w1, 8);
        f(std::string_view(bytes, slot.length), slot.value);
      } else {
        f(std::string_view(keys_).substr(slot.w0, slot.length), slot.value);
      }
    }
  }

 private:
  struct Slot {
    uint64_t w0 = 0, w1 = 0;  // the key (≤ 16 bytes), or w0 = its offset in keys_
    uint64_t value = 0;
    uint32_t length = 0;  // 0: empty (keys are never empty)
    uint32_t hash = 0;    // low 32 bits of the key's hash
  };
  bool Matches(const Slot& slot, const Key& key) const;
  void Grow();
  std::vector<Slot> slots_;
  std::string keys_;
  size_t size_ = 0;
};

}  // namespace bpe_internal

// Per-thread memo of chunk → ids: most chunks of prose repeat, so encoding is mostly lookups.
// Holds at most max_entries chunks (then starts over); chunks longer than 256 bytes are not
// memoised.
class BpeEncodeCache {
 public:
  explicit BpeEncodeCache(size_t max_entries = 1 << 18) : max_entries_(max_entries) {}

 private:
  friend class BpeTokenizer;
  size_t max_entries_;
  // value: 1 or 2 ids inline (count << 62 | id1 << 24 | id0), else offset in ids_ << 16 | count
  bpe_internal::ChunkTable entries_;
  std::vector<uint32_t> ids_;
  std::vector<bpe_internal::ChunkTable::Key> batch_;
};

class BpeTokenizer {
 public:
  static constexpr uint32_t kEosId = 256;
  static constexpr uint32_t kFirstMergeId = 257;
  static constexpr const char* kEosText = "<|endoftext|>";

  BpeTokenizer() : BpeTokenizer(std::vector<std::pair<uint32_t, uint32_t>>{}) {}
  // isoflop's layout: merge i makes id 257 + i.
  explicit BpeTokenizer(std::vector<std::pair<uint32_t, uint32_t>> merges);
  // Any layout (hf_tokenizer.h builds it from a Hugging Face file).
  explicit BpeTokenizer(BpeModel model);

  // tokenizer.json: {"format": "isoflop-byte-bpe", "version": 1, "pretokenizer":
  // "gpt2-ascii-v1", "vocab_size": N, "eos_id": 256, "merges": [[left, right], ...]}.
  static StatusOr<BpeTokenizer> FromJson(std::string_view json, const std::string& source_name);
  static StatusOr<BpeTokenizer> Load(const std::string& path);
  // isoflop's layout only (is_isoflop_layout()): deterministic bytes for the same merges.
  std::string ToJson() const;
  Status Save(const std::string& path) const;

  // Appends the ids of `text` to `ids`. Thread-safe with one cache per thread.
  void Encode(std::string_view text, std::vector<uint32_t>* ids, BpeEncodeCache* cache = nullptr) const;
  // The bytes of `ids`; the end-of-document id renders as kEosText when render_eos.
  std::string Decode(std::span<const uint32_t> ids, bool render_eos = true) const;

  // Highest id + 1 (the shards' token width follows it).
  uint32_t vocab_size() const { return static_cast<uint32_t>(pieces_.size()); }
  uint32_t eos_id() const { return eos_id_; }  // UINT32_MAX when the file named none
  bool is_isoflop_layout() const { return isoflop_layout_; }
  // The merges as (left, right) ids, in rank order.
  const std::vector<std::pair<uint32_t, uint32_t>>& merges() const { return merges_; }
  const std::string& token_bytes(uint32_t id) const { return pieces_[id]; }

 private:
  void EncodeChunk(std::string_view chunk, std::vector<uint32_t>* ids) const;
  void EncodeCached(const bpe_internal::ChunkTable::Key& key, std::vector<uint32_t>* ids,
                    BpeEncodeCache* cache) const;
  std::vector<std::pair<uint32_t, uint32_t>> merges_;
  // (left << 32 | right) → (rank << 32 | id made). A pair listed twice keeps its last rank, as
  // tokenizers' BPE::build does (its merge map is collected in order).
  std::unordered_map<uint64_t, uint64_t> merge_rank_;
  std::vector<std::string> pieces_;  // id → bytes
  std::array<uint32_t, 256> byte_ids_{};
  uint32_t eos_id_ = kEosId;
  bool isoflop_layout_ = true;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, uint32_t> whole_;  // bytes → id (ignore_merges only)
  std::shared_ptr<const HfPretokenizer> pretokenizer_;
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
  // Adds another trainer's counts and bytes (counting in parallel: one trainer per thread,
  // then merged; counts are sums, so the merges learned do not depend on the split).
  void Merge(const BpeTrainer& other);
  int64_t bytes_counted() const { return bytes_counted_; }
  // Greedy: repeatedly merges the most frequent adjacent pair (ties: smallest ids).
  BpeTokenizer Train() const;

 private:
  BpeTrainerOptions options_;
  int64_t bytes_counted_ = 0;
  bpe_internal::ChunkTable chunk_counts_;  // chunk → occurrences
  std::vector<bpe_internal::ChunkTable::Key> batch_;
};

}  // namespace isoflop::data

#endif  // ISOFLOP_BPE_TOKENIZER_H_
