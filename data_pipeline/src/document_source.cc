#include "document_source.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "sha256.h"
#include "utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

// Raw file → decompressed bytes, hashing the raw bytes on the way.
class ByteStream {
 public:
  // Reads the file from byte `begin` (as stored) to `end` (-1: its end). A stream that does
  // not start at 0 is plain text (compressed files are never split: the planner).
  Status Open(const std::string& path, int64_t begin = 0, int64_t end = -1) {
    path_ = path;
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) return Status::InvalidArgument("cannot open input " + path + ": " + std::strerror(errno));
    if (begin > 0 && std::fseek(file_.get(), static_cast<long>(begin), SEEK_SET) != 0) {
      return Status::IOError("cannot seek in " + path);
    }
    raw_left_ = end < 0 ? INT64_MAX : end - begin;
    raw_.resize(1 << 20);
    if (!FillRaw()) return Status::IOError("read error in " + path);
    if (begin > 0) {
      compression_ = "none";
    } else if (raw_size_ >= 2 && static_cast<uint8_t>(raw_[0]) == 0x1f && static_cast<uint8_t>(raw_[1]) == 0x8b) {
      compression_ = "gzip";
      std::memset(&zlib_, 0, sizeof(zlib_));
      if (inflateInit2(&zlib_, 15 + 32) != Z_OK) return Status::Internal("inflateInit2 failed");
      zlib_open_ = true;
    } else if (raw_size_ >= 4 && static_cast<uint8_t>(raw_[0]) == 0x28 &&
               static_cast<uint8_t>(raw_[1]) == 0xb5 && static_cast<uint8_t>(raw_[2]) == 0x2f &&
               static_cast<uint8_t>(raw_[3]) == 0xfd) {  // zstd frame magic
      compression_ = "zstd";
      zstd_.reset(ZSTD_createDStream());
    } else {
      compression_ = "none";
    }
    return Status::OK();
  }
  ~ByteStream() {
    if (zlib_open_) inflateEnd(&zlib_);
  }

  // Reads up to `capacity` decompressed bytes; 0 at the end.
  StatusOr<size_t> Read(char* out, size_t capacity) {
    while (true) {
      if (raw_pos_ == raw_size_ && !raw_eof_) {
        if (!FillRaw()) return Status::IOError("read error in " + path_);
      }
      if (compression_ == "none") {
        size_t take = std::min(capacity, raw_size_ - raw_pos_);
        std::memcpy(out, raw_.data() + raw_pos_, take);
        raw_pos_ += take;
        return take;
      }
      if (raw_pos_ == raw_size_ && raw_eof_ && stream_ended_) return size_t{0};
      size_t produced = 0;
      if (compression_ == "gzip") {
        if (stream_ended_) {
          // Concatenated gzip members (what `cat a.gz b.gz` makes) continue the stream.
          inflateReset(&zlib_);
          stream_ended_ = false;
        }
        zlib_.next_in = reinterpret_cast<Bytef*>(raw_.data() + raw_pos_);
        zlib_.avail_in = static_cast<uInt>(raw_size_ - raw_pos_);
        zlib_.next_out = reinterpret_cast<Bytef*>(out);
        zlib_.avail_out = static_cast<uInt>(capacity);
        int rc = inflate(&zlib_, Z_NO_FLUSH);
        raw_pos_ = raw_size_ - zlib_.avail_in;
        produced = capacity - zlib_.avail_out;
        if (rc == Z_STREAM_END) {
          stream_ended_ = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
          return Status::InvalidArgument(path_ + ": corrupt gzip data (" +
                                         (zlib_.msg ? zlib_.msg : "zlib error") + ")");
        }
      } else {
        ZSTD_inBuffer in{raw_.data() + raw_pos_, raw_size_ - raw_pos_, 0};
        ZSTD_outBuffer o{out, capacity, 0};
        size_t rc = ZSTD_decompressStream(zstd_.get(), &o, &in);
        if (ZSTD_isError(rc)) {
          return Status::InvalidArgument(path_ + ": corrupt zstd data (" + ZSTD_getErrorName(rc) + ")");
        }
        raw_pos_ += in.pos;
        produced = o.pos;
        stream_ended_ = rc == 0;
      }
      if (produced > 0) return produced;
      if (raw_pos_ == raw_size_ && raw_eof_) {
        if (!stream_ended_) return Status::InvalidArgument(path_ + ": truncated " + compression_ + " stream");
        return size_t{0};
      }
    }
  }

  std::string FinishSha256() { return hasher_.FinishHex(); }
  // After a stream that stopped at `end`: reads the rest of the file through the hash only
  // (the manifest's sha256 is of the whole file as stored).
  Status HashRemainder() {
    if (file_eof_) return Status::OK();
    raw_left_ = INT64_MAX;
    raw_eof_ = false;
    while (!raw_eof_) {
      if (!FillRaw()) return Status::IOError("read error in " + path_);
    }
    raw_pos_ = raw_size_;
    return Status::OK();
  }
  // The file's first bytes as stored (up to 64 KiB).
  std::string_view raw_head() const { return std::string_view(raw_.data(), std::min<size_t>(raw_size_, 64 << 10)); }
  const std::string& compression() const { return compression_; }
  int64_t raw_consumed() const { return raw_total_ - static_cast<int64_t>(raw_size_ - raw_pos_); }

 private:
  bool FillRaw() {
    raw_pos_ = 0;
    const size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(raw_.size()), raw_left_));
    raw_size_ = want == 0 ? 0 : std::fread(raw_.data(), 1, want, file_.get());
    if (std::ferror(file_.get())) return false;
    raw_left_ -= static_cast<int64_t>(raw_size_);
    if (raw_size_ < want) file_eof_ = true;
    if (file_eof_ || raw_left_ == 0) raw_eof_ = true;
    hasher_.Update(raw_.data(), raw_size_);
    raw_total_ += static_cast<int64_t>(raw_size_);
    return true;
  }

  struct ZstdFree {
    void operator()(ZSTD_DStream* s) const { ZSTD_freeDStream(s); }
  };
  std::string path_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_{nullptr, &std::fclose};
  std::vector<char> raw_;
  size_t raw_pos_ = 0, raw_size_ = 0;
  int64_t raw_left_ = INT64_MAX;  // bytes before the stream's `end`
  bool raw_eof_ = false;          // no more raw bytes for this stream
  bool file_eof_ = false;         // the file's end was read
  int64_t raw_total_ = 0;
  Sha256 hasher_;
  std::string compression_;
  z_stream zlib_;
  bool zlib_open_ = false;
  std::unique_ptr<ZSTD_DStream, ZstdFree> zstd_;
  bool stream_ended_ = false;
};

