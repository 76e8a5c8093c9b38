// Inputs `data build` cannot read are refused before any work starts, with a message that says
// what the file is and how to convert it (issue 15: a Parquet or Arrow file was read as one
// plain-text document, Hugging Face save_to_disk metadata parsed as JSONL, --tokenizer checked
// only after a full first pass, `--config DIR` crashed).
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "isoflop/data_pipeline.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

class InputChecks : public ::testing::Test {
 protected:
  BuildOptions Options(std::vector<std::string> inputs) {
    BuildOptions o;
    o.inputs = std::move(inputs);
    o.out_dir = dir_.Join("out");
    o.progress = false;
    o.tokenizer.vocab_size = 300;
    return o;
  }
  // The build fails with exit-2 bad input, naming `expected`, before creating the output.
  void ExpectRefused(const BuildOptions& o, const std::string& expected) {
    auto summary = BuildDataset(o);
    ASSERT_FALSE(summary.ok());
    EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument) << summary.status().ToString();
    EXPECT_NE(summary.status().message().find(expected), std::string::npos) << summary.status().message();
    EXPECT_FALSE(std::filesystem::exists(o.out_dir)) << "work started before the check";
  }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_.Join(name), std::ios::binary) << bytes;
    return dir_.Join(name);
  }
  std::string Gzip(const std::string& name, const std::string& bytes) {
    gzFile gz = gzopen(dir_.Join(name).c_str(), "wb");
    gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(gz);
    return dir_.Join(name);
  }
  std::string Corpus() {
    std::string jsonl;
    auto chapters = testing::AustenChapters();
    for (size_t i = 0; i < chapters.size(); ++i)
      jsonl += testing::JsonlRecord("c" + std::to_string(i), chapters[i]) + "\n";
    return jsonl;
  }
  testing::TempDir dir_;
};

TEST_F(InputChecks, ParquetAndArrowAreRefusedWithAConversionHint) {
  std::string parquet =
      Write("data.parquet", std::string("PAR1\x15\x04\x15\x10", 8) + std::string(100, 'x') + "PAR1");
  ExpectRefused(Options({parquet}), "is Apache Parquet, not JSON Lines or text");
  ExpectRefused(Options({parquet}), "pd.read_parquet");
  // Hugging Face datasets' .arrow files are Arrow IPC streams (continuation marker 0xFFFFFFFF).
  std::string arrow =
      Write("data-00000-of-00001.arrow", std::string("\xff\xff\xff\xff\x78\x00\x00\x00", 8) + "xyz");
  ExpectRefused(Options({arrow}), "Apache Arrow IPC stream");
  ExpectRefused(Options({Write("t.feather", std::string("ARROW1\0\0", 8))}), "Apache Arrow IPC file");
  ExpectRefused(Options({Write("t.jsonl.bz2", "BZh91AY&SY")}), "is bzip2");
  ExpectRefused(Options({Write("t.zip", std::string("PK\x03\x04", 4) + "rest")}), "is zip");
}

TEST_F(InputChecks, HuggingFaceSaveToDiskDirectoryIsRefused) {
  std::filesystem::create_directories(dir_.Join("hf"));
  std::ofstream(dir_.Join("hf/state.json"))
      << "{\n  \"_data_files\": [{\"filename\": \"data-00000-of-00001.arrow\"}]\n}\n";
  std::ofstream(dir_.Join("hf/dataset_info.json")) << "{\n  \"citation\": \"\"\n}\n";
  ExpectRefused(Options({dir_.Join("hf")}), "Hugging Face `datasets` save_to_disk directory");
  // Its metadata file given directly is a pretty-printed JSON document, not JSON Lines.
  ExpectRefused(Options({dir_.Join("hf/state.json")}),
                "state.json:1: a JSON document spread over several lines");
}

TEST_F(InputChecks, BinaryDataInsideGzipIsRefusedWhateverTheName) {
  // A gzip of zeros (the campaign's 1 GiB bomb, smaller here) is refused from its first block:
  // nothing is decompressed past 64 KiB.
  ExpectRefused(Options({Gzip("zeros.jsonl.gz", std::string(8 << 20, '\0'))}), "binary data inside gzip");
  // gzip without .gz: recognised by its magic bytes, and the Parquet inside it named.
  ExpectRefused(Options({Gzip("data.bin", std::string("PAR1", 4) + std::string(1000, 'x'))}),
                "Apache Parquet inside gzip");
  ExpectRefused(Options({Write("nul.txt", std::string("text\0more", 9))}), "NUL byte at offset 4");
}

TEST_F(InputChecks, GzipWithoutGzSuffixIsReadLikeTheSameJsonl) {
  std::string plain = Write("c.jsonl", Corpus());
  std::string hidden = Gzip("c.jsonl.data", Corpus());  // gzip, name without .gz
  auto a = Options({plain});
  auto b = Options({hidden});
  b.input.format = "jsonl";
  b.out_dir = dir_.Join("out-b");
  auto sa = BuildDataset(a), sb = BuildDataset(b);
  ASSERT_TRUE(sa.ok()) << sa.status().ToString();
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  EXPECT_EQ(sa->counters.at("tokens_train"), sb->counters.at("tokens_train"));
  EXPECT_EQ(testing::ReadFile(dir_.Join("out/index.tsv")), testing::ReadFile(dir_.Join("out-b/index.tsv")));
}

TEST_F(InputChecks, TokenizerAndConfigAreCheckedBeforeAnyWork) {
  std::string corpus = Write("c.jsonl", Corpus());
  auto o = Options({corpus});
  o.tokenizer_path = dir_.Join("missing-tokenizer.json");
  ExpectRefused(o, "missing-tokenizer.json");
  o.tokenizer_path = Write("bad-tokenizer.json", "{\"format\": \"something-else\"}");
  ExpectRefused(o, "bad-tokenizer.json");

  // Campaign finding 13: `data build --config DIR` ended in an uncaught std::ios_base::failure.
  std::filesystem::create_directories(dir_.Join("confdir"));
  auto loaded = LoadBuildConfig(dir_.Join("confdir"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("is a directory; expected a YAML file"), std::string::npos)
      << loaded.status().message();
  // The tokenizer a config names is checked as early as --tokenizer.
  Write("conf.yaml", "tokenizer:\n  path: " + dir_.Join("nope.json") + "\n");
  loaded = LoadBuildConfig(dir_.Join("conf.yaml"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  loaded->inputs = {corpus};
  loaded->out_dir = dir_.Join("out");
  loaded->progress = false;
  ExpectRefused(*loaded, "nope.json");
}

}  // namespace
}  // namespace isoflop::data
