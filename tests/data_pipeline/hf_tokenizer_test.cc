// tokenizer.hf.json: its structure, GPT-2's byte table, and — with the Hugging Face `tokenizers`
// library itself (npm package `tokenizers`, pinned in scripts/setup; skipped with a message when
// node or the module is absent) — the same ids as isoflop's own tokenizer on the test corpus and on
// generated text full of the pre-tokenizer's edge cases.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "isoflop/bpe_tokenizer.h"
#include "isoflop/data_pipeline.h"
#include "isoflop/hf_tokenizer.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

using nlohmann::json;

std::string RunCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return *status = -1, out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

// Text made of the pieces the pre-tokenizer treats differently: letters, digits, symbols, every
// ASCII whitespace alone and in runs before words, control characters, non-ASCII letters and
// symbols (2-, 3- and 4-byte UTF-8), and the literal "<|endoftext|>".
std::vector<std::string> EdgeCaseTexts(int count, uint32_t seed) {
  const std::vector<std::string> pieces = {"the",  "The",   "a",   "Zebra", "x",    "42",   "7",
                                           "2024", "!",     "?!",  ".",     "--",   "(",    ")",
                                           "'s",   "\"",    "#",   "\x7f",  "\x01", "\x1b", "~",
                                           "{",    "}",     "_",   "@",     " ",    " ",    " ",
                                           "  ",   "   ",   "\n",  "\n\n",  "\t",   "\r\n", "\v",
                                           "\f",   " \n",   "\n ", "\t ",   " \t",  "é",    "naïve",
                                           "中文", "Ωmega", "€",   "—",     "“",    "😀",    "<|endoftext|>"};
  std::mt19937 rng(seed);
  std::vector<std::string> texts;
  for (int i = 0; i < count; ++i) {
    std::string t;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int k = 0; k < n; ++k) t += pieces[rng() % pieces.size()];
    texts.push_back(t);
  }
  return texts;
}

BpeTokenizer TrainOn(const std::vector<std::string>& texts, uint32_t vocab) {
  BpeTrainerOptions o;
  o.vocab_size = vocab;
  BpeTrainer trainer(o);
  for (const auto& t : texts) trainer.Add(t);
  return trainer.Train();
}

TEST(HfTokenizer, ByteTableIsGpt2s) {
  EXPECT_EQ(ByteLevelChar(' '), "Ġ");
  EXPECT_EQ(ByteLevelChar('\n'), "Ċ");
  EXPECT_EQ(ByteLevelChar('a'), "a");
  EXPECT_EQ(ByteLevelChar('!'), "!");
  EXPECT_EQ(ByteLevelChar(0x00), "Ā");  // U+0100: the first non-printable byte
  EXPECT_EQ(ByteLevelChar(0xAD), "Ń");  // soft hyphen, the last of the 68 remapped bytes: U+0143
  EXPECT_EQ(ByteLevelChar(0xE9), "é");
  std::set<std::string> distinct;
  for (int b = 0; b < 256; ++b) distinct.insert(ByteLevelChar(static_cast<unsigned char>(b)));
  EXPECT_EQ(distinct.size(), 256u);
}

TEST(HfTokenizer, StructureIsTokenizersBpe) {
  BpeTokenizer tokenizer = TrainOn(testing::AustenChapters(), 600);
  auto text = HuggingFaceTokenizerJson(tokenizer);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  json j = json::parse(*text);
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_EQ(j["model"]["vocab"].size(), tokenizer.vocab_size());
  EXPECT_EQ(j["model"]["vocab"]["<|endoftext|>"], 256);
  EXPECT_EQ(j["model"]["vocab"]["Ġ"], 32);
  EXPECT_EQ(j["model"]["merges"].size(), tokenizer.merges().size());
  // Merge i names its two parts and makes id 257 + i.
  const auto [l, r] = tokenizer.merges()[0];
  EXPECT_EQ(j["model"]["merges"][0],
            ByteLevelChar(tokenizer.token_bytes(l)[0]) + " " + ByteLevelChar(tokenizer.token_bytes(r)[0]));
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"], kIsoflopPretokenizerRegex);
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][1]["use_regex"], false);
  EXPECT_EQ(j["decoder"]["type"], "ByteLevel");
  EXPECT_TRUE(j["added_tokens"].empty());
}

