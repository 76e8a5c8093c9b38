// Gopher repetition rules (Rae et al. 2021, Table A1), each isolated (the other thresholds
// set to 1) and checked on both sides of its boundary.
#include <gtest/gtest.h>

#include "isoflop/quality_filters.h"
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

}  // namespace
}  // namespace isoflop::data
