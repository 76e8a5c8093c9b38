// `isoflop fit` on a huge runs file, through the real binary (issue 15, finding 12: a 100 MB CSV of
// 1.9M rows was still fitting after 300 s at 690 MB of RSS, with no progress). The reader streams
// and stops at --max-runs: more runs than the limit exit 2 at once, naming the file, the line of the
// first run over it and the flag, with the RSS of a few thousand rows. Under the limit, stdout
// (--json) stays clean while progress goes to stderr.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/measured_run.h"

namespace {

using CliRun = isoflop::testing::MeasuredRun;

std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / (std::to_string(::getpid()) + "-" + name)).string();
}

// `isoflop ARGS` in a child, its own peak RSS from wait4.
CliRun Isoflop(const std::vector<std::string>& args) {
  return isoflop::testing::RunMeasured(ISOFLOP_BINARY, args, ::testing::TempDir());
}

// Valid runs on IsoFLOP curves of Hoffmann et al.'s law (eq. 2 with Epoch AI's fit), 10 budgets.
void WriteRuns(const std::string& path, int rows) {
  std::ofstream out(path, std::ios::binary);
  out << "params,tokens,flops,loss\n";
  char line[160];
  for (int i = 0; i < rows; ++i) {
    const double c = 1e18 * std::pow(10.0, (i % 10) * 0.4);
    const double n = std::sqrt(c / 120.0) * std::pow(10.0, ((i / 10) % 9 - 4) * 0.12 + 1e-9 * i);
    const double d = c / (6 * n);
    const double loss = 1.82 + 482.0 / std::pow(n, 0.35) + 2085.0 / std::pow(d, 0.37);
    std::snprintf(line, sizeof line, "%.10g,%.10g,%.10g,%.10g\n", n, d, c, loss);
    out << line;
  }
}

TEST(FitCliRunCap, MoreRunsThanTheLimitExit2AtOnceNamingFileLineAndFlag) {
  const std::string path = TempPath("huge_runs.csv");
  WriteRuns(path, 1000000);  // ~50 MB
  CliRun r = Isoflop({"fit", "--runs", path, "--max-runs", "2000", "--json"});
  std::filesystem::remove(path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // Run 2001 is on line 2002 (the header is line 1).
  EXPECT_NE(r.err.find(path + ":2002: more than 2000 runs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--max-runs"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The file was not read whole: seconds, and the RSS of a few thousand rows, not of 50 MB twice.
  EXPECT_LT(r.wall_s, 10);
  EXPECT_LT(r.peak_rss_mib, 40) << "peak RSS " << r.peak_rss_mib << " MiB";
}

TEST(FitCliRunCap, TheDefaultLimitIsDocumentedInTheMessage) {
  const std::string path = TempPath("over_default.csv");
  WriteRuns(path, 100001);  // ~5 MB
  CliRun r = Isoflop({"fit", "--runs", path, "--method", "parabola"});
  std::filesystem::remove(path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(path + ":100002: more than 100000 runs"), std::string::npos) << r.err;
}

TEST(FitCliRunCap, UnderTheLimitTheFitRunsAndStdoutIsOnlyJson) {
  const std::string path = TempPath("runs.csv");
  WriteRuns(path, 90);
  CliRun r = Isoflop(
      {"fit", "--runs", path, "--method", "approach3", "--max-runs", "90", "--json", "--threads", "2"});
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '{') << r.out.substr(0, 200);
  EXPECT_EQ(r.out.find("isoflop fit:"), std::string::npos);
  EXPECT_NE(r.err.find("isoflop fit: 90 runs from"), std::string::npos) << r.err;
}

}  // namespace
