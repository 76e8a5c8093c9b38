// Stage 2 of `isoflop data build`: document quality rules. Defaults are the papers'
// thresholds; every rule and its source is listed in docs/data.md ("Quality rules").
//
//  - Gopher quality (Rae et al. 2021, "Scaling Language Models: Methods, Analysis &
//    Insights from Training Gopher", Appendix A.1.1, "Quality filtering").
//  - Gopher repetition (same paper, Appendix A.1.1 and Table A1).
//  - C4 (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
//    Text-to-Text Transformer", JMLR, §2.2; constants of TFDS c4_utils): line filtering plus
//    page rules.
//
// Rule names (`quality:<rule>` in dropped.jsonl and the manifest's counters) are stable.
#ifndef ISOFLOP_QUALITY_FILTERS_H_
#define ISOFLOP_QUALITY_FILTERS_H_

#include <string>
#include <string_view>
#include <vector>

namespace isoflop::data {

struct GopherQualityOptions {
  bool enabled = true;
  int min_words = 50;               // gopher_min_words: non-symbol words
  int max_words = 100000;           // gopher_max_words
  double min_mean_word_length = 3;  // gopher_mean_word_length (characters)
  double max_mean_word_length = 10;
  double max_hash_to_word_ratio = 0.1;      // gopher_hash_ratio: '#' per word
  double max_ellipsis_to_word_ratio = 0.1;  // gopher_ellipsis_ratio: "..." or "…" per word
  double max_bullet_line_fraction = 0.9;    // gopher_bullet_lines: lines starting with • or -
  double max_ellipsis_line_fraction = 0.3;  // gopher_ellipsis_lines: lines ending in ... or …
  double min_alpha_word_fraction = 0.8;     // gopher_alpha_words: words with a letter
  int min_stop_words = 2;  // gopher_stop_words: distinct of the, be, to, of, and, that, have, with
};

struct GopherRepetitionOptions {
  bool enabled = true;
  double max_duplicate_line_fraction = 0.30;            // gopher_dup_lines
  double max_duplicate_paragraph_fraction = 0.30;       // gopher_dup_paragraphs
  double max_duplicate_line_char_fraction = 0.20;       // gopher_dup_line_chars
  double max_duplicate_paragraph_char_fraction = 0.20;  // gopher_dup_paragraph_chars
  // gopher_top_2gram, _3gram, _4gram: characters in the most frequent n-gram's occurrences.
  std::vector<double> max_top_ngram_char_fraction = {0.20, 0.18, 0.16};  // n = 2, 3, 4
  // gopher_dup_5gram … _10gram: characters in n-grams that occur more than once.
  std::vector<double> max_duplicate_ngram_char_fraction = {0.15, 0.14, 0.13, 0.12, 0.11, 0.10};  // n = 5..10
};

struct C4Options {
  bool enabled = true;
  bool filter_lines = true;       // drop lines without terminal punctuation / too few words / "javascript"
  int min_words_per_line = 5;     // TFDS c4_utils _MIN_WORDS_PER_LINE (JMLR text: "at least 5 words")
  int min_sentences = 3;          // c4_too_few_sentences: TFDS _MIN_NUM_SENTENCES
  bool drop_lorem_ipsum = true;   // c4_lorem_ipsum
  bool drop_curly_brace = true;   // c4_curly_brace
  bool drop_policy_lines = true;  // lines with "javascript", "cookie policy", "terms of use", …
  std::vector<std::string> bad_words;  // c4_bad_words: optional list (lowercase); empty = off
};

struct QualityOptions {
  GopherRepetitionOptions gopher_repetition;
  GopherQualityOptions gopher_quality;
  C4Options c4;
};

struct QualityResult {
  std::string failed_rule;  // "" when the document is kept
  int lines_removed = 0;    // by C4 line filtering (the text is edited in place)
  bool kept() const { return failed_rule.empty(); }
};

// Applies the enabled rules in the order repetition → quality → C4 and stops at the
// first failure. C4 line filtering edits `text`.
QualityResult ApplyQualityRules(std::string* text, const QualityOptions& options);

// The individual rules, for tests and for `--skip`. Each returns "" or the rule name.
std::string GopherRepetitionRule(std::string_view text, const GopherRepetitionOptions& options);
std::string GopherQualityRule(std::string_view text, const GopherQualityOptions& options);
std::string C4Rule(std::string* text, const C4Options& options, int* lines_removed);

// Every rule name the filters can return, for counters that list zeros too.
std::vector<std::string> AllQualityRuleNames();

}  // namespace isoflop::data

#endif  // ISOFLOP_QUALITY_FILTERS_H_