// ---- Formats this pipeline does not read, recognised by their first bytes ----

bool StartsWith(std::string_view bytes, std::string_view magic, size_t at = 0) {
  return bytes.size() >= at + magic.size() && bytes.substr(at, magic.size()) == magic;
}

// Conversion one-liners quoted in the errors (docs/data.md, "Inputs").
constexpr char kToJsonlFromParquet[] =
    "convert it to JSON Lines first, e.g. python3 -c \"import pandas as pd; "
    "pd.read_parquet('IN.parquet').to_json('OUT.jsonl', orient='records', lines=True, force_ascii=False)\"";
constexpr char kToJsonlFromArrow[] =
    "convert it to JSON Lines first, e.g. python3 -c \"from datasets import Dataset; "
    "Dataset.from_file('IN.arrow').to_json('OUT.jsonl')\" (a save_to_disk directory: "
    "datasets.load_from_disk('DIR').to_json('OUT.jsonl'))";

// The format `head` (the first bytes of a file, after gzip/zstd decompression when
// `decompressed`; the raw bytes of a gzip/zstd file when `compressed`) is in, when it is one
// `data build` cannot read; "" otherwise. *hint says how to convert it.
std::string UnreadableFormat(std::string_view head, bool decompressed, bool compressed, std::string* hint) {
  struct Magic {
    std::string_view bytes;
    size_t offset;
    const char* name;
    const char* hint;
  };
  static const Magic kMagics[] = {
      {"PAR1", 0, "Apache Parquet", kToJsonlFromParquet},
      {"ARROW1", 0, "Apache Arrow IPC file", kToJsonlFromArrow},
      {std::string_view("\xff\xff\xff\xff", 4), 0, "Apache Arrow IPC stream (Hugging Face datasets' .arrow)",
       kToJsonlFromArrow},
      {"BZh", 0, "bzip2", "decompress it (bunzip2 -k FILE) or recompress as .zst/.gz"},
      {std::string_view("\xfd" "7zXZ\x00", 6), 0, "xz", "decompress it (xz -dk FILE) or recompress as .zst/.gz"},
      {std::string_view("PK\x03\x04", 4), 0, "zip", "unpack it (unzip FILE) and pass the files inside"},
      {std::string_view("7z\xbc\xaf\x27\x1c", 6), 0, "7-Zip", "unpack it (7z x FILE) and pass the files inside"},
      {std::string_view("\x04\x22\x4d\x18", 4), 0, "LZ4", "decompress it (lz4 -d FILE) or recompress as .zst/.gz"},
      {"ustar", 257, "tar archive", "unpack it (tar xf FILE) and pass the directory"},
      {std::string_view("SQLite format 3\x00", 16), 0, "SQLite database", "export the text as JSON Lines"},
      {"\x93NUMPY", 0, "NumPy array (token ids?)", "`data build` reads text, not token ids"},
      {"%PDF-", 0, "PDF", "extract the text first (e.g. pdftotext FILE)"},
  };
  for (const Magic& m : kMagics) {
    if (StartsWith(head, m.bytes, m.offset)) {
      *hint = m.hint;
      return m.name;
    }
  }
  if (compressed) return "";  // its bytes are not text: the check runs on what it decompresses to
  // Compressed data inside compressed data (a .gz of a .gz) is not unpacked twice.
  if (decompressed && (StartsWith(head, "\x1f\x8b") || StartsWith(head, "\x28\xb5\x2f\xfd"))) {
    *hint = "decompress the outer layer first";
    return "compressed data inside a compressed file";
  }
  // Text (JSON Lines or UTF-8 prose) has no NUL bytes: JSON escapes them, and text tools
  // (git, grep) take a NUL in the first block as the mark of a binary file.
  if (size_t nul = head.find('\0'); nul != std::string_view::npos) {
    *hint = "isoflop reads JSON Lines or plain UTF-8 text (NUL byte at offset " + std::to_string(nul) + ")";
    return "binary data";
  }
  return "";
}

