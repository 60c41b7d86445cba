// Find the program to execute the way runc (Go's exec.LookPath) does, so that the error
// text is the one engines recognise: docker and podman turn
//   exec: "X": executable file not found in $PATH
// into exit status 127.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace nsbox::process {

// `env` is the process environment (KEY=VALUE); its PATH is searched when `name` has no '/'.
// strerror as Go (and so runc) spells it, in lower case: "no such file or directory".
std::string go_strerror(int e);

Result<std::string> look_path(const std::string& name, const std::vector<std::string>& env);

}  // namespace nsbox::process
