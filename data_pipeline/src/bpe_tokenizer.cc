#include "isoflop/bpe_tokenizer.h"

#include "hf_pretokenizer.h"
#include "isoflop/file_util.h"

#include <xxhash.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>

namespace isoflop::data {
namespace {

enum class CharClass : uint8_t { kLetter, kDigit, kSpace, kOtherWhitespace, kSymbol };

// ASCII classes; bytes >= 0x80 (the pieces of non-ASCII UTF-8) count as letters so a
// multi-byte character never splits across chunks.
constexpr CharClass Classify(unsigned char c) {
  if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::kLetter;
  if (c >= '0' && c <= '9') return CharClass::kDigit;
  if (c == ' ') return CharClass::kSpace;
  if (c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') return CharClass::kOtherWhitespace;
  return CharClass::kSymbol;
}

constexpr std::array<CharClass, 256> MakeClassTable() {
  std::array<CharClass, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = Classify(static_cast<unsigned char>(c));
  return t;
}
constexpr std::array<CharClass, 256> kClass = MakeClassTable();

constexpr bool IsWhitespace(CharClass c) {
  return c == CharClass::kSpace || c == CharClass::kOtherWhitespace;
}

uint64_t PairKey(uint32_t left, uint32_t right) {
  return (uint64_t{left} << 32) | right;
}

// End of the run of letters starting at i (kClass[p[i]] == kLetter). With SSE2 (every
// x86_64 CPU) 16 bytes are classified at once and the run length is a count of trailing
// ones, so the run's end is not a mispredicted branch; the result is the scalar loop's.
inline size_t LetterRunEnd(const unsigned char* p, size_t i, size_t n) {
#ifdef __SSE2__
  while (i + 16 <= n) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i folded = _mm_or_si128(c, _mm_set1_epi8(0x20));  // 'A'–'Z' → 'a'–'z'
    const __m128i ascii_letter = _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)),
                                               _mm_cmplt_epi8(folded, _mm_set1_epi8('z' + 1)));
    const __m128i letter = _mm_or_si128(ascii_letter, _mm_cmplt_epi8(c, _mm_setzero_si128()));  // or >= 0x80
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(letter));
    if (mask != 0xffff) return i + static_cast<size_t>(std::countr_one(mask));
    i += 16;
  }
#endif
  while (i < n && kClass[p[i]] == CharClass::kLetter) ++i;
  return i;
}

// GPT-2: ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` with ASCII classes. A template
// so the per-chunk callback inlines (the public Pretokenize wraps it in std::function).
template <typename F>
inline void PretokenizeInline(std::string_view text, F&& chunk) {
  const size_t n = text.size();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    CharClass c = kClass[p[i]];
    if (c == CharClass::kSpace && i + 1 < n && !IsWhitespace(kClass[p[i + 1]])) {
      c = kClass[p[i + 1]];  // " word": the space leads the run
      i += 1;
    }
    if (c == CharClass::kLetter) {
      i = LetterRunEnd(p, i, n);
    } else if (!IsWhitespace(c)) {
      while (i < n && kClass[p[i]] == c) ++i;
    } else {
      size_t end = i;
      while (end < n && IsWhitespace(kClass[p[end]])) ++end;
      // \s+(?!\S): leave the last space to lead the following word.
      if (end < n && end - i >= 2 && p[end - 1] == ' ') --end;
      i = end;
    }
    chunk(text.substr(start, i - start));
  }
}

}  // namespace

