// Memory stays bounded whatever one record's size (campaign finding 12: a 50 MB JSONL line took
// 1.4 GB of RSS, a gzip of 1 GiB took 1.18 GB). A record longer than input.max_record_bytes is
// streamed past, never held, and reported as invalid with its FILE:LINE. Each build runs in a
// child process, whose peak RSS the kernel reports (wait4), above the parent's at the fork.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>

#include "isoflop/data_pipeline.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

long ResidentKiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

// Runs the build in a child; returns its peak RSS growth in MiB, and its exit code (0: ok and
// the counters matched `check`).
struct ChildResult {
  int exit_code = -1;
  double growth_mib = 0;
};
ChildResult BuildInChild(const BuildOptions& options, int64_t expected_invalid) {
  const long parent_kib = ResidentKiB();
  pid_t child = ::fork();
  if (child == 0) {
    auto summary = BuildDataset(options);
    if (!summary.ok()) ::_exit(2);
    ::_exit(summary->counters.at("invalid_records") == expected_invalid && summary->counters.at("kept") >= 10
                ? 0
                : 3);
  }
  int status = 0;
  rusage usage{};
  ::wait4(child, &status, 0, &usage);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
          (usage.ru_maxrss - parent_kib) / 1024.0};
}

std::string ChaptersJsonl() {
  std::string jsonl;
  auto chapters = testing::AustenChapters();
  for (size_t i = 0; i < chapters.size(); ++i)
    jsonl += testing::JsonlRecord("c" + std::to_string(i), chapters[i]) + "\n";
  return jsonl;
}

BuildOptions Options(const testing::TempDir& dir, const std::string& input) {
  BuildOptions o;
  o.inputs = {input};
  o.out_dir = dir.Join("out");
  o.progress = false;
  o.tokenizer.vocab_size = 300;
  return o;
}

TEST(MemoryBound, AHugeJsonlLineIsStreamedPastAndReported) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.Join("big.jsonl"), std::ios::binary);
    out << ChaptersJsonl() << "{\"id\": \"huge\", \"text\": \"";
    std::string block(1 << 20, 'a');
    for (int i = 0; i < 192; ++i) out << block;  // 192 MiB in one line
    out << "\"}\n";
  }
  BuildOptions o = Options(dir, dir.Join("big.jsonl"));
  o.report_path = dir.Join("dropped.jsonl");
  auto result = BuildInChild(o, 1);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_LT(result.growth_mib, 96) << "peak RSS grew by " << result.growth_mib << " MiB";
  std::string report = testing::ReadFile(dir.Join("dropped.jsonl"));
  EXPECT_NE(report.find("big.jsonl:13"), std::string::npos) << report;
}

TEST(MemoryBound, AGzipOfOneEndlessLineStaysSmall) {
  testing::TempDir dir;
  {
    gzFile gz = gzopen(dir.Join("bomb.jsonl.gz").c_str(), "wb1");
    std::string head = ChaptersJsonl();
    gzwrite(gz, head.data(), static_cast<unsigned>(head.size()));
    std::string block(1 << 20, 'a');
    for (int i = 0; i < 160; ++i)
      gzwrite(gz, block.data(), static_cast<unsigned>(block.size()));  // no newline
    gzclose(gz);
  }
  auto result = BuildInChild(Options(dir, dir.Join("bomb.jsonl.gz")), 1);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_LT(result.growth_mib, 96) << "peak RSS grew by " << result.growth_mib << " MiB";
}

}  // namespace
}  // namespace isoflop::data
