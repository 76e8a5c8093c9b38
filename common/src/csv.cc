#include "isoflop/csv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "isoflop/file_util.h"

namespace isoflop {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

}  // namespace

std::string TrimAscii(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (IsSpace(s[b]) || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (IsSpace(s[e - 1]) || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

int CsvTable::ColumnIndex(std::string_view name) const {
  const std::string want = LowerAscii(TrimAscii(name));
  for (size_t i = 0; i < header.size(); ++i) {
    if (LowerAscii(header[i]) == want) return static_cast<int>(i);
  }
  return -1;
}

std::string CsvTable::HeaderList() const {
  std::string out;
  for (size_t i = 0; i < header.size(); ++i) out += (i ? ", " : "") + header[i];
  return out;
}

std::string CsvTable::Where(int line, int column) const {
  std::string out = source + ":" + std::to_string(line) + ":" + std::to_string(column + 1);
  if (column >= 0 && column < static_cast<int>(header.size())) out += " (column '" + header[column] + "')";
  return out;
}

// The bytes a reader parses: a file read 1 MiB at a time, or text already in memory.
struct CsvReader::Input {
  std::string source;
  int fd = -1;
  std::vector<char> buffer;
  const char* data = nullptr;
  size_t size = 0, pos = 0;
  int64_t base = 0;   // bytes consumed before `data`
  int64_t total = 0;  // the file's (text's) size
  int line = 1;
  Status error;

  ~Input() {
    if (fd >= 0) ::close(fd);
  }
  int64_t Consumed() const { return base + static_cast<int64_t>(pos); }
  // The next byte, or -1 at the end (or on a read error, kept in `error`).
  int Peek() {
    if (pos == size && !Refill()) return -1;
    return static_cast<unsigned char>(data[pos]);
  }
  void Advance() { ++pos; }
  bool Refill() {
    if (fd < 0) return false;
    base += static_cast<int64_t>(size);
    pos = size = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = Status::IOError(source + ": read failed: " + std::strerror(errno));
        return false;
      }
      size = static_cast<size_t>(n);
      data = buffer.data();
      return n > 0;
    }
  }
};

CsvReader::CsvReader() : in_(std::make_unique<Input>()) {}
CsvReader::CsvReader(CsvReader&&) noexcept = default;
CsvReader& CsvReader::operator=(CsvReader&&) noexcept = default;
CsvReader::~CsvReader() = default;

int64_t CsvReader::bytes_read() const {
  return in_->Consumed();
}
int64_t CsvReader::bytes_total() const {
  return in_->total;
}

StatusOr<CsvReader> CsvReader::Open(const std::string& path, const CsvReadOptions& options) {
  ISOFLOP_RETURN_IF_ERROR(CheckRegularFile(path));
  CsvReader reader;
  reader.options_ = options;
  reader.table_.source = path;
  Input& in = *reader.in_;
  in.source = path;
  in.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) return Status::InvalidArgument(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(in.fd, &st) == 0) in.total = static_cast<int64_t>(st.st_size);
  in.buffer.resize(1 << 20);
  ISOFLOP_RETURN_IF_ERROR(reader.ReadHeader());
  return reader;
}

StatusOr<CsvReader> CsvReader::FromText(std::string_view text, const std::string& source,
                                        const CsvReadOptions& options) {
  CsvReader reader;
  reader.options_ = options;
  reader.table_.source = source;
  Input& in = *reader.in_;
  in.source = source;
  in.data = text.data();
  in.size = text.size();
  in.total = static_cast<int64_t>(text.size());
  ISOFLOP_RETURN_IF_ERROR(reader.ReadHeader());
  return reader;
}

