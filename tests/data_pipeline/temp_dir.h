// A fresh directory under the system temp dir, removed with everything in it on scope exit.
#ifndef ISOFLOP_TESTS_DATA_PIPELINE_TEMP_DIR_H_
#define ISOFLOP_TESTS_DATA_PIPELINE_TEMP_DIR_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace isoflop::data::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("isoflop-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string Join(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace isoflop::data::testing

#endif  // ISOFLOP_TESTS_DATA_PIPELINE_TEMP_DIR_H_
