// A build that fails leaves the output directory exactly as it was and nothing behind
// (campaign finding 7: a disk-full build truncated the old shards in place while the old
// index and manifest stayed; issue 15: a failed run left `.kept.spill`), and a build that keeps
// nothing to train on is an error, not a success.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <map>

#include "isoflop/data_pipeline.h"
#include "isoflop/token_reader.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    files[std::filesystem::relative(e.path(), dir).string()] =
        e.is_regular_file() ? testing::ReadFile(e.path().string()) : "<dir>";
  }
  return files;
}

class FailureSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    auto chapters = testing::AustenChapters();
    std::vector<std::string> lines;
    for (size_t i = 0; i < chapters.size(); ++i)
      lines.push_back(testing::JsonlRecord("c" + std::to_string(i), chapters[i]));
    testing::WriteLines(dir_.Join("in.jsonl"), lines);
    BuildOptions o = Options();
    auto first = BuildDataset(o);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    before_ = Tree(o.out_dir);
    ASSERT_TRUE(before_.count("train-00001.bin"));
  }
  BuildOptions Options() {
    BuildOptions o;
    o.inputs = {dir_.Join("in.jsonl")};
    o.out_dir = dir_.Join("out");
    o.report_path = dir_.Join("out/dropped.jsonl");
    o.progress = false;
    o.tokenizer.vocab_size = 300;
    o.max_tokens_per_shard = 30000;
    return o;
  }
  // The old dataset is intact, readable, and nothing of the failed build is left.
  void ExpectOldDatasetIntact() {
    EXPECT_EQ(Tree(dir_.Join("out")), before_);
    auto reader = TokenReader::Open({.shards_dir = dir_.Join("out"), .batch_size = 2, .seq_len = 64});
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
      std::string name = e.path().filename().string();
      EXPECT_FALSE(name == ".kept.spill" || name == ".isoflop-build" || name.ends_with(".partial"))
          << "left behind: " << e.path();
    }
  }
  testing::TempDir dir_;
  std::map<std::string, std::string> before_;
};

// A full disk, simulated with RLIMIT_FSIZE in a child process (writes past the limit fail with
// EFBIG): at a limit below the spill file the build fails in its first pass, at one between the
// spill and the shard size it fails while writing shards. Either way the old shards survive.
TEST_F(FailureSafety, DiskFullDuringTheBuildKeepsTheOldDataset) {
  std::filesystem::remove(dir_.Join("in.jsonl"));
  auto chapters = testing::AustenChapters();
  std::vector<std::string> lines;
  for (size_t i = 0; i < chapters.size(); ++i) {  // a different corpus: the new build would differ
    lines.push_back(testing::JsonlRecord("d" + std::to_string(i), chapters[chapters.size() - 1 - i]));
  }
  testing::WriteLines(dir_.Join("in.jsonl"), lines);
  const auto text_bytes = static_cast<rlim_t>(std::filesystem::file_size(dir_.Join("in.jsonl")));
  for (rlim_t limit : {rlim_t{20000}, text_bytes * 11 / 10}) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::signal(SIGXFSZ, SIG_IGN);
      rlimit r{limit, limit};
      ::setrlimit(RLIMIT_FSIZE, &r);
      BuildOptions o = Options();
      o.max_tokens_per_shard = 1 << 26;  // one big shard: it passes the limit
      auto summary = BuildDataset(o);
      ::_exit(summary.ok() ? 0 : (summary.status().code() == Status::Code::kIOError ? 3 : 4));
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3) << "limit " << limit << ": the build should fail with an I/O error";
    ExpectOldDatasetIntact();
  }
}

TEST_F(FailureSafety, FailedStrictBuildKeepsTheOldDataset) {
  testing::WriteLines(dir_.Join("in.jsonl"),
                      {testing::JsonlRecord("a", testing::AustenChapters()[0]), "{broken"});
  BuildOptions o = Options();
  o.strict = true;
  auto summary = BuildDataset(o);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  ExpectOldDatasetIntact();
}

// Issue 15: `data build` exited 0 when every document was dropped.
TEST_F(FailureSafety, ABuildThatKeepsNoTokensIsBadInput) {
  testing::WriteLines(dir_.Join("in.jsonl"), {testing::JsonlRecord("a", "Too short to pass."),
                                              testing::JsonlRecord("b", "Also far too short.")});
  auto summary = BuildDataset(Options());
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(summary.status().message().find("no training tokens: of 2 documents, 2 failed the quality rules"),
            std::string::npos)
      << summary.status().message();
  ExpectOldDatasetIntact();

  BuildOptions text_only = Options();
  text_only.skip_tokenize = true;
  summary = BuildDataset(text_only);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.status().message().find("no document was kept"), std::string::npos);
  ExpectOldDatasetIntact();
}

TEST_F(FailureSafety, ASuccessfulRebuildReplacesEveryOldShard) {
  BuildOptions o = Options();
  o.max_tokens_per_shard = 1 << 26;  // one shard now: train-00001.bin must go
  auto summary = BuildDataset(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  auto after = Tree(o.out_dir);
  EXPECT_TRUE(after.count("train-00000.bin"));
  EXPECT_FALSE(after.count("train-00001.bin"));
  EXPECT_FALSE(after.count(".isoflop-build"));
  EXPECT_TRUE(after.count("dropped.jsonl"));
  EXPECT_TRUE(TokenReader::Open({.shards_dir = o.out_dir, .batch_size = 2, .seq_len = 64}).ok());
}

}  // namespace
}  // namespace isoflop::data
