// Stage 1, scan (one task per input group): parse, normalise, quality rules, content hash,
// MinHash signature and LSH bucket keys, per document and in parallel (an ordered pipeline:
// reading and writing in input order, the work between on every thread). The documents that
// pass go to the group's documents file with their metadata; their bucket keys are written as
// sorted runs (bounded memory), one file per band, for the bands stage to merge.
#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <filesystem>
#include <optional>

#include "build_stages.h"
#include "ordered_pipeline.h"

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

// What a worker learned about one input record.
struct Processed {
  enum class Outcome { kKept, kInvalid, kEmpty, kQuality } outcome = Outcome::kKept;
  std::string id;
  std::string text;
  std::string detail;  // invalid: why; quality: rule name
  ContentHash hash;
  NormalizerCounters normalizer;
  int lines_removed = 0;
  double seconds[4] = {0, 0, 0, 0};  // parse+normalise, quality, exact hash, minhash
};

enum SubStage { kNormalize = 0, kQuality = 1, kExactHash = 2, kMinHash = 3 };
constexpr const char* kSubStageNames[] = {"normalize", "quality", "exact_hash", "minhash"};

void ProcessRecord(const RawRecord& record, DocumentSource& source, const BuildOptions& options,
                   const MinHasher* hasher, Processed* out, uint32_t* signature) {
  double t0 = ThreadCpuSeconds();
  const std::vector<InputFileInfo>& inputs = source.inputs();
  // "FILE:LINE", built only when a record needs it (no id, or invalid).
  auto where = [&] { return source.Where(record); };
  if (record.oversized_bytes > 0) {
    out->outcome = Processed::Outcome::kInvalid;
    out->id = where();
    out->detail = out->id + ": record of " + std::to_string(record.oversized_bytes) +
                  " bytes is longer than input.max_record_bytes (" +
                  std::to_string(options.input.max_record_bytes) +
                  "); skipped without reading it into memory";
    return;
  }
  thread_local std::string parsed_text;  // reused: no allocation per document
  std::string_view raw_text;
  if (record.is_json) {
    bool has_id = false;
    if (ParseSimpleJsonRecord(record.bytes, options.input.text_field, options.input.id_field, &parsed_text,
                              &out->id, &has_id)) {
      if (!has_id) out->id = where();
    } else {
      // Everything the fast path does not take (other value types, errors) goes through
      // nlohmann::json, which gives the same fields or reports the error.
      json doc = json::parse(record.bytes, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded() || !doc.is_object()) {
        out->outcome = Processed::Outcome::kInvalid;
        out->id = where();
        out->detail = out->id + ": invalid JSON";
        return;
      }
      auto text = doc.find(options.input.text_field);
      if (text == doc.end() || !text->is_string()) {
        out->outcome = Processed::Outcome::kInvalid;
        out->id = where();
        out->detail = out->id + ": no string field '" + options.input.text_field + "'";
        return;
      }
      parsed_text = text->get<std::string>();
      auto id = doc.find(options.input.id_field);
      if (id != doc.end() && id->is_string()) {
        out->id = id->get<std::string>();
      } else if (id != doc.end() && id->is_number()) {
        out->id = id->dump();
      } else {
        out->id = where();
      }
    }
    raw_text = parsed_text;
  } else {
    raw_text = record.bytes;
    out->id = options.input.text_unit == "paragraph" ? where() : inputs[record.input_index].path;
  }
  out->text = NormalizeText(raw_text, options.normalize, &out->normalizer);
  double t1 = ThreadCpuSeconds();
  out->seconds[kNormalize] = t1 - t0;
  if (!options.skip_quality) {
    QualityResult quality = ApplyQualityRules(&out->text, options.quality);
    out->lines_removed = quality.lines_removed;
    if (!quality.kept()) {
      out->outcome = Processed::Outcome::kQuality;
      out->detail = quality.failed_rule;
    }
  }
  double t2 = ThreadCpuSeconds();
  out->seconds[kQuality] = t2 - t1;
  if (out->outcome != Processed::Outcome::kKept) return;
  if (static_cast<int64_t>(out->text.size()) < options.min_document_bytes) {
    out->outcome = Processed::Outcome::kEmpty;
    return;
  }
  out->hash = HashContent(out->text);
  double t3 = ThreadCpuSeconds();
  out->seconds[kExactHash] = t3 - t2;
  if (hasher != nullptr) hasher->Signature(out->text, signature);
  out->seconds[kMinHash] = ThreadCpuSeconds() - t3;
}

