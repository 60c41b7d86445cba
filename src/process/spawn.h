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
  // The process moves itself into its v1 cgroups (cgroup::join_self: no global lock, no
  // grace period): only where it is single-threaded root of the host's user namespace,
  // still seeing the host's cgroup mounts at that point, so on the fast path without a user
  // namespace. Otherwise the runtime moves it.
  bool self_join_cgroups = false;
  // A new network namespace made ahead for the container (net/netns_ahead.h), which it joins
  // instead of the clone making one; only on the fast path (!needs_intermediate). Called
  // after the clone, it waits for the namespace: its descriptor, or -1 (the process then
  // makes one). The process needs it only when it comes to mount sysfs.
  std::function<int()> netns_ahead;
  // Makes the cgroups ready to join (the runtime may have left them to this point: created
  // in a helper meanwhile, limits not yet written). Runs after the clone, before the join.
  std::function<Result<>()> prepare_cgroups;
  // The cgroup v2 leaf, opened: the fast path clones straight into it (CLONE_INTO_CGROUP),
  // so the container never runs a moment outside its limits. -1: none.
  int cgroup2_fd = -1;
  std::string cgroup2_leaf;
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
