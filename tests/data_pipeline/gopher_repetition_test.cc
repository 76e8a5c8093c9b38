// Gopher repetition rules (Rae et al. 2021, Table A1), each isolated (the other thresholds
// set to 1) and checked on both sides of its boundary.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "isoflop/quality_filters.h"
#include "quality_reference.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

GopherRepetitionOptions AllOff() {
  GopherRepetitionOptions o;
  o.max_duplicate_line_fraction = o.max_duplicate_paragraph_fraction = 1;
  o.max_duplicate_line_char_fraction = o.max_duplicate_paragraph_char_fraction = 1;
  o.max_top_ngram_char_fraction = {1, 1, 1};
  o.max_duplicate_ngram_char_fraction = {1, 1, 1, 1, 1, 1};
  return o;
}

// Distinct 5-character words w0000, w0001, …
std::vector<std::string> Fillers(int n, int offset = 0) {
  std::vector<std::string> words;
  for (int i = 0; i < n; ++i) {
    char w[8];
    std::snprintf(w, sizeof(w), "w%04d", offset + i);
    words.push_back(w);
  }
  return words;
}

TEST(GopherRepetition, RealProseIsKept) {
  for (const std::string& chapter : testing::AustenChapters()) {
    EXPECT_EQ(GopherRepetitionRule(chapter, GopherRepetitionOptions{}), "");
  }
}

TEST(GopherRepetition, DuplicateLineFractionBoundary) {
  auto o = AllOff();
  o.max_duplicate_line_fraction = 0.30;
  std::vector<std::string> lines = Fillers(10);
  for (int i = 7; i < 10; ++i) lines[i] = lines[0];  // 3 of 10 lines repeat an earlier one
  EXPECT_EQ(GopherRepetitionRule(testing::JoinWords(lines, "\n"), o), "");
  lines[6] = lines[0];  // 4 of 10
  EXPECT_EQ(GopherRepetitionRule(testing::JoinWords(lines, "\n"), o), "gopher_dup_lines");
}

TEST(GopherRepetition, DuplicateParagraphFractionBoundary) {
  auto o = AllOff();
  o.max_duplicate_paragraph_fraction = 0.30;
  std::vector<std::string> paragraphs = Fillers(10);
  for (int i = 7; i < 10; ++i) paragraphs[i] = paragraphs[1];
  EXPECT_EQ(GopherRepetitionRule(testing::JoinWords(paragraphs, "\n\n"), o), "");
  paragraphs[6] = paragraphs[1];
  EXPECT_EQ(GopherRepetitionRule(testing::JoinWords(paragraphs, "\n\n"), o), "gopher_dup_paragraphs");
}

TEST(GopherRepetition, DuplicateLineCharFractionBoundary) {
  auto o = AllOff();
  o.max_duplicate_line_char_fraction = 0.20;
  // Lines of 5 characters joined by "\n": 10 lines = 59 characters; one repeated line
  // adds 5 duplicate characters. 2 repeats of 10 lines → 10 / 59 = 0.169; with 12 lines
  // of which 3 repeat → 15 / 71 = 0.211.
  std::vector<std::string> lines = Fillers(10);
  lines[8] = lines[9] = lines[0];
  EXPECT_EQ(GopherRepetitionRule(testing::JoinWords(lines, "\n"), o), "");
  lines = Fillers(12);
  lines[9] = lines[10] = lines[11] = lines[0];
  EXPECT_EQ(GopherRepetitionRule(testing::JoinWords(lines, "\n"), o), "gopher_dup_line_chars");
}

TEST(GopherRepetition, TopBigramCharFractionBoundary) {
  auto o = AllOff();
  o.max_top_ngram_char_fraction = {0.20, 1, 1};
  // "xx yy" × 10 (5 characters, 10 times = 50) then m fillers: length 6·10 + 6m − 1.
  auto text = [](int m) {
    std::string t;
    for (int i = 0; i < 10; ++i) t += "xx yy ";
    return t + testing::JoinWords(Fillers(m));
  };
  EXPECT_EQ(text(32).size(), 251u);  // 50 / 251 = 0.199
  EXPECT_EQ(GopherRepetitionRule(text(32), o), "");
  EXPECT_EQ(text(31).size(), 245u);  // 50 / 245 = 0.204
  EXPECT_EQ(GopherRepetitionRule(text(31), o), "gopher_top_2gram");
}

