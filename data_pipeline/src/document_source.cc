#include "document_source.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "sha256.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

// Raw file → decompressed bytes, hashing the raw bytes on the way.
class ByteStream {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) return Status::InvalidArgument("cannot open input " + path + ": " + std::strerror(errno));
    raw_.resize(1 << 20);
    if (!FillRaw()) return Status::IOError("read error in " + path);
    if (raw_size_ >= 2 && static_cast<uint8_t>(raw_[0]) == 0x1f && static_cast<uint8_t>(raw_[1]) == 0x8b) {
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
  const std::string& compression() const { return compression_; }
  int64_t raw_consumed() const { return raw_total_ - static_cast<int64_t>(raw_size_ - raw_pos_); }

 private:
  bool FillRaw() {
    raw_pos_ = 0;
    raw_size_ = std::fread(raw_.data(), 1, raw_.size(), file_.get());
    if (std::ferror(file_.get())) return false;
    if (raw_size_ < raw_.size()) raw_eof_ = true;
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
  bool raw_eof_ = false;
  int64_t raw_total_ = 0;
  Sha256 hasher_;
  std::string compression_;
  z_stream zlib_;
  bool zlib_open_ = false;
  std::unique_ptr<ZSTD_DStream, ZstdFree> zstd_;
  bool stream_ended_ = false;
};

bool LooksLikeJsonl(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    if (name.size() > std::strlen(suffix) && name.ends_with(suffix))
      name.resize(name.size() - std::strlen(suffix));
  }
  return name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json");
}

class FileDocumentSource final : public DocumentSource {
 public:
  Status Init(const std::vector<std::string>& paths, const InputOptions& options) {
    options_ = options;
    if (paths.empty()) return Status::InvalidArgument("no --input given");
    for (const std::string& path : paths) {
      std::error_code ec;
      if (!fs::exists(path, ec)) return Status::InvalidArgument("input " + path + " does not exist");
      if (fs::is_directory(path, ec)) {
        std::vector<std::string> found;
        for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
          if (entry.is_regular_file()) found.push_back(entry.path().string());
        }
        std::sort(found.begin(), found.end());
        if (found.empty()) return Status::InvalidArgument("input directory " + path + " holds no files");
        for (auto& f : found) AddFile(f);
      } else {
        AddFile(path);
      }
    }
    for (const auto& info : inputs_) total_ += info.bytes;
    return Status::OK();
  }

  StatusOr<bool> Next(std::vector<RawRecord>* batch, size_t max_bytes) override {
    size_t buffered = 0;
    while (buffered < max_bytes) {
      if (!stream_) {
        if (current_ >= inputs_.size()) return !batch->empty();
        stream_ = std::make_unique<ByteStream>();
        ISOFLOP_RETURN_IF_ERROR(stream_->Open(inputs_[current_].path));
        inputs_[current_].compression = stream_->compression();
        const std::string& mode = options_.format;
        is_json_ = mode == "jsonl" || (mode == "auto" && LooksLikeJsonl(inputs_[current_].path));
        line_ = 0;
        block_.clear();
        block_line_ = 1;
        pending_.clear();
        pending_pos_ = 0;
        eof_ = false;
      }
      std::string line;
      bool got = false;
      ISOFLOP_RETURN_IF_ERROR(ReadLine(&line, &got));
      if (!got) {
        EmitBlock(batch, &buffered);  // the last text block or whole-file document
        raw_done_ += stream_->raw_consumed();
        inputs_[current_].sha256 = stream_->FinishSha256();
        stream_.reset();
        ++current_;
        continue;
      }
      ++line_;
      if (is_json_) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines are not records
        buffered += line.size();
        batch->push_back(RawRecord{static_cast<uint32_t>(current_), line_, true, std::move(line)});
      } else if (options_.text_unit == "paragraph" && line.find_first_not_of(" \t\r") == std::string::npos) {
        EmitBlock(batch, &buffered);
        block_line_ = line_ + 1;
      } else {
        if (block_.empty()) block_line_ = line_;
        block_ += line;
        block_ += '\n';
      }
    }
    return true;
  }

  const std::vector<InputFileInfo>& inputs() const override { return inputs_; }
  int64_t raw_bytes_read() const override { return raw_done_ + (stream_ ? stream_->raw_consumed() : 0); }
  int64_t raw_bytes_total() const override { return total_; }
  int64_t text_bytes_read() const override { return text_bytes_; }

 private:
  void AddFile(const std::string& path) {
    std::error_code ec;
    InputFileInfo info;
    info.path = path;
    info.bytes = static_cast<int64_t>(fs::file_size(path, ec));
    inputs_.push_back(info);
  }

  void EmitBlock(std::vector<RawRecord>* batch, size_t* buffered) {
    if (block_.find_first_not_of(" \t\r\n") == std::string::npos) {
      block_.clear();
      return;
    }
    *buffered += block_.size();
    batch->push_back(RawRecord{static_cast<uint32_t>(current_), block_line_, false, std::move(block_)});
    block_.clear();
  }

  Status ReadLine(std::string* line, bool* got) {
    line->clear();
    *got = false;
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
      line->append(begin, take);
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
  int64_t total_ = 0, raw_done_ = 0, text_bytes_ = 0;
  size_t current_ = 0;
  std::unique_ptr<ByteStream> stream_;
  bool is_json_ = false;
  int64_t line_ = 0, block_line_ = 1;
  std::string block_;
  std::vector<char> pending_;
  size_t pending_pos_ = 0;
  bool eof_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<DocumentSource>> DocumentSource::Open(const std::vector<std::string>& paths,
                                                               const InputOptions& options) {
  auto source = std::make_unique<FileDocumentSource>();
  ISOFLOP_RETURN_IF_ERROR(source->Init(paths, options));
  return std::unique_ptr<DocumentSource>(std::move(source));
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

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
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