bool LooksLikeJsonl(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    if (name.size() > std::strlen(suffix) && name.ends_with(suffix))
      name.resize(name.size() - std::strlen(suffix));
  }
  return name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json");
}

// Hugging Face `datasets`' save_to_disk writes Arrow files beside dataset_info.json and
// state.json: read as text they would be binary noise and JSON metadata.
Status CheckNotHuggingFaceDirectory(const std::string& dir) {
  std::error_code ec;
  for (const char* marker : {"state.json", "dataset_info.json", "dataset_dict.json"}) {
    if (fs::exists(fs::path(dir) / marker, ec)) {
      return Status::InvalidArgument("input " + dir +
                                     " looks like a Hugging Face `datasets` save_to_disk directory (it has " +
                                     marker + "); `data build` reads JSON Lines or text: " + kToJsonlFromArrow);
    }
  }
  return Status::OK();
}

// JSON Lines has one object per line; a pretty-printed JSON document (an array, or the
// metadata files of other tools) starts with a line holding only "{" or "[".
Status CheckJsonLines(const std::string& path, int64_t line, std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r");
  size_t e = text.find_last_not_of(" \t\r");
  if (b != std::string::npos && b == e && (text[b] == '{' || text[b] == '[')) {
    return Status::InvalidArgument(
        path + ":" + std::to_string(line) +
        ": a JSON document spread over several lines, not JSON Lines (one object per line); convert it, "
        "e.g. jq -c '.[]' FILE > FILE.jsonl (an array) or jq -c . FILE > FILE.jsonl (one object)");
  }
  return Status::OK();
}

