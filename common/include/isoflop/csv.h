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

// Parses CSV text. kInvalidArgument on an unterminated quoted field, text after a closing quote,
// an empty input (no header) or a duplicated column name.
StatusOr<CsvTable> ParseCsv(std::string_view text, const std::string& source);

// Reads and parses a file. kNotFound when it does not exist, kInvalidArgument when it is a
// directory or does not parse (file_util.h).
StatusOr<CsvTable> ReadCsvFile(const std::string& path);

// Helpers for field values.
std::string TrimAscii(std::string_view s);
std::string LowerAscii(std::string_view s);

}  // namespace isoflop

#endif  // ISOFLOP_CSV_H_
