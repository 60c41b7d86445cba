// The last steps before execve, shared by the container's init and by exec: limits, working
// directory, the program's path, user and capabilities, no_new_privs, seccomp, umask, and
// the descriptors that may pass (0-2 and `preserve_fds` more).
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::process {

struct Became {
  std::string exe;            // the resolved program path
  UniqueFd seccomp_listener;  // SCMP_ACT_NOTIFY: for the runtime to pass to listenerPath
};

// Returns runc's "executable file not found" text when the program is missing.
// `filter` (may be null) is loaded while the process still may: before the user switch drops
// CAP_SYS_ADMIN when no_new_privs is off (as runc does); otherwise once no_new_privs is set
// if it notifies (its listener must reach the runtime now). In the remaining case the
// caller loads it right before execve, so that as few of our own calls as possible run
// under it.
Result<Became> become_process(const spec::Process& p, int preserve_fds,
                              security::SeccompFilter* filter);

// Right before execve: the filter if still unloaded.
Result<> load_late_seccomp(security::SeccompFilter* filter);

}  // namespace nsbox::process
