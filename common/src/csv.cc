#include "isoflop/csv.h"

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

StatusOr<CsvTable> ParseCsv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  size_t i = 0;
  int line = 1;
  bool have_header = false;
  std::vector<std::string> fields;
  std::string field;
  while (i < text.size()) {
    // One record: fields separated by commas, ended by LF, CRLF or the end of the text.
    const int record_line = line;
    fields.clear();
    bool blank = true;
    for (;;) {
      field.clear();
      while (i < text.size() && IsSpace(text[i])) ++i;
      if (i < text.size() && text[i] == '"') {
        blank = false;
        const int quote_line = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            return Status::InvalidArgument(
                source + ":" + std::to_string(quote_line) + ":" + std::to_string(fields.size() + 1) +
                ": unterminated quoted field (a '\"' opens it and none closes it)");
          }
          const char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field.push_back('"');
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
        }
        while (i < text.size() && IsSpace(text[i])) ++i;
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return Status::InvalidArgument(
              source + ":" + std::to_string(line) + ":" + std::to_string(fields.size() + 1) +
              ": text after a closing quote (write a quote inside a quoted field as \"\")");
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n') field.push_back(text[i++]);
        field = TrimAscii(field);
        if (!field.empty()) blank = false;
      }
      fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        blank = false;
        ++i;
        continue;
      }
      // End of record: CR (of CRLF), LF, or the end of the text.
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    if (blank) continue;
    if (!have_header) {
      have_header = true;
      table.header_line = record_line;
      table.header = std::move(fields);
      fields = {};
      for (size_t a = 0; a < table.header.size(); ++a) {
        if (table.header[a].empty()) continue;
        for (size_t b = 0; b < a; ++b) {
          if (LowerAscii(table.header[a]) == LowerAscii(table.header[b])) {
            return Status::InvalidArgument(source + ":" + std::to_string(record_line) + ": column '" +
                                           table.header[a] + "' appears twice (columns " +
                                           std::to_string(b + 1) + " and " + std::to_string(a + 1) +
                                           "); rename or remove one");
          }
        }
      }
      continue;
    }
    table.rows.push_back(CsvRecord{record_line, std::move(fields)});
    fields = {};
  }
  if (!have_header) return Status::InvalidArgument(source + ": empty file (a header row is required)");
  return table;
}

StatusOr<CsvTable> ReadCsvFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseCsv(*text, path);
}

}  // namespace isoflop
