// The CSV reader streams (issue 15, finding 12: a 100 MB runs file was held whole as text and
// again as rows, 690 MB of RSS): memory holds one record and a 1 MiB buffer whatever the file's
// size, and a record longer than CsvReadOptions::max_record_bytes is refused naming its line
// instead of being gathered without bound. The peak RSS is the kernel's (wait4) for a child that
// reads the file, above the parent's at the fork.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "isoflop/csv.h"

namespace isoflop {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / (std::to_string(::getpid()) + "-" + name)).string();
}

long ResidentKiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

TEST(CsvStreamTest, ReadsRecordByRecordInBoundedMemory) {
  const std::string path = TempPath("big.csv");
  int64_t rows = 0;
  {
    std::ofstream out(path, std::ios::binary);
    out << "params,tokens,flops,loss\n";
    char line[128];
    for (; rows < 600000; ++rows) {  // ~32 MB
      std::snprintf(line, sizeof line, "%.10g,%.10g,%.10g,%.10g\n", 1e8 + rows, 2e9 + rows, 1.2e18 + rows,
                    3.0 + 1e-7 * rows);
      out << line;
    }
  }
  const long parent_kib = ResidentKiB();
  pid_t child = ::fork();
  if (child == 0) {
    auto reader = CsvReader::Open(path);
    if (!reader.ok()) ::_exit(2);
    CsvRecord record;
    int64_t n = 0;
    for (;;) {
      auto got = reader->Next(&record);
      if (!got.ok()) ::_exit(3);
      if (!*got) break;
      if (record.fields.size() != 4 || record.line != n + 2) ::_exit(4);
      ++n;
    }
    ::_exit(n == 600000 && reader->bytes_read() == reader->bytes_total() ? 0 : 5);
  }
  int status = 0;
  rusage usage{};
  ::wait4(child, &status, 0, &usage);
  std::filesystem::remove(path);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const double growth_mib = (usage.ru_maxrss - parent_kib) / 1024.0;
  EXPECT_LT(growth_mib, 8) << "peak RSS grew by " << growth_mib << " MiB reading a 32 MB file";
}

TEST(CsvStreamTest, AnOverlongRecordIsRefusedNamingItsLine) {
  const std::string path = TempPath("long.csv");
  {
    std::ofstream out(path, std::ios::binary);
    out << "params,tokens,loss\n1,2,3\n" << std::string(3 << 20, 'x') << ",2,3\n4,5,6\n";
  }
  auto reader = CsvReader::Open(path, CsvReadOptions{1 << 20});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  CsvRecord record;
  auto first = reader->Next(&record);
  ASSERT_TRUE(first.ok() && *first);
  auto second = reader->Next(&record);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(second.status().message().find(path + ":3: a record longer than 1048576 bytes"),
            std::string::npos)
      << second.status().message();
  // Well under the record: the reader stopped at the limit instead of gathering 3 MiB.
  EXPECT_LT(reader->bytes_read(), 2 << 20);
  std::filesystem::remove(path);
}

TEST(CsvStreamTest, AnUnclosedQuoteIsRefusedAtTheLimitNamingWhereItOpens) {
  const std::string path = TempPath("quote.csv");
  {
    std::ofstream out(path, std::ios::binary);
    out << "run_id,loss\n\"a,1\n";
    for (int i = 0; i < 100000; ++i) out << "b" << i << ",2\n";  // ~1 MB swallowed by the open quote
  }
  auto reader = CsvReader::Open(path, CsvReadOptions{64 << 10});
  ASSERT_TRUE(reader.ok());
  CsvRecord record;
  auto got = reader->Next(&record);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find(path + ":2: a record longer than 65536 bytes"), std::string::npos)
      << got.status().message();
  EXPECT_NE(got.status().message().find("a quoted field opens at line 2"), std::string::npos)
      << got.status().message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace isoflop
