// The state of a system container's init as `systemctl is-system-running` reports it
// (initializing, starting, running, degraded, maintenance, stopping...), read where that is
// cheap: only when the container runs systemd (its /run/systemd/private socket exists, seen
// through /proc/PID/root), by nsbox-systemd over that socket, within a second.
#pragma once

#include <sys/types.h>

#include <string>

namespace nsbox::systemd {

// "" when the init is not systemd, or its state cannot be read (no helper, a user namespace
// whose root is not ours, no answer in time).
std::string system_state(pid_t init_pid);

}  // namespace nsbox::systemd
