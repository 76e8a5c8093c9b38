// UTF-8 encoding of one code point (RFC 3629, Sec. 3): the one encoder of the data pipeline, used by
// the JSON reader (\u escapes) and the Hugging Face byte-level table (GPT-2's bytes_to_unicode).
#ifndef ISOFLOP_DATA_PIPELINE_UTF8_H_
#define ISOFLOP_DATA_PIPELINE_UTF8_H_

#include <cstdint>
#include <string>

namespace isoflop::data {

// Appends the UTF-8 bytes of `cp` (a Unicode scalar value, at most 0x10FFFF) to `out`.
inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_UTF8_H_
