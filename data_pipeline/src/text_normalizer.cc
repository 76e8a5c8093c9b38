#include "isoflop/text_normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

namespace isoflop::data {
namespace {

bool IsAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence starting at text[i] (RFC 3629 §4), or 0 if invalid.
size_t ValidSequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = text.size() - i;
  auto continuation = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && continuation(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !continuation(i + 1) || !continuation(i + 2)) return 0;
    if (c == 0xE0 && byte(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && byte(i + 1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    if (c == 0xF0 && byte(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && byte(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
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

}  // namespace

int64_t RepairUtf8(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size());
  int64_t replaced = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t length = ValidSequenceLength(text, i);
    if (length == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      ++replaced;
      ++i;
    } else {
      out->append(text.substr(i, length));
      i += length;
    }
  }
  return replaced;
}

std::string NormalizeText(std::string_view text, const NormalizerOptions& options,
                          NormalizerCounters* counters) {
  std::string valid;
  if (IsAscii(text)) {
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
  return options.clean_whitespace ? CleanWhitespace(valid) : valid;
}

}  // namespace isoflop::data
