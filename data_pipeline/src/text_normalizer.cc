#include "isoflop/text_normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include <array>
#include <cstring>

namespace isoflop::data {
namespace {

// Length of the leading run of ASCII bytes, 8 bytes at a time.
size_t AsciiPrefix(std::string_view text) {
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, text.data() + i, 8);
    if (chunk & 0x8080808080808080ULL) break;
  }
  while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80) ++i;
  return i;
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

// Bytes the whitespace cleanup acts on: CR, LF and the in-line spaces.
constexpr std::array<bool, 256> MakeWhitespaceTable() {
  std::array<bool, 256> t{};
  for (unsigned char c : {'\r', '\n', ' ', '\t', '\f', '\v'}) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kWhitespace = MakeWhitespaceTable();

// Writes through a raw pointer into a buffer of the input's size (the output is never
// longer), instead of a push_back per byte.
std::string CleanWhitespace(std::string_view text) {
  std::string out;
  out.resize(text.size());
  char* const begin = out.data();
  char* o = begin;
  int pending_newlines = 0;  // newlines seen since the last visible character
  bool pending_space = false;
  const size_t size = text.size();
  for (size_t i = 0; i < size; ++i) {
    char c = text[i];
    if (!kWhitespace[static_cast<unsigned char>(c)]) {
      if (o != begin) {
        if (pending_newlines > 0) {
          *o++ = '\n';
          if (pending_newlines >= 2) *o++ = '\n';
        } else if (pending_space) {
          *o++ = ' ';
        }
      }
      pending_newlines = 0;
      pending_space = false;
      *o++ = c;
      // The common case: a run of visible bytes.
      while (i + 1 < size && !kWhitespace[static_cast<unsigned char>(text[i + 1])]) *o++ = text[++i];
      continue;
    }
    if (c == '\r') {
      if (i + 1 < size && text[i + 1] == '\n') continue;  // CRLF → LF
      c = '\n';
    }
    if (c == '\n') {
      ++pending_newlines;
      pending_space = false;  // trailing spaces dropped
    } else {
      pending_space = true;
    }
  }
  out.resize(static_cast<size_t>(o - begin));
  return out;
}

// The valid-UTF-8 prefix length (RFC 3629 §4), ASCII runs 8 bytes at a time.
size_t ValidUtf8Prefix(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    i += AsciiPrefix(text.substr(i));
    if (i == text.size()) break;
    size_t length = ValidSequenceLength(text, i);
    if (length == 0) return i;
    i += length;
  }
  return i;
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
  // Fast paths, each giving the bytes the general path gives: ASCII text is valid and
  // already NFC (no copy); valid UTF-8 needs no repair (no copy); NFC is checked and, if
  // needed, applied by ICU directly on UTF-8 (Normalizer2::isNormalizedUTF8 /
  // normalizeUTF8, ICU ≥ 60), which gives the same code points as the UTF-16 API.
  std::string_view valid = text;
  std::string repaired, composed;
  if (AsciiPrefix(text) != text.size()) {
    if (ValidUtf8Prefix(text) != text.size()) {
      int64_t replaced = RepairUtf8(text, &repaired);
      if (replaced > 0) {
        counters->invalid_utf8_bytes += replaced;
        ++counters->documents_with_invalid_utf8;
      }
      valid = repaired;
    }
    if (options.nfc) {
      UErrorCode error = U_ZERO_ERROR;
      const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(error);
      if (U_SUCCESS(error)) {
        icu::StringPiece piece(valid.data(), static_cast<int32_t>(valid.size()));
        if (!nfc->isNormalizedUTF8(piece, error) && U_SUCCESS(error)) {
          icu::StringByteSink<std::string> sink(&composed, static_cast<int32_t>(valid.size()));
          nfc->normalizeUTF8(0, piece, sink, nullptr, error);
          if (U_SUCCESS(error)) {
            valid = composed;
            ++counters->documents_changed_by_nfc;
          }
        }
      }
    }
  }
  return options.clean_whitespace ? CleanWhitespace(valid) : std::string(valid);
}

}  // namespace isoflop::data
