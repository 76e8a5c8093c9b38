// Gopher quality rules (Rae et al. 2021, App. A.1.1): each threshold is checked on both
// sides of its boundary (at the limit: kept; one step beyond: dropped).
#include <gtest/gtest.h>

#include "isoflop/quality_filters.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

using testing::JoinWords;

// n words: "the", "and", then "cat" repeated (mean length exactly 3).
std::vector<std::string> CatWords(size_t n) {
  std::vector<std::string> words{"the", "and"};
  while (words.size() < n) words.push_back("cat");
  return words;
}

std::string Rule(const std::string& text) {
  return GopherQualityRule(text, GopherQualityOptions{});
}

TEST(GopherQuality, RealProseIsKept) {
  for (const std::string& chapter : testing::AustenChapters()) EXPECT_EQ(Rule(chapter), "");
}

TEST(GopherQuality, MinWordsBoundary) {
  EXPECT_EQ(Rule(JoinWords(CatWords(50))), "");
  EXPECT_EQ(Rule(JoinWords(CatWords(49))), "gopher_min_words");
  // Symbol-only words do not count.
  auto words = CatWords(49);
  words.push_back("--");
  EXPECT_EQ(Rule(JoinWords(words)), "gopher_min_words");
}

TEST(GopherQuality, MaxWordsBoundary) {
  EXPECT_EQ(Rule(JoinWords(CatWords(100000))), "");
  EXPECT_EQ(Rule(JoinWords(CatWords(100001))), "gopher_max_words");
}

TEST(GopherQuality, MeanWordLengthBoundaries) {
  auto words = CatWords(50);  // mean exactly 3.0
  EXPECT_EQ(Rule(JoinWords(words)), "");
  words[10] = "at";  // 149 / 50 = 2.98
  EXPECT_EQ(Rule(JoinWords(words)), "gopher_mean_word_length");

  // 2 × 3 + 46 × 10 + 2 × 17 = 500 characters over 50 words: mean exactly 10.
  std::vector<std::string> long_words{"the", "and"};
  for (int i = 0; i < 46; ++i) long_words.push_back("abcdefghij");
  long_words.push_back("abcdefghijklmnopq");
  long_words.push_back("abcdefghijklmnopq");
  EXPECT_EQ(Rule(JoinWords(long_words)), "");
  long_words.back() += "r";  // 501 / 50
  EXPECT_EQ(Rule(JoinWords(long_words)), "gopher_mean_word_length");
}

TEST(GopherQuality, HashAndEllipsisRatioBoundaries) {
  auto words = CatWords(50);
  for (int i = 0; i < 5; ++i) words[10 + i] = "#cat";  // 5 / 50 = 0.1
  EXPECT_EQ(Rule(JoinWords(words)), "");
  words[20] = "#cat";
  EXPECT_EQ(Rule(JoinWords(words)), "gopher_hash_ratio");

  words = CatWords(50);
  for (int i = 0; i < 5; ++i) words[10 + i] = "cat...";
  EXPECT_EQ(Rule(JoinWords(words)), "");
  words[20] = "cat\xE2\x80\xA6";  // the Unicode ellipsis counts too
  EXPECT_EQ(Rule(JoinWords(words)), "gopher_ellipsis_ratio");
}

// 10 lines of 6 words each (mean length 5, so a "•" word does not reach the length limit).
std::vector<std::string> CatLines() {
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) lines.push_back("the garden and the carriage waited");
  return lines;
}

TEST(GopherQuality, BulletLineBoundary) {
  auto lines = CatLines();
  for (int i = 0; i < 9; ++i) lines[i] = "- " + lines[i];  // 0.9
  EXPECT_EQ(Rule(JoinWords(lines, "\n")), "");
  lines[9] = "\xE2\x80\xA2 " + lines[9];  // "• "
  EXPECT_EQ(Rule(JoinWords(lines, "\n")), "gopher_bullet_lines");
}

TEST(GopherQuality, EllipsisLineBoundary) {
  auto lines = CatLines();
  for (int i = 0; i < 3; ++i) lines[i] += "...";  // 0.3
  EXPECT_EQ(Rule(JoinWords(lines, "\n")), "");
  lines[3] += "...";
  EXPECT_EQ(Rule(JoinWords(lines, "\n")), "gopher_ellipsis_lines");
}

TEST(GopherQuality, AlphaWordBoundary) {
  auto words = CatWords(50);
  for (int i = 0; i < 10; ++i) words[20 + i] = "123";  // 40 / 50 words have a letter
  EXPECT_EQ(Rule(JoinWords(words)), "");
  words[30] = "456";
  EXPECT_EQ(Rule(JoinWords(words)), "gopher_alpha_words");
}

TEST(GopherQuality, StopWordBoundary) {
  auto words = CatWords(50);  // "the" and "and"
  EXPECT_EQ(Rule(JoinWords(words)), "");
  words[1] = "the";  // one distinct stop word, twice
  EXPECT_EQ(Rule(JoinWords(words)), "gopher_stop_words");
}

}  // namespace
}  // namespace isoflop::data
