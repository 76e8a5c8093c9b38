// `isoflop data export`: writes a split's token stream in Megatron-Core, llm.c or nanoGPT
// format. Byte layouts and the engine sources they follow: docs/data.md ("Exporting to other
// engines"); each writer names its source below.
#include "isoflop/engine_export.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "isoflop/bpe_tokenizer.h"
#include "isoflop/hf_tokenizer.h"
#include "isoflop/shard_writer.h"
#include "sha256.h"

namespace isoflop::data {
namespace fs = std::filesystem;
namespace {

using FilePtr = std::unique_ptr<FILE, int (*)(FILE*)>;

// Little-endian writes (every platform isoflop builds on is little-endian; the formats are
// little-endian by definition: numpy's "<" / struct "<").
static_assert(std::endian::native == std::endian::little, "the exported formats are little-endian");

Status WriteBytes(FILE* f, const void* data, size_t size, const std::string& path) {
  if (size != 0 && std::fwrite(data, 1, size, f) != size)
    return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  return Status::OK();
}

template <typename T>
Status WriteScalar(FILE* f, T value, const std::string& path) {
  return WriteBytes(f, &value, sizeof(T), path);
}

// Writes ids as `width`-byte little-endian unsigned integers.
Status WriteIds(FILE* f, const uint32_t* ids, size_t count, int width, const std::string& path,
                std::vector<char>* scratch) {
  scratch->resize(count * width);
  if (width == 2) {
    for (size_t i = 0; i < count; ++i) {
      const uint16_t v = static_cast<uint16_t>(ids[i]);
      std::memcpy(scratch->data() + 2 * i, &v, 2);
    }
  } else {
    std::memcpy(scratch->data(), ids, count * 4);
  }
  return WriteBytes(f, scratch->data(), scratch->size(), path);
}

StatusOr<FilePtr> OpenForWrite(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  return f;
}

// Closes `f` (flushing it) and renames `tmp` over `path`, so a reader never sees half a file.
Status CloseAndPublish(FilePtr f, const std::string& tmp, const std::string& path) {
  FILE* raw = f.release();
  if (std::fflush(raw) != 0 || std::fclose(raw) != 0)
    return Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::OK();
}

// The token stream of one split: its shards in index order, read in blocks.
class SplitStream {
 public:
  static StatusOr<std::unique_ptr<SplitStream>> Open(const std::string& dir, const ShardSetSummary& index,
                                                     const std::string& split, bool verify) {
    auto stream = std::unique_ptr<SplitStream>(new SplitStream());
    stream->token_bytes_ = index.token_bytes;
    stream->vocab_size_ = index.vocab_size;
    for (const ShardInfo& info : index.shards) {
      if (info.split != split) continue;
      const std::string path = (fs::path(dir) / info.file).string();
      std::error_code ec;
      const uintmax_t size = fs::file_size(path, ec);
      if (ec) return Status::NotFound(path + ": listed in index.tsv but cannot be read: " + ec.message());
      if (size != static_cast<uintmax_t>(info.num_tokens) * index.token_bytes) {
        return Status::Corruption(
            path + ": " + std::to_string(size) + " bytes, index.tsv says " + std::to_string(info.num_tokens) +
            " tokens of " + std::to_string(index.token_bytes) + " bytes (truncated or overwritten shard)");
      }
      if (verify) {
        std::string error;
        const std::string actual = Sha256OfFile(path, &error);
        if (actual.empty()) return Status::IOError(error);
        if (actual != info.sha256) {
          return Status::Corruption(path + ": sha256 " + actual + " does not match index.tsv's " +
                                    info.sha256 + " (corrupted shard)");
        }
      }
      stream->paths_.push_back(path);
      stream->tokens_ += info.num_tokens;
    }
    return stream;
  }

  int64_t tokens() const { return tokens_; }

