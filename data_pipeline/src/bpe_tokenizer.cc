#include "isoflop/bpe_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>

namespace isoflop::data {
namespace {

enum class CharClass { kLetter, kDigit, kSpace, kOtherWhitespace, kSymbol };

// ASCII classes; bytes >= 0x80 (the pieces of non-ASCII UTF-8) count as letters so a
// multi-byte character never splits across chunks.
CharClass Classify(unsigned char c) {
  if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::kLetter;
  if (c >= '0' && c <= '9') return CharClass::kDigit;
  if (c == ' ') return CharClass::kSpace;
  if (c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') return CharClass::kOtherWhitespace;
  return CharClass::kSymbol;
}

bool IsWhitespace(CharClass c) {
  return c == CharClass::kSpace || c == CharClass::kOtherWhitespace;
}

uint64_t PairKey(uint32_t left, uint32_t right) {
  return (uint64_t{left} << 32) | right;
}

}  // namespace

void Pretokenize(std::string_view text, const std::function<void(std::string_view)>& chunk) {
  // GPT-2: ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` with ASCII classes.
  const size_t n = text.size();
  size_t i = 0;
  auto cls = [&](size_t k) { return Classify(static_cast<unsigned char>(text[k])); };
  while (i < n) {
    size_t start = i;
    CharClass c = cls(i);
    if (c == CharClass::kSpace && i + 1 < n && !IsWhitespace(cls(i + 1))) {
      c = cls(i + 1);  // " word": the space leads the run
      i += 1;
    }
    if (!IsWhitespace(c)) {
      while (i < n && cls(i) == c) ++i;
    } else {
      size_t end = i;
      while (end < n && IsWhitespace(cls(end))) ++end;
      // \s+(?!\S): leave the last space to lead the following word.
      if (end < n && end - i >= 2 && text[end - 1] == ' ') --end;
      i = end;
    }
    chunk(text.substr(start, i - start));
  }
}

BpeTokenizer::BpeTokenizer(std::vector<std::pair<uint32_t, uint32_t>> merges) : merges_(std::move(merges)) {
  pieces_.reserve(kFirstMergeId + merges_.size());
  for (int b = 0; b < 256; ++b) pieces_.emplace_back(1, static_cast<char>(b));
  pieces_.emplace_back(kEosText);
  for (size_t m = 0; m < merges_.size(); ++m) {
    merge_rank_[PairKey(merges_[m].first, merges_[m].second)] = static_cast<uint32_t>(m);
    pieces_.push_back(pieces_[merges_[m].first] + pieces_[merges_[m].second]);
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
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << ToJson();
  if (!out.good()) return Status::IOError("cannot write tokenizer to " + path);
  return Status::OK();
}

void BpeTokenizer::EncodeChunk(std::string_view chunk, std::vector<uint32_t>* ids) const {
  std::vector<uint32_t> word(chunk.size());
  for (size_t i = 0; i < chunk.size(); ++i) word[i] = static_cast<unsigned char>(chunk[i]);
  // Apply the lowest-ranked merge present, everywhere in the chunk, until none applies:
  // the same order training learned them in.
  while (word.size() >= 2) {
    uint32_t best_rank = UINT32_MAX;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = merge_rank_.find(PairKey(word[i], word[i + 1]));
      if (it != merge_rank_.end() && it->second < best_rank) best_rank = it->second;
    }
    if (best_rank == UINT32_MAX) break;
    const auto [left, right] = merges_[best_rank];
    const uint32_t merged = kFirstMergeId + best_rank;
    size_t out = 0;
    for (size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
        word[out++] = merged;
        ++i;
      } else {
        word[out++] = word[i];
      }
    }
    word.resize(out);
  }
  ids->insert(ids->end(), word.begin(), word.end());
}

void BpeTokenizer::Encode(std::string_view text, std::vector<uint32_t>* ids, BpeEncodeCache* cache) const {
  Pretokenize(text, [&](std::string_view chunk) {
    if (cache == nullptr) {
      EncodeChunk(chunk, ids);
      return;
    }
    auto it = cache->entries_.find(std::string(chunk));
    if (it != cache->entries_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
    size_t before = ids->size();
    EncodeChunk(chunk, ids);
    if (cache->entries_.size() >= cache->max_entries_) cache->entries_.clear();
    cache->entries_.emplace(std::string(chunk), std::vector<uint32_t>(ids->begin() + before, ids->end()));
  });
}

std::string BpeTokenizer::Decode(std::span<const uint32_t> ids, bool render_eos) const {
  std::string out;
  for (uint32_t id : ids) {
    if (id >= pieces_.size()) {
      out += "<|invalid:" + std::to_string(id) + "|>";
    } else if (id != kEosId || render_eos) {
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
  Pretokenize(text, [&](std::string_view chunk) { ++chunk_counts_[std::string(chunk)]; });
}

BpeTokenizer BpeTrainer::Train() const {
  struct Word {
    std::vector<uint32_t> ids;
    int64_t count;
  };
  // Sorted chunks: the training result does not depend on hash-map iteration order.
  std::vector<std::pair<std::string, int64_t>> sorted(chunk_counts_.begin(), chunk_counts_.end());
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
