// C4 rules (Raffel et al. 2020 §2.2; TFDS c4_utils constants): line filtering and page rules.
#include <gtest/gtest.h>

#include "isoflop/quality_filters.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

std::string Apply(std::string text, const C4Options& options, std::string* out = nullptr,
                  int* removed = nullptr) {
  int lines_removed = 0;
  std::string rule = C4Rule(&text, options, &lines_removed);
  if (out) *out = text;
  if (removed) *removed = lines_removed;
  return rule;
}

TEST(C4Rules, RealProseIsKeptAlmostWhole) {
  for (const std::string& chapter : testing::AustenChapters()) {
    std::string out;
    EXPECT_EQ(Apply(chapter, C4Options{}, &out), "");
    EXPECT_GT(out.size(), chapter.size() * 8 / 10);
  }
}

TEST(C4Rules, LineFilterBoundaries) {
  std::string text =
      "This line has exactly five words.\n"                               // kept: 5 words, terminal "."
      "Only four words here.\n"                                           // removed: 4 words
      "This line has no terminal punctuation\n"                           // removed
      "This one trails off into an ellipsis...\n"                         // removed: ellipsis is not terminal
      "\"Do you quote me on this?\" she asked him.\n"                     // kept
      "He said it was \xE2\x80\x9Cquite enough for today.\xE2\x80\x9D\n"  // kept: closing curly quote
      "Please enable JavaScript to view this page.\n"                     // removed: javascript
      "Read our privacy policy before you continue.";                     // removed: policy
  std::string out;
  int removed = 0;
  EXPECT_EQ(Apply(text, C4Options{}, &out, &removed), "");
  EXPECT_EQ(removed, 5);
  EXPECT_EQ(out,
            "This line has exactly five words.\n\"Do you quote me on this?\" she asked him.\n"
            "He said it was \xE2\x80\x9Cquite enough for today.\xE2\x80\x9D");
}

TEST(C4Rules, TooFewSentencesBoundary) {
  C4Options o;
  EXPECT_EQ(Apply("One two three four five. Six seven eight nine ten! Is this the third one?", o), "");
  EXPECT_EQ(Apply("One two three four five. Six seven eight nine ten!", o), "c4_too_few_sentences");
  // Sentences on removed lines do not count.
  EXPECT_EQ(Apply("One two three four five. Six seven eight nine ten!\nShort. Line.", o),
            "c4_too_few_sentences");
}

TEST(C4Rules, PageRules) {
  C4Options o;
  const std::string body = "One two three four five. Six seven eight nine ten! Is this the third one?\n";
  EXPECT_EQ(Apply(body + "Lorem ipsum dolor sit amet, consectetur.", o), "c4_lorem_ipsum");
  EXPECT_EQ(Apply(body + "The function is int f() { return 1; } here.", o), "c4_curly_brace");
  EXPECT_EQ(Apply(body, o), "");
  o.bad_words = {"darn"};
  EXPECT_EQ(Apply(body + "Well, darn, that is a pity for us all.", o), "c4_bad_words");
  EXPECT_EQ(Apply(body + "Well, darning socks is a pity for us all.", o), "") << "whole words only";
}

TEST(C4Rules, ParagraphBreaksSurviveLineFiltering) {
  std::string out;
  EXPECT_EQ(Apply("First paragraph has enough words. Two.\n\nSecond paragraph also has enough words.\nno",
                  C4Options{}, &out),
            "");
  EXPECT_EQ(out, "First paragraph has enough words. Two.\n\nSecond paragraph also has enough words.");
}

}  // namespace
}  // namespace isoflop::data