// The first 64 KiB of `path` (decompressed when gzip/zstd) must be text, and a JSON Lines
// input's first record a line of its own. Sets *compression.
Status CheckReadable(const std::string& path, bool jsonl, std::string* compression) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::InvalidArgument("input " + path + " is a directory");
  ByteStream stream;
  ISOFLOP_RETURN_IF_ERROR(stream.Open(path));
  *compression = stream.compression();
  const bool compressed = stream.compression() != "none";
  std::string hint;
  std::string format = UnreadableFormat(stream.raw_head(), /*decompressed=*/false, compressed, &hint);
  std::string head(stream.raw_head());
  if (format.empty() && compressed) {
    head.assign(64 << 10, '\0');
    size_t got = 0;
    while (got < head.size()) {
      auto n = stream.Read(head.data() + got, head.size() - got);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      got += *n;
    }
    head.resize(got);
    format = UnreadableFormat(head, /*decompressed=*/true, /*compressed=*/false, &hint);
    if (!format.empty()) format += " inside " + stream.compression();
  }
  if (!format.empty()) {
    return Status::InvalidArgument("input " + path + " is " + format + ", not JSON Lines or text: " + hint);
  }
  if (jsonl) {  // the first non-blank line, when it ends within the head
    size_t start = 0;
    for (int64_t line = 1; start < head.size(); ++line) {
      size_t end = head.find('\n', start);
      if (end == std::string::npos) break;
      std::string_view text(head.data() + start, end - start);
      if (text.find_first_not_of(" \t\r") != std::string_view::npos) return CheckJsonLines(path, line, text);
      start = end + 1;
    }
  }
  return Status::OK();
}

class FileDocumentSource final : public DocumentSource {
 public:
  Status Init(std::vector<InputFileInfo> files, std::vector<InputUnit> units, const InputOptions& options) {
    options_ = options;
    inputs_ = std::move(files);
    units_ = std::move(units);
    for (const InputUnit& u : units_) {
      if (u.file >= inputs_.size()) return Status::Internal("input unit names file " + std::to_string(u.file));
      const int64_t end = u.end < 0 ? inputs_[u.file].bytes : u.end;
      total_ += std::max<int64_t>(0, end - u.begin);
    }
    return Status::OK();
  }

  StatusOr<bool> Next(std::vector<RawRecord>* batch, size_t max_bytes) override {
    size_t buffered = 0;
    const int64_t consumed_at_start = text_bytes_;
    while (buffered < max_bytes && text_bytes_ - consumed_at_start < static_cast<int64_t>(max_bytes)) {
      if (!stream_) {
        if (current_ >= units_.size()) return !batch->empty();
        ISOFLOP_RETURN_IF_ERROR(StartUnit());
      }
      std::string line;
      bool got = false;
      int64_t oversized = 0;
      ISOFLOP_RETURN_IF_ERROR(ReadLine(&line, &got, &oversized));
      if (!got) {
        EmitBlock(batch, &buffered);  // the last text block or whole-file document
        ISOFLOP_RETURN_IF_ERROR(FinishUnit());
        continue;
      }
      ++line_;
      if (is_json_) {
        if (oversized > 0) {
          batch->push_back(RawRecord{file_, line_, true, {}, oversized, unit_index()});
          continue;
        }
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines are not records
        if (!saw_record_) {  // (checked at open too, when the line fits in the first 64 KiB)
          saw_record_ = true;
          if (unit_begin_ == 0) ISOFLOP_RETURN_IF_ERROR(CheckJsonLines(inputs_[file_].path, line_, line));
        }
        buffered += line.size();
        batch->push_back(RawRecord{file_, line_, true, std::move(line), 0, unit_index()});
      } else if (options_.text_unit == "paragraph" && oversized == 0 &&
                 line.find_first_not_of(" \t\r") == std::string::npos) {
        EmitBlock(batch, &buffered);
        block_line_ = line_ + 1;
      } else {
        if (block_.empty() && block_oversized_ == 0) block_line_ = line_;
        const int64_t length = oversized > 0 ? oversized : static_cast<int64_t>(line.size());
        if (block_oversized_ > 0 ||
            static_cast<int64_t>(block_.size()) + length + 1 > options_.max_record_bytes) {
          // Too long to keep: count its bytes, keep none of them.
          block_oversized_ += (block_oversized_ == 0 ? static_cast<int64_t>(block_.size()) : 0) + length + 1;
          block_.clear();
          block_.shrink_to_fit();
        } else {
          block_ += line;
          block_ += '\n';
        }
      }
    }
    return true;
  }

