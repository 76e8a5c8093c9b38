// `data tokenizer train`, `data stats`, `data sample`.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "document_source.h"
#include "isoflop/data_pipeline.h"
#include "isoflop/hf_tokenizer.h"
#include "isoflop/token_reader.h"
#include "sha256.h"

namespace isoflop::data {

namespace fs = std::filesystem;
using json = nlohmann::json;

StatusOr<TokenizerTrainSummary> TrainTokenizer(const TokenizerTrainOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  auto start = std::chrono::steady_clock::now();
  auto source = DocumentSource::Open(options.inputs, options.input);
  if (!source.ok()) return source.status();
  BpeTrainer trainer(options.trainer);
  TokenizerTrainSummary summary;
  NormalizerCounters counters;
  while (trainer.bytes_counted() < options.trainer.max_train_bytes) {
    std::vector<RawRecord> records;
    auto more = (*source)->Next(&records, 8 << 20);
    if (!more.ok()) return more.status();
    for (const RawRecord& record : records) {
      std::string text = record.bytes;
      if (record.is_json) {
        json doc = json::parse(record.bytes, nullptr, false);
        if (doc.is_discarded() || !doc.is_object() || !doc.contains(options.input.text_field) ||
            !doc[options.input.text_field].is_string()) {
          continue;  // `data build` reports these; training just skips them
        }
        text = doc[options.input.text_field].get<std::string>();
      }
      trainer.Add(NormalizeText(text, options.normalize, &counters));
      ++summary.documents;
    }
    if (!*more || records.empty()) break;
  }
  if (summary.documents == 0) return Status::InvalidArgument("no documents in the input");
  BpeTokenizer tokenizer = trainer.Train();
  ISOFLOP_RETURN_IF_ERROR(tokenizer.Save(options.out_path));
  summary.vocab_size = tokenizer.vocab_size();
  summary.bytes_counted = trainer.bytes_counted();
  summary.sha256 = Sha256Hex(tokenizer.ToJson());
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

std::string TokenizerTrainSummary::BriefReport() const {
  char line[256];
  std::snprintf(line, sizeof(line), "vocab %u from %" PRId64 " documents (%.1f MB) in %.2f s; sha256 %s\n",
                vocab_size, documents, bytes_counted / 1e6, seconds, sha256.c_str());
  return line;
}

StatusOr<DatasetStats> ReadDatasetStats(const std::string& dir) {
  std::string path = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(path);
  if (!in)
    return Status::InvalidArgument(path + " not found (is " + dir + " the --out of `isoflop data build`?)");
  std::stringstream text;
  text << in.rdbuf();
  json manifest = json::parse(text.str(), nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() ||
      manifest.value("format", "") != "isoflop-data-manifest") {
    return Status::Corruption(path + ": not an isoflop data manifest");
  }
  return DatasetStats{text.str()};
}

std::string DatasetStats::BriefReport() const {
  json m = json::parse(manifest_json, nullptr, false);
  std::ostringstream out;
  const json& c = m["counters"];
  auto get = [&](const char* key) { return c.contains(key) ? c[key].get<int64_t>() : 0; };
  out << "inputs: " << m["inputs"].size() << " file(s), " << get("bytes_read") / 1e6 << " MB of text\n";
  out << "documents: " << get("documents_read") << " read, " << get("kept") << " kept\n";
  out << "dropped: quality " << get("quality_dropped") << ", exact_dup " << get("exact_dup") << ", near_dup "
      << get("near_dup") << ", invalid " << get("invalid_records") << ", empty " << get("empty_documents")
      << '\n';
  std::vector<std::pair<int64_t, std::string>> rules;
  for (const auto& [key, value] : c.items()) {
    if (key.starts_with("quality:") && value.get<int64_t>() > 0)
      rules.emplace_back(value.get<int64_t>(), key);
  }
  std::sort(rules.rbegin(), rules.rend());
  for (const auto& [count, rule] : rules) out << "  " << rule << ": " << count << '\n';
  if (m.contains("tokenizer")) {
    out << "tokenizer: vocab " << m["tokenizer"]["vocab_size"] << ", sha256 "
        << m["tokenizer"]["sha256"].get<std::string>().substr(0, 16) << "…\n";
  }
  if (m.contains("shards")) {
    out << "tokens: train " << get("tokens_train") << " (" << get("documents_train") << " docs), val "
        << get("tokens_val") << " (" << get("documents_val") << " docs) in " << m["shards"]["files"].size()
        << " shard(s) of uint" << 8 * m["shards"]["token_bytes"].get<int>() << '\n';
  }
  return out.str();
}

StatusOr<std::vector<std::string>> SampleWindows(const SampleOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  auto tokenizer = LoadTokenizerFile((fs::path(options.dir) / "tokenizer.json").string());
  if (!tokenizer.ok()) return tokenizer.status();
  auto reader = TokenReader::Open({.shards_dir = options.dir,
                                   .split = options.split,
                                   .batch_size = 1,
                                   .seq_len = options.seq_len,
                                   .seed = options.seed});
  if (!reader.ok()) return reader.status();
  if ((*reader)->vocab_size() != tokenizer->vocab_size()) {
    return Status::Corruption(options.dir + ": index.tsv vocab_size " +
                              std::to_string((*reader)->vocab_size()) + " differs from tokenizer.json's " +
                              std::to_string(tokenizer->vocab_size()));
  }
  std::vector<std::string> windows;
  std::vector<int32_t> tokens;
  for (int i = 0; i < options.count; ++i) {
    ISOFLOP_RETURN_IF_ERROR((*reader)->Next(&tokens));
    std::vector<uint32_t> ids(tokens.begin(), tokens.end());
    windows.push_back(tokenizer->Decode(ids));
  }
  return windows;
}

}  // namespace isoflop::data
