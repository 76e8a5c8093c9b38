// Reading runs (and start grids) from CSV files with a header row, through the project's one CSV
// reader (common/include/isoflop/csv.h: RFC 4180 quotes, CRLF, BOM, duplicate columns refused).
// Every error names file:line:column.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "internal.h"
#include "isoflop/csv.h"
#include "isoflop/fitter.h"

namespace isoflop {
namespace {

std::string Trim(const std::string& s) {
  return TrimAscii(s);
}
std::string Lower(const std::string& s) {
  return LowerAscii(s);
}

// Parses a positive finite double; the error names file:line:column.
Status ParsePositive(const std::string& path, int line, int column, const std::string& name,
                     const std::string& raw, double* out) {
  const std::string text = Trim(raw);
  const std::string where =
      path + ":" + std::to_string(line) + ":" + std::to_string(column + 1) + " (column '" + name + "')";
  if (text.empty()) return Status::InvalidArgument(where + ": empty value");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size())
    return Status::InvalidArgument(where + ": '" + text + "' is not a number");
  if (!std::isfinite(v) || (errno == ERANGE && std::fabs(v) > 1))
    return Status::InvalidArgument(where + ": '" + text + "' is not finite");
  if (!(v > 0)) return Status::InvalidArgument(where + ": '" + text + "' must be positive");
  *out = v;
  return Status::OK();
}

Status ParseAny(const std::string& path, int line, int column, const std::string& name,
                const std::string& raw, double* out) {
  const std::string text = Trim(raw);
  const std::string where =
      path + ":" + std::to_string(line) + ":" + std::to_string(column + 1) + " (column '" + name + "')";
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    return Status::InvalidArgument(where + ": '" + text + "' is not a number");
  if (!std::isfinite(v)) return Status::InvalidArgument(where + ": '" + text + "' is not finite");
  *out = v;
  return Status::OK();
}

// LoadRunsCsv reports progress every this many records.
constexpr int64_t kProgressEveryRecords = 100000;

const char* const kCanonical[] = {"params", "tokens", "loss", "flops", "unique_tokens", "run_id"};

}  // namespace

Status CsvOptions::ParseColumns(const std::string& spec) {
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (Trim(item).empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      return Status::InvalidArgument("--columns: '" + item + "' is not canonical=header (e.g. params=N)");
    const std::string key = Lower(Trim(item.substr(0, eq)));
    const std::string value = Trim(item.substr(eq + 1));
    bool known = false;
    for (const char* c : kCanonical) known = known || key == c;
    if (!known)
      return Status::InvalidArgument("--columns: '" + key +
                                     "' is not one of params, tokens, loss, flops, unique_tokens, run_id");
    if (value.empty()) return Status::InvalidArgument("--columns: empty header name for '" + key + "'");
    columns.emplace_back(key, value);
  }
  return Status::OK();
}

Status CsvOptions::ParseWhere(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || Trim(spec.substr(0, eq)).empty())
    return Status::InvalidArgument("--where: '" + spec + "' is not column=value (e.g. dataset=owt2)");
  where.emplace_back(Trim(spec.substr(0, eq)), Trim(spec.substr(eq + 1)));
  return Status::OK();
}

bool CsvOptions::IsValid(std::string* error) const {
  for (const auto& [key, value] : columns) {
    bool known = false;
    for (const char* c : kCanonical) known = known || key == c;
    if (!known || value.empty()) {
      if (error) *error = "column mapping '" + key + "=" + value + "' is invalid";
      return false;
    }
  }
  if (max_runs < 0) {
    if (error) *error = "max_runs must be >= 0 (0 = no limit)";
    return false;
  }
  for (const auto& [key, value] : where) {
    if (key.empty()) {
      if (error) *error = "a where filter has an empty column name";
      return false;
    }
  }
  return true;
}

