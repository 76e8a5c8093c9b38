// Streaming reader of the token shards written by `isoflop data build`.
//
// The trainer's only view of the data: (batch, seq_len + 1) windows of token ids drawn
// from the shards of one split, deterministically shuffled from a seed, disjoint per
// rank, resumable from a saved state, with every shard's checksum verified on open.
//
// It depends on the C++ standard library alone (no JSON, hashing or compression
// library) because the trainer must build on a GPU machine that has only libtorch,
// CUDA and NCCL: it reads the plain-text shard index `DIR/index.tsv` written beside
// `manifest.json` (format in docs/data.md).
#ifndef ISOFLOP_TOKEN_READER_H_
#define ISOFLOP_TOKEN_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

struct TokenReaderOptions {
  std::string shards_dir;        // the directory `isoflop data build --out` wrote
  std::string split = "train";   // "train" or "val"
  int64_t batch_size = 8;        // windows per Next() call (per rank)
  int64_t seq_len = 256;         // each window holds seq_len + 1 tokens (inputs and shifted targets)
  uint64_t seed = 0;             // the shuffle of window order; same seed, same order
  int rank = 0;                  // this process's rank in data parallel
  int world_size = 1;            // ranks read disjoint windows
  bool verify_checksums = true;  // sha256 of every shard, checked on open

  bool IsValid(std::string* error) const;
};

// Where a reader stands in its stream; saved in checkpoints, restored on resume.
struct TokenReaderState {
  uint64_t epoch = 0;             // completed passes over this rank's windows
  uint64_t position = 0;          // windows consumed in the current epoch
  std::string Serialize() const;  // one line of text
  static StatusOr<TokenReaderState> Parse(const std::string& text);
};

class TokenReader {
 public:
  static StatusOr<std::unique_ptr<TokenReader>> Open(const TokenReaderOptions& options);
  virtual ~TokenReader() = default;

  // Fills `tokens` with batch_size * (seq_len + 1) ids, row-major; wraps to a new epoch
  // (reshuffled with seed + epoch) when this rank's windows are exhausted.
  virtual Status Next(std::vector<int32_t>* tokens) = 0;

  virtual TokenReaderState state() const = 0;
  virtual Status Restore(const TokenReaderState& state) = 0;

  virtual uint32_t vocab_size() const = 0;
  virtual int64_t windows_per_epoch() const = 0;  // for this rank
  virtual int64_t total_tokens() const = 0;       // in this split, all ranks
};

}  // namespace isoflop::data

#endif  // ISOFLOP_TOKEN_READER_H_