TEST(GopherRepetition, DuplicateFivegramCharFractionBoundary) {
  auto o = AllOff();
  o.max_duplicate_ngram_char_fraction = {0.15, 1, 1, 1, 1, 1};
  // The 5-gram "pa pb pc pd pe" (10 word characters) twice, m fillers between:
  // length 6m + 29; duplicate characters 10.
  auto text = [](int m) { return "pa pb pc pd pe " + testing::JoinWords(Fillers(m)) + " pa pb pc pd pe"; };
  EXPECT_EQ(text(7).size(), 71u);  // 10 / 71 = 0.141
  EXPECT_EQ(GopherRepetitionRule(text(7), o), "");
  EXPECT_EQ(text(6).size(), 65u);  // 10 / 65 = 0.154
  EXPECT_EQ(GopherRepetitionRule(text(6), o), "gopher_dup_5gram");
}

TEST(GopherRepetition, RepeatedBoilerplateIsDroppedWithDefaults) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += "Click here to subscribe to our newsletter for the latest news.\n";
  EXPECT_NE(GopherRepetitionRule(text, GopherRepetitionOptions{}), "");
}

// ---- The fast implementation equals the reference definitions (quality_reference.h) ----

// Text that exercises every rule: a small vocabulary (so n-grams repeat), stop words,
// punctuation-only words, '#', ellipses, bullets, non-ASCII letters and quotes, policy and
// lorem-ipsum phrases, curly braces, runs of spaces/tabs/newlines/CRs, leading and trailing
// newlines, and copies of earlier lines and paragraphs.
std::string AdversarialText(std::mt19937_64& rng) {
  static const std::vector<std::string> kWords = {"the",
                                                  "be",
                                                  "to",
                                                  "of",
                                                  "and",
                                                  "that",
                                                  "have",
                                                  "with",
                                                  "a",
                                                  "cat",
                                                  "sat",
                                                  "on",
                                                  "mat",
                                                  "Emma",
                                                  "said",
                                                  "it",
                                                  "was",
                                                  "-",
                                                  "--",
                                                  "...",
                                                  "\xE2\x80\xA6",
                                                  "#",
                                                  "#tag",
                                                  "\xE2\x80\xA2",
                                                  "caf\xC3\xA9",
                                                  "\xE2\x80\x9Cquoted.\xE2\x80\x9D",
                                                  "don\xE2\x80\x99t",
                                                  "end.",
                                                  "stop!",
                                                  "why?",
                                                  "\"yes.\"",
                                                  "(it.)",
                                                  "Mr.",
                                                  "x{y}",
                                                  "Lorem",
                                                  "ipsum",
                                                  "lorem ipsum",
                                                  "JavaScript",
                                                  "privacy policy",
                                                  "uses cookies",
                                                  "Terms of Use",
                                                  "darn",
                                                  "darn,",
                                                  "ab...",
                                                  "\xF0\x9F\x98\x80",
                                                  "\xE4\xB8\xAD\xE6\x96\x87"};
  static const std::vector<std::string> kSeparators = {" ",    " ",      " ",    " ",    "  ",    "\t", "\n",
                                                       "\n\n", "\n\n\n", "\r\n", " \n ", "\n \n", "\f", "\v"};
  std::string text;
  if (rng() % 8 == 0) text += "\n";
  const size_t vocabulary = 4 + rng() % kWords.size();
  const int words = static_cast<int>(rng() % 400);
  for (int i = 0; i < words; ++i) {
    if (i > 0) text += kSeparators[rng() % (rng() % 2 ? 4 : kSeparators.size())];
    if (rng() % 40 == 0 && text.size() > 10) {  // copy an earlier stretch: repeated lines/paragraphs/n-grams
      size_t start = rng() % text.size(), length = 1 + rng() % 60;
      text += text.substr(start, length);
      continue;
    }
    text += kWords[rng() % std::min(vocabulary, kWords.size())];
  }
  if (rng() % 8 == 0) text += rng() % 2 ? "\n" : "\n\n";
  return text;
}

