// `isoflop data build` on hostile inputs through the real binary (issue 15, finding 12: a 50 MB
// JSONL line took 1.4 GB of RSS, a gzip of 1 GiB of zeros 1.18 GB). At a small scale, with the
// limit lowered by --max-record-bytes: an over-long line is skipped, counted in invalid_records
// and listed in --report with its FILE:LINE, and the shards are byte-identical for 1 and 2 threads; with
// --strict it is exit 2 naming FILE:LINE; a gzip line with no end is streamed past in bounded
// memory; a gzip of zeros is refused at once. Peak RSS is the child's own (wait4).
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "temp_dir.h"
#include "test_corpus.h"
#include "testing/measured_run.h"

namespace isoflop::data {
namespace {

using CliRun = isoflop::testing::MeasuredRun;

// `isoflop ARGS` in a child, its own peak RSS from wait4.
CliRun Isoflop(const testing::TempDir& dir, const std::vector<std::string>& args) {
  return isoflop::testing::RunMeasured(ISOFLOP_BINARY, args, dir.path());
}

std::string ChaptersJsonl() {
  std::string jsonl;
  auto chapters = testing::AustenChapters();
  for (size_t i = 0; i < chapters.size(); ++i)
    jsonl += testing::JsonlRecord("c" + std::to_string(i), chapters[i]) + "\n";
  return jsonl;
}

// The chapters, then on line 13 one record of 4 MiB (a small copy of the campaign's 50 MB line).
std::string HugeLineInput(const testing::TempDir& dir) {
  const std::string path = dir.Join("big.jsonl");
  std::ofstream out(path, std::ios::binary);
  out << ChaptersJsonl() << "{\"id\": \"huge\", \"text\": \"" << std::string(4 << 20, 'a') << "\"}\n";
  return path;
}

TEST(DataCliRecordCap, AnOverlongLineIsSkippedCountedAndReportedSameBytesOnAnyThreads) {
  testing::TempDir dir;
  const std::string input = HugeLineInput(dir);
  std::string shards[2];
  for (int threads : {1, 2}) {
    const std::string out = dir.Join("out" + std::to_string(threads));
    CliRun r = Isoflop(
        dir, {"data", "build", "--input", input, "--out", out, "--max-record-bytes", "1000000", "--threads",
              std::to_string(threads), "--report", dir.Join("dropped.jsonl"), "--json", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto summary = nlohmann::json::parse(r.out);
    EXPECT_EQ(summary["counters"]["invalid_records"], 1) << r.out;
    const std::string report = testing::ReadFile(dir.Join("dropped.jsonl"));
    EXPECT_NE(report.find("\"reason\":\"invalid_record\",\"source\":\"" + input + ":13\""), std::string::npos)
        << report;
    for (const auto& entry : std::filesystem::directory_iterator(out))
      if (entry.path().extension() == ".bin") shards[threads - 1] += testing::ReadFile(entry.path().string());
    EXPECT_LT(r.peak_rss_mib, 200) << "peak RSS " << r.peak_rss_mib << " MiB";
  }
  EXPECT_FALSE(shards[0].empty());
  EXPECT_EQ(shards[0], shards[1]);
}

TEST(DataCliRecordCap, WithStrictAnOverlongLineIsExit2NamingFileAndLine) {
  testing::TempDir dir;
  const std::string input = HugeLineInput(dir);
  CliRun r = Isoflop(dir, {"data", "build", "--input", input, "--out", dir.Join("out"), "--max-record-bytes",
                           "1000000", "--strict", "--quiet"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(
      r.err.find(input + ":13: record of 4194330 bytes is longer than input.max_record_bytes (1000000)"),
      std::string::npos)
      << r.err;
}

TEST(DataCliRecordCap, AGzipLineWithNoEndIsStreamedPastInBoundedMemory) {
  testing::TempDir dir;
  const std::string path = dir.Join("bomb.jsonl.gz");
  {
    gzFile gz = gzopen(path.c_str(), "wb1");
    const std::string head = ChaptersJsonl();
    gzwrite(gz, head.data(), static_cast<unsigned>(head.size()));
    const std::string block(1 << 20, 'a');
    for (int i = 0; i < 64; ++i)
      gzwrite(gz, block.data(), static_cast<unsigned>(block.size()));  // no newline
    gzclose(gz);
  }
  CliRun r = Isoflop(dir, {"data", "build", "--input", path, "--out", dir.Join("out"), "--max-record-bytes",
                           "1000000", "--json", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["counters"]["invalid_records"], 1) << r.out;
  // 64 MiB decompressed into one "line": never held (the build's own working set is well under this).
  EXPECT_LT(r.peak_rss_mib, 200) << "peak RSS " << r.peak_rss_mib << " MiB";
}

TEST(DataCliRecordCap, AGzipOfZerosIsRefusedAtOnce) {
  testing::TempDir dir;
  const std::string path = dir.Join("zeros.jsonl.gz");
  {
    gzFile gz = gzopen(path.c_str(), "wb1");
    const std::string block(1 << 20, '\0');
    for (int i = 0; i < 64; ++i) gzwrite(gz, block.data(), static_cast<unsigned>(block.size()));
    gzclose(gz);
  }
  CliRun r = Isoflop(dir, {"data", "build", "--input", path, "--out", dir.Join("out"), "--quiet"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NUL byte at offset 0"), std::string::npos) << r.err;
  EXPECT_LT(r.wall_s, 5);
  EXPECT_LT(r.peak_rss_mib, 64) << "peak RSS " << r.peak_rss_mib << " MiB";
}

}  // namespace
}  // namespace isoflop::data