  std::string Where(const RawRecord& record) override {
    const InputUnit& unit = units_[record.unit];
    int64_t base = 0;
    if (unit.begin > 0) {
      std::lock_guard<std::mutex> lock(line_base_mu_);
      if (line_base_.empty()) line_base_.assign(units_.size(), -1);
      if (line_base_[record.unit] < 0) {
        const InputFileInfo& info = inputs_[unit.file];
        auto lines = CountLines(info.open_path.empty() ? info.path : info.open_path, unit.begin);
        line_base_[record.unit] = lines.ok() ? *lines : 0;
      }
      base = line_base_[record.unit];
    }
    return inputs_[record.input_index].path + ":" + std::to_string(base + record.line);
  }

  const std::vector<InputFileInfo>& inputs() const override { return inputs_; }
  int64_t raw_bytes_read() const override { return raw_done_ + (stream_ ? stream_->raw_consumed() : 0); }
  int64_t raw_bytes_total() const override { return total_; }
  int64_t text_bytes_read() const override { return text_bytes_; }

 private:
  Status StartUnit() {
    const InputUnit& unit = units_[current_];
    file_ = unit.file;
    unit_begin_ = unit.begin;
    const InputFileInfo& info = inputs_[file_];
    stream_ = std::make_unique<ByteStream>();
    ISOFLOP_RETURN_IF_ERROR(stream_->Open(info.open_path.empty() ? info.path : info.open_path, unit.begin, unit.end));
    if (unit.begin == 0) inputs_[file_].compression = stream_->compression();
    const std::string& mode = options_.format;
    is_json_ = mode == "jsonl" || (mode == "auto" && LooksLikeJsonl(info.path));
    line_ = 0;  // counted from the unit's start (Where() adds the lines before it)
    block_.clear();
    block_oversized_ = 0;
    saw_record_ = false;
    block_line_ = line_ + 1;
    pending_.clear();
    pending_pos_ = 0;
    eof_ = false;
    return Status::OK();
  }

  Status FinishUnit() {
    const InputUnit& unit = units_[current_];
    raw_done_ += stream_->raw_consumed();
    if (unit.begin == 0) {  // the unit holding a file's start hashes all of it
      if (unit.end >= 0) ISOFLOP_RETURN_IF_ERROR(stream_->HashRemainder());
      inputs_[file_].sha256 = stream_->FinishSha256();
    }
    stream_.reset();
    ++current_;
    return Status::OK();
  }

