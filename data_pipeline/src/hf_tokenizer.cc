// isoflop's tokenizer → Hugging Face `tokenizers` JSON. Format references: docs/data.md
// ("tokenizer.hf.json").
#include "isoflop/hf_tokenizer.h"

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

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

std::string Utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

const std::array<std::string, 256>& ByteLevelTable() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    const auto map = MakeByteToCodePoint();
    for (int b = 0; b < 256; ++b) t[b] = Utf8(map[b]);
    return t;
  }();
  return table;
}

}  // namespace

std::string ByteLevelChar(unsigned char b) {
  return ByteLevelTable()[b];
}

StatusOr<std::string> HuggingFaceTokenizerJson(const BpeTokenizer& tokenizer) {
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

StatusOr<BpeTokenizer> LoadTokenizerFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("tokenizer file " + path + " cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(path + ": not a JSON object");
  if (!j.contains("model")) return BpeTokenizer::FromJson(text.str(), path);  // isoflop's own format

  auto bad = [&](const std::string& field, const std::string& why) {
    return Status::InvalidArgument(path + ": " + field + ": " + why +
                                   " (isoflop encodes Hugging Face byte-level BPE files in the layout "
                                   "`isoflop data tokenizer export` writes; docs/data.md)");
  };
  const auto& model = j["model"];
  if (!model.is_object() || model.value("type", "") != "BPE") return bad("model.type", "not BPE");
  for (const char* key : {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null()) return bad(std::string("model.") + key, "must be null");
  }
  if (model.value("byte_fallback", false)) return bad("model.byte_fallback", "must be false");
  if (model.value("ignore_merges", false)) return bad("model.ignore_merges", "must be false");
  if (j.contains("normalizer") && !j["normalizer"].is_null()) return bad("normalizer", "must be null");
  const auto& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : nlohmann::json();
  const bool isoflop_pre =
      pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 2 &&
      pre["pretokenizers"][0].value("type", "") == "Split" && pre["pretokenizers"][0].contains("pattern") &&
      pre["pretokenizers"][0]["pattern"].is_object() &&
      pre["pretokenizers"][0]["pattern"].value("Regex", "") == kIsoflopPretokenizerRegex &&
      pre["pretokenizers"][0].value("behavior", "") == "Isolated" &&
      !pre["pretokenizers"][0].value("invert", false) &&
      pre["pretokenizers"][1].value("type", "") == "ByteLevel" &&
      !pre["pretokenizers"][1].value("use_regex", true) &&
      !pre["pretokenizers"][1].value("add_prefix_space", true);
  if (!isoflop_pre) {
    const std::string what =
        pre.is_object() && pre.value("type", "") == "ByteLevel"
            ? "GPT-2's ByteLevel regex (contractions, Unicode classes) is not isoflop's pre-tokenizer"
            : "not isoflop's Split(regex) + ByteLevel(use_regex = false) pre-tokenizer";
    return bad("pre_tokenizer", what);
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& t : j["added_tokens"]) {
      if (t.value("content", "") != BpeTokenizer::kEosText ||
          t.value("id", -1) != static_cast<int>(BpeTokenizer::kEosId))
        return bad("added_tokens", "only <|endoftext|> at id 256 is supported");
    }
  }
  if (!model.contains("vocab") || !model["vocab"].is_object()) return bad("model.vocab", "missing");
  if (!model.contains("merges") || !model["merges"].is_array()) return bad("model.merges", "missing");
  const auto& vocab = model["vocab"];
  std::unordered_map<std::string, uint32_t> id_of;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it->is_number_unsigned()) return bad("model.vocab[\"" + it.key() + "\"]", "not an id");
    id_of[it.key()] = it->get<uint32_t>();
  }
  for (int b = 0; b < 256; ++b) {
    auto it = id_of.find(ByteLevelChar(static_cast<unsigned char>(b)));
    if (it == id_of.end() || it->second != static_cast<uint32_t>(b)) {
      return bad("model.vocab", "byte " + std::to_string(b) + " must be id " + std::to_string(b));
    }
  }
  if (auto it = id_of.find(BpeTokenizer::kEosText); it == id_of.end() || it->second != BpeTokenizer::kEosId)
    return bad("model.vocab", "\"<|endoftext|>\" must be id 256");
  std::vector<std::string> names(257);
  for (int b = 0; b < 256; ++b) names[b] = ByteLevelChar(static_cast<unsigned char>(b));
  names[256] = BpeTokenizer::kEosText;
  std::vector<std::pair<uint32_t, uint32_t>> merges;
  const auto& m = model["merges"];
  for (size_t i = 0; i < m.size(); ++i) {
    std::string left, right;
    if (m[i].is_string()) {  // "left right" (tokenizers < 0.20 and ours)
      const std::string pair = m[i].get<std::string>();
      const auto space = pair.find(' ');
      if (space == std::string::npos || pair.find(' ', space + 1) != std::string::npos)
        return bad("model.merges[" + std::to_string(i) + "]", "not \"left right\"");
      left = pair.substr(0, space);
      right = pair.substr(space + 1);
    } else if (m[i].is_array() && m[i].size() == 2 && m[i][0].is_string() && m[i][1].is_string()) {
      left = m[i][0].get<std::string>();  // ["left", "right"] (tokenizers >= 0.20)
      right = m[i][1].get<std::string>();
    } else {
      return bad("model.merges[" + std::to_string(i) + "]", "not a pair of tokens");
    }
    auto l = id_of.find(left), r = id_of.find(right), made = id_of.find(left + right);
    const uint32_t expected = BpeTokenizer::kFirstMergeId + static_cast<uint32_t>(i);
    if (l == id_of.end() || r == id_of.end() || l->second >= expected || r->second >= expected ||
        l->second == BpeTokenizer::kEosId || r->second == BpeTokenizer::kEosId)
      return bad("model.merges[" + std::to_string(i) + "]", "parts must be earlier tokens");
    if (made == id_of.end() || made->second != expected)
      return bad("model.merges[" + std::to_string(i) + "]", "must make id " + std::to_string(expected));
    merges.emplace_back(l->second, r->second);
  }
  if (id_of.size() != BpeTokenizer::kFirstMergeId + merges.size())
    return bad("model.vocab", "has ids that no byte, <|endoftext|> or merge makes");
  return BpeTokenizer(std::move(merges));
}

}  // namespace isoflop::data
