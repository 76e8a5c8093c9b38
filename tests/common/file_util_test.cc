// WriteFileAtomically / ReadFileToString (common/include/isoflop/file_util.h): the file is replaced
// whole, with the asked mode, no temporary file is left behind, a directory is refused.
#include "isoflop/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace isoflop {
namespace {

namespace fs = std::filesystem;

fs::path FreshDir(const char* name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("isoflop-file-util-" + std::to_string(::getpid()) + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(FileUtilTest, ReplacesWholeFileAndLeavesNoTemporary) {
  const fs::path dir = FreshDir("replace");
  const std::string path = (dir / "fit.json").string();
  ASSERT_TRUE(WriteFileAtomically(path, "old contents, longer than the new ones\n").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "{}\n").ok());
  auto text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "{}\n");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "fit.json");
  }
  EXPECT_EQ(entries, 1);
}

TEST(FileUtilTest, ModeIsApplied) {
  const fs::path dir = FreshDir("mode");
  const std::string path = (dir / "launch.sh").string();
  AtomicWriteOptions options;
  options.mode = 0755;
  const mode_t old_mask = ::umask(022);
  ASSERT_TRUE(WriteFileAtomically(path, "#!/bin/sh\n", options).ok());
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(FileUtilTest, DirectoryTargetIsRefusedAndUntouched) {
  const fs::path dir = FreshDir("dir");
  fs::create_directories(dir / "out.html");
  Status s = WriteFileAtomically((dir / "out.html").string(), "x");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(dir / "out.html"));
}

TEST(FileUtilTest, MissingDirectoryIsAnIOErrorWithThePath) {
  Status s = WriteFileAtomically("/nonexistent-dir-isoflop/x.json", "x");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("/nonexistent-dir-isoflop/x.json"), std::string::npos);
}

TEST(FileUtilTest, ReadingADirectoryOrAMissingFile) {
  const fs::path dir = FreshDir("read");
  auto d = ReadFileToString(dir.string());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(d.status().message(), dir.string() + ": is a directory, expected a file");
  auto m = ReadFileToString((dir / "nope.yaml").string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);
  Status c = CheckRegularFile(dir.string(), "--cluster");
  EXPECT_EQ(c.message(), "--cluster: " + dir.string() + ": is a directory, expected a file");
}

TEST(FileUtilTest, RenameIntoPlacePublishesAWrittenFile) {
  const fs::path dir = FreshDir("publish");
  const std::string tmp = (dir / "ckpt.pt.tmp").string();
  ASSERT_TRUE(WriteFileAtomically(tmp, "weights").ok());
  ASSERT_TRUE(RenameIntoPlace(tmp, (dir / "ckpt.pt").string()).ok());
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(*ReadFileToString((dir / "ckpt.pt").string()), "weights");
}

}  // namespace
}  // namespace isoflop
