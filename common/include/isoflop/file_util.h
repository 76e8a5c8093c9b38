// Files, the one home for reading and replacing them (issue 15: one implementation each).
//
// WriteFileAtomically: a reader (or a crash, or a power cut) sees the old file or the new one,
// never a torn one: the text goes to a temporary file in the same directory, which is fsync'ed,
// renamed over the target (rename(2) is atomic within a file system, POSIX.1-2017 rename()), and
// then the directory is fsync'ed so the rename itself is durable (fsync(2): "Calling fsync() does
// not necessarily ensure that the entry in the directory containing the file has also reached
// disk. For that an explicit fsync() on a file descriptor for the directory is also needed.").
//
// ReadFileToString: the whole file, or a Status that says why not — kNotFound for a missing
// path, kInvalidArgument for a directory or anything else that is not a regular file (so a
// library never meets std::ios_base::failure or a silently empty read).
#ifndef ISOFLOP_FILE_UTIL_H_
#define ISOFLOP_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "isoflop/status.h"

namespace isoflop {

struct AtomicWriteOptions {
  unsigned mode = 0644;  // permissions of the new file (before the umask)
  bool sync = true;      // fsync the file and its directory (false: atomic but not durable)
};

// Replaces `path` with `contents` atomically (temporary file beside it, fsync, rename, fsync of
// the directory). On failure the old file is untouched and the temporary file removed.
Status WriteFileAtomically(const std::string& path, std::string_view contents,
                           const AtomicWriteOptions& options = {});

// Publishes a file already written at `tmp_path` (by a library that writes files itself, e.g. a
// libtorch archive): fsync it, rename it over `path`, fsync the directory.
Status RenameIntoPlace(const std::string& tmp_path, const std::string& path);

// fsync of a file or a directory (a directory after a rename or a create inside it).
Status FsyncPath(const std::string& path);

// Reads a regular file whole. Errors: kNotFound (missing), kInvalidArgument (a directory, a
// device, a FIFO: "PATH: is a directory, expected a file"), kIOError (a read failed).
StatusOr<std::string> ReadFileToString(const std::string& path);

// Checks that `path` names an existing regular file (the checks of ReadFileToString without
// reading); `what` names the flag or key in the message ("--cluster: ...").
Status CheckRegularFile(const std::string& path, const std::string& what = "");

}  // namespace isoflop

#endif  // ISOFLOP_FILE_UTIL_H_
