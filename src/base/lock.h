// Bounded file locks: no nsbox command waits for ever on another's lock.
#pragma once

#include <string>

#include "base/error.h"

namespace nsbox {

inline constexpr int kLockWaitMs = 60000;

// flock(fd, op) (LOCK_SH or LOCK_EX), polling a non-blocking attempt (1 ms at first, then up
// to 50 ms apart) for at most wait_ms; then fails with "WHAT is busy: another nsbox command
// has held it for N s".
Result<> flock_bounded(int fd, int op, const std::string& what, int wait_ms = kLockWaitMs);

}  // namespace nsbox
