// `isoflop data build --tokenizer` with Hugging Face byte-level BPE files that the `tokenizers`
// library itself trained and wrote (tests/data_pipeline/hf_byte_level_train.js; npm package
// `tokenizers`, pinned in scripts/setup; skipped with a message where node or the module is
// absent): the shards hold, token for token, the library's encoding of every document — the test
// corpus and documents of non-ASCII text, digits, runs of spaces and newlines, contractions and a
// literal <|endoftext|> — each followed by the file's <|endoftext|> id, for GPT-2's pre-tokenizer,
// RoBERTa's (add_prefix_space) and Llama 3's (Split regex + ByteLevel, ignore_merges). The ids
// are the file's own, so they are also checked through a wide vocabulary (uint32 shards) and
// `data export`. Files isoflop cannot encode identically are refused by field, exit 2, before
// any output exists.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "isoflop/shard_writer.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

CliRun Shell(const testing::TempDir& dir, const std::string& command) {
  const std::string out = dir.Join("stdout.txt"), err = dir.Join("stderr.txt");
  const int status = std::system((command + " >" + out + " 2>" + err).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), testing::ReadFile(out),
          testing::ReadFile(err)};
}

CliRun Isoflop(const testing::TempDir& dir, const std::string& args) {
  return Shell(dir, std::string(ISOFLOP_BINARY) + " " + args);
}

// The documents: the test corpus's chapters, then the pre-tokenizers' hard cases.
std::vector<std::string> Documents() {
  std::vector<std::string> docs = testing::AustenChapters();
  for (const char* text :
       {"Don't you think it's 2024? They'll say we've won, I'm sure he'd agree. DON'T SHOUT, IT'S Mine'S",
        "Ünïcödé façade — naïve café, 中文字符, Ωmega € “quoted” 😀 Ελληνικά",
        "digits 1234567 89 0.5 3,141,592 and ٣٤٥ and ½ and 2nd",
        "runs    of     spaces\tand\t\ttabs  \n\n\n\nand newlines   \n  indented\r\nline",
        "   leading spaces and trailing   ",
        "a literal <|endoftext|> inside, and <|endoftext|><|endoftext|>twice",
        "nbsp\u00a0here and\u2003em space and \u3000 ideographic"}) {
    docs.emplace_back(text);
  }
  return docs;
}

// The tokens of a build's train shards, in order.
std::vector<uint32_t> ShardTokens(const std::string& dir, uint32_t* token_bytes) {
  auto index = ReadShardIndex(dir);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  if (!index.ok()) return {};
  *token_bytes = index->token_bytes;
  std::vector<uint32_t> tokens;
  for (const ShardInfo& s : index->shards) {
    if (s.split != "train") continue;
    const std::string bytes = testing::ReadFile(dir + "/" + s.file);
    for (size_t i = 0; i + index->token_bytes <= bytes.size(); i += index->token_bytes) {
      uint32_t id = 0;
      for (uint32_t b = 0; b < index->token_bytes; ++b)
        id |= uint32_t{static_cast<uint8_t>(bytes[i + b])} << (8 * b);
      tokens.push_back(id);
    }
  }
  return tokens;
}

class HfByteLevelInput : public ::testing::Test {
 protected:
  void SetUp() override {
    const CliRun node = Shell(dir_, "command -v node");
    if (node.exit_code != 0) GTEST_SKIP() << "node is not installed (scripts/setup installs it): not checked";
    CliRun root = Shell(dir_, "npm root -g");
    while (!root.out.empty() && (root.out.back() == '\n' || root.out.back() == '\r')) root.out.pop_back();
    if (root.exit_code != 0 || !fs::exists(root.out + "/tokenizers/package.json"))
      GTEST_SKIP() << "the npm package `tokenizers` is not installed globally (scripts/setup installs "
                      "tokenizers@0.23.2): Hugging Face input not checked against the library";
    docs_ = Documents();
    std::vector<std::string> lines;
    for (size_t i = 0; i < docs_.size(); ++i)
      lines.push_back(testing::JsonlRecord("d" + std::to_string(i), docs_[i]));
    testing::WriteLines(dir_.Join("docs.jsonl"), lines);
    std::ofstream corpus(dir_.Join("corpus.txt"), std::ios::binary);
    for (const auto& d : docs_) corpus << d << '\n';
    corpus.close();
    // Every document is kept as it is: no filter or dedup drops one, no whitespace clean-up.
    std::ofstream(dir_.Join("keep.yaml"))
        << "normalize:\n  clean_whitespace: false\nsplit:\n  val_fraction: 0\n";
    const CliRun trained =
        Shell(dir_, "NODE_PATH='" + root.out + "' node '" + std::string(ISOFLOP_SOURCE_DIR) +
                        "/tests/data_pipeline/hf_byte_level_train.js' '" + dir_.Join("corpus.txt") + "' '" +
                        dir_.Join("docs.jsonl") + "' '" + dir_.path() + "' 1500");
    ASSERT_EQ(trained.exit_code, 0) << trained.out << trained.err;
    std::cout << trained.out;
  }

