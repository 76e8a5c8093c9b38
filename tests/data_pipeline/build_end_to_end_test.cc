// BuildDataset end to end on real text with planted duplicates and junk: every stage's
// counter, the dropped report, the manifest, and the shards decoding back to the kept text.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "isoflop/data_pipeline.h"
#include "isoflop/shard_writer.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

using nlohmann::json;

class BuildEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    originals_ = testing::AustenDocuments(150);
    std::vector<std::string> lines;
    for (size_t i = 0; i < originals_.size(); ++i)
      lines.push_back(testing::JsonlRecord("doc" + std::to_string(i), originals_[i]));
    // Exact duplicates after normalisation: same text with extra spaces and CRLF.
    for (size_t i = 0; i < originals_.size(); i += 10) {
      std::string spaced = originals_[i];
      for (size_t at = spaced.find(". "); at != std::string::npos; at = spaced.find(". ", at + 3))
        spaced.insert(at + 1, " ");
      lines.push_back(testing::JsonlRecord("exact" + std::to_string(i), spaced + "\r\n"));
      ++exact_planted_;
    }
    // Near duplicates: one word replaced. (A short boilerplate line would not do: the C4
    // line filter removes it, and the copy becomes an exact duplicate.)
    for (size_t i = 5; i < originals_.size(); i += 10) {
      auto words = testing::SplitWords(originals_[i]);
      words[words.size() / 2] = "archive";
      lines.push_back(testing::JsonlRecord("near" + std::to_string(i), testing::JoinWords(words)));
      ++near_planted_;
    }
    lines.push_back(testing::JsonlRecord("lorem", "Lorem ipsum dolor sit amet. " + originals_[1]));
    lines.push_back(testing::JsonlRecord("short", "Too short to be a document."));
    input_ = dir_.Join("corpus.jsonl");
    testing::WriteLines(input_, lines);
  }

  BuildOptions Options() {
    BuildOptions o;
    o.inputs = {input_};
    o.out_dir = dir_.Join("out");
    o.report_path = dir_.Join("dropped.jsonl");
    o.threads = 2;
    o.progress = false;
    o.tokenizer.vocab_size = 600;
    o.val_fraction = 0.1;
    return o;
  }

  testing::TempDir dir_;
  std::vector<std::string> originals_;
  std::string input_;
  int exact_planted_ = 0, near_planted_ = 0;
};

TEST_F(BuildEndToEnd, CountersReportManifestAndShards) {
  auto summary = BuildDataset(Options());
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  const auto& c = summary->counters;
  EXPECT_EQ(c.at("documents_read"),
            static_cast<int64_t>(originals_.size()) + exact_planted_ + near_planted_ + 2);
  EXPECT_EQ(c.at("exact_dup"), exact_planted_) << "exact duplicates: 100%";
  EXPECT_GE(c.at("near_dup"), near_planted_);
  EXPECT_EQ(c.at("quality:c4_lorem_ipsum"), 1);
  EXPECT_EQ(c.at("quality:gopher_min_words"), 1);
  EXPECT_EQ(c.at("kept"), c.at("documents_train") + c.at("documents_val"));
  EXPECT_GT(c.at("documents_val"), 0);

  // dropped.jsonl: one line per dropped document, duplicates name what was kept instead.
  std::map<std::string, json> dropped;
  std::istringstream report(testing::ReadFile(dir_.Join("dropped.jsonl")));
  std::string line;
  while (std::getline(report, line)) {
    json j = json::parse(line);
    dropped[j["id"]] = j;
  }
  EXPECT_EQ(static_cast<int64_t>(dropped.size()), c.at("documents_read") - c.at("kept"));
  EXPECT_EQ(dropped.at("exact10")["reason"], "exact_dup");
  EXPECT_EQ(dropped.at("exact10")["kept_id"], "doc10");
  EXPECT_EQ(dropped.at("near15")["reason"], "near_dup");
  EXPECT_EQ(dropped.at("near15")["kept_id"], "doc15");
  EXPECT_EQ(dropped.at("lorem")["reason"], "quality:c4_lorem_ipsum");
  EXPECT_EQ(dropped.at("short")["reason"], "quality:gopher_min_words");

  // manifest.json: inputs with sha256, counters, config, tokenizer hash, shards.
  json manifest = json::parse(testing::ReadFile(dir_.Join("out/manifest.json")));
  EXPECT_EQ(manifest["inputs"][0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(manifest["counters"]["exact_dup"], exact_planted_);
  EXPECT_EQ(manifest["config"]["minhash"]["bands"], 14);
  EXPECT_EQ(manifest["tokenizer"]["vocab_size"], 600);
  EXPECT_EQ(manifest["shards"]["token_bytes"], 2);
  auto index = ReadShardIndex(dir_.Join("out"));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->TokensIn("train"), c.at("tokens_train"));

  // The train stream decodes to the kept documents, each followed by <|endoftext|>.
  auto tokenizer = BpeTokenizer::Load(dir_.Join("out/tokenizer.json"));
  ASSERT_TRUE(tokenizer.ok());
  std::string stream = testing::ReadFile(dir_.Join("out/train-00000.bin"));
  std::vector<uint32_t> ids(stream.size() / 2);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = uint8_t(stream[2 * i]) | (uint8_t(stream[2 * i + 1]) << 8);
  std::string text = tokenizer->Decode(ids);
  EXPECT_NE(text.find("<|endoftext|>"), std::string::npos);
  size_t docs_in_stream = 0;
  for (size_t at = text.find("<|endoftext|>"); at != std::string::npos;
       at = text.find("<|endoftext|>", at + 1)) {
    ++docs_in_stream;
  }
  EXPECT_EQ(static_cast<int64_t>(docs_in_stream), c.at("documents_train"));
  EXPECT_NE(text.find(originals_[0].substr(0, 200)), std::string::npos);
}

TEST_F(BuildEndToEnd, SkipStagesTurnThemOff) {
  auto o = Options();
  o.skip_exact = o.skip_near = true;
  o.skip_quality = true;
  o.skip_tokenize = true;
  auto summary = BuildDataset(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->counters.at("exact_dup"), 0);
  EXPECT_EQ(summary->counters.at("near_dup"), 0);
  EXPECT_EQ(summary->counters.at("quality_dropped"), 0);
  EXPECT_EQ(summary->counters.at("kept"), summary->counters.at("documents_read"));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("out/kept.jsonl")));
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("out/index.tsv")));
}

TEST_F(BuildEndToEnd, StatsAndSampleReadTheBuild) {
  ASSERT_TRUE(BuildDataset(Options()).ok());
  auto stats = ReadDatasetStats(dir_.Join("out"));
  ASSERT_TRUE(stats.ok());
  EXPECT_NE(stats->BriefReport().find("exact_dup " + std::to_string(exact_planted_)), std::string::npos)
      << stats->BriefReport();
  auto windows = SampleWindows({.dir = dir_.Join("out"), .count = 3, .seq_len = 64});
  ASSERT_TRUE(windows.ok()) << windows.status().ToString();
  ASSERT_EQ(windows->size(), 3u);
  for (const auto& w : *windows) EXPECT_GT(w.size(), 100u);  // 65 tokens of English ≈ 250 bytes
  EXPECT_FALSE(ReadDatasetStats(dir_.Join("nothing-here")).ok());
}

}  // namespace
}  // namespace isoflop::data