namespace bpe_internal {

namespace {
inline ChunkTable::Key MakeKeyInline(std::string_view bytes, const char* readable_end);
}  // namespace

ChunkTable::Key ChunkTable::MakeKey(std::string_view bytes, const char* readable_end) {
  return MakeKeyInline(bytes, readable_end);
}

namespace {
inline ChunkTable::Key MakeKeyInline(std::string_view bytes, const char* readable_end) {
  using Key = ChunkTable::Key;
  Key key{bytes};
  const size_t len = bytes.size();
  if (len > 16) {
    key.hash = XXH3_64bits(bytes.data(), len);
    return key;
  }
  if (bytes.data() + 16 <= readable_end) {
    std::memcpy(&key.w0, bytes.data(), 8);
    std::memcpy(&key.w1, bytes.data() + 8, 8);
    if (len < 8) {
      key.w0 &= (uint64_t{1} << (8 * len)) - 1;
      key.w1 = 0;
    } else if (len < 16) {
      key.w1 &= (uint64_t{1} << (8 * (len - 8))) - 1;
    }
  } else {
    char padded[16] = {};
    std::memcpy(padded, bytes.data(), len);
    std::memcpy(&key.w0, padded, 8);
    std::memcpy(&key.w1, padded + 8, 8);
  }
  // Multiply-xorshift mixing of the two words and the length (SplitMix64's finaliser).
  uint64_t h = key.w0 * 0x9e3779b97f4a7c15ULL ^ key.w1 * 0xc2b2ae3d27d4eb4fULL ^ len;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  key.hash = h ^ (h >> 31);
  return key;
}
}  // namespace

bool ChunkTable::Matches(const Slot& slot, const Key& key) const {
  if (slot.length != key.bytes.size()) return false;
  if (slot.length <= 16) return slot.w0 == key.w0 && slot.w1 == key.w1;
  return slot.hash == static_cast<uint32_t>(key.hash) &&
         std::memcmp(keys_.data() + slot.w0, key.bytes.data(), slot.length) == 0;
}

uint64_t* ChunkTable::Find(const Key& key) {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = key.hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.length == 0) return nullptr;
    if (Matches(slot, key)) return &slot.value;
  }
}

uint64_t* ChunkTable::FindOrInsert(const Key& key, bool* inserted) {
  if (uint64_t* found = Find(key)) {
    *inserted = false;
    return found;
  }
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  size_t i = key.hash & mask;
  while (slots_[i].length != 0) i = (i + 1) & mask;
  Slot& slot = slots_[i];
  slot.length = static_cast<uint32_t>(key.bytes.size());
  slot.hash = static_cast<uint32_t>(key.hash);
  slot.value = 0;
  if (slot.length <= 16) {
    slot.w0 = key.w0;
    slot.w1 = key.w1;
  } else {
    slot.w0 = keys_.size();
    slot.w1 = 0;
    keys_.append(key.bytes);
  }
  ++size_;
  *inserted = true;
  return &slot.value;
}

void ChunkTable::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<size_t>(1024, old.size() * 2), Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.length == 0) continue;
    size_t i = slot.hash & mask;
    while (slots_[i].length != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void ChunkTable::Clear() {
  slots_.clear();
  keys_.clear();
  size_ = 0;
}

}  // namespace bpe_internal

void Pretokenize(std::string_view text, const std::function<void(std::string_view)>& chunk) {
  PretokenizeInline(text, chunk);
}

BpeTokenizer::BpeTokenizer(std::vector<std::pair<uint32_t, uint32_t>> merges) : merges_(std::move(merges)) {
  pieces_.reserve(kFirstMergeId + merges_.size());
  for (int b = 0; b < 256; ++b) {
    pieces_.emplace_back(1, static_cast<char>(b));
    byte_ids_[b] = static_cast<uint32_t>(b);
  }
  pieces_.emplace_back(kEosText);
  for (size_t m = 0; m < merges_.size(); ++m) {
    const uint64_t made = kFirstMergeId + m;
    merge_rank_[PairKey(merges_[m].first, merges_[m].second)] = (uint64_t{m} << 32) | made;
    pieces_.push_back(pieces_[merges_[m].first] + pieces_[merges_[m].second]);
  }
}

