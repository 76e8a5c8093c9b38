// Streams raw records from input files: JSONL lines, or plain-text documents (a whole file,
// or blank-line-separated blocks), from plain, gzip or zstd files (detected by magic
// bytes). Each input's raw bytes are hashed with SHA-256 as they are read, for the
// manifest, so inputs are read once.
#ifndef ISOFLOP_DATA_PIPELINE_DOCUMENT_SOURCE_H_
#define ISOFLOP_DATA_PIPELINE_DOCUMENT_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isoflop/data_pipeline.h"
#include "isoflop/status.h"

namespace isoflop::data {

// One unparsed record; JSON parsing happens in the worker threads.
struct RawRecord {
  uint32_t input_index = 0;  // into DocumentSource::inputs()
  // 1-based line (JSONL) or first line of the block (text), counted from the start of the unit
  // it was read from: DocumentSource::Where() gives the file's line.
  int64_t line = 0;
  bool is_json = false;
  std::string bytes;
  // > 0: the record was longer than InputOptions::max_record_bytes; it had this many bytes,
  // was streamed past without being kept, and `bytes` is empty.
  int64_t oversized_bytes = 0;
  uint32_t unit = 0;  // index of the unit it was read from
};

struct InputFileInfo {
  std::string path;
  int64_t bytes = 0;  // on disk (compressed size for .gz/.zst)
  std::string sha256;
  std::string compression;  // "none", "gzip", "zstd"
  std::string open_path;    // where to read it when not `path` (a task running in another directory)
};

// A contiguous part of one input file, in bytes as stored: [begin, end), end = -1 for the
// file's end. Only plain (uncompressed) JSONL files are split, at line starts.
struct InputUnit {
  uint32_t file = 0;
  int64_t begin = 0;
  int64_t end = -1;
};

// Expands directories (recursively, sorted) and checks every file exists and is text (see
// DocumentSource::Open); fills path, bytes and compression.
StatusOr<std::vector<InputFileInfo>> ExpandInputs(const std::vector<std::string>& paths,
                                                  const InputOptions& options);

// Whether `path` is read as JSON Lines under `options` (input.format, or the extension).
bool IsJsonlInput(const std::string& path, const InputOptions& options);

class DocumentSource {
 public:
  // Reads `units` of `files` in order. Line numbers (FILE:LINE) count from the file's start
  // whatever the unit; the unit holding a file's first byte also hashes the whole file.
  static StatusOr<std::unique_ptr<DocumentSource>> Open(std::vector<InputFileInfo> files,
                                                        std::vector<InputUnit> units,
                                                        const InputOptions& options);
  // Expands directories (recursively, sorted) and checks every path exists and is non-empty
  // as a whole, and that no input is a binary format this pipeline does not read (Parquet,
  // Arrow, a Hugging Face save_to_disk directory, bzip2/xz/zip archives, NUL bytes after
  // decompression, a pretty-printed JSON document): the error says how to convert it. Reads
  // only the first 64 KiB of each file, so every input is checked before any work starts.
  static StatusOr<std::unique_ptr<DocumentSource>> Open(const std::vector<std::string>& paths,
                                                        const InputOptions& options);
  virtual ~DocumentSource() = default;
  // Appends records until `max_bytes` of record text are buffered, or `max_bytes` of input
  // were consumed (so a caller can report progress while a long record is skipped); false at
  // the end.
  virtual StatusOr<bool> Next(std::vector<RawRecord>* batch, size_t max_bytes) = 0;
  // sha256 filled once read, for the files whose first unit this source read.
  virtual const std::vector<InputFileInfo>& inputs() const = 0;
  virtual int64_t raw_bytes_read() const = 0;                    // on-disk bytes consumed so far
  virtual int64_t raw_bytes_total() const = 0;
  virtual int64_t text_bytes_read() const = 0;  // decompressed
  // "FILE:LINE" of a record. A unit that starts inside a file counts the file's lines before
  // it the first time this is called (thread-safe), so a build that never names a record by its
  // line (ids present, no report) never reads those bytes.
  virtual std::string Where(const RawRecord& record) = 0;
};

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_DOCUMENT_SOURCE_H_
