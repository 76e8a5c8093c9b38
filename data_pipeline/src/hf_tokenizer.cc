// isoflop's tokenizer → Hugging Face `tokenizers` JSON, and GPT-2's byte table. Format
// references: docs/data.md ("tokenizer.hf.json"). Reading such files: hf_tokenizer_load.cc.
#include "isoflop/hf_tokenizer.h"

#include <array>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "utf8.h"

namespace isoflop::data {

// isoflop's pre-tokenizer (bpe_tokenizer.cc, PretokenizeInline) alternative by alternative:
//   letters  = ASCII letters and every non-ASCII character (isoflop: bytes >= 0x80)
//   ` ?letters+ | ?digits+ | ?symbols+` (symbols: the other ASCII characters but whitespace)
//   a whitespace run followed by " X" (X not whitespace) leaves that last space to X's chunk
//   any other whitespace run whole (whitespace = \t \n \v \f \r and space)
const char kIsoflopPretokenizerRegex[] =
    R"( ?[^\x00-\x40\x5B-\x60\x7B-\x7F]+| ?[0-9]+| ?[\x00-\x08\x0E-\x1F\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7F]+|[\x09-\x0D\x20]+(?=\x20[^\x09-\x0D\x20])|[\x09-\x0D\x20]+)";

namespace {

// GPT-2's bytes_to_unicode (openai/gpt-2 @ 27a08882, src/encoder.py): printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes, in increasing order,
// become U+0100, U+0101, ...
std::array<char32_t, 256> MakeByteToCodePoint() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

const std::array<std::string, 256>& ByteLevelTable() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    const auto map = MakeByteToCodePoint();
    for (int b = 0; b < 256; ++b) AppendUtf8(map[b], &t[b]);
    return t;
  }();
  return table;
}

}  // namespace

std::string ByteLevelChar(unsigned char b) {
  return ByteLevelTable()[b];
}

StatusOr<std::string> HuggingFaceTokenizerJson(const BpeTokenizer& tokenizer) {
  if (!tokenizer.is_isoflop_layout())  // a Hugging Face file's own: it is its own tokenizer.hf.json
    return Status::InvalidArgument(
        "the tokenizer was read from a Hugging Face file: export that file itself");
  const auto& table = ByteLevelTable();
  const uint32_t n = tokenizer.vocab_size();
  std::vector<std::string> names(n);
  std::unordered_map<std::string, uint32_t> seen;
  for (uint32_t id = 0; id < n; ++id) {
    if (id == BpeTokenizer::kEosId) {
      names[id] = BpeTokenizer::kEosText;
    } else {
      for (unsigned char c : tokenizer.token_bytes(id)) names[id] += table[c];
    }
    auto [it, inserted] = seen.emplace(names[id], id);
    if (!inserted) {
      return Status::InvalidArgument(
          "tokenizer ids " + std::to_string(it->second) + " and " + std::to_string(id) +
          " are the same bytes; a Hugging Face vocabulary maps each string to one id, "
          "so this tokenizer has no identical tokenizers-format equivalent");
    }
  }
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (uint32_t id = 0; id < n; ++id) vocab[names[id]] = id;
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (const auto& [left, right] : tokenizer.merges()) merges.push_back(names[left] + " " + names[right]);

  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  // <|endoftext|> is in the vocabulary but deliberately not an added (special) token: an added
  // token is cut out of the input text before pre-tokenization, so text containing the literal
  // string would encode differently from isoflop, which never produces id 256 from text.
  j["added_tokens"] = nlohmann::ordered_json::array();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"},
                           {"pattern", {{"Regex", kIsoflopPretokenizerRegex}}},
                           {"behavior", "Isolated"},
                           {"invert", false}},
                          {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", false},
                           {"use_regex", false}}}}};
  j["post_processor"] = nullptr;
  j["decoder"] = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"vocab", vocab},
                {"merges", merges}};
  return j.dump(2) + "\n";
}

}  // namespace isoflop::data
