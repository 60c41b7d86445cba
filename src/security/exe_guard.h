// CVE-2019-5736: a container must not be able to write the runtime's binary. nsbox does not
// re-exec itself for each container: the container process is a clone of the runtime until
// its final execve, so a container program that is a script "#!/proc/self/exe" would have
// the kernel run the host's nsbox binary inside the container, where /proc/PID/exe hands
// it to the container's other processes.
//
// Before create, run or exec spawn anything, the runtime makes sure it runs from a binary
// that cannot be opened for writing: already on a read-only mount (nothing to do, nothing
// paid), or else re-executed once through a detached read-only bind mount of itself
// (open_tree + mount_setattr: no copy, and nothing is left mounted on the host). Where the
// kernel refuses that (an unprivileged user), it re-executes from a sealed memfd copy, unless
// the binary is not writable by the user anyway. The release of the detached mount waits for
// an RCU grace period; a short-lived child pays it, off the runtime's path.
#pragma once

#include <string>

#include "base/error.h"

namespace nsbox::security {

// Returns when the running binary is safe; otherwise re-executes argv and does not return.
// An error means the binary could not be protected.
Result<> protect_runtime_exe(char** argv);

// Where the nsbox binary is, as the user installed it (also after the re-exec): helpers such as
// nsbox-systemd are looked for beside it.
std::string runtime_exe_path();

// The path of nsbox's helper program NAME (nsbox-systemd, nsbox-nft): $ENV_VAR when set, else
// beside the nsbox binary when there, else the libexec directory it is installed to.
std::string helper_program(const std::string& name, const char* env_var);

}  // namespace nsbox::security