  // Fills `block` with the next ids (empty at the end of the split).
  Status Next(std::vector<uint32_t>* block) {
    block->clear();
    constexpr size_t kBlock = 1 << 20;
    while (block->empty()) {
      if (!file_) {
        if (next_file_ == paths_.size()) return Status::OK();
        current_ = paths_[next_file_++];
        file_.reset(std::fopen(current_.c_str(), "rb"));
        if (!file_) return Status::IOError("cannot open " + current_ + ": " + std::strerror(errno));
      }
      raw_.resize(kBlock * token_bytes_);
      const size_t got = std::fread(raw_.data(), token_bytes_, kBlock, file_.get());
      if (got == 0) {
        if (std::ferror(file_.get()))
          return Status::IOError("cannot read " + current_ + ": " + std::strerror(errno));
        file_.reset();
        continue;
      }
      block->resize(got);
      for (size_t i = 0; i < got; ++i) {
        uint32_t id = 0;
        if (token_bytes_ == 2) {
          uint16_t v;
          std::memcpy(&v, raw_.data() + 2 * i, 2);
          id = v;
        } else {
          std::memcpy(&id, raw_.data() + 4 * i, 4);
        }
        if (id >= vocab_size_) {
          return Status::Corruption(current_ + ": token id " + std::to_string(id) + " >= vocab_size " +
                                    std::to_string(vocab_size_));
        }
        (*block)[i] = id;
      }
    }
    return Status::OK();
  }

