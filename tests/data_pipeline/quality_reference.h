// The quality rules as first written: the straightforward definitions (one pass over the
// words per n, node-based sets), kept verbatim as the reference the fast implementation in
// data_pipeline/src/quality_filters.cc is compared with (quality_equivalence tests in
// gopher_repetition_test.cc). Not used by the library.
#ifndef ISOFLOP_TESTS_DATA_PIPELINE_QUALITY_REFERENCE_H_
#define ISOFLOP_TESTS_DATA_PIPELINE_QUALITY_REFERENCE_H_

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "isoflop/quality_filters.h"

namespace isoflop::data::reference {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
inline bool IsAsciiPunctuation(unsigned char c) {
  return c < 0x80 && std::ispunct(c);
}
// Non-ASCII bytes count as letters: most non-ASCII text in an English corpus is letters
// (accented, other scripts); the exceptions (…, –, “) are handled where they matter.
inline bool IsLetterByte(unsigned char c) {
  return c >= 0x80 || std::isalpha(c);
}

inline size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

inline std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Non-empty lines (datatrove: re.split(r"\n+", text)) or paragraphs (re.split(r"\n{2,}")).
inline std::vector<std::string_view> SplitBlocks(std::string_view text, bool paragraphs) {
  std::vector<std::string_view> blocks;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    size_t end = i;
    while (end < text.size()) {
      if (text[end] == '\n') {
        size_t run = end;
        while (run < text.size() && text[run] == '\n') ++run;
        if (!paragraphs || run - end >= 2) break;
        end = run;
        continue;
      }
      ++end;
    }
    if (end > start) blocks.push_back(text.substr(start, end - start));
    i = end;
    while (i < text.size() && text[i] == '\n') ++i;
  }
  return blocks;
}

// Gopher Table A1 "duplicate line/paragraph fraction" and "… character fraction":
// elements equal to an earlier one, by count and by characters.
inline void CountDuplicates(const std::vector<std::string_view>& elements, size_t* duplicate_elements,
                            size_t* duplicate_chars) {
  std::unordered_set<std::string_view> seen;
  *duplicate_elements = 0;
  *duplicate_chars = 0;
  for (std::string_view e : elements) {
    if (!seen.insert(e).second) {
      ++*duplicate_elements;
      *duplicate_chars += e.size();
    }
  }
}

// Open-addressing hash counter of 64-bit keys (linear probing, load ≤ 1/2), cleared in
// O(capacity) and reused, so counting n-grams allocates nothing per document.
class FlatCounter {
 public:
  void Reset(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected) capacity <<= 1;
    // Only the first `capacity` slots are used: a large document's table serves small ones
    // without reallocating, and clearing costs what the document needs.
    if (keys_.size() < capacity) {
      keys_.resize(capacity);
      counts_.resize(capacity);
      firsts_.resize(capacity);
    }
    std::fill(counts_.begin(), counts_.begin() + capacity, 0);
    mask_ = capacity - 1;
  }
  // Counts `key`; returns (its count so far, the value stored with its first occurrence).
  std::pair<uint32_t, uint32_t> Add(uint64_t key, uint32_t first) {
    size_t slot = (key * 0x9e3779b97f4a7c15ULL) >> 20 & mask_;
    while (counts_[slot] != 0 && keys_[slot] != key) slot = (slot + 1) & mask_;
    if (counts_[slot] == 0) {
      keys_[slot] = key;
      firsts_[slot] = first;
    }
    return {++counts_[slot], firsts_[slot]};
  }

 private:
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> counts_, firsts_;
  size_t mask_ = 0;
};

inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

inline size_t CountOccurrences(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

inline std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Sentences in a line: terminal . ! ? (optionally followed by closing quotes or brackets)
// at the end of the line or before a space. An approximation of the sentence splitter
// TFDS uses (nltk punkt); abbreviations like "Mr." count as sentence ends.
inline int CountSentences(std::string_view line) {
  int sentences = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == ')')) ++j;
    if (line.substr(j, 3) == "\xE2\x80\x9D" || line.substr(j, 3) == "\xE2\x80\x99") j += 3;  // ” ’
    if (j == line.size() || line[j] == ' ') {
      ++sentences;
      while (i + 1 < line.size() && (line[i + 1] == '.' || line[i + 1] == '!' || line[i + 1] == '?')) ++i;
    }
  }
  return sentences;
}

