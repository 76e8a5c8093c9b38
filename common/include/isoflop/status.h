// Status and StatusOr<T>: the error value returned at every library boundary.
//
// LevelDB's habit: no exception escapes a library. A Status carries a code and a
// message that names the file, line or field at fault; the CLI maps codes to exit
// codes (kInvalidArgument -> 2, anything else -> 1).
#ifndef ISOFLOP_STATUS_H_
#define ISOFLOP_STATUS_H_

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace isoflop {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,     // bad user input: file, line, field named in the message
    kNotFound,            // a file, run or key that does not exist
    kIOError,             // the OS refused a read or write
    kCorruption,          // stored data failed a checksum or does not parse
    kFailedPrecondition,  // the request cannot be met (e.g. no layout fits)
    kUnavailable,         // a service (slurmctld, the daemon) did not answer
    kAborted,             // interrupted (signal, cancellation)
    kInternal,            // a bug: an invariant did not hold
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Aborted(std::string m) { return Status(Code::kAborted, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  static const char* CodeName(Code code) {
    switch (code) {
      case Code::kOk: return "OK";
      case Code::kInvalidArgument: return "invalid argument";
      case Code::kNotFound: return "not found";
      case Code::kIOError: return "I/O error";
      case Code::kCorruption: return "corruption";
      case Code::kFailedPrecondition: return "failed precondition";
      case Code::kUnavailable: return "unavailable";
      case Code::kAborted: return "aborted";
      case Code::kInternal: return "internal error";
    }
    return "unknown";
  }
  std::string ToString() const { return ok() ? "OK" : std::string(CodeName(code_)) + ": " + message_; }

  // Prefixes context ("while reading runs.csv: ...") without losing the code.
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Reading the value of a StatusOr that holds an error is a bug in every build type (Release
// included, where an assert would vanish): print the error and abort, so it is never undefined
// behaviour and the message says what went wrong.
[[noreturn]] inline void DieOnBadStatusOrAccess(const Status& status) {
  std::fprintf(stderr, "isoflop: internal error: StatusOr::value() on an error: %s\n",
               status.ToString().c_str());
  std::abort();
}

// A value or the Status explaining why there is none.
template <typename T>
class StatusOr {
 public:
  // NOLINTNEXTLINE: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status::Internal("a StatusOr was built from an OK Status without a value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const T& value() const& {
    CheckOk();
    return *value_;
  }
  T& value() & {
    CheckOk();
    return *value_;
  }
  T&& value() && {
    CheckOk();
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckOk() const {
    if (!status_.ok()) DieOnBadStatusOrAccess(status_);
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace isoflop

#define ISOFLOP_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::isoflop::Status _isoflop_status = (expr);  \
    if (!_isoflop_status.ok()) return _isoflop_status; \
  } while (0)

#endif  // ISOFLOP_STATUS_H_