  static StatusOr<int64_t> CountLines(const std::string& path, int64_t bytes) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return Status::InvalidArgument("cannot open input " + path + ": " + std::strerror(errno));
    std::vector<char> buffer(1 << 20);
    int64_t lines = 0, left = bytes;
    while (left > 0) {
      size_t got = std::fread(buffer.data(), 1, static_cast<size_t>(std::min<int64_t>(left, buffer.size())), f.get());
      if (got == 0) return Status::IOError("read error in " + path);
      lines += std::count(buffer.data(), buffer.data() + got, '\n');
      left -= static_cast<int64_t>(got);
    }
    return lines;
  }

  void EmitBlock(std::vector<RawRecord>* batch, size_t* buffered) {
    if (block_oversized_ > 0) {
      batch->push_back(RawRecord{file_, block_line_, false, {}, block_oversized_, unit_index()});
      block_oversized_ = 0;
      return;
    }
    if (block_.find_first_not_of(" \t\r\n") == std::string::npos) {
      block_.clear();
      return;
    }
    *buffered += block_.size();
    batch->push_back(RawRecord{file_, block_line_, false, std::move(block_), 0, unit_index()});
    block_.clear();
  }

  // The next line (without its newline). A line longer than max_record_bytes is not kept:
  // *oversized gets its length and *line stays empty, so memory stays bounded.
  Status ReadLine(std::string* line, bool* got, int64_t* oversized) {
    line->clear();
    *got = false;
    *oversized = 0;
    const size_t cap = static_cast<size_t>(options_.max_record_bytes);
    while (true) {
      if (pending_pos_ == pending_.size()) {
        if (eof_) return Status::OK();
        pending_.resize(1 << 20);
        auto n = stream_->Read(pending_.data(), pending_.size());
        if (!n.ok()) return n.status();
        pending_.resize(*n);
        pending_pos_ = 0;
        text_bytes_ += static_cast<int64_t>(*n);
        if (*n == 0) {
          eof_ = true;
          return Status::OK();
        }
      }
      const char* begin = pending_.data() + pending_pos_;
      const void* newline = std::memchr(begin, '\n', pending_.size() - pending_pos_);
      size_t take = newline ? static_cast<const char*>(newline) - begin : pending_.size() - pending_pos_;
      if (*oversized > 0) {
        *oversized += static_cast<int64_t>(take);
      } else if (line->size() + take > cap) {
        *oversized = static_cast<int64_t>(line->size() + take);
        line->clear();
        line->shrink_to_fit();
      } else {
        line->append(begin, take);
      }
      *got = true;
      pending_pos_ += take;
      if (newline) {
        ++pending_pos_;
        return Status::OK();
      }
    }
  }

  InputOptions options_;
  std::vector<InputFileInfo> inputs_;
  std::vector<InputUnit> units_;
  int64_t total_ = 0, raw_done_ = 0, text_bytes_ = 0;
  size_t current_ = 0;  // into units_
  uint32_t file_ = 0;   // the current unit's file
  std::mutex line_base_mu_;
  std::vector<int64_t> line_base_;  // per unit: lines of its file before it (-1: not counted yet)
  uint32_t unit_index() const { return static_cast<uint32_t>(current_); }
  int64_t unit_begin_ = 0;
  std::unique_ptr<ByteStream> stream_;
  bool is_json_ = false;
  int64_t line_ = 0, block_line_ = 1;
  std::string block_;
  int64_t block_oversized_ = 0;  // > 0: the current text block passed max_record_bytes
  bool saw_record_ = false;      // a non-blank JSONL line of the current unit was seen
  std::vector<char> pending_;
  size_t pending_pos_ = 0;
  bool eof_ = false;
};

}  // namespace

bool IsJsonlInput(const std::string& path, const InputOptions& options) {
  return options.format == "jsonl" || (options.format == "auto" && LooksLikeJsonl(path));
}

StatusOr<std::vector<InputFileInfo>> ExpandInputs(const std::vector<std::string>& paths,
                                                  const InputOptions& options) {
  if (paths.empty()) return Status::InvalidArgument("no --input given");
  std::vector<InputFileInfo> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return Status::InvalidArgument("input " + path + " does not exist");
    std::vector<std::string> found;
    if (fs::is_directory(path, ec)) {
      ISOFLOP_RETURN_IF_ERROR(CheckNotHuggingFaceDirectory(path));
      for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
        if (entry.is_regular_file()) found.push_back(entry.path().string());
      }
      if (ec) return Status::InvalidArgument("input directory " + path + " cannot be listed: " + ec.message());
      std::sort(found.begin(), found.end());
      if (found.empty()) return Status::InvalidArgument("input directory " + path + " holds no files");
    } else {
      found.push_back(path);
    }
    for (const std::string& f : found) {
      InputFileInfo info;
      info.path = f;
      info.bytes = static_cast<int64_t>(fs::file_size(f, ec));
      if (ec) return Status::InvalidArgument("input " + f + " cannot be read: " + ec.message());
      ISOFLOP_RETURN_IF_ERROR(CheckReadable(f, IsJsonlInput(f, options), &info.compression));
      files.push_back(std::move(info));
    }
  }
  return files;
}

StatusOr<std::unique_ptr<DocumentSource>> DocumentSource::Open(std::vector<InputFileInfo> files,
                                                               std::vector<InputUnit> units,
                                                               const InputOptions& options) {
  auto source = std::make_unique<FileDocumentSource>();
  ISOFLOP_RETURN_IF_ERROR(source->Init(std::move(files), std::move(units), options));
  return std::unique_ptr<DocumentSource>(std::move(source));
}

