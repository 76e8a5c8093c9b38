// `data export --format llmc|nanogpt`: llm.c's 256 × int32 header (karpathy/llm.c @ 16635d41,
// dev/data/data_common.py write_datafile; the checks of llmc/dataloader.h @ 077f9bdd:
// magic, version, file size = 1024 + 2·ntok) and nanoGPT's headerless train.bin/val.bin
// (karpathy/nanoGPT @ 04cc18e9, data/openwebtext/prepare.py) hold the split's token stream in
// order; meta.pkl unpickles to {'vocab_size': V} (checked with Python when it is installed).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "isoflop/engine_export.h"
#include "isoflop/shard_writer.h"
#include "temp_dir.h"

namespace isoflop::data {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<uint32_t> Ids(const std::string& bytes, size_t offset, int width) {
  std::vector<uint32_t> ids;
  for (size_t at = offset; at + width <= bytes.size(); at += width) {
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + at, width);
    ids.push_back(v);
  }
  return ids;
}

struct Fixture {
  testing::TempDir dir;
  std::vector<uint32_t> train, val;  // the expected streams
  std::string shards;

  explicit Fixture(uint32_t vocab) {
    ShardWriterOptions w;
    w.out_dir = shards = dir.Join("shards");
    w.vocab_size = vocab;
    w.eos_id = 256;
    w.max_tokens_per_shard = 777;
    std::vector<std::vector<uint32_t>> docs;
    std::vector<std::string> splits;
    for (uint32_t d = 0; d < 120; ++d) {
      std::vector<uint32_t> doc;
      for (uint32_t t = 0; t < 10 + d % 31; ++t)
        doc.push_back((d * 7919 + t * 104729) % vocab == 256 ? 1 : (d * 7919 + t * 104729) % vocab);
      docs.push_back(doc);
      splits.push_back(d % 5 == 0 ? "val" : "train");
      auto& stream = splits.back() == "val" ? val : train;
      stream.insert(stream.end(), doc.begin(), doc.end());
      stream.push_back(256);
    }
    EXPECT_TRUE(WriteShards(w, docs, splits).ok());
  }
};

TEST(LlmcExport, HeaderAndTokensAsLlmcReadsThem) {
  Fixture fx(50257);
  ExportOptions o;
  o.shards_dir = fx.shards;
  o.format = "llmc";
  o.out = fx.dir.Join("llmc/austen");
  o.llmc_shard_tokens = 1000;  // several files per split
  auto summary = ExportShards(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  for (const std::string split : {"train", "val"}) {
    std::vector<uint32_t> stream;
    for (int i = 0;; ++i) {
      char name[40];
      std::snprintf(name, sizeof(name), "_%s_%06d.bin", split.c_str(), i);
      const std::string path = o.out + name;
      if (!std::filesystem::exists(path)) break;
      const std::string bytes = ReadAll(path);
      ASSERT_GE(bytes.size(), 1024u);
      int32_t header[256];
      std::memcpy(header, bytes.data(), sizeof(header));
      EXPECT_EQ(header[0], 20240520) << path;
      EXPECT_EQ(header[1], 1) << path;
      EXPECT_GT(header[2], 0);
      EXPECT_LE(header[2], 1000);
      for (int k = 3; k < 256; ++k) EXPECT_EQ(header[k], 0);
      EXPECT_EQ(bytes.size(), 1024u + 2u * static_cast<size_t>(header[2]))
          << "llmc/dataloader.h's size check";
      auto ids = Ids(bytes, 1024, 2);
      stream.insert(stream.end(), ids.begin(), ids.end());
    }
    EXPECT_EQ(stream, split == "train" ? fx.train : fx.val) << split;
  }
}

TEST(LlmcExport, WideVocabularyUsesTheLlama3Header) {
  Fixture fx(128256);
  ExportOptions o;
  o.shards_dir = fx.shards;
  o.format = "llmc";
  o.out = fx.dir.Join("llmc/wide");
  auto summary = ExportShards(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->token_dtype, "uint32");
  const std::string bytes = ReadAll(o.out + "_train_000000.bin");
  int32_t header[3];
  std::memcpy(header, bytes.data(), sizeof(header));
  EXPECT_EQ(header[0], 20240801);
  EXPECT_EQ(header[1], 7);
  EXPECT_EQ(Ids(bytes, 1024, 4), fx.train);
  bool noted = false;
  for (const auto& note : summary->notes) noted |= note.find("llama-3 header") != std::string::npos;
  EXPECT_TRUE(noted) << "the user is told llm.c's C loader reads only the uint16 header";
}

TEST(NanogptExport, TrainAndValBinsAndMeta) {
  Fixture fx(8192);
  ExportOptions o;
  o.shards_dir = fx.shards;
  o.format = "nanogpt";
  o.out = fx.dir.Join("nanogpt");
  auto summary = ExportShards(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Ids(ReadAll(o.out + "/train.bin"), 0, 2), fx.train);
  EXPECT_EQ(Ids(ReadAll(o.out + "/val.bin"), 0, 2), fx.val);
  // Protocol-2 pickle of {'vocab_size': 8192}: PROTO 2, EMPTY_DICT, BINUNICODE, BININT, SETITEM, STOP.
  EXPECT_EQ(ReadAll(o.out + "/meta.pkl"),
            std::string("\x80\x02}X\x0a\x00\x00\x00vocab_sizeJ\x00\x20\x00\x00s.", 25));
  if (std::filesystem::exists("/usr/bin/python3")) {
    const std::string cmd =
        "/usr/bin/python3 -c \"import pickle,sys; m=pickle.load(open(sys.argv[1],'rb')); "
        "sys.exit(0 if m=={'vocab_size': 8192} else 1)\" " +
        o.out + "/meta.pkl";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "Python's pickle reads meta.pkl as {'vocab_size': 8192}";
  } else {
    std::cout << "[ skipped ] /usr/bin/python3 absent: meta.pkl checked against its bytes only\n";
  }
}

TEST(NanogptExport, WideVocabularyIsUint32WithANote) {
  Fixture fx(100000);
  ExportOptions o;
  o.shards_dir = fx.shards;
  o.format = "nanogpt";
  o.out = fx.dir.Join("nanogpt");
  auto summary = ExportShards(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->token_dtype, "uint32");
  EXPECT_EQ(Ids(ReadAll(o.out + "/train.bin"), 0, 4), fx.train);
  bool noted = false;
  for (const auto& note : summary->notes) noted |= note.find("np.uint32") != std::string::npos;
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace isoflop::data
