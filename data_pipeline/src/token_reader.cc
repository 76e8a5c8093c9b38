// TokenReader: windows over the concatenated token stream of one split, shuffled by a
// keyed permutation, disjoint per rank. Format of the shards: docs/data.md.
#include "isoflop/token_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
        std::string error;
        std::string actual = Sha256OfFile(shard.path, &error);
        if (actual.empty()) return Status::IOError(error);
        if (actual != info.sha256) {
          return Status::Corruption(shard.path + ": sha256 " + actual + " does not match index.tsv's " +
                                    info.sha256 + " (corrupted shard)");
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
