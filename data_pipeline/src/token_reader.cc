// TokenReader: windows over the concatenated token stream of one split, shuffled by a
// keyed permutation, disjoint per rank. Format of the shards: docs/data.md.
#include "isoflop/token_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "isoflop/shard_writer.h"
#include "sha256.h"

namespace isoflop::data {
namespace {

// SplitMix64 finaliser (Steele, Lea & Flood 2014): a fast, well-mixed 64-bit hash, used
// as the Feistel round function. Written out so the order is the same on every platform
// (std::shuffle's algorithm is implementation-defined).
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A keyed bijection of [0, n): a balanced Feistel network on the smallest even number of
// bits covering n, with cycle walking (Black & Rogaway 2002) to stay inside [0, n). O(1)
// memory whatever the number of windows; expected < 4 walks per call.
class WindowPermutation {
 public:
  WindowPermutation(uint64_t n, uint64_t key) : n_(n), key_(key) {
    half_bits_ = 1;
    while ((uint64_t{1} << (2 * half_bits_)) < n_) ++half_bits_;
    mask_ = (uint64_t{1} << half_bits_) - 1;
  }
  uint64_t operator()(uint64_t index) const {
    uint64_t x = index;
    do {
      x = Encrypt(x);
    } while (x >= n_);
    return x;
  }

 private:
  uint64_t Encrypt(uint64_t x) const {
    uint64_t left = x >> half_bits_, right = x & mask_;
    for (int round = 0; round < 6; ++round) {
      uint64_t f = SplitMix64(right ^ SplitMix64(key_ + static_cast<uint64_t>(round))) & mask_;
      uint64_t next_right = left ^ f;
      left = right;
      right = next_right;
    }
    return (left << half_bits_) | right;
  }
  uint64_t n_, key_, mask_;
  int half_bits_;
};

// One pass over a shard file: its SHA-256, and the first token id >= vocab_size (a shard
// written for another vocabulary, or damaged in a way its index entry was rewritten to
// match). *bad_position < 0 when every id is in range.
Status ScanShard(const std::string& path, uint32_t token_bytes, uint32_t vocab_size, std::string* sha256,
                 int64_t* bad_position, uint32_t* bad_id) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  Sha256 hasher;
  std::vector<uint8_t> chunk(size_t{1} << 20);  // a multiple of 2 and 4: ids never straddle chunks
  *bad_position = -1;
  int64_t position = 0;
  size_t got;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0) {
    hasher.Update(chunk.data(), got);
    if (*bad_position < 0) {
      const size_t count = got / token_bytes;
      for (size_t i = 0; i < count; ++i) {
        uint32_t id = 0;
        for (uint32_t b = 0; b < token_bytes; ++b) id |= uint32_t{chunk[i * token_bytes + b]} << (8 * b);
        if (id >= vocab_size) {
          *bad_position = position + static_cast<int64_t>(i);
          *bad_id = id;
          break;
        }
      }
      position += static_cast<int64_t>(count);
    }
  }
  if (std::ferror(file.get())) return Status::IOError("read error in " + path);
  *sha256 = hasher.FinishHex();
  return Status::OK();
}

// manifest.json (written beside index.tsv by `data build`) lists every shard's sha256 too.
// The reader has no JSON library (it builds with the standard library alone), so this reads
// the flat objects of manifest["shards"]["files"] — string and number values, no nesting —
// by hand. Returns file name → sha256; empty when there is no manifest.
StatusOr<std::map<std::string, std::string>> ManifestShardHashes(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "manifest.json").string();
  std::ifstream in(path, std::ios::binary);
  std::map<std::string, std::string> hashes;
  if (!in) return hashes;  // shards written by ShardWriter alone (tests, tools) have no manifest
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  auto bad = [&](const std::string& why) { return Status::Corruption(path + ": " + why); };
  size_t files = text.find("\"files\"", text.find("\"shards\""));
  if (text.find("\"shards\"") == std::string::npos) return hashes;  // --skip tokenize: no shards
  if (files == std::string::npos) return bad("\"shards\" has no \"files\" list");
  size_t at = text.find('[', files);
  size_t end = at == std::string::npos ? std::string::npos : text.find(']', at);
  if (end == std::string::npos) return bad("unterminated \"files\" list");
  // The value of "key" in text[begin, stop): a JSON string without escapes (file names and
  // hex digests never need them).
  auto string_value = [&](size_t begin, size_t stop, const std::string& key) -> std::string {
    size_t k = text.find("\"" + key + "\"", begin);
    if (k == std::string::npos || k >= stop) return "";
    size_t colon = text.find(':', k);
    size_t open = colon == std::string::npos ? colon : text.find('"', colon);
    size_t close = open == std::string::npos ? open : text.find('"', open + 1);
    if (close == std::string::npos || close >= stop) return "";
    return text.substr(open + 1, close - open - 1);
  };
  for (size_t obj = text.find('{', at); obj != std::string::npos && obj < end; obj = text.find('{', obj + 1)) {
    size_t close = text.find('}', obj);
    if (close == std::string::npos || close > end) return bad("unterminated entry in \"files\"");
    std::string file = string_value(obj, close, "file"), sha = string_value(obj, close, "sha256");
    if (file.empty() || sha.size() != 64) return bad("a \"files\" entry without \"file\" and \"sha256\"");
    if (!hashes.emplace(file, sha).second) return bad("shard " + file + " is listed twice");
    obj = close;
  }
  return hashes;
}