BpeTokenizer::BpeTokenizer(BpeModel model)
    : pieces_(std::move(model.pieces)),
      byte_ids_(model.byte_ids),
      eos_id_(model.eos_id),
      isoflop_layout_(false),
      ignore_merges_(model.ignore_merges),
      whole_(std::move(model.whole)),
      pretokenizer_(std::move(model.pretokenizer)) {
  merges_.reserve(model.merges.size());
  for (size_t m = 0; m < model.merges.size(); ++m) {
    const auto& merge = model.merges[m];
    merges_.emplace_back(merge.left, merge.right);
    merge_rank_[PairKey(merge.left, merge.right)] = (uint64_t{m} << 32) | merge.id;
  }
}

StatusOr<BpeTokenizer> BpeTokenizer::FromJson(std::string_view json, const std::string& source_name) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::InvalidArgument(source_name + ": not a JSON object");
  if (doc.value("format", "") != "isoflop-byte-bpe" || doc.value("version", 0) != 1) {
    return Status::InvalidArgument(source_name + ": 'format' must be \"isoflop-byte-bpe\" with 'version' 1");
  }
  if (doc.value("pretokenizer", "") != "gpt2-ascii-v1") {
    return Status::InvalidArgument(source_name +
                                   ": unknown 'pretokenizer' (this build knows \"gpt2-ascii-v1\")");
  }
  if (!doc.contains("merges") || !doc["merges"].is_array()) {
    return Status::InvalidArgument(source_name + ": missing 'merges' array");
  }
  std::vector<std::pair<uint32_t, uint32_t>> merges;
  uint32_t next_id = kFirstMergeId;
  for (size_t m = 0; m < doc["merges"].size(); ++m) {
    const auto& pair = doc["merges"][m];
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_unsigned() ||
        !pair[1].is_number_unsigned() || pair[0].get<uint64_t>() >= next_id ||
        pair[1].get<uint64_t>() >= next_id || pair[0].get<uint64_t>() == kEosId ||
        pair[1].get<uint64_t>() == kEosId) {
      return Status::InvalidArgument(source_name + ": merges[" + std::to_string(m) +
                                     "] must be [left, right] with ids of earlier tokens (not 256)");
    }
    merges.emplace_back(pair[0].get<uint32_t>(), pair[1].get<uint32_t>());
    ++next_id;
  }
  BpeTokenizer tokenizer(std::move(merges));
  if (doc.contains("vocab_size") && doc["vocab_size"] != tokenizer.vocab_size()) {
    return Status::InvalidArgument(source_name + ": 'vocab_size' does not match 257 + number of merges");
  }
  if (doc.contains("eos_id") && doc["eos_id"] != kEosId) {  // the format fixes it (docs/data.md)
    return Status::InvalidArgument(source_name + ": 'eos_id' must be 256 in this format");
  }
  return tokenizer;
}

StatusOr<BpeTokenizer> BpeTokenizer::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("tokenizer file " + path + " cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  return FromJson(text.str(), path);
}

