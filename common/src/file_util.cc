#include "isoflop/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace isoflop {
namespace {

std::string Errno(int err) {
  return std::strerror(err);
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(path + ": write failed: " + Errno(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace

Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": cannot open for fsync: " + Errno(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // EINVAL: a file system without fsync for this kind of file (e.g. some directories on FUSE).
  if (rc != 0 && err != EINVAL) return Status::IOError(path + ": fsync failed: " + Errno(err));
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, std::string_view contents,
                           const AtomicWriteOptions& options) {
  if (path.empty()) return Status::InvalidArgument("an empty path was given to write");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(path + ": is a directory, expected a file path");
  }
  // A unique temporary name in the same directory (same file system, so rename is atomic); two
  // writers of the same path never share a temporary file.
  std::random_device rd;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp.%d.%08x", static_cast<int>(::getpid()), rd());
  const std::string tmp = path + suffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) return Status::IOError(path + ": cannot create " + tmp + ": " + Errno(errno));
  Status s = WriteAll(fd, contents, tmp);
  if (s.ok() && options.sync && ::fsync(fd) != 0)
    s = Status::IOError(tmp + ": fsync failed: " + Errno(errno));
  if (::close(fd) != 0 && s.ok()) s = Status::IOError(tmp + ": close failed: " + Errno(errno));
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IOError(path + ": cannot rename " + tmp + " into place: " + Errno(errno));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (options.sync) return FsyncPath(DirectoryOf(path));
  return Status::OK();
}

Status RenameIntoPlace(const std::string& tmp_path, const std::string& path) {
  ISOFLOP_RETURN_IF_ERROR(FsyncPath(tmp_path));
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    return Status::IOError(path + ": cannot rename " + tmp_path + " into place: " + Errno(errno));
  }
  return FsyncPath(DirectoryOf(path));
}

Status CheckRegularFile(const std::string& path, const std::string& what) {
  const std::string prefix = what.empty() ? path : what + ": " + path;
  if (path.empty()) return Status::InvalidArgument((what.empty() ? "" : what + ": ") + "no file given");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Status::NotFound(prefix + ": no such file");
    return Status::InvalidArgument(prefix + ": cannot read: " + Errno(err));
  }
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(prefix + ": is a directory, expected a file");
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(prefix + ": is not a regular file");
  if (::access(path.c_str(), R_OK) != 0)
    return Status::InvalidArgument(prefix + ": cannot read: " + Errno(errno));
  return Status::OK();
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  ISOFLOP_RETURN_IF_ERROR(CheckRegularFile(path));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidArgument(path + ": cannot open: " + Errno(errno));
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::IOError(path + ": read failed: " + Errno(err));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace isoflop