// One band's bucket keys: buffered, written as sorted runs of at most kRunRecords (the bands
// stage merges the runs of every group).
template <typename Key>
class KeyRuns {
 public:
  static constexpr size_t kRunRecords = (8 << 20) / sizeof(Key);  // 8 MiB per run in memory (15 runs)
  Status Open(const std::string& path) { return out_.Open(path); }
  Status Add(const Key& key) {
    buffer_.push_back(key);
    return buffer_.size() >= kRunRecords ? Flush() : Status::OK();
  }
  Status Flush() {
    if (buffer_.empty()) return Status::OK();
    std::sort(buffer_.begin(), buffer_.end());
    ISOFLOP_RETURN_IF_ERROR(out_.WriteRecords(buffer_));
    runs_.push_back(buffer_.size());
    buffer_.clear();
    return Status::OK();
  }
  Status Commit() {
    ISOFLOP_RETURN_IF_ERROR(Flush());
    return out_.Commit();
  }
  const std::vector<uint64_t>& runs() const { return runs_; }

 private:
  OutFile out_;
  std::vector<Key> buffer_;
  std::vector<uint64_t> runs_;
};

struct ScanBatch {
  std::vector<RawRecord> records;
  std::vector<Processed> results;
  std::vector<uint32_t> signatures;  // records × NumHashes()
  std::vector<uint64_t> band_keys;   // records × num_bands
};

}  // namespace