// One record: fields separated by commas, ended by LF, CRLF or the end of the input. False when the
// input ended before it; *blank when it holds nothing but whitespace.
StatusOr<bool> CsvReader::ReadRecord(CsvRecord* record, bool* blank) {
  Input& in = *in_;
  const std::string& source = table_.source;
  record->fields.clear();
  *blank = true;
  if (in.Peek() < 0) {
    if (!in.error.ok()) return in.error;
    return false;
  }
  record->line = in.line;
  const int64_t start = in.Consumed();
  const int64_t limit = options_.max_record_bytes;
  auto too_long = [&](int quote_line) {
    std::string msg = source + ":" + std::to_string(record->line) + ": a record longer than " +
                      std::to_string(limit) + " bytes (a row of runs is ~100 bytes";
    if (quote_line > 0) {
      msg += "; a quoted field opens at line " + std::to_string(quote_line) + " and runs on: a missing '\"'?";
    } else {
      msg += ": is this a CSV file?";
    }
    return Status::InvalidArgument(msg + ")");
  };
  std::string field;
  for (;;) {
    field.clear();
    while (in.Peek() >= 0 && IsSpace(static_cast<char>(in.Peek()))) in.Advance();
    if (in.Peek() == '"') {
      *blank = false;
      const int quote_line = in.line;
      in.Advance();
      for (;;) {
        const int c = in.Peek();
        if (c < 0) {
          if (!in.error.ok()) return in.error;
          return Status::InvalidArgument(source + ":" + std::to_string(quote_line) + ":" +
                                         std::to_string(record->fields.size() + 1) +
                                         ": unterminated quoted field (a '\"' opens it and none closes it)");
        }
        in.Advance();
        if (in.Consumed() - start > limit) return too_long(quote_line);
        if (c == '"') {
          if (in.Peek() == '"') {
            field.push_back('"');
            in.Advance();
            continue;
          }
          break;
        }
        if (c == '\n') ++in.line;
        field.push_back(static_cast<char>(c));
      }
      while (in.Peek() >= 0 && IsSpace(static_cast<char>(in.Peek()))) in.Advance();
      const int next = in.Peek();
      if (next >= 0 && next != ',' && next != '\n' && next != '\r') {
        return Status::InvalidArgument(
            source + ":" + std::to_string(in.line) + ":" + std::to_string(record->fields.size() + 1) +
            ": text after a closing quote (write a quote inside a quoted field as \"\")");
      }
    } else {
      for (int c = in.Peek(); c >= 0 && c != ',' && c != '\n'; c = in.Peek()) {
        field.push_back(static_cast<char>(c));
        in.Advance();
        if (in.Consumed() - start > limit) return too_long(0);
      }
      field = TrimAscii(field);
      if (!field.empty()) *blank = false;
    }
    record->fields.push_back(std::move(field));
    field = {};
    if (in.Peek() == ',') {
      *blank = false;
      in.Advance();
      continue;
    }
    // End of record: CR (of CRLF), LF, or the end of the input.
    if (in.Peek() == '\r') in.Advance();
    if (in.Peek() == '\n') {
      in.Advance();
      ++in.line;
    }
    break;
  }
  if (!in.error.ok()) return in.error;
  return true;
}

Status CsvReader::ReadHeader() {
  Input& in = *in_;
  // A UTF-8 byte order mark before the header.
  if (in.Peek() == 0xEF && in.size - in.pos >= 3 && std::string_view(in.data + in.pos, 3) == "\xEF\xBB\xBF")
    in.pos += 3;
  CsvRecord record;
  bool blank = true;
  for (;;) {
    auto got = ReadRecord(&record, &blank);
    if (!got.ok()) return got.status();
    if (!*got) return Status::InvalidArgument(table_.source + ": empty file (a header row is required)");
    if (!blank) break;
  }
  table_.header_line = record.line;
  table_.header = std::move(record.fields);
  for (size_t a = 0; a < table_.header.size(); ++a) {
    if (table_.header[a].empty()) continue;
    for (size_t b = 0; b < a; ++b) {
      if (LowerAscii(table_.header[a]) == LowerAscii(table_.header[b])) {
        return Status::InvalidArgument(table_.source + ":" + std::to_string(record.line) + ": column '" +
                                       table_.header[a] + "' appears twice (columns " +
                                       std::to_string(b + 1) + " and " + std::to_string(a + 1) +
                                       "); rename or remove one");
      }
    }
  }
  return Status::OK();
}

StatusOr<bool> CsvReader::Next(CsvRecord* record) {
  bool blank = true;
  for (;;) {
    auto got = ReadRecord(record, &blank);
    if (!got.ok() || !*got) return got;
    if (!blank) return true;
  }
}

namespace {

StatusOr<CsvTable> ReadAll(StatusOr<CsvReader> reader) {
  if (!reader.ok()) return reader.status();
  CsvTable table = reader->table();
  CsvRecord record;
  for (;;) {
    auto got = reader->Next(&record);
    if (!got.ok()) return got.status();
    if (!*got) break;
    table.rows.push_back(std::move(record));
    record = {};
  }
  return table;
}

}  // namespace

StatusOr<CsvTable> ParseCsv(std::string_view text, const std::string& source) {
  // Text already in memory is not re-read a record at a time from a file: no record limit.
  return ReadAll(CsvReader::FromText(text, source, CsvReadOptions{INT64_MAX}));
}

StatusOr<CsvTable> ReadCsvFile(const std::string& path) {
  return ReadAll(CsvReader::Open(path));
}

}  // namespace isoflop
