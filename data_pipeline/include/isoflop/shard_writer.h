// Writes token shards in the format TokenReader reads (docs/data.md, "Token shards").
//
// Each document's token ids are appended to the current shard of its split, followed by
// the end-of-document id; a shard is closed when it reaches max_tokens_per_shard. Finish()
// writes `DIR/index.tsv` (vocabulary size, token width, end-of-document id, and each
// shard's split, file name, token count, document count and sha256).
//
// Like the reader it depends on the C++ standard library alone, so the trainer's tests can
// create real shards on a machine that has only libtorch, CUDA and NCCL.
#ifndef ISOFLOP_SHARD_WRITER_H_
#define ISOFLOP_SHARD_WRITER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

struct ShardWriterOptions {
  std::string out_dir;                       // created if missing
  uint32_t vocab_size = 0;                   // required; ids must be < vocab_size
  uint32_t eos_id = 0;                       // appended after every document; < vocab_size
  int64_t max_tokens_per_shard = 1LL << 26;  // 64 Mi tokens: 128 MiB as uint16

  bool IsValid(std::string* error) const;
};

// One shard as listed in index.tsv.
struct ShardInfo {
  std::string split;  // "train" or "val"
  std::string file;   // relative to the shard directory, e.g. "train-00000.bin"
  int64_t num_tokens = 0;
  int64_t num_documents = 0;
  std::string sha256;  // of the file's bytes, lowercase hex
};

// The width of a token in the shards: 2 (uint16) when vocab_size <= 65536, else 4 (uint32).
uint32_t TokenBytesFor(uint32_t vocab_size);

struct ShardSetSummary {
  uint32_t vocab_size = 0;
  uint32_t token_bytes = 0;  // 2 (uint16) when vocab_size <= 65536, else 4 (uint32)
  uint32_t eos_id = 0;
  std::vector<ShardInfo> shards;
  int64_t TokensIn(const std::string& split) const;
  int64_t DocumentsIn(const std::string& split) const;
};

class ShardWriter {
 public:
  static StatusOr<std::unique_ptr<ShardWriter>> Open(const ShardWriterOptions& options);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Appends one document (its ids, then eos_id) to `split` ("train" or "val").
  Status Add(const std::string& split, std::span<const uint32_t> document_tokens);

  // Closes the open shards and writes index.tsv. No Add() after Finish().
  StatusOr<ShardSetSummary> Finish();

 private:
  struct Impl;
  explicit ShardWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Convenience for tests and tools: writes `documents[i]` into split `splits[i]` and returns
// the summary. `splits` may be empty (everything goes to "train").
StatusOr<ShardSetSummary> WriteShards(const ShardWriterOptions& options,
                                      const std::vector<std::vector<uint32_t>>& documents,
                                      const std::vector<std::string>& splits = {});

// Writes `DIR/index.tsv` for `summary` (its shards in the order given), via a temporary file.
Status WriteShardIndex(const std::string& dir, const ShardSetSummary& summary);

// Reads and checks `DIR/index.tsv` (format only; shard files are not opened).
StatusOr<ShardSetSummary> ReadShardIndex(const std::string& shards_dir);

}  // namespace isoflop::data

#endif  // ISOFLOP_SHARD_WRITER_H_
