// JSONL, gzip- and zstd-compressed JSONL, and plain text (per paragraph) inputs give the same
// documents, and so the same token shards.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

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

// ---- The JSONL fast path (ParseSimpleJsonRecord) equals nlohmann::json ----

// What build.cc takes from a record through nlohmann::json: accepted?, text, id (if a string).
struct Fields {
  bool has_text = false, has_string_id = false;
  std::string text, id;
  bool operator==(const Fields&) const = default;
};

Fields ParseWithNlohmann(const std::string& line) {
  Fields f;
  auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return f;
  auto text = doc.find("text");
  if (text == doc.end() || !text->is_string()) return f;
  f.has_text = true;
  f.text = text->get<std::string>();
  auto id = doc.find("id");
  if (id != doc.end() && id->is_string()) {
    f.has_string_id = true;
    f.id = id->get<std::string>();
  }
  return f;
}

// JSON-ish lines from pieces: keys (text, id, other, escaped "te\u0078t"), string values
// with every escape, surrogate pairs (valid, lone, reversed), raw UTF-8 (valid and
// invalid), control characters, other value types, whitespace, trailing garbage, and
// random single-byte damage.
std::string AdversarialJsonLine(std::mt19937_64& rng) {
  static const std::vector<std::string> kKeys = {"\"text\"",       "\"id\"",       "\"meta\"",
                                                 "\"te\\u0078t\"", "\"i\\u0064\"", "\"\""};
  // The first kValidPieces are valid inside a JSON string; the rest make nlohmann reject it.
  static const std::vector<std::string> kStringPieces = {"plain words",
                                                         "\\n\\n",
                                                         "\\\"",
                                                         "\\\\",
                                                         "\\/",
                                                         "\\b\\f\\r\\t",
                                                         "\\u00e9",
                                                         "\\u00E9",
                                                         "\\u2019",
                                                         "\\ud83d\\ude00",
                                                         "\\uD83D\\uDE00",
                                                         "\\u0000",
                                                         "caf\xC3\xA9",
                                                         "\xE2\x80\x99",
                                                         "\xF0\x9F\x98\x80",
                                                         "'",
                                                         "\x7F",
                                                         "\\ud83d",
                                                         "\\ude00",
                                                         "\\ude00\\ud83d",
                                                         "\\ud83dx",
                                                         "\\u12",
                                                         "\\x",
                                                         "\x80",
                                                         "\xC0\xAF",
                                                         "\xED\xA0\x80",
                                                         "\xF4\x90\x80\x80",
                                                         "\xE2\x82",
                                                         "\t",
                                                         "\x01"};
  constexpr size_t kValidPieces = 17;
  static const std::vector<std::string> kOtherValues = {"12",        "-1.5e3",        "true", "null",
                                                        "[1,\"a\"]", "{\"x\":\"y\"}", "01",   "\"a\" \"b\""};
  static const std::vector<std::string> kSpaces = {"", "", " ", "\t", "\r", "  \n "};
  auto space = [&] { return kSpaces[rng() % kSpaces.size()]; };
  const bool clean = rng() % 2 == 0;  // half the lines are valid records
  std::string line = space() + "{" + space();
  int fields = static_cast<int>(rng() % 4);
  for (int f = 0; f < fields; ++f) {
    if (f > 0) line += "," + space();
    line += kKeys[rng() % kKeys.size()] + space() + ":" + space();
    if (!clean && rng() % 8 == 0) {
      line += kOtherValues[rng() % kOtherValues.size()];
    } else {
      line += "\"";
      int pieces = static_cast<int>(rng() % 6);
      for (int p = 0; p < pieces; ++p)
        line += kStringPieces[rng() % (clean ? kValidPieces : kStringPieces.size())];
      line += "\"";
    }
    line += space();
  }
  line += "}" + space();
  if (clean) return line;
  if (rng() % 20 == 0) line += rng() % 2 ? "x" : ",";
  if (rng() % 10 == 0 && !line.empty()) line[rng() % line.size()] = static_cast<char>(rng() % 256);  // damage
  if (rng() % 30 == 0) line = "\xEF\xBB\xBF" + line;                                                 // BOM
  return line;
}

TEST(InputFormats, JsonFastPathEqualsNlohmann) {
  std::mt19937_64 rng(99);
  int fast = 0, fallback = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string line = AdversarialJsonLine(rng);
    Fields expected = ParseWithNlohmann(line);
    std::string text = "stale", id = "stale";
    bool has_id = true;
    if (ParseSimpleJsonRecord(line, "text", "id", &text, &id, &has_id)) {
      ++fast;
      ASSERT_TRUE(expected.has_text) << "fast path accepted what nlohmann rejects: " << line;
      ASSERT_EQ(text, expected.text) << line;
      ASSERT_EQ(has_id, expected.has_string_id) << line;
      if (has_id) {
        ASSERT_EQ(id, expected.id) << line;
      }
    } else {
      ++fallback;  // build.cc then parses the line with nlohmann::json: same answer by construction
    }
  }
  EXPECT_GT(fast, 5000);  // both paths are exercised
  EXPECT_GT(fallback, 5000);
}

TEST(InputFormats, JsonFastPathTakesTheCommonRecords) {
  std::string text, id;
  bool has_id = false;
  ASSERT_TRUE(ParseSimpleJsonRecord(R"({"id": "a/1", "text": "Caf\u00e9 \"quoted\"\n\ud83d\ude00"})", "text",
                                    "id", &text, &id, &has_id));
  EXPECT_EQ(text, "Caf\xC3\xA9 \"quoted\"\n\xF0\x9F\x98\x80");
  EXPECT_TRUE(has_id);
  EXPECT_EQ(id, "a/1");
  ASSERT_TRUE(ParseSimpleJsonRecord(R"({"text":"first","text":"last"})", "text", "id", &text, &id, &has_id));
  EXPECT_EQ(text, "last");  // as nlohmann: a repeated key's last value
  EXPECT_FALSE(has_id);
  EXPECT_FALSE(ParseSimpleJsonRecord(R"({"id": 7, "text": "x"})", "text", "id", &text, &id, &has_id))
      << "a number id goes to nlohmann (its dump() names the document)";
  EXPECT_FALSE(ParseSimpleJsonRecord(R"({"text": "x\ud800"})", "text", "id", &text, &id, &has_id));
  EXPECT_FALSE(ParseSimpleJsonRecord("{\"text\": \"a\tb\"}", "text", "id", &text, &id, &has_id));
}

}  // namespace
}  // namespace isoflop::data
