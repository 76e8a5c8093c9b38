// A Hugging Face tokenizer.json's added-token extraction and pre-tokenizers (hf_pretokenizer.h).
#include "hf_pretokenizer.h"

#include <unicode/uchar.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>

#include "isoflop/bpe_tokenizer.h"
#include "isoflop/hf_tokenizer.h"

namespace isoflop::data {

const char kGpt2PretokenizerRegex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

using json = nlohmann::json;

StatusOr<std::unique_ptr<icu::RegexPattern>> Compile(const std::string& pattern, bool literal,
                                                     const std::string& field) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError where{};
  std::unique_ptr<icu::RegexPattern> compiled(icu::RegexPattern::compile(
      icu::UnicodeString::fromUTF8(pattern), literal ? UREGEX_LITERAL : 0, where, status));
  if (U_FAILURE(status) || compiled == nullptr) {
    return Status::InvalidArgument(field + ": ICU cannot compile the regex (" + u_errorName(status) +
                                   " at offset " + std::to_string(where.offset) + ")");
  }
  return compiled;
}

// Rust's char::is_whitespace (the White_Space property), on the code point ending at `end` /
// starting at `begin` of UTF-8 `s`.
size_t WhitespaceRunBefore(std::string_view s, size_t end) {  // start of the run ending at `end`
  int32_t i = static_cast<int32_t>(end);
  while (i > 0) {
    int32_t j = i;
    UChar32 c;
    U8_PREV(reinterpret_cast<const uint8_t*>(s.data()), 0, j, c);
    if (c < 0 || !u_isUWhiteSpace(c)) break;
    i = j;
  }
  return static_cast<size_t>(i);
}

size_t WhitespaceRunAfter(std::string_view s, size_t begin) {  // end of the run starting at `begin`
  int32_t i = static_cast<int32_t>(begin);
  const int32_t n = static_cast<int32_t>(s.size());
  while (i < n) {
    int32_t j = i;
    UChar32 c;
    U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), j, n, c);
    if (c < 0 || !u_isUWhiteSpace(c)) break;
    i = j;
  }
  return static_cast<size_t>(i);
}

