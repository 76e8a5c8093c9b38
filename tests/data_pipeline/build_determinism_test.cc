// The same input and config give byte-identical output (shards, index, manifest,
// tokenizer, dropped report) for any thread count and batch size.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "isoflop/data_pipeline.h"
#include "sha256.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    files[e.path().filename().string()] = testing::ReadFile(e.path().string());
  }
  return files;
}

TEST(BuildDeterminism, ByteIdenticalForAnyThreadCount) {
  testing::TempDir dir;
  auto docs = testing::AustenDocuments(120);
  std::vector<std::string> lines;
  for (size_t i = 0; i < docs.size(); ++i) {
    lines.push_back(testing::JsonlRecord("d" + std::to_string(i), docs[i]));
    if (i % 7 == 0) lines.push_back(testing::JsonlRecord("dup" + std::to_string(i), docs[i]));
    if (i % 9 == 0) {
      auto words = testing::SplitWords(docs[i]);
      words[words.size() / 3] = "notes";
      lines.push_back(testing::JsonlRecord("near" + std::to_string(i), testing::JoinWords(words)));
    }
  }
  testing::WriteLines(dir.Join("in.jsonl"), lines);
  std::vector<std::map<std::string, std::string>> outputs;
  for (int threads : {1, 2, 5}) {
    BuildOptions o;
    o.inputs = {dir.Join("in.jsonl")};
    o.out_dir = dir.Join("out" + std::to_string(threads));
    o.report_path = o.out_dir + "/dropped.jsonl";
    o.threads = threads;
    o.batch_bytes = threads == 1 ? (8 << 20) : 5000 * threads;  // batching must not matter either
    o.progress = false;
    o.tokenizer.vocab_size = 500;
    o.val_fraction = 0.2;
    o.max_tokens_per_shard = 20000;  // several shards
    auto summary = BuildDataset(o);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_GT(summary->counters.at("exact_dup"), 0);
    EXPECT_GT(summary->counters.at("near_dup"), 0);
    outputs.push_back(Files(o.out_dir));
  }
  ASSERT_GE(outputs[0].size(), 6u);  // index, manifest, tokenizer, report, ≥2 shards
  EXPECT_TRUE(outputs[0].count("train-00001.bin"));
  // The manifest's sha256 of each shard is the file's (hashed while encoding, one group).
  const auto manifest = nlohmann::json::parse(outputs[0]["manifest.json"]);
  ASSERT_GE(manifest["shards"]["files"].size(), 2u);
  for (const auto& shard : manifest["shards"]["files"]) {
    const std::string file = shard["file"].get<std::string>();
    ASSERT_TRUE(outputs[0].count(file)) << file;
    EXPECT_EQ(shard["sha256"].get<std::string>(), Sha256Hex(outputs[0][file])) << file;
  }
  for (size_t k = 1; k < outputs.size(); ++k) {
    ASSERT_EQ(outputs[k].size(), outputs[0].size());
    for (const auto& [name, bytes] : outputs[0]) EXPECT_TRUE(outputs[k][name] == bytes) << name << " differs";
  }
}

}  // namespace
}  // namespace isoflop::data
