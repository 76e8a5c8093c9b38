// `data export --format megatron`: the .bin/.idx pair, read back by a reader written from
// Megatron-Core's format (megatron/core/datasets/indexed_dataset.py, NVIDIA/Megatron-LM @ 00caa53a:
// _IndexWriter.write / _IndexReader.__init__ / IndexedDataset.__getitem__), returns every token and
// every document boundary of the shards, for shards whose documents cross shard files, for the
// uint16 and the int32 dtype, and for a real `data build` of the Austen chapters.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "isoflop/data_pipeline.h"
#include "isoflop/engine_export.h"
#include "isoflop/shard_writer.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
T Take(const std::string& bytes, size_t* at) {
  T value;
  if (*at + sizeof(T) > bytes.size()) throw std::runtime_error("index truncated");
  std::memcpy(&value, bytes.data() + *at, sizeof(T));
  *at += sizeof(T);
  return value;
}

struct MegatronDataset {
  uint8_t dtype_code = 0;
  std::vector<int32_t> sequence_lengths;
  std::vector<int64_t> sequence_pointers;
  std::vector<int64_t> document_indices;
  std::vector<std::vector<uint32_t>> sequences;  // dataset[i] for every i
};

// The reader, from the format: header b"MMIDIDX\x00\x00", <Q version (1), <B dtype code,
// <Q sequence count, <Q document count, int32 lengths, int64 pointers, int64 document indices;
// sequence i is `length` items of the dtype at byte `pointer` of PREFIX.bin. IndexedDataset's
// own checks: lengths.shape[0] == document_indices[-1] == sequence count.
MegatronDataset ReadMegatron(const std::string& prefix) {
  MegatronDataset d;
  const std::string idx = ReadAll(prefix + ".idx"), bin = ReadAll(prefix + ".bin");
  EXPECT_EQ(idx.substr(0, 9), std::string("MMIDIDX\0\0", 9));
  size_t at = 9;
  EXPECT_EQ(Take<uint64_t>(idx, &at), 1u);
  d.dtype_code = Take<uint8_t>(idx, &at);
  const uint64_t sequences = Take<uint64_t>(idx, &at), documents = Take<uint64_t>(idx, &at);
  EXPECT_EQ(at, 34u);  // _IndexReader's fixed offset for the fast-cache path
  for (uint64_t i = 0; i < sequences; ++i) d.sequence_lengths.push_back(Take<int32_t>(idx, &at));
  for (uint64_t i = 0; i < sequences; ++i) d.sequence_pointers.push_back(Take<int64_t>(idx, &at));
  for (uint64_t i = 0; i < documents; ++i) d.document_indices.push_back(Take<int64_t>(idx, &at));
  EXPECT_EQ(at, idx.size()) << "bytes after the document indices (not multimodal: no sequence modes)";
  EXPECT_FALSE(d.document_indices.empty());
  if (!d.document_indices.empty()) {
    EXPECT_EQ(d.document_indices.back(), static_cast<int64_t>(sequences));
  }
  const size_t item = d.dtype_code == 8 ? 2 : d.dtype_code == 4 ? 4 : 0;
  EXPECT_NE(item, 0u) << "dtype code " << int(d.dtype_code);
  int64_t expected_pointer = 0;
  for (uint64_t i = 0; i < sequences; ++i) {
    EXPECT_EQ(d.sequence_pointers[i], expected_pointer);
    expected_pointer += d.sequence_lengths[i] * static_cast<int64_t>(item);
    std::vector<uint32_t> seq;
    for (int32_t t = 0; t < d.sequence_lengths[i]; ++t) {
      const size_t off = static_cast<size_t>(d.sequence_pointers[i]) + t * item;
      if (item == 2) {
        uint16_t v;
        std::memcpy(&v, bin.data() + off, 2);
        seq.push_back(v);
      } else {
        int32_t v;
        std::memcpy(&v, bin.data() + off, 4);
        seq.push_back(static_cast<uint32_t>(v));
      }
    }
    d.sequences.push_back(std::move(seq));
  }
  EXPECT_EQ(static_cast<size_t>(expected_pointer), bin.size());
  return d;
}