  // The library's ids for every document of `style`, each followed by `eos`.
  std::vector<uint32_t> Expected(const std::string& style, uint32_t eos) {
    std::ifstream in(dir_.Join(style + ".ids.jsonl"));
    std::vector<uint32_t> all;
    std::string line;
    size_t count = 0;
    while (std::getline(in, line)) {
      for (const auto& id : json::parse(line)) all.push_back(id.get<uint32_t>());
      all.push_back(eos);
      ++count;
    }
    EXPECT_EQ(count, docs_.size());
    return all;
  }

  CliRun Build(const std::string& tokenizer, const std::string& out, const std::string& extra = "") {
    return Isoflop(dir_, "data build --input " + dir_.Join("docs.jsonl") + " --out " + out + " --config " +
                             dir_.Join("keep.yaml") + " --skip quality exact near --quiet --tokenizer " +
                             tokenizer + extra);
  }

  testing::TempDir dir_;
  std::vector<std::string> docs_;
};

TEST_F(HfByteLevelInput, ShardsHoldTheLibrarysIdsForEveryDocument) {
  for (const std::string style : {"gpt2", "roberta", "llama3"}) {
    SCOPED_TRACE(style);
    const json file = json::parse(testing::ReadFile(dir_.Join(style + ".json")));
    const uint32_t eos = file["model"]["vocab"]["<|endoftext|>"].get<uint32_t>();
    const std::string out = dir_.Join("shards-" + style);
    const CliRun built = Build(dir_.Join(style + ".json"), out);
    ASSERT_EQ(built.exit_code, 0) << built.err;
    uint32_t token_bytes = 0;
    const std::vector<uint32_t> tokens = ShardTokens(out, &token_bytes);
    const std::vector<uint32_t> expected = Expected(style, eos);
    EXPECT_EQ(token_bytes, 2u);  // 1,637 ids: uint16
    ASSERT_EQ(tokens.size(), expected.size());
    size_t first_difference = 0;
    while (first_difference < tokens.size() && tokens[first_difference] == expected[first_difference])
      ++first_difference;
    EXPECT_EQ(first_difference, tokens.size()) << "first difference at token " << first_difference;
    const json manifest = json::parse(testing::ReadFile(out + "/manifest.json"));
    EXPECT_EQ(manifest["tokenizer"]["eos_id"], eos);
    EXPECT_EQ(manifest["tokenizer"]["vocab_size"], eos + 1);
    EXPECT_EQ(manifest["counters"]["documents_train"], docs_.size());
    // The shards' tokenizer.json is the file itself, and so is the exported tokenizer.hf.json.
    EXPECT_EQ(testing::ReadFile(out + "/tokenizer.json"), testing::ReadFile(dir_.Join(style + ".json")));
    const CliRun exported = Isoflop(dir_, "data export --shards " + out + " --format megatron --out " +
                                              dir_.Join("mg-" + style + "/data"));
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    EXPECT_EQ(testing::ReadFile(dir_.Join("mg-" + style + "/tokenizer.hf.json")),
              testing::ReadFile(dir_.Join(style + ".json")));
  }
}

