#include "build_plan.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

namespace isoflop::data {

// Every option, for plan.json (the manifest's "config" is the subset that changes the output).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InputOptions, format, text_field, id_field, text_unit, max_record_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NormalizerOptions, nfc, clean_whitespace)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GopherQualityOptions, enabled, min_words, max_words, min_mean_word_length,
                                   max_mean_word_length, max_hash_to_word_ratio, max_ellipsis_to_word_ratio,
                                   max_bullet_line_fraction, max_ellipsis_line_fraction,
                                   min_alpha_word_fraction, min_stop_words)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GopherRepetitionOptions, enabled, max_duplicate_line_fraction,
                                   max_duplicate_paragraph_fraction, max_duplicate_line_char_fraction,
                                   max_duplicate_paragraph_char_fraction, max_top_ngram_char_fraction,
                                   max_duplicate_ngram_char_fraction)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(C4Options, enabled, filter_lines, min_words_per_line, min_sentences,
                                   drop_lorem_ipsum, drop_curly_brace, drop_policy_lines, bad_words)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(QualityOptions, gopher_repetition, gopher_quality, c4)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MinHashOptions, ngram, num_bands, rows_per_band, seed, verify,
                                   verify_threshold)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BpeTrainerOptions, vocab_size, max_train_bytes, min_pair_count)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BuildOptions, inputs, out_dir, report_path, strict, skip_quality,
                                   skip_exact, skip_near, skip_tokenize, input, normalize, quality,
                                   min_document_bytes, minhash, tokenizer, tokenizer_path, tokenizer_eos,
                                   val_fraction, max_tokens_per_shard, batch_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InputFileInfo, path, bytes, compression)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InputUnit, file, begin, end)

namespace {

using json = nlohmann::json;

// The offset just after the first '\n' at or after `from` in `path`, or the file's size.
StatusOr<int64_t> NextLineStart(const std::string& path, int64_t from, int64_t size) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f || std::fseek(f.get(), static_cast<long>(from), SEEK_SET) != 0) {
    return Status::InvalidArgument("cannot read input " + path);
  }
  std::vector<char> buffer(64 << 10);
  int64_t at = from;
  while (at < size) {
    size_t got = std::fread(buffer.data(), 1, buffer.size(), f.get());
    if (got == 0) break;
    if (const void* nl = std::memchr(buffer.data(), '\n', got)) {
      return at + (static_cast<const char*>(nl) - buffer.data()) + 1;
    }
    at += static_cast<int64_t>(got);
  }
  return size;
}

}  // namespace

std::string BuildPlan::ToJson() const {
  json j;
  j["format"] = "isoflop-data-build-plan";
  j["version"] = 1;
  j["options"] = options;
  j["files"] = files;
  j["groups"] = groups;
  j["tasks"] = tasks;
  j["band_partitions"] = band_partitions;
  j["work_dir"] = work_dir;
  j["base_dir"] = base_dir;
  return j.dump(1) + "\n";
}

StatusOr<BuildPlan> BuildPlan::FromJson(const std::string& text, const std::string& source) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "isoflop-data-build-plan" ||
      j.value("version", 0) != 1) {
    return Status::Corruption(source + ": not an isoflop build plan");
  }
  try {
    BuildPlan plan;
    plan.options = j.at("options").get<BuildOptions>();
    plan.files = j.at("files").get<std::vector<InputFileInfo>>();
    plan.groups = j.at("groups").get<std::vector<std::vector<InputUnit>>>();
    plan.tasks = j.at("tasks").get<int>();
    plan.band_partitions = j.at("band_partitions").get<int>();
    plan.work_dir = j.at("work_dir").get<std::string>();
    plan.base_dir = j.at("base_dir").get<std::string>();
    return plan;
  } catch (const std::exception& e) {
    return Status::Corruption(source + ": " + e.what());
  }
}

