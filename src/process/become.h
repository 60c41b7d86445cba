// The last steps before execve, shared by the container's init and by exec: limits, working
// directory, the program's path, user and capabilities, no_new_privs, seccomp, umask, and
// the descriptors that may pass (0-2 and `preserve_fds` more).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::process {

struct Became {
  std::string exe;            // the resolved program path
  std::vector<std::string> env;  // process.env, with HOME added where it lacks one
  UniqueFd seccomp_listener;  // SCMP_ACT_NOTIFY: for the runtime to pass to listenerPath
  bool kept_admin = false;    // CAP_SYS_ADMIN held for the filter, dropped by load_late_seccomp
};

// Returns runc's "executable file not found" text when the program is missing.
// `filter` (may be null) is loaded as late as possible, so that the profile has to allow as
// few of the runtime's own calls as possible: right before execve (load_late_seccomp), with
// CAP_SYS_ADMIN kept until then where no_new_privs is off and the process would not have
// it; a filter that notifies is loaded at the end of become_process instead, since its
// listener must reach the runtime before `create` returns.
Result<Became> become_process(const spec::Process& p, int preserve_fds,
                              security::SeccompFilter* filter);

// Right before execve: the filter if still unloaded, then the spec's capabilities exactly
// (capset) if CAP_SYS_ADMIN was kept for it. After it, only execve follows.
Result<> load_late_seccomp(security::SeccompFilter* filter, const spec::Process& p, bool kept_admin);

}  // namespace nsbox::process
