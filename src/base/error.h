// Error handling: every fallible function returns Result<T> (std::expected<T, Error>).
// An Error carries an errno (0 when the failure is not a syscall's) and a message that
// grows a context prefix as it travels up: "mount /proc on /rootfs/proc: Operation not permitted".
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace nsbox {

class Error {
 public:
  Error() = default;
  Error(int err, std::string msg) : errno_(err), msg_(std::move(msg)) {}

  int code() const { return errno_; }
  const std::string& message() const { return msg_; }

  // Prefix context; the errno text is appended once, at render time.
  Error& context(const std::string& ctx) {
    msg_ = msg_.empty() ? ctx : ctx + ": " + msg_;
    return *this;
  }

  // Full human text: "context: message: strerror(errno)".
  std::string what() const {
    if (errno_ == 0) return msg_;
    std::string s = msg_;
    if (!s.empty()) s += ": ";
    s += std::strerror(errno_);
    return s;
  }

 private:
  int errno_ = 0;
  std::string msg_;
};

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string msg) { return std::unexpected(Error(0, std::move(msg))); }
// A syscall failure: captures errno at the call site.
inline std::unexpected<Error> fail_errno(std::string msg, int err = errno) {
  return std::unexpected(Error(err, std::move(msg)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }

}  // namespace nsbox

// Propagate an error; yields the value otherwise. GNU statement expressions (g++/clang).
#define TRY(expr)                                                         \
  ({                                                                      \
    auto _try_res = (expr);                                               \
    if (!_try_res) return std::unexpected(std::move(_try_res.error()));   \
    std::move(_try_res).value();                                          \
  })

// Same, adding context to the error on the way up.
#define TRY_CTX(expr, ctx)                                                          \
  ({                                                                                \
    auto _try_res = (expr);                                                         \
    if (!_try_res) return std::unexpected(std::move(_try_res.error().context(ctx))); \
    std::move(_try_res).value();                                                    \
  })
