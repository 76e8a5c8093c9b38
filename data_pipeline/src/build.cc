// BuildDataset: the three passes of `isoflop data build`.
//
//  1. stream the inputs in batches; in parallel per document: parse, normalise, quality
//     rules, content hash, MinHash signature; then in input order: exact dedup, and the kept
//     text goes to a spill file in the output directory (memory stays bounded: only ids,
//     32-bit signatures and hashes stay in RAM);
//  2. near dedup from the signatures (LSH + union–find), then tokenizer training on the
//     survivors (unless a tokenizer is given);
//  3. encode the survivors in parallel, write shards in input order, then manifest.json.
// Every decision is made in input order from per-document results, so output bytes do not
// depend on the thread count.
#include <time.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "document_source.h"
#include "isoflop/data_pipeline.h"
#include "isoflop/hf_tokenizer.h"
#include "isoflop/shard_writer.h"
#include "parallel.h"
#include "sha256.h"

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of the calling thread: per-stage costs stay meaningful on a shared, busy machine
// (wall time per document would count time spent descheduled).
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

struct ContentHashHasher {
  size_t operator()(const ContentHash& h) const {
    return static_cast<size_t>(h.low ^ (h.high * 0x9e3779b97f4a7c15ULL));
  }
};

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

enum Stage { kNormalize = 0, kQuality = 1, kExactHash = 2, kMinHash = 3 };
constexpr const char* kStageNames[] = {"normalize", "quality", "exact_hash", "minhash"};

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), start_(Clock::now()), last_(start_) {}
  void Update(const char* stage, int64_t docs, int64_t bytes, double fraction, bool force = false) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (!force && std::chrono::duration<double>(now - last_).count() < 1.0) return;
    last_ = now;
    double elapsed = std::max(1e-9, std::chrono::duration<double>(now - start_).count());
    double eta = fraction > 0.001 ? elapsed * (1 - fraction) / fraction : 0;
    std::fprintf(stderr,
                 "isoflop data build: %-10s %10" PRId64 " docs %8.0f docs/s %7.1f MB/s %5.1f%% ETA %.0fs\n",
                 stage, docs, docs / elapsed, bytes / elapsed / 1e6, 100 * fraction, eta);
  }
  void Restart() { start_ = last_ = Clock::now(); }

 private:
  bool enabled_;
  Clock::time_point start_, last_;
};

