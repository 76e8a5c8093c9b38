#include "staged_output.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

constexpr char kStagingName[] = ".isoflop-build";

Status SyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync " + path + ": " + std::strerror(err));
  return Status::OK();
}

// Files a build writes into its output directory (a new build replaces all of them).
bool IsBuildOutput(const std::string& name) {
  return ((name.starts_with("train-") || name.starts_with("val-")) && name.ends_with(".bin")) ||
         name == "tokenizer.json" || name == "kept.jsonl" || name == "manifest.json";
}

}  // namespace

StatusOr<std::unique_ptr<StagedOutput>> StagedOutput::Begin(const std::string& out_dir, bool keep_existing) {
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec)) {
    return Status::InvalidArgument("--out " + out_dir + " exists and is not a directory");
  }
  fs::create_directories(out_dir, ec);
  if (ec) return Status::IOError("cannot create " + out_dir + ": " + ec.message());
  std::unique_ptr<StagedOutput> staged(new StagedOutput());
  staged->out_dir_ = out_dir;
  staged->staging_ = (fs::path(out_dir) / kStagingName).string();
  // The lock is on the output directory itself (no lock file left behind).
  staged->lock_fd_ = ::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (staged->lock_fd_ < 0) return Status::IOError("cannot open " + out_dir + ": " + std::strerror(errno));
  if (::flock(staged->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::FailedPrecondition("another `isoflop data build` is writing into " + out_dir);
  }
  staged->keep_ = keep_existing;
  if (!keep_existing) fs::remove_all(staged->staging_, ec);
  fs::create_directories(staged->staging_, ec);
  if (ec) return Status::IOError("cannot create " + staged->staging_ + ": " + ec.message());
  return staged;
}

StagedOutput::~StagedOutput() {
  std::error_code ec;
  if (!committed_) {
    if (!staging_.empty() && !keep_) fs::remove_all(staging_, ec);
    for (const auto& [temp, final_path] : external_) fs::remove(temp, ec);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string StagedOutput::StagingPath(const std::string& name) const {
  return (fs::path(staging_) / name).string();
}

void StagedOutput::AddExternal(const std::string& temp, const std::string& final_path) {
  external_.emplace_back(temp, final_path);
}

Status StagedOutput::Commit(const std::vector<std::string>& files) {
  std::error_code ec;
  for (const std::string& name : files) ISOFLOP_RETURN_IF_ERROR(SyncPath(StagingPath(name), false));
  for (const auto& [temp, final_path] : external_) ISOFLOP_RETURN_IF_ERROR(SyncPath(temp, false));
  // 1. No index while the set changes: readers refuse the directory instead of mixing sets.
  const fs::path index = fs::path(out_dir_) / "index.tsv";
  fs::remove(index, ec);
  if (ec) return Status::IOError("cannot remove " + index.string() + ": " + ec.message());
  ISOFLOP_RETURN_IF_ERROR(SyncPath(out_dir_, true));
  // 2. Old outputs the new set does not replace (shards beyond its count, tokenizer.json after
  //    a --skip tokenize build, ...).
  const std::set<std::string> incoming(files.begin(), files.end());
  for (const auto& entry : fs::directory_iterator(out_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (IsBuildOutput(name) && !incoming.count(name)) fs::remove(entry.path(), ec);
  }
  // 3. The new files, index.tsv last.
  std::vector<std::string> order;
  for (const auto& name : files) {
    if (name != "index.tsv") order.push_back(name);
  }
  if (incoming.count("index.tsv")) order.push_back("index.tsv");
  for (const auto& name : order) {
    fs::rename(StagingPath(name), fs::path(out_dir_) / name, ec);
    if (ec) return Status::IOError("cannot move " + name + " into " + out_dir_ + ": " + ec.message());
  }
  ISOFLOP_RETURN_IF_ERROR(SyncPath(out_dir_, true));
  for (const auto& [temp, final_path] : external_) {
    fs::rename(temp, final_path, ec);
    if (ec == std::errc::cross_device_link) {  // the report on another file system: copy
      ec.clear();
      fs::copy_file(temp, final_path, fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::remove(temp, ec);
    }
    if (ec) return Status::IOError("cannot move " + temp + " to " + final_path + ": " + ec.message());
  }
  committed_ = true;
  fs::remove_all(staging_, ec);
  return Status::OK();
}

}  // namespace isoflop::data
