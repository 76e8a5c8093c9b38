// `isoflop data ...` through the real binary: bad input exits 2 with a message naming the file,
// never a crash (campaign finding 13: `data build --config DIR` aborted on an uncaught
// std::ios_base::failure; issue 15: a build keeping 0 tokens exited 0; finding 9: a corrupt
// shard is bad input, 2, not 1).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string stderr_text;
};

CliRun Isoflop(const testing::TempDir& dir, const std::string& args) {
  const std::string err = dir.Join("stderr.txt");
  int status = std::system((std::string(ISOFLOP_BINARY) + " " + args + " >/dev/null 2>" + err).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), testing::ReadFile(err)};
}

std::string Corpus(const testing::TempDir& dir) {
  std::vector<std::string> lines;
  auto chapters = testing::AustenChapters();
  for (size_t i = 0; i < chapters.size(); ++i)
    lines.push_back(testing::JsonlRecord("c" + std::to_string(i), chapters[i]));
  testing::WriteLines(dir.Join("in.jsonl"), lines);
  return dir.Join("in.jsonl");
}

TEST(DataCliExitCodes, ConfigDirectoryIsBadInputNotACrash) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Join("conf"));
  CliRun r = Isoflop(dir, "data build --input " + Corpus(dir) + " --out " + dir.Join("out") + " --config " +
                              dir.Join("conf") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("is a directory"), std::string::npos) << r.stderr_text;
}

TEST(DataCliExitCodes, NothingKeptIsBadInput) {
  testing::TempDir dir;
  testing::WriteLines(dir.Join("short.jsonl"), {testing::JsonlRecord("a", "Too short.")});
  CliRun r = Isoflop(
      dir, "data build --input " + dir.Join("short.jsonl") + " --out " + dir.Join("out") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("no training tokens"), std::string::npos) << r.stderr_text;
}

TEST(DataCliExitCodes, MissingTokenizerAndCorruptShardsAreBadInput) {
  testing::TempDir dir;
  const std::string corpus = Corpus(dir);
  CliRun r = Isoflop(dir, "data build --input " + corpus + " --out " + dir.Join("out") + " --tokenizer " +
                              dir.Join("none.json") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("none.json"), std::string::npos) << r.stderr_text;

  r = Isoflop(dir, "data build --input " + corpus + " --out " + dir.Join("out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  {
    std::fstream f(dir.Join("out/train-00000.bin"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  r = Isoflop(dir, "data sample " + dir.Join("out") + " -n 1");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("train-00000.bin: sha256"), std::string::npos) << r.stderr_text;
}

}  // namespace
}  // namespace isoflop::data