inline std::string GopherRepetitionRule(std::string_view text, const GopherRepetitionOptions& o) {
  if (!o.enabled || text.empty()) return "";
  const double total_chars = static_cast<double>(text.size());
  size_t duplicates = 0, duplicate_chars = 0;

  auto paragraphs = SplitBlocks(text, /*paragraphs=*/true);
  CountDuplicates(paragraphs, &duplicates, &duplicate_chars);
  if (!paragraphs.empty() &&
      static_cast<double>(duplicates) / paragraphs.size() > o.max_duplicate_paragraph_fraction) {
    return "gopher_dup_paragraphs";
  }
  if (duplicate_chars / total_chars > o.max_duplicate_paragraph_char_fraction)
    return "gopher_dup_paragraph_chars";

  auto lines = SplitBlocks(text, /*paragraphs=*/false);
  CountDuplicates(lines, &duplicates, &duplicate_chars);
  if (!lines.empty() && static_cast<double>(duplicates) / lines.size() > o.max_duplicate_line_fraction) {
    return "gopher_dup_lines";
  }
  if (duplicate_chars / total_chars > o.max_duplicate_line_char_fraction) return "gopher_dup_line_chars";

  // n-grams of words, compared by a 64-bit hash combining their word hashes (a collision
  // only ever makes a document look more repetitive, with probability ~n²/2⁶⁴). Counting
  // uses a flat open-addressing table reused across documents: these nine passes over the
  // words are most of the quality stage's cost, and node-based hash maps made it ~10× slower.
  auto words = SplitWords(text);
  const size_t n_words = words.size();
  thread_local std::vector<uint64_t> word_hash;
  thread_local std::vector<uint32_t> word_length_prefix;  // prefix sums of word lengths
  word_hash.resize(n_words);
  word_length_prefix.resize(n_words + 1);
  word_length_prefix[0] = 0;
  for (size_t i = 0; i < n_words; ++i) {
    word_hash[i] = XXH3_64bits(words[i].data(), words[i].size());
    word_length_prefix[i + 1] = word_length_prefix[i] + static_cast<uint32_t>(words[i].size());
  }
  auto ngram_hash = [&](size_t start, size_t n) {
    uint64_t h = 0x243f6a8885a308d3ULL ^ n;
    for (size_t k = 0; k < n; ++k) h = (h ^ word_hash[start + k]) * 0x9e3779b97f4a7c15ULL + k;
    return h ^ (h >> 29);
  };
  auto ngram_chars = [&](size_t start, size_t n) {
    return static_cast<size_t>(word_length_prefix[start + n] - word_length_prefix[start]);
  };
  thread_local FlatCounter table;

  // Top n-gram character fraction: the most frequent n-gram's length (words joined by
  // spaces) times its count, over the text's characters.
  for (size_t k = 0; k < o.max_top_ngram_char_fraction.size(); ++k) {
    size_t n = 2 + k;
    if (n_words < n) break;
    table.Reset(n_words);
    size_t best_count = 0, best_start = 0;
    for (size_t i = 0; i + n <= n_words; ++i) {
      auto [count, first] = table.Add(ngram_hash(i, n), static_cast<uint32_t>(i));
      if (count > best_count || (count == best_count && first < best_start)) {
        best_count = count;
        best_start = first;
      }
    }
    if (best_count < 2) continue;  // an n-gram seen once is not repetition
    double chars = static_cast<double>((ngram_chars(best_start, n) + n - 1) * best_count);
    if (chars / total_chars > o.max_top_ngram_char_fraction[k])
      return "gopher_top_" + std::to_string(n) + "gram";
  }

  // Duplicate n-gram character fraction: characters of n-grams equal to an earlier one,
  // skipping past a repeated n-gram so its words are not counted twice (datatrove).
  for (size_t k = 0; k < o.max_duplicate_ngram_char_fraction.size(); ++k) {
    size_t n = 5 + k;
    if (n_words < n) break;
    table.Reset(n_words);
    size_t repeated_chars = 0;
    size_t i = 0;
    while (i + n <= n_words) {
      if (table.Add(ngram_hash(i, n), static_cast<uint32_t>(i)).first > 1) {
        repeated_chars += ngram_chars(i, n);
        i += n;
      } else {
        ++i;
      }
    }
    if (repeated_chars / total_chars > o.max_duplicate_ngram_char_fraction[k]) {
      return "gopher_dup_" + std::to_string(n) + "gram";
    }
  }
  return "";
}

