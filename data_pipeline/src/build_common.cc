// What every stage of the build shares: counters, the manifest's config, timing, progress.
#include <time.h>

#include <cinttypes>
#include <cstdio>

#include "build_stages.h"

namespace isoflop::data {

std::string JsonString(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

Progress::Progress(bool enabled, std::string stage)
    : enabled_(enabled), stage_(std::move(stage)), start_(Clock::now()), last_(start_) {}

void Progress::Update(int64_t docs, int64_t bytes, double fraction, bool force) {
  if (!enabled_) return;
  auto now = Clock::now();
  if (!force && std::chrono::duration<double>(now - last_).count() < 1.0) return;
  last_ = now;
  double elapsed = std::max(1e-9, std::chrono::duration<double>(now - start_).count());
  double eta = fraction > 0.001 ? elapsed * (1 - fraction) / fraction : 0;
  std::fprintf(stderr,
               "isoflop data build: %-10s %10" PRId64 " docs %8.0f docs/s %7.1f MB/s %5.1f%% ETA %.0fs\n",
               stage_.c_str(), docs, docs / elapsed, bytes / elapsed / 1e6, 100 * fraction, eta);
}

json ZeroCounters() {
  json counters = json::object();
  for (const char* key :
       {"documents_read", "invalid_records", "empty_documents", "quality_dropped", "exact_dup", "near_dup",
        "kept", "c4_lines_removed", "invalid_utf8_bytes", "documents_with_invalid_utf8",
        "documents_changed_by_nfc", "near_dup_candidate_pairs", "near_dup_verified_pairs",
        "near_dup_clusters", "bytes_read", "bytes_kept"}) {
    counters[key] = 0;
  }
  for (const auto& rule : AllQualityRuleNames()) counters["quality:" + rule] = 0;
  return counters;
}

void AddCounters(const json& from, json* into) {
  for (const auto& [key, value] : from.items()) {
    const int64_t before = into->contains(key) ? (*into)[key].get<int64_t>() : 0;
    (*into)[key] = before + value.get<int64_t>();
  }
}

Status NothingKept(const json& counters, const BuildOptions& options) {
  auto get = [&](const char* key) { return counters.contains(key) ? counters[key].get<int64_t>() : 0; };
  const std::string what = options.skip_tokenize ? "no document was kept" : "no training tokens";
  return Status::InvalidArgument(what + ": of " + std::to_string(get("documents_read")) + " documents, " +
                                 std::to_string(get("quality_dropped")) + " failed the quality rules, " +
                                 std::to_string(get("exact_dup")) + " were exact and " +
                                 std::to_string(get("near_dup")) + " near duplicates, " +
                                 std::to_string(get("invalid_records")) + " invalid, " +
                                 std::to_string(get("empty_documents")) + " empty, " +
                                 std::to_string(get("documents_val")) + " went to the validation split" +
                                 (options.report_path.empty() ? " (--report FILE lists each one)" : "") +
                                 "; " + options.out_dir + " was left as it was");
}

json ConfigJson(const BuildOptions& o) {
  const auto& gq = o.quality.gopher_quality;
  const auto& gr = o.quality.gopher_repetition;
  const auto& c4 = o.quality.c4;
  return json{
      {"input",
       {{"format", o.input.format},
        {"text_field", o.input.text_field},
        {"id_field", o.input.id_field},
        {"text_unit", o.input.text_unit},
        {"max_record_bytes", o.input.max_record_bytes}}},
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
        {"verify", o.minhash.verify},
        {"verify_threshold", o.minhash.verify_threshold},
        {"anchors_per_bucket", 16}}},
      {"tokenizer",
       {{"vocab_size", o.tokenizer.vocab_size},
        {"max_train_bytes", o.tokenizer.max_train_bytes},
        {"min_pair_count", o.tokenizer.min_pair_count},
        {"sample", "smallest content hash"},
        {"loaded_from", o.tokenizer_path},
        {"eos_token", o.tokenizer_eos}}},
      {"val_fraction", o.val_fraction},
      {"max_tokens_per_shard", o.max_tokens_per_shard},
  };
}

}  // namespace isoflop::data
