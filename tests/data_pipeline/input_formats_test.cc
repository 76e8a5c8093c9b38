// JSONL, gzip- and zstd-compressed JSONL, and plain text (per paragraph) inputs give the same
// documents, and so the same token shards.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>

#include "isoflop/data_pipeline.h"
#include "isoflop/shard_writer.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

std::vector<std::string> ShardHashes(const std::string& dir) {
  auto index = ReadShardIndex(dir);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  std::vector<std::string> hashes;
  if (index.ok()) {
    for (const auto& s : index->shards) hashes.push_back(s.split + " " + s.sha256);
  }
  return hashes;
}

TEST(InputFormats, CompressedAndPlainTextMatchJsonl) {
  testing::TempDir dir;
  auto docs = testing::AustenDocuments(200);
  std::string jsonl, text;
  for (size_t i = 0; i < docs.size(); ++i) {
    jsonl += testing::JsonlRecord("d" + std::to_string(i), docs[i]) + "\n";
    // Plain text, one document per blank-line block: paragraphs of a document joined by a
    // single newline so blocks are documents.
    std::string block = docs[i];
    for (size_t at = block.find("\n\n"); at != std::string::npos; at = block.find("\n\n", at))
      block.erase(at, 1);
    text += block + "\n\n";
  }
  testing::WriteLines(dir.Join("c.jsonl"), {jsonl});
  {
    gzFile gz = gzopen(dir.Join("c.jsonl.gz").c_str(), "wb");
    // Two gzip members, as `cat a.gz b.gz` makes.
    gzwrite(gz, jsonl.data(), static_cast<unsigned>(jsonl.size() / 2));
    gzclose(gz);
    gz = gzopen(dir.Join("c.jsonl.gz").c_str(), "ab");
    gzwrite(gz, jsonl.data() + jsonl.size() / 2, static_cast<unsigned>(jsonl.size() - jsonl.size() / 2));
    gzclose(gz);
  }
  {
    std::string packed(ZSTD_compressBound(jsonl.size()), '\0');
    packed.resize(ZSTD_compress(packed.data(), packed.size(), jsonl.data(), jsonl.size(), 3));
    std::ofstream(dir.Join("c.jsonl.zst"), std::ios::binary) << packed;
  }
  testing::WriteLines(dir.Join("c.txt"), {text});

  auto build = [&](const std::string& input, const std::string& out, const std::string& unit) {
    BuildOptions o;
    o.inputs = {dir.Join(input)};
    o.out_dir = dir.Join(out);
    o.progress = false;
    o.input.text_unit = unit;
    o.tokenizer.vocab_size = 400;
    // C4 line filtering keeps lines, and the text input joined paragraphs into lines; skip
    // quality so both inputs keep the same documents.
    o.skip_quality = true;
    auto summary = BuildDataset(o);
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    return summary.ok() ? summary->counters.at("kept") : -1;
  };
  EXPECT_EQ(build("c.jsonl", "a", "file"), static_cast<int64_t>(docs.size()));
  EXPECT_EQ(build("c.jsonl.gz", "b", "file"), static_cast<int64_t>(docs.size()));
  EXPECT_EQ(build("c.jsonl.zst", "c", "file"), static_cast<int64_t>(docs.size()));
  EXPECT_EQ(build("c.txt", "d", "paragraph"), static_cast<int64_t>(docs.size()));
  EXPECT_EQ(ShardHashes(dir.Join("a")), ShardHashes(dir.Join("b")));
  EXPECT_EQ(ShardHashes(dir.Join("a")), ShardHashes(dir.Join("c")));
  EXPECT_NE(ShardHashes(dir.Join("a")),
            ShardHashes(dir.Join("d")));  // single newlines instead of blank lines
}

}  // namespace
}  // namespace isoflop::data
