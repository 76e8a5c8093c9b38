// `isoflop data`: raw text → curated, deduplicated token shards, in one call.
//
//   BuildOptions options;                 // defaults work (configs/data/default.yaml)
//   options.inputs = {"corpus.jsonl.zst"};
//   options.out_dir = "shards/";
//   auto summary = BuildDataset(options); // StatusOr<BuildSummary>
//   std::cout << summary->BriefReport();
//
// Stages: normalise (text_normalizer.h) → quality rules (quality_filters.h) → exact dedup →
// MinHash-LSH near dedup (dedup.h) → byte-level BPE (bpe_tokenizer.h) → shards + index.tsv
// (shard_writer.h) + manifest.json. Output is byte-identical for any thread count.
// Formats, defaults and their sources: docs/data.md.
#ifndef ISOFLOP_DATA_PIPELINE_H_
#define ISOFLOP_DATA_PIPELINE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "isoflop/bpe_tokenizer.h"
#include "isoflop/dedup.h"
#include "isoflop/quality_filters.h"
#include "isoflop/status.h"
#include "isoflop/text_normalizer.h"

namespace isoflop::data {

struct InputOptions {
  std::string format = "auto";      // auto (by extension: .jsonl/.ndjson/.json → JSONL), jsonl, text
  std::string text_field = "text";  // JSONL field holding the document (datatrove/dolma convention)
  std::string id_field = "id";      // JSONL field naming it; "FILE:LINE" when absent
  std::string text_unit = "file";   // plain text: "file" (one document per file) or "paragraph"
  bool IsValid(std::string* error) const;
};

// Fast path for the common JSONL record: one JSON object whose values are all strings
// (e.g. {"id": "...", "text": "..."}), parsed without building a DOM. Returns true with the
// text field's value in *text, and the id field's in *id when *has_id, exactly as
// nlohmann::json would give them (escapes and surrogate pairs decoded, a repeated key's
// last value wins). Returns false for anything else — another value type, invalid JSON
// or UTF-8, a control character in a string, no text field — and the caller parses the
// line with nlohmann::json, which then gives the fields or the error (docs/data.md).
bool ParseSimpleJsonRecord(std::string_view line, std::string_view text_field, std::string_view id_field,
                           std::string* text, std::string* id, bool* has_id);

struct BuildOptions {
  std::vector<std::string> inputs;  // files or directories; plain, .gz or .zst
  std::string out_dir;
  int threads = 1;
  std::string report_path;  // dropped.jsonl; "" = none
  bool strict = false;      // an invalid input record is fatal instead of skipped
  bool progress = true;     // progress lines on stderr
  // --skip: stages turned off.
  bool skip_quality = false, skip_exact = false, skip_near = false, skip_tokenize = false;

  InputOptions input;
  NormalizerOptions normalize;
  QualityOptions quality;
  int64_t min_document_bytes = 1;  // after normalisation and filtering; shorter ones are "empty"
  MinHashOptions minhash;
  BpeTrainerOptions tokenizer;  // used when tokenizer_path is empty
  std::string tokenizer_path;   // load this tokenizer.json instead of training one
  double val_fraction = 0.01;   // of documents, chosen by content hash
  int64_t max_tokens_per_shard = 1LL << 26;
  size_t batch_bytes = 8 << 20;  // text per parallel batch (bounds memory, not results)

  bool IsValid(std::string* error) const;
};

// Reads a configs/data/*.yaml file over `defaults` (unknown keys are an error naming them).
StatusOr<BuildOptions> LoadBuildConfig(const std::string& yaml_path, BuildOptions defaults = {});

struct BuildSummary {
  std::string out_dir;
  std::map<std::string, int64_t> counters;  // also in manifest.json
  std::map<std::string, double> stage_seconds;
  int64_t input_bytes = 0;  // decompressed text read
  double wall_seconds = 0;
  std::string BriefReport() const;
  std::string FullReport() const;
  std::string ToJson() const;
};

StatusOr<BuildSummary> BuildDataset(const BuildOptions& options);

struct TokenizerTrainOptions {
  std::vector<std::string> inputs;
  std::string out_path;  // tokenizer.json
  InputOptions input;
  NormalizerOptions normalize;
  BpeTrainerOptions trainer;
  bool IsValid(std::string* error) const;
};

struct TokenizerTrainSummary {
  uint32_t vocab_size = 0;
  int64_t documents = 0;
  int64_t bytes_counted = 0;
  std::string sha256;
  double seconds = 0;
  std::string BriefReport() const;
};

StatusOr<TokenizerTrainSummary> TrainTokenizer(const TokenizerTrainOptions& options);

// `isoflop data stats DIR`: the manifest's summary.
struct DatasetStats {
  std::string manifest_json;  // the whole manifest
  std::string BriefReport() const;
};
StatusOr<DatasetStats> ReadDatasetStats(const std::string& dir);

// `isoflop data sample DIR -n 5`: decodes windows read through TokenReader.
struct SampleOptions {
  std::string dir;
  std::string split = "train";
  int count = 5;
  int64_t seq_len = 128;
  uint64_t seed = 0;
  bool IsValid(std::string* error) const;
};
StatusOr<std::vector<std::string>> SampleWindows(const SampleOptions& options);

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_H_