StatusOr<std::vector<RunPoint>> LoadRunsCsv(const std::string& path, const CsvOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  // Streamed record by record (issue 15, finding 12): memory holds the runs kept, never the text.
  auto reader = CsvReader::Open(path);
  if (!reader.ok()) return reader.status();
  const CsvTable& table = reader->table();

  // Resolve canonical columns: an explicit mapping wins, else the canonical name itself.
  std::map<std::string, int> col;
  std::map<std::string, std::string> header_name;
  for (const char* c : kCanonical) {
    std::string name = c;
    bool mapped = false;
    for (const auto& [key, value] : options.columns)
      if (key == c) {
        name = value;
        mapped = true;
      }
    const int idx = table.ColumnIndex(name);
    if (idx < 0 && mapped)
      return Status::InvalidArgument(path + ":" + std::to_string(table.header_line) + ": column '" + name +
                                     "' (mapped to " + c + ") is not in the header (" + table.HeaderList() +
                                     ")");
    col[c] = idx;
    header_name[c] = idx >= 0 ? table.header[idx] : name;
  }
  if (col["loss"] < 0)
    return Status::InvalidArgument(path + ":" + std::to_string(table.header_line) +
                                   ": missing column 'loss' (header: " + table.HeaderList() +
                                   "; map one with --columns loss=NAME)");
  const int known = (col["params"] >= 0) + (col["tokens"] >= 0) + (col["flops"] >= 0);
  if (known < 2 || (col["params"] < 0 && col["tokens"] < 0)) {
    const char* missing = col["params"] < 0 ? "params" : "tokens";
    return Status::InvalidArgument(
        path + ":" + std::to_string(table.header_line) + ": missing column '" + std::string(missing) +
        "' (need params and tokens, or flops and one of them; header: " + table.HeaderList() +
        "; map with --columns " + missing + "=NAME)");
  }
  std::vector<std::pair<int, std::string>> filters;
  for (const auto& [key, value] : options.where) {
    const int idx = table.ColumnIndex(key);
    if (idx < 0)
      return Status::InvalidArgument(path + ":" + std::to_string(table.header_line) + ": --where column '" +
                                     key + "' is not in the header (" + table.HeaderList() + ")");
    filters.emplace_back(idx, value);
  }

  std::vector<RunPoint> runs;
  CsvRecord record;
  int64_t records = 0;
  for (;;) {
    auto got = reader->Next(&record);
    if (!got.ok()) return got.status();
    if (!*got) break;
    if (options.progress && ++records % kProgressEveryRecords == 0)
      options.progress(records, reader->bytes_read(), reader->bytes_total());
    const int line = record.line;
    const std::vector<std::string>& fields = record.fields;
    bool keep = true;
    for (const auto& [idx, value] : filters)
      keep = keep && idx < static_cast<int>(fields.size()) && Trim(fields[idx]) == value;
    if (!keep) continue;
    auto field = [&](const char* name, std::string* out) -> Status {
      const int idx = col[name];
      if (idx >= static_cast<int>(fields.size()))
        return Status::InvalidArgument(path + ":" + std::to_string(line) + ":" + std::to_string(idx + 1) +
                                       " (column '" + header_name[name] + "'): missing value (row has " +
                                       std::to_string(fields.size()) + " fields)");
      *out = fields[idx];
      return Status::OK();
    };
    RunPoint p;
    std::string raw;
    ISOFLOP_RETURN_IF_ERROR(field("loss", &raw));
    ISOFLOP_RETURN_IF_ERROR(ParsePositive(path, line, col["loss"], header_name["loss"], raw, &p.loss));
    if (col["params"] >= 0) {
      ISOFLOP_RETURN_IF_ERROR(field("params", &raw));
      ISOFLOP_RETURN_IF_ERROR(
          ParsePositive(path, line, col["params"], header_name["params"], raw, &p.params));
    }
    if (col["tokens"] >= 0) {
      ISOFLOP_RETURN_IF_ERROR(field("tokens", &raw));
      ISOFLOP_RETURN_IF_ERROR(
          ParsePositive(path, line, col["tokens"], header_name["tokens"], raw, &p.tokens));
    }
    if (col["flops"] >= 0) {
      ISOFLOP_RETURN_IF_ERROR(field("flops", &raw));
      ISOFLOP_RETURN_IF_ERROR(ParsePositive(path, line, col["flops"], header_name["flops"], raw, &p.flops));
    }
    if (col["unique_tokens"] >= 0) {
      ISOFLOP_RETURN_IF_ERROR(field("unique_tokens", &raw));
      ISOFLOP_RETURN_IF_ERROR(ParsePositive(path, line, col["unique_tokens"], header_name["unique_tokens"],
                                            raw, &p.unique_tokens));
    }
    // When only compute and one of N, D are known: C = 6 N D (Kaplan et al. 2020, eq. 2.1).
    if (p.params == 0) p.params = p.flops / (6.0 * p.tokens);
    if (p.tokens == 0) p.tokens = p.flops / (6.0 * p.params);
    if (col["run_id"] >= 0 && col["run_id"] < static_cast<int>(fields.size()))
      p.run_id = Trim(fields[col["run_id"]]);
    if (p.run_id.empty()) p.run_id = "line " + std::to_string(line);
    if (options.max_runs > 0 && static_cast<int64_t>(runs.size()) == options.max_runs) {
      return Status::InvalidArgument(
          path + ":" + std::to_string(line) + ": more than " + std::to_string(options.max_runs) +
          " runs (the limit; --max-runs N raises it, 0 = none). A scaling-law fit needs tens to "
          "a few thousand runs and its time grows with every run (docs/fit.md, \"Input\"): is this file "
          "per-step logs rather than one row per finished run? Keep one row per run, or filter with --where");
    }
    runs.push_back(std::move(p));
  }
  if (options.progress) options.progress(records, reader->bytes_read(), reader->bytes_total());
  if (runs.empty()) {
    return Status::InvalidArgument(path + ": no data rows" +
                                   std::string(filters.empty() ? "" : " match the --where filters"));
  }
  return runs;
}

StatusOr<std::vector<StartPoint>> LoadStartGrid(const std::string& path) {
  auto read = ReadCsvFile(path);
  if (!read.ok()) return read.status();
  const CsvTable& table = *read;
  const char* const names[] = {"a", "b", "e", "alpha", "beta", "log_r_d_star", "log_r_n_star"};
  int idx[7];
  for (int i = 0; i < 7; ++i) {
    idx[i] = table.ColumnIndex(names[i]);
    if (idx[i] < 0 && i < 5)
      return Status::InvalidArgument(
          path + ":" + std::to_string(table.header_line) + ": missing column '" + names[i] +
          "' (a start grid has columns a,b,e,alpha,beta[,log_r_d_star,log_r_n_star])");
  }
  std::vector<StartPoint> starts;
  for (const auto& [line, fields] : table.rows) {
    double v[7] = {0, 0, 0, 0, 0, std::log(5.0), std::log(5.0)};
    for (int i = 0; i < 7; ++i) {
      if (idx[i] < 0) continue;
      if (idx[i] >= static_cast<int>(fields.size()))
        return Status::InvalidArgument(path + ":" + std::to_string(line) + ":" + std::to_string(idx[i] + 1) +
                                       " (column '" + names[i] + "'): missing value");
      ISOFLOP_RETURN_IF_ERROR(ParseAny(path, line, idx[i], names[i], fields[idx[i]], &v[i]));
    }
    starts.push_back(StartPoint{v[0], v[1], v[2], v[3], v[4], v[5], v[6]});
  }
  if (starts.empty()) return Status::InvalidArgument(path + ": the start grid has no rows");
  return starts;
}

}  // namespace isoflop
