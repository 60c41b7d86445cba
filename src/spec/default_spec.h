// The config.json that `nsbox spec` writes: runc's default, with nsbox's hostname.
#pragma once

#include <string>

namespace nsbox::spec {

// `rootless`: a user namespace mapping the caller's uid and gid to root, no network or
// cgroup namespace and a bind of the host /sys, as `runc spec --rootless` does.
std::string default_spec(bool rootless, unsigned uid, unsigned gid);

}  // namespace nsbox::spec