std::string Escape(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Spill file of kept documents: [u32 id length][id][u64 text length][text][16-byte hash].
class SpillWriter {
 public:
  Status Open(const std::string& path) {
    out_.open(path, std::ios::binary | std::ios::trunc);
    return out_ ? Status::OK() : Status::IOError("cannot create " + path);
  }
  // Returns the record's offset, for random access by SpillReader::ReadAt.
  uint64_t Write(const std::string& id, const std::string& text, const ContentHash& hash) {
    uint64_t offset = offset_;
    offset_ += sizeof(uint32_t) + id.size() + sizeof(uint64_t) + text.size() + sizeof(ContentHash);
    uint32_t id_length = static_cast<uint32_t>(id.size());
    uint64_t text_length = text.size();
    out_.write(reinterpret_cast<const char*>(&id_length), sizeof(id_length));
    out_.write(id.data(), id.size());
    out_.write(reinterpret_cast<const char*>(&text_length), sizeof(text_length));
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    out_.write(reinterpret_cast<const char*>(&hash), sizeof(hash));
    return offset;
  }
  Status Close() {
    out_.close();
    return out_ ? Status::OK() : Status::IOError("write to the spill file failed (disk full?)");
  }

 private:
  std::ofstream out_;
  uint64_t offset_ = 0;
};

struct SpilledDocument {
  std::string id, text;
  ContentHash hash;
};

class SpillReader {
 public:
  Status Open(const std::string& path) {
    in_.open(path, std::ios::binary);
    return in_ ? Status::OK() : Status::IOError("cannot reopen " + path);
  }
  bool Read(SpilledDocument* doc) {
    uint32_t id_length;
    uint64_t text_length;
    if (!in_.read(reinterpret_cast<char*>(&id_length), sizeof(id_length))) return false;
    doc->id.resize(id_length);
    in_.read(doc->id.data(), id_length);
    in_.read(reinterpret_cast<char*>(&text_length), sizeof(text_length));
    doc->text.resize(text_length);
    in_.read(doc->text.data(), static_cast<std::streamsize>(text_length));
    in_.read(reinterpret_cast<char*>(&doc->hash), sizeof(doc->hash));
    return static_cast<bool>(in_);
  }
  bool ReadAt(uint64_t offset, SpilledDocument* doc) {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    return Read(doc);
  }

 private:
  std::ifstream in_;
};

// Exact shingle Jaccard of two kept documents, read back from the spill file; shingle sets
// of recent documents are cached (a cluster's first member is compared again and again).
class ExactSimilarity {
 public:
  ExactSimilarity(const std::string& spill_path, const std::vector<uint64_t>& offsets, int ngram)
      : offsets_(offsets), ngram_(ngram) {
    reader_.Open(spill_path);
  }
  double operator()(uint32_t a, uint32_t b) {
    const auto& sa = Shingles(a);
    const auto& sb = Shingles(b);
    size_t common = 0;
    for (size_t i = 0, j = 0; i < sa.size() && j < sb.size();) {
      if (sa[i] == sb[j]) {
        ++common, ++i, ++j;
      } else if (sa[i] < sb[j]) {
        ++i;
      } else {
        ++j;
      }
    }
    size_t total = sa.size() + sb.size() - common;
    return total == 0 ? 1.0 : static_cast<double>(common) / total;
  }

 private:
  const std::vector<uint64_t>& Shingles(uint32_t doc) {
    auto it = cache_.find(doc);
    if (it != cache_.end()) return it->second;
    if (cache_.size() >= 4096) cache_.clear();
    SpilledDocument text;
    reader_.ReadAt(offsets_[doc], &text);
    return cache_[doc] = ShingleHashes(text.text, ngram_);
  }
  SpillReader reader_;
  const std::vector<uint64_t>& offsets_;
  int ngram_;
  std::unordered_map<uint32_t, std::vector<uint64_t>> cache_;
};

void ProcessRecord(const RawRecord& record, const std::vector<InputFileInfo>& inputs,
                   const BuildOptions& options, const MinHasher* hasher, Processed* out,
                   uint32_t* signature) {
  double t0 = ThreadCpuSeconds();
  // "FILE:LINE", built only when a record needs it (no id, or invalid).
  auto where = [&] { return inputs[record.input_index].path + ":" + std::to_string(record.line); };
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

void RemoveOldOutputs(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if ((name.starts_with("train-") || name.starts_with("val-")) && name.ends_with(".bin"))
      fs::remove(entry.path(), ec);
  }
}

json ConfigJson(const BuildOptions& o) {
  // Everything that changes the output, nothing that does not (threads, progress, paths of
  // reports): the manifest must be identical for any thread count.
  const auto& gq = o.quality.gopher_quality;
  const auto& gr = o.quality.gopher_repetition;
  const auto& c4 = o.quality.c4;
  return json{
      {"input",
       {{"format", o.input.format},
        {"text_field", o.input.text_field},
        {"id_field", o.input.id_field},
        {"text_unit", o.input.text_unit}}},
      {"normalize", {{"nfc", o.normalize.nfc}, {"clean_whitespace", o.normalize.clean_whitespace}}},
      {"skip",
       {{"quality", o.skip_quality},
        {"exact", o.skip_exact},
        {"near", o.skip_near},
        {"tokenize", o.skip_tokenize}}},
      {"strict", o.strict},
      {"min_document_bytes", o.min_document_bytes},
      {"gopher_quality",
       {{"enabled", gq.enabled},
        {"min_words", gq.min_words},
        {"max_words", gq.max_words},
        {"min_mean_word_length", gq.min_mean_word_length},
        {"max_mean_word_length", gq.max_mean_word_length},
        {"max_hash_to_word_ratio", gq.max_hash_to_word_ratio},
        {"max_ellipsis_to_word_ratio", gq.max_ellipsis_to_word_ratio},
        {"max_bullet_line_fraction", gq.max_bullet_line_fraction},
        {"max_ellipsis_line_fraction", gq.max_ellipsis_line_fraction},
        {"min_alpha_word_fraction", gq.min_alpha_word_fraction},
        {"min_stop_words", gq.min_stop_words}}},
      {"gopher_repetition",
       {{"enabled", gr.enabled},
        {"max_duplicate_line_fraction", gr.max_duplicate_line_fraction},
        {"max_duplicate_paragraph_fraction", gr.max_duplicate_paragraph_fraction},
        {"max_duplicate_line_char_fraction", gr.max_duplicate_line_char_fraction},
        {"max_duplicate_paragraph_char_fraction", gr.max_duplicate_paragraph_char_fraction},
        {"max_top_ngram_char_fraction", gr.max_top_ngram_char_fraction},
        {"max_duplicate_ngram_char_fraction", gr.max_duplicate_ngram_char_fraction}}},
      {"c4",
       {{"enabled", c4.enabled},
        {"filter_lines", c4.filter_lines},
        {"min_words_per_line", c4.min_words_per_line},
        {"min_sentences", c4.min_sentences},
        {"drop_lorem_ipsum", c4.drop_lorem_ipsum},
        {"drop_curly_brace", c4.drop_curly_brace},
        {"drop_policy_lines", c4.drop_policy_lines},
        {"bad_words", c4.bad_words.size()}}},
      {"minhash",
       {{"ngram", o.minhash.ngram},
        {"bands", o.minhash.num_bands},
        {"rows", o.minhash.rows_per_band},
        {"seed", o.minhash.seed},
        {"verify_threshold", o.minhash.verify_threshold}}},
      {"tokenizer",
       {{"vocab_size", o.tokenizer.vocab_size},
        {"max_train_bytes", o.tokenizer.max_train_bytes},
        {"min_pair_count", o.tokenizer.min_pair_count},
        {"loaded_from", o.tokenizer_path}}},
      {"val_fraction", o.val_fraction},
      {"max_tokens_per_shard", o.max_tokens_per_shard},
  };
}

bool IsValidation(const ContentHash& hash, double val_fraction) {
  // The document's content hash picks its split: stable across runs, orders and threads.
  return static_cast<double>(hash.high % 1000000) < val_fraction * 1000000.0;
}

}  // namespace

