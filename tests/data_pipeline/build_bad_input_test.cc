// Bad input: invalid JSON lines are skipped, counted and reported with file:line (fatal
// with --strict); empty inputs, missing files and bad configs are clear errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isoflop/data_pipeline.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

class BadInput : public ::testing::Test {
 protected:
  BuildOptions Options(std::vector<std::string> inputs) {
    BuildOptions o;
    o.inputs = std::move(inputs);
    o.out_dir = dir_.Join("out");
    o.report_path = dir_.Join("dropped.jsonl");
    o.progress = false;
    o.tokenizer.vocab_size = 300;
    return o;
  }
  testing::TempDir dir_;
};

TEST_F(BadInput, InvalidJsonLineIsSkippedCountedAndReported) {
  auto chapters = testing::AustenChapters();
  std::string path = dir_.Join("mixed.jsonl");
  testing::WriteLines(
      path, {testing::JsonlRecord("a", chapters[0]), "{\"id\": \"b\", \"text\": \"unterminated",
             testing::JsonlRecord("c", chapters[1]), "", "{\"id\": \"d\", \"body\": \"no text field\"}"});
  auto summary = BuildDataset(Options({path}));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->counters.at("invalid_records"), 2);
  EXPECT_EQ(summary->counters.at("documents_read"), 4);  // the blank line is not a record
  EXPECT_EQ(summary->counters.at("kept"), 2);
  std::string report = testing::ReadFile(dir_.Join("dropped.jsonl"));
  EXPECT_NE(report.find("\"source\":\"" + path + ":2\""), std::string::npos) << report;
  EXPECT_NE(report.find("\"source\":\"" + path + ":5\""), std::string::npos) << report;
  EXPECT_NE(report.find("invalid_record"), std::string::npos);

  auto strict = Options({path});
  strict.strict = true;
  auto failed = BuildDataset(strict);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(failed.status().message().find(path + ":2: invalid JSON"), std::string::npos)
      << failed.status().message();
}

TEST_F(BadInput, EmptyInputIsAClearError) {
  std::string path = dir_.Join("empty.jsonl");
  testing::WriteLines(path, {});
  auto summary = BuildDataset(Options({path}));
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(summary.status().message().find("no documents"), std::string::npos) << summary.status().message();
}

TEST_F(BadInput, MissingFileIsNamed) {
  auto summary = BuildDataset(Options({dir_.Join("nope.jsonl")}));
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(summary.status().message().find("nope.jsonl does not exist"), std::string::npos);
}

TEST_F(BadInput, CorruptCompressedInputIsNamed) {
  std::string path = dir_.Join("broken.jsonl.gz");
  testing::WriteLines(path, {std::string("\x1f\x8b\x08\x00garbage-not-deflate", 23)});
  auto summary = BuildDataset(Options({path}));
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.status().message().find("broken.jsonl.gz"), std::string::npos)
      << summary.status().message();
}

TEST_F(BadInput, ConfigErrorsNameTheKeyAndLine) {
  std::string path = dir_.Join("bad.yaml");
  testing::WriteLines(path, {"minhash:", "  bands: 14", "  rowz: 8"});
  auto loaded = LoadBuildConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("bad.yaml:3: unknown key 'minhash.rowz'"), std::string::npos)
      << loaded.status().message();
  testing::WriteLines(path, {"minhash:", "  bands: fourteen"});
  loaded = LoadBuildConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("minhash.bands"), std::string::npos);
}

TEST(DataConfig, ShippedDefaultYamlEqualsBuiltInDefaults) {
  auto loaded = LoadBuildConfig(std::string(ISOFLOP_SOURCE_DIR) + "/configs/data/default.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  BuildOptions defaults;
  EXPECT_EQ(loaded->minhash.num_bands, defaults.minhash.num_bands);
  EXPECT_EQ(loaded->minhash.rows_per_band, defaults.minhash.rows_per_band);
  EXPECT_EQ(loaded->minhash.verify_threshold, defaults.minhash.verify_threshold);
  EXPECT_EQ(loaded->minhash.verify, defaults.minhash.verify);
  EXPECT_EQ(loaded->quality.gopher_quality.min_words, defaults.quality.gopher_quality.min_words);
  EXPECT_EQ(loaded->quality.gopher_repetition.max_duplicate_ngram_char_fraction,
            defaults.quality.gopher_repetition.max_duplicate_ngram_char_fraction);
  EXPECT_EQ(loaded->quality.c4.min_sentences, defaults.quality.c4.min_sentences);
  EXPECT_EQ(loaded->tokenizer.vocab_size, defaults.tokenizer.vocab_size);
  EXPECT_EQ(loaded->val_fraction, defaults.val_fraction);
}

}  // namespace
}  // namespace isoflop::data
