// AppArmor profiles and SELinux labels. nsbox writes them for the next execve through
// procfs, as runc does; where the host has the security module off, asking for one is an
// error (runc fails the same way, at the write), never silently ignored.
#pragma once

#include <string>

#include "base/error.h"
#include "spec/config.h"

namespace nsbox::security {

bool apparmor_enabled();
bool selinux_enabled();

// The checks create and exec make before anything exists. `mount_label`: linux.mountLabel.
Result<> check_lsm(const spec::Process& p, const std::string& mount_label);

// In the process, right before execve: the profile and label to take on at exec.
Result<> set_exec_labels(const spec::Process& p);

}  // namespace nsbox::security