inline std::string GopherQualityRule(std::string_view text, const GopherQualityOptions& o) {
  if (!o.enabled) return "";
  auto words = SplitWords(text);
  size_t non_symbol_words = 0, non_symbol_chars = 0, alpha_words = 0;
  static const std::array<std::string_view, 8> kStopWords = {"the", "be",   "to",   "of",
                                                             "and", "that", "have", "with"};
  uint32_t stop_words_seen = 0;  // bit per stop word
  for (std::string_view w : words) {
    bool symbol_only = true, has_letter = false;
    for (unsigned char c : w) {
      if (!IsAsciiPunctuation(c)) symbol_only = false;
      if (IsLetterByte(c)) has_letter = true;
    }
    if (!symbol_only) {
      ++non_symbol_words;
      non_symbol_chars += CodePoints(w);
    }
    alpha_words += has_letter;
    for (size_t s = 0; s < kStopWords.size(); ++s) {
      if (w == kStopWords[s]) stop_words_seen |= 1u << s;
    }
  }
  if (static_cast<int64_t>(non_symbol_words) < o.min_words) return "gopher_min_words";
  if (static_cast<int64_t>(non_symbol_words) > o.max_words) return "gopher_max_words";
  double mean_length = static_cast<double>(non_symbol_chars) / non_symbol_words;
  if (mean_length < o.min_mean_word_length || mean_length > o.max_mean_word_length)
    return "gopher_mean_word_length";
  const double n_words = static_cast<double>(words.size());
  if (CountOccurrences(text, "#") / n_words > o.max_hash_to_word_ratio) return "gopher_hash_ratio";
  if ((CountOccurrences(text, "...") + CountOccurrences(text, "\xE2\x80\xA6")) / n_words >
      o.max_ellipsis_to_word_ratio) {
    return "gopher_ellipsis_ratio";
  }
  auto lines = SplitLines(text);
  size_t bullet_lines = 0, ellipsis_lines = 0;
  for (std::string_view line : lines) {
    std::string_view t = TrimSpaces(line);
    if (StartsWith(t, "\xE2\x80\xA2") || StartsWith(t, "-")) ++bullet_lines;  // • or -
    if (EndsWith(t, "...") || EndsWith(t, "\xE2\x80\xA6")) ++ellipsis_lines;
  }
  if (static_cast<double>(bullet_lines) / lines.size() > o.max_bullet_line_fraction)
    return "gopher_bullet_lines";
  if (static_cast<double>(ellipsis_lines) / lines.size() > o.max_ellipsis_line_fraction)
    return "gopher_ellipsis_lines";
  if (alpha_words / n_words < o.min_alpha_word_fraction) return "gopher_alpha_words";
  if (std::popcount(stop_words_seen) < o.min_stop_words) return "gopher_stop_words";
  return "";
}

inline std::string C4Rule(std::string* text, const C4Options& o, int* lines_removed) {
  *lines_removed = 0;
  if (!o.enabled) return "";
  static const std::array<std::string_view, 6> kPolicy = {"terms of use", "privacy policy", "cookie policy",
                                                          "uses cookies", "use of cookies", "use cookies"};
  std::unordered_set<std::string> bad_words(o.bad_words.begin(), o.bad_words.end());
  std::string kept;
  kept.reserve(text->size());
  int sentences = 0;
  bool paragraph_break = false;
  for (std::string_view raw : SplitLines(*text)) {
    std::string_view line = TrimSpaces(raw);
    if (line.empty()) {
      paragraph_break = true;
      continue;
    }
    std::string lower = Lowercase(line);
    if (o.drop_lorem_ipsum && lower.find("lorem ipsum") != std::string::npos) return "c4_lorem_ipsum";
    if (o.drop_curly_brace && line.find('{') != std::string_view::npos) return "c4_curly_brace";
    if (!bad_words.empty()) {
      for (std::string_view w : SplitWords(lower)) {
        while (!w.empty() && IsAsciiPunctuation(w.back())) w.remove_suffix(1);
        while (!w.empty() && IsAsciiPunctuation(w.front())) w.remove_prefix(1);
        if (bad_words.count(std::string(w))) return "c4_bad_words";
      }
    }
    if (o.filter_lines) {
      bool terminal =
          (EndsWith(line, ".") || EndsWith(line, "!") || EndsWith(line, "?") || EndsWith(line, "\"") ||
           EndsWith(line, "'") || EndsWith(line, "\xE2\x80\x9D") || EndsWith(line, "\xE2\x80\x99")) &&
          !EndsWith(line, "...");
      bool policy = false;
      if (o.drop_policy_lines) {
        policy = lower.find("javascript") != std::string::npos;
        for (std::string_view p : kPolicy) policy = policy || lower.find(p) != std::string::npos;
      }
      if (!terminal || static_cast<int>(SplitWords(line).size()) < o.min_words_per_line || policy) {
        ++*lines_removed;
        continue;
      }
    }
    sentences += CountSentences(line);
    if (!kept.empty()) kept.append(paragraph_break ? "\n\n" : "\n");
    paragraph_break = false;
    kept.append(line);
  }
  if (sentences < o.min_sentences) return "c4_too_few_sentences";
  if (o.filter_lines) *text = std::move(kept);
  return "";
}

inline QualityResult ApplyQualityRules(std::string* text, const QualityOptions& options) {
  QualityResult result;
  result.failed_rule = reference::GopherRepetitionRule(*text, options.gopher_repetition);
  if (result.failed_rule.empty())
    result.failed_rule = reference::GopherQualityRule(*text, options.gopher_quality);
  if (result.failed_rule.empty())
    result.failed_rule = reference::C4Rule(text, options.c4, &result.lines_removed);
  return result;
}

}  // namespace isoflop::data::reference

#endif  // ISOFLOP_TESTS_DATA_PIPELINE_QUALITY_REFERENCE_H_