TEST_F(HfByteLevelInput, AVocabularyBeyondUint16GivesUint32ShardsThroughExport) {
  // The same GPT-2-style file with <|endoftext|> moved to id 70,000: 70,001 ids need 4 bytes.
  json file = json::parse(testing::ReadFile(dir_.Join("gpt2.json")));
  const uint32_t eos = file["model"]["vocab"]["<|endoftext|>"].get<uint32_t>();
  file["model"]["vocab"]["<|endoftext|>"] = 70000;
  file["added_tokens"][0]["id"] = 70000;
  std::ofstream(dir_.Join("wide.json")) << file.dump();
  const std::string out = dir_.Join("shards-wide");
  const CliRun built = Build(dir_.Join("wide.json"), out);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  uint32_t token_bytes = 0;
  std::vector<uint32_t> expected = Expected("gpt2", eos);
  for (uint32_t& id : expected) id = id == eos ? 70000 : id;
  EXPECT_EQ(ShardTokens(out, &token_bytes), expected);
  EXPECT_EQ(token_bytes, 4u);
  EXPECT_EQ(json::parse(testing::ReadFile(out + "/manifest.json"))["tokenizer"]["vocab_size"], 70001);
  const CliRun megatron = Isoflop(
      dir_, "data export --shards " + out + " --format megatron --out " + dir_.Join("mg/data") + " --json");
  ASSERT_EQ(megatron.exit_code, 0) << megatron.err;
  EXPECT_EQ(json::parse(megatron.out)["token_dtype"], "int32");
  const CliRun nanogpt =
      Isoflop(dir_, "data export --shards " + out + " --format nanogpt --out " + dir_.Join("ng") + " --json");
  ASSERT_EQ(nanogpt.exit_code, 0) << nanogpt.err;
  EXPECT_EQ(json::parse(nanogpt.out)["token_dtype"], "uint32");
  EXPECT_EQ(fs::file_size(dir_.Join("ng/train.bin")), 4 * expected.size());
  const CliRun llmc = Isoflop(
      dir_, "data export --shards " + out + " --format llmc --out " + dir_.Join("llmc/data") + " --json");
  ASSERT_EQ(llmc.exit_code, 0) << llmc.err;
  EXPECT_EQ(json::parse(llmc.out)["token_dtype"], "uint32");
}

TEST_F(HfByteLevelInput, AnotherEndOfDocumentTokenIsChosenWithEosToken) {
  // --eos-token names any token of the file: here the byte-level token of "\n" ("Ċ").
  const json file = json::parse(testing::ReadFile(dir_.Join("gpt2.json")));
  const uint32_t newline = file["model"]["vocab"]["Ċ"].get<uint32_t>();
  const std::string out = dir_.Join("shards-nl");
  const CliRun built = Build(dir_.Join("gpt2.json"), out, " --eos-token Ċ");
  ASSERT_EQ(built.exit_code, 0) << built.err;
  uint32_t token_bytes = 0;
  // Each document ends in "Ċ"'s id; a literal <|endoftext|> inside one stays the special token.
  EXPECT_EQ(ShardTokens(out, &token_bytes), Expected("gpt2", newline));
  EXPECT_EQ(json::parse(testing::ReadFile(out + "/manifest.json"))["tokenizer"]["eos_id"], newline);
  const CliRun unknown = Build(dir_.Join("gpt2.json"), dir_.Join("shards-x"), " --eos-token '<|nope|>'");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("--eos-token \"<|nope|>\""), std::string::npos) << unknown.err;
  EXPECT_FALSE(fs::exists(dir_.Join("shards-x")));
}

TEST_F(HfByteLevelInput, UnsupportedFilesAreRefusedByFieldBeforeAnyOutput) {
  const json gpt2 = json::parse(testing::ReadFile(dir_.Join("gpt2.json")));
  struct Case {
    std::string name, field;
    std::function<void(json&)> edit;
  };
  const std::vector<Case> cases = {
      {"metaspace", "pre_tokenizer.type",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}};
       }},
      {"whitespace-in-sequence", "pre_tokenizer.pretokenizers[0].type",
       [](json& j) {
         j["pre_tokenizer"] = {
             {"type", "Sequence"},
             {"pretokenizers", {{{"type", "Whitespace"}}, {{"type", "ByteLevel"}, {"use_regex", false}}}}};
       }},
      {"split-removed", "pre_tokenizer.pretokenizers[0].behavior",
       [](json& j) {
         j["pre_tokenizer"] = {
             {"type", "Sequence"},
             {"pretokenizers",
              {{{"type", "Split"},
                {"pattern", {{"Regex", "\\s+"}}},
                {"behavior", "Removed"},
                {"invert", false}},
               {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
       }},
      {"nfc", "normalizer",
       [](json& j) {
         j["normalizer"] = {{"type", "NFC"}};
       }},
      {"wordpiece", "model.type", [](json& j) { j["model"]["type"] = "WordPiece"; }},
      {"no-byte", "model.vocab", [](json& j) { j["model"]["vocab"].erase("Ā"); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json j = gpt2;
    c.edit(j);
    std::ofstream(dir_.Join(c.name + ".json")) << j.dump();
    const std::string out = dir_.Join("out-" + c.name);
    const CliRun r = Build(dir_.Join(c.name + ".json"), out);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.name + ".json: " + c.field + ":"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << "output written before the tokenizer was checked";
  }
}

}  // namespace
}  // namespace isoflop::data