struct Shard {
  std::string path;
  int64_t first_token = 0;  // offset of its first token in the split's stream
  int64_t num_tokens = 0;
  std::unique_ptr<FILE, int (*)(FILE*)> file{nullptr, &std::fclose};
};

class ShardStreamReader final : public TokenReader {
 public:
  Status Init(const TokenReaderOptions& options) {
    options_ = options;
    auto index = ReadShardIndex(options.shards_dir);
    if (!index.ok()) return index.status();
    vocab_size_ = index->vocab_size;
    token_bytes_ = index->token_bytes;
    std::map<std::string, std::string> manifest_hashes;
    if (options.verify_checksums) {
      auto hashes = ManifestShardHashes(options.shards_dir);
      if (!hashes.ok()) return hashes.status();
      manifest_hashes = std::move(*hashes);
    }
    for (const ShardInfo& info : index->shards) {
      if (info.split != options.split) continue;
      Shard shard;
      shard.path = (std::filesystem::path(options.shards_dir) / info.file).string();
      shard.first_token = total_tokens_;
      shard.num_tokens = info.num_tokens;
      std::error_code ec;
      uintmax_t size = std::filesystem::file_size(shard.path, ec);
      if (ec)
        return Status::NotFound(shard.path + ": listed in index.tsv but cannot be read: " + ec.message());
      uintmax_t expected = static_cast<uintmax_t>(info.num_tokens) * token_bytes_;
      if (size != expected) {
        return Status::Corruption(shard.path + ": " + std::to_string(size) + " bytes, index.tsv says " +
                                  std::to_string(info.num_tokens) + " tokens = " + std::to_string(expected) +
                                  " bytes (truncated or overwritten shard)");
      }
      if (options.verify_checksums) {
        std::string actual;
        int64_t bad_position = -1;
        uint32_t bad_id = 0;
        ISOFLOP_RETURN_IF_ERROR(ScanShard(shard.path, token_bytes_, vocab_size_, &actual, &bad_position, &bad_id));
        if (actual != info.sha256) {
          return Status::Corruption(shard.path + ": sha256 " + actual + " does not match index.tsv's " +
                                    info.sha256 + " (corrupted shard)");
        }
        if (!manifest_hashes.empty()) {
          auto listed = manifest_hashes.find(info.file);
          if (listed == manifest_hashes.end()) {
            return Status::Corruption(shard.path + ": in index.tsv but not in manifest.json (index and manifest "
                                      "come from different builds)");
          }
          if (listed->second != info.sha256) {
            return Status::Corruption(shard.path + ": manifest.json's sha256 " + listed->second +
                                      " differs from index.tsv's " + info.sha256 +
                                      " (index and manifest come from different builds)");
          }
        }
        if (bad_position >= 0) {
          return Status::Corruption(shard.path + ": token " + std::to_string(bad_position) + " is " +
                                    std::to_string(bad_id) + ", not below vocab_size " +
                                    std::to_string(vocab_size_) + " (corrupt shard or index)");
        }
      }
      shard.file.reset(std::fopen(shard.path.c_str(), "rb"));
      if (!shard.file) return Status::IOError("cannot open " + shard.path + ": " + std::strerror(errno));
      total_tokens_ += info.num_tokens;
      shards_.push_back(std::move(shard));
    }
    if (shards_.empty()) {
      return Status::InvalidArgument(options.shards_dir + ": no '" + options.split + "' shards in index.tsv");
    }
    // Window w covers tokens [w * seq_len, w * seq_len + seq_len + 1): inputs and shifted targets.
    total_windows_ = total_tokens_ > options.seq_len ? (total_tokens_ - 1) / options.seq_len : 0;
    windows_per_rank_ = total_windows_ / options.world_size;
    if (windows_per_rank_ < options.batch_size) {
      return Status::InvalidArgument(
          options.shards_dir + ": split '" + options.split + "' has " + std::to_string(total_tokens_) +
          " tokens: " + std::to_string(windows_per_rank_) + " windows of seq_len " +
          std::to_string(options.seq_len) + " per rank, fewer than batch_size " +
          std::to_string(options.batch_size));
    }
    buffer_.resize(static_cast<size_t>((options.seq_len + 1) * token_bytes_));
    return Status::OK();
  }