std::vector<std::vector<uint32_t>> SyntheticDocuments(uint32_t vocab, uint32_t eos, int count,
                                                      uint64_t seed) {
  std::vector<std::vector<uint32_t>> docs;
  uint64_t x = seed;
  auto next = [&x] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL, x >> 33; };
  for (int d = 0; d < count; ++d) {
    std::vector<uint32_t> doc(1 + next() % 97);
    for (auto& t : doc) {
      do t = static_cast<uint32_t>(next() % vocab);
      while (t == eos);
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

void ExpectRoundTrip(uint32_t vocab, uint32_t eos, uint8_t expected_code) {
  testing::TempDir dir;
  auto docs = SyntheticDocuments(vocab, eos, 300, vocab);
  std::vector<std::string> splits;
  for (size_t i = 0; i < docs.size(); ++i) splits.push_back(i % 7 == 3 ? "val" : "train");
  ShardWriterOptions w;
  w.out_dir = dir.Join("shards");
  w.vocab_size = vocab;
  w.eos_id = eos;
  w.max_tokens_per_shard = 1000;  // ~15 shards: documents cross shard files
  ASSERT_TRUE(WriteShards(w, docs, splits).ok());

  ExportOptions o;
  o.shards_dir = w.out_dir;
  o.format = "megatron";
  o.out = dir.Join("megatron/data");
  auto summary = ExportShards(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(summary->files.size(), 2u);

  for (const std::string split : {"train", "val"}) {
    std::vector<std::vector<uint32_t>> expected;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (splits[i] != split) continue;
      expected.push_back(docs[i]);
      expected.back().push_back(eos);  // each document ends in its end-of-document id
    }
    MegatronDataset d = ReadMegatron(split == "train" ? o.out : o.out + "_val");
    EXPECT_EQ(d.dtype_code, expected_code);
    ASSERT_EQ(d.sequences.size(), expected.size()) << split;
    ASSERT_EQ(d.document_indices.size(), expected.size() + 1) << split;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(d.document_indices[i], static_cast<int64_t>(i)) << "one document per sequence";
      ASSERT_EQ(d.sequences[i], expected[i]) << split << " document " << i;
    }
  }
}

TEST(MegatronExport, Uint16RoundTripsEveryTokenAndBoundary) {
  ExpectRoundTrip(300, 256, 8);
}

// Megatron's DType.optimal_dtype: uint16 only below 65,500 ids, int32 from there on (our own
// shards switch to 4 bytes only above 65,536).
TEST(MegatronExport, Int32FromMegatronsThreshold) {
  EXPECT_EQ(MegatronDtypeCode(65499), 8);
  EXPECT_EQ(MegatronDtypeCode(65500), 4);
  ExpectRoundTrip(65520, 65519, 4);  // 2-byte shards, int32 in Megatron
  ExpectRoundTrip(200000, 100, 4);   // 4-byte shards
}

TEST(MegatronExport, RealBuildOfTheAustenChapters) {
  testing::TempDir dir;
  BuildOptions b;
  b.inputs = {testing::AustenPath()};
  b.out_dir = dir.Join("shards");
  b.progress = false;
  b.tokenizer.vocab_size = 512;
  b.val_fraction = 0.2;
  auto built = BuildDataset(b);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto index = ReadShardIndex(b.out_dir);
  ASSERT_TRUE(index.ok());

  ExportOptions o;
  o.shards_dir = b.out_dir;
  o.format = "megatron";
  o.out = dir.Join("out/austen");
  auto summary = ExportShards(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.Join("out/tokenizer.hf.json")));

  auto tokenizer = BpeTokenizer::Load(b.out_dir + "/tokenizer.json");
  ASSERT_TRUE(tokenizer.ok());
  for (const std::string split : {"train", "val"}) {
    MegatronDataset d = ReadMegatron(split == "train" ? o.out : o.out + "_val");
    EXPECT_EQ(static_cast<int64_t>(d.sequences.size()), index->DocumentsIn(split)) << split;
    int64_t tokens = 0;
    for (const auto& seq : d.sequences) {
      tokens += static_cast<int64_t>(seq.size());
      ASSERT_FALSE(seq.empty());
      EXPECT_EQ(seq.back(), BpeTokenizer::kEosId);
      // The end-of-document id appears once per sequence, at its end.
      EXPECT_EQ(std::count(seq.begin(), seq.end(), BpeTokenizer::kEosId), 1);
    }
    EXPECT_EQ(tokens, index->TokensIn(split)) << split;
  }
  // Decoding the train sequences gives the kept chapters' texts back, one per sequence.
  MegatronDataset train = ReadMegatron(o.out);
  int matched = 0;
  for (const auto& chapter : testing::AustenChapters()) {
    for (const auto& seq : train.sequences) {
      if (tokenizer->Decode(std::span(seq.data(), seq.size() - 1)) == chapter) ++matched;
    }
  }
  EXPECT_GE(matched, 1)
      << "at least one kept chapter decodes back verbatim (the others were edited by C4's line filter)";
}

TEST(MegatronExport, BadInputNamesTheProblem) {
  testing::TempDir dir;
  ExportOptions o;
  o.shards_dir = dir.Join("missing");
  o.format = "megatron";
  o.out = dir.Join("x");
  auto missing = ExportShards(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("index.tsv"), std::string::npos);
  o.format = "parquet";
  auto bad_format = ExportShards(o);
  ASSERT_FALSE(bad_format.ok());
  EXPECT_EQ(bad_format.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad_format.status().message().find("parquet"), std::string::npos);

  // A corrupted shard is refused before anything is written.
  ShardWriterOptions w;
  w.out_dir = dir.Join("shards");
  w.vocab_size = 300;
  w.eos_id = 256;
  ASSERT_TRUE(WriteShards(w, {{1, 2, 3}, {4, 5}}).ok());
  {
    std::fstream f(w.out_dir + "/train-00000.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2);
    f.put('\x07');
  }
  o.shards_dir = w.out_dir;
  o.format = "megatron";
  auto corrupt = ExportShards(o);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), Status::Code::kCorruption);
  EXPECT_NE(corrupt.status().message().find("train-00000.bin"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(o.out + ".idx"));
}

}  // namespace
}  // namespace isoflop::data
