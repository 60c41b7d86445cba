// The last steps before execve, shared by the container's init and by exec: limits, working
// directory, the program's path, user and capabilities, umask, and the descriptors that
// may pass (0-2 and `preserve_fds` more).
#pragma once

#include <string>

#include "base/error.h"
#include "spec/config.h"

namespace nsbox::process {

// Returns the resolved program path (runc's "executable file not found" text otherwise).
Result<std::string> become_process(const spec::Process& p, int preserve_fds);

}  // namespace nsbox::process
