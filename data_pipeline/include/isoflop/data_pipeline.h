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
#include <memory>
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
  // A record (JSONL line, text file or paragraph) longer than this is skipped as invalid
  // without being held in memory (streamed past); memory per record in flight is bounded by it.
  int64_t max_record_bytes = 8 << 20;
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
  // The loaded file's end-of-document token (its text); "" = the first of kEosCandidates it has.
  std::string tokenizer_eos;
  double val_fraction = 0.01;  // of documents, chosen by content hash
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

// ---- The same build as stages of tasks, for a cluster (docs/data.md, "Distributed build") ----
//
// scan (per input group: parse, normalise, filter, hash, MinHash; kept text to disk) → bands
// (per band/key range: LSH buckets → candidate pairs; the exact-duplicate groups) → verify (per
// group: candidate pairs checked) → decide (one task: clusters, what is kept, the tokenizer) →
// encode (per group: token ids) → assemble (per shard range: shards and their sha256) →
// finalize (one task: index.tsv, manifest.json, the report). The orchestrator runs each stage
// as a Slurm array (`isoflop data build --backend slurm --tasks N`); BuildDataset runs them
// all in this process. Every task reads the files of earlier stages and writes its own under
// OUT/.isoflop-build/ by temporary name and rename, then a `.done` marker: a task that is
// killed reruns from its start, and a finished task is never rerun. Output bytes do not depend
// on the number of tasks or threads.

struct BuildStageInfo {
  std::string name;
  int tasks = 1;
};

class StagedBuild {
 public:
  // Checks options and inputs, takes OUT's lock and writes the plan into OUT/.isoflop-build/.
  // `tasks`: input groups and band/assemble tasks; 0 = one per 8 GiB of input (BuildDataset).
  // `resume`: a work directory holding the plan of this very build (same options, inputs,
  // sizes, tasks) is kept with its finished tasks; any other is cleared.
  static StatusOr<std::unique_ptr<StagedBuild>> Prepare(const BuildOptions& options, int tasks, bool resume);
  ~StagedBuild();  // without Commit: the work directory is removed, unless `resume` kept it for a rerun
  StagedBuild(const StagedBuild&) = delete;
  StagedBuild& operator=(const StagedBuild&) = delete;

  const std::string& work_dir() const;
  const std::vector<BuildStageInfo>& stages() const;
  bool TaskDone(const std::string& stage, int task) const;
  // Runs every task not yet done, stage by stage, in this process (what BuildDataset does).
  Status RunHere(int threads, bool progress);
  // After every task of every stage: moves the outputs into OUT, returns the summary.
  StatusOr<BuildSummary> Commit();

 private:
  struct Impl;
  explicit StagedBuild(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs task `task` of `stage` of the build planned in `work_dir` with `threads` threads
// (`isoflop data stage`, what each Slurm task runs). Idempotent (see above). Bad input is
// kInvalidArgument (a retry cannot help); anything else may be retried.
Status RunBuildTask(const std::string& work_dir, const std::string& stage, int task, int threads,
                    bool progress = false);

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
