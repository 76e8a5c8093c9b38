// Stage 1 of `isoflop data build`: make every document valid, canonical UTF-8.
//
//  - invalid UTF-8 bytes (overlong forms, surrogates, stray continuation bytes, truncated
//    sequences) are replaced with U+FFFD and counted;
//  - Unicode NFC (UAX #15) through ICU, skipped for pure-ASCII text, which is already NFC;
//  - whitespace cleanup: CRLF/CR → LF, trailing spaces/tabs on each line removed, runs of
//    spaces/tabs inside a line collapsed to one space, at most one blank line between
//    paragraphs, no leading/trailing blank lines. Paragraph structure (blank lines) is kept
//    because the Gopher repetition rules count paragraphs.
#ifndef ISOFLOP_TEXT_NORMALIZER_H_
#define ISOFLOP_TEXT_NORMALIZER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace isoflop::data {

struct NormalizerOptions {
  bool nfc = true;
  bool clean_whitespace = true;
};

struct NormalizerCounters {
  int64_t invalid_utf8_bytes = 0;  // replaced with U+FFFD
  int64_t documents_with_invalid_utf8 = 0;
  int64_t documents_changed_by_nfc = 0;
};

// Returns the normalised text; adds to `counters` (not thread-safe: one per thread).
std::string NormalizeText(std::string_view text, const NormalizerOptions& options,
                          NormalizerCounters* counters);

// Replaces invalid UTF-8 with U+FFFD; returns the number of bytes replaced.
int64_t RepairUtf8(std::string_view text, std::string* out);

}  // namespace isoflop::data

#endif  // ISOFLOP_TEXT_NORMALIZER_H_
