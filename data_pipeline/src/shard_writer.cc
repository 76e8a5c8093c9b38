// Shard writer and index.tsv reader/writer. Format: docs/data.md, "Token shards".
#include "isoflop/shard_writer.h"
#include "isoflop/file_util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "sha256.h"

namespace isoflop::data {
namespace {

constexpr char kIndexFile[] = "index.tsv";
constexpr char kFormatKey[] = "isoflop_shards";
constexpr int kFormatVersion = 1;

bool IsKnownSplit(const std::string& split) {
  return split == "train" || split == "val";
}

// One open shard: bytes stream to the file and through SHA-256 at once.
struct OpenShard {
  std::unique_ptr<FILE, int (*)(FILE*)> file{nullptr, &std::fclose};
  Sha256 hasher;
  ShardInfo info;
  std::vector<uint8_t> pending;  // little-endian bytes not yet written
};

}  // namespace

uint32_t TokenBytesFor(uint32_t vocab_size) {
  return vocab_size <= 65536 ? 2 : 4;
}

bool ShardWriterOptions::IsValid(std::string* error) const {
  if (out_dir.empty()) {
    *error = "out_dir is empty";
    return false;
  }
  if (vocab_size == 0) {
    *error = "vocab_size must be > 0";
    return false;
  }
  if (eos_id >= vocab_size) {
    *error = "eos_id " + std::to_string(eos_id) + " is not below vocab_size " + std::to_string(vocab_size);
    return false;
  }
  if (max_tokens_per_shard < 1) {
    *error = "max_tokens_per_shard must be >= 1";
    return false;
  }
  return true;
}

int64_t ShardSetSummary::TokensIn(const std::string& split) const {
  int64_t total = 0;
  for (const auto& s : shards) total += s.split == split ? s.num_tokens : 0;
  return total;
}

int64_t ShardSetSummary::DocumentsIn(const std::string& split) const {
  int64_t total = 0;
  for (const auto& s : shards) total += s.split == split ? s.num_documents : 0;
  return total;
}

struct ShardWriter::Impl {
  ShardWriterOptions options;
  uint32_t token_bytes = 2;
  std::map<std::string, OpenShard> open;         // by split
  std::map<std::string, int> next_shard_number;  // by split
  std::vector<ShardInfo> closed;
  bool finished = false;

  Status StartShard(const std::string& split) {
    OpenShard& shard = open[split];
    int number = next_shard_number[split]++;
    char name[64];
    std::snprintf(name, sizeof(name), "%s-%05d.bin", split.c_str(), number);
    shard.info = ShardInfo{split, name, 0, 0, ""};
    std::string path = (std::filesystem::path(options.out_dir) / name).string();
    shard.file.reset(std::fopen(path.c_str(), "wb"));
    if (!shard.file) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
    shard.hasher = Sha256();
    return Status::OK();
  }

  Status Flush(OpenShard& shard) {
    if (shard.pending.empty()) return Status::OK();
    shard.hasher.Update(shard.pending.data(), shard.pending.size());
    if (std::fwrite(shard.pending.data(), 1, shard.pending.size(), shard.file.get()) !=
        shard.pending.size()) {
      return Status::IOError("write failed for " + options.out_dir + "/" + shard.info.file);
    }
    shard.pending.clear();
    return Status::OK();
  }

  Status CloseShard(const std::string& split) {
    auto it = open.find(split);
    if (it == open.end()) return Status::OK();
    OpenShard& shard = it->second;
    ISOFLOP_RETURN_IF_ERROR(Flush(shard));
    if (std::fclose(shard.file.release()) != 0) {
      return Status::IOError("close failed for " + options.out_dir + "/" + shard.info.file);
    }
    shard.info.sha256 = shard.hasher.FinishHex();
    closed.push_back(shard.info);
    open.erase(it);
    return Status::OK();
  }

