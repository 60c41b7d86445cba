// The processes in a container's cgroups, and signalling them without hitting anyone else.
//
// A pid read from cgroup.procs is not a process one may signal blindly: a process of a pid
// namespace the reader cannot see is listed as 0 (and kill(0, sig) signals the runtime's own
// process group), and a listed process may exit and its pid go to another process before
// the signal. So only pids above 0 are taken, each is pinned with a pidfd, and only those
// still listed once their pidfds are held are signalled, through the pidfd.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace nsbox::cgroup {

// Pids (> 0) in the container's cgroup and, with `below`, in every cgroup under it (an init
// such as systemd makes its own), read from one hierarchy: every one holds each process.
std::vector<pid_t> members(const std::vector<std::string>& leaves, bool below = true);

// No process in the cgroup or below it, in any hierarchy, including processes this reader
// cannot see (v2: cgroup.events "populated 0"; v1: every cgroup.procs empty).
bool is_empty(const std::vector<std::string>& leaves);

// Send `sig` to every member as described above; the number of processes signalled.
size_t signal_members(const std::vector<std::string>& leaves, int sig);

// SIGKILL everything in the container's cgroups: cgroup.kill where the kernel has it (v2,
// 5.14: every process below, seen or not, at once), else freeze, signal, thaw, so that no
// member forks away meanwhile.
void kill_members(const std::vector<std::string>& leaves);

}  // namespace nsbox::cgroup