TEST(HfTokenizer, EncodesIdenticallyWithTheTokenizersLibrary) {
  int status = 0;
  const std::string node = RunCommand("command -v node", &status);
  if (status != 0 || node.empty())
    GTEST_SKIP() << "node is not installed (scripts/setup installs it): not checked";
  std::string root = RunCommand("npm root -g 2>/dev/null", &status);
  while (!root.empty() && (root.back() == '\n' || root.back() == '\r')) root.pop_back();
  if (status != 0 || !std::filesystem::exists(root + "/tokenizers/package.json")) {
    GTEST_SKIP() << "the npm package `tokenizers` is not installed globally (scripts/setup installs "
                    "tokenizers@0.23.2): tokenizer.hf.json not checked against the library";
  }
  testing::TempDir dir;
  std::vector<std::string> texts = testing::AustenChapters();
  const auto edge = EdgeCaseTexts(400, 7);
  // Trained on both, so merges include whitespace runs, symbols and multi-byte characters.
  std::vector<std::string> training = texts;
  training.insert(training.end(), edge.begin(), edge.end());
  BpeTokenizer tokenizer = TrainOn(training, 2000);
  ASSERT_GT(tokenizer.merges().size(), 1000u);
  const auto more = EdgeCaseTexts(600, 11);  // texts the merges were not learned from
  texts.insert(texts.end(), edge.begin(), edge.end());
  texts.insert(texts.end(), more.begin(), more.end());

  auto hf = HuggingFaceTokenizerJson(tokenizer);
  ASSERT_TRUE(hf.ok()) << hf.status().ToString();
  {
    std::ofstream(dir.Join("tokenizer.hf.json")) << *hf;
    std::ofstream cases(dir.Join("cases.jsonl"));
    for (const auto& t : texts) {
      std::vector<uint32_t> ids;
      tokenizer.Encode(t, &ids);
      cases << json{{"text", t}, {"ids", ids}}.dump() << "\n";
    }
  }
  const std::string cmd = "NODE_PATH='" + root + "' node '" + std::string(ISOFLOP_SOURCE_DIR) +
                          "/tests/data_pipeline/hf_tokenizer_check.js' '" + dir.Join("tokenizer.hf.json") +
                          "' '" + dir.Join("cases.jsonl") + "' 2>&1";
  const std::string out = RunCommand(cmd, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("hf-check: " + std::to_string(texts.size()) + " cases, " + std::to_string(texts.size()) +
                     " identical"),
            std::string::npos)
      << out;
  std::cout << out;
}

TEST(HfTokenizer, AcceptedAsBuildInputAndCheckedBeforeTheFirstPass) {
  testing::TempDir dir;
  BpeTokenizer tokenizer = TrainOn(testing::AustenChapters(), 700);
  auto hf = HuggingFaceTokenizerJson(tokenizer);
  ASSERT_TRUE(hf.ok());
  std::ofstream(dir.Join("tokenizer.hf.json")) << *hf;
  auto loaded = LoadTokenizerFile(dir.Join("tokenizer.hf.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->merges(), tokenizer.merges());

  // data build with the Hugging Face file: the same shards' tokenizer as with isoflop's own file.
  BuildOptions b;
  b.inputs = {testing::AustenPath()};
  b.out_dir = dir.Join("shards");
  b.progress = false;
  b.tokenizer_path = dir.Join("tokenizer.hf.json");
  auto built = BuildDataset(b);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  // The shards' tokenizer.json is the Hugging Face file itself (its ids are the shards' ids).
  EXPECT_EQ(testing::ReadFile(dir.Join("shards/tokenizer.json")), *hf);
  auto written = LoadTokenizerFile(dir.Join("shards/tokenizer.json"));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->merges(), tokenizer.merges());
  EXPECT_EQ(written->eos_id(), BpeTokenizer::kEosId);

  // A pre-tokenizer isoflop does not implement is refused, naming the field, before any input is
  // read: the input here does not even exist.
  json other = json::parse(*hf);
  other["pre_tokenizer"] = {{"type", "Whitespace"}};
  std::ofstream(dir.Join("whitespace.json")) << other.dump();
  b.inputs = {dir.Join("missing.jsonl")};
  b.tokenizer_path = dir.Join("whitespace.json");
  auto refused = BuildDataset(b);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("whitespace.json: pre_tokenizer.type:"), std::string::npos)
      << refused.status().message();

  // Another id layout (two byte tokens swapped) is the file's own: its ids are used.
  json swapped = json::parse(*hf);
  swapped["model"]["vocab"][ByteLevelChar('a')] = 98;
  swapped["model"]["vocab"][ByteLevelChar('b')] = 97;
  std::ofstream(dir.Join("swapped.json")) << swapped.dump();
  auto other_layout = LoadTokenizerFile(dir.Join("swapped.json"));
  ASSERT_TRUE(other_layout.ok()) << other_layout.status().ToString();
  std::vector<uint32_t> ids;
  other_layout->Encode("a\nb", &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{98, 10, 97}));
  // merges as ["left", "right"] pairs (tokenizers >= 0.20 writes them so) read the same.
  json pairs = json::parse(*hf);
  for (auto& m : pairs["model"]["merges"]) {
    const std::string t = m.get<std::string>();
    m = json::array({t.substr(0, t.find(' ')), t.substr(t.find(' ') + 1)});
  }
  std::ofstream(dir.Join("pairs.json")) << pairs.dump();
  auto from_pairs = LoadTokenizerFile(dir.Join("pairs.json"));
  ASSERT_TRUE(from_pairs.ok()) << from_pairs.status().ToString();
  EXPECT_EQ(from_pairs->merges(), tokenizer.merges());
}

}  // namespace
}  // namespace isoflop::data