QualityOptions RandomOptions(std::mt19937_64& rng) {
  QualityOptions o;
  auto unit = [&] { return (rng() % 1001) / 1000.0; };
  if (rng() % 3 == 0) return o;  // defaults
  auto& r = o.gopher_repetition;
  r.max_duplicate_line_fraction = unit();
  r.max_duplicate_paragraph_fraction = unit();
  r.max_duplicate_line_char_fraction = unit();
  r.max_duplicate_paragraph_char_fraction = unit();
  r.max_top_ngram_char_fraction.assign(rng() % 7, 0);
  for (double& v : r.max_top_ngram_char_fraction) v = unit() * 0.6;
  r.max_duplicate_ngram_char_fraction.assign(rng() % 8, 0);
  for (double& v : r.max_duplicate_ngram_char_fraction) v = unit() * 0.4;
  auto& q = o.gopher_quality;
  q.min_words = static_cast<int>(rng() % 60);
  q.max_words = static_cast<int>(50 + rng() % 400);
  q.min_mean_word_length = unit() * 4;
  q.max_mean_word_length = 3 + unit() * 8;
  q.max_hash_to_word_ratio = unit() * 0.2;
  q.max_ellipsis_to_word_ratio = unit() * 0.2;
  q.max_bullet_line_fraction = unit();
  q.max_ellipsis_line_fraction = unit();
  q.min_alpha_word_fraction = unit();
  q.min_stop_words = static_cast<int>(rng() % 9);
  auto& c = o.c4;
  c.filter_lines = rng() % 4 != 0;
  c.min_words_per_line = static_cast<int>(rng() % 8);
  c.min_sentences = static_cast<int>(rng() % 6);
  c.drop_lorem_ipsum = rng() % 4 != 0;
  c.drop_curly_brace = rng() % 4 != 0;
  c.drop_policy_lines = rng() % 4 != 0;
  if (rng() % 3 == 0) c.bad_words = {"darn", "heck"};
  return o;
}

void ExpectSameDecisions(const std::string& text, const QualityOptions& o, const std::string& label) {
  SCOPED_TRACE(label);
  EXPECT_EQ(GopherRepetitionRule(text, o.gopher_repetition),
            reference::GopherRepetitionRule(text, o.gopher_repetition));
  EXPECT_EQ(GopherQualityRule(text, o.gopher_quality), reference::GopherQualityRule(text, o.gopher_quality));
  std::string fast = text, slow = text;
  int fast_removed = -1, slow_removed = -2;
  EXPECT_EQ(C4Rule(&fast, o.c4, &fast_removed), reference::C4Rule(&slow, o.c4, &slow_removed));
  EXPECT_EQ(fast, slow);
  EXPECT_EQ(fast_removed, slow_removed);
  fast = slow = text;
  QualityResult a = ApplyQualityRules(&fast, o), b = reference::ApplyQualityRules(&slow, o);
  EXPECT_EQ(a.failed_rule, b.failed_rule);
  EXPECT_EQ(a.lines_removed, b.lines_removed);
  EXPECT_EQ(fast, slow);
}

TEST(QualityEquivalence, RealProseEqualsReference) {
  QualityOptions defaults;
  for (const std::string& chapter : testing::AustenChapters())
    ExpectSameDecisions(chapter, defaults, "chapter");
  // Paragraph-sized documents reach the rules' boundaries (few words, few sentences).
  std::mt19937_64 rng(7);
  int i = 0;
  for (const std::string& doc : testing::AustenDocuments(60)) {
    ExpectSameDecisions(doc, defaults, "document " + std::to_string(i));
    ExpectSameDecisions(doc, RandomOptions(rng), "document with random options " + std::to_string(i++));
  }
}

TEST(QualityEquivalence, AdversarialTextEqualsReference) {
  std::mt19937_64 rng(20261124);
  std::map<std::string, int> fired;  // the cases must make the rules fire, not only pass
  for (int i = 0; i < 3000; ++i) {
    std::string text = AdversarialText(rng);
    QualityOptions o = RandomOptions(rng);
    ExpectSameDecisions(text, o, "case " + std::to_string(i) + ": " + text.substr(0, 200));
    std::string copy = text;
    ++fired[reference::ApplyQualityRules(&copy, o).failed_rule];
    if (HasFailure()) break;
  }
  EXPECT_GE(fired.size(), 15u) << "rules hit by the generated cases";
}

}  // namespace
}  // namespace isoflop::data
