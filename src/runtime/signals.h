// Signal names as runc accepts them: "KILL", "SIGKILL", "9", "SIGRTMIN+3".
#pragma once

#include <string>

#include "base/error.h"

namespace nsbox::runtime {

Result<int> parse_signal(const std::string& s);

}  // namespace nsbox::runtime