// tokenizers' AddedVocabulary::find_matches over `text` with `tokens` (longest first):
// leftmost-longest, non-overlapping matches; `piece` gets the text between them.
void SplitAdded(std::string_view text, const std::vector<HfPretokenizer::AddedToken>& tokens,
                const std::function<void(std::string_view)>& piece,
                const std::function<void(uint32_t)>& added) {
  if (tokens.empty()) {
    if (!text.empty()) piece(text);
    return;
  }
  std::array<bool, 256> first{};
  for (const auto& t : tokens) first[static_cast<unsigned char>(t.content[0])] = true;
  size_t done = 0;  // text before this is emitted
  size_t i = 0;
  while (i < text.size()) {
    if (!first[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const HfPretokenizer::AddedToken* match = nullptr;
    for (const auto& t : tokens) {  // longest first: the first that matches is the longest
      if (text.compare(i, t.content.size(), t.content) == 0) {
        match = &t;
        break;
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + match->content.size();
    if (match->lstrip) start = std::max(WhitespaceRunBefore(text, start), done);
    if (match->rstrip) stop = WhitespaceRunAfter(text, stop);
    if (done < start) piece(text.substr(done, start - done));
    added(match->id);
    done = stop;
    i = i + match->content.size();  // the search goes on after the token itself
    if (i < done) i = done;
  }
  if (done < text.size()) piece(text.substr(done));
}

}  // namespace

StatusOr<std::shared_ptr<const HfPretokenizer>> HfPretokenizer::FromJson(
    const json& pre, std::vector<AddedToken> added_tokens) {
  auto result = std::make_shared<HfPretokenizer>();
  for (auto& t : added_tokens) (t.normalized ? result->normalized_ : result->raw_).push_back(std::move(t));
  for (auto* list : {&result->raw_, &result->normalized_}) {
    std::stable_sort(list->begin(), list->end(), [](const AddedToken& a, const AddedToken& b) {
      return a.content.size() > b.content.size();
    });
  }
  if (!pre.is_object())
    return Status::InvalidArgument("pre_tokenizer: missing (a byte-level BPE needs ByteLevel)");
  std::vector<std::pair<const json*, std::string>> steps;  // each step and its field name
  const std::string type = pre.value("type", "");
  if (type == "Sequence") {
    if (!pre.contains("pretokenizers") || !pre["pretokenizers"].is_array() || pre["pretokenizers"].empty())
      return Status::InvalidArgument("pre_tokenizer.pretokenizers: missing or empty");
    for (size_t i = 0; i < pre["pretokenizers"].size(); ++i)
      steps.emplace_back(&pre["pretokenizers"][i], "pre_tokenizer.pretokenizers[" + std::to_string(i) + "]");
  } else {
    steps.emplace_back(&pre, "pre_tokenizer");
  }
  for (size_t s = 0; s < steps.size(); ++s) {
    const json& step = *steps[s].first;
    const std::string& field = steps[s].second;
    const std::string kind = step.is_object() ? step.value("type", "") : "";
    const bool last = s + 1 == steps.size();
    if (kind == "Split") {
      if (last)
        return Status::InvalidArgument(field +
                                       ".type: Split must be followed by ByteLevel (a byte-level BPE "
                                       "ends its pre-tokenizers with ByteLevel)");
      if (step.value("behavior", "") != "Isolated")
        return Status::InvalidArgument(field + ".behavior: only \"Isolated\" is supported (got " +
                                       step.value("behavior", json("missing")).dump() + ")");
      if (!step.contains("invert") || !step["invert"].is_boolean() || step["invert"].get<bool>())
        return Status::InvalidArgument(field + ".invert: only false is supported");
      const json& pattern = step.contains("pattern") ? step["pattern"] : json();
      const bool is_regex = pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string();
      const bool is_string =
          pattern.is_object() && pattern.contains("String") && pattern["String"].is_string();
      if (!is_regex && !is_string)
        return Status::InvalidArgument(field + ".pattern: must be {\"Regex\": ...} or {\"String\": ...}");
      const std::string text = pattern[is_regex ? "Regex" : "String"].get<std::string>();
      auto compiled = Compile(text, !is_regex, field + ".pattern");
      if (!compiled.ok()) return compiled.status();
      result->patterns_.push_back(std::move(*compiled));
      // isoflop's own layout (`data tokenizer export`): its split, not a regex engine's.
      if (steps.size() == 2 && is_regex && text == kIsoflopPretokenizerRegex) result->native_ = true;
    } else if (kind == "ByteLevel") {
      if (!last)
        return Status::InvalidArgument(field +
                                       ".type: ByteLevel must be the last pre-tokenizer (it maps the "
                                       "bytes to GPT-2's characters)");
      for (const char* flag : {"add_prefix_space", "use_regex", "trim_offsets"}) {
        if (step.contains(flag) && !step[flag].is_boolean())
          return Status::InvalidArgument(field + "." + flag + ": not true or false");
      }
      const bool prefix = step.value("add_prefix_space", true);  // tokenizers' defaults
      const bool use_regex = step.value("use_regex", true);
      if (prefix && s > 0)
        return Status::InvalidArgument(field +
                                       ".add_prefix_space: supported only when ByteLevel is the only "
                                       "pre-tokenizer");
      result->prefix_space_ = prefix;
      if (use_regex) {
        auto compiled = Compile(kGpt2PretokenizerRegex, false, field + ".use_regex");
        if (!compiled.ok()) return compiled.status();
        result->patterns_.push_back(std::move(*compiled));
        result->native_ = false;
      }
    } else {
      return Status::InvalidArgument(
          field + ".type: " + (kind.empty() ? std::string("missing") : "\"" + kind + "\"") +
          " is not supported (a byte-level BPE: ByteLevel, or Split(s) then "
          "ByteLevel)");
    }
  }
  return std::shared_ptr<const HfPretokenizer>(std::move(result));
}

void HfPretokenizer::PreTokenize(std::string_view piece,
                                 const std::function<void(std::string_view)>& chunk) const {
  if (native_) {
    Pretokenize(piece, chunk);
    return;
  }
  std::string prefixed;
  if (prefix_space_ && piece.front() != ' ') {
    prefixed = " ";
    prefixed += piece;
    piece = prefixed;
  }
  if (patterns_.empty()) {
    chunk(piece);
    return;
  }
  // Each regex splits every piece the previous one made (Isolated: the matches and the text
  // between them, empty pieces dropped).
  std::vector<std::string_view> pieces = {piece}, next;
  UErrorCode status = U_ZERO_ERROR;
  for (const auto& pattern : patterns_) {
    std::unique_ptr<icu::RegexMatcher> matcher(pattern->matcher(status));
    next.clear();
    for (std::string_view p : pieces) {
      UText* text = utext_openUTF8(nullptr, p.data(), static_cast<int64_t>(p.size()), &status);
      matcher->reset(text);
      size_t done = 0;
      while (matcher->find(status) && U_SUCCESS(status)) {
        const auto start = static_cast<size_t>(matcher->start64(status));
        const auto end = static_cast<size_t>(matcher->end64(status));
        if (start == end) continue;
        if (done < start) next.push_back(p.substr(done, start - done));
        next.push_back(p.substr(start, end - start));
        done = end;
      }
      if (done < p.size()) next.push_back(p.substr(done));
      matcher->reset(icu::UnicodeString());  // drop the matcher's shallow clone of `text`
      utext_close(text);
    }
    pieces.swap(next);
  }
  for (std::string_view p : pieces) chunk(p);
}

void HfPretokenizer::Split(std::string_view text, const std::function<void(std::string_view)>& chunk,
                           const std::function<void(uint32_t)>& added) const {
  SplitAdded(
      text, raw_,
      [&](std::string_view outside) {
        SplitAdded(
            outside, normalized_, [&](std::string_view piece) { PreTokenize(piece, chunk); }, added);
      },
      added);
}

}  // namespace isoflop::data