StatusOr<BuildPlan> MakeBuildPlan(const BuildOptions& options, int tasks, const std::string& work_dir) {
  BuildPlan plan;
  plan.options = options;
  plan.options.threads = 1;
  plan.options.progress = false;
  plan.work_dir = work_dir;
  std::error_code ec;
  plan.base_dir = std::filesystem::current_path(ec).string();
  auto files = ExpandInputs(options.inputs, options.input);
  if (!files.ok()) return files.status();
  plan.files = std::move(*files);
  std::vector<int64_t> start(plan.files.size() + 1, 0);  // global byte offset of each file
  for (size_t f = 0; f < plan.files.size(); ++f) start[f + 1] = start[f] + plan.files[f].bytes;
  const int64_t total = start.back();
  // tasks <= 0 (the one-process build): one group per kLocalGroupBytes, run one after another,
  // so that what a task holds (proposals, key runs) stays bounded on any input.
  constexpr int64_t kLocalGroupBytes = int64_t{8} << 30;
  plan.tasks =
      tasks > 0 ? tasks
                : static_cast<int>(std::max<int64_t>(1, (total + kLocalGroupBytes - 1) / kLocalGroupBytes));

  // Cut points in global bytes: near k·total/tasks, moved to a line start inside plain JSONL
  // files, to the nearer file boundary inside any other file.
  std::vector<int64_t> cuts = {0, total};
  for (int k = 1; k < plan.tasks; ++k) {
    const int64_t target = static_cast<int64_t>(static_cast<long double>(total) * k / plan.tasks);
    size_t f = std::upper_bound(start.begin(), start.end(), target) - start.begin() - 1;
    if (f >= plan.files.size()) continue;
    const InputFileInfo& info = plan.files[f];
    int64_t cut;
    if (info.compression == "none" && IsJsonlInput(info.path, options.input)) {
      auto line_start = NextLineStart(info.path, target - start[f], info.bytes);
      if (!line_start.ok()) return line_start.status();
      cut = start[f] + *line_start;
    } else {
      cut = target - start[f] < start[f + 1] - target ? start[f] : start[f + 1];
    }
    cuts.push_back(cut);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  // Groups: the files' pieces between consecutive cuts (empty files go with the next piece).
  size_t f = 0;
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    std::vector<InputUnit> units;
    while (f < plan.files.size() && start[f] < cuts[c + 1]) {
      const int64_t begin = std::max(cuts[c], start[f]) - start[f];
      const int64_t end = std::min(cuts[c + 1], start[f + 1]) - start[f];
      units.push_back({static_cast<uint32_t>(f), begin, end == plan.files[f].bytes ? -1 : end});
      if (start[f + 1] <= cuts[c + 1]) {
        ++f;
      } else {
        break;
      }
    }
    if (!units.empty()) plan.groups.push_back(std::move(units));
  }
  // Files of 0 bytes after the last cut (or all files empty).
  for (; f < plan.files.size(); ++f) {
    if (plan.groups.empty()) plan.groups.emplace_back();
    plan.groups.back().push_back({static_cast<uint32_t>(f), 0, -1});
  }
  // Band tasks: 1 + num_bands items (the exact-duplicate pseudo-band and each band), each split
  // into key ranges when there are more tasks than items.
  const int items = 1 + (options.skip_near ? 0 : options.minhash.num_bands);
  plan.band_partitions = std::max(1, (plan.tasks + items - 1) / items);
  return plan;
}

std::string BuildPlan::Resolve(const std::string& path) const {
  if (path.empty() || std::filesystem::path(path).is_absolute() || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

std::vector<BuildStageInfo> PlanStages(const BuildPlan& plan) {
  const int groups = plan.num_groups();
  return {{"scan", groups},   {"bands", plan.tasks},    {"verify", groups}, {"decide", 1},
          {"encode", groups}, {"assemble", plan.tasks}, {"finalize", 1}};
}

}  // namespace isoflop::data