StatusOr<BuildSummary> BuildDataset(const BuildOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  const auto build_start = Clock::now();
  BuildSummary summary;
  summary.out_dir = options.out_dir;
  auto& counters = summary.counters;
  for (const char* key :
       {"documents_read", "invalid_records", "empty_documents", "quality_dropped", "exact_dup", "near_dup",
        "kept", "c4_lines_removed", "invalid_utf8_bytes", "documents_with_invalid_utf8",
        "documents_changed_by_nfc", "near_dup_candidate_pairs", "near_dup_verified_pairs",
        "near_dup_clusters", "bytes_read", "bytes_kept"}) {
    counters[key] = 0;
  }
  for (const auto& rule : AllQualityRuleNames()) counters["quality:" + rule] = 0;

  // A given tokenizer (isoflop's or a Hugging Face byte-level BPE, hf_tokenizer.h) is read and
  // checked before the first pass, so a bad file fails in a second, not after the dedup.
  std::optional<BpeTokenizer> given_tokenizer;
  if (!options.tokenizer_path.empty()) {
    auto loaded = LoadTokenizerFile(options.tokenizer_path);
    if (!loaded.ok()) return loaded.status();
    given_tokenizer = std::move(*loaded);
  }
  auto source = DocumentSource::Open(options.inputs, options.input);
  if (!source.ok()) return source.status();
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec) return Status::IOError("cannot create " + options.out_dir + ": " + ec.message());
  RemoveOldOutputs(options.out_dir);

  std::ofstream report;
  if (!options.report_path.empty()) {
    report.open(options.report_path, std::ios::trunc);
    if (!report) return Status::IOError("cannot create report " + options.report_path);
  }
  // `record` gives the "source": "FILE:LINE" of a record dropped in pass 1 (built only here,
  // when a report is written).
  auto report_line = [&](const std::string& id, const std::string& reason, const std::string* kept_id,
                         const RawRecord* record) {
    if (!report.is_open()) return;
    report << "{\"id\":" << Escape(id) << ",\"reason\":" << Escape(reason);
    if (kept_id) report << ",\"kept_id\":" << Escape(*kept_id);
    if (record) {
      report << ",\"source\":"
             << Escape((*source)->inputs()[record->input_index].path + ":" + std::to_string(record->line));
    }
    report << "}\n";
  };

  // ---- Pass 1: parse, normalise, filter, exact dedup, signatures ----
  std::optional<MinHasher> hasher;
  if (!options.skip_near) hasher.emplace(options.minhash);
  const int num_hashes = options.minhash.NumHashes();
  const std::string spill_path = (fs::path(options.out_dir) / ".kept.spill").string();
  SpillWriter spill;
  ISOFLOP_RETURN_IF_ERROR(spill.Open(spill_path));
  std::vector<std::string> kept_ids;
  std::vector<uint64_t> spill_offsets;
  std::vector<uint32_t> signatures;
  std::unordered_map<ContentHash, uint32_t, ContentHashHasher> first_seen;
  double stage_core_seconds[4] = {0, 0, 0, 0};
  Progress progress(options.progress);
  int invalid_warnings = 0;
  const auto pass1_start = Clock::now();
  // Per-record counters, looked up once (std::map references stay valid).
  int64_t &documents_read = counters["documents_read"], &bytes_read = counters["bytes_read"],
          &invalid_utf8_bytes = counters["invalid_utf8_bytes"],
          &documents_with_invalid_utf8 = counters["documents_with_invalid_utf8"],
          &documents_changed_by_nfc = counters["documents_changed_by_nfc"],
          &c4_lines_removed = counters["c4_lines_removed"];
  while (true) {
    std::vector<RawRecord> records;
    auto more = (*source)->Next(&records, options.batch_bytes);
    if (!more.ok()) return more.status();
    if (records.empty()) break;
    std::vector<Processed> results(records.size());
    std::vector<uint32_t> batch_signatures(hasher ? records.size() * num_hashes : 0);
    ParallelFor(records.size(), options.threads, [&](int, size_t i) {
      ProcessRecord(records[i], (*source)->inputs(), options, hasher ? &*hasher : nullptr, &results[i],
                    hasher ? batch_signatures.data() + i * num_hashes : nullptr);
    });
    for (size_t i = 0; i < records.size(); ++i) {
      Processed& r = results[i];
      const RawRecord* source_ref = &records[i];
      ++documents_read;
      bytes_read += static_cast<int64_t>(records[i].bytes.size());
      invalid_utf8_bytes += r.normalizer.invalid_utf8_bytes;
      documents_with_invalid_utf8 += r.normalizer.documents_with_invalid_utf8;
      documents_changed_by_nfc += r.normalizer.documents_changed_by_nfc;
      c4_lines_removed += r.lines_removed;
      for (int s = 0; s < 4; ++s) stage_core_seconds[s] += r.seconds[s];
      switch (r.outcome) {
        case Processed::Outcome::kInvalid:
          if (options.strict)
            return Status::InvalidArgument(r.detail + " (--strict: invalid records are fatal)");
          ++counters["invalid_records"];
          if (options.progress && invalid_warnings++ < 5) {
            std::fprintf(stderr, "isoflop data build: skipped %s\n", r.detail.c_str());
          }
          report_line(r.id, "invalid_record", nullptr, source_ref);
          continue;
        case Processed::Outcome::kQuality:
          ++counters["quality_dropped"];
          ++counters["quality:" + r.detail];
          report_line(r.id, "quality:" + r.detail, nullptr, source_ref);
          continue;
        case Processed::Outcome::kEmpty:
          ++counters["empty_documents"];
          report_line(r.id, "empty", nullptr, source_ref);
          continue;
        case Processed::Outcome::kKept:
          break;
      }
      if (!options.skip_exact) {
        auto [it, inserted] = first_seen.try_emplace(r.hash, static_cast<uint32_t>(kept_ids.size()));
        if (!inserted) {
          ++counters["exact_dup"];
          report_line(r.id, "exact_dup", &kept_ids[it->second], source_ref);
          continue;
        }
      }
      kept_ids.push_back(r.id);
      spill_offsets.push_back(spill.Write(r.id, r.text, r.hash));
      if (hasher) {
        signatures.insert(signatures.end(), batch_signatures.begin() + i * num_hashes,
                          batch_signatures.begin() + (i + 1) * num_hashes);
      }
    }
    double fraction = (*source)->raw_bytes_total() > 0
                          ? static_cast<double>((*source)->raw_bytes_read()) / (*source)->raw_bytes_total()
                          : 0;
    progress.Update("filter", counters["documents_read"], (*source)->text_bytes_read(), fraction);
    if (!*more) break;
  }
  ISOFLOP_RETURN_IF_ERROR(spill.Close());
  first_seen.clear();
  summary.input_bytes = (*source)->text_bytes_read();
  progress.Update("filter", counters["documents_read"], summary.input_bytes, 1.0, /*force=*/true);
  summary.stage_seconds["pass1_wall"] = Seconds(pass1_start);
  for (int s = 0; s < 4; ++s)
    summary.stage_seconds[std::string(kStageNames[s]) + "_core"] = stage_core_seconds[s];
  if (counters["documents_read"] == 0) {
    fs::remove(spill_path, ec);
    return Status::InvalidArgument("no documents in the input (" + std::to_string(options.inputs.size()) +
                                   " path(s) given; empty files, or every line blank?)");
  }

  // ---- Near dedup ----
  const size_t kept_count = kept_ids.size();
  std::vector<uint32_t> representative(kept_count);
  for (size_t d = 0; d < kept_count; ++d) representative[d] = static_cast<uint32_t>(d);
  if (hasher) {
    auto t = Clock::now();
    ExactSimilarity exact(spill_path, spill_offsets, options.minhash.ngram);
    NearDedupResult near = ClusterNearDuplicates(signatures, kept_count, options.minhash, options.threads,
                                                 [&exact](uint32_t a, uint32_t b) { return exact(a, b); });
    representative = std::move(near.representative);
    counters["near_dup_candidate_pairs"] = near.candidate_pairs;
    counters["near_dup_verified_pairs"] = near.verified_pairs;
    counters["near_dup_clusters"] = near.clusters_with_duplicates;
    for (size_t d = 0; d < kept_count; ++d) {
      if (representative[d] != d) {
        ++counters["near_dup"];
        report_line(kept_ids[d], "near_dup", &kept_ids[representative[d]], nullptr);
      }
    }
    summary.stage_seconds["near_dedup_cluster_wall"] = Seconds(t);
  }
  signatures.clear();
  signatures.shrink_to_fit();
  counters["kept"] = static_cast<int64_t>(kept_count) - counters["near_dup"];
  if (report.is_open()) {
    report.close();
    if (!report) return Status::IOError("write to " + options.report_path + " failed");
  }

  json manifest;
  json inputs = json::array();
  for (const auto& in : (*source)->inputs()) {
    inputs.push_back(
        {{"path", in.path}, {"bytes", in.bytes}, {"sha256", in.sha256}, {"compression", in.compression}});
  }
  manifest["format"] = "isoflop-data-manifest";
  manifest["version"] = 1;
  manifest["inputs"] = inputs;
  manifest["config"] = ConfigJson(options);

  if (options.skip_tokenize) {
    // No shards: the curated text itself, as JSONL.
    SpillReader reader;
    ISOFLOP_RETURN_IF_ERROR(reader.Open(spill_path));
    std::ofstream out(fs::path(options.out_dir) / "kept.jsonl", std::ios::trunc);
    SpilledDocument doc;
    for (size_t d = 0; reader.Read(&doc); ++d) {
      if (representative[d] != d) continue;
      counters["bytes_kept"] += static_cast<int64_t>(doc.text.size());
      out << "{\"id\":" << Escape(doc.id) << ",\"text\":" << Escape(doc.text) << "}\n";
    }
    if (!out) return Status::IOError("write to kept.jsonl failed");
  } else {
    // ---- Pass 2: tokenizer ----
    auto t = Clock::now();
    BpeTokenizer tokenizer;
    if (given_tokenizer) {
      tokenizer = std::move(*given_tokenizer);
    } else {
      BpeTrainer trainer(options.tokenizer);
      SpillReader reader;
      ISOFLOP_RETURN_IF_ERROR(reader.Open(spill_path));
      SpilledDocument doc;
      for (size_t d = 0; reader.Read(&doc) && trainer.bytes_counted() < options.tokenizer.max_train_bytes;
           ++d) {
        if (representative[d] == d) trainer.Add(doc.text);
      }
      progress.Update("tokenizer", static_cast<int64_t>(kept_count), trainer.bytes_counted(), 0.5, true);
      tokenizer = trainer.Train();
      counters["tokenizer_train_bytes"] = trainer.bytes_counted();
    }
    const std::string tokenizer_json = tokenizer.ToJson();
    ISOFLOP_RETURN_IF_ERROR(tokenizer.Save((fs::path(options.out_dir) / "tokenizer.json").string()));
    summary.stage_seconds["tokenizer_train_wall"] = Seconds(t);
    manifest["tokenizer"] = {{"file", "tokenizer.json"},
                             {"sha256", Sha256Hex(tokenizer_json)},
                             {"vocab_size", tokenizer.vocab_size()},
                             {"eos_id", BpeTokenizer::kEosId},
                             {"trained", options.tokenizer_path.empty()}};

    // ---- Pass 3: encode and write shards ----
    t = Clock::now();
    progress.Restart();
    auto writer = ShardWriter::Open({.out_dir = options.out_dir,
                                     .vocab_size = tokenizer.vocab_size(),
                                     .eos_id = BpeTokenizer::kEosId,
                                     .max_tokens_per_shard = options.max_tokens_per_shard});
    if (!writer.ok()) return writer.status();
    SpillReader reader;
    ISOFLOP_RETURN_IF_ERROR(reader.Open(spill_path));
    std::vector<BpeEncodeCache> caches(std::max(1, options.threads));
    double encode_core_seconds = 0;
    int64_t encoded_docs = 0, encoded_bytes = 0;
    bool more = true;
    size_t next_doc = 0;
    while (more) {
      std::vector<SpilledDocument> batch;
      size_t bytes = 0;
      while (bytes < options.batch_bytes) {
        SpilledDocument doc;
        if (!reader.Read(&doc)) {
          more = false;
          break;
        }
        size_t d = next_doc++;
        if (representative[d] != d) continue;
        bytes += doc.text.size();
        batch.push_back(std::move(doc));
      }
      std::vector<std::vector<uint32_t>> ids(batch.size());
      std::vector<double> seconds(batch.size());
      ParallelFor(batch.size(), options.threads, [&](int worker, size_t i) {
        double start = ThreadCpuSeconds();
        tokenizer.Encode(batch[i].text, &ids[i], &caches[worker]);
        seconds[i] = ThreadCpuSeconds() - start;
      });
      for (size_t i = 0; i < batch.size(); ++i) {
        encode_core_seconds += seconds[i];
        counters["bytes_kept"] += static_cast<int64_t>(batch[i].text.size());
        ISOFLOP_RETURN_IF_ERROR(
            (*writer)->Add(IsValidation(batch[i].hash, options.val_fraction) ? "val" : "train", ids[i]));
      }
      encoded_docs += static_cast<int64_t>(batch.size());
      encoded_bytes += static_cast<int64_t>(bytes);
      progress.Update("tokenize", encoded_docs, encoded_bytes,
                      counters["kept"] > 0 ? static_cast<double>(encoded_docs) / counters["kept"] : 1.0);
    }
    auto shards = (*writer)->Finish();
    if (!shards.ok()) return shards.status();
    summary.stage_seconds["tokenize_core"] = encode_core_seconds;
    summary.stage_seconds["tokenize_wall"] = Seconds(t);
    counters["tokens_train"] = shards->TokensIn("train");
    counters["tokens_val"] = shards->TokensIn("val");
    counters["documents_train"] = shards->DocumentsIn("train");
    counters["documents_val"] = shards->DocumentsIn("val");
    json files = json::array();
    for (const auto& s : shards->shards) {
      files.push_back({{"split", s.split},
                       {"file", s.file},
                       {"tokens", s.num_tokens},
                       {"documents", s.num_documents},
                       {"sha256", s.sha256}});
    }
    manifest["shards"] = {{"index", "index.tsv"},
                          {"token_bytes", shards->token_bytes},
                          {"eos_id", shards->eos_id},
                          {"files", files}};
    if (counters["tokens_train"] == 0) {
      std::fprintf(stderr, "isoflop data build: warning: no training tokens (every document was dropped?)\n");
    }
  }
  fs::remove(spill_path, ec);
  manifest["counters"] = counters;
  {
    std::ofstream out(fs::path(options.out_dir) / "manifest.json", std::ios::trunc);
    out << manifest.dump(2) << '\n';
    if (!out) return Status::IOError("cannot write manifest.json in " + options.out_dir);
  }
  summary.wall_seconds = Seconds(build_start);
  return summary;
}