StatusOr<std::unique_ptr<DocumentSource>> DocumentSource::Open(const std::vector<std::string>& paths,
                                                               const InputOptions& options) {
  auto files = ExpandInputs(paths, options);
  if (!files.ok()) return files.status();
  std::vector<InputUnit> units;
  for (uint32_t f = 0; f < files->size(); ++f) units.push_back({f, 0, -1});
  return Open(std::move(*files), std::move(units), options);
}

// ---- ParseSimpleJsonRecord (data_pipeline.h) ----

namespace {

bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at s[i] (RFC 3629 §4, what nlohmann's lexer accepts),
// or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  const size_t n = s.size() - i;
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3) return 0;
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4) return 0;
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

// Four hex digits at s[i..i+4), or -1.
int32_t Hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    int d = HexDigit(s[i + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Index of the next byte a JSON string cannot copy verbatim ('"', '\\', a control
// character or a non-ASCII byte) at or after i, or s.size().
size_t NextSpecial(std::string_view s, size_t i) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    // Signed compare: non-ASCII bytes are negative, so "< 0x20" catches them too.
    __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                   _mm_cmplt_epi8(v, space));
    int mask = _mm_movemask_epi8(special);
    if (mask != 0) return i + static_cast<size_t>(std::countr_zero(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return i;
  }
  return s.size();
}

// Decodes the JSON string whose opening quote is at s[*pos - 1]; appends it to *out and
// leaves *pos after the closing quote. False on anything nlohmann's lexer rejects.
bool DecodeJsonString(std::string_view s, size_t* pos, std::string* out) {
  size_t i = *pos;
  while (true) {
    size_t special = NextSpecial(s, i);
    out->append(s.data() + i, special - i);
    i = special;
    if (i >= s.size()) return false;  // unterminated
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      *pos = i + 1;
      return true;
    }
    if (c >= 0x80) {
      size_t length = Utf8Length(s, i);
      if (length == 0) return false;
      out->append(s.data() + i, length);
      i += length;
      continue;
    }
    if (c != '\\') return false;  // control character
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '/':
        out->push_back('/');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        int32_t cp = Hex4(s, i + 1);
        if (cp < 0) return false;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // high surrogate: a low one must follow
          if (i + 2 >= s.size() || s[i + 1] != '\\' || s[i + 2] != 'u') return false;
          int32_t low = Hex4(s, i + 3);
          if (low < 0xDC00 || low > 0xDFFF) return false;
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;  // lone low surrogate
        }
        AppendUtf8(static_cast<uint32_t>(cp), out);
        break;
      }
      default:
        return false;
    }
    ++i;
  }
}

}  // namespace

bool ParseSimpleJsonRecord(std::string_view line, std::string_view text_field, std::string_view id_field,
                           std::string* text, std::string* id, bool* has_id) {
  thread_local std::string key, scratch;
  bool has_text = false;
  *has_id = false;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && IsJsonSpace(line[i])) ++i;
  };
  skip_space();
  if (i >= line.size() || line[i] != '{') return false;
  ++i;
  skip_space();
  if (i < line.size() && line[i] == '}') return false;  // {}: no text field (nlohmann reports it)
  while (true) {
    if (i >= line.size() || line[i] != '"') return false;
    ++i;
    key.clear();
    if (!DecodeJsonString(line, &i, &key)) return false;
    skip_space();
    if (i >= line.size() || line[i] != ':') return false;
    ++i;
    skip_space();
    if (i >= line.size() || line[i] != '"') return false;  // not a string value
    ++i;
    const bool is_text = key == text_field, is_id = key == id_field;
    std::string* target = is_text ? text : is_id ? id : &scratch;
    target->clear();
    if (!DecodeJsonString(line, &i, target)) return false;
    if (is_text) {
      has_text = true;
      if (is_id) *id = *text;  // the same field names both
    }
    if (is_id) *has_id = true;
    skip_space();
    if (i < line.size() && line[i] == ',') {
      ++i;
      skip_space();
      continue;
    }
    if (i < line.size() && line[i] == '}') {
      ++i;
      break;
    }
    return false;
  }
  skip_space();
  return i == line.size() && has_text;
}

}  // namespace isoflop::data