Status RunScanTask(const BuildPlan& plan, int group, int threads, bool progress_enabled) {
  if (TaskIsDone(plan, "scan", group)) return Status::OK();
  const BuildOptions& options = plan.options;
  const std::string prefix = TaskName(group) + ".";
  std::error_code ec;
  fs::create_directories(StageDir(plan, "scan"), ec);
  RemoveTaskOutputs(plan, "scan", prefix);
  std::vector<InputFileInfo> files = plan.files;
  for (auto& f : files) f.open_path = plan.Resolve(f.path);
  auto source = DocumentSource::Open(std::move(files), plan.groups[group], options.input);
  if (!source.ok()) return source.status();

  std::optional<MinHasher> hasher;
  if (!options.skip_near) hasher.emplace(options.minhash);
  const int num_hashes = options.minhash.NumHashes();
  const int num_bands = hasher ? options.minhash.num_bands : 0;
  const int rows = options.minhash.rows_per_band;
  auto file = [&](const std::string& suffix) { return StageFile(plan, "scan", prefix + suffix); };
  OutFile docs, meta, sig, report;
  ISOFLOP_RETURN_IF_ERROR(docs.Open(file("docs")));
  ISOFLOP_RETURN_IF_ERROR(meta.Open(file("meta")));
  if (hasher) ISOFLOP_RETURN_IF_ERROR(sig.Open(file("sig")));
  const bool want_report = !options.report_path.empty();
  if (want_report) ISOFLOP_RETURN_IF_ERROR(report.Open(file("report")));
  std::vector<KeyRuns<BandKey>> band_runs(num_bands);
  for (int b = 0; b < num_bands; ++b) ISOFLOP_RETURN_IF_ERROR(band_runs[b].Open(file("keys-" + BandName(b))));
  KeyRuns<ExactKey> exact_runs;
  if (!options.skip_exact) ISOFLOP_RETURN_IF_ERROR(exact_runs.Open(file("keys-xx")));
  HoldIfFaultInjected("scan", group);

  json counters = ZeroCounters();
  int64_t documents_read = 0, bytes_read = 0, invalid_utf8_bytes = 0, documents_with_invalid_utf8 = 0,
          documents_changed_by_nfc = 0, c4_lines_removed = 0, invalid_records = 0, empty_documents = 0,
          quality_dropped = 0;
  std::map<std::string, int64_t> rule_counts;
  double sub_seconds[4] = {0, 0, 0, 0};
  uint32_t local = 0;
  int invalid_warnings = 0;
  Progress progress(progress_enabled, "scan");
  DocumentSource& src = **source;

  PipelineStages<ScanBatch> stages;
  uint64_t batches_read = 0;
  stages.read = [&](ScanBatch* batch) -> StatusOr<bool> {
    const size_t bytes = NextBatchBytes(options.batch_bytes, batches_read++, src.raw_bytes_read(),
                                        src.raw_bytes_total(), threads);
    auto more = src.Next(&batch->records, bytes);
    if (!more.ok()) return more.status();
    return *more || !batch->records.empty();
  };
  stages.process = [&](ScanBatch* batch, int) {
    const size_t n = batch->records.size();
    batch->results.resize(n);
    if (hasher) {
      batch->signatures.assign(n * num_hashes, 0);
      batch->band_keys.assign(n * num_bands, 0);
    }
    for (size_t i = 0; i < n; ++i) {
      Processed& r = batch->results[i];
      uint32_t* signature = hasher ? batch->signatures.data() + i * num_hashes : nullptr;
      ProcessRecord(batch->records[i], src, options, hasher ? &*hasher : nullptr, &r, signature);
      if (hasher && r.outcome == Processed::Outcome::kKept) {
        for (int b = 0; b < num_bands; ++b) {
          batch->band_keys[i * num_bands + b] =
              XXH3_64bits_withSeed(signature + b * rows, rows * sizeof(uint32_t), static_cast<uint64_t>(b));
        }
      }
    }
  };
  stages.write = [&](ScanBatch* batch) -> Status {
    for (size_t i = 0; i < batch->records.size(); ++i) {
      Processed& r = batch->results[i];
      const RawRecord& record = batch->records[i];
      ++documents_read;
      bytes_read +=
          static_cast<int64_t>(record.oversized_bytes > 0 ? record.oversized_bytes : record.bytes.size());
      invalid_utf8_bytes += r.normalizer.invalid_utf8_bytes;
      documents_with_invalid_utf8 += r.normalizer.documents_with_invalid_utf8;
      documents_changed_by_nfc += r.normalizer.documents_changed_by_nfc;
      c4_lines_removed += r.lines_removed;
      for (int s = 0; s < 4; ++s) sub_seconds[s] += r.seconds[s];
      std::string reason;
      switch (r.outcome) {
        case Processed::Outcome::kInvalid:
          if (options.strict)
            return Status::InvalidArgument(r.detail + " (--strict: invalid records are fatal)");
          ++invalid_records;
          if (progress_enabled && invalid_warnings++ < 5) {
            std::fprintf(stderr, "isoflop data build: skipped %s\n", r.detail.c_str());
          }
          reason = "invalid_record";
          break;
        case Processed::Outcome::kQuality:
          ++quality_dropped;
          ++rule_counts[r.detail];
          reason = "quality:" + r.detail;
          break;
        case Processed::Outcome::kEmpty:
          ++empty_documents;
          reason = "empty";
          break;
        case Processed::Outcome::kKept:
          break;
      }
      if (!reason.empty()) {
        if (want_report) {
          ISOFLOP_RETURN_IF_ERROR(report.Write(
              "{\"id\":" + JsonString(r.id) + ",\"reason\":" + JsonString(reason) + ",\"source\":" +
              JsonString(src.Where(record)) + "}\n"));
        }
        continue;
      }
      DocMeta m{docs.size(), r.text.size(), r.hash};
      ISOFLOP_RETURN_IF_ERROR(WriteDocRecord(&docs, r.id, r.text, r.hash));
      ISOFLOP_RETURN_IF_ERROR(meta.Write(&m, sizeof(m)));
      if (hasher) {
        ISOFLOP_RETURN_IF_ERROR(
            sig.Write(batch->signatures.data() + i * num_hashes, num_hashes * sizeof(uint32_t)));
        for (int b = 0; b < num_bands; ++b) {
          ISOFLOP_RETURN_IF_ERROR(band_runs[b].Add(BandKey{batch->band_keys[i * num_bands + b], local, 0}));
        }
      }
      if (!options.skip_exact)
        ISOFLOP_RETURN_IF_ERROR(exact_runs.Add(ExactKey{r.hash.low, r.hash.high, local, 0}));
      if (local == UINT32_MAX)
        return Status::InvalidArgument("more than 2^32 documents in one group: use more tasks");
      ++local;
    }
    const double fraction =
        src.raw_bytes_total() > 0 ? static_cast<double>(src.raw_bytes_read()) / src.raw_bytes_total() : 1.0;
    progress.Update(documents_read, src.text_bytes_read(), fraction);
    return Status::OK();
  };
  // Items in flight: enough to keep every thread busy while one reads and one writes.
  ISOFLOP_RETURN_IF_ERROR(RunOrderedPipeline(threads, 2 * threads + 2, stages));
  progress.Update(documents_read, src.text_bytes_read(), 1.0, /*force=*/true);

  json runs = json::object();
  for (int b = 0; b < num_bands; ++b) {
    ISOFLOP_RETURN_IF_ERROR(band_runs[b].Commit());
    runs[BandName(b)] = band_runs[b].runs();
  }
  if (!options.skip_exact) {
    ISOFLOP_RETURN_IF_ERROR(exact_runs.Commit());
    runs["xx"] = exact_runs.runs();
  }
  ISOFLOP_RETURN_IF_ERROR(docs.Commit());
  ISOFLOP_RETURN_IF_ERROR(meta.Commit());
  if (hasher) ISOFLOP_RETURN_IF_ERROR(sig.Commit());
  if (want_report) ISOFLOP_RETURN_IF_ERROR(report.Commit());

  counters["documents_read"] = documents_read;
  counters["bytes_read"] = bytes_read;
  counters["invalid_records"] = invalid_records;
  counters["empty_documents"] = empty_documents;
  counters["quality_dropped"] = quality_dropped;
  counters["invalid_utf8_bytes"] = invalid_utf8_bytes;
  counters["documents_with_invalid_utf8"] = documents_with_invalid_utf8;
  counters["documents_changed_by_nfc"] = documents_changed_by_nfc;
  counters["c4_lines_removed"] = c4_lines_removed;
  for (const auto& [rule, count] : rule_counts) counters["quality:" + rule] = count;
  json inputs = json::object();  // the files this group read from their first byte
  for (const InputUnit& unit : plan.groups[group]) {
    if (unit.begin != 0) continue;
    const InputFileInfo& info = src.inputs()[unit.file];
    inputs[std::to_string(unit.file)] = {{"sha256", info.sha256}, {"compression", info.compression}};
  }
  json seconds = json::object();
  for (int s = 0; s < 4; ++s) seconds[std::string(kSubStageNames[s]) + "_core"] = sub_seconds[s];
  return MarkTaskDone(plan, "scan", group,
                      {{"documents", local},
                       {"counters", counters},
                       {"inputs", inputs},
                       {"text_bytes", src.text_bytes_read()},
                       {"runs", runs},
                       {"seconds", seconds}});
}

}  // namespace isoflop::data
