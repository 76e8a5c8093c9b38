// Stage 1: invalid UTF-8 is replaced and counted, text becomes NFC, whitespace is cleaned
// while paragraph breaks survive.
#include "isoflop/text_normalizer.h"

#include <gtest/gtest.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <random>

#include "test_corpus.h"

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

// ---- The fast paths equal the first implementation (UTF-16 ICU path, byte-at-a-time
// whitespace cleanup), kept here as the reference ----
namespace reference {
bool IsAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

std::string CleanWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int pending_newlines = 0;  // newlines seen since the last visible character
  bool pending_space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF → LF
      c = '\n';
    }
    if (c == '\n') {
      ++pending_newlines;
      pending_space = false;  // trailing spaces dropped
    } else if (c == ' ' || c == '\t' || c == '\f' || c == '\v') {
      pending_space = true;
    } else {
      if (!out.empty()) {
        if (pending_newlines > 0) {
          out.append(pending_newlines >= 2 ? "\n\n" : "\n");
        } else if (pending_space) {
          out.push_back(' ');
        }
      }
      pending_newlines = 0;
      pending_space = false;
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace reference

std::string ReferenceNormalizeText(std::string_view text, const NormalizerOptions& options,
                                   NormalizerCounters* counters) {
  std::string valid;
  if (reference::IsAscii(text)) {
    valid.assign(text);
  } else {
    int64_t replaced = RepairUtf8(text, &valid);
    if (replaced > 0) {
      counters->invalid_utf8_bytes += replaced;
      ++counters->documents_with_invalid_utf8;
    }
    if (options.nfc) {
      UErrorCode error = U_ZERO_ERROR;
      const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(error);
      if (U_SUCCESS(error)) {
        icu::UnicodeString utf16 = icu::UnicodeString::fromUTF8(valid);
        if (!nfc->isNormalized(utf16, error) && U_SUCCESS(error)) {
          icu::UnicodeString normalized = nfc->normalize(utf16, error);
          if (U_SUCCESS(error)) {
            valid.clear();
            normalized.toUTF8String(valid);
            ++counters->documents_changed_by_nfc;
          }
        }
      }
    }
  }
  return options.clean_whitespace ? reference::CleanWhitespace(valid) : valid;
}

// Random byte strings from pieces that hit every branch: ASCII words, whitespace runs with
// CR/LF, Latin-1 and typographic characters, combining marks (composing and not),
// Hangul jamo, singletons (Å sign), emoji, and invalid UTF-8 (stray continuation bytes,
// overlong forms, surrogates, truncated sequences, bytes above F4).
std::string AdversarialBytes(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {"word",
                                                   "The",
                                                   " ",
                                                   "  ",
                                                   "\t",
                                                   "\n",
                                                   "\n\n",
                                                   "\n\n\n",
                                                   "\r\n",
                                                   "\r",
                                                   " \r\n ",
                                                   "\f",
                                                   "\v",
                                                   "caf\xC3\xA9",
                                                   "e\xCC\x81",
                                                   "\xCC\x81",
                                                   "a\xCC\x88\xCC\x81",
                                                   "\xE2\x80\x99",
                                                   "\xE2\x80\x9C",
                                                   "\xE2\x84\xAB",
                                                   "\xE1\x84\x80\xE1\x85\xA1",
                                                   "\xEA\xB0\x80",
                                                   "\xF0\x9F\x98\x80",
                                                   "\xE2\x80\x80",
                                                   "\xD7\x90\xD6\xB8",
                                                   "\x80",
                                                   "\xC0\xAF",
                                                   "\xED\xA0\x80",
                                                   "\xE2\x82",
                                                   "\xF5\x80",
                                                   "\xF4\x90\x80\x80",
                                                   "\xFF",
                                                   "\xC3",
                                                   "\xEF\xBF\xBD",
                                                   "q\xCC\xA3\xCC\x87"};
  std::string out;
  int pieces = static_cast<int>(rng() % 60);
  for (int i = 0; i < pieces; ++i) out += kPieces[rng() % kPieces.size()];
  return out;
}

TEST(Normalizer, FastPathsEqualReferenceOnAdversarialText) {
  std::mt19937_64 rng(424242);
  NormalizerCounters total;  // the cases must reach the repair and NFC branches
  for (int i = 0; i < 20000; ++i) {
    std::string text = AdversarialBytes(rng);
    NormalizerOptions options{.nfc = rng() % 4 != 0, .clean_whitespace = rng() % 4 != 0};
    NormalizerCounters fast, slow;
    ASSERT_EQ(NormalizeText(text, options, &fast), ReferenceNormalizeText(text, options, &slow))
        << "case " << i;
    ASSERT_EQ(fast.invalid_utf8_bytes, slow.invalid_utf8_bytes) << "case " << i;
    ASSERT_EQ(fast.documents_with_invalid_utf8, slow.documents_with_invalid_utf8) << "case " << i;
    ASSERT_EQ(fast.documents_changed_by_nfc, slow.documents_changed_by_nfc) << "case " << i;
    total.documents_with_invalid_utf8 += fast.documents_with_invalid_utf8;
    total.documents_changed_by_nfc += fast.documents_changed_by_nfc;
  }
  EXPECT_GT(total.documents_with_invalid_utf8, 1000);
  EXPECT_GT(total.documents_changed_by_nfc, 1000);
}

TEST(Normalizer, FastPathsEqualReferenceOnRealText) {
  for (const std::string& chapter : testing::AustenChapters()) {
    NormalizerCounters fast, slow;
    EXPECT_EQ(NormalizeText(chapter, {}, &fast), ReferenceNormalizeText(chapter, {}, &slow));
    // The same prose with typographic quotes and a decomposed accent: the non-ASCII path.
    std::string typographic = chapter;
    for (size_t at = 0; (at = typographic.find('\'', at)) != std::string::npos; at += 3)
      typographic.replace(at, 1, "\xE2\x80\x99");
    typographic += " cafe\xCC\x81";
    EXPECT_EQ(NormalizeText(typographic, {}, &fast), ReferenceNormalizeText(typographic, {}, &slow));
    EXPECT_EQ(fast.documents_changed_by_nfc, slow.documents_changed_by_nfc);
  }
}

}  // namespace
}  // namespace isoflop::data