std::string BuildSummary::BriefReport() const {
  auto get = [&](const char* key) {
    auto it = counters.find(key);
    return it == counters.end() ? int64_t{0} : it->second;
  };
  char line[512];
  std::snprintf(line, sizeof(line),
                "%" PRId64 " documents read, %" PRId64 " kept (quality %" PRId64 ", exact %" PRId64
                ", near %" PRId64 ", invalid %" PRId64 ", empty %" PRId64 " dropped); %" PRId64
                " train + %" PRId64 " val tokens; %.1f MB in %.2f s (%.1f MB/s)\n",
                get("documents_read"), get("kept"), get("quality_dropped"), get("exact_dup"), get("near_dup"),
                get("invalid_records"), get("empty_documents"), get("tokens_train"), get("tokens_val"),
                input_bytes / 1e6, wall_seconds, wall_seconds > 0 ? input_bytes / 1e6 / wall_seconds : 0.0);
  return line;
}

std::string BuildSummary::FullReport() const {
  std::ostringstream out;
  out << BriefReport() << "counters:\n";
  for (const auto& [key, value] : counters) out << "  " << key << ": " << value << '\n';
  out << "seconds (\"_core\": CPU time summed over worker threads; \"_wall\": elapsed):\n";
  for (const auto& [key, value] : stage_seconds) out << "  " << key << ": " << value << '\n';
  return out.str();
}

std::string BuildSummary::ToJson() const {
  json j;
  j["out_dir"] = out_dir;
  j["counters"] = counters;
  j["stage_seconds"] = stage_seconds;
  j["input_bytes"] = input_bytes;
  j["wall_seconds"] = wall_seconds;
  j["mb_per_s"] = wall_seconds > 0 ? input_bytes / 1e6 / wall_seconds : 0.0;
  return j.dump(2);
}

}  // namespace isoflop::data
