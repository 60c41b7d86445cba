#include "net/netns_ahead.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>

#include "base/raw_syscall.h"

namespace nsbox::net {

// The helper shares our memory and our descriptor table (CLONE_VM | CLONE_FILES) but has
// its own namespaces: it leaves ours alone when it unshares, and the descriptor it opens
// on its new namespace is ours. Raw system calls only (base/raw_syscall.h).
int NetnsAhead::helper(void* arg) {
  auto* self = static_cast<NetnsAhead*>(arg);
  if (raw_syscall(SYS_unshare, CLONE_NEWNET) < 0) return 1;
  long fd = raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/ns/net"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  self->fd_ = static_cast<int>(fd);
  return 0;
}

NetnsAhead::NetnsAhead() {
  if (!kRawSyscalls) return;
  stack_ = std::make_unique<char[]>(kStack);
  // No exit signal: nothing of ours that waits for children sees it; get() reaps it.
  pid_ = ::clone(helper, stack_.get() + kStack, CLONE_VM | CLONE_FILES, this);
}

int NetnsAhead::get() {
  if (pid_ > 0) {
    while (::waitpid(pid_, nullptr, __WCLONE) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  return fd_;
}

NetnsAhead::~NetnsAhead() {
  if (get() >= 0) ::close(fd_);
}

}  // namespace nsbox::net
