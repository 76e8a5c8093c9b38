// Stage 1: invalid UTF-8 is replaced and counted, text becomes NFC, whitespace is cleaned
// while paragraph breaks survive.
#include "isoflop/text_normalizer.h"

#include <gtest/gtest.h>

namespace isoflop::data {
namespace {

TEST(Normalizer, InvalidUtf8IsReplacedAndCounted) {
  NormalizerCounters counters;
  // stray continuation byte, overlong "/" (C0 AF), truncated 3-byte sequence at the end, a surrogate (ED A0
  // 80)
  std::string text = "ok \x80 x \xC0\xAF y \xED\xA0\x80 z \xE2\x82";
  std::string out = NormalizeText(text, {}, &counters);
  EXPECT_EQ(out,
            "ok \xEF\xBF\xBD x \xEF\xBF\xBD\xEF\xBF\xBD y \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD z "
            "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(counters.invalid_utf8_bytes, 8);
  EXPECT_EQ(counters.documents_with_invalid_utf8, 1);
}

TEST(Normalizer, ValidMultibyteTextIsUntouched) {
  NormalizerCounters counters;
  std::string text = "na\xC3\xAFve caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80";  // naïve café — 😀
  EXPECT_EQ(NormalizeText(text, {}, &counters), text);
  EXPECT_EQ(counters.invalid_utf8_bytes, 0);
  EXPECT_EQ(counters.documents_changed_by_nfc, 0);
}

TEST(Normalizer, ComposesToNfc) {
  NormalizerCounters counters;
  // "e" + COMBINING ACUTE ACCENT → "é" (U+00E9); ANGSTROM SIGN U+212B → Å (U+00C5).
  EXPECT_EQ(NormalizeText("caf\x65\xCC\x81 \xE2\x84\xAB", {}, &counters), "caf\xC3\xA9 \xC3\x85");
  EXPECT_EQ(counters.documents_changed_by_nfc, 1);
  NormalizerOptions no_nfc{.nfc = false};
  EXPECT_EQ(NormalizeText("caf\x65\xCC\x81", no_nfc, &counters), "caf\x65\xCC\x81");
}

TEST(Normalizer, WhitespaceCleanupKeepsParagraphs) {
  NormalizerCounters counters;
  std::string text = "\n\n  Title  line \t here  \r\nnext line   \n\n\n\n second\tparagraph \r\n\n";
  EXPECT_EQ(NormalizeText(text, {}, &counters), "Title line here\nnext line\n\nsecond paragraph");
  NormalizerOptions raw{.clean_whitespace = false};
  EXPECT_EQ(NormalizeText("a  b \n", raw, &counters), "a  b \n");
}

}  // namespace
}  // namespace isoflop::data
