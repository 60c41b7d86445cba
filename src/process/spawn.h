// Creating the container process: clone3 with the namespace flags, then the numbered
// handshake of process/sync.h until the process waits for `start` on the exec socket.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "cgroup/placement.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::process {

struct SpawnOptions {
  const spec::Config* cfg = nullptr;
  std::string id;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  int exec_listen_fd = -1;  // listening socket that `start` connects to
  // Runtime descriptors the container process must close at once: the state directory
  // carries the flock, which a copy in the child would hold until execve.
  std::vector<int> close_in_child;
  std::vector<cgroup::Hierarchy> hierarchies;
  std::vector<std::string> cgroup_leaves;
  // How the process gets into its cgroups (cgroup/placement.h): cloned into one, moved by
  // the runtime, or told to move itself; the limits are written meanwhile. Null: none.
  cgroup::Placement* placement = nullptr;
  // A new network namespace made ahead for the container (net/netns_ahead.h), which it joins
  // instead of the clone making one; only on the fast path (!needs_intermediate). Called
  // after the clone, it waits for the namespace: its descriptor, or -1 (the process then
  // makes one). The process needs it only when it comes to mount sysfs.
  std::function<int()> netns_ahead;
  // Called once the process is in its cgroups, while it sets itself up (container pid).
  std::function<Result<>(pid_t pid)> while_child_sets_up;
  // Runs the runtime-namespace hooks (prestart, createRuntime) for container pid `pid`;
  // returns the state JSON that the container-side hooks get on stdin.
  std::function<Result<std::string>(pid_t pid)> on_mounts_ready;
  // linux.seccomp, built by the runtime; the container process loads it.
  security::SeccompFilter* seccomp = nullptr;
  // A SCMP_ACT_NOTIFY listener arrived from the container process (container pid, fd).
  std::function<Result<>(pid_t pid, int listener)> on_seccomp_listener;
};

struct Spawned {
  pid_t pid = 0;             // host pid of the container process
  bool is_our_child = false;  // false when an intermediate process forked it
  UniqueFd console;           // pty master when process.terminal is set
  std::string console_name;   // its slave's path in the container
};

// The fast path (one clone3 makes the container process, no intermediate process): every
// config that joins no namespace and has no time namespace.
bool needs_intermediate(const spec::Config& cfg);

// On error the container process is killed and reaped before returning.
Result<Spawned> spawn_container(const SpawnOptions& o);

// The container process side (process/init.cc). Never returns. `parent_is_runtime`: the
// runtime itself is the parent, so a parent-death signal guards the setup.
[[noreturn]] void container_init(const SpawnOptions& o, int sync_fd, bool parent_is_runtime);

}  // namespace nsbox::process
