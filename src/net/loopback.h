// Network setup inside the container's network namespace.
#pragma once

#include "base/error.h"

namespace nsbox::net {

// Bring `lo` up in the calling process's network namespace (a new namespace starts with it down).
Result<> loopback_up();

}  // namespace nsbox::net
