// Wall-clock time as the runtime-spec and nsbox's files write it.
#pragma once

#include <string>

namespace nsbox {

// Now, UTC, RFC 3339 with nanoseconds: "2026-12-03T17:23:11.123456789Z".
std::string now_rfc3339();

}  // namespace nsbox