  void Append(OpenShard& shard, uint32_t id) {
    // Little-endian on disk whatever the host, so shards move between machines.
    for (uint32_t b = 0; b < token_bytes; ++b) shard.pending.push_back(static_cast<uint8_t>(id >> (8 * b)));
  }
};

ShardWriter::ShardWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShardWriter::~ShardWriter() = default;

StatusOr<std::unique_ptr<ShardWriter>> ShardWriter::Open(const ShardWriterOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("shard writer: " + error);
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return Status::IOError("cannot create " + options.out_dir + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->token_bytes = TokenBytesFor(options.vocab_size);
  return std::unique_ptr<ShardWriter>(new ShardWriter(std::move(impl)));
}

Status ShardWriter::Add(const std::string& split, std::span<const uint32_t> document_tokens) {
  Impl& w = *impl_;
  if (w.finished) return Status::FailedPrecondition("shard writer: Add() after Finish()");
  if (!IsKnownSplit(split)) return Status::InvalidArgument("shard writer: unknown split '" + split + "'");
  for (uint32_t id : document_tokens) {
    if (id >= w.options.vocab_size) {
      return Status::InvalidArgument("shard writer: token id " + std::to_string(id) +
                                     " is not below vocab_size " + std::to_string(w.options.vocab_size));
    }
  }
  if (!w.open.count(split)) ISOFLOP_RETURN_IF_ERROR(w.StartShard(split));
  // A document may span shards: the reader sees one stream per split.
  size_t next = 0;
  const size_t total = document_tokens.size() + 1;  // + end of document
  while (next < total) {
    OpenShard* shard = &w.open[split];
    if (shard->info.num_tokens >= w.options.max_tokens_per_shard) {
      ISOFLOP_RETURN_IF_ERROR(w.CloseShard(split));
      ISOFLOP_RETURN_IF_ERROR(w.StartShard(split));
      shard = &w.open[split];
    }
    int64_t room = w.options.max_tokens_per_shard - shard->info.num_tokens;
    size_t take = std::min<size_t>(room, total - next);
    for (size_t i = 0; i < take; ++i, ++next) {
      w.Append(*shard, next < document_tokens.size() ? document_tokens[next] : w.options.eos_id);
    }
    shard->info.num_tokens += static_cast<int64_t>(take);
    if (next == total) ++shard->info.num_documents;  // counted in the shard holding its end
    if (shard->pending.size() >= (1u << 20)) ISOFLOP_RETURN_IF_ERROR(w.Flush(*shard));
  }
  return Status::OK();
}

StatusOr<ShardSetSummary> ShardWriter::Finish() {
  Impl& w = *impl_;
  if (w.finished) return Status::FailedPrecondition("shard writer: Finish() called twice");
  w.finished = true;
  for (const char* split : {"train", "val"}) ISOFLOP_RETURN_IF_ERROR(w.CloseShard(split));
  ShardSetSummary summary;
  summary.vocab_size = w.options.vocab_size;
  summary.token_bytes = w.token_bytes;
  summary.eos_id = w.options.eos_id;
  summary.shards = w.closed;
  // Stable order whatever the closing order: split, then file name.
  std::sort(summary.shards.begin(), summary.shards.end(), [](const ShardInfo& a, const ShardInfo& b) {
    return std::tie(a.split, a.file) < std::tie(b.split, b.file);
  });
  ISOFLOP_RETURN_IF_ERROR(WriteShardIndex(w.options.out_dir, summary));
  return summary;
}

Status WriteShardIndex(const std::string& dir, const ShardSetSummary& summary) {
  std::ostringstream text;
  text << "# isoflop token shards: little-endian unsigned ids; format in docs/data.md\n";
  text << kFormatKey << '\t' << kFormatVersion << '\n';
  text << "vocab_size\t" << summary.vocab_size << '\n';
  text << "token_bytes\t" << summary.token_bytes << '\n';
  text << "eos_id\t" << summary.eos_id << '\n';
  for (const auto& s : summary.shards) {
    text << "shard\t" << s.split << '\t' << s.file << '\t' << s.num_tokens << '\t' << s.num_documents << '\t'
         << s.sha256 << '\n';
  }
  // Written to a temporary name, then renamed: a reader never sees half an index.
  std::filesystem::path final_path = std::filesystem::path(dir) / kIndexFile;
  return WriteFileAtomically(final_path.string(), text.str());
}

StatusOr<ShardSetSummary> WriteShards(const ShardWriterOptions& options,
                                      const std::vector<std::vector<uint32_t>>& documents,
                                      const std::vector<std::string>& splits) {
  if (!splits.empty() && splits.size() != documents.size()) {
    return Status::InvalidArgument("WriteShards: " + std::to_string(splits.size()) + " splits for " +
                                   std::to_string(documents.size()) + " documents");
  }
  auto writer = ShardWriter::Open(options);
  if (!writer.ok()) return writer.status();
  for (size_t i = 0; i < documents.size(); ++i) {
    ISOFLOP_RETURN_IF_ERROR((*writer)->Add(splits.empty() ? "train" : splits[i], documents[i]));
  }
  return (*writer)->Finish();
}

StatusOr<ShardSetSummary> ReadShardIndex(const std::string& shards_dir) {
  std::string path = (std::filesystem::path(shards_dir) / kIndexFile).string();
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound(path + ": no shard index (is " + shards_dir +
                            " the --out of `isoflop data build`?)");
  }
  ShardSetSummary summary;
  bool saw_format = false, saw_vocab = false, saw_width = false, saw_eos = false;
  std::string line;
  int line_number = 0;
  auto bad = [&](const std::string& why) {
    return Status::Corruption(path + ":" + std::to_string(line_number) + ": " + why);
  };
  auto parse_u64 = [](const std::string& s, uint64_t* value) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return false;
    *value = std::stoull(s);
    return true;
  };
  std::map<std::string, int> shard_lines;  // file → line, to refuse a shard listed twice
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream split_stream(line);
    std::string field;
    while (std::getline(split_stream, field, '\t')) fields.push_back(field);
    uint64_t value = 0;
    if (fields[0] == kFormatKey) {
      if (saw_format) return bad("'" + fields[0] + "' given twice");
      if (fields.size() != 2 || !parse_u64(fields[1], &value) || value != kFormatVersion) {
        return bad("unsupported shard format version (this reader knows " + std::to_string(kFormatVersion) +
                   ")");
      }
      saw_format = true;
    } else if (fields[0] == "vocab_size" || fields[0] == "token_bytes" || fields[0] == "eos_id") {
      if (fields.size() != 2 || !parse_u64(fields[1], &value) || value > 0xffffffffULL) {
        return bad("bad value for " + fields[0]);
      }
      if ((fields[0] == "vocab_size" && saw_vocab) || (fields[0] == "token_bytes" && saw_width) ||
          (fields[0] == "eos_id" && saw_eos)) {
        return bad("'" + fields[0] + "' given twice");
      }
      if (fields[0] == "vocab_size") summary.vocab_size = static_cast<uint32_t>(value), saw_vocab = true;
      if (fields[0] == "token_bytes") summary.token_bytes = static_cast<uint32_t>(value), saw_width = true;
      if (fields[0] == "eos_id") summary.eos_id = static_cast<uint32_t>(value), saw_eos = true;
    } else if (fields[0] == "shard") {
      uint64_t tokens = 0, docs = 0;
      if (fields.size() != 6 || !IsKnownSplit(fields[1]) || fields[2].empty() ||
          fields[2].find('/') != std::string::npos || !parse_u64(fields[3], &tokens) ||
          !parse_u64(fields[4], &docs) || fields[5].size() != 64) {
        return bad("expected 'shard<TAB>train|val<TAB>FILE<TAB>TOKENS<TAB>DOCUMENTS<TAB>SHA256'");
      }
      if (auto [it, inserted] = shard_lines.emplace(fields[2], line_number); !inserted) {
        return bad("shard " + fields[2] + " is listed twice (first on line " + std::to_string(it->second) +
                   "): its tokens would be read twice");
      }
      summary.shards.push_back(ShardInfo{fields[1], fields[2], static_cast<int64_t>(tokens),
                                         static_cast<int64_t>(docs), fields[5]});
    } else {
      return bad("unknown key '" + fields[0] + "'");
    }
  }
  if (!saw_format) return Status::Corruption(path + ": missing '" + std::string(kFormatKey) + "' line");
  if (!saw_vocab || !saw_width || !saw_eos) {
    return Status::Corruption(path + ": missing vocab_size, token_bytes or eos_id");
  }
  if (summary.eos_id >= summary.vocab_size) {
    return Status::Corruption(path + ": eos_id " + std::to_string(summary.eos_id) + " is not below vocab_size " +
                              std::to_string(summary.vocab_size));
  }
  if (summary.token_bytes != TokenBytesFor(summary.vocab_size)) {
    return Status::Corruption(path + ": token_bytes " + std::to_string(summary.token_bytes) +
                              " does not match vocab_size " + std::to_string(summary.vocab_size));
  }
  return summary;
}

}  // namespace isoflop::data
