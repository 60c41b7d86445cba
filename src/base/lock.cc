#include "base/lock.h"

#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace nsbox {

Result<> flock_bounded(int fd, int op, const std::string& what, int wait_ms) {
  int waited = 0, step = 1;
  for (;;) {
    if (::flock(fd, op | LOCK_NB) == 0) return {};
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return fail_errno("lock " + what);
    if (waited >= wait_ms) {
      return fail(what + " is busy: another nsbox command has held it for " +
                  std::to_string(wait_ms / 1000) + " s");
    }
    ::usleep(static_cast<useconds_t>(step) * 1000);
    waited += step;
    step = std::min(step * 2, 50);
  }
}

}  // namespace nsbox