std::string BpeTokenizer::ToJson() const {
  // Written by hand (one merge per line) so the bytes, and so the tokenizer's sha256 in the
  // manifest, depend only on the merges.
  std::string out =
      "{\n  \"format\": \"isoflop-byte-bpe\",\n  \"version\": 1,\n  \"pretokenizer\": \"gpt2-ascii-v1\",\n";
  out += "  \"vocab_size\": " + std::to_string(vocab_size()) + ",\n  \"eos_id\": 256,\n  \"merges\": [";
  for (size_t m = 0; m < merges_.size(); ++m) {
    out += (m ? ",\n    [" : "\n    [") + std::to_string(merges_[m].first) + ", " +
           std::to_string(merges_[m].second) + "]";
  }
  out += merges_.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Status BpeTokenizer::Save(const std::string& path) const {
  return WriteFileAtomically(path, ToJson()).WithContext("cannot write the tokenizer");
}

// tokenizers' Word::merge_all (models/bpe/word.rs @ 3ba8ad00): a min-heap of (rank, position)
// over adjacent pairs; the lowest rank merges first, the leftmost among equals; an entry whose
// pair changed since it was pushed is skipped; the merged symbol's new pairs are pushed. In
// isoflop's layout (merge i makes 257 + i from earlier ids) this is "apply the lowest-ranked
// merge everywhere, left to right, until none applies", the order training learned them in.
void BpeTokenizer::EncodeChunk(std::string_view chunk, std::vector<uint32_t>* ids) const {
  if (ignore_merges_) {  // models/bpe/model.rs, tokenize_with_cache
    if (auto it = whole_.find(std::string(chunk)); it != whole_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  struct Symbol {
    uint32_t id;
    int32_t prev, next;
    bool live;
  };
  const int32_t n = static_cast<int32_t>(chunk.size());
  std::vector<Symbol> word(chunk.size());
  for (int32_t i = 0; i < n; ++i)
    word[i] = {byte_ids_[static_cast<unsigned char>(chunk[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  struct Entry {
    uint32_t rank;
    int32_t pos;
    uint32_t made;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int32_t pos) {
    const int32_t next = word[pos].next;
    if (next < 0) return;
    auto it = merge_rank_.find(PairKey(word[pos].id, word[next].id));
    if (it != merge_rank_.end())
      heap.push({static_cast<uint32_t>(it->second >> 32), pos, static_cast<uint32_t>(it->second)});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    Symbol& left = word[top.pos];
    if (!left.live || left.next < 0) continue;
    Symbol& right = word[left.next];
    auto it = merge_rank_.find(PairKey(left.id, right.id));
    if (it == merge_rank_.end() || static_cast<uint32_t>(it->second) != top.made) continue;  // expired
    left.id = top.made;
    right.live = false;
    left.next = right.next;
    if (left.next >= 0) word[left.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
  for (int32_t i = 0; i >= 0 && i < n; i = word[i].next) ids->push_back(word[i].id);
}

namespace {
// Pre-tokens are looked up in batches: keys are made (and their slots prefetched) for up to
// kBatch chunks, then resolved in order.
constexpr size_t kBatch = 32;
}  // namespace

namespace {
constexpr size_t kMaxCachedChunk = 256;
constexpr uint64_t kInline = uint64_t{1} << 62, kIdMask = (uint64_t{1} << 24) - 1;
}  // namespace

void BpeTokenizer::EncodeCached(const bpe_internal::ChunkTable::Key& key, std::vector<uint32_t>* ids,
                                BpeEncodeCache* cache) const {
  const std::string_view chunk = key.bytes;
  if (chunk.size() > kMaxCachedChunk) {
    EncodeChunk(chunk, ids);
    return;
  }
  if (const uint64_t* found = cache->entries_.Find(key)) {
    const uint64_t v = *found;
    if (v >= kInline) {
      ids->push_back(static_cast<uint32_t>(v & kIdMask));
      if (v >> 62 == 2) ids->push_back(static_cast<uint32_t>((v >> 24) & kIdMask));
    } else {
      const uint32_t* begin = cache->ids_.data() + (v >> 16);
      ids->insert(ids->end(), begin, begin + (v & 0xffff));
    }
    return;
  }
  const size_t before = ids->size();
  EncodeChunk(chunk, ids);
  const size_t count = ids->size() - before;
  if (count == 0) return;
  if (cache->entries_.size() >= cache->max_entries_) {
    cache->entries_.Clear();
    cache->ids_.clear();
  }
  bool inserted = false;
  uint64_t* value = cache->entries_.FindOrInsert(key, &inserted);
  const bool fits_inline =
      count <= 2 && (*ids)[before] <= kIdMask && (count == 1 || (*ids)[before + 1] <= kIdMask);
  if (fits_inline) {
    *value = (uint64_t{count} << 62) | (count == 2 ? uint64_t{(*ids)[before + 1]} << 24 : 0) | (*ids)[before];
  } else {
    *value = (uint64_t{cache->ids_.size()} << 16) | count;
    cache->ids_.insert(cache->ids_.end(), ids->begin() + before, ids->end());
  }
}

void BpeTokenizer::Encode(std::string_view text, std::vector<uint32_t>* ids, BpeEncodeCache* cache) const {
  if (pretokenizer_ != nullptr) {  // a Hugging Face file's: added tokens, then its pre-tokenizers
    pretokenizer_->Split(
        text,
        [&](std::string_view chunk) {
          if (cache == nullptr) return EncodeChunk(chunk, ids);
          // The chunk may lie in a buffer of its own (a prefix space): read only its bytes.
          EncodeCached(bpe_internal::MakeKeyInline(chunk, chunk.data() + chunk.size()), ids, cache);
        },
        [&](uint32_t id) { ids->push_back(id); });
    return;
  }
  if (cache == nullptr) {
    PretokenizeInline(text, [&](std::string_view chunk) { EncodeChunk(chunk, ids); });
    return;
  }
  const char* text_end = text.data() + text.size();
  auto& batch = cache->batch_;
  auto resolve = [&] {
    for (const auto& key : batch) EncodeCached(key, ids, cache);
    batch.clear();
  };
  batch.clear();
  PretokenizeInline(text, [&](std::string_view chunk) {
    if (chunk.size() == 1 && batch.empty()) {
      ids->push_back(byte_ids_[static_cast<unsigned char>(chunk[0])]);  // a single byte is its own token
      return;
    }
    batch.push_back(bpe_internal::MakeKeyInline(chunk, text_end));
    cache->entries_.Prefetch(batch.back());
    if (batch.size() == kBatch) resolve();
  });
  resolve();
}

std::string BpeTokenizer::Decode(std::span<const uint32_t> ids, bool render_eos) const {
  std::string out;
  for (uint32_t id : ids) {
    if (id >= pieces_.size()) {
      out += "<|invalid:" + std::to_string(id) + "|>";
    } else if (id != eos_id_ || render_eos) {
      out += pieces_[id];
    }
  }
  return out;
}

bool BpeTrainerOptions::IsValid(std::string* error) const {
  if (vocab_size < BpeTokenizer::kFirstMergeId) {
    return *error = "tokenizer vocab_size must be >= 257 (256 bytes + <|endoftext|>)", false;
  }
  if (vocab_size > (1u << 24)) return *error = "tokenizer vocab_size must be <= 16777216", false;
  if (max_train_bytes < 1) return *error = "tokenizer max_train_bytes must be >= 1", false;
  if (min_pair_count < 1) return *error = "tokenizer min_pair_count must be >= 1", false;
  return true;
}

void BpeTrainer::Add(std::string_view text) {
  if (bytes_counted_ >= options_.max_train_bytes) return;
  bytes_counted_ += static_cast<int64_t>(text.size());
  const char* text_end = text.data() + text.size();
  auto resolve = [&] {
    for (const auto& key : batch_) {
      bool inserted = false;
      ++*chunk_counts_.FindOrInsert(key, &inserted);
    }
    batch_.clear();
  };
  batch_.clear();
  PretokenizeInline(text, [&](std::string_view chunk) {
    batch_.push_back(bpe_internal::MakeKeyInline(chunk, text_end));
    chunk_counts_.Prefetch(batch_.back());
    if (batch_.size() == kBatch) resolve();
  });
  resolve();
}

void BpeTrainer::Merge(const BpeTrainer& other) {
  if (&other == this) {  // the table must not change while it is read
    const BpeTrainer copy = other;
    Merge(copy);
    return;
  }
  bytes_counted_ += other.bytes_counted_;
  other.chunk_counts_.ForEach([&](std::string_view chunk, uint64_t count) {
    bool inserted = false;
    // MakeKey reads 16 bytes only when they lie before `readable_end`: pass the chunk's end.
    *chunk_counts_.FindOrInsert(bpe_internal::ChunkTable::MakeKey(chunk, chunk.data() + chunk.size()),
                                &inserted) += count;
  });
}

BpeTokenizer BpeTrainer::Train() const {
  struct Word {
    std::vector<uint32_t> ids;
    int64_t count;
  };
  // Sorted chunks: the training result does not depend on hash-map iteration order.
  std::vector<std::pair<std::string, int64_t>> sorted;
  sorted.reserve(chunk_counts_.size());
  chunk_counts_.ForEach([&](std::string_view chunk, uint64_t count) {
    sorted.emplace_back(std::string(chunk), static_cast<int64_t>(count));
  });
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [chunk, count] : sorted) {
    if (chunk.size() < 2) continue;  // nothing to merge
    Word w{{}, count};
    for (unsigned char c : chunk) w.ids.push_back(c);
    words.push_back(std::move(w));
  }
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> pair_words;
  for (uint32_t w = 0; w < words.size(); ++w) {
    for (size_t i = 0; i + 1 < words[w].ids.size(); ++i) {
      uint64_t key = PairKey(words[w].ids[i], words[w].ids[i + 1]);
      pair_count[key] += words[w].count;
      auto& list = pair_words[key];
      if (list.empty() || list.back() != w) list.push_back(w);
    }
  }
  // Max-heap on (count, smallest pair first); stale entries are skipped when popped.
  using Entry = std::pair<int64_t, uint64_t>;  // (count, ~key)
  std::priority_queue<Entry> heap;
  for (const auto& [key, count] : pair_count) heap.emplace(count, ~key);

  std::vector<std::pair<uint32_t, uint32_t>> merges;
  std::vector<uint32_t> last_visit(words.size(), UINT32_MAX);
  const uint32_t target_merges = options_.vocab_size - BpeTokenizer::kFirstMergeId;
  std::vector<uint64_t> changed;
  while (merges.size() < target_merges && !heap.empty()) {
    auto [count, inverted_key] = heap.top();
    heap.pop();
    uint64_t key = ~inverted_key;
    auto found = pair_count.find(key);
    if (found == pair_count.end() || found->second != count) continue;  // stale
    if (count < options_.min_pair_count) break;
    const uint32_t left = static_cast<uint32_t>(key >> 32), right = static_cast<uint32_t>(key);
    const uint32_t merged = BpeTokenizer::kFirstMergeId + static_cast<uint32_t>(merges.size());
    const uint32_t visit = static_cast<uint32_t>(merges.size());
    merges.emplace_back(left, right);
    changed.clear();
    std::vector<uint32_t> affected = std::move(pair_words[key]);
    pair_words.erase(key);
    for (uint32_t w : affected) {
      if (last_visit[w] == visit) continue;
      last_visit[w] = visit;
      Word& word = words[w];
      auto& ids = word.ids;
      bool contains = false;
      for (size_t i = 0; i + 1 < ids.size() && !contains; ++i)
        contains = ids[i] == left && ids[i + 1] == right;
      if (!contains) continue;
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        uint64_t k = PairKey(ids[i], ids[i + 1]);
        pair_count[k] -= word.count;
        changed.push_back(k);
      }
      size_t out = 0;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 1 < ids.size() && ids[i] == left && ids[i + 1] == right) {
          ids[out++] = merged;
          ++i;
        } else {
          ids[out++] = ids[i];
        }
      }
      ids.resize(out);
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        uint64_t k = PairKey(ids[i], ids[i + 1]);
        pair_count[k] += word.count;
        changed.push_back(k);
        auto& list = pair_words[k];
        if (list.empty() || list.back() != w) list.push_back(w);
      }
    }
    pair_count.erase(key);
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    for (uint64_t k : changed) {
      auto it = pair_count.find(k);
      if (it == pair_count.end()) continue;
      if (it->second <= 0) {
        pair_count.erase(it);
      } else {
        heap.emplace(it->second, ~k);
      }
    }
  }
  return BpeTokenizer(std::move(merges));
}

}  // namespace isoflop::data