 private:
  SplitStream() = default;
  std::vector<std::string> paths_;
  size_t next_file_ = 0;
  std::string current_;
  FilePtr file_{nullptr, &std::fclose};
  std::vector<char> raw_;
  uint32_t token_bytes_ = 2, vocab_size_ = 0;
  int64_t tokens_ = 0;
};

// ---- Megatron-Core ----
// megatron/core/datasets/indexed_dataset.py (NVIDIA/Megatron-LM @ 00caa53a): _INDEX_HEADER
// b"MMIDIDX\x00\x00", struct "<Q" version 1, "<B" DType code, "<Q" sequence count, "<Q" document
// count (= len(document_indices), which starts at [0]), then int32 sequence lengths, int64 byte
// pointers, int64 document indices. IndexedDatasetBuilder.add_document appends one sequence per
// document here (preprocess_data.py without --split-sentences), so document_indices = 0..n.
constexpr char kMegatronMagic[9] = {'M', 'M', 'I', 'D', 'I', 'D', 'X', '\0', '\0'};

Status WriteMegatron(SplitStream& stream, uint32_t eos_id, uint8_t dtype_code, const std::string& prefix,
                     const std::string& split, ExportedFile* out) {
  const int width = dtype_code == 8 ? 2 : 4;
  const std::string bin = prefix + ".bin", idx = prefix + ".idx";
  auto bin_file = OpenForWrite(bin + ".tmp");
  if (!bin_file.ok()) return bin_file.status();
  std::vector<int32_t> lengths;
  std::vector<uint32_t> block;
  std::vector<char> scratch;
  int64_t current = 0, total = 0;
  auto end_document = [&]() -> Status {
    if (current > INT32_MAX) {
      return Status::InvalidArgument(split + " split: a document of " + std::to_string(current) +
                                     " tokens exceeds Megatron's int32 sequence length");
    }
    lengths.push_back(static_cast<int32_t>(current));
    current = 0;
    return Status::OK();
  };
  while (true) {
    ISOFLOP_RETURN_IF_ERROR(stream.Next(&block));
    if (block.empty()) break;
    ISOFLOP_RETURN_IF_ERROR(
        WriteIds(bin_file->get(), block.data(), block.size(), width, bin + ".tmp", &scratch));
    for (uint32_t id : block) {
      ++current;
      if (id == eos_id) ISOFLOP_RETURN_IF_ERROR(end_document());
    }
    total += static_cast<int64_t>(block.size());
  }
  if (current > 0) ISOFLOP_RETURN_IF_ERROR(end_document());  // a last document without its end id
  auto idx_file = OpenForWrite(idx + ".tmp");
  if (!idx_file.ok()) return idx_file.status();
  FILE* f = idx_file->get();
  const std::string tmp = idx + ".tmp";
  const uint64_t n = lengths.size();
  ISOFLOP_RETURN_IF_ERROR(WriteBytes(f, kMegatronMagic, sizeof(kMegatronMagic), tmp));
  ISOFLOP_RETURN_IF_ERROR(WriteScalar<uint64_t>(f, 1, tmp));
  ISOFLOP_RETURN_IF_ERROR(WriteScalar<uint8_t>(f, dtype_code, tmp));
  ISOFLOP_RETURN_IF_ERROR(WriteScalar<uint64_t>(f, n, tmp));
  ISOFLOP_RETURN_IF_ERROR(WriteScalar<uint64_t>(f, n + 1, tmp));
  ISOFLOP_RETURN_IF_ERROR(WriteBytes(f, lengths.data(), lengths.size() * sizeof(int32_t), tmp));
  std::vector<int64_t> pointers(n);
  int64_t pointer = 0;
  for (size_t i = 0; i < n; ++i) {
    pointers[i] = pointer;
    pointer += static_cast<int64_t>(lengths[i]) * width;
  }
  ISOFLOP_RETURN_IF_ERROR(WriteBytes(f, pointers.data(), pointers.size() * sizeof(int64_t), tmp));
  std::vector<int64_t> document_indices(n + 1);
  for (size_t i = 0; i <= n; ++i) document_indices[i] = static_cast<int64_t>(i);
  ISOFLOP_RETURN_IF_ERROR(
      WriteBytes(f, document_indices.data(), document_indices.size() * sizeof(int64_t), tmp));
  ISOFLOP_RETURN_IF_ERROR(CloseAndPublish(std::move(*bin_file), bin + ".tmp", bin));
  ISOFLOP_RETURN_IF_ERROR(CloseAndPublish(std::move(*idx_file), tmp, idx));
  *out = ExportedFile{bin, split, total, static_cast<int64_t>(n), static_cast<int64_t>(fs::file_size(bin))};
  return Status::OK();
}

// ---- llm.c ----
// dev/data/data_common.py (karpathy/llm.c @ 16635d41), write_datafile: 256 int32 header,
// header[0] = magic, header[1] = version, header[2] = token count (< 2^31), then the tokens:
// "gpt-2" = magic 20240520, version 1, uint16; "llama-3" = magic 20240801, version 7, uint32.
// Files are named as dev/data/fineweb.py names them: <name>_<split>_<NNNNNN>.bin.
Status WriteLlmc(SplitStream& stream, bool wide, int64_t shard_tokens, const std::string& prefix,
                 const std::string& split, std::vector<ExportedFile>* out) {
  const int width = wide ? 4 : 2;
  std::vector<uint32_t> block;
  std::vector<char> scratch;
  FilePtr file(nullptr, &std::fclose);
  std::string path, tmp;
  int64_t in_file = 0;
  int index = 0;
  auto close = [&]() -> Status {
    int32_t header[256] = {};
    header[0] = wide ? 20240801 : 20240520;
    header[1] = wide ? 7 : 1;
    header[2] = static_cast<int32_t>(in_file);
    if (std::fseek(file.get(), 0, SEEK_SET) != 0) return Status::IOError("cannot seek in " + tmp);
    ISOFLOP_RETURN_IF_ERROR(WriteBytes(file.get(), header, sizeof(header), tmp));
    ISOFLOP_RETURN_IF_ERROR(CloseAndPublish(std::move(file), tmp, path));
    file = FilePtr(nullptr, &std::fclose);
    out->push_back(ExportedFile{path, split, in_file, 0, static_cast<int64_t>(fs::file_size(path))});
    in_file = 0;
    return Status::OK();
  };
  while (true) {
    ISOFLOP_RETURN_IF_ERROR(stream.Next(&block));
    if (block.empty()) break;
    size_t done = 0;
    while (done < block.size()) {
      if (!file) {
        char name[32];
        std::snprintf(name, sizeof(name), "_%s_%06d.bin", split.c_str(), index++);
        path = prefix + name;
        tmp = path + ".tmp";
        auto opened = OpenForWrite(tmp);
        if (!opened.ok()) return opened.status();
        file = std::move(*opened);
        const char zeros[1024] = {};
        ISOFLOP_RETURN_IF_ERROR(WriteBytes(file.get(), zeros, sizeof(zeros), tmp));
      }
      const size_t take = std::min<size_t>(block.size() - done, static_cast<size_t>(shard_tokens - in_file));
      ISOFLOP_RETURN_IF_ERROR(WriteIds(file.get(), block.data() + done, take, width, tmp, &scratch));
      done += take;
      in_file += static_cast<int64_t>(take);
      if (in_file == shard_tokens) ISOFLOP_RETURN_IF_ERROR(close());
    }
  }
  if (file) ISOFLOP_RETURN_IF_ERROR(close());
  return Status::OK();
}

// ---- nanoGPT ----
// data/openwebtext/prepare.py (karpathy/nanoGPT @ 04cc18e9): train.bin / val.bin are the
// concatenated ids (each document followed by its end-of-text id) as a headerless np.uint16
// memmap; train.py reads them with np.memmap(..., dtype=np.uint16) and the vocabulary size from
// meta.pkl's 'vocab_size' (data/shakespeare_char/prepare.py).
Status WriteHeaderless(SplitStream& stream, int width, const std::string& path, const std::string& split,
                       ExportedFile* out) {
  auto file = OpenForWrite(path + ".tmp");
  if (!file.ok()) return file.status();
  std::vector<uint32_t> block;
  std::vector<char> scratch;
  int64_t total = 0;
  while (true) {
    ISOFLOP_RETURN_IF_ERROR(stream.Next(&block));
    if (block.empty()) break;
    ISOFLOP_RETURN_IF_ERROR(
        WriteIds(file->get(), block.data(), block.size(), width, path + ".tmp", &scratch));
    total += static_cast<int64_t>(block.size());
  }
  ISOFLOP_RETURN_IF_ERROR(CloseAndPublish(std::move(*file), path + ".tmp", path));
  *out = ExportedFile{path, split, total, 0, static_cast<int64_t>(fs::file_size(path))};
  return Status::OK();
}

// {'vocab_size': V} as a pickle (protocol 2: PROTO 2, EMPTY_DICT, BINUNICODE key, BININT value,
// SETITEM, STOP; Python's Lib/pickletools.py documents each opcode).
std::string VocabSizePickle(uint32_t vocab_size) {
  std::string p = "\x80\x02}X";
  const std::string key = "vocab_size";
  const uint32_t key_len = static_cast<uint32_t>(key.size());
  p.append(reinterpret_cast<const char*>(&key_len), 4);
  p += key;
  p += 'J';
  const int32_t v = static_cast<int32_t>(vocab_size);
  p.append(reinterpret_cast<const char*>(&v), 4);
  p += "s.";
  return p;
}

Status WriteSmallFile(const std::string& path, const std::string& bytes) {
  auto file = OpenForWrite(path + ".tmp");
  if (!file.ok()) return file.status();
  ISOFLOP_RETURN_IF_ERROR(WriteBytes(file->get(), bytes.data(), bytes.size(), path + ".tmp"));
  return CloseAndPublish(std::move(*file), path + ".tmp", path);
}

}  // namespace

uint8_t MegatronDtypeCode(uint32_t vocab_size) {
  return vocab_size < 65500 ? 8 : 4;
}

bool ExportOptions::IsValid(std::string* error) const {
  if (shards_dir.empty()) return *error = "shards_dir is required (--shards)", false;
  if (format != "megatron" && format != "llmc" && format != "nanogpt")
    return *error = "format must be megatron, llmc or nanogpt (got '" + format + "')", false;
  if (out.empty()) return *error = "out is required (--out)", false;
  if (llmc_shard_tokens < 1 || llmc_shard_tokens > INT32_MAX)
    return *error = "llmc_shard_tokens must be in [1, 2^31 - 1] (llm.c's header holds an int32 count)", false;
  return true;
}

StatusOr<ExportSummary> ExportShards(const ExportOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("data export: " + error);
  auto index = ReadShardIndex(options.shards_dir);
  if (!index.ok()) return index.status();
  // Every input is checked before anything is written: the tokenizer too.
  std::string hf_json;
  const std::string tokenizer_path = (fs::path(options.shards_dir) / "tokenizer.json").string();
  const bool have_tokenizer = options.write_tokenizer && fs::exists(tokenizer_path);
  if (have_tokenizer) {
    auto tokenizer = LoadTokenizerFile(tokenizer_path);  // isoflop's, or the build's Hugging Face file
    if (!tokenizer.ok()) return tokenizer.status();
    if (tokenizer->vocab_size() != index->vocab_size) {
      return Status::InvalidArgument(tokenizer_path + ": vocab_size " +
                                     std::to_string(tokenizer->vocab_size()) + " differs from index.tsv's " +
                                     std::to_string(index->vocab_size));
    }
    if (tokenizer->is_isoflop_layout()) {
      auto json = HuggingFaceTokenizerJson(*tokenizer);
      if (!json.ok()) return json.status();
      hf_json = *json;
    } else {  // already in Hugging Face format: the same file
      std::ifstream file(tokenizer_path, std::ios::binary);
      std::stringstream text;
      text << file.rdbuf();
      hf_json = text.str();
    }
  }

  ExportSummary summary;
  summary.format = options.format;
  const fs::path out(options.out);
  const fs::path out_dir = options.format == "nanogpt" ? out : out.parent_path();
  std::error_code ec;
  if (!out_dir.empty()) fs::create_directories(out_dir, ec);
  if (ec) return Status::IOError("cannot create " + out_dir.string() + ": " + ec.message());
  if (options.format != "nanogpt" && out.filename().empty())
    return Status::InvalidArgument(
        "data export: --out must be a file prefix (e.g. out/austen), not a directory");

  // Both splits' shards are opened (and their checksums verified) before anything is written.
  std::vector<std::unique_ptr<SplitStream>> streams;
  for (const std::string split : {"train", "val"}) {
    auto stream = SplitStream::Open(options.shards_dir, *index, split, options.verify_checksums);
    if (!stream.ok()) return stream.status();
    streams.push_back(std::move(*stream));
  }
  for (const std::string split : {"train", "val"}) {
    auto* stream = &streams[split == "train" ? 0 : 1];
    if ((*stream)->tokens() == 0) {
      if (split == "train") {
        return Status::InvalidArgument(options.shards_dir + ": no 'train' tokens in index.tsv");
      }
      summary.notes.push_back("the val split is empty: no val files written");
      continue;
    }
    if (options.format == "megatron") {
      const uint8_t code = MegatronDtypeCode(index->vocab_size);
      summary.token_dtype = code == 8 ? "uint16" : "int32";
      ExportedFile file;
      ISOFLOP_RETURN_IF_ERROR(WriteMegatron(**stream, index->eos_id, code,
                                            split == "train" ? options.out : options.out + "_val", split,
                                            &file));
      summary.files.push_back(file);
    } else if (options.format == "llmc") {
      const bool wide = index->vocab_size > 65536;
      summary.token_dtype = wide ? "uint32" : "uint16";
      ISOFLOP_RETURN_IF_ERROR(
          WriteLlmc(**stream, wide, options.llmc_shard_tokens, options.out, split, &summary.files));
    } else {
      const int width = index->vocab_size > 65536 ? 4 : 2;
      summary.token_dtype = width == 2 ? "uint16" : "uint32";
      ExportedFile file;
      ISOFLOP_RETURN_IF_ERROR(
          WriteHeaderless(**stream, width, (out / (split + ".bin")).string(), split, &file));
      summary.files.push_back(file);
    }
  }

  const std::string v = std::to_string(index->vocab_size);
  if (options.format == "megatron") {
    summary.notes.push_back("Megatron-LM: --train-data-path " + options.out + " --valid-data-path " +
                            options.out + "_val (or --data-path " + options.out +
                            " --split 99,1,0); end-of-document id " + std::to_string(index->eos_id) +
                            ", vocabulary " + v);
  } else if (options.format == "llmc") {
    if (index->vocab_size > 65536) {
      summary.notes.push_back(
          "llm.c: " + v +
          " ids need uint32: written with the llama-3 header (magic 20240801, version 7); "
          "llm.c's C DataLoader (llmc/dataloader.h) reads only the gpt-2 header (20240520, "
          "version 1, uint16)");
    }
    summary.notes.push_back(
        "llm.c: -i '" + options.out + "_train_*.bin' -j '" + options.out +
        "_val_*.bin'; its DataLoader needs every file to hold at least B*T*processes+1 tokens");
  } else {
    ISOFLOP_RETURN_IF_ERROR(WriteSmallFile((out / "meta.pkl").string(), VocabSizePickle(index->vocab_size)));
    if (index->vocab_size > 65536) {
      summary.notes.push_back("nanoGPT: " + v +
                              " ids do not fit uint16: train.bin/val.bin are uint32; change np.uint16 to "
                              "np.uint32 in train.py's get_batch before training on them");
    }
    summary.notes.push_back("nanoGPT: copy " + options.out +
                            " to nanoGPT's data/<dataset>/ and run train.py "
                            "--dataset=<dataset>; meta.pkl sets vocab_size " +
                            v);
  }
  if (have_tokenizer) {
    const fs::path hf_path = out_dir / "tokenizer.hf.json";
    if (fs::exists(hf_path)) {
      std::ifstream existing(hf_path, std::ios::binary);
      std::stringstream text;
      text << existing.rdbuf();
      if (text.str() != hf_json) {
        return Status::InvalidArgument(hf_path.string() +
                                       " exists and holds another tokenizer; "
                                       "export into another directory or remove it");
      }
    }
    ISOFLOP_RETURN_IF_ERROR(WriteSmallFile(hf_path.string(), hf_json));
    summary.tokenizer_path = hf_path.string();
  } else if (options.write_tokenizer) {
    summary.notes.push_back(options.shards_dir + " has no tokenizer.json: no tokenizer.hf.json written");
  }
  return summary;
}

std::string ExportSummary::BriefReport() const {
  std::ostringstream out;
  out << "exported " << files.size() << " file(s) in " << format << " format, token dtype " << token_dtype
      << "\n";
  for (const auto& f : files) {
    out << "  " << f.path << "  " << f.split << "  " << f.tokens << " tokens";
    if (f.documents > 0) out << ", " << f.documents << " documents";
    out << ", " << f.bytes << " bytes\n";
  }
  if (!tokenizer_path.empty()) out << "  " << tokenizer_path << "  Hugging Face tokenizers format\n";
  for (const auto& note : notes) out << "note: " << note << "\n";
  return out.str();
}

std::string ExportSummary::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = format;
  j["token_dtype"] = token_dtype;
  j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : files) {
    j["files"].push_back({{"path", f.path},
                          {"split", f.split},
                          {"tokens", f.tokens},
                          {"documents", f.documents},
                          {"bytes", f.bytes}});
  }
  j["tokenizer_hf_json"] = tokenizer_path;
  j["notes"] = notes;
  return j.dump(2);
}

}  // namespace isoflop::data
