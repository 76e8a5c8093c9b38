// The pre-tokenization of a Hugging Face byte-level BPE tokenizer.json, as `tokenizers` does it
// (huggingface/tokenizers @ 3ba8ad00, docs/data.md "Hugging Face byte-level BPE as input"):
//
//  1. added tokens are cut out of the text first (tokenizer/added_vocabulary.rs,
//     extract_and_normalize): those with normalized = false, then those with normalized = true
//     in the pieces left (the same text: no normalizer is accepted), each pass leftmost-longest
//     and non-overlapping, lstrip / rstrip taking the whitespace beside a match with it;
//  2. every other piece goes through the pre-tokenizers in order: Split (a regex or a literal
//     string, behaviour Isolated: matches and the text between them are pieces), ByteLevel
//     (pre_tokenizers/byte_level.rs: add_prefix_space puts a space before a piece that does
//     not start with one, use_regex splits with GPT-2's regex).
//
// Regexes run on ICU's engine (`tokenizers` uses Oniguruma): both give \p{L}, \p{N} and \s their
// Unicode meaning (\s: the White_Space property), which GPT-2's and Llama 3's patterns need; ICU
// is already the normaliser's dependency. Patterns ICU cannot compile are refused by field.
#ifndef ISOFLOP_DATA_PIPELINE_HF_PRETOKENIZER_H_
#define ISOFLOP_DATA_PIPELINE_HF_PRETOKENIZER_H_

#include <unicode/regex.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

// GPT-2's pre-tokenizer regex, as tokenizers' ByteLevel has it (byte_level.rs, RE).
extern const char kGpt2PretokenizerRegex[];

class HfPretokenizer {
 public:
  struct AddedToken {
    std::string content;
    uint32_t id = 0;
    bool lstrip = false, rstrip = false, normalized = false;
  };

  // From the file's "pre_tokenizer" and its added tokens. Errors (kInvalidArgument) name the
  // JSON field, e.g. "pre_tokenizer.pretokenizers[0].behavior".
  static StatusOr<std::shared_ptr<const HfPretokenizer>> FromJson(const nlohmann::json& pre_tokenizer,
                                                                  std::vector<AddedToken> added_tokens);

  // Calls `chunk` for each pre-token (bytes the BPE merges) and `added` for each added token,
  // in text order. Thread-safe.
  void Split(std::string_view text, const std::function<void(std::string_view)>& chunk,
             const std::function<void(uint32_t)>& added) const;

  // True when the pre-tokenizer is isoflop's own (the layout `data tokenizer export` writes).
  bool isoflop_native() const { return native_; }

 private:
  void PreTokenize(std::string_view piece, const std::function<void(std::string_view)>& chunk) const;
  std::vector<std::unique_ptr<icu::RegexPattern>> patterns_;  // applied in order
  bool prefix_space_ = false;                                 // ByteLevel add_prefix_space (first step)
  bool native_ = false;                                       // isoflop's split, no regex
  std::vector<AddedToken> raw_, normalized_;                  // the two extraction passes
};

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_HF_PRETOKENIZER_H_
