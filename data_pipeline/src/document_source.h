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
  int64_t line = 0;          // 1-based line (JSONL) or first line of the block (text)
  bool is_json = false;
  std::string bytes;
};

struct InputFileInfo {
  std::string path;
  int64_t bytes = 0;  // on disk (compressed size for .gz/.zst)
  std::string sha256;
  std::string compression;  // "none", "gzip", "zstd"
};

class DocumentSource {
 public:
  // Expands directories (recursively, sorted) and checks every path exists and is non-empty
  // as a whole.
  static StatusOr<std::unique_ptr<DocumentSource>> Open(const std::vector<std::string>& paths,
                                                        const InputOptions& options);
  virtual ~DocumentSource() = default;
  // Appends records until `max_bytes` of record text are buffered; false at the end.
  virtual StatusOr<bool> Next(std::vector<RawRecord>* batch, size_t max_bytes) = 0;
  virtual const std::vector<InputFileInfo>& inputs() const = 0;  // sha256 filled once read
  virtual int64_t raw_bytes_read() const = 0;                    // on-disk bytes consumed so far
  virtual int64_t raw_bytes_total() const = 0;
  virtual int64_t text_bytes_read() const = 0;  // decompressed
};

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_DOCUMENT_SOURCE_H_
