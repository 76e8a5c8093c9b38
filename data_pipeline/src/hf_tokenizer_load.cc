// Reading a tokenizer file for `data build --tokenizer`: isoflop's format, or a Hugging Face
// byte-level BPE tokenizer.json checked field by field (hf_tokenizer.h). The BPE rules followed
// are huggingface/tokenizers @ 3ba8ad00: models/bpe/model.rs (BPE::build: merge parts and their
// concatenation must be in the vocabulary, a pair listed twice keeps its last rank;
// tokenize_with_cache: ignore_merges), pre_tokenizers/byte_level.rs (the byte table, GPT-2's
// regex), pre_tokenizers/split.rs and tokenizer/added_vocabulary.rs (hf_pretokenizer.cc).
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "hf_pretokenizer.h"
#include "isoflop/hf_tokenizer.h"

namespace isoflop::data {
namespace {

using json = nlohmann::json;

// The bytes a byte-level token string stands for, or false if a character is not one of GPT-2's
// 256 byte characters (an added token's text, say).
bool ByteLevelBytes(const std::string& token, const std::unordered_map<std::string, unsigned char>& byte_of,
                    std::string* bytes) {
  bytes->clear();
  size_t i = 0;
  while (i < token.size()) {
    const unsigned char lead = static_cast<unsigned char>(token[i]);
    const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    auto it = byte_of.find(token.substr(i, len));
    if (it == byte_of.end()) return false;
    bytes->push_back(static_cast<char>(it->second));
    i += len;
  }
  return true;
}

std::string Quoted(const std::string& s) {
  return json(s).dump();
}

}  // namespace

StatusOr<BpeTokenizer> LoadTokenizerFile(const std::string& path, const std::string& eos_token) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("tokenizer file " + path + " cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(path + ": not a JSON object");
  if (!j.contains("model")) {  // isoflop's own format: <|endoftext|> is id 256
    if (!eos_token.empty() && eos_token != BpeTokenizer::kEosText)
      return Status::InvalidArgument(path + ": --eos-token " + Quoted(eos_token) +
                                     ": isoflop's tokenizer.json has only <|endoftext|>");
    return BpeTokenizer::FromJson(text.str(), path);
  }

  auto bad = [&](const std::string& field, const std::string& why) {
    return Status::InvalidArgument(path + ": " + field + ": " + why +
                                   " (isoflop reads Hugging Face byte-level BPE files; docs/data.md)");
  };
  if (j.contains("normalizer") && !j["normalizer"].is_null()) {
    const std::string type = j["normalizer"].is_object() ? j["normalizer"].value("type", "?") : "?";
    return bad("normalizer",
               Quoted(type) + " is not supported (only none: isoflop's build normalises the text)");
  }
  const json& model = j["model"];
  if (!model.is_object() || model.value("type", "") != "BPE") {
    const std::string type = model.is_object() ? model.value("type", "missing") : "missing";
    return bad("model.type", Quoted(type) + " is not supported (only \"BPE\")");
  }
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0))
    return bad("model.dropout", "must be null (dropout makes encoding random)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() && !(model[key].is_string() && model[key] == ""))
      return bad(std::string("model.") + key, "must be null in a byte-level BPE");
  }
  if (model.contains("ignore_merges") && !model["ignore_merges"].is_boolean())
    return bad("model.ignore_merges", "not true or false");
  if (!model.contains("vocab") || !model["vocab"].is_object()) return bad("model.vocab", "missing");
  if (!model.contains("merges") || !model["merges"].is_array()) return bad("model.merges", "missing");

  BpeModel bpe;
  bpe.ignore_merges = model.value("ignore_merges", false);
  std::unordered_map<std::string, uint32_t> id_of;
  std::map<uint32_t, std::string> token_of;  // every id, model and added tokens
  const json& vocab = model["vocab"];
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() >= (1u << 24))
      return bad("model.vocab[" + Quoted(it.key()) + "]", "not an id below 2^24");
    const uint32_t id = it->get<uint32_t>();
    if (!token_of.emplace(id, it.key()).second)
      return bad("model.vocab[" + Quoted(it.key()) + "]",
                 "id " + std::to_string(id) + " is also " + Quoted(token_of[id]));
    id_of[it.key()] = id;
  }
  std::vector<HfPretokenizer::AddedToken> added;
  std::unordered_map<std::string, uint32_t> added_id_of;
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) return bad("added_tokens", "not an array");
    for (size_t i = 0; i < j["added_tokens"].size(); ++i) {
      const json& t = j["added_tokens"][i];
      const std::string field = "added_tokens[" + std::to_string(i) + "]";
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_unsigned() ||
          t["id"].get<uint64_t>() >= (1u << 24) || !t.contains("content") || !t["content"].is_string() ||
          t["content"].get<std::string>().empty())
        return bad(field, "needs an id below 2^24 and a non-empty content");
      if (t.value("single_word", false)) return bad(field + ".single_word", "true is not supported");
      HfPretokenizer::AddedToken a{t["content"].get<std::string>(), t["id"].get<uint32_t>(),
                                   t.value("lstrip", false), t.value("rstrip", false),
                                   t.value("normalized", false)};
      // tokenizers gives an added token that is in the model's vocabulary the model's id.
      if (auto v = id_of.find(a.content); v != id_of.end()) a.id = v->second;
      if (auto other = token_of.find(a.id); other != token_of.end() && other->second != a.content)
        return bad(field + ".id", std::to_string(a.id) + " is also " + Quoted(other->second));
      token_of[a.id] = a.content;
      added_id_of[a.content] = a.id;
      added.push_back(std::move(a));
    }
  }

  std::unordered_map<std::string, unsigned char> byte_of;
  for (int b = 0; b < 256; ++b)
    byte_of[ByteLevelChar(static_cast<unsigned char>(b))] = static_cast<unsigned char>(b);
  for (int b = 0; b < 256; ++b) {
    auto it = id_of.find(ByteLevelChar(static_cast<unsigned char>(b)));
    if (it == id_of.end()) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", b);
      return bad("model.vocab",
                 std::string("no token for byte ") + hex + " (" +
                     Quoted(ByteLevelChar(static_cast<unsigned char>(b))) +
                     "): a byte-level BPE has all 256, or text holding it could not be encoded");
    }
    bpe.byte_ids[b] = it->second;
  }
  bpe.pieces.assign(token_of.empty() ? 0 : token_of.rbegin()->first + 1, std::string());
  for (const auto& [id, token] : token_of) {
    std::string bytes;
    // Added tokens stand for their text; model tokens for their bytes (or their text, as the
    // ByteLevel decoder does with a token that is not made of byte characters).
    const bool byte_level = added_id_of.count(token) == 0 && ByteLevelBytes(token, byte_of, &bytes);
    bpe.pieces[id] = byte_level ? bytes : token;
    if (bpe.ignore_merges && byte_level) bpe.whole.emplace(bytes, id);
  }

  const json& merges = model["merges"];
  bpe.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    std::string left, right;
    if (merges[i].is_string()) {  // "left right" (tokenizers < 0.20)
      const std::string pair = merges[i].get<std::string>();
      const auto space = pair.find(' ');
      if (space == std::string::npos || pair.find(' ', space + 1) != std::string::npos)
        return bad(field, "not \"left right\"");
      left = pair.substr(0, space);
      right = pair.substr(space + 1);
    } else if (merges[i].is_array() && merges[i].size() == 2 && merges[i][0].is_string() &&
               merges[i][1].is_string()) {  // ["left", "right"] (tokenizers >= 0.20)
      left = merges[i][0].get<std::string>();
      right = merges[i][1].get<std::string>();
    } else {
      return bad(field, "not a pair of tokens");
    }
    auto l = id_of.find(left), r = id_of.find(right), made = id_of.find(left + right);
    if (l == id_of.end()) return bad(field, Quoted(left) + " is not in model.vocab");
    if (r == id_of.end()) return bad(field, Quoted(right) + " is not in model.vocab");
    if (made == id_of.end()) return bad(field, Quoted(left + right) + " is not in model.vocab");
    bpe.merges.push_back({l->second, r->second, made->second});
  }

  auto pre = HfPretokenizer::FromJson(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), added);
  if (!pre.ok()) return Status::InvalidArgument(path + ": " + pre.status().message());
  bpe.pretokenizer = *pre;
  if (j.contains("decoder") && !j["decoder"].is_null() &&
      !(j["decoder"].is_object() && j["decoder"].value("type", "") == "ByteLevel")) {
    const std::string type = j["decoder"].is_object() ? j["decoder"].value("type", "?") : "?";
    return bad("decoder", Quoted(type) + " is not supported (only ByteLevel or none)");
  }

  auto find = [&](const std::string& token) -> uint32_t {
    if (auto a = added_id_of.find(token); a != added_id_of.end()) return a->second;
    if (auto v = id_of.find(token); v != id_of.end()) return v->second;
    return UINT32_MAX;
  };
  if (!eos_token.empty()) {
    bpe.eos_id = find(eos_token);
    if (bpe.eos_id == UINT32_MAX)
      return Status::InvalidArgument(path + ": --eos-token " + Quoted(eos_token) +
                                     " is not a token of this file (added_tokens or model.vocab)");
  } else {
    for (const char* candidate : kEosCandidates) {
      if ((bpe.eos_id = find(candidate)) != UINT32_MAX) break;
    }
  }
  return BpeTokenizer(std::move(bpe));
}

}  // namespace isoflop::data
