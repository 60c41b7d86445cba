// A network namespace made ahead of the container. Creating one is most of what a clone
// with CLONE_NEWNET costs (0.5 ms on the development VM: its loopback device, its sysctl
// tables, its protocols' state), and it needs nothing from the container: a helper process
// makes it while the runtime parses, creates cgroups and clones, and the container process
// joins it (setns) before anything that depends on its network namespace.
//
// Only for a container that gets a new network namespace and no user namespace: a
// namespace made here belongs to the runtime's user namespace, which is what the kernel
// would have given the clone in that case, and not otherwise.
#pragma once

#include <sys/types.h>

#include <memory>

namespace nsbox::net {

class NetnsAhead {
 public:
  NetnsAhead();  // starts the helper (nothing happens where it cannot run)
  NetnsAhead(const NetnsAhead&) = delete;
  NetnsAhead& operator=(const NetnsAhead&) = delete;
  ~NetnsAhead();
  // Waits for the helper: a descriptor of the new namespace (close-on-exec, owned by this
  // object), or -1, and the caller then creates the namespace as usual.
  int get();

 private:
  static int helper(void* self);
  static constexpr size_t kStack = 16384;
  std::unique_ptr<char[]> stack_;
  pid_t pid_ = -1;
  int fd_ = -1;  // set by the helper
};

}  // namespace nsbox::net
