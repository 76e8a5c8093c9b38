// The one CSV reader of the project (issue 15), used by the fitter, the report, the planner and
// the orchestrator. RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180, section 2): records end in
// CRLF or LF; a field in double quotes may hold commas, line breaks and doubled quotes (""); plus
// what real exports carry: a UTF-8 byte order mark before the header, blank lines (skipped), and
// whitespace around a field (trimmed, outside the quotes only).
//
// The first non-blank record is the header. A column name that occurs twice (compared trimmed and
// case-insensitively, as every reader looks columns up) is an error: which of the two would a
// reader use? Errors name the source, the line, and the column.
#ifndef ISOFLOP_CSV_H_
#define ISOFLOP_CSV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "isoflop/status.h"

namespace isoflop {

struct CsvRecord {
  int line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string source;               // file name for messages
  int header_line = 0;              // line of the header record
  std::vector<std::string> header;  // column names, trimmed, as written
  std::vector<CsvRecord> rows;      // data records in file order (blank lines skipped)

  // Index of a column (trimmed, case-insensitive), or -1.
  int ColumnIndex(std::string_view name) const;
  // "a, b, c": the header for messages.
  std::string HeaderList() const;
  // "SOURCE:LINE:COLUMN (column 'NAME')" for a message about one field (column is 0-based).
  std::string Where(int line, int column) const;
};

struct CsvReadOptions {
  // A record (all its fields and separators) longer than this is refused, naming its line: a row of
  // runs is ~100 bytes, so a longer one is an unterminated quote or not a CSV file. Memory holds one
  // record, so this also bounds what one hostile line costs (issue 15, finding 12).
  int64_t max_record_bytes = 1 << 20;
};

// Streams a CSV file (or text) record by record: memory holds the header, one record and a 1 MiB
// read buffer, whatever the file's size (issue 15, finding 12: a 100 MB file was held as text and
// as rows at once). ParseCsv and ReadCsvFile below are this reader collecting every row.
class CsvReader {
 public:
  // Opens a file and reads its header. kNotFound when it does not exist, kInvalidArgument when it
  // is a directory (file_util.h), has no header, or the header does not parse.
  static StatusOr<CsvReader> Open(const std::string& path, const CsvReadOptions& options = {});
  // Reads text already in memory; `text` must outlive the reader.
  static StatusOr<CsvReader> FromText(std::string_view text, const std::string& source,
                                      const CsvReadOptions& options = {});
  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;
  ~CsvReader();

  // The header (source, header_line, header; rows stay empty).
  const CsvTable& table() const { return table_; }
  // The next data record (blank lines skipped): true with *record filled, false at the end.
  // kInvalidArgument on an unterminated quoted field, text after a closing quote, or a record
  // longer than max_record_bytes, naming SOURCE:LINE:COLUMN.
  StatusOr<bool> Next(CsvRecord* record);
  int64_t bytes_read() const;   // bytes consumed so far
  int64_t bytes_total() const;  // the file's size (the text's for FromText)

 private:
  struct Input;
  CsvReader();
  StatusOr<bool> ReadRecord(CsvRecord* record, bool* blank);
  Status ReadHeader();
  CsvTable table_;
  CsvReadOptions options_;
  std::unique_ptr<Input> in_;
};

// Parses CSV text. kInvalidArgument on an unterminated quoted field, text after a closing quote,
// an empty input (no header) or a duplicated column name.
StatusOr<CsvTable> ParseCsv(std::string_view text, const std::string& source);

// Reads and parses a file whole (CsvReader, every row kept: for small files such as a planner's
// validation table). kNotFound when it does not exist, kInvalidArgument when it is a directory or
// does not parse (file_util.h).
StatusOr<CsvTable> ReadCsvFile(const std::string& path);

// Helpers for field values.
std::string TrimAscii(std::string_view s);
std::string LowerAscii(std::string_view s);

}  // namespace isoflop

#endif  // ISOFLOP_CSV_H_