  Status Next(std::vector<int32_t>* tokens) override {
    const int64_t window_tokens = options_.seq_len + 1;
    tokens->resize(static_cast<size_t>(options_.batch_size * window_tokens));
    for (int64_t row = 0; row < options_.batch_size; ++row) {
      if (state_.position >= static_cast<uint64_t>(windows_per_rank_)) {
        ++state_.epoch;
        state_.position = 0;
      }
      WindowPermutation permutation(static_cast<uint64_t>(total_windows_), options_.seed + state_.epoch);
      uint64_t slot = state_.position * static_cast<uint64_t>(options_.world_size) + options_.rank;
      uint64_t window = permutation(slot);
      ISOFLOP_RETURN_IF_ERROR(ReadTokens(static_cast<int64_t>(window) * options_.seq_len, window_tokens,
                                         tokens->data() + row * window_tokens));
      ++state_.position;
    }
    return Status::OK();
  }

  TokenReaderState state() const override { return state_; }

  Status Restore(const TokenReaderState& state) override {
    if (state.position > static_cast<uint64_t>(windows_per_rank_)) {
      return Status::InvalidArgument("reader state position " + std::to_string(state.position) +
                                     " is past this rank's " + std::to_string(windows_per_rank_) +
                                     " windows (different data or world size?)");
    }
    state_ = state;
    return Status::OK();
  }

  uint32_t vocab_size() const override { return vocab_size_; }
  int64_t windows_per_epoch() const override { return windows_per_rank_; }
  int64_t total_tokens() const override { return total_tokens_; }

 private:
  Status ReadTokens(int64_t first, int64_t count, int32_t* out) {
    while (count > 0) {
      auto it = std::upper_bound(shards_.begin(), shards_.end(), first,
                                 [](int64_t offset, const Shard& s) { return offset < s.first_token; });
      Shard& shard = *(it - 1);
      int64_t local = first - shard.first_token;
      int64_t take = std::min(count, shard.num_tokens - local);
      size_t bytes = static_cast<size_t>(take) * token_bytes_;
      if (std::fseek(shard.file.get(), static_cast<long>(local * token_bytes_), SEEK_SET) != 0 ||
          std::fread(buffer_.data(), 1, bytes, shard.file.get()) != bytes) {
        return Status::Corruption(shard.path + ": short read at token " + std::to_string(local) +
                                  " (shard changed after open?)");
      }
      for (int64_t i = 0; i < take; ++i) {
        uint32_t id = 0;
        for (uint32_t b = 0; b < token_bytes_; ++b) id |= uint32_t{buffer_[i * token_bytes_ + b]} << (8 * b);
        if (id >= vocab_size_) {
          return Status::Corruption(shard.path + ": token " + std::to_string(local + i) + " is " +
                                    std::to_string(id) + ", not below vocab_size " +
                                    std::to_string(vocab_size_));
        }
        out[i] = static_cast<int32_t>(id);
      }
      out += take;
      first += take;
      count -= take;
    }
    return Status::OK();
  }

  TokenReaderOptions options_;
  TokenReaderState state_;
  uint32_t vocab_size_ = 0;
  uint32_t token_bytes_ = 2;
  int64_t total_tokens_ = 0;
  int64_t total_windows_ = 0;
  int64_t windows_per_rank_ = 0;
  std::vector<Shard> shards_;
  std::vector<uint8_t> buffer_;
};

}  // namespace

bool TokenReaderOptions::IsValid(std::string* error) const {
  if (shards_dir.empty()) return *error = "shards_dir is empty", false;
  if (split != "train" && split != "val")
    return *error = "split must be 'train' or 'val', got '" + split + "'", false;
  if (batch_size < 1) return *error = "batch_size must be >= 1", false;
  if (seq_len < 1) return *error = "seq_len must be >= 1", false;
  if (world_size < 1) return *error = "world_size must be >= 1", false;
  if (rank < 0 || rank >= world_size) {
    return *error = "rank " + std::to_string(rank) + " is outside [0, world_size " +
                    std::to_string(world_size) + ")",
           false;
  }
  return true;
}

std::string TokenReaderState::Serialize() const {
  return "epoch=" + std::to_string(epoch) + " position=" + std::to_string(position);
}

StatusOr<TokenReaderState> TokenReaderState::Parse(const std::string& text) {
  std::istringstream in(text);
  std::string epoch_field, position_field, extra;
  in >> epoch_field >> position_field;
  auto number_after = [](const std::string& field, const std::string& key, uint64_t* value) {
    if (field.rfind(key, 0) != 0) return false;
    std::string digits = field.substr(key.size());
    if (digits.empty() || digits.size() > 19 || digits.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *value = std::stoull(digits);
    return true;
  };
  TokenReaderState state;
  if (!number_after(epoch_field, "epoch=", &state.epoch) ||
      !number_after(position_field, "position=", &state.position) || (in >> extra)) {
    return Status::InvalidArgument("reader state '" + text + "': expected 'epoch=N position=M'");
  }
  return state;
}

StatusOr<std::unique_ptr<TokenReader>> TokenReader::Open(const TokenReaderOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("token reader: " + error);
  auto reader = std::make_unique<ShardStreamReader>();
  Status status = reader->Init(options);
  if (!status.ok()) return status;
  return std::unique_ptr<TokenReader>(std::move(reader));
}

}  // namespace isoflop::data
